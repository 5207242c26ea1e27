"""Memory: a linear memory backed by an anonymous mmap whose base address native code can use.

Growth may move the mapping (a new, larger mapping is made and the contents copied), so code
that caches the base address must reload it after any call that can grow memory."""

from __future__ import annotations

import ctypes
import mmap

from ..errors import WasmError
from ..wasm.types import MAX_PAGES, PAGE_SIZE, Limits, MemoryType
from .store import Store


class MemoryRangeError(WasmError, IndexError):
    """A host read/write outside the memory: a WasmError, and an IndexError as in wasmtime-py."""


def _check_index(value: object, what: str) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise WasmError(f"Memory.{what}: index must be an int or None, got {type(value).__name__}")


def _new_map(nbytes: int) -> mmap.mmap:
    # An anonymous mapping cannot be empty; keep at least one page of backing.
    try:
        return mmap.mmap(-1, max(nbytes, PAGE_SIZE), flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    except (OSError, OverflowError, ValueError) as e:
        raise MemoryError(f"cannot map {nbytes} bytes of linear memory: {e}") from None


class Memory:
    """A wasm linear memory (mirrors wasmtime-py's Memory). Sizes are in 64 KiB pages.

    Internal fields read by executors: ``buf`` (the mmap, a writable buffer), ``length``
    (current size in bytes: every access must be within it), ``max_pages``."""

    __slots__ = ("_store", "_type", "buf", "length", "max_pages", "_addr", "__weakref__")

    def __init__(self, store: Store, ty: MemoryType) -> None:
        if not isinstance(store, Store):
            raise WasmError(f"Memory expects a Store, got {type(store).__name__}")
        if not isinstance(ty, MemoryType):
            raise WasmError(f"Memory expects a MemoryType, got {type(ty).__name__}")
        limits = ty.limits
        if limits.min > MAX_PAGES or (limits.max is not None and limits.max > MAX_PAGES):
            raise WasmError(f"memory size must be at most {MAX_PAGES} pages (4 GiB)")
        if limits.max is not None and limits.max < limits.min:
            raise WasmError("memory size minimum must not be greater than maximum")
        self._store = store
        self._type = ty
        self.max_pages = MAX_PAGES if limits.max is None else limits.max
        self.length = limits.min * PAGE_SIZE
        self.buf = _new_map(self.length)
        self._addr: int | None = None

    # -- wasmtime-py API --------------------------------------------------------------------

    def type(self, store: Store) -> MemoryType:
        """The memory's type, with its current size as the minimum."""
        return MemoryType(Limits(self.length // PAGE_SIZE, self._type.limits.max),
                          self._type.is_64, self._type.shared)

    def size(self, store: Store) -> int:
        return self.length // PAGE_SIZE

    def data_len(self, store: Store) -> int:
        return self.length

    def page_size(self, store: Store) -> int:
        return PAGE_SIZE

    def page_size_log2(self, store: Store) -> int:
        return 16

    def grow(self, store: Store, delta: int) -> int:
        """Grow by `delta` pages; return the previous size. WasmError if it cannot grow."""
        store._check(self._store, "Memory.grow")
        if not isinstance(delta, int) or delta < 0:
            raise WasmError("cannot grow memory by a negative amount")
        old = self.grow_pages(delta)
        if old < 0:
            raise WasmError(f"failed to grow memory by {delta} pages "
                            f"(size {self.length // PAGE_SIZE}, maximum {self.max_pages})")
        return old

    def data_ptr(self, store: Store) -> ctypes._Pointer:
        """A ctypes pointer to the first byte (valid until the memory grows)."""
        return ctypes.cast(self.base_address(), ctypes.POINTER(ctypes.c_ubyte))

    def get_buffer_ptr(self, store: Store, size: int | None = None, offset: int = 0) -> ctypes.Array:
        if size is None:
            size = self.length - offset
        if offset < 0 or size < 0 or offset + size > self.length:
            raise MemoryRangeError(f"range {offset}..{offset + size} is outside memory of {self.length} bytes")
        return (ctypes.c_ubyte * size).from_address(self.base_address() + offset)

    def read(self, store: Store, start: int | None = 0, stop: int | None = None) -> bytearray:
        """Copy bytes out, with slice semantics (negative indices count from the end)."""
        _check_index(start, "read")
        _check_index(stop, "read")
        start, stop, _ = slice(start, stop).indices(self.length)
        if stop <= start:
            return bytearray()
        return bytearray(self.buf[start:stop])

    def write(self, store: Store, value: bytes | bytearray, start: int | None = None) -> int:
        """Copy bytes in at `start`; MemoryRangeError (an IndexError, as in wasmtime-py) if they
        do not fit."""
        _check_index(start, "write")
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise WasmError(f"Memory.write expects bytes, got {type(value).__name__}")
        start = slice(start, None).indices(self.length)[0]
        data = bytes(value)
        if start >= self.length or start + len(data) > self.length:
            raise MemoryRangeError(f"writing {len(data)} bytes at {start} is outside memory of "
                                   f"{self.length} bytes")
        self.buf[start:start + len(data)] = data
        return len(data)

    @property
    def buffer(self) -> memoryview:
        """A writable view of the current contents (invalid after the memory grows)."""
        return memoryview(self.buf)[:self.length]

    # -- runtime internals ------------------------------------------------------------------

    def base_address(self) -> int:
        """The address of byte 0 of the current mapping (for machine code through ctypes)."""
        if self._addr is None:
            self._addr = ctypes.addressof(ctypes.c_char.from_buffer(self.buf))
        return self._addr

    def grow_pages(self, delta: int) -> int:
        """memory.grow: the old size in pages, or -1 when the memory cannot grow by `delta`."""
        old_pages = self.length // PAGE_SIZE
        new_pages = old_pages + delta
        if new_pages > self.max_pages:
            return -1
        if delta == 0:
            return old_pages
        new_len = new_pages * PAGE_SIZE
        if new_len > len(self.buf):
            # grow the backing geometrically so repeated small grows copy O(n) bytes in all
            # (untouched pages of an anonymous mapping cost no memory)
            capacity = max(new_len, min(2 * len(self.buf), self.max_pages * PAGE_SIZE))
            try:
                new_buf = _new_map(capacity)
            except MemoryError:
                try:
                    new_buf = _new_map(new_len)
                except MemoryError:
                    return -1
            new_buf[:self.length] = self.buf[:self.length]
            self.buf = new_buf          # the old mapping is freed once nothing exports it
            self._addr = None
        self.length = new_len
        return old_pages
