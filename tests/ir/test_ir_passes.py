"""The passes on small functions: the expected IR after each, stated as text."""

from __future__ import annotations

import pytest

from engine.ir import Function, Opcode
from engine.ir.errors import IRError, VerifierError
from engine.ir.parser import parse_function
from engine.ir.passes import (PASSES, copyprop, dce, fold, gvn, licm, merge_blocks,
                              run_passes, simplify)
from engine.ir.printer import print_function
from engine.ir.verifier import verify


def _after(pass_fn, text: str) -> tuple[str, bool]:
    f = parse_function(text)
    changed = run_passes(f, [pass_fn], verify_each=True)
    return print_function(f), changed


def _norm(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines()) + "\n"


# -- fold --------------------------------------------------------------------------------------

def test_fold_integer_and_float_arithmetic():
    out, changed = _after("fold", """
function "f"(i32) -> (i32, f32, f32) {
block0(v0:i32):
    v1:i32 = iconst 6
    v2:i32 = iconst -7
    v3:i32 = imul v1, v2
    v4:i32 = iadd v3, v0
    v5:f32 = fconst 0x3f800000
    v6:f32 = fconst 0x40000000
    v7:f32 = fadd v5, v6
    v8:f32 = fconst 0x7fc00001
    v9:f32 = fneg v8
    v10:i32 = icmp slt v2, v1
    v11:i64 = sextend v2
    v12:i32 = ireduce v11
    v13:i32 = ishl v12, v10
    return v13, v7, v9
}""")
    assert changed
    assert out == _norm("""
function "f"(i32) -> (i32, f32, f32) {
block0(v0:i32):
    v1:i32 = iconst 6
    v2:i32 = iconst -7
    v3:i32 = iconst -42
    v4:i32 = iadd v3, v0
    v5:f32 = fconst 0x3f800000
    v6:f32 = fconst 0x40000000
    v7:f32 = fconst 0x40400000
    v8:f32 = fconst 0x7fc00001
    v9:f32 = fconst 0xffc00001
    v10:i32 = iconst 1
    v11:i64 = iconst -7
    v12:i32 = iconst -7
    v13:i32 = iconst -14
    return v13, v7, v9
}""")


def test_fold_leaves_operations_whose_precondition_fails():
    text = _norm("""
function "f"() -> (i32, i32, i32) {
block0:
    v0:i32 = iconst 0
    v1:i32 = iconst 5
    v2:i32 = sdiv v1, v0
    v3:i32 = iconst -2147483648
    v4:i32 = iconst -1
    v5:i32 = sdiv v3, v4
    v6:f64 = fconst 0x7ff8000000000000
    v7:i32 = fcvt_to_sint v6
    return v2, v5, v7
}""")
    out, changed = _after("fold", text)
    assert out == text and not changed


def test_fold_saturating_conversion_and_division():
    out, _ = _after("fold", """
function "f"() -> (i32, i32, i32) {
block0:
    v0:f64 = fconst 0x7ff8000000000000
    v1:i32 = fcvt_to_sint_sat v0
    v2:f64 = fconst 0xc1f0000000000000
    v3:i32 = fcvt_to_sint_sat v2
    v4:i32 = iconst -7
    v5:i32 = iconst 2
    v6:i32 = sdiv v4, v5
    return v1, v3, v6
}""")
    # NaN -> 0; -2^32 saturates to INT32_MIN; -7 / 2 rounds toward zero
    assert "v1:i32 = iconst 0" in out
    assert "v3:i32 = iconst -2147483648" in out
    assert "v6:i32 = iconst -3" in out


