"""Memory: a linear memory in an address-space reservation (vmem.Reservation) of its maximum
size plus a guard, whose base address native code can use.

Growth commits more of the reservation in place (mprotect): the base address never changes and
nothing is unmapped or copied, so code running over the memory (in this thread or another)
never sees it move, and untouched pages cost no memory.

The memory owns its MemoryDefinition (base, length; engine.environ.vmctx) in the store's arena:
generated code of every instance using the memory reads the length there, so growth by any of
them, or by the host, is seen by all at once."""

from __future__ import annotations

import ctypes

from ..environ import vmctx as V
from ..environ.module_info import GUARDED_RESERVATION, MEMORY64_MAX_PAGES
from ..errors import ArgumentTypeError, UnsupportedError, WasmError
from ..wasm.types import MAX_PAGES, PAGE_SIZE, Limits, MemoryType
from .store import Store, check_use
from .vmem import HOST_PAGE, Reservation

#: PROT_NONE bytes reserved after a memory's maximum (never committed)
GUARD_SIZE = PAGE_SIZE


class MemoryRangeError(WasmError, IndexError):
    """A host read/write outside the memory: a WasmError, and an IndexError as in wasmtime-py."""


def _check_index(value: object, what: str) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise ArgumentTypeError(f"Memory.{what}: index must be an int or None, got {type(value).__name__}")


def _reserve(initial: int, maximum: int, guarded: bool = False) -> Reservation:
    """A reservation of `maximum` bytes (plus the guard) with `initial` committed; when the
    address space for the maximum is refused, one of `initial` bytes (growth then fails).
    `guarded` (Config.signals_based_traps): GUARDED_RESERVATION bytes or a WasmError, since
    the code then relies on it for bounds."""
    if guarded:
        try:
            res = Reservation(GUARDED_RESERVATION)
        except MemoryError as e:
            raise WasmError(f"{e}: a memory needs 8 GiB of address space with guard pages; "
                            f"set Config.signals_based_traps = False") from None
    else:
        try:
            res = Reservation(maximum + GUARD_SIZE)
        except MemoryError:
            res = Reservation(initial + GUARD_SIZE)
    # at least one host page: an emulator maps a zero-length memory as one page (a guarded
    # memory commits exactly its length: the page after it must fault)
    if not res.commit(initial if guarded else max(initial, HOST_PAGE)):
        raise MemoryError(f"cannot commit {initial} bytes of linear memory")
    return res


