"""x86_64 instruction choice and layout (x86-only: test_x86_programs.py is shared with the
other targets): frameless leaf functions, wide constants materialised once, register adds as
lea, functions aligned to 16 bytes."""

from __future__ import annotations

from engine import Config, Engine, Module
from engine.compile.driver import code_for

from target_testlib import assembly
from test_x86_programs import FIB
from x86_testlib import build


LEAF = """function 0 "leaf"(i64, i64) -> (i64) {
block0(v0:i64, v1:i64):
    v2:i64 = iconst 3
    v3:i64 = imul v0, v2
    v4:i64 = iadd v3, v1
    return v4
}
"""


def test_leaf_without_frame_and_caller_with_one(mode):
    leaf = assembly("x86_64", LEAF)
    # no frame on the way through; the trap path (the entry's stack check) makes one, so a
    # trap's backtrace finds the caller
    body, _, trap_path = leaf.partition("\nfunc0_trap")
    assert "rbp" not in body and "push" not in body and body.endswith("\n  ret")
    assert "push rbp" in trap_path
    assert "push rbp" in assembly("x86_64", FIB)          # it calls: it keeps its frame
    assert build(LEAF, mode).call(0, 5, 7) == [22]
    assert build(LEAF, mode).call(0, 2**63, 1) == [2**63 + 1]


WIDE_SUB = """function 0 "f"(i64) -> (i64) {
block0(v0:i64):
    v1:i64 = iconst 1085102592571150095
    v2:i64 = isub v0, v1
    return v2
}
"""


def test_wide_constant_operand_materialised_once(mode):
    assert assembly("x86_64", WIDE_SUB).count("movabs") == 1
    assert build(WIDE_SUB, mode).call(0, 0) == [(-1085102592571150095) % 2**64]


def test_functions_start_on_16_bytes():
    engine = Engine(Config(target="x86_64", emulate=True))
    wat = "(module " + " ".join(
        f"(func (param i32) (result i32) local.get 0 i32.const {k} i32.add)" for k in range(9)
    ) + ")"
    code = code_for(Module(engine, wat), engine._state.executor.backend)
    offsets = [off for name, off in code.symbols.items() if name.startswith("func")]
    assert len(offsets) == 9 and all(off % 16 == 0 for off in offsets), offsets


ADD = """function 0 "f"(i32, i32) -> (i32) {
block0(v0:i32, v1:i32):
    v2:i32 = iadd v0, v1
    v3:i32 = imul v2, v0
    return v3
}
"""


def test_register_add_is_one_lea_when_the_left_operand_stays_live(mode):
    text = assembly("x86_64", ADD)
    assert "lea eax, [rdi + rsi*1]" in text and "\n  add " not in text
    assert build(ADD, mode).call(0, 0xFFFFFFFF, 3) == [(0xFFFFFFFF + 3) * 0xFFFFFFFF % 2**32]
