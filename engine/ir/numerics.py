"""Exact WebAssembly numeric semantics as pure functions on Python ints.

Representation (the same everywhere in the interpreter and in constant folding):

- i32 / i64 values are *unsigned* ints in ``[0, 2**32)`` / ``[0, 2**64)``.
- f32 / f64 values are their raw IEEE-754 bit patterns (ints), so NaN payloads and the sign
  of zero survive every operation exactly.

Trapping operations raise :class:`engine.errors.Trap` with the spec's TrapCode. NaN results
follow the spec's rules: an operation whose NaN operands are all canonical returns the
canonical NaN; otherwise it returns an arithmetic NaN (the first NaN operand, quieted);
a NaN produced from non-NaN operands (0/0, inf-inf, sqrt(-1)) is the positive canonical NaN.

The tables at the end map each wasm mnemonic (``"i32.add"``) to its function.
"""

from __future__ import annotations

import math
import struct
from typing import Callable

from ..errors import Trap, TrapCode

M32 = 0xFFFF_FFFF
M64 = 0xFFFF_FFFF_FFFF_FFFF
S32 = 0x8000_0000
S64 = 0x8000_0000_0000_0000

F32_SIGN = 0x8000_0000
F32_EXP = 0x7F80_0000
F32_FRAC = 0x007F_FFFF
F32_QUIET = 0x0040_0000
F32_CANON = 0x7FC0_0000
F32_INF = 0x7F80_0000

F64_SIGN = 0x8000_0000_0000_0000
F64_EXP = 0x7FF0_0000_0000_0000
F64_FRAC = 0x000F_FFFF_FFFF_FFFF
F64_QUIET = 0x0008_0000_0000_0000
F64_CANON = 0x7FF8_0000_0000_0000
F64_INF = 0x7FF0_0000_0000_0000

_pack_f = struct.Struct("<f").pack
_unpack_f = struct.Struct("<f").unpack
_pack_d = struct.Struct("<d").pack
_unpack_d = struct.Struct("<d").unpack
_pack_I = struct.Struct("<I").pack
_unpack_I = struct.Struct("<I").unpack
_pack_Q = struct.Struct("<Q").pack
_unpack_Q = struct.Struct("<Q").unpack


def _trap(code: TrapCode) -> Trap:
    return Trap(None, code)


# ---------------------------------------------------------------------------------------------
# Signed views and bit-pattern <-> Python float
# ---------------------------------------------------------------------------------------------

def s32(x: int) -> int:
    """The signed value of an i32 (unsigned int in, signed int out)."""
    return x - 0x1_0000_0000 if x & S32 else x


def s64(x: int) -> int:
    """The signed value of an i64."""
    return x - 0x1_0000_0000_0000_0000 if x & S64 else x


def f32_is_nan(b: int) -> bool:
    return (b & 0x7FFF_FFFF) > F32_INF


def f64_is_nan(b: int) -> bool:
    return (b & 0x7FFF_FFFF_FFFF_FFFF) > F64_INF


def f32_to_float(b: int) -> float:
    """A non-NaN f32 bit pattern as a Python float (exact). NaNs must be handled by the caller."""
    return _unpack_f(_pack_I(b))[0]


def f64_to_float(b: int) -> float:
    """An f64 bit pattern as a Python float (exact for non-NaN; NaN payloads may not survive)."""
    return _unpack_d(_pack_Q(b))[0]


def float_to_f64(x: float) -> int:
    """A Python float's bits (a NaN becomes whatever bits it carries)."""
    return _unpack_Q(_pack_d(x))[0]


def float_to_f32(x: float) -> int:
    """Round a Python float to float32 (round to nearest even; overflow gives infinity)."""
    try:
        return _unpack_I(_pack_f(x))[0]
    except OverflowError:
        return F32_INF | (F32_SIGN if x < 0 else 0)


def f32_from_py(x: float) -> int:
    """The f32 bits of a Python float argument (NaN kept as far as the float carries it)."""
    if x != x:
        bits = float_to_f64(x)
        return ((bits >> 32) & F32_SIGN) | F32_EXP | F32_QUIET | ((bits >> 29) & F32_FRAC)
    return float_to_f32(x)


