"""Arena: the host memory a store's machine state lives in (global cells, table entries, memory
and table definitions, the store context, vmctxs, FuncRef records), in page-aligned chunks.

Runtime objects read and write their state here, and generated code reads and writes the
same bytes: natively it runs in this process; under Unicorn every chunk is mapped into the
guest at its own host address (mem_map_ptr, guest address = host address), so a pointer means
the same thing to Python, native code and emulated code. `on_chunk` listeners (an emulated
machine) hear of each new chunk before any of its bytes is handed out. Chunks are never
unmapped while the arena lives."""

from __future__ import annotations

import ctypes
import mmap
from typing import Callable

_CHUNK = 1 << 16


def _round_up(n: int, align: int) -> int:
    return (n + align - 1) // align * align


class Arena:
    """A bump allocator over mmap'd chunks (zeroed, read+write, page aligned)."""

    __slots__ = ("chunks", "on_chunk", "_maps", "_next", "_end", "__weakref__")

    def __init__(self) -> None:
        #: (address, size) of every chunk, in allocation order
        self.chunks: list[tuple[int, int]] = []
        self.on_chunk: list[Callable[[int, int], None]] = []
        self._maps: list[mmap.mmap] = []
        self._next = 0
        self._end = 0

    def alloc(self, size: int, align: int = 16) -> int:
        """The address of a zeroed block of `size` bytes that lives as long as the arena."""
        size = max(size, 1)
        addr = _round_up(self._next, align)
        if self._next == 0 or addr + size > self._end:
            if size > _CHUNK // 4:
                return self._chunk(_round_up(size, mmap.PAGESIZE))    # a block of its own
            addr = self._chunk(_CHUNK)
            self._end = addr + _CHUNK
        self._next = addr + size
        return addr

    def _chunk(self, size: int) -> int:
        m = mmap.mmap(-1, size)
        addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
        self._maps.append(m)
        self.chunks.append((addr, size))
        for listener in self.on_chunk:
            listener(addr, size)
        return addr

    def u64s(self, addr: int, n: int) -> ctypes.Array:
        """A ctypes view of `n` u64 at `addr` (inside a block of this arena)."""
        return (ctypes.c_uint64 * n).from_address(addr)

    def i64s(self, addr: int, n: int) -> ctypes.Array:
        return (ctypes.c_int64 * n).from_address(addr)
