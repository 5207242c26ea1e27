"""x86_64 instruction choice and layout (x86-only: test_x86_programs.py is shared with the
other targets): frameless leaf functions, wide constants materialised once, register adds as
lea (scaled indices too), functions aligned to 16 bytes, scalar float loads folded into the
arithmetic after them."""

from __future__ import annotations

import struct

import pytest

from engine import Config, Engine, Module
from engine.compile.driver import code_for
from engine.errors import Trap, TrapCode
from support.harness import HarnessSpec

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


SCALED = """function 0 "f"(i32, i32, i64, i64) -> (i32, i64, i32, i32) {
block0(v0:i32, v1:i32, v2:i64, v3:i64):
    v4:i32 = iconst 1
    v5:i32 = ishl v1, v4
    v6:i32 = iadd v0, v5
    v7:i64 = iconst 67
    v8:i64 = ishl v3, v7
    v9:i64 = iadd v8, v2
    v10:i32 = iconst 4
    v11:i32 = ishl v1, v10
    v12:i32 = iadd v0, v11
    v13:i32 = iconst 2
    v14:i32 = ishl v0, v13
    v15:i32 = iconst 0xfffffff0
    v16:i32 = iadd v14, v15
    return v6, v9, v12, v16
}
"""


def test_an_index_shifted_by_one_to_three_and_added_is_one_scaled_lea(mode):
    """shl by 1, 2 or 3 (the i64 amount taken mod 64) used once by the add after it: the
    add's lea scales the index (a constant addend its displacement); a larger shift stays
    a shift."""
    text = assembly("x86_64", SCALED)
    assert "*2]" in text and "*8]" in text and "*4 - 16]" in text, text
    assert text.count("shl ") == 1, text
    for a, x, b, y in [(5, 7, 100, 3), (0xFFFF_FFF0, 0x8000_0001, 2**63, 2**61 + 5)]:
        assert build(SCALED, mode).call(0, a, x, b, y) == [
            (a + (x << 1)) % 2**32, (b + (y << 3)) % 2**64, (a + (x << 4)) % 2**32,
            ((a << 2) + 0xFFFF_FFF0) % 2**32]


FLOAT_LOADS = """function 0 "f"(i32, f64) -> (f64, f32) {
block0(v0:i32, v1:f64):
    heap_check mem0 offset=0 size=8 v0
    v2:f64 = load mem0 offset=0 v0
    v3:f64 = fadd v1, v2
    heap_check mem0 offset=8 size=8 v0
    v4:f64 = load mem0 offset=8 v0
    v5:f64 = fmul v4, v3
    heap_check mem0 offset=16 size=8 v0
    v6:f64 = load mem0 offset=16 v0
    v7:f64 = fsub v5, v6
    heap_check mem0 offset=24 size=8 v0
    v8:f64 = load mem0 offset=24 v0
    v9:f64 = fsub v8, v7
    heap_check mem0 offset=32 size=4 v0
    v10:f32 = load mem0 offset=32 v0
    v11:f32 = fdemote v9
    v12:f32 = fdiv v11, v10
    return v9, v12
}
"""


def test_float_loads_fold_into_the_next_arithmetic(mode):
    text = assembly("x86_64", FLOAT_LOADS)
    # fadd (load on the right), fmul (load on the left, commutative) and fsub with the load
    # on the right take the memory operand; fsub with the load on the left keeps its load;
    # the f32 load after fdemote is not next to its fdiv
    assert "addsd xmm0, qword ptr [r14 + rdi*1]" in text
    assert "mulsd " in text and "qword ptr [r14 + rdi*1 + 8]" in text.split("mulsd", 1)[1]
    assert "subsd xmm0, qword ptr [r14 + rdi*1 + 16]" in text
    assert text.count("movsd") >= 1 and "subsd" in text
    assert sum(line.strip().startswith(("addsd", "mulsd", "subsd")) and "ptr" in line
               for line in text.splitlines()) == 3
    h = build(FLOAT_LOADS, mode, HarnessSpec(memory=(1, 1)))
    vals = [1.5, -2.25, 0.125, 10.0]
    h.write_memory(64, struct.pack("<4d", *vals) + struct.pack("<f", 3.0))
    t = ((0.5 + vals[0]) * vals[1]) - vals[2]
    want = vals[3] - t
    half = struct.unpack("<Q", struct.pack("<d", 0.5))[0]       # the harness passes bits
    got = h.call(0, 64, half)
    assert struct.unpack("<d", struct.pack("<Q", got[0]))[0] == want
    want32 = struct.unpack("<f", struct.pack("<f", want))[0] / 3.0
    assert struct.unpack("<f", struct.pack("<I", got[1]))[0] == pytest.approx(want32)
    with pytest.raises(Trap) as e:
        h.call(0, 65536 - 4, half)     # the first folded access is out of bounds
    assert e.value.trap_code == TrapCode.MEMORY_OUT_OF_BOUNDS


