"""memory64 and table64 in the front end: 64-bit limits (flags 0x04/0x05, u64 sizes), memarg
offsets as u64, i64 operands of every memory and table instruction of a 64-bit memory or
table (the narrower type for copies between the two kinds), segment offsets of the address
type, the 2**48-page bound; and with memory64 off (2.0), the encodings stay malformed."""

from __future__ import annotations

import pytest

from engine.config import Features
from engine.errors import FeatureDisabledError, InvalidError, MalformedError
from engine.text.parser import parse_module_text
from engine.wasm.decoder import decode
from engine.wasm.types import ValType
from engine.wasm.validator import validate
from spec.suites import FEATURES_2_0

FEATURES_3_0 = Features()


def _module(text: str, features: Features = FEATURES_3_0):
    m = decode(parse_module_text(text), features)
    validate(m, features)
    return m


def _invalid(text: str, match: str) -> None:
    m = decode(parse_module_text(text), FEATURES_3_0)
    with pytest.raises(InvalidError, match=match):
        validate(m, FEATURES_3_0)


HEADER = b"\0asm\x01\0\0\0"


def _memory_section(limits: bytes) -> bytes:
    body = b"\x01" + limits
    return HEADER + b"\x05" + bytes([len(body)]) + body


def test_limits_flags_4_and_5_are_u64_sizes():
    m = decode(_memory_section(b"\x04\x80\x80\x80\x80\x10"), FEATURES_3_0)    # min 2**32
    assert m.mems[0].is_64 and m.mems[0].limits.min == 1 << 32 and m.mems[0].limits.max is None
    m = decode(_memory_section(b"\x05\x01" + b"\xff" * 9 + b"\x01"), FEATURES_3_0)
    assert m.mems[0].limits.max == (1 << 64) - 1


@pytest.mark.parametrize("flags", [b"\x06\x00\x01", b"\x07\x00\x01"])
def test_shared_64_bit_limits_stay_refused(flags):
    with pytest.raises(MalformedError, match="shared"):
        decode(_memory_section(flags), FEATURES_3_0)


def test_without_memory64_the_encodings_are_malformed():
    with pytest.raises(MalformedError, match="limits flags"):
        decode(_memory_section(b"\x04\x01"), FEATURES_2_0)
    with pytest.raises(MalformedError, match="integer too large"):     # a u32 size in 2.0
        decode(_memory_section(b"\x00\x80\x80\x80\x80\x10"), FEATURES_2_0)
    big_offset = "(module (memory 1) (func (drop (i32.load offset=0x1_0000_0000 (i32.const 0)))))"
    with pytest.raises(MalformedError, match="i32 constant out of range"):
        parse_module_text(big_offset, FEATURES_2_0)
    with pytest.raises(MalformedError):
        decode(parse_module_text(big_offset), FEATURES_2_0)


def test_memory_and_table_types_of_the_text_format():
    m = _module('(module (memory i64 2 0x1_0000_0000_0000) (table i64 3 funcref)'
                ' (memory $d i64 (data "abc")) (table $e i64 funcref (elem $f)) (func $f))')
    assert [(mt.is_64, mt.limits.min, mt.limits.max) for mt in m.mems] == [
        (True, 2, 1 << 48), (True, 1, 1)]
    assert [(tt.is_64, tt.limits.min) for tt in m.tables] == [(True, 3), (True, 1)]
    assert m.datas[0].offset[0].op == 0x42 and m.elems[0].offset[0].op == 0x42   # i64.const 0


def test_64_bit_memory_bound_is_2_to_the_48_pages():
    _module("(module (memory i64 0 0x1_0000_0000_0000))")
    _invalid("(module (memory i64 0x1_0000_0000_0001))", "memory size")
    _invalid("(module (memory 65537))", "memory size")             # a 32-bit memory
    _invalid("(module (memory 0x1_0000_0000))", "memory size")      # a u64 in 3.0, then bounded


