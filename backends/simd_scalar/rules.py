"""The legalisation rule of every SIMD opcode: ``RULES[op](em, args, imm)`` emits scalar IR for
one instruction whose v128 operands are `Pair`s (scalar operands IR values) and returns its
result (a Pair, an IR value, or None). Memory forms load and store the halves or lanes with the
scalar memory instructions under the instruction's own heap_check (which covers the whole
access)."""

from __future__ import annotations

from typing import Callable

from engine.ir.ir import F32, F64, I32, I64, FloatCC, MemImm, Opcode
from engine.ir.simd import SHAPES, SIMD_OPS

from . import floats, ints, lanes
from .emitter import Emitter, Pair

O = Opcode
Rule = Callable[[Emitter, list, object], object]
RULES: dict[Opcode, Rule] = {}

_SCALAR = {"i8x16": I32, "i16x8": I32, "i32x4": I32, "i64x2": I64, "f32x4": F32, "f64x2": F64}
_FCC = {"eq": FloatCC.EQ, "ne": FloatCC.NE, "lt": FloatCC.LT, "gt": FloatCC.GT,
        "le": FloatCC.LE, "ge": FloatCC.GE}
_FUNARY = {"sqrt": O.FSQRT, "ceil": O.FCEIL, "floor": O.FFLOOR, "trunc": O.FTRUNC,
           "nearest": O.FNEAREST}
_FBINARY = {"add": O.FADD, "sub": O.FSUB, "mul": O.FMUL, "div": O.FDIV, "min": O.FMIN,
            "max": O.FMAX}


def _rule(name: str, fn: Rule) -> None:
    op = Opcode(name)
    assert op not in RULES, name
    RULES[op] = fn


def _v128_ops() -> None:
    _rule("v128.const", lambda em, a, imm: Pair(em.const(imm), em.const(imm >> 64)))
    _rule("v128.not", lambda em, a, imm: ints.per_half(em.not_, a[0]))
    _rule("v128.and", lambda em, a, imm: ints.per_half(em.and_, a[0], a[1]))
    _rule("v128.or", lambda em, a, imm: ints.per_half(em.or_, a[0], a[1]))
    _rule("v128.xor", lambda em, a, imm: ints.per_half(em.xor, a[0], a[1]))
    _rule("v128.andnot", lambda em, a, imm: ints.per_half(
        lambda x, y: em.and_(x, em.not_(y)), a[0], a[1]))
    _rule("v128.bitselect", lambda em, a, imm: ints.per_half(
        lambda x, y, c: em.xor(y, em.and_(em.xor(x, y), c)), a[0], a[1], a[2]))
    _rule("v128.any_true", lambda em, a, imm: ints.any_true(em, a[0]))
    _rule("i8x16.shuffle", lambda em, a, imm: lanes.shuffle(em, a[0], a[1], imm))
    _rule("i8x16.swizzle", lambda em, a, imm: lanes.swizzle(em, a[0], a[1]))
    _rule("i8x16.popcnt", lambda em, a, imm: ints.popcnt8(em, a[0]))
    _rule("i16x8.q15mulr_sat_s", lambda em, a, imm: ints.q15mulr_sat(em, a[0], a[1]))
    _rule("i32x4.dot_i16x8_s", lambda em, a, imm: ints.dot_i16x8_s(em, a[0], a[1]))


def _lane_ops() -> None:
    for prefix, shape in SHAPES.items():
        bits, ty = shape.bits, _SCALAR[prefix]
        _rule(f"{prefix}.splat", lambda em, a, imm, b=bits, t=ty: lanes.splat(em, a[0], t, b))
        _rule(f"{prefix}.replace_lane", lambda em, a, imm, b=bits, t=ty:
              lanes.replace(em, a[0], a[1], t, b, imm))
        if bits < 32:
            for sign in ("s", "u"):
                _rule(f"{prefix}.extract_lane_{sign}", lambda em, a, imm, b=bits, s=sign == "s":
                      lanes.extract(em, a[0], b, imm, I32, s))
        else:
            _rule(f"{prefix}.extract_lane", lambda em, a, imm, b=bits, t=ty:
                  lanes.extract(em, a[0], b, imm, t))


