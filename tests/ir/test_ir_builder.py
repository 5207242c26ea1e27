"""The wasm-to-SSA builder on small functions (expected IR stated as text), its handling of
unreachable code and deep nesting, and its output's behaviour through the interpreter."""

from __future__ import annotations

import pytest

from engine.config import Features
from engine.ir import Opcode
from engine.ir.builder import build_function, build_module
from engine.ir.cfg import CFG
from engine.ir.errors import IRError
from engine.ir.printer import print_function
from engine.ir.verifier import verify
from engine.wasm.decoder import decode
from engine.wasm.validator import validate
from tools import wat_to_wasm


def _module(wat: str):
    m = decode(wat_to_wasm(wat))
    validate(m, Features())
    return m


def _build(wat: str, index: int = 0):
    m = _module(wat)
    f = build_function(m, index)
    verify(f, m)
    return f


def _text(wat: str, index: int = 0) -> str:
    return print_function(_build(wat, index))


def test_straight_line():
    assert _text("""(module (func $add (param i32 i32) (result i32)
        local.get 0 local.get 1 i32.add))""") == """\
function 0 "add"(i32, i32) -> (i32) {
block0(v0:i32, v1:i32):
    v2:i32 = iadd v0, v1
    return v2
}
"""


def test_if_else_merges_a_local_in_a_block_parameter():
    assert _text("""(module (func $sel (param i32) (result i32) (local i32)
        (if (local.get 0) (then (local.set 1 (i32.const 7))) (else (local.set 1 (i32.const 9))))
        (local.get 1)))""") == """\
function 0 "sel"(i32) -> (i32) {
block0(v0:i32):
    brif v0, block1, block2
block1:
    v1:i32 = iconst 7
    jump block3(v1)
block2:
    v2:i32 = iconst 9
    jump block3(v2)
block3(v3:i32):
    return v3
}
"""


def test_loop_gets_parameters_only_for_locals_it_changes():
    # local 0 is read in the loop but never written: its trivial header parameter is removed;
    # local 1 starts as the declared zero
    assert _text("""(module (func $count (param i32) (result i32) (local i32)
        (loop $l
          (local.set 1 (i32.add (local.get 1) (local.get 0)))
          (br_if $l (i32.lt_u (local.get 1) (i32.const 100))))
        (local.get 1)))""") == """\
function 0 "count"(i32) -> (i32) {
block0(v0:i32):
    v6:i32 = iconst 0
    jump block1(v6)
block1(v1:i32):
    v3:i32 = iadd v1, v0
    v4:i32 = iconst 100
    v5:i32 = icmp ult v3, v4
    brif v5, block1(v3), block2
block2:
    return v3
}
"""


def test_code_after_br_is_skipped():
    assert _text("""(module (func $skip (result i32)
        (block (result i32) (br 0 (i32.const 1)) (i32.const 2) (i32.add) (drop) (i32.const 3))))
        """) == """\
function 0 "skip"() -> (i32) {
block0:
    v0:i32 = iconst 1
    jump block1
block1:
    return v0
}
"""


def test_br_if_to_the_function_label_returns():
    assert _text("""(module (func $early (param i32) (result i32)
        (br_if 0 (i32.const 5) (local.get 0)) (drop) (i32.const 6)))""") == """\
function 0 "early"(i32) -> (i32) {
block0(v0:i32):
    v1:i32 = iconst 5
    brif v0, block1, block2
block1:
    return v1
block2:
    v2:i32 = iconst 6
    return v2
}
"""


def test_division_and_memory_checks_are_explicit():
    assert _text("""(module (memory 1) (func $div (param i32 i32) (result i32)
        (i32.div_s (i32.load offset=8 (local.get 0)) (local.get 1))))""") == """\
function 0 "div"(i32, i32) -> (i32) {
block0(v0:i32, v1:i32):
    heap_check mem0 offset=8 size=4 v0
    v2:i32 = load mem0 offset=8 v0
    trapz integer_division_by_zero v1
    v3:i32 = iconst -1
    v4:i32 = icmp eq v1, v3
    v5:i32 = iconst -2147483648
    v6:i32 = icmp eq v2, v5
    v7:i32 = band v6, v4
    trapnz integer_overflow v7
    v8:i32 = sdiv v2, v1
    return v8
}
"""


