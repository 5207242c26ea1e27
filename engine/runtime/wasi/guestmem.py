"""Bounds-checked access to a guest's linear memory.

Every guest pointer and length is checked against the memory's current length before any host
access: a range outside memory raises WasiError(FAULT), a misaligned structure pointer
WasiError(INVAL) (what wasmtime answers). Pointers arrive as signed i32 Python ints and are
taken as unsigned."""

from __future__ import annotations

import struct
from typing import Any

from ..memory import Memory
from .constants import Errno, WasiError

M32 = 0xFFFFFFFF
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_IOVEC = struct.Struct("<II")
_FAULT = WasiError(Errno.FAULT)
_INVAL = WasiError(Errno.INVAL)


def memory_of(caller: Any) -> Any:
    """The calling instance's exported "memory" (WASI's convention); FAULT without one."""
    inst = caller._instance
    mem = inst.export_map.get("memory") if inst is not None else None
    if not isinstance(mem, Memory):
        raise WasiError(Errno.FAULT)        # no exported linear memory: nothing to point into
    return mem


def check(mem: Any, ptr: int, size: int, align: int = 1) -> int:
    """`ptr` as unsigned, after checking [ptr, ptr+size) is inside memory and aligned."""
    ptr &= M32
    if ptr + size > mem.length:
        raise WasiError(Errno.FAULT)
    if ptr & (align - 1):
        raise WasiError(Errno.INVAL)
    return ptr


def read_bytes(mem: Any, ptr: int, size: int) -> bytes:
    ptr &= M32
    size &= M32
    if ptr + size > mem.length:
        raise WasiError(Errno.FAULT)
    return bytes(mem.buf[ptr:ptr + size])


def write_bytes(mem: Any, ptr: int, data: bytes) -> None:
    ptr &= M32
    if ptr + len(data) > mem.length:
        raise WasiError(Errno.FAULT)
    mem.buf[ptr:ptr + len(data)] = data


def read_u32(mem: Any, ptr: int) -> int:
    ptr = check(mem, ptr, 4, 4)
    return _U32.unpack_from(mem.buf, ptr)[0]


def write_u32(mem: Any, ptr: int, value: int) -> None:
    ptr = check(mem, ptr, 4, 4)
    _U32.pack_into(mem.buf, ptr, value & M32)


def write_u64(mem: Any, ptr: int, value: int) -> None:
    ptr = check(mem, ptr, 8, 8)
    _U64.pack_into(mem.buf, ptr, value & 0xFFFFFFFFFFFFFFFF)


def write_struct(mem: Any, ptr: int, fmt: struct.Struct, align: int, *values: Any) -> None:
    ptr = check(mem, ptr, fmt.size, align)
    fmt.pack_into(mem.buf, ptr, *values)


def read_path(mem: Any, ptr: int, size: int) -> str:
    """A guest path string (UTF-8; ILSEQ when it is not)."""
    raw = read_bytes(mem, ptr, size)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise WasiError(Errno.ILSEQ) from None


def iovecs(mem: Any, ptr: int, count: int) -> list[tuple[int, int]]:
    """The (base, length) pairs of a guest iovec/ciovec array, each range checked."""
    count &= M32
    ptr = check(mem, ptr, 8 * count, 4)
    buf, length = mem.buf, mem.length
    out = []
    unpack = _IOVEC.unpack_from
    for i in range(count):
        base, n = unpack(buf, ptr + 8 * i)
        if base + n > length:
            raise WasiError(Errno.FAULT)
        out.append((base, n))
    return out


def gather(mem: Any, ptr: int, count: int) -> bytes:
    """The bytes of a ciovec array, concatenated."""
    buf = mem.buf
    pieces = iovecs(mem, ptr, count)
    if len(pieces) == 1:
        base, n = pieces[0]
        return bytes(buf[base:base + n])
    return b"".join(buf[b:b + n] for b, n in pieces)


def scatter(mem: Any, pieces: list[tuple[int, int]], data: bytes) -> None:
    """Spread `data` over the (already checked) iovec ranges, in order."""
    buf = mem.buf
    pos = 0
    for base, n in pieces:
        if pos >= len(data):
            break
        chunk = data[pos:pos + n]
        buf[base:base + len(chunk)] = chunk
        pos += len(chunk)
