"""Whole programs through the aarch64 backend: the target-independent program tests of
tests/backends/x86_64/test_x86_programs.py (loops, swapping block parameters, br_table, calls
with stack arguments and results, recursion and stack overflow, memory bounds and growth,
large offsets, constants, globals, call_indirect checks, host calls, traps, spills, fuel, epochs) run with their `build`
compiling for aarch64, plus aarch64-specific cases (folded forms, logical immediates, branch
forms, large frames)."""

from __future__ import annotations

import struct

import pytest

from engine.errors import Trap, TrapCode

from a64_testlib import MODES, assembly, build
from target_testlib import program_tests, shared_programs

SHARED, SHARED_TESTS = shared_programs("aarch64", build)
test_shared_programs_found, test_shared_program = program_tests(SHARED, SHARED_TESTS, MODES)


FOLDS = """function 0 "shl_add"(i64, i64) -> (i64) {
block0(v0:i64, v1:i64):
    v2:i64 = iconst 3
    v3:i64 = ishl v1, v2
    v4:i64 = iadd v0, v3
    return v4
}
function 1 "madd"(i32, i32, i32) -> (i32) {
block0(v0:i32, v1:i32, v2:i32):
    v3:i32 = imul v0, v1
    v4:i32 = iadd v3, v2
    return v4
}
function 2 "msub"(i64, i64, i64) -> (i64) {
block0(v0:i64, v1:i64, v2:i64):
    v3:i64 = imul v0, v1
    v4:i64 = isub v2, v3
    return v4
}
function 3 "mask"(i64) -> (i64) {
block0(v0:i64):
    v1:i64 = iconst 0xff00ff00ff00ff00
    v2:i64 = band v0, v1
    return v2
}
function 4 "cmn"(i32) -> (i32) {
block0(v0:i32):
    v1:i32 = iconst 0xfffffffb
    v2:i32 = icmp slt v0, v1
    return v2
}
function 5 "sel"(i64, i64, i64) -> (i64) {
block0(v0:i64, v1:i64, v2:i64):
    v3:i32 = icmp ugt v0, v1
    v4:i64 = select v3, v1, v2
    return v4
}
function 6 "ushr_xor"(i32, i32) -> (i32) {
block0(v0:i32, v1:i32):
    v2:i32 = iconst 37
    v3:i32 = ushr v1, v2
    v4:i32 = bxor v3, v0
    return v4
}
function 7 "sub_imm"(i64) -> (i64) {
block0(v0:i64):
    v1:i64 = iconst 0xfffffffffffff000
    v2:i64 = isub v0, v1
    return v2
}
"""


def test_folded_forms_are_chosen():
    text = assembly(FOLDS)
    assert "lsl #3" in text and "madd" in text and "msub" in text
    assert "#-71777214294589696" in text or "#0xff00ff00ff00ff00" in text \
        or "and x0, x0, #18374966859414961920" in text
    assert "cmn w" in text and "csel" in text and "lsr #5" in text
    assert "add x0, x0, #4096" in text


@pytest.mark.parametrize("mode", MODES)
def test_folded_forms_compute(mode):
    m64 = (1 << 64) - 1
    h = build(FOLDS, mode)
    assert h.call(0, 5, 7) == [5 + 56]
    assert h.call(0, 1, 1 << 62) == [1]
    assert h.call(1, 6, 7, 0xFFFFFFFF) == [41]
    assert h.call(2, 3, 4, 100) == [88]
    assert h.call(2, 3, 4, 0) == [(-12) & m64]
    assert h.call(3, m64) == [0xFF00FF00FF00FF00]
    assert h.call(4, 0xFFFFFFFA) == [1]
    assert h.call(4, 0xFFFFFFFB) == [0]
    assert h.call(4, 3) == [0]
    assert h.call(5, 9, 4, 1) == [4]
    assert h.call(5, 4, 9, 1) == [1]
    assert h.call(6, 0x10, 0x1E0) == [0x10 ^ 0xF]
    assert h.call(7, 10) == [10 + 4096]