def test_signed_remainder_avoids_minus_one():
    f = _build("""(module (func (param i64 i64) (result i64) (i64.rem_s (local.get 0) (local.get 1))))""")
    ops = [i.opcode for i in f.blocks[0].insts]
    assert ops == [Opcode.TRAPZ, Opcode.ICONST, Opcode.ICMP, Opcode.ICONST, Opcode.SELECT,
                   Opcode.SREM, Opcode.RETURN]
    select = f.blocks[0].insts[4]
    assert f.blocks[0].insts[3].imm == 1 and select.args[2] == 1   # divisor -1 becomes 1


@pytest.mark.parametrize("op, lower_cc, lower, upper", [
    ("i32.trunc_f32_s", "ge", 0xCF000000, 0x4F000000),          # -2^31 <= x < 2^31
    ("i32.trunc_f64_s", "gt", 0xC1E0000000200000, 0x41E0000000000000),  # -2^31-1 < x < 2^31
    ("i32.trunc_f32_u", "gt", 0xBF800000, 0x4F800000),          # -1 < x < 2^32
    ("i64.trunc_f64_u", "gt", 0xBFF0000000000000, 0x43F0000000000000),  # -1 < x < 2^64
    ("i64.trunc_f32_s", "ge", 0xDF000000, 0x5F000000),          # -2^63 <= x < 2^63
])
def test_float_to_int_range_checks(op, lower_cc, lower, upper):
    src = op.split("_")[1]
    rt = op.split(".")[0]
    f = _build(f"(module (func (param {src}) (result {rt}) ({op} (local.get 0))))")
    insts = f.blocks[0].insts
    assert [i.opcode for i in insts] == [
        Opcode.FCMP, Opcode.TRAPNZ, Opcode.FCONST, Opcode.FCMP, Opcode.FCONST, Opcode.FCMP,
        Opcode.BAND, Opcode.TRAPZ,
        Opcode.FCVT_TO_SINT if op.endswith("_s") else Opcode.FCVT_TO_UINT, Opcode.RETURN]
    assert insts[0].imm.value == "uno"
    assert insts[2].imm == lower and insts[3].imm.value == lower_cc
    assert insts[4].imm == upper and insts[5].imm.value == "lt"


def test_multi_value_blocks_and_br_table():
    f = _build("""(module (func $m (param i32) (result i32 i32)
      (block $a (result i32 i32)
        (block $b (result i32 i32)
          (br_table $a $b $a (i32.const 1) (i32.const 2) (local.get 0)))
        (return (i32.add) (i32.const 4)))))""")
    table = next(i for b in f.blocks for i in b.insts if i.opcode is Opcode.BR_TABLE)
    assert len(table.targets) == 3
    assert all(len(bc.args) == len(f.blocks[bc.block].params) for bc in table.targets)
    # two distinct labels, both reached with the two constants
    assert len({bc.block for bc in table.targets}) == 2
    assert f.num_insts() == sum(len(b.insts) for b in f.blocks)


def test_unreachable_then_stack_polymorphic_code():
    f = _build("""(module (func $u (param i32) (result i32)
        (block (result i32) (unreachable) (i32.add) (br_if 0 (i32.const 1)) (select) (f64.neg)
          (drop) (i32.const 1) (if (then (nop)) (else (loop (br 0)))) (i32.const 0))
        (i32.const 2) (i32.add)))""")
    assert [i.opcode for b in f.blocks for i in b.insts] == [Opcode.TRAP]


def test_loop_that_never_exits_and_dead_end():
    f = _build("""(module (func $spin (param i32)
        (loop (br 0)) ))""")
    assert len(f.blocks) == 2 and f.blocks[1].insts[-1].opcode is Opcode.JUMP


def test_reading_an_unset_local_gives_its_zero():
    f = _build("""(module (func $z (result i64 f32 f64 funcref externref)
        (local i64 f32 f64 funcref externref)
        (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)))""")
    ops = [(i.opcode, i.imm) for i in f.blocks[0].insts[:-1]]
    assert ops == [(Opcode.ICONST, 0), (Opcode.FCONST, 0), (Opcode.FCONST, 0),
                   (Opcode.REF_NULL, None), (Opcode.REF_NULL, None)]


