"""Whole programs through the riscv64 backend: the target-independent program tests of
tests/backends/x86_64/test_x86_programs.py (loops, swapping block parameters, br_table, calls
with stack arguments and results, recursion and stack overflow, memory bounds and growth,
large offsets, constants, globals, call_indirect checks, host calls, traps, spills, fuel, epochs) run with their `build`
compiling for riscv64, plus riscv64-specific cases (immediates, fused branches, misaligned
accesses, large frames, jump tables)."""

from __future__ import annotations

import struct

import pytest

from support.harness import HarnessSpec, HostFunc
from engine.wasm.types import ValType

from target_testlib import program_tests, shared_programs

from .rv_testlib import MODES, assembly, build

SHARED, SHARED_TESTS = shared_programs("riscv64", build)
test_shared_programs_found, test_shared_program = program_tests(SHARED, SHARED_TESTS, MODES)


FORMS = """function 0 "addi"(i32) -> (i32) {
block0(v0:i32):
    v1:i32 = iconst 2047
    v2:i32 = iadd v0, v1
    return v2
}
function 1 "subi"(i64) -> (i64) {
block0(v0:i64):
    v1:i64 = iconst 2048
    v2:i64 = isub v0, v1
    return v2
}
function 2 "branch"(i32, i32) -> (i32) {
block0(v0:i32, v1:i32):
    v2:i32 = icmp ugt v0, v1
    brif v2, block1, block2
block1:
    v3:i32 = iconst 1
    return v3
block2:
    v4:i32 = iconst 0
    return v4
}
function 3 "sltiu"(i32) -> (i32) {
block0(v0:i32):
    v1:i32 = iconst 0xfffffffb
    v2:i32 = icmp ult v0, v1
    return v2
}
function 4 "rotl_k"(i32) -> (i32) {
block0(v0:i32):
    v1:i32 = iconst 36
    v2:i32 = rotl v0, v1
    return v2
}
function 5 "wrap_add"(i64, i64) -> (i32) {
block0(v0:i64, v1:i64):
    v2:i32 = ireduce v0
    v3:i32 = ireduce v1
    v4:i32 = iadd v2, v3
    return v4
}
"""


def test_immediates_and_fused_branches_are_chosen():
    text = assembly(FORMS)
    # leaves without calls, spills or stack values need no frame (nor a stack check)
    assert "sd ra" not in text and "ld t5, 8(s11)" not in text
    assert "addiw a0, a0, 2047" in text
    # 2048 is not a 12-bit immediate, but -2048 is
    assert "addi a0, a0, -2048" in text
    # ugt fused into the branch (inverted to fall through into the taken block): no sltu
    branch = text.split("func2:")[1].split("func3:")[0]
    assert "bgeu a1, a0, func2_b2" in branch and "sltu" not in branch
    assert "sltiu a0, a0, -5" in text
    assert "addw" in text


@pytest.mark.parametrize("mode", MODES)
def test_forms_compute(mode):
    h = build(FORMS, mode)
    assert h.call(0, 0xFFFFFFFF) == [2046]
    assert h.call(0, 0x7FFFFFFF) == [(0x7FFFFFFF + 2047) & 0xFFFFFFFF]
    assert h.call(1, 5) == [(5 - 2048) & ((1 << 64) - 1)]
    assert h.call(2, 0x80000000, 1) == [1]  # unsigned order of sign-extended i32 values
    assert h.call(2, 1, 0x80000000) == [0]
    assert h.call(2, 7, 7) == [0]
    assert h.call(3, 0xFFFFFFFA) == [1]
    assert h.call(3, 0xFFFFFFFB) == [0]
    assert h.call(3, 0x80000000) == [1]
    assert h.call(4, 0x80000001) == [0x18]
    assert h.call(5, 0x7FFFFFFF, 1) == [0x80000000]
    assert h.call(5, 0xFFFFFFFF_00000005, 0x1_FFFFFFFF) == [4]