class Memory:
    """A wasm linear memory (mirrors wasmtime-py's Memory). Sizes are in 64 KiB pages.

    Internal fields read by executors: ``buf`` (a writable buffer of exactly ``length`` bytes,
    replaced by a longer one when the memory grows), ``length`` (current size in bytes: every
    access must be within it), ``max_pages``, ``mdef`` (the MemoryDefinition's address),
    ``watchers`` (called with the memory after it grew: an emulator maps the new pages);
    ``mirror_length`` registers a vmctx length field kept equal to ``length``;
    ``base_address()`` never changes."""

    __slots__ = ("_store", "_type", "buf", "length", "max_pages", "_mapping", "_whole",
                 "mdef", "_def", "watchers", "_mirrors", "guarded", "__weakref__")

    def __init__(self, store: Store, ty: MemoryType) -> None:
        if not isinstance(store, Store):
            raise ArgumentTypeError(f"Memory expects a Store, got {type(store).__name__}")
        if not isinstance(ty, MemoryType):
            raise ArgumentTypeError(f"Memory expects a MemoryType, got {type(ty).__name__}")
        if ty.shared:
            raise UnsupportedError("threads: a shared memory (use SharedMemory once threads "
                                   "are supported)")
        if ty.page_size_log2 != 16:
            raise UnsupportedError("custom page sizes: a memory with pages of "
                                   f"{ty.page_size} bytes")
        limits = ty.limits
        if ty.is_64:
            # the type allows 2**48 pages; the host gives a 64-bit memory at most
            # MEMORY64_MAX_PAGES (a larger maximum only bounds growth)
            if limits.min > MEMORY64_MAX_PAGES:
                raise WasmError(f"memory minimum size of {limits.min} pages exceeds the "
                                f"maximum polyjit gives a 64-bit memory "
                                f"({MEMORY64_MAX_PAGES} pages)")
        elif limits.min > MAX_PAGES or (limits.max is not None and limits.max > MAX_PAGES):
            raise WasmError(f"memory size must be at most {MAX_PAGES} pages (4 GiB)")
        if limits.max is not None and limits.max < limits.min:
            raise WasmError("memory size minimum must not be greater than maximum")
        bound = store.limits.memory_size
        if bound is not None and limits.min * PAGE_SIZE > bound:
            raise WasmError(f"memory minimum size of {limits.min} pages exceeds memory limits "
                            f"(Store.set_limits memory_size={bound})")
        self._store = store
        self._type = ty
        host_max = MEMORY64_MAX_PAGES if ty.is_64 else MAX_PAGES
        self.max_pages = host_max if limits.max is None else min(limits.max, host_max)
        self.length = limits.min * PAGE_SIZE
        #: code leaves this memory's bounds to guard pages (Config.signals_based_traps): its
        #: reservation is GUARDED_RESERVATION bytes, exactly its length accessible
        self.guarded = guarded = bool(store._state.settings.signals_based_traps) and not ty.is_64
        self._mapping = _reserve(self.length, self.max_pages * PAGE_SIZE, guarded)
        self._whole = self._mapping.whole()
        self.buf = self._whole[:self.length]
        self.mdef = store.arena.alloc(V.MEMDEF_SIZE)
        self._def = store.arena.u64s(self.mdef, 2)
        self._def[0] = self._mapping.addr
        self._def[1] = self.length
        self.watchers: list = []
        self._mirrors: list[ctypes.c_uint64] = []

    # -- wasmtime-py API --------------------------------------------------------------------

    def type(self, store: Store) -> MemoryType:
        """The memory's type, with its current size as the minimum."""
        check_use(store, self._store, "Memory.type")
        return MemoryType(Limits(self.length // PAGE_SIZE, self._type.limits.max),
                          self._type.is_64, self._type.shared)

    def size(self, store: Store) -> int:
        check_use(store, self._store, "Memory.size")
        return self.length // PAGE_SIZE

    def data_len(self, store: Store) -> int:
        check_use(store, self._store, "Memory.data_len")
        return self.length

    def page_size(self, store: Store) -> int:
        check_use(store, self._store, "Memory.page_size")
        return PAGE_SIZE

    def page_size_log2(self, store: Store) -> int:
        check_use(store, self._store, "Memory.page_size_log2")
        return 16

    def grow(self, store: Store, delta: int) -> int:
        """Grow by `delta` pages; return the previous size. WasmError if it cannot grow."""
        check_use(store, self._store, "Memory.grow")
        if not isinstance(delta, int) or isinstance(delta, bool):
            raise ArgumentTypeError(f"Memory.grow expects an int, got {type(delta).__name__}")
        if delta < 0:
            raise WasmError("cannot grow memory by a negative amount")
        old = self.grow_pages(delta)
        if old < 0:
            raise WasmError(f"failed to grow memory by `{delta}` pages "
                            f"(size {self.length // PAGE_SIZE}, maximum {self.max_pages})")
        return old

    def data_ptr(self, store: Store) -> ctypes._Pointer:
        """A ctypes pointer to the first byte (growth does not move it)."""
        check_use(store, self._store, "Memory.data_ptr")
        return ctypes.cast(self.base_address(), ctypes.POINTER(ctypes.c_ubyte))

    def get_buffer_ptr(self, store: Store, size: int | None = None, offset: int = 0) -> ctypes.Array:
        check_use(store, self._store, "Memory.get_buffer_ptr")
        if size is None:
            size = self.length - offset
        if offset < 0 or size < 0 or offset + size > self.length:
            raise MemoryRangeError(f"range {offset}..{offset + size} is outside memory of {self.length} bytes")
        return (ctypes.c_ubyte * size).from_address(self.base_address() + offset)

    def read(self, store: Store, start: int | None = 0, stop: int | None = None) -> bytearray:
        """Copy bytes out, with slice semantics (negative indices count from the end)."""
        check_use(store, self._store, "Memory.read")
        _check_index(start, "read")
        _check_index(stop, "read")
        start, stop, _ = slice(start, stop).indices(self.length)
        if stop <= start:
            return bytearray()
        return bytearray(self.buf[start:stop])

    def write(self, store: Store, value: bytes | bytearray, start: int | None = None) -> int:
        """Copy bytes in at `start`; MemoryRangeError (an IndexError, as in wasmtime-py) if they
        do not fit."""
        check_use(store, self._store, "Memory.write")
        _check_index(start, "write")
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise ArgumentTypeError(f"Memory.write expects bytes, got {type(value).__name__}")
        start = slice(start, None).indices(self.length)[0]
        data = bytes(value)
        if start >= self.length or start + len(data) > self.length:
            raise MemoryRangeError(f"writing {len(data)} bytes at {start} is outside memory of "
                                   f"{self.length} bytes")
        self.buf[start:start + len(data)] = data
        return len(data)

    @property
    def buffer(self) -> memoryview:
        """A writable view of the current contents (growth does not extend it)."""
        return memoryview(self.buf)[:self.length]

    def __repr__(self) -> str:
        limit = "" if self._type.limits.max is None else f", max {self._type.limits.max}"
        return f"<Memory {self.length // PAGE_SIZE} pages{limit}>"

    # -- runtime internals ------------------------------------------------------------------

    def base_address(self) -> int:
        """The address of byte 0 (for machine code through ctypes); fixed for the memory's life."""
        return self._mapping.addr

    def grow_pages(self, delta: int) -> int:
        """memory.grow: the old size in pages, or -1 when the memory cannot grow by `delta`."""
        old_pages = self.length // PAGE_SIZE
        new_pages = old_pages + delta
        if new_pages > self.max_pages:
            return -1
        bound = self._store.limits.memory_size
        if bound is not None and new_pages * PAGE_SIZE > bound:
            return -1
        if delta == 0:
            return old_pages
        new_len = new_pages * PAGE_SIZE
        if not self._mapping.commit(new_len):
            return -1
        self.buf = self._whole[:new_len]
        self.length = new_len
        for watch in self.watchers:
            watch(self)
        self._def[1] = new_len
        for slot in self._mirrors:
            slot.value = new_len
        return old_pages

    def mirror_length(self, addr: int) -> None:
        """Keep the u64 at `addr` (a vmctx's length field for this memory, in the store's
        arena) equal to the length from now on."""
        slot = ctypes.c_uint64.from_address(addr)
        slot.value = self.length
        self._mirrors.append(slot)

    def committed(self) -> int:
        """How many bytes from the base are read+write (at least one host page)."""
        return self._mapping.committed

    def commit_ahead(self, nbytes: int) -> int:
        """Make up to `nbytes` from the base read+write ahead of growth (never past the
        maximum; untouched pages still cost no memory); returns the committed size. An
        emulator maps in large steps this way: each mapping flushes its translations."""
        self._mapping.commit(min(nbytes, self.max_pages * PAGE_SIZE))
        return self._mapping.committed