def _int_ops() -> None:
    for prefix in ("i8x16", "i16x8", "i32x4", "i64x2"):
        bits = SHAPES[prefix].bits
        b = bits
        for cc in ("eq", "ne"):
            _rule(f"{prefix}.{cc}", lambda em, a, imm, b=b, cc=cc:
                  ints.compare(em, a[0], a[1], b, cc, False))
        for cc in ("lt", "gt", "le", "ge"):
            for sign in ("s", "u") if bits < 64 else ("s",):
                _rule(f"{prefix}.{cc}_{sign}", lambda em, a, imm, b=b, cc=cc, s=sign == "s":
                      ints.compare(em, a[0], a[1], b, cc, s))
        _rule(f"{prefix}.add", lambda em, a, imm, b=b: ints.add(em, a[0], a[1], b))
        _rule(f"{prefix}.sub", lambda em, a, imm, b=b: ints.sub(em, a[0], a[1], b))
        _rule(f"{prefix}.neg", lambda em, a, imm, b=b: ints.neg(em, a[0], b))
        _rule(f"{prefix}.abs", lambda em, a, imm, b=b: ints.abs_(em, a[0], b))
        _rule(f"{prefix}.all_true", lambda em, a, imm, b=b: ints.all_true(em, a[0], b))
        _rule(f"{prefix}.bitmask", lambda em, a, imm, b=b: ints.bitmask(em, a[0], b))
        for kind in ("shl", "shr_s", "shr_u"):
            _rule(f"{prefix}.{kind}", lambda em, a, imm, b=b, k=kind:
                  ints.shift(em, a[0], a[1], b, k))
        if bits > 8:
            _rule(f"{prefix}.mul", lambda em, a, imm, b=b: ints.mul(em, a[0], a[1], b))
        if bits < 64:
            for m, is_min in (("min", True), ("max", False)):
                for sign in ("s", "u"):
                    _rule(f"{prefix}.{m}_{sign}", lambda em, a, imm, b=b, mn=is_min,
                          s=sign == "s": ints.minmax(em, a[0], a[1], b, mn, s))
        if bits < 32:
            for sign in ("s", "u"):
                s = sign == "s"
                _rule(f"{prefix}.add_sat_{sign}", lambda em, a, imm, b=b, s=s:
                      ints.add_sat(em, a[0], a[1], b, s))
                _rule(f"{prefix}.sub_sat_{sign}", lambda em, a, imm, b=b, s=s:
                      ints.sub_sat(em, a[0], a[1], b, s))
            _rule(f"{prefix}.avgr_u", lambda em, a, imm, b=b: ints.avgr_u(em, a[0], a[1], b))
    for wide, narrow in (("i16x8", "i8x16"), ("i32x4", "i16x8"), ("i64x2", "i32x4")):
        b = SHAPES[narrow].bits
        for sign in ("s", "u"):
            s = sign == "s"
            for part, high in (("low", False), ("high", True)):
                _rule(f"{wide}.extend_{part}_{narrow}_{sign}", lambda em, a, imm, b=b, h=high,
                      s=s: lanes.widen(em, a[0], b, h, s))
                _rule(f"{wide}.extmul_{part}_{narrow}_{sign}", lambda em, a, imm, b=b, h=high,
                      s=s: ints.extmul(em, a[0], a[1], b, h, s))
            if wide != "i64x2":
                _rule(f"{wide}.extadd_pairwise_{narrow}_{sign}", lambda em, a, imm, b=b, s=s:
                      ints.extadd_pairwise(em, a[0], b, s))
            if wide != "i64x2":
                _rule(f"{narrow}.narrow_{wide}_{sign}", lambda em, a, imm, b=2 * b, s=s:
                      ints.narrow(em, a[0], a[1], b, s))