def f32_to_py(b: int) -> float:
    """An f32 bit pattern as a Python float (NaN payload carried through the double widening)."""
    if f32_is_nan(b):
        sign = F64_SIGN if b & F32_SIGN else 0
        return f64_to_float(sign | F64_EXP | ((b & F32_FRAC) << 29) | F64_QUIET)
    return f32_to_float(b)


# ---------------------------------------------------------------------------------------------
# Integers
# ---------------------------------------------------------------------------------------------

def i32_add(a: int, b: int) -> int: return (a + b) & M32
def i32_sub(a: int, b: int) -> int: return (a - b) & M32
def i32_mul(a: int, b: int) -> int: return (a * b) & M32
def i32_and(a: int, b: int) -> int: return a & b
def i32_or(a: int, b: int) -> int: return a | b
def i32_xor(a: int, b: int) -> int: return a ^ b
def i32_shl(a: int, b: int) -> int: return (a << (b & 31)) & M32
def i32_shr_u(a: int, b: int) -> int: return a >> (b & 31)
def i32_shr_s(a: int, b: int) -> int: return (s32(a) >> (b & 31)) & M32


def i32_rotl(a: int, b: int) -> int:
    k = b & 31
    return ((a << k) | (a >> (32 - k))) & M32


def i32_rotr(a: int, b: int) -> int:
    k = b & 31
    return ((a >> k) | (a << (32 - k))) & M32


def i64_add(a: int, b: int) -> int: return (a + b) & M64
def i64_sub(a: int, b: int) -> int: return (a - b) & M64
def i64_mul(a: int, b: int) -> int: return (a * b) & M64
def i64_and(a: int, b: int) -> int: return a & b
def i64_or(a: int, b: int) -> int: return a | b
def i64_xor(a: int, b: int) -> int: return a ^ b
def i64_shl(a: int, b: int) -> int: return (a << (b & 63)) & M64
def i64_shr_u(a: int, b: int) -> int: return a >> (b & 63)
def i64_shr_s(a: int, b: int) -> int: return (s64(a) >> (b & 63)) & M64


def i64_rotl(a: int, b: int) -> int:
    k = b & 63
    return ((a << k) | (a >> (64 - k))) & M64


def i64_rotr(a: int, b: int) -> int:
    k = b & 63
    return ((a >> k) | (a << (64 - k))) & M64


def _div_s(a: int, b: int, bits: int) -> int:
    if b == 0:
        raise _trap(TrapCode.INTEGER_DIVISION_BY_ZERO)
    q = abs(a) // abs(b)
    if (a < 0) != (b < 0):
        q = -q
    if q >= 1 << (bits - 1):
        raise _trap(TrapCode.INTEGER_OVERFLOW)
    return q


def _rem_s(a: int, b: int) -> int:
    if b == 0:
        raise _trap(TrapCode.INTEGER_DIVISION_BY_ZERO)
    r = abs(a) % abs(b)
    return -r if a < 0 else r


def i32_div_s(a: int, b: int) -> int: return _div_s(s32(a), s32(b), 32) & M32
def i64_div_s(a: int, b: int) -> int: return _div_s(s64(a), s64(b), 64) & M64
def i32_rem_s(a: int, b: int) -> int: return _rem_s(s32(a), s32(b)) & M32
def i64_rem_s(a: int, b: int) -> int: return _rem_s(s64(a), s64(b)) & M64


def i32_div_u(a: int, b: int) -> int:
    if b == 0:
        raise _trap(TrapCode.INTEGER_DIVISION_BY_ZERO)
    return a // b


def i32_rem_u(a: int, b: int) -> int:
    if b == 0:
        raise _trap(TrapCode.INTEGER_DIVISION_BY_ZERO)
    return a % b


i64_div_u = i32_div_u
i64_rem_u = i32_rem_u


def i32_clz(a: int) -> int: return 32 - a.bit_length()
def i64_clz(a: int) -> int: return 64 - a.bit_length()
def i32_ctz(a: int) -> int: return 32 if a == 0 else (a & -a).bit_length() - 1
def i64_ctz(a: int) -> int: return 64 if a == 0 else (a & -a).bit_length() - 1
def i32_popcnt(a: int) -> int: return a.bit_count()


i64_popcnt = i32_popcnt


def i32_eqz(a: int) -> int: return 1 if a == 0 else 0


i64_eqz = i32_eqz


