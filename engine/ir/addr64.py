"""memory64 and table64 in the IR builder: i64 addresses and indices narrowed to the i32 forms
every executor already runs.

The IR's memory and table instructions take i32 operands (engine/ir/ir.py). polyjit's runtime
keeps every 64-bit memory below 2**32 bytes (engine.environ.module_info.MEMORY64_MAX_PAGES) and
every table below 2**32 elements (runtime TABLE_ELEMENT_LIMIT), so an i64 operand with any of
its high 32 bits set is out of bounds whatever the access: the builder traps on those bits
(explicitly: no i64 memory ever takes the guard-page path) and passes the low 32 bits on. The
rest of the check (the low bits plus the static offset plus the access size, computed without
wrap-around) is the ordinary 32-bit one. A static offset of 2**32 or more is out of bounds for
every address. Sizes widen back to i64 (memory.size, table.size); a grow by 2**32 or more
becomes a grow by 0xffffffff, which fails (-1) like any grow past the host's maximum.
"""

from __future__ import annotations

from typing import Callable, Sequence

from ..errors import TrapCode
from ..wasm.types import ValType
from .ir import Opcode as O

I32, I64 = ValType.I32, ValType.I64

#: emit(opcode, args, result type or None, imm) -> result value (-1 without a result)
Emit = Callable[[O, list, "ValType | None", object], int]

#: The largest static offset the narrowed (32-bit) check takes.
MAX_NARROW_OFFSET = 0xFFFF_FFFF


def _high_bits(emit: Emit, value: int) -> int:
    """value >> 32 (an i64; non-zero exactly when value >= 2**32)."""
    return emit(O.USHR, [value, emit(O.ICONST, [], I64, 32)], I64, None)


def narrow(emit: Emit, values: Sequence[int], code: TrapCode) -> list[int]:
    """Trap with `code` if any of the i64 `values` is 2**32 or more; return their low 32 bits
    (i32 values, in order)."""
    high = _high_bits(emit, values[0])
    for v in values[1:]:
        high = emit(O.BOR, [high, _high_bits(emit, v)], I64, None)
    emit(O.TRAPNZ, [high], None, code)
    return [emit(O.IREDUCE, [v], I32, None) for v in values]


def narrow_address(emit: Emit, addr: int, offset: int) -> tuple[int, int]:
    """A load's or store's i64 address and static offset -> (i32 address, offset) for the
    32-bit heap check and access. An offset of 2**32 or more traps for every address (the
    access itself, never reached, gets offset 0)."""
    if offset > MAX_NARROW_OFFSET:
        emit(O.TRAPNZ, [emit(O.ICONST, [], I32, 1)], None, TrapCode.MEMORY_OUT_OF_BOUNDS)
        return emit(O.IREDUCE, [addr], I32, None), 0
    return narrow(emit, [addr], TrapCode.MEMORY_OUT_OF_BOUNDS)[0], offset


def narrow_delta(emit: Emit, delta: int) -> int:
    """The i64 operand of memory.grow / table.grow -> an i32 delta: its low 32 bits, or
    0xffffffff (a grow that always fails) when it is 2**32 or more."""
    high = emit(O.IREDUCE, [_high_bits(emit, delta)], I32, None)   # < 2**32: non-zero iff set
    saturated = emit(O.ICONST, [], I32, 0xFFFF_FFFF)
    low = emit(O.IREDUCE, [delta], I32, None)
    return emit(O.SELECT, [high, saturated, low], I32, None)


def widen_size(emit: Emit, size: int) -> int:
    """memory.size / table.size of a 64-bit memory or table: the i32 result as an i64."""
    return emit(O.UEXTEND, [size], I64, None)


def widen_grow(emit: Emit, result: int) -> int:
    """memory.grow / table.grow of a 64-bit memory or table: the i32 result as an i64 (the
    old size is below 2**31, so -1 stays -1)."""
    return emit(O.SEXTEND, [result], I64, None)


def narrow_bulk(emit: Emit, operands: list[int], wide: Sequence[bool],
                code: TrapCode) -> list[int]:
    """The three operands of a bulk instruction (fill, copy, init), where `wide[i]` says
    operand i is an i64: those are narrowed with one check; the others pass unchanged."""
    picked = [v for v, w in zip(operands, wide) if w]
    if not picked:
        return operands
    narrowed = iter(narrow(emit, picked, code))
    return [next(narrowed) if w else v for v, w in zip(operands, wide)]
