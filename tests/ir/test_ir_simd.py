"""The IR's SIMD opcodes: the builder's translation (stated as text), the text form of every
opcode round-tripping, the verifier's checks of lanes and shuffles, and lane semantics at the
edges the spec suite pins down (saturation, NaN, -0, wrap-around)."""

from __future__ import annotations

import pytest

from engine.config import Features
from engine.ir import Opcode
from engine.ir.builder import build_function
from engine.ir.errors import VerifierError
from engine.ir.ir import (I32, SIMD_OPS, SIMD_STORES, V128, Function, ImmKind, Inst, MemImm,
                          MemLaneImm)
from engine.ir.parser import parse_function
from engine.ir.printer import print_function
from engine.ir.simd import ACCESS_SIZE, SIGNATURES, SIMD_LOADS, lane_count, shape_of
from engine.ir.simd_numerics import LOAD_FUNCS, SIMD_FUNCS, join, lanes
from engine.ir.verifier import verify
from engine.wasm.decoder import decode
from engine.wasm.validator import validate
from tools import wat_to_wasm


def _build(wat: str) -> str:
    m = decode(wat_to_wasm(wat))
    validate(m, Features())
    f = build_function(m, 0)
    verify(f, m)
    return print_function(f)


def test_builder_translation():
    text = _build("""(module (memory 1)
      (func (param v128 i32) (result v128) (local v128)
        local.get 0 local.get 0
        i8x16.shuffle 0 17 2 19 4 21 6 23 8 25 10 27 12 29 14 31
        i32.const 5 i16x8.splat i16x8.add
        i8x16.extract_lane_s 3 i8x16.splat
        local.get 1 local.get 2 v128.load8_lane offset=4 7
        v128.const i32x4 1 2 3 4
        v128.bitselect
        local.get 1 v128.load16x4_s offset=3
        i32x4.add
        local.tee 2
        local.get 1 local.get 2 v128.store32_lane 2))""")
    assert text == """\
function 0 "<wasm function 0>"(v128, i32) -> (v128) {
block0(v0:v128, v1:i32):
    v8:v128 = v128.const 0x00000000000000000000000000000000
    v2:v128 = i8x16.shuffle 0.17.2.19.4.21.6.23.8.25.10.27.12.29.14.31 v0, v0
    v3:i32 = iconst 5
    v4:v128 = i16x8.splat v3
    v5:v128 = i16x8.add v2, v4
    v6:i32 = i8x16.extract_lane_s lane=3 v5
    v7:v128 = i8x16.splat v6
    heap_check mem0 offset=4 size=1 v1
    v9:v128 = v128.load8_lane mem0 offset=4 lane=7 v1, v8
    v10:v128 = v128.const 0x00000004000000030000000200000001
    v11:v128 = v128.bitselect v7, v9, v10
    heap_check mem0 offset=3 size=8 v1
    v12:v128 = v128.load16x4_s mem0 offset=3 v1
    v13:v128 = i32x4.add v11, v12
    heap_check mem0 offset=0 size=4 v1
    v128.store32_lane mem0 offset=0 lane=2 v1, v13
    return v13
}
"""
    assert print_function(parse_function(text)) == text


def _one_inst_function(op: Opcode) -> Function:
    """A function whose block runs `op` once on parameters of its operand types."""
    params, results = SIGNATURES[op]
    f = Function("t", list(params), list(results))
    b = f.new_block()
    b.params = [f.new_value(t) for t in params]
    kind = op.info.imm
    imm = {ImmKind.NONE: None, ImmKind.BITS: 0x0123456789ABCDEF_FEDCBA9876543210,
           ImmKind.SHUFFLE: tuple(range(31, 15, -1)), ImmKind.MEM: MemImm(0, 12),
           ImmKind.LANE: lane_count(op) - 1 if kind is ImmKind.LANE else None,
           ImmKind.MEM_LANE: MemLaneImm(0, 3, lane_count(op) - 1)
           if kind is ImmKind.MEM_LANE else None}[kind]
    res = [f.new_value(t) for t in results]
    b.insts.append(Inst(op, list(b.params), res, imm))
    b.insts.append(Inst(Opcode.RETURN, res))
    return f


@pytest.mark.parametrize("op", sorted(SIMD_OPS, key=lambda o: o.value), ids=lambda o: o.value)
def test_every_opcode_verifies_and_round_trips(op):
    f = _one_inst_function(op)
    verify(f)
    text = print_function(f)
    assert op.value in text
    g = parse_function(text)
    verify(g)
    assert print_function(g) == text
    assert g.blocks[0].insts[0].imm == f.blocks[0].insts[0].imm


def test_tables_cover_every_opcode():
    assert len(SIMD_OPS) == 236
    assert set(SIGNATURES) == SIMD_OPS
    executable = set(SIMD_FUNCS) | set(LOAD_FUNCS) | SIMD_STORES | {Opcode.V128_CONST}
    assert executable == SIMD_OPS
    assert set(ACCESS_SIZE) == SIMD_LOADS | SIMD_STORES
    assert all(op.has_side_effects for op in SIMD_STORES)
    assert not any(op.has_side_effects for op in SIMD_LOADS)
    assert Opcode.I8X16_ADD.value == "i8x16.add" and Opcode["V128_LOAD8_LANE"].value == \
        "v128.load8_lane"
    assert ACCESS_SIZE[Opcode.V128_LOAD16X4_U] == 8 and ACCESS_SIZE[Opcode.V128_STORE] == 16
    assert shape_of(Opcode.I32X4_TRUNC_SAT_F64X2_U_ZERO).count == 4
    assert shape_of(Opcode.V128_AND) is None