def i32_eq(a: int, b: int) -> int: return 1 if a == b else 0
def i32_ne(a: int, b: int) -> int: return 1 if a != b else 0
def i32_lt_u(a: int, b: int) -> int: return 1 if a < b else 0
def i32_gt_u(a: int, b: int) -> int: return 1 if a > b else 0
def i32_le_u(a: int, b: int) -> int: return 1 if a <= b else 0
def i32_ge_u(a: int, b: int) -> int: return 1 if a >= b else 0
def i32_lt_s(a: int, b: int) -> int: return 1 if s32(a) < s32(b) else 0
def i32_gt_s(a: int, b: int) -> int: return 1 if s32(a) > s32(b) else 0
def i32_le_s(a: int, b: int) -> int: return 1 if s32(a) <= s32(b) else 0
def i32_ge_s(a: int, b: int) -> int: return 1 if s32(a) >= s32(b) else 0
def i64_lt_s(a: int, b: int) -> int: return 1 if s64(a) < s64(b) else 0
def i64_gt_s(a: int, b: int) -> int: return 1 if s64(a) > s64(b) else 0
def i64_le_s(a: int, b: int) -> int: return 1 if s64(a) <= s64(b) else 0
def i64_ge_s(a: int, b: int) -> int: return 1 if s64(a) >= s64(b) else 0


i64_eq, i64_ne = i32_eq, i32_ne
i64_lt_u, i64_gt_u, i64_le_u, i64_ge_u = i32_lt_u, i32_gt_u, i32_le_u, i32_ge_u


def i32_wrap_i64(a: int) -> int: return a & M32
def i64_extend_i32_u(a: int) -> int: return a
def i64_extend_i32_s(a: int) -> int: return s32(a) & M64


def i32_extend8_s(a: int) -> int:
    a &= 0xFF
    return (a - 0x100 if a & 0x80 else a) & M32


def i32_extend16_s(a: int) -> int:
    a &= 0xFFFF
    return (a - 0x10000 if a & 0x8000 else a) & M32


def i64_extend8_s(a: int) -> int:
    a &= 0xFF
    return (a - 0x100 if a & 0x80 else a) & M64


def i64_extend16_s(a: int) -> int:
    a &= 0xFFFF
    return (a - 0x10000 if a & 0x8000 else a) & M64


def i64_extend32_s(a: int) -> int:
    return s32(a & M32) & M64


# ---------------------------------------------------------------------------------------------
# Floats: NaN helpers
# ---------------------------------------------------------------------------------------------

def _nan32(*ops: int) -> int:
    """The NaN result of an f32 operation with at least one NaN operand."""
    for b in ops:
        if (b & 0x7FFF_FFFF) > F32_INF:
            return b | F32_QUIET
    return F32_CANON


def _nan64(*ops: int) -> int:
    for b in ops:
        if (b & 0x7FFF_FFFF_FFFF_FFFF) > F64_INF:
            return b | F64_QUIET
    return F64_CANON


def _res32(x: float) -> int:
    """Round a double result to f32; a NaN produced from non-NaN operands is canonical."""
    if x != x:
        return F32_CANON
    return float_to_f32(x)


def _res64(x: float) -> int:
    if x != x:
        return F64_CANON
    return _unpack_Q(_pack_d(x))[0]


# ---------------------------------------------------------------------------------------------
# Floats: arithmetic (f32 computed in double and rounded once: exact for + - * / sqrt)
# ---------------------------------------------------------------------------------------------

def _binop32(op: Callable[[float, float], float]) -> Callable[[int, int], int]:
    def f(a: int, b: int) -> int:
        if (a & 0x7FFF_FFFF) > F32_INF or (b & 0x7FFF_FFFF) > F32_INF:
            return _nan32(a, b)
        return _res32(op(_unpack_f(_pack_I(a))[0], _unpack_f(_pack_I(b))[0]))
    return f


def _binop64(op: Callable[[float, float], float]) -> Callable[[int, int], int]:
    def f(a: int, b: int) -> int:
        if (a & 0x7FFF_FFFF_FFFF_FFFF) > F64_INF or (b & 0x7FFF_FFFF_FFFF_FFFF) > F64_INF:
            return _nan64(a, b)
        return _res64(op(_unpack_d(_pack_Q(a))[0], _unpack_d(_pack_Q(b))[0]))
    return f