def test_offsets_are_bounded_by_the_address_type():
    _module("(module (memory i64 1) (func (drop (i32.load offset=0xffff_ffff_ffff_ffff"
            " (i64.const 0)))))")
    _invalid("(module (memory 1) (func (drop (i32.load offset=0x1_0000_0000 (i32.const 0)))))",
             "offset out of range")
    _invalid("(module (memory 1) (func (drop (v128.load32_lane offset=0x1_0000_0000 0"
             " (i32.const 0) (v128.const i64x2 0 0)))))", "offset out of range")


@pytest.mark.parametrize("body", [
    "(drop (i32.load (i32.const 0)))",
    "(i64.store (i32.const 0) (i64.const 0))",
    "(drop (v128.load (i32.const 0)))",
    "(drop (v128.load8_lane 0 (i32.const 0) (v128.const i64x2 0 0)))",
    "(drop (i32.add (memory.size) (i32.const 0)))",
    "(drop (memory.grow (i32.const 1)))",
    "(memory.fill (i64.const 0) (i32.const 0) (i32.const 0))",
    "(memory.init 0 (i64.const 0) (i64.const 0) (i32.const 0))",
])
def test_a_64_bit_memory_takes_i64_addresses(body):
    _invalid(f'(module (memory i64 1) (data "x") (func {body}))', "type mismatch")


def test_memory_copy_between_address_types_takes_the_narrower_length():
    mems = "(memory $a i64 1) (memory $b 1)"
    _module(f"(module {mems} (func (memory.copy $a $b (i64.const 0) (i32.const 0) (i32.const 0))))")
    _module(f"(module {mems} (func (memory.copy $b $a (i32.const 0) (i64.const 0) (i32.const 0))))")
    _module(f"(module {mems} (func (memory.copy $a $a (i64.const 0) (i64.const 0) (i64.const 0))))")
    _invalid(f"(module {mems} (func (memory.copy $a $b (i64.const 0) (i32.const 0)"
             " (i64.const 0))))", "type mismatch")


@pytest.mark.parametrize("body", [
    "(drop (table.get $t (i32.const 0)))",
    "(table.set $t (i32.const 0) (ref.null func))",
    "(drop (i32.add (table.size $t) (i32.const 0)))",
    "(drop (table.grow $t (ref.null func) (i32.const 1)))",
    "(table.fill $t (i32.const 0) (ref.null func) (i64.const 0))",
    "(table.init $t $e (i32.const 0) (i32.const 0) (i32.const 0))",
    "(call_indirect $t (i32.const 0))",
])
def test_a_64_bit_table_takes_i64_indices(body):
    _invalid(f"(module (table $t i64 1 funcref) (elem $e func) (func {body}))", "type mismatch")


def test_table_instructions_of_a_64_bit_table_type_check():
    m = _module("(module (table $t i64 1 funcref) (table $u 1 funcref) (elem $e func $f)"
                " (func $f (result i64)"
                "  (table.set $t (i64.const 0) (table.get $t (i64.const 0)))"
                "  (table.fill $t (i64.const 0) (ref.null func) (i64.const 0))"
                "  (table.init $t $e (i64.const 0) (i32.const 0) (i32.const 0))"
                "  (table.copy $t $u (i64.const 0) (i32.const 0) (i32.const 0))"
                "  (drop (table.grow $t (ref.null func) (i64.const 1)))"
                "  (call_indirect $t (type 0) (i64.const 0)) (drop)"
                "  (table.size $t)))")
    assert m.tables[0].address_type is ValType.I64 and m.tables[1].address_type is ValType.I32


def test_segment_offsets_have_the_address_type():
    _module('(module (memory i64 1) (data (i64.const 0) "x"))')
    _invalid('(module (memory i64 1) (data (i32.const 0) "x"))', "type mismatch")
    _module("(module (table i64 1 funcref) (elem (i64.const 0) func))")
    _invalid("(module (table i64 1 funcref) (elem (i32.const 0) func))", "type mismatch")


def test_the_validator_asks_for_memory64_itself():
    m = decode(parse_module_text("(module (memory i64 1))"), FEATURES_3_0)
    with pytest.raises(FeatureDisabledError, match="memory64"):
        validate(m, FEATURES_2_0)