COUNTDOWN = """function 0 "f"(i32, i64) -> (i64) {
block0(v0:i32, v1:i64):
    v2:i64 = iconst 0
    jump block1(v0, v2)
block1(v3:i32, v4:i64):
    v5:i64 = iadd v4, v1
    v6:i32 = iconst 1
    v7:i32 = isub v3, v6
    brif v7, block1(v7, v5), block2
block2:
    v8:i64 = iconst 255
    v9:i64 = band v5, v8
    brif v9, block3, block4
block3:
    return v5
block4:
    v10:i64 = iconst 7
    return v10
}
"""


def test_branch_on_an_alu_result_reads_its_flags(mode):
    text = assembly("x86_64", COUNTDOWN)
    # the counter's sub and the mask's and set ZF: no test before either branch
    assert "test" not in text, text
    assert "\n  sub " in text or "\n  add " in text, text
    assert "\n  and " in text
    h = build(COUNTDOWN, mode)
    assert h.call(0, 3, 5) == [15]
    assert h.call(0, 1, 2**63) == [7]          # low byte 0: the second branch goes to block4
    assert h.call(0, 256, 1) == [7]
    assert h.call(0, 2, 0x101) == [0x202]


KEPT_OPERANDS = """function 0 "f"(f64, f64) -> (f64, f64, f64) {
block0(v0:f64, v1:f64):
    v2:f64 = fmul v0, v1
    v3:f64 = fsub v0, v2
    v4:f64 = fdiv v1, v3
    v5:f64 = fadd v1, v1
    return v3, v4, v5
}
"""


def test_a_copy_that_keeps_an_operand_folds_into_the_avx_form(mode) -> None:
    """With AVX, a register copy that feeds the next float operation's destination (the
    two-operand SSE form overwrites it) becomes the operation's three-operand VEX form;
    without AVX the copy stays. The code computes the same (natively the host's AVX forms,
    under Unicorn the SSE ones)."""
    from backends.x86_64 import X86_64Backend
    from backends.x86_64.emit import vex_forms
    from engine.environ.module_info import ModuleInfo
    from engine.environ.vmctx import VMOffsets
    from engine.ir.parser import parse_functions
    assert vex_forms(["  movaps xmm3, xmm2", "  mulsd xmm3, qword ptr [r14 + rcx]",
                      "  movaps xmm4, xmm1", "  subpd xmm4, xmm4", "  movaps xmm5, xmm1",
                      "lbl:", "  addsd xmm5, xmm0", "  movaps xmm6, xmm1",
                      "  sqrtsd xmm6, xmm6"]) == \
        ["  vmulsd xmm3, xmm2, qword ptr [r14 + rcx]", "  vsubpd xmm4, xmm1, xmm1",
         "  movaps xmm5, xmm1", "lbl:", "  addsd xmm5, xmm0", "  movaps xmm6, xmm1",
         "  sqrtsd xmm6, xmm6"]
    funcs = parse_functions(KEPT_OPERANDS)
    info = ModuleInfo(VMOffsets(1, 0, 0, 0, 0), [(tuple(f.params), tuple(f.results))
                                                 for f in funcs])
    plain = "\n".join(X86_64Backend(frozenset()).compile_function(funcs[0], info))
    vex = "\n".join(X86_64Backend(frozenset({"avx"})).compile_function(funcs[0], info))
    assert "movaps" in plain and not any(line.strip().startswith("v")
                                         for line in plain.splitlines())
    assert vex.count("movaps") < plain.count("movaps")
    assert any(line.strip().startswith(("vmulsd", "vsubsd", "vdivsd", "vaddsd"))
               for line in vex.splitlines())

    def bits(x: float) -> int:
        return struct.unpack("<Q", struct.pack("<d", x))[0]
    a, b = 1.75, -3.5
    got = build(KEPT_OPERANDS, mode).call(0, bits(a), bits(b))
    v3 = a - a * b
    assert [struct.unpack("<d", struct.pack("<Q", g))[0] for g in got] == [v3, b / v3, b + b]