def _fdiv(x: float, y: float) -> float:
    if y == 0.0:
        if x == 0.0 or x != x:
            return math.nan
        neg = (math.copysign(1.0, x) < 0) != (math.copysign(1.0, y) < 0)
        return -math.inf if neg else math.inf
    return x / y


# The hot arithmetic is written out (no NaN pre-check: Python's float arithmetic follows IEEE,
# so a NaN result is detected after the fact and replaced by the spec's NaN).
_pack_II = struct.Struct("<II").pack
_unpack_ff = struct.Struct("<ff").unpack
_pack_QQ = struct.Struct("<QQ").pack
_unpack_dd = struct.Struct("<dd").unpack


def f32_add(a: int, b: int) -> int:
    x, y = _unpack_ff(_pack_II(a, b))
    r = x + y
    if r != r:
        return _nan32(a, b)
    try:
        return _unpack_I(_pack_f(r))[0]
    except OverflowError:
        return F32_INF | (F32_SIGN if r < 0 else 0)


def f32_sub(a: int, b: int) -> int:
    x, y = _unpack_ff(_pack_II(a, b))
    r = x - y
    if r != r:
        return _nan32(a, b)
    try:
        return _unpack_I(_pack_f(r))[0]
    except OverflowError:
        return F32_INF | (F32_SIGN if r < 0 else 0)


def f32_mul(a: int, b: int) -> int:
    x, y = _unpack_ff(_pack_II(a, b))
    r = x * y
    if r != r:
        return _nan32(a, b)
    try:
        return _unpack_I(_pack_f(r))[0]
    except OverflowError:
        return F32_INF | (F32_SIGN if r < 0 else 0)


def f32_div(a: int, b: int) -> int:
    x, y = _unpack_ff(_pack_II(a, b))
    r = x / y if y else _fdiv(x, y)
    if r != r:
        return _nan32(a, b)
    try:
        return _unpack_I(_pack_f(r))[0]
    except OverflowError:
        return F32_INF | (F32_SIGN if r < 0 else 0)


def f64_add(a: int, b: int) -> int:
    x, y = _unpack_dd(_pack_QQ(a, b))
    r = x + y
    if r != r:
        return _nan64(a, b)
    return _unpack_Q(_pack_d(r))[0]


def f64_sub(a: int, b: int) -> int:
    x, y = _unpack_dd(_pack_QQ(a, b))
    r = x - y
    if r != r:
        return _nan64(a, b)
    return _unpack_Q(_pack_d(r))[0]


def f64_mul(a: int, b: int) -> int:
    x, y = _unpack_dd(_pack_QQ(a, b))
    r = x * y
    if r != r:
        return _nan64(a, b)
    return _unpack_Q(_pack_d(r))[0]


def f64_div(a: int, b: int) -> int:
    x, y = _unpack_dd(_pack_QQ(a, b))
    r = x / y if y else _fdiv(x, y)
    if r != r:
        return _nan64(a, b)
    return _unpack_Q(_pack_d(r))[0]


def _fsqrt(x: float) -> float:
    if x < 0:
        return math.nan
    if x == 0 or x == math.inf:
        return x
    return math.sqrt(x)


def f32_sqrt(a: int) -> int:
    if (a & 0x7FFF_FFFF) > F32_INF:
        return _nan32(a)
    return _res32(_fsqrt(_unpack_f(_pack_I(a))[0]))


def f64_sqrt(a: int) -> int:
    if (a & 0x7FFF_FFFF_FFFF_FFFF) > F64_INF:
        return _nan64(a)
    return _res64(_fsqrt(_unpack_d(_pack_Q(a))[0]))


def _min(x: float, y: float) -> float:
    if x == y == 0.0:
        return x if math.copysign(1.0, x) < 0 else y
    return x if x < y else y


def _max(x: float, y: float) -> float:
    if x == y == 0.0:
        return y if math.copysign(1.0, x) < 0 else x
    return x if x > y else y


f32_min = _binop32(_min)
f32_max = _binop32(_max)
f64_min = _binop64(_min)
f64_max = _binop64(_max)


def f32_abs(a: int) -> int: return a & 0x7FFF_FFFF
def f32_neg(a: int) -> int: return a ^ F32_SIGN
def f32_copysign(a: int, b: int) -> int: return (a & 0x7FFF_FFFF) | (b & F32_SIGN)
def f64_abs(a: int) -> int: return a & 0x7FFF_FFFF_FFFF_FFFF
def f64_neg(a: int) -> int: return a ^ F64_SIGN
def f64_copysign(a: int, b: int) -> int: return (a & 0x7FFF_FFFF_FFFF_FFFF) | (b & F64_SIGN)


