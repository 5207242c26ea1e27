"""The verifier rejects each kind of broken IR with a message naming function, block and
instruction, and accepts the valid versions of the same functions."""

from __future__ import annotations

import pytest

from engine.errors import InternalError, WasmError
from engine.ir import Block, Function, Inst, Opcode
from engine.ir.errors import VerifierError
from engine.ir.parser import parse_function
from engine.ir.verifier import verify
from engine.wasm.module import FuncBody, Global, WasmModule
from engine.wasm.types import FuncType, GlobalType, Limits, TableType, ValType

GOOD = """\
function "good"(i32) -> (i32) {
block0(v0:i32):
    v1:i32 = iconst 1
    brif v0, block1(v1), block2
block1(v2:i32):
    v3:i32 = iadd v2, v0
    jump block2
block2:
    return v0
}
"""


def test_good_function_verifies():
    verify(parse_function(GOOD))


def _fails(text: str, message: str, block: int | None = None, inst: str | None = None):
    with pytest.raises(VerifierError, match=message) as info:
        verify(parse_function(text))
    err = info.value
    # a function that does not verify is a bug in polyjit, never the user's bad input
    assert isinstance(err, InternalError) and not isinstance(err, WasmError)
    assert err.function == "f"
    if block is not None:
        assert err.block == block
    if inst is not None:
        assert err.inst == inst
        assert inst in str(err)
    return err


def test_use_not_dominated():
    _fails("""function "f"(i32) -> (i32) {
block0(v0:i32):
    brif v0, block1, block2
block1:
    v1:i32 = iconst 1
    jump block3
block2:
    jump block3
block3:
    return v1
}""", "not dominated", block=3, inst="return v1")


def test_use_before_definition_in_block():
    _fails("""function "f"() -> (i32) {
block0:
    v1:i32 = iadd v2, v2
    v2:i32 = iconst 1
    return v1
}""", "before its definition", block=0, inst="v1:i32 = iadd v2, v2")


def test_use_of_undefined_value():
    _fails("""function "f"() -> (i32) {
block0:
    return v5
}""", "undefined value v5")


def test_operand_type():
    _fails("""function "f"(i64) -> (i32) {
block0(v0:i64):
    v1:i32 = iconst 1
    v2:i32 = iadd v1, v0
    return v2
}""", "operand 1 of iadd has type i64", block=0, inst="v2:i32 = iadd v1, v0")


def test_result_type():
    _fails("""function "f"(i32) -> (i32) {
block0(v0:i32):
    v1:i64 = icmp eq v0, v0
    return v0
}""", "result 0 of icmp has type i64")


def test_operand_count():
    _fails("""function "f"(i32) -> () {
block0(v0:i32):
    v1:i32 = iadd v0
    return
}""", "takes 2 operand")


def test_bitcast_widths():
    _fails("""function "f"(i32) -> () {
block0(v0:i32):
    v1:f64 = bitcast v0
    return
}""", "bitcast")


def test_block_argument_count():
    _fails("""function "f"(i32) -> () {
block0(v0:i32):
    jump block1
block1(v1:i32):
    return
}""", "block1 takes 1 argument", block=0)


def test_block_argument_type():
    _fails("""function "f"(i32) -> () {
block0(v0:i32):
    v1:i64 = iconst 3
    jump block1(v1)
block1(v2:i32):
    return
}""", "argument 0 to block1 has type i64")


def test_missing_terminator():
    _fails("""function "f"(i32) -> () {
block0(v0:i32):
    v1:i32 = iconst 3
}""", "does not end with a terminator", block=0)


def test_terminator_in_the_middle():
    _fails("""function "f"() -> () {
block0:
    return
    v1:i32 = iconst 3
    return
}""", "terminator in the middle", block=0, inst="return")


def test_empty_block():
    f = parse_function(GOOD)
    f.blocks[2].insts = []
    with pytest.raises(VerifierError, match="block is empty"):
        verify(f)


def test_unreachable_block():
    _fails("""function "f"() -> () {
block0:
    return
block1:
    return
}""", "unreachable", block=1)


def test_branch_to_missing_block():
    _fails("""function "f"() -> () {
block0:
    jump block4
}""", "missing block4")


def test_branch_to_entry():
    _fails("""function "f"() -> () {
block0:
    jump block0
}""", "entry block")


def test_return_types():
    _fails("""function "f"(i32) -> (i64) {
block0(v0:i32):
    return v0
}""", "returns \\(i32\\) but the function returns \\(i64\\)")


def test_entry_params_match_signature():
    _fails("""function "f"(i32) -> () {
block0(v0:i64):
    return
}""", "entry block parameters")


def test_value_defined_twice():
    f = parse_function(GOOD)
    f.blocks[1].insts[0].results = [1]       # v1 is already the iconst's result
    with pytest.raises(VerifierError, match="defined more than once"):
        verify(f)


def test_block_id_must_match_position():
    f = parse_function(GOOD)
    f.blocks[1].id = 5
    with pytest.raises(VerifierError, match="has id 5"):
        verify(f)


def test_bad_immediate_shape():
    f = parse_function(GOOD)
    f.blocks[0].insts[0].imm = "one"
    with pytest.raises(VerifierError, match="not a int immediate"):
        verify(f)


def test_constant_out_of_range():
    f = parse_function(GOOD)
    f.blocks[0].insts[0].imm = 1 << 32
    with pytest.raises(VerifierError, match="not a 32-bit pattern"):
        verify(f)


def test_function_without_blocks():
    with pytest.raises(VerifierError, match="no blocks"):
        verify(Function("f"))


def test_terminator_with_wrong_edge_count():
    f = Function("f")
    b = Block(0, [], [Inst(Opcode.BRIF, [], [], None, [])])
    f.blocks.append(b)
    with pytest.raises(VerifierError, match="brif"):
        verify(f)


# -- checks against the module ---------------------------------------------------------------

def _module() -> WasmModule:
    m = WasmModule()
    m.types = [FuncType([ValType.I32], [ValType.I64]), FuncType([], [])]
    m.funcs = [0, 1]
    m.codes = [FuncBody((), [], 0), FuncBody((), [], 0)]
    m.globals = [Global(GlobalType(ValType.I64, False), [])]
    m.tables = [TableType(ValType.FUNCREF, Limits(0))]
    return m


def test_call_signature_against_module():
    f = parse_function("""function "f"(i32) -> () {
block0(v0:i32):
    v1:i64 = call fn0 v0
    call fn1
    return
}""")
    verify(f, _module())
    bad = parse_function("""function "f"(i32) -> () {
block0(v0:i32):
    v1:i32 = call fn0 v0
    return
}""")
    verify(bad)            # without the module the callee is unknown
    with pytest.raises(VerifierError, match="signature"):
        verify(bad, _module())


def test_indices_and_globals_against_module():
    m = _module()
    for body, message in [
        ("call fn5", "function index 5 out of range"),
        ("v1:i32 = global_get g0", "global 0 has type i64"),
        ("v1:i64 = global_get g0\n    global_set g0 v1", "immutable"),
        ("v1:i32 = memory_size mem0", "memory index 0 out of range"),
        ("v1:externref = table_get table0 v0", "table 0 holds funcref"),
        ("call_indirect type1 table3 v0", "table index 3"),
        ("data_drop data0", "data segment index 0"),
    ]:
        f = parse_function(f'function "f"(i32) -> () {{\nblock0(v0:i32):\n    {body}\n'
                           f'    return\n}}')
        with pytest.raises(VerifierError, match=message):
            verify(f, m)
