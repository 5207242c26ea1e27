"""The runtime's libcalls, written once: the semantics of memory.grow/fill/copy/init, data.drop,
table.grow/fill/copy/init and elem.drop on the store objects, with the spec's bounds checks.
Every executor runs these: the interpreter calls them directly, machine code reaches them
through the helper table (engine.environ.helpers), which turns a Trap into a trap code.
Arguments are the instructions' operands as unsigned ints (i32 already masked); a memory is
a Memory (its ``buf``, ``length`` and ``base_address()``) and a table a Table (its
machine words)."""

from __future__ import annotations

import ctypes
from typing import Any

from ..errors import Trap, TrapCode
from .memory import Memory
from .table import Table


def _memory_oob() -> Trap:
    return Trap(None, TrapCode.MEMORY_OUT_OF_BOUNDS)


def _table_oob() -> Trap:
    return Trap(None, TrapCode.TABLE_OUT_OF_BOUNDS)


def memory_grow(mem: Memory, delta: int) -> int:
    """memory.grow: the old size in pages, or -1."""
    return mem.grow_pages(delta)


def memory_fill(mem: Memory, dst: int, value: int, n: int) -> None:
    if dst + n > mem.length:
        raise _memory_oob()
    if n:
        ctypes.memset(mem.base_address() + dst, value & 0xFF, n)


def memory_copy(dst_mem: Memory, src_mem: Memory, dst: int, src: int, n: int) -> None:
    if dst + n > dst_mem.length or src + n > src_mem.length:
        raise _memory_oob()
    if n:
        ctypes.memmove(dst_mem.base_address() + dst, src_mem.base_address() + src, n)


def memory_init(instance: Any, mem: Memory, seg: int, dst: int, src: int, n: int) -> None:
    data = instance.datas[seg]
    if dst + n > mem.length or src + n > len(data):
        raise _memory_oob()
    if n:
        mem.buf[dst:dst + n] = data[src:src + n]


def data_drop(instance: Any, seg: int) -> None:
    instance.datas[seg] = b""


def table_grow(table: Table, delta: int, value: Any) -> int:
    """table.grow: the old size, or -1."""
    return table.grow_elements(delta, value)


def table_fill(table: Table, dst: int, value: Any, n: int) -> None:
    if dst + n > table.length():
        raise _table_oob()
    table.fill(dst, value, n)


def table_copy(dst_table: Table, src_table: Table, dst: int, src: int, n: int) -> None:
    if dst + n > dst_table.length() or src + n > src_table.length():
        raise _table_oob()
    dst_table.copy_from(src_table, dst, src, n)


def table_init(instance: Any, table: Table, seg: int, dst: int, src: int, n: int) -> None:
    items = instance.elems[seg]
    if dst + n > table.length() or src + n > len(items):
        raise _table_oob()
    if n:
        table.store_values(dst, items[src:src + n])


def elem_drop(instance: Any, seg: int) -> None:
    instance.elems[seg] = []