def _rounder(fn: Callable[[float], int], bits: int) -> Callable[[int], int]:
    """ceil/floor/trunc/nearest: integral results keep the operand's sign (e.g. -0.5 -> -0.0)."""
    if bits == 32:
        def f(a: int) -> int:
            if (a & F32_EXP) == F32_EXP:          # inf or NaN
                return _nan32(a) if a & F32_FRAC else a
            if (a & F32_EXP) >> 23 >= 150:         # |x| >= 2**23: already integral
                return a
            x = _unpack_f(_pack_I(a))[0]
            return float_to_f32(math.copysign(float(fn(x)), x))
    else:
        def f(a: int) -> int:
            if (a & F64_EXP) == F64_EXP:
                return _nan64(a) if a & F64_FRAC else a
            if (a & F64_EXP) >> 52 >= 1075:        # |x| >= 2**52
                return a
            x = _unpack_d(_pack_Q(a))[0]
            return _unpack_Q(_pack_d(math.copysign(float(fn(x)), x)))[0]
    return f


f32_ceil = _rounder(math.ceil, 32)
f32_floor = _rounder(math.floor, 32)
f32_trunc = _rounder(math.trunc, 32)
f32_nearest = _rounder(round, 32)      # round() on a float is round-half-to-even
f64_ceil = _rounder(math.ceil, 64)
f64_floor = _rounder(math.floor, 64)
f64_trunc = _rounder(math.trunc, 64)
f64_nearest = _rounder(round, 64)


# ---------------------------------------------------------------------------------------------
# Floats: comparisons (false for any NaN operand, except ne)
# ---------------------------------------------------------------------------------------------

# Python's float comparisons are IEEE comparisons: false with a NaN operand, except !=.


def f32_eq(a: int, b: int) -> int:
    x, y = _unpack_ff(_pack_II(a, b))
    return 1 if x == y else 0


def f32_ne(a: int, b: int) -> int:
    x, y = _unpack_ff(_pack_II(a, b))
    return 1 if x != y else 0


def f32_lt(a: int, b: int) -> int:
    x, y = _unpack_ff(_pack_II(a, b))
    return 1 if x < y else 0


def f32_gt(a: int, b: int) -> int:
    x, y = _unpack_ff(_pack_II(a, b))
    return 1 if x > y else 0


def f32_le(a: int, b: int) -> int:
    x, y = _unpack_ff(_pack_II(a, b))
    return 1 if x <= y else 0


def f32_ge(a: int, b: int) -> int:
    x, y = _unpack_ff(_pack_II(a, b))
    return 1 if x >= y else 0


def f64_eq(a: int, b: int) -> int:
    x, y = _unpack_dd(_pack_QQ(a, b))
    return 1 if x == y else 0


def f64_ne(a: int, b: int) -> int:
    x, y = _unpack_dd(_pack_QQ(a, b))
    return 1 if x != y else 0


def f64_lt(a: int, b: int) -> int:
    x, y = _unpack_dd(_pack_QQ(a, b))
    return 1 if x < y else 0


def f64_gt(a: int, b: int) -> int:
    x, y = _unpack_dd(_pack_QQ(a, b))
    return 1 if x > y else 0


def f64_le(a: int, b: int) -> int:
    x, y = _unpack_dd(_pack_QQ(a, b))
    return 1 if x <= y else 0


def f64_ge(a: int, b: int) -> int:
    x, y = _unpack_dd(_pack_QQ(a, b))
    return 1 if x >= y else 0


# ---------------------------------------------------------------------------------------------
# Conversions
# ---------------------------------------------------------------------------------------------

def _f32_val(a: int) -> float | None:
    """The value of an f32 (None for NaN); infinities as float infinities."""
    if (a & 0x7FFF_FFFF) > F32_INF:
        return None
    return _unpack_f(_pack_I(a))[0]


def _f64_val(a: int) -> float | None:
    if (a & 0x7FFF_FFFF_FFFF_FFFF) > F64_INF:
        return None
    return _unpack_d(_pack_Q(a))[0]