MISALIGNED = """function 0 "rw"(i32, i64) -> (i64) {
block0(v0:i32, v1:i64):
    heap_check mem0 offset=1 size=8 v0
    store mem0 offset=1 v0, v1
    v2:i64 = load mem0 offset=1 v0
    heap_check mem0 offset=2 size=4 v0
    v3:i32 = load mem0 offset=2 v0
    v4:i64 = sextend v3
    heap_check mem0 offset=1 size=2 v0
    v5:i32 = sload16 mem0 offset=1 v0
    v6:i64 = sextend v5
    v7:i64 = iadd v2, v4
    v8:i64 = iadd v7, v6
    return v8
}
function 1 "f"(i32, f64) -> (f64) {
block0(v0:i32, v1:f64):
    heap_check mem0 offset=0 size=8 v0
    store mem0 offset=0 v0, v1
    v2:f64 = load mem0 offset=0 v0
    return v2
}
function 2 "f32"(i32, f32) -> (f32) {
block0(v0:i32, v1:f32):
    heap_check mem0 offset=0 size=4 v0
    store mem0 offset=0 v0, v1
    v2:f32 = load mem0 offset=0 v0
    return v2
}
"""


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("base", [0, 1, 2, 3, 5, 6, 7, 8])
def test_misaligned_accesses_give_the_right_values(mode, base):
    h = build(MISALIGNED, mode, HarnessSpec(memory=(1, 1)))
    v = 0x8877665544332211
    got = h.call(0, base, v)[0]
    m = (1 << 64) - 1
    w32 = struct.unpack("<i", struct.pack("<Q", v)[1:5])[0]
    w16 = struct.unpack("<h", struct.pack("<Q", v)[0:2])[0]
    assert got == (v + w32 + w16) & m
    assert h.read_memory(base + 1, 8) == struct.pack("<Q", v)
    bits = struct.unpack("<Q", struct.pack("<d", -1.25e-300))[0]
    assert h.call(1, base, bits) == [bits]
    assert h.read_memory(base, 8) == struct.pack("<Q", bits)
    assert h.call(2, base, 0xFFC12345) == [0xFFC12345]  # a NaN payload survives


def test_misaligned_path_is_byte_wise():
    text = assembly(MISALIGNED)
    body = text.split("func1:")[0]
    assert "lbu" in body and "sb " in body and "andi t5" in body


@pytest.mark.parametrize("mode", MODES)
def test_values_live_across_calls_and_large_frames(mode):
    # 300 float and 300 int values live across a call: callee-saved registers, then spill slots
    # beyond the 12-bit s0-relative offset range
    n = 300
    lines = ["    v1:i64 = bitcast v0"]
    for i in range(n):
        fbits = struct.unpack("<Q", struct.pack("<d", i + 0.5))[0]
        lines += [f"    v{1000 + i}:f64 = fconst {fbits:#x}",
                  f"    v{2000 + i}:f64 = fadd v0, v{1000 + i}",
                  f"    v{3000 + i}:i64 = iconst {i * 7 + 1}",
                  f"    v{4000 + i}:i64 = iadd v1, v{3000 + i}"]
    lines.append("    v5000:f64 = call fn1 v0")
    lines.append("    v6000:i64 = iconst 0")
    for i in range(n):
        lines += [f"    v{5001 + i}:f64 = fadd v{5000 + i}, v{2000 + i}",
                  f"    v{6001 + i}:i64 = iadd v{6000 + i}, v{4000 + i}"]
    lines += [f"    v7000:f64 = bitcast v{6000 + n}", f"    v7001:f64 = fadd v{5000 + n}, v7000"]
    text = ('function 0 "f"(f64) -> (f64) {\nblock0(v0:f64):\n' + "\n".join(lines)
            + "\n    return v7001\n}\n"
            + 'function 1 "id"(f64) -> (f64) {\nblock0(v0:f64):\n    return v0\n}\n')
    h = build(text, mode)
    x = 2.0
    xb = struct.unpack("<Q", struct.pack("<d", x))[0]
    got = h.call(0, xb)[0]
    fsum = x
    for i in range(n):
        fsum += x + i + 0.5
    isum = sum(xb + i * 7 + 1 for i in range(n)) & ((1 << 64) - 1)
    want = fsum + struct.unpack("<d", struct.pack("<Q", isum))[0]
    assert struct.unpack("<d", struct.pack("<Q", got))[0] == want
    assert "li t6, -" in assembly(text)  # a spill slot beyond -2048(s0)


def _br_table_text(n: int) -> str:
    blocks = [f"block{k + 1}:\n    v{100 + k}:i32 = iconst {k * 11 + 3}\n"
              f"    jump block{n + 2}(v{100 + k})" for k in range(n + 1)]
    targets = ", ".join(f"block{k + 1}" for k in range(n))
    return (f'function 0 "sw"(i32) -> (i32) {{\nblock0(v0:i32):\n'
            f"    br_table v0, [{targets}], block{n + 1}\n"
            + "\n".join(blocks)
            + f"\nblock{n + 2}(v1:i32):\n    return v1\n}}\n")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n", [1, 3, 4, 17])