def test_fold_traps_select_and_branches():
    out, changed = _after("fold", """
function "f"(i32) -> (i32) {
block0(v0:i32):
    v1:i32 = iconst 1
    v2:i32 = iconst 0
    trapz integer_overflow v1
    trapnz integer_overflow v2
    v3:i32 = select v1, v0, v2
    brif v2, block1(v3), block2
block1(v4:i32):
    return v4
block2:
    br_table v1, [block3, block4], block3
block3:
    trapnz unreachable v1
    return v3
block4:
    return v0
}""")
    assert changed
    assert out == _norm("""
function "f"(i32) -> (i32) {
block0(v0:i32):
    v1:i32 = iconst 1
    v2:i32 = iconst 0
    jump block1
block1:
    jump block2
block2:
    return v0
}""")


def test_fold_a_certain_trap_becomes_a_trap_terminator():
    out, _ = _after("fold", """
function "f"(i32) -> (i32) {
block0(v0:i32):
    v1:i32 = iconst 0
    trapz integer_division_by_zero v1
    v2:i32 = udiv v0, v1
    jump block1(v2)
block1(v3:i32):
    return v3
}""")
    assert out == _norm("""
function "f"(i32) -> (i32) {
block0(v0:i32):
    v1:i32 = iconst 0
    trap integer_division_by_zero
}""")


# -- dce ---------------------------------------------------------------------------------------

def test_dce_removes_unused_pure_code_and_keeps_effects():
    out, changed = _after("dce", """
function "f"(i32) -> () {
block0(v0:i32):
    v1:i32 = iconst 3
    v2:i32 = iadd v0, v1
    v3:i32 = imul v2, v2
    heap_check mem0 offset=0 size=4 v0
    v4:i32 = load mem0 offset=0 v0
    v5:i32 = udiv v0, v1
    store mem0 offset=0 v0, v5
    v6:i32 = call fn1 v2
    return
}""")
    assert changed
    assert out == _norm("""
function "f"(i32) -> () {
block0(v0:i32):
    v1:i32 = iconst 3
    v2:i32 = iadd v0, v1
    heap_check mem0 offset=0 size=4 v0
    v5:i32 = udiv v0, v1
    store mem0 offset=0 v0, v5
    v6:i32 = call fn1 v2
    return
}""")


def test_dce_removes_dead_loop_parameters_and_unreachable_blocks():
    f = parse_function("""
function "f"(i32) -> (i32) {
block0(v0:i32):
    v1:i32 = iconst 0
    jump block1(v1, v1)
block1(v2:i32, v3:i32):
    v4:i32 = iconst 1
    v5:i32 = iadd v2, v4
    v6:i32 = iadd v3, v4
    v7:i32 = icmp ult v5, v0
    brif v7, block1(v5, v6), block2
block2:
    return v5
}""")
    # make block 3 unreachable garbage first
    f = parse_function(print_function(f).replace("}\n", "block3:\n    return v0\n}\n"))
    assert dce(f)
    verify(f)
    out = print_function(f)
    assert out == _norm("""
function "f"(i32) -> (i32) {
block0(v0:i32):
    v1:i32 = iconst 0
    jump block1(v1)
block1(v2:i32):
    v4:i32 = iconst 1
    v5:i32 = iadd v2, v4
    v7:i32 = icmp ult v5, v0
    brif v7, block1(v5), block2
block2:
    return v5
}""")


def test_dce_on_clean_code_changes_nothing():
    text = _norm("""
function "f"(i32) -> (i32) {
block0(v0:i32):
    return v0
}""")
    out, changed = _after("dce", text)
    assert out == text and not changed


# -- copyprop ----------------------------------------------------------------------------------

def test_copyprop_removes_parameters_with_one_incoming_value():
    out, changed = _after("copyprop", """
function "f"(i32, i32) -> (i32) {
block0(v0:i32, v1:i32):
    brif v0, block1(v1, v0), block2
block1(v2:i32, v3:i32):
    jump block3(v2, v3)
block2:
    jump block3(v1, v1)
block3(v4:i32, v5:i32):
    jump block4(v4, v5)
block4(v6:i32, v7:i32):
    v8:i32 = iadd v6, v7
    brif v8, block4(v6, v8), block5
block5:
    return v8
}""")
    assert changed
    # v2 and v3 are copies of v1 and v0; v4 then always receives v1; v6 is v4 around its loop
    assert out == _norm("""
function "f"(i32, i32) -> (i32) {
block0(v0:i32, v1:i32):
    brif v0, block1, block2
block1:
    jump block3(v0)
block2:
    jump block3(v1)
block3(v5:i32):
    jump block4(v5)
block4(v7:i32):
    v8:i32 = iadd v1, v7
    brif v8, block4(v8), block5
block5:
    return v8
}""")