def _trunc(x: float | None, lo: int, hi: int) -> int:
    """Trapping truncation toward zero into [lo, hi]."""
    if x is None:
        raise _trap(TrapCode.BAD_CONVERSION_TO_INTEGER)
    if x in (math.inf, -math.inf):
        raise _trap(TrapCode.INTEGER_OVERFLOW)
    t = math.trunc(x)
    if t < lo or t > hi:
        raise _trap(TrapCode.INTEGER_OVERFLOW)
    return t


def _trunc_sat(x: float | None, lo: int, hi: int) -> int:
    if x is None:
        return 0
    if x == math.inf:
        return hi
    if x == -math.inf:
        return lo
    t = math.trunc(x)
    return lo if t < lo else hi if t > hi else t


_I32S = (-(1 << 31), (1 << 31) - 1)
_I32U = (0, M32)
_I64S = (-(1 << 63), (1 << 63) - 1)
_I64U = (0, M64)


def i32_trunc_f32_s(a: int) -> int: return _trunc(_f32_val(a), *_I32S) & M32
def i32_trunc_f32_u(a: int) -> int: return _trunc(_f32_val(a), *_I32U)
def i32_trunc_f64_s(a: int) -> int: return _trunc(_f64_val(a), *_I32S) & M32
def i32_trunc_f64_u(a: int) -> int: return _trunc(_f64_val(a), *_I32U)
def i64_trunc_f32_s(a: int) -> int: return _trunc(_f32_val(a), *_I64S) & M64
def i64_trunc_f32_u(a: int) -> int: return _trunc(_f32_val(a), *_I64U)
def i64_trunc_f64_s(a: int) -> int: return _trunc(_f64_val(a), *_I64S) & M64
def i64_trunc_f64_u(a: int) -> int: return _trunc(_f64_val(a), *_I64U)
def i32_trunc_sat_f32_s(a: int) -> int: return _trunc_sat(_f32_val(a), *_I32S) & M32
def i32_trunc_sat_f32_u(a: int) -> int: return _trunc_sat(_f32_val(a), *_I32U)
def i32_trunc_sat_f64_s(a: int) -> int: return _trunc_sat(_f64_val(a), *_I32S) & M32
def i32_trunc_sat_f64_u(a: int) -> int: return _trunc_sat(_f64_val(a), *_I32U)
def i64_trunc_sat_f32_s(a: int) -> int: return _trunc_sat(_f32_val(a), *_I64S) & M64
def i64_trunc_sat_f32_u(a: int) -> int: return _trunc_sat(_f32_val(a), *_I64U)
def i64_trunc_sat_f64_s(a: int) -> int: return _trunc_sat(_f64_val(a), *_I64S) & M64
def i64_trunc_sat_f64_u(a: int) -> int: return _trunc_sat(_f64_val(a), *_I64U)


def int_to_f32(n: int) -> int:
    """Round an exact integer to f32 once (round to nearest, ties to even)."""
    neg = n < 0
    m = -n if neg else n
    length = m.bit_length()
    if length > 24:
        shift = length - 24
        q = m >> shift
        rem = m - (q << shift)
        half = 1 << (shift - 1)
        if rem > half or (rem == half and q & 1):
            q += 1
        m = q << shift          # exactly representable in float32 (or 2**128: overflow -> inf)
    return float_to_f32(-float(m) if neg else float(m))


def int_to_f64(n: int) -> int:
    """Round an exact integer to f64 (Python's int -> float conversion rounds correctly)."""
    return _unpack_Q(_pack_d(float(n)))[0]


def f32_convert_i32_s(a: int) -> int: return int_to_f32(s32(a))
def f32_convert_i32_u(a: int) -> int: return int_to_f32(a)
def f32_convert_i64_s(a: int) -> int: return int_to_f32(s64(a))
def f32_convert_i64_u(a: int) -> int: return int_to_f32(a)
def f64_convert_i32_s(a: int) -> int: return int_to_f64(s32(a))
def f64_convert_i32_u(a: int) -> int: return int_to_f64(a)
def f64_convert_i64_s(a: int) -> int: return int_to_f64(s64(a))
def f64_convert_i64_u(a: int) -> int: return int_to_f64(a)


