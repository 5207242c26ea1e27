"""Lane-parallel integer arithmetic inside one 64-bit word ("SIMD within a register"): M-bit
lanes (M = 8, 16, 32; 64 is the plain i64 operation) added, subtracted, compared and tested
for zero without carries crossing lanes. Every function here is exact for all inputs; the unit
tests check each against engine.ir.simd_numerics."""

from __future__ import annotations

from engine.ir.ir import IntCC

from .emitter import M64, Emitter, lane_mask, rep


def high(bits: int) -> int:
    """The top bit of every lane."""
    return rep(bits, 1 << (bits - 1))


def low(bits: int) -> int:
    """All but the top bit of every lane."""
    return M64 ^ high(bits)


def add(em: Emitter, a: int, b: int, bits: int) -> int:
    """Lane-wise a + b, wrapping."""
    if bits == 64:
        return em.add(a, b)
    s = em.add(em.kand(a, low(bits)), em.kand(b, low(bits)))
    return em.xor(s, em.kand(em.xor(a, b), high(bits)))


def sub(em: Emitter, a: int, b: int, bits: int) -> int:
    """Lane-wise a - b, wrapping."""
    if bits == 64:
        return em.sub(a, b)
    d = em.sub(em.kor(a, high(bits)), em.kand(b, low(bits)))
    # the top bit of each lane is 1 - borrow; the true one is a ^ b ^ borrow
    return em.xor(d, em.kand(em.not_(em.xor(a, b)), high(bits)))


def expand(em: Emitter, top: int, bits: int) -> int:
    """A word whose lanes hold only their top bit (others zero) -> each such lane all ones."""
    if bits == 64:
        return em.ksshr(top, 63)
    # per lane 2**((i+1)M) - 2**(iM); the top lane's 2**64 wraps away
    return em.sub(em.kshl(top, 1), em.kushr(top, bits - 1))


def nonzero_top(em: Emitter, x: int, bits: int) -> int:
    """The top bit of each lane set exactly when the lane is non-zero (other bits zero)."""
    t = em.add(em.kand(x, low(bits)), em.const(low(bits)))
    return em.kand(em.or_(t, x), high(bits))


def ltu_top(em: Emitter, a: int, b: int, bits: int) -> int:
    """The top bit of each lane set exactly when a < b (unsigned) in that lane."""
    d = sub(em, a, b, bits)
    borrow = em.or_(em.and_(em.not_(a), b), em.and_(em.not_(em.xor(a, b)), d))
    return em.kand(borrow, high(bits))


def lt_mask(em: Emitter, a: int, b: int, bits: int, signed: bool) -> int:
    """Each lane all ones when a < b (signed or unsigned) in it, else zero."""
    if bits == 64:
        return em.mask_of(em.icmp(IntCC.SLT if signed else IntCC.ULT, a, b))
    if signed:
        a, b = em.kxor(a, high(bits)), em.kxor(b, high(bits))
    return expand(em, ltu_top(em, a, b, bits), bits)


def eq_mask(em: Emitter, a: int, b: int, bits: int) -> int:
    """Each lane all ones when a == b in it."""
    if bits == 64:
        return em.mask_of(em.icmp(IntCC.EQ, a, b))
    return em.not_(expand(em, nonzero_top(em, em.xor(a, b), bits), bits))


def blend(em: Emitter, m: int, a: int, b: int) -> int:
    """Bits of a where m is set, of b elsewhere."""
    return em.xor(b, em.and_(em.xor(a, b), m))


def sign_mask(em: Emitter, x: int, bits: int) -> int:
    """Each lane all ones when its value is negative."""
    return expand(em, em.kand(x, high(bits)), bits)


def sign_extend(em: Emitter, x: int, bits: int, wide: int) -> int:
    """Lanes of `wide` bits holding `bits`-bit values (zero above) -> sign-extended in place."""
    if wide == 64 and bits == 32:
        return em.ksshr(em.kshl(x, 32), 32)
    flags = em.kushr(em.kand(x, rep(wide, 1 << (bits - 1))), bits - 1)
    return em.or_(x, em.kmul(flags, lane_mask(wide) ^ lane_mask(bits)))
