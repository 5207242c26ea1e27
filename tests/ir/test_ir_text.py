"""The IR text form: printer and parser round-trip, every immediate shape, and parse errors."""

from __future__ import annotations

import pytest

from engine.errors import TrapCode, WasmError
from engine.ir import (EXTERNREF, F32, F64, FUNCREF, I32, I64, BlockCall, Function, HeapImm, Inst,
                       IntCC, MemImm, Opcode)
from engine.ir.errors import IRParseError
from engine.ir.parser import parse_function, parse_functions
from engine.ir.printer import print_function
from engine.ir.verifier import verify

EVERY_SHAPE = """\
function 7 "every \\"shape\\""(i32, i64, f32, f64, funcref, externref) -> (i32, f64) {
block0(v0:i32, v1:i64, v2:f32, v3:f64, v4:funcref, v5:externref):
    v6:i32 = iconst -2147483648
    v7:i64 = iconst -1
    v8:f32 = fconst 0x7fc00001
    v9:f64 = fconst 0x8000000000000000
    v10:i32 = iadd v0, v6
    v11:i32 = icmp ult v10, v0
    v12:i32 = fcmp uno v2, v2
    trapz integer_division_by_zero v11
    trapnz bad_conversion_to_integer v12
    heap_check mem0 offset=4294967295 size=8 v0
    v13:i64 = load mem0 offset=4294967295 v0
    v14:i64 = sload32 mem0 offset=0 v0
    store mem0 offset=16 v0, v3
    istore8 mem0 offset=1 v0, v1
    v15:i32 = memory_size mem0
    v16:i32 = memory_grow mem0 v15
    memory_init data3 mem0 v0, v0, v0
    memory_copy mem0 mem0 v0, v0, v0
    memory_fill mem0 v0, v0, v0
    data_drop data3
    v17:i64 = global_get g2
    global_set g2 v17
    v18:funcref = table_get table1 v0
    table_set table1 v0, v18
    v19:i32 = table_size table1
    v20:i32 = table_grow table1 v4, v0
    table_fill table1 v0, v4, v0
    table_copy table0 table1 v0, v0, v0
    table_init elem2 table0 v0, v0, v0
    elem_drop elem2
    v21:externref = ref_null
    v22:i32 = ref_is_null v5
    v23:funcref = ref_func fn9
    v24:i32, v25:f64 = call fn3 v0, v3
    call_indirect type2 table0 v0, v1
    v26:f64 = select v22, v3, v25
    v27:i64 = bitcast v9
    brif v0, block1(v24, v26), block2
block1(v28:i32, v29:f64):
    br_table v28, [block1(v28, v29), block2], block3
block2:
    jump block1(v0, v3)
block3:
    return v0, v29
}
"""


def test_round_trip_every_shape():
    func = parse_function(EVERY_SHAPE)
    assert print_function(func) == EVERY_SHAPE
    assert print_function(parse_function(print_function(func))) == EVERY_SHAPE


def test_parsed_fields():
    func = parse_function(EVERY_SHAPE)
    assert func.name == 'every "shape"'
    assert func.index == 7
    assert func.params == [I32, I64, F32, F64, FUNCREF, EXTERNREF]
    entry = func.blocks[0]
    assert entry.insts[0].imm == 0x8000_0000          # stored as the unsigned bit pattern
    assert entry.insts[1].imm == (1 << 64) - 1
    assert entry.insts[2].imm == 0x7FC0_0001
    assert entry.insts[5].opcode is Opcode.ICMP and entry.insts[5].imm is IntCC.ULT
    assert entry.insts[7].imm is TrapCode.INTEGER_DIVISION_BY_ZERO
    assert entry.insts[9].imm == HeapImm(0, 0xFFFF_FFFF, 8)
    assert entry.insts[12].imm == MemImm(0, 16) and entry.insts[12].args == [0, 3]
    term = func.blocks[1].insts[-1]
    assert term.opcode is Opcode.BR_TABLE
    assert [bc.block for bc in term.targets] == [1, 2, 3]
    assert term.targets[0].args == [28, 29] and term.targets[2].args == []