def f32_demote_f64(a: int) -> int:
    """f64 -> f32, rounding once; a NaN keeps its sign and top payload bits, quieted."""
    if (a & 0x7FFF_FFFF_FFFF_FFFF) > F64_INF:
        sign = F32_SIGN if a & F64_SIGN else 0
        return sign | F32_EXP | F32_QUIET | ((a & F64_FRAC) >> 29)
    return float_to_f32(_unpack_d(_pack_Q(a))[0])


def f64_promote_f32(a: int) -> int:
    """f32 -> f64 (exact); a NaN keeps its sign and payload, quieted."""
    if (a & 0x7FFF_FFFF) > F32_INF:
        sign = F64_SIGN if a & F32_SIGN else 0
        return sign | F64_EXP | F64_QUIET | ((a & F32_FRAC) << 29)
    return _unpack_Q(_pack_d(_unpack_f(_pack_I(a))[0]))[0]


def _ident(a: int) -> int:
    return a


i32_reinterpret_f32 = _ident
i64_reinterpret_f64 = _ident
f32_reinterpret_i32 = _ident
f64_reinterpret_i64 = _ident


# ---------------------------------------------------------------------------------------------
# Tables by wasm mnemonic
# ---------------------------------------------------------------------------------------------

def _collect(names: str) -> dict[str, Callable]:
    g = globals()
    return {n: g[n.replace(".", "_")] for n in names.split()}


#: Two-operand numeric instructions (wasm mnemonic -> function).
BINARY: dict[str, Callable[[int, int], int]] = _collect("""
    i32.add i32.sub i32.mul i32.div_s i32.div_u i32.rem_s i32.rem_u i32.and i32.or i32.xor
    i32.shl i32.shr_s i32.shr_u i32.rotl i32.rotr
    i64.add i64.sub i64.mul i64.div_s i64.div_u i64.rem_s i64.rem_u i64.and i64.or i64.xor
    i64.shl i64.shr_s i64.shr_u i64.rotl i64.rotr
    i32.eq i32.ne i32.lt_s i32.lt_u i32.gt_s i32.gt_u i32.le_s i32.le_u i32.ge_s i32.ge_u
    i64.eq i64.ne i64.lt_s i64.lt_u i64.gt_s i64.gt_u i64.le_s i64.le_u i64.ge_s i64.ge_u
    f32.add f32.sub f32.mul f32.div f32.min f32.max f32.copysign
    f64.add f64.sub f64.mul f64.div f64.min f64.max f64.copysign
    f32.eq f32.ne f32.lt f32.gt f32.le f32.ge f64.eq f64.ne f64.lt f64.gt f64.le f64.ge
""")

#: One-operand numeric instructions, including every conversion.
UNARY: dict[str, Callable[[int], int]] = _collect("""
    i32.eqz i64.eqz i32.clz i32.ctz i32.popcnt i64.clz i64.ctz i64.popcnt
    f32.abs f32.neg f32.ceil f32.floor f32.trunc f32.nearest f32.sqrt
    f64.abs f64.neg f64.ceil f64.floor f64.trunc f64.nearest f64.sqrt
    i32.wrap_i64 i64.extend_i32_s i64.extend_i32_u
    i32.trunc_f32_s i32.trunc_f32_u i32.trunc_f64_s i32.trunc_f64_u
    i64.trunc_f32_s i64.trunc_f32_u i64.trunc_f64_s i64.trunc_f64_u
    i32.trunc_sat_f32_s i32.trunc_sat_f32_u i32.trunc_sat_f64_s i32.trunc_sat_f64_u
    i64.trunc_sat_f32_s i64.trunc_sat_f32_u i64.trunc_sat_f64_s i64.trunc_sat_f64_u
    f32.convert_i32_s f32.convert_i32_u f32.convert_i64_s f32.convert_i64_u
    f64.convert_i32_s f64.convert_i32_u f64.convert_i64_s f64.convert_i64_u
    f32.demote_f64 f64.promote_f32
    i32.reinterpret_f32 i64.reinterpret_f64 f32.reinterpret_i32 f64.reinterpret_i64
    i32.extend8_s i32.extend16_s i64.extend8_s i64.extend16_s i64.extend32_s
""")

#: Instructions that may trap (division, remainder, trapping float -> int truncation).
TRAPPING: frozenset[str] = frozenset(
    n for n in list(BINARY) + list(UNARY)
    if n.split(".")[1].startswith(("div_", "rem_")) or
    (n.split(".")[1].startswith("trunc_f")))