# -- merge -------------------------------------------------------------------------------------

def test_merge_collapses_jump_chains_and_keeps_merge_points():
    out, changed = _after("merge", """
function "f"(i32) -> (i32) {
block0(v0:i32):
    jump block1(v0)
block1(v1:i32):
    v2:i32 = iconst 1
    jump block2(v2)
block2(v3:i32):
    brif v3, block3, block4(v1)
block3:
    jump block4(v3)
block4(v4:i32):
    v5:i32 = iadd v4, v1
    jump block5
block5:
    brif v5, block5, block6
block6:
    return v5
}""")
    assert changed
    # block1 and block2 fold into the entry; block4 (two edges) and block5 (a loop) stay;
    # block3 ends in a jump to block4, which has two predecessors, so it stays too
    assert out == _norm("""
function "f"(i32) -> (i32) {
block0(v0:i32):
    v2:i32 = iconst 1
    brif v2, block1, block2(v0)
block1:
    jump block2(v2)
block2(v4:i32):
    v5:i32 = iadd v4, v0
    jump block3
block3:
    brif v5, block3, block4
block4:
    return v5
}""")


# -- the pass manager --------------------------------------------------------------------------

def test_unknown_pass():
    f = parse_function('function "f"() -> () {\nblock0:\n    return\n}')
    with pytest.raises(IRError, match="unknown IR pass 'nope'"):
        run_passes(f, ["nope"])


def test_verify_each_names_the_pass_that_broke_the_function(monkeypatch):
    def breaker(func: Function) -> bool:
        func.blocks[0].insts.pop()          # drop the terminator
        return True
    monkeypatch.setitem(PASSES, "breaker", breaker)
    f = parse_function('function "f"() -> () {\nblock0:\n    v0:i32 = iconst 1\n    return\n}')
    with pytest.raises(VerifierError, match="after pass 'breaker'.*terminator"):
        run_passes(f, ["dce", "breaker"], verify_each=True)


def test_pass_functions_are_the_registry():
    assert PASSES == {"fold": fold, "copyprop": copyprop, "dce": dce, "merge": merge_blocks,
                      "simplify": simplify, "licm": licm, "gvn": gvn}
    assert Opcode.SDIV.has_side_effects is False        # guarded by explicit traps instead


def test_optimize_built_wasm():
    from engine.config import Features
    from engine.ir.builder import build_function
    from engine.ir.passes import optimize
    from engine.wasm.decoder import decode
    from engine.wasm.validator import validate
    from tools import wat_to_wasm
    m = decode(wat_to_wasm("""(module (func $k (param i32) (result i32) (local i32)
        (local.set 1 (i32.mul (i32.const 6) (i32.const 7)))
        (if (i32.eq (local.get 1) (i32.const 42))
          (then (local.set 1 (i32.div_u (local.get 1) (i32.const 2))))
          (else (local.set 1 (local.get 0))))
        (i32.add (local.get 1) (local.get 0))))"""))
    validate(m, Features())
    f = build_function(m, 0)
    optimize(f, verify_each=True, module=m)
    # 6*7 == 42, so the then-arm is taken: 42/2 = 21 (its zero check folded away), plus v0
    assert print_function(f) == _norm("""
function 0 "k"(i32) -> (i32) {
block0(v0:i32):
    v7:i32 = iconst 21
    v10:i32 = iadd v7, v0
    return v10
}""")