def _float_ops() -> None:
    for prefix in ("f32x4", "f64x2"):
        b = SHAPES[prefix].bits
        for name, op in _FUNARY.items():
            _rule(f"{prefix}.{name}", lambda em, a, imm, b=b, op=op: floats.unary(em, op, a[0], b))
        for name, op in _FBINARY.items():
            _rule(f"{prefix}.{name}", lambda em, a, imm, b=b, op=op:
                  floats.binary(em, op, a[0], a[1], b))
        for name, cc in _FCC.items():
            _rule(f"{prefix}.{name}", lambda em, a, imm, b=b, cc=cc:
                  floats.compare(em, cc, a[0], a[1], b))
        _rule(f"{prefix}.abs", lambda em, a, imm, b=b: floats.sign_op(em, a[0], b, False))
        _rule(f"{prefix}.neg", lambda em, a, imm, b=b: floats.sign_op(em, a[0], b, True))
        _rule(f"{prefix}.pmin", lambda em, a, imm, b=b: floats.pminmax(em, a[0], a[1], b, True))
        _rule(f"{prefix}.pmax", lambda em, a, imm, b=b: floats.pminmax(em, a[0], a[1], b, False))
    for sign in ("s", "u"):
        s = sign == "s"
        _rule(f"i32x4.trunc_sat_f32x4_{sign}", lambda em, a, imm, s=s:
              floats.trunc_sat_f32x4(em, a[0], s))
        _rule(f"f32x4.convert_i32x4_{sign}", lambda em, a, imm, s=s:
              floats.convert_i32x4(em, a[0], s))
        _rule(f"i32x4.trunc_sat_f64x2_{sign}_zero", lambda em, a, imm, s=s:
              floats.trunc_sat_f64x2_zero(em, a[0], s))
        _rule(f"f64x2.convert_low_i32x4_{sign}", lambda em, a, imm, s=s:
              floats.convert_low_i32x4(em, a[0], s))
    _rule("f32x4.demote_f64x2_zero", lambda em, a, imm: floats.demote_zero(em, a[0]))
    _rule("f64x2.promote_low_f32x4", lambda em, a, imm: floats.promote_low(em, a[0]))


# -- memory -------------------------------------------------------------------------------------

_ULOAD = {8: O.ULOAD8, 16: O.ULOAD16, 32: O.ULOAD32, 64: O.LOAD}
_ISTORE = {8: O.ISTORE8, 16: O.ISTORE16, 32: O.ISTORE32, 64: O.STORE}


def _at(imm, extra: int = 0) -> MemImm:
    return MemImm(imm.memory, imm.offset + extra)


def _load(em: Emitter, bits: int, addr: int, imm, extra: int = 0) -> int:
    """`bits` bits at the effective address (+ extra), zero-extended to i64."""
    return em.op(_ULOAD[bits], I64, addr, imm=_at(imm, extra))


def _store(em: Emitter, bits: int, addr: int, value: int, imm, extra: int = 0) -> None:
    em.op(_ISTORE[bits], None, addr, value, imm=_at(imm, extra))


def _memory_ops() -> None:
    _rule("v128.load", lambda em, a, imm: Pair(_load(em, 64, a[0], imm),
                                               _load(em, 64, a[0], imm, 8)))
    for bits in (8, 16, 32):
        for sign in ("s", "u"):
            _rule(f"v128.load{bits}x{64 // bits}_{sign}", lambda em, a, imm, b=bits,
                  s=sign == "s": lanes.widen_word(em, _load(em, 64, a[0], imm), b, s))
    for bits in (8, 16, 32, 64):
        _rule(f"v128.load{bits}_splat", lambda em, a, imm, b=bits:
              lanes.splat(em, _load(em, b, a[0], imm), I64, b))
        _rule(f"v128.load{bits}_lane", lambda em, a, imm, b=bits:
              lanes.replace(em, a[1], _load(em, b, a[0], imm), I64, b, imm.lane))
        _rule(f"v128.store{bits}_lane", lambda em, a, imm, b=bits:
              _store(em, b, a[0], lanes.lane(em, a[1], b, imm.lane, clean=False), imm))
    for bits in (32, 64):
        _rule(f"v128.load{bits}_zero", lambda em, a, imm, b=bits:
              Pair(_load(em, b, a[0], imm), em.const(0)))

    def store(em: Emitter, a: list, imm) -> None:
        _store(em, 64, a[0], a[1].lo, imm)
        _store(em, 64, a[0], a[1].hi, imm, 8)
    _rule("v128.store", store)


_v128_ops()
_lane_ops()
_int_ops()
_float_ops()
_memory_ops()
assert set(RULES) == SIMD_OPS, sorted(op.value for op in SIMD_OPS - set(RULES))
