"""engine.ir.passes.gvn: a pure instruction repeating one that dominates it is replaced by
the earlier result (commutative integer operands in either order); one in a sibling branch,
a load, or an operation with a different immediate or operand order stays; results verify
and the IR interpreter computes what it did before."""

from __future__ import annotations

import struct
import types

from engine.exec.interp import compile_function
from engine.ir import Opcode
from engine.ir.parser import parse_function
from engine.ir.passes import DEFAULT_PIPELINE, run_passes

SOURCE = """
function "f"(i32, i32, f64) -> (i32, i32, f64) {
block0(v0:i32, v1:i32, v2:f64):
    v3:i32 = iadd v0, v1
    v4:i32 = iadd v1, v0
    v5:i32 = isub v0, v1
    v6:i32 = isub v1, v0
    v7:i32 = icmp ult v0, v1
    v8:i32 = icmp slt v0, v1
    v9:f64 = fadd v2, v2
    v10:f64 = fadd v2, v2
    brif v7, block1, block2
block1:
    v11:i32 = iadd v0, v1
    v12:i32 = imul v11, v5
    v13:i32 = imul v5, v3
    v14:i32 = iadd v12, v13
    v15:i32 = iadd v14, v6
    v16:i32 = iadd v15, v8
    v17:f64 = fadd v9, v10
    return v16, v4, v17
block2:
    v18:i32 = bxor v0, v1
    v19:i32 = iadd v18, v4
    v20:f64 = fmul v2, v9
    return v19, v3, v20
}"""

def _f64(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]        # the interpreter takes bits


INPUTS = [(1, 2, _f64(0.5)), (9, 3, _f64(-1.0)), (2**31, 7, _f64(3.25)), (0, 0, 0),
          (2**32 - 1, 1, _f64(1e300))]


def _run(func, args):
    ctx = types.SimpleNamespace(funcs=[], mems=[], tables=[], globals=[], types=[])
    return tuple(compile_function(func).make(ctx)(*args))


def _count(func, op):
    return sum(i.opcode is op for b in func.blocks for i in b.insts)


def test_dominated_twins_are_reused():
    before = [_run(parse_function(SOURCE), a) for a in INPUTS]
    f = parse_function(SOURCE)
    assert run_passes(f, ["gvn", "dce"], verify_each=True)
    assert [_run(f, a) for a in INPUTS] == before
    # iadd v1, v0 and the iadd in block1 are v3; imul v5, v3 is imul v3, v5 (v11 -> v3) too
    ret1 = f.blocks[1].insts[-1]
    assert ret1.args[1] == 3                     # v4 replaced by v3
    assert _count(f, Opcode.IMUL) == 1
    # isub is not commutative: both stay; icmp with another condition stays
    assert _count(f, Opcode.ISUB) == 2
    assert _count(f, Opcode.ICMP) == 2
    # the repeated fadd v2, v2 goes (same operands, same order)
    assert _count(f, Opcode.FADD) == 2           # v9 and block1's v17


def test_sibling_branches_do_not_share():
    src = """
function "g"(i32, i32) -> (i32) {
block0(v0:i32, v1:i32):
    brif v0, block1, block2
block1:
    v2:i32 = bxor v0, v1
    jump block3(v2)
block2:
    v3:i32 = bxor v0, v1
    jump block3(v3)
block3(v4:i32):
    v5:i32 = bxor v0, v1
    v6:i32 = iadd v4, v5
    return v6
}"""
    f = parse_function(src)
    assert not run_passes(f, ["gvn"], verify_each=True)
    assert _count(f, Opcode.BXOR) == 3


def test_loads_are_not_numbered():
    src = """
function "h"(i32) -> (i32) {
block0(v0:i32):
    v1:i32 = load mem0 offset=0 v0
    store mem0 offset=0 v0, v1
    v2:i32 = load mem0 offset=0 v0
    v3:i32 = iadd v1, v2
    return v3
}"""
    f = parse_function(src)
    assert not run_passes(f, ["gvn"])
    assert _count(f, Opcode.LOAD) == 2


def test_in_default_pipeline_after_licm():
    names = list(DEFAULT_PIPELINE)
    assert names.index("licm") < names.index("gvn") < names.index("dce")
    # licm hoists two copies of one invariant into the preheader; gvn leaves one
    src = """
function "k"(i32, i32) -> (i32) {
block0(v0:i32, v1:i32):
    jump block1(v0, v0)
block1(v2:i32, v3:i32):
    v4:i32 = imul v1, v1
    v5:i32 = iadd v3, v4
    v6:i32 = imul v1, v1
    v7:i32 = iadd v5, v6
    v8:i32 = iconst 1
    v9:i32 = isub v2, v8
    brif v9, block1(v9, v7), block2
block2:
    return v7
}"""
    before = [_run(parse_function(src), a) for a in [(3, 5), (1, 7), (10, 2**20)]]
    f = parse_function(src)
    run_passes(f, DEFAULT_PIPELINE, verify_each=True)
    assert [_run(f, a) for a in [(3, 5), (1, 7), (10, 2**20)]] == before
    assert _count(f, Opcode.IMUL) == 1
    assert Opcode.IMUL not in [i.opcode for i in f.blocks[1].insts]
