"""The address space generated code runs in: host memory (engine.runtime.arena), natively and
under Unicorn alike (an emulated machine maps every arena chunk, linear memory and code
region into its guest at the host address, so a pointer is the same number everywhere).
HostSpace is the byte-level view machines and tests use; read_u64/write_u64 its word access."""

from __future__ import annotations

import ctypes

from ..errors import WasmError
from ..runtime.arena import Arena
from ..runtime.vmem import Reservation

PAGE = 4096


def round_up(n: int, align: int) -> int:
    return (n + align - 1) & ~(align - 1)


class HostSpace:
    """Blocks of an arena, read and written in place."""

    __slots__ = ("arena",)

    def __init__(self, arena: Arena) -> None:
        self.arena = arena

    def alloc(self, size: int, align: int = 16) -> int:
        """A zeroed block that lives as long as the arena."""
        return self.arena.alloc(size, align)

    def read(self, addr: int, n: int) -> bytes:
        return ctypes.string_at(addr, n)

    def write(self, addr: int, data: bytes) -> None:
        ctypes.memmove(addr, bytes(data), len(data))


class HostLinearMemory:
    """A bare linear memory (for tests that run code without the runtime): a reservation of
    its maximum whose prefix of `length` bytes is read+write; `watchers` hear of growth."""

    def __init__(self, initial: int, maximum: int) -> None:
        self._res = Reservation(max(maximum, PAGE))
        self.base = self._res.addr
        self.length = 0
        self.watchers: list = []
        if not self.grow_to(initial):
            raise SpaceError("initial memory larger than its maximum")

    def committed(self) -> int:
        return self._res.committed

    def commit_ahead(self, nbytes: int) -> int:
        self._res.commit(min(nbytes, self._res.size))
        return self._res.committed

    def grow_to(self, new_length: int) -> bool:
        if not self._res.commit(max(new_length, PAGE)):
            return False
        self.length = new_length
        for watch in self.watchers:
            watch(self)
        return True


def read_u64(space: HostSpace, addr: int) -> int:
    return ctypes.c_uint64.from_address(addr).value


def write_u64(space: HostSpace, addr: int, value: int) -> None:
    ctypes.c_uint64.from_address(addr).value = value & 0xFFFFFFFFFFFFFFFF


class SpaceError(WasmError):
    """An address space cannot provide what was asked (out of address space or memory)."""