def test_every_shape_verifies():
    verify(parse_function(EVERY_SHAPE))


def test_print_of_built_function_parses_back():
    f = Function("g", [I32], [I32])
    b0 = f.new_block()
    b0.params = [f.new_value(I32)]
    b1 = f.new_block()
    p = f.new_value(I32)
    b1.params = [p]
    c = f.new_value(I32)
    b0.insts = [Inst(Opcode.ICONST, [], [c], 5),
                Inst(Opcode.JUMP, [], [], None, [BlockCall(1, [c])])]
    b1.insts = [Inst(Opcode.RETURN, [p])]
    verify(f)
    text = print_function(f)
    assert text == ('function "g"(i32) -> (i32) {\nblock0(v0:i32):\n    v2:i32 = iconst 5\n'
                    '    jump block1(v2)\nblock1(v1:i32):\n    return v1\n}\n')
    assert print_function(parse_function(text)) == text


def test_comments_blank_lines_and_several_functions():
    text = """
    ; two functions
    function "a;b"() -> () {   ; a semicolon inside the name is not a comment
    block0:
        trap unreachable        ; the only instruction
    }

    function "c"(f64) -> (f64) {
    block0(v0:f64):
        v1:f64 = fneg v0
        return v1
    }
    """
    funcs = parse_functions(text)
    assert [f.name for f in funcs] == ["a;b", "c"]
    assert funcs[1].blocks[0].insts[0].opcode is Opcode.FNEG
    assert funcs[1].value_types[1] is F64


@pytest.mark.parametrize("text, message", [
    ('function "f"() -> () {\nblock0:\n    v1:i32 = frobnicate\n}', "unknown opcode"),
    ('function "f"() -> () {\nblock0:\n    v1:i33 = iconst 1\n}', "unknown type"),
    ('function "f"() -> () {\nblock0:\n    v1:i32 = iconst 4294967296\n}', "does not fit"),
    ('function "f"() -> () {\nblock0:\n    v1:i32 = iconst -2147483649\n}', "does not fit"),
    ('function "f"() -> () {\nblock0:\n    v1:f32 = fconst 0x100000000\n}', "do not fit"),
    ('function "f"() -> () {\nblock0:\n    v1:i32 = icmp lt v0, v0\n}', "unknown condition"),
    ('function "f"() -> () {\nblock0:\n    trap oops\n}', "unknown trap code"),
    ('function "f"() -> () {\nblock0:\n    v1:i32 = iconst 1\n    v1:i32 = iconst 2\n}',
     "defined twice"),
    ('function "f"() -> () {\nblock1:\n    trap unreachable\n}', "out of order"),
    ('function "f"() -> () {\n    trap unreachable\n}', "outside of a block"),
    ('function "f"() -> () {\nblock0:\n    trap unreachable\n', "missing `}`"),
    ('function f() -> () {\n}', "expected `function"),
    ('function "f"() -> () {\nblock0:\n    jump block1(v0) block2\n}', "unexpected text"),
    ('function "f"() -> () {\nblock0:\n    brif v0, block1\n}', "two block calls"),
    ('function "f"() -> () {\nblock0:\n    br_table v0, block1\n}', "br_table takes"),
    ('function "f"() -> () {\nblock0:\n    heap_check mem0 offset=1 v0\n}', "expected size=N"),
    ('function "f"() -> () {\nblock0:\n    v1:i32 = iadd v0, 7\n}', "expected a value"),
    ('function "f"() -> () {\nblock0:\n    v1:i32 = global_get 3\n}', "expected gN"),
    ('function "f"() -> () {\n}', "has no blocks"),
])
def test_parse_errors(text, message):
    with pytest.raises(IRParseError, match=message) as info:
        parse_function(text)
    # IR text is polyjit's own format: a mistake in it is no user's bad wasm
    assert not isinstance(info.value, WasmError)
    assert info.value.line is not None


def test_parse_function_wants_exactly_one():
    with pytest.raises(IRParseError, match="exactly one"):
        parse_function("")