def test_no_trivial_parameters_remain():
    # a local that every path leaves unchanged needs no parameter anywhere
    f = _build("""(module (func $t (param i32 i32) (result i32)
        (block (loop
          (br_if 1 (i32.eqz (local.get 0)))
          (if (local.get 1) (then (local.set 0 (i32.sub (local.get 0) (i32.const 1))))
                            (else (local.set 0 (i32.sub (local.get 0) (i32.const 2)))))
          (br 0)))
        (local.get 1)))""")
    params = {b.id: len(b.params) for b in f.blocks}
    # the loop header carries local 0 only; the if's merge carries local 0 only
    assert sorted(p for b, p in params.items() if b != 0 and p) == [1, 1]
    cfg = CFG(f)
    assert len(cfg.loop_headers) == 1


def test_deep_nesting_and_long_chains_do_not_recurse():
    n = 3000
    body = "(local.set 1 (i32.const 0))\n" + \
        "(if (local.get 0) (then (local.set 1 (i32.add (local.get 1) (i32.const 1)))))\n" * n + \
        "(local.get 1)"
    f = _build(f"(module (func $chain (param i32) (result i32) (local i32) {body}))")
    assert len(f.blocks) == 2 * n + 1
    deep = "(block " * 1500 + "(br 1500 (local.get 0))" + ")" * 1500
    g = _build(f"(module (func $deep (param i32) (result i32) {deep} (local.get 0)))")
    assert g.blocks[0].insts[0].opcode is Opcode.RETURN


def test_calls_globals_tables():
    f = _build("""(module
      (type $t (func (param i32) (result i32)))
      (import "m" "f" (func $imp (param i32) (result i32)))
      (table 2 funcref)
      (global $g (mut i64) (i64.const 0))
      (func $c (param i32) (result i32)
        (global.set $g (i64.extend_i32_u (call $imp (local.get 0))))
        (call_indirect (type $t) (local.get 0) (i32.const 1))))""", index=1)
    ops = [i.opcode for i in f.blocks[0].insts]
    assert ops == [Opcode.CALL, Opcode.UEXTEND, Opcode.GLOBAL_SET, Opcode.ICONST,
                   Opcode.CALL_INDIRECT, Opcode.RETURN]
    ci = f.blocks[0].insts[4]
    assert ci.args[0] == f.blocks[0].insts[3].results[0]      # the table index comes first
    assert ci.imm.type_index == 0 and ci.imm.table == 0


def test_only_defined_functions_are_built():
    m = _module("""(module (import "m" "f" (func)) (func))""")
    with pytest.raises(IRError, match="not a defined function"):
        build_function(m, 0)
    assert len(build_module(m)) == 1


# -- behaviour through the interpreter (public API, strategy "interpreter") ---------------------

def _instance(wat: str):
    from engine import Config, Engine, Instance, Module, Store
    engine = Engine(Config(strategy="interpreter"))
    store = Store(engine)
    return store, Instance(store, Module(engine, wat_to_wasm(wat)), [])


def test_built_code_runs():
    from engine import Trap
    store, inst = _instance("""(module (memory 1)
      (func (export "fac") (param i64) (result i64) (local i64)
        (local.set 1 (i64.const 1))
        (block (loop
          (br_if 1 (i64.eqz (local.get 0)))
          (local.set 1 (i64.mul (local.get 1) (local.get 0)))
          (local.set 0 (i64.sub (local.get 0) (i64.const 1)))
          (br 0)))
        (local.get 1))
      (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
      (func (export "trunc") (param f64) (result i32) (i32.trunc_f64_u (local.get 0)))
      (func (export "ld") (param i32) (result i32) (i32.load (local.get 0))))""")
    ex = inst.exports(store)
    assert ex["fac"](store, 20) == 2432902008176640000
    assert ex["div"](store, -7, 2) == -3
    for name, args, message in [("div", (1, 0), "divide by zero"),
                                ("div", (-2**31, -1), "overflow"),
                                ("trunc", (float("nan"),), "invalid conversion"),
                                ("trunc", (-1.0,), "overflow"),
                                ("ld", (65533,), "out of bounds")]:
        with pytest.raises(Trap, match=message):
            ex[name](store, *args)
    assert ex["trunc"](store, -0.9) == 0
    assert ex["trunc"](store, 4294967295.5) == -1      # u32 max, returned signed as wasmtime-py does
    assert ex["ld"](store, 65532) == 0