_EXTEND_HIGH = [("u8", "i16x8.extend_high_i8x16_u", "punpckhbw"),
                ("s8", "i16x8.extend_high_i8x16_s", "punpckhbw"),
                ("u16", "i32x4.extend_high_i16x8_u", "punpckhwd"),
                ("s16", "i32x4.extend_high_i16x8_s", "punpckhwd"),
                ("u32", "i64x2.extend_high_i32x4_u", "punpckhdq"),
                ("s32", "i64x2.extend_high_i32x4_s", None)]


def _lanes(v: int, bits: int) -> list[int]:
    return [(v >> (bits * k)) & ((1 << bits) - 1) for k in range(128 // bits)]


def _signed(x: int, bits: int) -> int:
    return x - (1 << bits) if x >> (bits - 1) else x


@pytest.mark.parametrize("emulate", [False, True], ids=["native", "emulated"])
def test_extending_the_high_half_is_one_unpack(emulate) -> None:
    """extend_high: the high lanes interleaved with zeros (unsigned) or with themselves and
    shifted down with the sign (signed, 8 and 16 bits), one shuffle each, not a pshufd before
    the pmovzx/pmovsx; i64x2's signed form keeps that (no 64-bit arithmetic shift before
    AVX-512). Values checked lane by lane, natively and under Unicorn."""
    from engine import Instance, Store
    from engine.compile.driver import function_ir
    from backends.x86_64 import X86_64Backend
    wat = "(module " + " ".join(f'(func (export "{n}") (param v128) (result v128) '
                                 f'({op} (local.get 0)))' for n, op, _ in _EXTEND_HIGH) + ")"
    engine = Engine(Config(target="x86_64", emulate=emulate))
    module = Module(engine, wat)
    backend = X86_64Backend(frozenset({"sse4.1"}))
    for k, (name, _, unpack) in enumerate(_EXTEND_HIGH):
        text = "\n".join(backend.compile_function(function_ir(module.wasm_module, k),
                                                  module.info))
        if unpack is not None:
            assert unpack in text and "pshufd" not in text, name
        else:
            assert "pshufd" in text and "pmovsxdq" in text
    store = Store(engine)
    ex = Instance(store, module, []).exports(store)
    v = int.from_bytes(bytes([0x00, 0x7F, 0x80, 0xFF, 0x01, 0xFE, 0x55, 0xAA,
                              0x81, 0x7E, 0xC3, 0x3C, 0xF0, 0x0F, 0x99, 0x66]), "little")
    for name, _, _ in _EXTEND_HIGH:
        narrow = {"8": 8, "16": 16, "32": 32}[name[1:]]
        high = _lanes(v, narrow)[128 // narrow // 2:]
        want = [_signed(x, narrow) if name[0] == "s" else x for x in high]
        got = [_signed(x, 2 * narrow) for x in _lanes(ex[name](store, v), 2 * narrow)]
        assert got == want, name


@pytest.mark.parametrize("emulate", [False, True], ids=["native", "emulated"])
def test_extmul_high_of_bytes_widens_by_unpacking(emulate) -> None:
    """i16x8.extmul_high_i8x16: both high halves widened as extend_high does (no pshufd),
    then multiplied; values checked lane by lane."""
    from engine import Instance, Store
    from engine.compile.driver import function_ir
    from backends.x86_64 import X86_64Backend
    wat = """(module
      (func (export "s") (param v128 v128) (result v128)
        (i16x8.extmul_high_i8x16_s (local.get 0) (local.get 1)))
      (func (export "u") (param v128 v128) (result v128)
        (i16x8.extmul_high_i8x16_u (local.get 0) (local.get 1))))"""
    engine = Engine(Config(target="x86_64", emulate=emulate))
    module = Module(engine, wat)
    backend = X86_64Backend(frozenset({"sse4.1"}))
    for k in range(2):
        text = "\n".join(backend.compile_function(function_ir(module.wasm_module, k),
                                                  module.info))
        assert "punpckhbw" in text and "pshufd" not in text and "pmullw" in text
    store = Store(engine)
    ex = Instance(store, module, []).exports(store)
    a = int.from_bytes(bytes([*range(0x70, 0x78), 0x80, 0xF0, 0x7F, 0x01, 0xC8, 0x33, 0xFE,
                              0x9A]), "little")
    b = int.from_bytes(bytes([0xFF, 0x80, 0x7F, 0x02] * 4), "little")
    for name in ("s", "u"):
        fa, fb = _lanes(a, 8)[8:], _lanes(b, 8)[8:]
        if name == "s":
            fa, fb = [_signed(x, 8) for x in fa], [_signed(x, 8) for x in fb]
        want = [(x * y) & 0xFFFF for x, y in zip(fa, fb)]
        assert _lanes(ex[name](store, a, b), 16) == want, name
