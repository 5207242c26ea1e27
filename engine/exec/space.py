"""Address spaces generated code runs in: the host process (native) or an emulator's guest memory.
Both hand out raw blocks (vmctx, ExecState, tables, global cells, buffers) and linear memories
whose base address never moves (the whole maximum is reserved up front; growth commits more)."""

from __future__ import annotations

import struct
from typing import Protocol

from ..errors import WasmError

PAGE = 4096


def round_up(n: int, align: int) -> int:
    return (n + align - 1) & ~(align - 1)


class LinearMemory(Protocol):
    base: int
    length: int

    def grow_to(self, new_length: int) -> bool:
        """Make [base, base + new_length) accessible; False when the reservation is too small."""


class Space(Protocol):
    def alloc(self, size: int, align: int = 16) -> int:
        """A zeroed block that lives as long as the space."""

    def read(self, addr: int, n: int) -> bytes: ...

    def write(self, addr: int, data: bytes) -> None: ...

    def linear_memory(self, initial: int, maximum: int) -> LinearMemory: ...


def read_u64(space: Space, addr: int) -> int:
    return struct.unpack("<Q", space.read(addr, 8))[0]


def write_u64(space: Space, addr: int, value: int) -> None:
    space.write(addr, struct.pack("<Q", value & 0xFFFFFFFFFFFFFFFF))


class SpaceError(WasmError):
    """An address space cannot provide what was asked (out of address space or memory)."""
