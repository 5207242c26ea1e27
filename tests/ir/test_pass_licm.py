"""engine.ir.passes.licm: invariant pure instructions leave their loops for the preheader
(nests climb loop by loop), trapping or variant ones stay, a loop without a single outside
predecessor is left alone; the result verifies and the IR interpreter computes what it did
before for every input tried."""

from __future__ import annotations

import types

import pytest

from engine.exec.interp import compile_function
from engine.ir import Opcode
from engine.ir.parser import parse_function
from engine.ir.passes import DEFAULT_PIPELINE, run_passes

LOOP = """
function "f"(i32, i32) -> (i32) {
block0(v0:i32, v1:i32):
    v2:i32 = iconst 0
    jump block1(v2, v2)
block1(v3:i32, v4:i32):
    v5:i32 = iconst 7
    v6:i32 = imul v1, v5
    v7:i32 = iadd v6, v0
    v8:i32 = iadd v4, v7
    v9:i32 = udiv v1, v5
    v10:i32 = iadd v8, v9
    v11:i32 = iconst 1
    v12:i32 = iadd v3, v11
    v13:i32 = icmp ult v12, v0
    brif v13, block1(v12, v10), block2
block2:
    return v10
}"""

NEST = """
function "g"(i32, i32) -> (i32) {
block0(v0:i32, v1:i32):
    v2:i32 = iconst 0
    jump block1(v2, v2)
block1(v3:i32, v4:i32):
    jump block2(v2, v4)
block2(v5:i32, v6:i32):
    v7:i32 = bxor v0, v1
    v15:i32 = imul v3, v3
    v8:i32 = iadd v6, v7
    v9:i32 = iadd v8, v15
    v10:i32 = iconst 1
    v11:i32 = iadd v5, v10
    v12:i32 = icmp ult v11, v1
    brif v12, block2(v11, v9), block3
block3:
    v13:i32 = iadd v3, v10
    v14:i32 = icmp ult v13, v0
    brif v14, block1(v13, v9), block4
block4:
    return v9
}"""

TWO_ENTRIES = """
function "h"(i32, i32) -> (i32) {
block0(v0:i32, v1:i32):
    v2:i32 = iconst 0
    brif v0, block2(v2), block1
block1:
    jump block2(v1)
block2(v3:i32):
    v4:i32 = bxor v0, v1
    v5:i32 = iadd v3, v4
    v6:i32 = icmp ult v5, v0
    brif v6, block2(v5), block3
block3:
    return v5
}"""

INPUTS = [(5, 3), (1, 9), (0, 4), (17, 0), (2**31 + 5, 2**32 - 1), (40, 123456)]


def _run(func, args):
    ctx = types.SimpleNamespace(funcs=[], mems=[], tables=[], globals=[], types=[])
    return tuple(compile_function(func).make(ctx)(*args))


def _ops(func, block):
    return [i.opcode for i in func.blocks[block].insts]


def _same_results(source, inputs):
    before = [_run(parse_function(source), a) for a in inputs]
    f = parse_function(source)
    changed = run_passes(f, ["licm"], verify_each=True)
    assert [_run(f, a) for a in inputs] == before
    return f, changed


def test_invariant_chain_moves_to_preheader():
    f, changed = _same_results(LOOP, INPUTS[:4])
    assert changed
    # imul v1, 7 and the iadd using it (with their constant) now end the preheader
    assert _ops(f, 0) == [Opcode.ICONST, Opcode.ICONST, Opcode.IMUL, Opcode.IADD, Opcode.JUMP]
    loop = _ops(f, 1)
    assert Opcode.IMUL not in loop
    # the division (a precondition on its divisor), the variant sums and the counter stay
    assert loop.count(Opcode.UDIV) == 1
    assert loop.count(Opcode.IADD) == 3
    assert Opcode.ICMP in loop


def test_constant_shared_with_a_staying_instruction():
    f, _ = _same_results(LOOP, [(3, 10)])
    # v5 moved with the imul, and the udiv left in the loop still reads it (from the
    # preheader, which dominates the loop)
    moved = {r for i in f.blocks[0].insts for r in i.results}
    udiv = next(i for i in f.blocks[1].insts if i.opcode is Opcode.UDIV)
    assert udiv.args[1] in moved


def test_nest_climbs_one_loop_at_a_time():
    f, changed = _same_results(NEST, INPUTS[:4] + [(3, 3)])
    assert changed
    # bxor v0, v1 is invariant in both loops: it reaches block0; imul v3, v3 depends on the
    # outer loop's parameter: it stops in the inner loop's preheader, block1
    assert Opcode.BXOR in _ops(f, 0)
    assert Opcode.IMUL not in _ops(f, 0)
    assert Opcode.IMUL in _ops(f, 1)
    assert Opcode.BXOR not in _ops(f, 2) and Opcode.IMUL not in _ops(f, 2)


def test_no_single_preheader_no_motion():
    f, changed = _same_results(TWO_ENTRIES, INPUTS[:4])
    assert not changed
    assert Opcode.BXOR in _ops(f, 2)


def test_nothing_invariant_is_unchanged():
    src = """
function "k"(i32) -> (i32) {
block0(v0:i32):
    jump block1(v0)
block1(v1:i32):
    v2:i32 = iconst 1
    v3:i32 = isub v1, v2
    brif v3, block1(v3), block2
block2:
    return v3
}"""
    f, changed = _same_results(src, [(5,), (1,)])
    assert not changed
    assert _ops(f, 1) == [Opcode.ICONST, Opcode.ISUB, Opcode.BRIF]


@pytest.mark.parametrize("op", ["load", "global_get"])
def test_reads_of_state_stay(op):
    # a load may trap and see stores of the loop; a global may be written by a call in it
    imm = "mem0 offset=0" if op == "load" else "g0"
    arg = " v1" if op == "load" else ""
    src = f"""
function "m"(i32, i32) -> (i32) {{
block0(v0:i32, v1:i32):
    jump block1(v0)
block1(v2:i32):
    v3:i32 = {op} {imm}{arg}
    v4:i32 = isub v2, v3
    brif v4, block1(v4), block2
block2:
    return v4
}}"""
    f = parse_function(src)
    assert not run_passes(f, ["licm"])
    assert _ops(f, 1)[0] is Opcode(op)


def test_in_default_pipeline():
    assert "licm" in DEFAULT_PIPELINE
    f = parse_function(LOOP)
    run_passes(f, DEFAULT_PIPELINE, verify_each=True)
    assert Opcode.IMUL not in _ops(f, 1)


def test_invariant_in_one_arm_stays():
    # bxor v0, v1 runs only when v3 is odd: hoisting it would make every entry pay for it and
    # keep it live across the loop; the isub in the block every iteration runs still moves
    src = """
function "p"(i32, i32) -> (i32) {
block0(v0:i32, v1:i32):
    jump block1(v0, v0)
block1(v2:i32, v3:i32):
    v4:i32 = iconst 1
    v5:i32 = band v2, v4
    v12:i32 = isub v1, v0
    brif v5, block2, block3(v3)
block2:
    v6:i32 = bxor v0, v1
    v7:i32 = iadd v3, v6
    jump block3(v7)
block3(v8:i32):
    v9:i32 = iadd v8, v12
    v10:i32 = isub v2, v4
    brif v10, block1(v10, v9), block4
block4:
    return v9
}"""
    f, changed = _same_results(src, [(5, 3), (1, 9), (17, 0), (7, 2**32 - 1)])
    assert changed
    assert Opcode.ISUB in _ops(f, 0)
    assert Opcode.BXOR in _ops(f, 2) and Opcode.BXOR not in _ops(f, 0)