@pytest.mark.parametrize("mutate, message", [
    (lambda i: setattr(i, "imm", 16), "lane index 16 out of range"),
    (lambda i: setattr(i, "imm", -1), "lane index -1 out of range"),
])
def test_verifier_checks_lanes(mutate, message):
    f = _one_inst_function(Opcode.I8X16_EXTRACT_LANE_U)
    mutate(f.blocks[0].insts[0])
    with pytest.raises(VerifierError, match=message):
        verify(f)


def test_verifier_checks_memory_lanes_and_shuffles_and_types():
    f = _one_inst_function(Opcode.V128_STORE64_LANE)
    f.blocks[0].insts[0].imm = MemLaneImm(0, 0, 2)
    with pytest.raises(VerifierError, match="lane index 2 out of range"):
        verify(f)
    f = _one_inst_function(Opcode.I8X16_SHUFFLE)
    f.blocks[0].insts[0].imm = (32,) * 16
    with pytest.raises(VerifierError, match="16 lane indices in 0..31"):
        verify(f)
    f = _one_inst_function(Opcode.I8X16_SHUFFLE)
    f.blocks[0].insts[0].imm = (0,) * 15
    with pytest.raises(VerifierError, match="16 lane indices"):
        verify(f)
    f = _one_inst_function(Opcode.I32X4_ADD)
    f.value_types[f.blocks[0].params[1]] = I32
    f.params[1] = I32
    with pytest.raises(VerifierError, match="operand 1 of i32x4.add has type i32"):
        verify(f)
    f = _one_inst_function(Opcode.V128_CONST)
    f.blocks[0].insts[0].imm = 1 << 128
    with pytest.raises(VerifierError, match="not a 128-bit pattern"):
        verify(f)
    assert f.value_types[f.blocks[0].insts[0].results[0]] is V128


# -- lane semantics at the edges ------------------------------------------------------------------

def _f(op: Opcode):
    return SIMD_FUNCS[op]


def test_integer_edges():
    i16 = lambda *xs: join(list(xs), 16)  # noqa: E731
    q15 = _f(Opcode.I16X8_Q15MULR_SAT_S)(i16(0x8000, 0x4000, 0xFFFF, 0, 0, 0, 0, 0),
                                         i16(0x8000, 0x4000, 1, 0, 0, 0, 0, 0))
    assert lanes(q15, 16)[:3] == [0x7FFF, 0x2000, 0]
    dot = _f(Opcode.I32X4_DOT_I16X8_S)(i16(*[0x8000] * 8), i16(*[0x8000] * 8))
    assert lanes(dot, 32) == [0x8000_0000] * 4
    narrow = _f(Opcode.I8X16_NARROW_I16X8_U)(i16(0xFFFF, 300, 255, 0, 0, 0, 0, 0),
                                              i16(*[0x7FFF] * 8))
    assert lanes(narrow, 8)[:4] == [0, 255, 255, 0] and lanes(narrow, 8)[8:] == [255] * 8
    shl = _f(Opcode.I8X16_SHL)(join([1] * 16, 8), 9)   # count modulo 8
    assert lanes(shl, 8) == [2] * 16
    sw = _f(Opcode.I8X16_SWIZZLE)(join(list(range(100, 116)), 8), join([15, 16, 0x80, 0] * 4, 8))
    assert lanes(sw, 8)[:4] == [115, 0, 0, 100]
    assert _f(Opcode.I8X16_ABS)(join([0x80] * 16, 8)) == join([0x80] * 16, 8)
    assert _f(Opcode.I16X8_BITMASK)(i16(0x8000, 0, 0x8000, 0, 0, 0, 0, 0xFFFF)) == 0b10000101
    assert _f(Opcode.I64X2_GT_S)(join([1, 0], 64), join([1 << 63, 0], 64)) == (1 << 64) - 1
    assert _f(Opcode.I16X8_EXTRACT_LANE_S)(i16(0, 0xFFFE, 0, 0, 0, 0, 0, 0), 1) == 0xFFFF_FFFE


def test_float_edges():
    f32 = lambda *xs: join(list(xs), 32)  # noqa: E731
    neg0, pos0, nan, snan = 0x8000_0000, 0, 0x7FC0_0000, 0x7FA0_0000
    mn = _f(Opcode.F32X4_MIN)(f32(neg0, pos0, nan, 0x3F80_0000),
                              f32(pos0, neg0, 0x3F80_0000, snan))
    out = lanes(mn, 32)
    assert out[0] == neg0 and out[1] == neg0
    assert out[2] == nan and out[3] & 0x7FC0_0000 == 0x7FC0_0000     # arithmetic NaN
    pmin = _f(Opcode.F32X4_PMIN)(f32(neg0, nan, 1, 2), f32(pos0, 0x3F80_0000, nan, 1))
    assert lanes(pmin, 32)[:2] == [neg0, nan] and lanes(pmin, 32)[2] == 1
    trunc = _f(Opcode.I32X4_TRUNC_SAT_F32X4_U)(f32(nan, 0xBF80_0000, 0x4F80_0000, 0x4049_0FDB))
    assert lanes(trunc, 32) == [0, 0, 0xFFFF_FFFF, 3]
    near = _f(Opcode.F32X4_NEAREST)(f32(0x3F00_0000, 0x3FC0_0000, 0xBF00_0000, 0x4020_0000))
    assert lanes(near, 32) == [0, 0x4000_0000, neg0, 0x4000_0000]   # 0.5 1.5 -0.5 2.5
    demote = _f(Opcode.F32X4_DEMOTE_F64X2_ZERO)(join([0x3FF0_0000_0000_0000, 1], 64))
    assert lanes(demote, 32) == [0x3F80_0000, 0, 0, 0]