def test_br_table_tree_and_jump_table(mode, n):
    text = _br_table_text(n)
    assert ("jr t6" in assembly(text)) == (n >= 4)
    h = build(text, mode)
    for i in [*range(n + 2), 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]:
        want = min(i, n) * 11 + 3  # the last target is the default
        assert h.call(0, i) == [want], i


@pytest.mark.parametrize("mode", MODES)
def test_hundreds_of_arguments_and_results(mode):
    # stack-argument and buffer offsets beyond 12-bit displacements in the trampolines, through
    # a call between wasm functions and a host function
    n = 300
    params = ", ".join(["i64", "f64"] * (n // 2))
    args = ", ".join(f"v{i}" for i in range(n))
    typed = ", ".join(f"v{i}:{'i64' if i % 2 == 0 else 'f64'}" for i in range(n))
    # v1001 = v0, then v(1001 + i) = v(1001 + i - 2) + vi over the i64 parameters
    sums = ["    v1000:i64 = iconst 0", "    v1001:i64 = iadd v1000, v0"]
    sums += [f"    v{1001 + i}:i64 = iadd v{999 + i}, v{i}" for i in range(2, n, 2)]
    last = 1001 + n - 2
    text = (f'function 1 "many"({params}) -> (i64, f64, i64, i64, i64) {{\n'
            f"block0({typed}):\n" + "\n".join(sums)
            + f"\n    v2000:i64 = call fn0 {args}\n"
            f"    return v{last}, v{n - 1}, v2000, v{n - 2}, v0\n}}\n"
            f'function 2 "caller"({params}) -> (i64, f64, i64, i64, i64) {{\n'
            f"block0({typed}):\n    v3000:i64, v3001:f64, v3002:i64, v3003:i64, v3004:i64 = "
            f"call fn1 {args}\n    return v3000, v3001, v3002, v3003, v3004\n}}\n")
    host = HostFunc(tuple(ValType.I64 if i % 2 == 0 else ValType.F64 for i in range(n)),
                    (ValType.I64,), lambda *a: [sum(a[0::2]) * 2 & ((1 << 64) - 1)])
    h = build(text, mode, HarnessSpec(host_funcs=[host]))
    vals = [i * 3 + 1 if i % 2 == 0 else struct.unpack("<Q", struct.pack("<d", i / 2))[0]
            for i in range(n)]
    s = sum(vals[0::2])
    assert h.call(2, *vals) == [s, vals[n - 1], 2 * s, vals[n - 2], vals[0]]


SELECTS = """function 0 "fsel"(i64, i64, f64, f64) -> (f64) {
block0(v0:i64, v1:i64, v2:f64, v3:f64):
    v4:i32 = icmp slt v0, v1
    v5:f64 = select v4, v2, v3
    return v5
}
function 1 "isel_zero"(i32, i64, i64) -> (i64) {
block0(v0:i32, v1:i64, v2:i64):
    v3:i32 = iconst 0
    v4:i32 = icmp sgt v0, v3
    v5:i64 = select v4, v1, v2
    return v5
}
function 2 "isel_reg"(i32, i32, i64, i64) -> (i64) {
block0(v0:i32, v1:i32, v2:i64, v3:i64):
    v4:i32 = icmp uge v0, v1
    v5:i64 = select v4, v2, v3
    return v5
}
"""


def test_selects_fuse_their_compares():
    text = assembly(SELECTS)
    assert "slt" not in text.split("func2:")[0]   # fused into branches over a move
    assert "sltu" in text.split("func2:")[1]      # four integer registers: not fused


@pytest.mark.parametrize("mode", MODES)
def test_selects_compute(mode):
    h = build(SELECTS, mode)
    m = (1 << 64) - 1
    one, two = (struct.unpack("<Q", struct.pack("<d", x))[0] for x in (1.0, 2.0))
    assert h.call(0, m, 0, one, two) == [one]      # -1 < 0
    assert h.call(0, 0, m, one, two) == [two]
    assert h.call(1, 5, 10, 20) == [10]
    assert h.call(1, 0x80000000, 10, 20) == [20]   # negative i32
    assert h.call(1, 0, 10, 20) == [20]
    assert h.call(2, 0x80000000, 1, 10, 20) == [10]
    assert h.call(2, 1, 0x80000000, 10, 20) == [20]
