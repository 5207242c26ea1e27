"""Integer lane arithmetic on legalised v128 values: SWAR on each 64-bit half where it is exact
(add, sub, neg, compares, min/max, abs, saturating add/sub, avgr, shifts, popcnt, pairwise
add, mask tests), lane by lane otherwise (16-bit multiply, narrow, q15mulr, dot)."""

from __future__ import annotations

from engine.ir.ir import I32, IntCC, Opcode

from . import lanes, swar
from .emitter import Emitter, Pair, lane_mask, rep

O = Opcode


def per_half(fn, *vs: Pair) -> Pair:
    """fn applied to the low halves, then to the high halves."""
    return Pair(fn(*(v.lo for v in vs)), fn(*(v.hi for v in vs)))


def add(em: Emitter, a: Pair, b: Pair, bits: int) -> Pair:
    return per_half(lambda x, y: swar.add(em, x, y, bits), a, b)


def sub(em: Emitter, a: Pair, b: Pair, bits: int) -> Pair:
    return per_half(lambda x, y: swar.sub(em, x, y, bits), a, b)


def neg(em: Emitter, a: Pair, bits: int) -> Pair:
    return per_half(lambda x: swar.sub(em, em.const(0), x, bits), a)


def abs_(em: Emitter, a: Pair, bits: int) -> Pair:
    def f(x: int) -> int:
        s = swar.sign_mask(em, x, bits)
        return swar.sub(em, em.xor(x, s), s, bits)
    return per_half(f, a)