def test_logical_immediates():
    from backends.aarch64.isel import logical_imm
    assert logical_imm(0xFF00FF00FF00FF00, 64)
    assert logical_imm(0x7FFFFFFF, 32) and logical_imm(0x80000000, 32)
    assert logical_imm(0x5555555555555555, 64) and logical_imm(0x0000FFFF0000FFFF, 64)
    assert not logical_imm(0, 64) and not logical_imm((1 << 64) - 1, 64)
    assert not logical_imm(0x12345678, 32) and not logical_imm(0x5, 32)
    assert not logical_imm(0xFFFFFFFF, 32)


def _f64_bits(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


@pytest.mark.parametrize("mode", MODES)
def test_float_values_live_across_calls_and_spills(mode):
    # 40 float values live across a call: callee-saved d8-d15 and spill slots both used
    n = 40
    lines = [f"    v{i + 1}:f64 = fadd v0, v{1000 + i}" for i in range(n)]
    consts = [f"    v{1000 + i}:f64 = fconst {_f64_bits(i + 0.5):#x}" for i in range(n)]
    acc = ["    v100:f64 = call fn1 v0"]
    prev = 100
    for i in range(n):
        acc.append(f"    v{101 + i}:f64 = fadd v{prev}, v{i + 1}")
        prev = 101 + i
    text = (f'function 0 "f"(f64) -> (f64) {{\nblock0(v0:f64):\n'
            + "\n".join(consts + lines + acc) + f"\n    return v{prev}\n}}\n"
            + 'function 1 "id"(f64) -> (f64) {\nblock0(v0:f64):\n    return v0\n}\n')
    h = build(text, mode)
    x = 2.0
    got = h.call(0, struct.unpack("<Q", struct.pack("<d", x))[0])[0]
    assert struct.unpack("<d", struct.pack("<Q", got))[0] == x + sum(x + i + 0.5 for i in range(n))


BRANCHES = """function 0 "bit5"(i64) -> (i32) {
block0(v0:i64):
    v1:i64 = iconst 32
    v2:i64 = band v0, v1
    brif v2, block1, block2
block1:
    v3:i32 = iconst 1
    return v3
block2:
    v4:i32 = iconst 0
    return v4
}
function 1 "mask_select"(i32, i32, i32) -> (i32) {
block0(v0:i32, v1:i32, v2:i32):
    v3:i32 = iconst 0xf0
    v4:i32 = band v0, v3
    v5:i32 = select v4, v1, v2
    return v5
}
function 2 "is_zero"(i32) -> (i32) {
block0(v0:i32):
    v1:i32 = iconst 0
    v2:i32 = icmp eq v1, v0
    brif v2, block1, block2
block1:
    v3:i32 = iconst 7
    return v3
block2:
    v4:i32 = iconst 9
    return v4
}
function 3 "trap_eqz"(i64) -> (i64) {
block0(v0:i64):
    v1:i32 = eqz v0
    trapnz integer_division_by_zero v1
    v2:i64 = iconst 1
    v3:i64 = iadd v0, v2
    return v3
}
function 4 "trap_bit"(i32) -> (i32) {
block0(v0:i32):
    v1:i32 = iconst 0x80000000
    v2:i32 = band v0, v1
    trapz integer_overflow v2
    return v0
}
"""


def test_branch_forms_are_chosen():
    text = assembly(BRANCHES)
    for form in ("tbz", "tst w", "cbz", "cbnz"):
        assert form in text, form


@pytest.mark.parametrize("mode", MODES)
def test_branch_forms_compute(mode):
    h = build(BRANCHES, mode)
    assert [h.call(0, x)[0] for x in (0, 32, 31, 1 << 40 | 32, 1 << 63)] == [0, 1, 0, 1, 0]
    assert h.call(1, 0x10, 5, 6) == [5]
    assert h.call(1, 0x10F, 5, 6) == [6]
    assert h.call(2, 0) == [7] and h.call(2, 1 << 31) == [9]
    assert h.call(3, 41) == [42]
    with pytest.raises(Trap) as e:
        h.call(3, 0)
    assert e.value.trap_code == TrapCode.INTEGER_DIVISION_BY_ZERO
    assert h.call(4, 0x80000001) == [0x80000001]
    with pytest.raises(Trap) as e:
        h.call(4, 0x7FFFFFFF)
    assert e.value.trap_code == TrapCode.INTEGER_OVERFLOW


def _long_function(n: int) -> str:
    """A bit test whose taken target lies beyond a block of n large-constant additions."""
    chain = [f"    v{10 + i}:i64 = iadd v{9 + i}, v5" for i in range(n)]
    return (f'function 0 "far"(i64) -> (i64) {{\nblock0(v0:i64):\n'
            f"    v1:i64 = iconst 32\n    v2:i64 = band v0, v1\n"
            f"    brif v2, block2, block1\nblock1:\n    v9:i64 = iconst 0\n"
            f"    v5:i64 = iconst 0x123456789\n" + "\n".join(chain)
            + f"\n    return v{9 + n}\nblock2:\n    v3:i64 = iconst 7\n    return v3\n}}\n")


@pytest.mark.parametrize("mode", MODES)
def test_bit_tests_relax_in_long_functions(mode):
    short = assembly(_long_function(10))
    assert "tbnz" in short or "tbz" in short
    n = 9000
    text = _long_function(n)
    long = assembly(text)
    assert "tbz" not in long and "tbnz" not in long and "tst x" in long
    h = build(text, mode)
    assert h.call(0, 32) == [7]
    assert h.call(0, 1) == [(n * 0x123456789) & ((1 << 64) - 1)]


@pytest.mark.parametrize("mode", MODES)
def test_many_stack_arguments_through_trampolines(mode):
    # 600 i64 parameters: the entry trampoline's outgoing area exceeds a 12-bit immediate
    k = 600
    params = ", ".join(["i64"] * k)
    args = ", ".join(f"v{i}:i64" for i in range(k))
    text = (f'function 0 "pick"({params}) -> (i64, i64) {{\nblock0({args}):\n'
            f"    v{k}:i64 = isub v{k - 1}, v8\n    return v{k}, v0\n}}\n")
    h = build(text, mode)
    vals = [i * 3 + 1 for i in range(k)]
    assert h.call(0, *vals) == [vals[-1] - vals[8], vals[0]]


def test_callee_saved_pairs_and_stack_check_covering_the_frame():
    text = assembly(SHARED.FIB)
    assert "stp x19, x20, [sp, #0]" in text and "ldp x19, x20, [sp, #0]" in text
    # fib saves two registers (16 bytes) below the x29/x30 pair (16 bytes)
    assert "sub x17, x17, #32\n  cmp x17, x16" in text


@pytest.mark.parametrize("mode", MODES)
def test_trap_pc_names_the_trapping_function(mode):
    text = """function 0 "outer"(i32) -> (i32) {
block0(v0:i32):
    v1:i32 = call fn1 v0
    return v1
}
function 1 "inner"(i32) -> (i32) {
block0(v0:i32):
    trapz integer_division_by_zero v0
    return v0
}
"""
    h = build(text, mode)
    assert h.call(0, 3) == [3]
    with pytest.raises(Trap):
        h.call(0, 0)
    assert h.machine.trap_pc != 0
    assert h.unit.function_at(h.machine.trap_pc) == 1


def test_spilled_three_address_operands_fit_the_scratch_registers():
    # csel d, a, b and madd d, x, y, z with every operand spilled: the result shares the
    # scratch register of a read-only operand (x16, x17 and x15 are the integer scratch)
    from backends.aarch64.emit import SpillMoves
    from backends.aarch64.target import TARGET
    from backends.base import RegClass
    from backends.mir import MFunction, MInst, Reg, Slot
    from backends.regalloc import Allocator
    mf = MFunction("f")
    vs = [mf.new_vreg(RegClass.INT) for _ in range(4)]
    assign = {v: Slot(i) for i, v in enumerate(vs)}
    alloc = Allocator(TARGET, SpillMoves())
    csel = MInst("csel", [Reg(vs[0]), Reg(vs[1]), Reg(vs[2]), "ne"], [vs[0]], [vs[1], vs[2]])
    out = alloc._rewrite_spilled(mf, csel, assign, 0)
    d, a, b = (o.reg for o in csel.operands[:3])
    assert {a, b} == {16, 17} and d == 15
    assert [i.op for i in out] == ["ldr", "ldr", "csel", "str"]
    madd = MInst("madd", [Reg(v) for v in vs], [vs[0]], vs[1:])
    out = alloc._rewrite_spilled(mf, madd, assign, 1)
    regs = [o.reg for o in madd.operands]
    assert set(regs[1:]) == {15, 16, 17} and regs[0] in regs[1:]
