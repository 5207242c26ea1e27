"""Exact WebAssembly 2.0 SIMD semantics as pure functions on Python ints (v128 as a 128-bit
unsigned int, lane 0 in the low bits; see engine/ir/README.md, "SIMD").

Float lanes follow the scalar rules of engine.ir.numerics lane by lane (NaN canonical /
arithmetic, round to nearest even, -0 < +0 in min/max), so the interpreter, a constant folder
and a scalar legalisation of SIMD agree with the scalar operators bit for bit.

`SIMD_FUNCS` maps every non-memory SIMD opcode to its function: operands in IR order, then the
immediate (lane index, shuffle tuple) for the opcodes that have one. `LOAD_FUNCS` maps each
SIMD load to ``f(raw)`` (``f(raw, v, lane)`` for the lane loads) where `raw` is the unsigned
little-endian int of the ACCESS_SIZE bytes read.
"""

from __future__ import annotations

from typing import Callable

from . import numerics as N
from .ir import Opcode
from .simd import SHAPES, Shape

O = Opcode
M128 = (1 << 128) - 1


# -- lanes ------------------------------------------------------------------------------------

def lanes(v: int, bits: int) -> list[int]:
    """The unsigned lanes of v128 `v` at `bits` per lane, lane 0 first."""
    mask = (1 << bits) - 1
    return [(v >> i) & mask for i in range(0, 128, bits)]


def slanes(v: int, bits: int) -> list[int]:
    """The signed lanes of `v`."""
    mask = (1 << bits) - 1
    sign = 1 << (bits - 1)
    return [(((v >> i) & mask) ^ sign) - sign for i in range(0, 128, bits)]


def join(values: list[int], bits: int) -> int:
    """A v128 from lane values (any ints: each is wrapped to `bits`), lane 0 first."""
    mask = (1 << bits) - 1
    out = 0
    for i, x in enumerate(values):
        out |= (x & mask) << (i * bits)
    return out


def _sat(x: int, lo: int, hi: int) -> int:
    return lo if x < lo else hi if x > hi else x


def _srange(bits: int) -> tuple[int, int]:
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


# -- builders of lane-wise functions ------------------------------------------------------------

def _lanewise1(bits: int, fn: Callable[[int], int], signed: bool = False) -> Callable[[int], int]:
    split = slanes if signed else lanes

    def f(a: int) -> int:
        return join([fn(x) for x in split(a, bits)], bits)
    return f


def _lanewise2(bits: int, fn: Callable[[int, int], int], signed: bool = False
               ) -> Callable[[int, int], int]:
    split = slanes if signed else lanes

    def f(a: int, b: int) -> int:
        return join([fn(x, y) for x, y in zip(split(a, bits), split(b, bits))], bits)
    return f


def _compare(bits: int, pred: Callable[[int, int], bool], signed: bool = False
             ) -> Callable[[int, int], int]:
    return _lanewise2(bits, lambda x, y: -1 if pred(x, y) else 0, signed)


def _fcompare(bits: int, fn: Callable[[int, int], int]) -> Callable[[int, int], int]:
    return _lanewise2(bits, lambda x, y: -1 if fn(x, y) else 0)


# -- the table ----------------------------------------------------------------------------------

SIMD_FUNCS: dict[Opcode, Callable[..., int]] = {}


def _def(name: str, fn: Callable[..., int]) -> None:
    SIMD_FUNCS[Opcode(name)] = fn


def _bitmask(bits: int) -> Callable[[int], int]:
    def f(a: int) -> int:
        out = 0
        for i, x in enumerate(lanes(a, bits)):
            out |= (x >> (bits - 1)) << i
        return out
    return f


def _all_true(bits: int) -> Callable[[int], int]:
    return lambda a: 1 if all(lanes(a, bits)) else 0


def _shift(bits: int, kind: str) -> Callable[[int, int], int]:
    def f(a: int, n: int) -> int:
        n &= bits - 1
        if kind == "shl":
            return join([x << n for x in lanes(a, bits)], bits)
        if kind == "shr_u":
            return join([x >> n for x in lanes(a, bits)], bits)
        return join([x >> n for x in slanes(a, bits)], bits)
    return f


def _extract(bits: int, signed: bool) -> Callable[[int, int], int]:
    mask = (1 << bits) - 1

    def f(a: int, lane: int) -> int:
        x = (a >> (lane * bits)) & mask
        if signed and x >> (bits - 1):
            return (x - (1 << bits)) & 0xFFFF_FFFF
        return x
    return f


