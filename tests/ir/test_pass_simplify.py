"""engine.ir.passes.simplify: identities and redundant masks go, multiplications and unsigned
divisions by powers of two become shifts and masks; the result verifies and the IR interpreter
computes the same value as before for every input tried."""

from __future__ import annotations

import types

import pytest

from engine.exec.interp import compile_function
from engine.ir import Opcode
from engine.ir.parser import parse_function
from engine.ir.passes import run_passes
from engine.ir.printer import print_function

SOURCE = """
function "f"(i32, i64) -> (i32, i32, i32, i32, i32, i32, i64, i64, i32) {
block0(v0:i32, v1:i64):
    v2:i32 = iconst 0
    v3:i32 = iconst 1
    v4:i32 = iconst 8
    v5:i32 = iconst 255
    v6:i32 = iconst 24
    v7:i32 = iadd v0, v2
    v8:i32 = imul v3, v0
    v9:i32 = ushr v0, v6
    v10:i32 = band v9, v5
    v11:i32 = imul v0, v4
    v12:i32 = udiv v0, v4
    v13:i32 = urem v0, v4
    v14:i64 = iconst 64
    v15:i64 = rotl v1, v14
    v16:i64 = iconst 16
    v17:i64 = udiv v1, v16
    v18:i32 = icmp ult v0, v4
    v19:i32 = band v18, v3
    return v7, v8, v10, v11, v12, v13, v15, v17, v19
}"""


def _run(func, args):
    ctx = types.SimpleNamespace(funcs=[], mems=[], tables=[], globals=[], types=[])
    return tuple(compile_function(func).make(ctx)(*args))


def test_simplify_rewrites():
    f = parse_function(SOURCE)
    assert run_passes(f, ["simplify", "dce"], verify_each=True)
    ops = [i.opcode for i in f.blocks[0].insts]
    text = print_function(f)
    assert Opcode.IMUL not in ops and Opcode.UDIV not in ops and Opcode.UREM not in ops
    assert Opcode.ROTL not in ops and Opcode.IADD not in ops
    assert ops.count(Opcode.BAND) == 1          # urem's mask; both redundant masks are gone
    assert "return v0, v0, v9, v11, v12, v13, v1, v17, v18" in text


@pytest.mark.parametrize("x", [0, 1, 7, 8, 9, 0xFF, 0x1234_5678, 0x8000_0000, 0xFFFF_FFFF])
@pytest.mark.parametrize("y", [0, 15, 16, 17, 0xFFFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0001])
def test_simplify_keeps_values(x, y):
    before = _run(parse_function(SOURCE), (x, y))
    f = parse_function(SOURCE)
    run_passes(f, ["simplify", "copyprop", "dce"], verify_each=True)
    assert _run(f, (x, y)) == before


def test_masks_that_clear_live_bits_stay():
    f = parse_function("""
function "g"(i32) -> (i32, i32) {
block0(v0:i32):
    v1:i32 = iconst 255
    v2:i32 = band v0, v1
    v3:i32 = iconst 4
    v4:i32 = ushr v0, v3
    v5:i32 = iconst 0x0fffffff
    v6:i32 = band v4, v5
    v7:i32 = iconst 0x07ffffff
    v8:i32 = band v4, v7
    return v2, v8
}""")
    run_passes(f, ["simplify", "dce"], verify_each=True)
    text = print_function(f)
    assert "band v0, v1" in text and "band v4, v7" in text and "band v4, v5" not in text


def test_block_parameters_carry_known_bits():
    f = parse_function("""
function "h"(i32, i32) -> (i32) {
block0(v0:i32, v1:i32):
    v2:i32 = uload16 mem0 offset=0 v0
    jump block1(v2)
block1(v3:i32):
    v4:i32 = iconst 65535
    v5:i32 = band v3, v4
    v6:i32 = uload8 mem0 offset=0 v5
    brif v1, block1(v6), block2
block2:
    return v5
}""")
    run_passes(f, ["simplify", "dce"])
    assert "band" not in print_function(f)


#: cur = prev[cur & 0xffff] around a loop entered with an unmasked i32 (zlib's hash chains):
#: the mask belongs on the entry edge, once, not on the loop's every iteration
CHAIN = """
function "chain"(i32, i32) -> (i32) {
block0(v0:i32, v1:i32):
    jump block1(v0, v1)
block1(v2:i32, v3:i32):
    v4:i32 = iconst 65535
    v5:i32 = band v2, v4
    v6:i32 = iconst 1
    v7:i32 = ishl v5, v6
    v8:i32 = uload16 mem0 offset=0 v7
    v9:i32 = isub v3, v6
    brif v9, block1(v8, v9), block2
block2:
    v10:i32 = band v2, v4
    return v10
}"""


def test_a_loop_carried_mask_moves_onto_the_entry_edge():
    f = parse_function(CHAIN)
    assert run_passes(f, ["simplify", "dce"], verify_each=True)
    entry, loop, out = f.blocks
    assert [i.opcode for i in entry.insts] == [Opcode.ICONST, Opcode.BAND, Opcode.JUMP]
    assert Opcode.BAND not in [i.opcode for i in loop.insts + out.insts]


def test_a_parameter_used_unmasked_keeps_its_masks():
    f = parse_function(CHAIN.replace("    v10:i32 = band v2, v4\n    return v10",
                                     "    return v2"))
    run_passes(f, ["simplify", "dce"], verify_each=True)
    entry, loop, _ = f.blocks
    assert Opcode.BAND not in [i.opcode for i in entry.insts]
    assert Opcode.BAND in [i.opcode for i in loop.insts]