def mul(em: Emitter, a: Pair, b: Pair, bits: int) -> Pair:
    if bits == 64:
        return per_half(em.mul, a, b)
    if bits == 32:
        def f(x: int, y: int) -> int:
            lo = em.kand(em.mul(x, y), 0xFFFF_FFFF)
            hi = em.kshl(em.mul(em.kushr(x, 32), em.kushr(y, 32)), 32)
            return em.or_(lo, hi)
        return per_half(f, a, b)
    return lanes.join(em, (em.mul(lanes.lane(em, a, bits, i, clean=False),
                                  lanes.lane(em, b, bits, i, clean=False))
                           for i in range(128 // bits)), bits)


# -- compares, min / max ------------------------------------------------------------------------

_CMP = {"eq": ("eq", False), "ne": ("eq", True), "lt": ("lt", False), "gt": ("gt", False),
        "le": ("gt", True), "ge": ("lt", True)}


def compare(em: Emitter, a: Pair, b: Pair, bits: int, cc: str, signed: bool) -> Pair:
    """Lanes all ones where `a cc b`; cc one of eq ne lt gt le ge."""
    base, negate = _CMP[cc]

    def f(x: int, y: int) -> int:
        if base == "eq":
            m = swar.eq_mask(em, x, y, bits)
        elif base == "lt":
            m = swar.lt_mask(em, x, y, bits, signed)
        else:
            m = swar.lt_mask(em, y, x, bits, signed)
        return em.not_(m) if negate else m
    return per_half(f, a, b)


def minmax(em: Emitter, a: Pair, b: Pair, bits: int, is_min: bool, signed: bool) -> Pair:
    def f(x: int, y: int) -> int:
        m = swar.lt_mask(em, x, y, bits, signed)
        return swar.blend(em, m, x, y) if is_min else swar.blend(em, m, y, x)
    return per_half(f, a, b)


# -- saturating add / sub, average ---------------------------------------------------------------

def add_sat(em: Emitter, a: Pair, b: Pair, bits: int, signed: bool) -> Pair:
    h = swar.high(bits)

    def f(x: int, y: int) -> int:
        s = swar.add(em, x, y, bits)
        if not signed:
            carry = em.or_(em.and_(x, y), em.and_(em.or_(x, y), em.not_(s)))
            return em.or_(s, swar.expand(em, em.kand(carry, h), bits))
        ovf = em.kand(em.and_(em.not_(em.xor(x, y)), em.xor(x, s)), h)
        return _saturate(em, x, s, ovf, bits)
    return per_half(f, a, b)


def sub_sat(em: Emitter, a: Pair, b: Pair, bits: int, signed: bool) -> Pair:
    h = swar.high(bits)

    def f(x: int, y: int) -> int:
        d = swar.sub(em, x, y, bits)
        if not signed:
            return em.and_(d, em.not_(swar.lt_mask(em, x, y, bits, False)))
        ovf = em.kand(em.and_(em.xor(x, y), em.xor(x, d)), h)
        return _saturate(em, x, d, ovf, bits)
    return per_half(f, a, b)


def _saturate(em: Emitter, x: int, r: int, ovf_top: int, bits: int) -> int:
    """Lanes of r, except where ovf_top's lane bit is set: the signed bound on x's side."""
    bound = em.kxor(swar.sign_mask(em, x, bits), swar.low(bits))
    return swar.blend(em, swar.expand(em, ovf_top, bits), bound, r)


def avgr_u(em: Emitter, a: Pair, b: Pair, bits: int) -> Pair:
    # (x + y + 1) >> 1 == (x | y) - ((x ^ y) >> 1), which never borrows across lanes
    return per_half(lambda x, y: em.sub(em.or_(x, y), em.kand(em.kushr(em.xor(x, y), 1),
                                                                swar.low(bits))), a, b)


# -- shifts ----------------------------------------------------------------------------------------

def shift(em: Emitter, a: Pair, count: int, bits: int, kind: str) -> Pair:
    """shl / shr_u / shr_s by the i32 `count` taken modulo the lane width."""
    n = em.from_i32(em.op(O.BAND, I32, count, em.const(bits - 1, I32)))
    if bits == 64:
        fn = {"shl": em.shl, "shr_u": em.ushr, "shr_s": em.sshr}[kind]
        return per_half(lambda x: fn(x, n), a)
    lm = em.const(lane_mask(bits))
    if kind == "shl":
        keep = em.kmul(em.and_(em.shl(lm, n), lm), rep(bits, 1))
        return per_half(lambda x: em.and_(em.shl(x, n), keep), a)
    keep = em.kmul(em.ushr(lm, n), rep(bits, 1))
    if kind == "shr_u":
        return per_half(lambda x: em.and_(em.ushr(x, n), keep), a)
    top = em.xor(lm, em.ushr(lm, n))            # the n bits a negative lane fills with ones

    def f(x: int) -> int:
        t = em.and_(em.ushr(x, n), keep)
        flags = em.kushr(em.kand(x, swar.high(bits)), bits - 1)
        return em.or_(t, em.mul(flags, top))
    return per_half(f, a)


# -- bit counts and lane tests -------------------------------------------------------------------

def popcnt8(em: Emitter, a: Pair) -> Pair:
    def f(x: int) -> int:
        x = em.sub(x, em.kand(em.kushr(x, 1), rep(8, 0x55)))
        x = em.add(em.kand(x, rep(8, 0x33)), em.kand(em.kushr(x, 2), rep(8, 0x33)))
        return em.kand(em.add(x, em.kushr(x, 4)), rep(8, 0x0F))
    return per_half(f, a)


def any_true(em: Emitter, a: Pair) -> int:
    return em.icmp(IntCC.NE, em.or_(a.lo, a.hi), em.const(0))


def all_true(em: Emitter, a: Pair, bits: int) -> int:
    if bits == 64:
        z = em.icmp(IntCC.NE, a.lo, em.const(0))
        return em.op(O.BAND, I32, z, em.icmp(IntCC.NE, a.hi, em.const(0)))
    both = em.and_(swar.nonzero_top(em, a.lo, bits), swar.nonzero_top(em, a.hi, bits))
    return em.icmp(IntCC.EQ, both, em.const(swar.high(bits)))


#: per lane width: (multiplier gathering the lane flags at bit `at`, `at`)
_GATHER = {8: (0x0102_0408_1020_4080, 56), 16: ((1 << 48) | (1 << 33) | (1 << 18) | (1 << 3), 48)}


def bitmask(em: Emitter, a: Pair, bits: int) -> int:
    per = 64 // bits
    halves = []
    for x in (a.lo, a.hi):
        if bits == 64:
            m = em.kushr(x, 63)
        elif bits == 32:
            m = em.or_(em.kand(em.kushr(x, 31), 1), em.kand(em.kushr(x, 62), 2))
        else:
            # the lane flags (one bit per lane) multiplied into adjacent bits, no carries
            magic, at = _GATHER[bits]
            flags = em.kushr(em.kand(x, swar.high(bits)), bits - 1)
            m = em.kand(em.kushr(em.kmul(flags, magic), at), (1 << per) - 1)
        halves.append(m)
    return em.to_i32(em.or_(halves[0], em.kshl(halves[1], per)))


# -- widening and narrowing ---------------------------------------------------------------

def narrow(em: Emitter, a: Pair, b: Pair, bits: int, signed: bool) -> Pair:
    """`bits`-wide signed lanes of a then b, saturated to bits // 2 (signed or unsigned)."""
    half = bits // 2
    lo, hi = (-(1 << (half - 1)), (1 << (half - 1)) - 1) if signed else (0, (1 << half) - 1)
    def clamp(v: Pair, i: int) -> int:
        x = lanes.lane(em, v, bits, i, signed=True)
        x = em.select(em.icmp(IntCC.SLT, x, em.const(lo)), em.const(lo), x)
        return em.select(em.icmp(IntCC.SGT, x, em.const(hi)), em.const(hi), x)
    return lanes.join(em, (clamp(v, i) for v in (a, b) for i in range(128 // bits)), half)


def extmul(em: Emitter, a: Pair, b: Pair, bits: int, high: bool, signed: bool) -> Pair:
    wa = lanes.widen(em, a, bits, high, signed)
    wb = lanes.widen(em, b, bits, high, signed)
    return mul(em, wa, wb, 2 * bits)


def extadd_pairwise(em: Emitter, a: Pair, bits: int, signed: bool) -> Pair:
    even = rep(2 * bits, lane_mask(bits))

    def f(x: int) -> int:
        e, o = em.kand(x, even), em.kand(em.kushr(x, bits), even)
        if not signed:
            return em.add(e, o)        # no lane overflows
        return swar.add(em, swar.sign_extend(em, e, bits, 2 * bits),
                        swar.sign_extend(em, o, bits, 2 * bits), 2 * bits)
    return per_half(f, a)


def q15mulr_sat(em: Emitter, a: Pair, b: Pair) -> Pair:
    def lane(i: int) -> int:
        p = em.mul(lanes.lane(em, a, 16, i, signed=True), lanes.lane(em, b, 16, i, signed=True))
        p = em.ksshr(em.kadd(p, 0x4000), 15)
        # only -0x8000 * -0x8000 leaves the range, upwards
        return em.select(em.icmp(IntCC.SGT, p, em.const(0x7FFF)), em.const(0x7FFF), p)
    return lanes.join(em, (lane(i) for i in range(8)), 16)


def dot_i16x8_s(em: Emitter, a: Pair, b: Pair) -> Pair:
    def lane(i: int) -> int:
        x0, x1 = (lanes.lane(em, a, 16, 2 * i + k, signed=True) for k in (0, 1))
        y0, y1 = (lanes.lane(em, b, 16, 2 * i + k, signed=True) for k in (0, 1))
        return em.add(em.mul(x0, y0), em.mul(x1, y1))
    return lanes.join(em, (lane(i) for i in range(4)), 32)
