"""Float lanes of legalised v128 values through the scalar float instructions (so each lane gets
exactly the scalar operator's wasm semantics: rounding, NaN results, min/max), abs/neg/pmin/
pmax as exact bit operations, and the conversions between lane shapes."""

from __future__ import annotations

from typing import Iterable

from engine.ir.ir import F32, F64, I32, FloatCC, Opcode, Type

from . import lanes
from .emitter import Emitter, Pair, rep

O = Opcode


def _fty(bits: int) -> Type:
    return F32 if bits == 32 else F64


def flane(em: Emitter, v: Pair, bits: int, i: int) -> int:
    """Float lane i as an f32 / f64 value."""
    if bits == 64:
        return em.to_f64(v.half(i))
    return em.to_f32(lanes.lane(em, v, 32, i, clean=False))


def fjoin(em: Emitter, values: Iterable[int], bits: int) -> Pair:
    return lanes.join(em, (em.from_float(x, _fty(bits)) for x in values), bits, clean=True)


def unary(em: Emitter, op: Opcode, a: Pair, bits: int) -> Pair:
    ty = _fty(bits)
    return fjoin(em, (em.op(op, ty, flane(em, a, bits, i)) for i in range(128 // bits)), bits)


def binary(em: Emitter, op: Opcode, a: Pair, b: Pair, bits: int) -> Pair:
    ty = _fty(bits)
    return fjoin(em, (em.op(op, ty, flane(em, a, bits, i), flane(em, b, bits, i))
                      for i in range(128 // bits)), bits)


def sign_op(em: Emitter, a: Pair, bits: int, neg: bool) -> Pair:
    """abs / neg: the sign bits only (NaN payloads kept)."""
    sign = rep(bits, 1 << (bits - 1))
    if neg:
        return Pair(em.kxor(a.lo, sign), em.kxor(a.hi, sign))
    return Pair(em.kand(a.lo, ~sign), em.kand(a.hi, ~sign))


def compare(em: Emitter, cc: FloatCC, a: Pair, b: Pair, bits: int) -> Pair:
    return lanes.join(em, (em.mask_of(em.op(O.FCMP, I32, flane(em, a, bits, i),
                                             flane(em, b, bits, i), imm=cc))
                           for i in range(128 // bits)), bits)


def pminmax(em: Emitter, a: Pair, b: Pair, bits: int, is_min: bool) -> Pair:
    """pmin a b = b < a ? b : a; pmax a b = a < b ? b : a (the lane bits chosen, not computed)."""
    def pick(i: int) -> int:
        x, y = flane(em, a, bits, i), flane(em, b, bits, i)
        c = em.op(O.FCMP, I32, *((y, x) if is_min else (x, y)), imm=FloatCC.LT)
        return em.select(c, lanes.lane(em, b, bits, i, clean=False),
                         lanes.lane(em, a, bits, i, clean=False))
    return lanes.join(em, (pick(i) for i in range(128 // bits)), bits)


# -- conversions -------------------------------------------------------------------------------

def trunc_sat_f32x4(em: Emitter, a: Pair, signed: bool) -> Pair:
    op = O.FCVT_TO_SINT_SAT if signed else O.FCVT_TO_UINT_SAT
    return lanes.join(em, (em.from_i32(em.op(op, I32, flane(em, a, 32, i))) for i in range(4)),
                      32, clean=True)


def convert_i32x4(em: Emitter, a: Pair, signed: bool) -> Pair:
    op = O.FCVT_FROM_SINT if signed else O.FCVT_FROM_UINT
    return fjoin(em, (em.op(op, F32, em.to_i32(lanes.lane(em, a, 32, i, clean=False)))
                      for i in range(4)), 32)


def trunc_sat_f64x2_zero(em: Emitter, a: Pair, signed: bool) -> Pair:
    op = O.FCVT_TO_SINT_SAT if signed else O.FCVT_TO_UINT_SAT
    out = [em.from_i32(em.op(op, I32, flane(em, a, 64, i))) for i in range(2)]
    return Pair(em.or_(out[0], em.kshl(out[1], 32)), em.const(0))


def convert_low_i32x4(em: Emitter, a: Pair, signed: bool) -> Pair:
    op = O.FCVT_FROM_SINT if signed else O.FCVT_FROM_UINT
    out = [em.op(op, F64, em.to_i32(lanes.lane(em, a, 32, i, clean=False))) for i in range(2)]
    return fjoin(em, out, 64)


def demote_zero(em: Emitter, a: Pair) -> Pair:
    out = [em.from_float(em.op(O.FDEMOTE, F32, flane(em, a, 64, i)), F32) for i in range(2)]
    return Pair(em.or_(out[0], em.kshl(out[1], 32)), em.const(0))


def promote_low(em: Emitter, a: Pair) -> Pair:
    return fjoin(em, (em.op(O.FPROMOTE, F64, flane(em, a, 32, i)) for i in range(2)), 64)