def _replace(bits: int) -> Callable[[int, int, int], int]:
    mask = (1 << bits) - 1

    def f(a: int, x: int, lane: int) -> int:
        s = lane * bits
        return (a & ~(mask << s) & M128) | ((x & mask) << s)
    return f


def _splat(bits: int) -> Callable[[int], int]:
    mask = (1 << bits) - 1
    return lambda x: join([x & mask] * (128 // bits), bits)


def _narrow(bits: int, signed: bool) -> Callable[[int, int], int]:
    """Narrow signed `bits` lanes of a then b to bits // 2, saturating (to signed or unsigned)."""
    half = bits // 2
    lo, hi = _srange(half) if signed else (0, (1 << half) - 1)

    def f(a: int, b: int) -> int:
        return join([_sat(x, lo, hi) for x in slanes(a, bits) + slanes(b, bits)], half)
    return f


def _extend(bits: int, high: bool, signed: bool) -> Callable[[int], int]:
    """Widen the low or high half of the `bits`-wide lanes to 2 * bits."""
    def f(a: int) -> int:
        xs = (slanes if signed else lanes)(a, bits)
        n = len(xs) // 2
        return join(xs[n:] if high else xs[:n], bits * 2)
    return f


def _extmul(bits: int, high: bool, signed: bool) -> Callable[[int, int], int]:
    def f(a: int, b: int) -> int:
        split = slanes if signed else lanes
        xs, ys = split(a, bits), split(b, bits)
        n = len(xs) // 2
        part = slice(n, None) if high else slice(0, n)
        return join([x * y for x, y in zip(xs[part], ys[part])], bits * 2)
    return f


def _extadd(bits: int, signed: bool) -> Callable[[int], int]:
    def f(a: int) -> int:
        xs = (slanes if signed else lanes)(a, bits)
        return join([xs[i] + xs[i + 1] for i in range(0, len(xs), 2)], bits * 2)
    return f


def _float_lanes(shape: Shape, fn: Callable[..., int], nargs: int) -> Callable[..., int]:
    return _lanewise1(shape.bits, fn) if nargs == 1 else _lanewise2(shape.bits, fn)


def _pmin(lt: Callable[[int, int], int]) -> Callable[[int, int], int]:
    return lambda a, b: b if lt(b, a) else a


def _pmax(lt: Callable[[int, int], int]) -> Callable[[int, int], int]:
    return lambda a, b: b if lt(a, b) else a


def _i8x16_swizzle(a: int, s: int) -> int:
    src = lanes(a, 8)
    return join([src[i] if i < 16 else 0 for i in lanes(s, 8)], 8)


def _i8x16_shuffle(a: int, b: int, mask: tuple[int, ...]) -> int:
    src = lanes(a, 8) + lanes(b, 8)
    return join([src[i] for i in mask], 8)


def _q15mulr(x: int, y: int) -> int:
    return _sat((x * y + 0x4000) >> 15, -0x8000, 0x7FFF)


def _dot(a: int, b: int) -> int:
    xs, ys = slanes(a, 16), slanes(b, 16)
    return join([xs[i] * ys[i] + xs[i + 1] * ys[i + 1] for i in range(0, 8, 2)], 32)


def _populate() -> None:
    # constants, splats, lanes
    _def("v128.const", lambda: 0)   # never called: the immediate is the value
    for prefix, shape in SHAPES.items():
        _def(f"{prefix}.splat", _splat(shape.bits))
        _def(f"{prefix}.replace_lane", _replace(shape.bits))
    for prefix in ("i8x16", "i16x8"):
        bits = SHAPES[prefix].bits
        _def(f"{prefix}.extract_lane_s", _extract(bits, True))
        _def(f"{prefix}.extract_lane_u", _extract(bits, False))
    for prefix in ("i32x4", "i64x2", "f32x4", "f64x2"):
        _def(f"{prefix}.extract_lane", _extract(SHAPES[prefix].bits, False))
    _def("i8x16.shuffle", _i8x16_shuffle)
    _def("i8x16.swizzle", _i8x16_swizzle)

    # bitwise
    _def("v128.not", lambda a: a ^ M128)
    _def("v128.and", lambda a, b: a & b)
    _def("v128.andnot", lambda a, b: a & (b ^ M128))
    _def("v128.or", lambda a, b: a | b)
    _def("v128.xor", lambda a, b: a ^ b)
    _def("v128.bitselect", lambda a, b, c: (a & c) | (b & (c ^ M128)))
    _def("v128.any_true", lambda a: 1 if a else 0)

    # integer lanes
    for prefix in ("i8x16", "i16x8", "i32x4", "i64x2"):
        bits = SHAPES[prefix].bits
        lo, hi = _srange(bits)
        umax = (1 << bits) - 1
        _def(f"{prefix}.eq", _compare(bits, lambda x, y: x == y))
        _def(f"{prefix}.ne", _compare(bits, lambda x, y: x != y))
        for cc, pred in (("lt", lambda x, y: x < y), ("gt", lambda x, y: x > y),
                         ("le", lambda x, y: x <= y), ("ge", lambda x, y: x >= y)):
            _def(f"{prefix}.{cc}_s", _compare(bits, pred, signed=True))
            if prefix != "i64x2":
                _def(f"{prefix}.{cc}_u", _compare(bits, pred))
        _def(f"{prefix}.abs", _lanewise1(bits, abs, signed=True))
        _def(f"{prefix}.neg", _lanewise1(bits, lambda x: -x))
        _def(f"{prefix}.all_true", _all_true(bits))
        _def(f"{prefix}.bitmask", _bitmask(bits))
        for kind in ("shl", "shr_s", "shr_u"):
            _def(f"{prefix}.{kind}", _shift(bits, kind))
        _def(f"{prefix}.add", _lanewise2(bits, lambda x, y: x + y))
        _def(f"{prefix}.sub", _lanewise2(bits, lambda x, y: x - y))
        if prefix != "i8x16":
            _def(f"{prefix}.mul", _lanewise2(bits, lambda x, y: x * y))
        if prefix in ("i8x16", "i16x8"):
            _def(f"{prefix}.add_sat_s", _lanewise2(
                bits, lambda x, y, lo=lo, hi=hi: _sat(x + y, lo, hi), signed=True))
            _def(f"{prefix}.sub_sat_s", _lanewise2(
                bits, lambda x, y, lo=lo, hi=hi: _sat(x - y, lo, hi), signed=True))
            _def(f"{prefix}.add_sat_u", _lanewise2(
                bits, lambda x, y, m=umax: _sat(x + y, 0, m)))
            _def(f"{prefix}.sub_sat_u", _lanewise2(bits, lambda x, y: _sat(x - y, 0, x)))
            _def(f"{prefix}.avgr_u", _lanewise2(bits, lambda x, y: (x + y + 1) >> 1))
        if prefix != "i64x2":
            _def(f"{prefix}.min_s", _lanewise2(bits, min, signed=True))
            _def(f"{prefix}.min_u", _lanewise2(bits, min))
            _def(f"{prefix}.max_s", _lanewise2(bits, max, signed=True))
            _def(f"{prefix}.max_u", _lanewise2(bits, max))
    _def("i8x16.popcnt", _lanewise1(8, lambda x: x.bit_count()))
    _def("i8x16.narrow_i16x8_s", _narrow(16, True))
    _def("i8x16.narrow_i16x8_u", _narrow(16, False))
    _def("i16x8.narrow_i32x4_s", _narrow(32, True))
    _def("i16x8.narrow_i32x4_u", _narrow(32, False))
    _def("i16x8.q15mulr_sat_s", _lanewise2(16, _q15mulr, signed=True))
    _def("i32x4.dot_i16x8_s", _dot)
    for wide, narrow in (("i16x8", "i8x16"), ("i32x4", "i16x8"), ("i64x2", "i32x4")):
        bits = SHAPES[narrow].bits
        for sign in ("s", "u"):
            signed = sign == "s"
            _def(f"{wide}.extend_low_{narrow}_{sign}", _extend(bits, False, signed))
            _def(f"{wide}.extend_high_{narrow}_{sign}", _extend(bits, True, signed))
            _def(f"{wide}.extmul_low_{narrow}_{sign}", _extmul(bits, False, signed))
            _def(f"{wide}.extmul_high_{narrow}_{sign}", _extmul(bits, True, signed))
            if wide != "i64x2":
                _def(f"{wide}.extadd_pairwise_{narrow}_{sign}", _extadd(bits, signed))

    # float lanes: the scalar functions lane by lane
    for prefix in ("f32x4", "f64x2"):
        shape = SHAPES[prefix]
        t = prefix[:3]
        for name in ("abs", "neg", "sqrt", "ceil", "floor", "trunc", "nearest"):
            _def(f"{prefix}.{name}", _float_lanes(shape, getattr(N, f"{t}_{name}"), 1))
        for name in ("add", "sub", "mul", "div", "min", "max"):
            _def(f"{prefix}.{name}", _float_lanes(shape, getattr(N, f"{t}_{name}"), 2))
        for name in ("eq", "ne", "lt", "gt", "le", "ge"):
            _def(f"{prefix}.{name}", _fcompare(shape.bits, getattr(N, f"{t}_{name}")))
        lt = getattr(N, f"{t}_lt")
        _def(f"{prefix}.pmin", _lanewise2(shape.bits, _pmin(lt)))
        _def(f"{prefix}.pmax", _lanewise2(shape.bits, _pmax(lt)))

    # conversions
    _def("i32x4.trunc_sat_f32x4_s", _lanewise1(32, N.i32_trunc_sat_f32_s))
    _def("i32x4.trunc_sat_f32x4_u", _lanewise1(32, N.i32_trunc_sat_f32_u))
    _def("f32x4.convert_i32x4_s", _lanewise1(32, N.f32_convert_i32_s))
    _def("f32x4.convert_i32x4_u", _lanewise1(32, N.f32_convert_i32_u))
    _def("i32x4.trunc_sat_f64x2_s_zero",
         lambda a: join([N.i32_trunc_sat_f64_s(x) for x in lanes(a, 64)], 32))
    _def("i32x4.trunc_sat_f64x2_u_zero",
         lambda a: join([N.i32_trunc_sat_f64_u(x) for x in lanes(a, 64)], 32))
    _def("f64x2.convert_low_i32x4_s",
         lambda a: join([N.f64_convert_i32_s(x) for x in lanes(a, 32)[:2]], 64))
    _def("f64x2.convert_low_i32x4_u",
         lambda a: join([N.f64_convert_i32_u(x) for x in lanes(a, 32)[:2]], 64))
    _def("f32x4.demote_f64x2_zero",
         lambda a: join([N.f32_demote_f64(x) for x in lanes(a, 64)], 32))
    _def("f64x2.promote_low_f32x4",
         lambda a: join([N.f64_promote_f32(x) for x in lanes(a, 32)[:2]], 64))


_populate()
del SIMD_FUNCS[O.V128_CONST]


# -- loads --------------------------------------------------------------------------------------

def _load_extend(bits: int, signed: bool) -> Callable[[int], int]:
    """v128.loadMxN_s/u: N lanes of M bits (64 bits read), each widened to 2M."""
    def f(raw: int) -> int:
        mask = (1 << bits) - 1
        sign = 1 << (bits - 1)
        xs = [(raw >> i) & mask for i in range(0, 64, bits)]
        if signed:
            xs = [(x ^ sign) - sign for x in xs]
        return join(xs, bits * 2)
    return f


LOAD_FUNCS: dict[Opcode, Callable[..., int]] = {
    O.V128_LOAD: lambda raw: raw,
    O.V128_LOAD8X8_S: _load_extend(8, True), O.V128_LOAD8X8_U: _load_extend(8, False),
    O.V128_LOAD16X4_S: _load_extend(16, True), O.V128_LOAD16X4_U: _load_extend(16, False),
    O.V128_LOAD32X2_S: _load_extend(32, True), O.V128_LOAD32X2_U: _load_extend(32, False),
    O.V128_LOAD8_SPLAT: _splat(8), O.V128_LOAD16_SPLAT: _splat(16),
    O.V128_LOAD32_SPLAT: _splat(32), O.V128_LOAD64_SPLAT: _splat(64),
    O.V128_LOAD32_ZERO: lambda raw: raw, O.V128_LOAD64_ZERO: lambda raw: raw,
    O.V128_LOAD8_LANE: lambda raw, v, lane: _replace(8)(v, raw, lane),
    O.V128_LOAD16_LANE: lambda raw, v, lane: _replace(16)(v, raw, lane),
    O.V128_LOAD32_LANE: lambda raw, v, lane: _replace(32)(v, raw, lane),
    O.V128_LOAD64_LANE: lambda raw, v, lane: _replace(64)(v, raw, lane),
}
