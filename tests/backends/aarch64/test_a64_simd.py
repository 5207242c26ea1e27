"""SIMD on the aarch64 backend beyond what the 2.0/simd spec files reach: v128 values across
calls (spilled: vectors live only in caller-saved registers), passed on the stack and returned
past the result registers (from wasm, and from the host through the entry trampoline at
unaligned buffer offsets), through host functions (exit trampolines), in globals, select,
loop-carried block parameters that swap, branches on lane tests, more live vectors than
registers, clang-compiled kernels and a precompiled artifact. Every export runs on aarch64
(Unicorn) and on the interpreter, and the two must agree bit for bit; a few results are also
checked by value.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import Config, Engine, Func, FuncType, Instance, Module, Store, ValType

from a64_testlib import assembly

M128 = (1 << 128) - 1

PROGRAM = """(module
  (import "host" "mix" (func $mix (param i32 v128 f64 v128) (result v128 i32 v128)))
  (global $g (export "g") (mut v128) (v128.const i32x4 1 2 3 4))
  (memory 1)
  (data (i32.const 0) "\\01\\01\\01\\01\\01\\01\\01\\01\\01\\01\\01\\01\\01\\01\\01\\01"
    "\\01\\02\\03\\04\\05\\06\\07\\08\\09\\0a\\0b\\0c\\0d\\0e\\0f\\10"
    "\\11\\12\\13\\14\\15\\16\\17\\18\\19\\1a\\00\\00\\1d\\1e\\1f\\20")
  (func $id (param v128) (result v128) (local.get 0))
  (func (export "across_call") (param v128 v128) (result v128)
    (local $t v128)
    (local.set $t (i32x4.add (local.get 0) (local.get 1)))
    (drop (call $id (local.get 1)))
    (i32x4.mul (local.get $t) (call $id (local.get 0))))
  (func (export "select_after_call") (param v128 v128 v128) (result v128)
    (local $a v128) (local $b v128) (local $c v128)
    (local.set $a (i8x16.add (local.get 0) (local.get 1)))
    (local.set $b (i8x16.sub (local.get 1) (local.get 2)))
    (local.set $c (v128.xor (local.get 2) (local.get 0)))
    (drop (call $id (local.get 0)))
    (v128.bitselect (local.get $a) (local.get $b) (local.get $c)))
  (func $many (export "many")
        (param i32 v128 v128 v128 v128 v128 v128 v128 v128 f64 v128 v128 i32 v128)
        (result v128 v128 v128 i32 v128)
    (local.get 13) (local.get 11) (local.get 10) (local.get 12)
    (i64x2.add (local.get 1) (local.get 8)))
WIDE
  (func (export "stack_args") (param v128 v128) (result v128)
    (local $a v128) (local $b v128) (local $c v128) (local $n i32) (local $e v128)
    (call $many (i32.const 7) (local.get 0) (local.get 1) (local.get 0) (local.get 1)
                (local.get 0) (local.get 1) (local.get 0) (local.get 1) (f64.const 2.5)
                (i8x16.add (local.get 0) (local.get 1)) (v128.not (local.get 0))
                (i32.const 9) (i16x8.sub (local.get 1) (local.get 0)))
    (local.set $e) (local.set $n) (local.set $c) (local.set $b) (local.set $a)
    (v128.xor (v128.xor (local.get $a) (local.get $b))
              (v128.xor (local.get $c)
                        (i32x4.add (local.get $e) (i32x4.splat (local.get $n))))))
  (func (export "host") (param v128 v128) (result v128)
    (local $r v128) (local $n i32) (local $s v128)
    (call $mix (i32.const 3) (local.get 0) (f64.const 1.5) (local.get 1))
    (local.set $s) (local.set $n) (local.set $r)
    (i32x4.replace_lane 3 (v128.or (local.get $r) (local.get $s)) (local.get $n)))
  (func (export "globals") (param v128) (result v128)
    (global.set $g (i64x2.sub (global.get $g) (local.get 0)))
    (global.get $g))
  (func (export "select") (param v128 v128 i32) (result v128)
    (select (local.get 0) (local.get 1) (local.get 2)))
  (func (export "select_cmp") (param v128 v128 i32 i32) (result v128)
    (select (local.get 0) (local.get 1) (i32.lt_s (local.get 2) (local.get 3))))
  (func (export "swap_loop") (param v128 v128 i32) (result v128)
    (local $x v128) (local $y v128) (local $t v128)
    (local.set $x (local.get 0)) (local.set $y (local.get 1))
    (block $done
      (loop $top
        (br_if $done (i32.eqz (local.get 2)))
        (local.set $t (local.get $x))
        (local.set $x (i8x16.add (local.get $y) (local.get $x)))
        (local.set $y (local.get $t))
        (local.set 2 (i32.sub (local.get 2) (i32.const 1)))
        (br $top)))
    (v128.xor (local.get $x) (i8x16.shl (local.get $y) (i32.const 1))))
  (func (export "pressure") (param v128 i32) (result v128)
    (local $r v128)
    PRESSURE
  )
  (func (export "mem") (param i32 v128) (result v128)
    (v128.store offset=3 (local.get 0) (local.get 1))
    (v128.store16_lane offset=1 5 (local.get 0) (i16x8.splat (i32.const 0x1234)))
    (v128.load32_lane offset=8 2 (local.get 0) (v128.load offset=3 (local.get 0))))
  ;; memchr-like scans: a branch on any_true / all_true (fused into cbz/cbnz)
  (func (export "find") (param $p i32) (param $byte i32) (result i32)
    (local $needle v128)
    (local.set $needle (i8x16.splat (local.get $byte)))
    (block $found
      (loop $scan
        (br_if $found (v128.any_true (i8x16.eq (v128.load (local.get $p)) (local.get $needle))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br_if $scan (i32.lt_u (local.get $p) (i32.const 65520)))))
    (local.get $p))
  (func (export "skip") (param $p i32) (result i32)
    (loop $scan
      (if (i64x2.all_true (v128.load (local.get $p)))
        (then (local.set $p (i32.add (local.get $p) (i32.const 16))) (br $scan)))
      (if (i16x8.all_true (v128.load (local.get $p)))
        (then (local.set $p (i32.add (local.get $p) (i32.const 2))) (br $scan))))
    (local.get $p))
  (func (export "shuffle") (param v128 v128) (result v128)
    (i8x16.shuffle 0 17 2 19 4 21 6 23 31 30 29 28 3 3 3 3 (local.get 0) (local.get 1)))
)"""


def _wide(n: int = 40) -> str:
    """$wide takes n + 2 arguments (8 v128 in registers, then an f64 and n - 8 v128 on the
    stack: offsets past 256 and not multiples of 16) and returns five values (two in
    registers, three on the stack); call_wide calls it from wasm."""
    params = " ".join(["v128"] * 8 + ["f64"] + ["v128"] * (n - 8))
    args = " ".join("(f64.const 3.0)" if k == 8 else
                    f"(i32x4.add (local.get {k % 2}) (i32x4.splat (i32.const {k})))"
                    for k in range(n + 1))
    return f"""  (func $wide (export "wide") (param i32 {params})
        (result v128 v128 f64 v128 v128)
    (local.get 9) (drop) (local.get {n + 1}) (local.get {n - 3}) (f64.const 0.5)
    (local.get {n - 1}) (i64x2.add (local.get {n}) (local.get 1)))
  (func (export "call_wide") (param v128 v128) (result v128)
    (local $a v128) (local $b v128) (local $x f64) (local $c v128) (local $d v128)
    (call $wide (i32.const 1) {args})
    (local.set $d) (local.set $c) (local.set $x) (local.set $b) (local.set $a)
    (v128.xor (v128.xor (local.get $a) (local.get $b))
              (v128.xor (local.get $c) (i64x2.add (local.get $d)
                        (i64x2.splat (i64.trunc_f64_s (local.get $x)))))))"""


def _three_operand_pressure(n: int = 28) -> str:
    """n vectors live at once, combined by the instructions that read three vector registers
    (bsl for bitselect, pmin, select; tbx for a two-operand shuffle; umlal for i64x2.mul) while
    all of them stay live: operands come from spill slots at once."""
    lets = " ".join(f"(i64x2.add (local.get 0) (i64x2.splat (i64.const {k * 104729 + 1})))"
                    for k in range(n))
    sets = " ".join(f"(local.set {2 + n - 1 - k})" for k in range(n))
    acc = "(local.get 0)"
    for k in range(n):
        a, b, c = (2 + k, 2 + (k * 7 + 3) % n, 2 + (k * 11 + 5) % n)
        op = k % 5
        if op == 0:
            term = f"(v128.bitselect (local.get {a}) (local.get {b}) (local.get {c}))"
        elif op == 1:
            term = f"(f32x4.pmin (local.get {a}) (local.get {b}))"
        elif op == 2:
            term = (f"(select (local.get {a}) (local.get {b}) "
                    f"(i32x4.extract_lane 1 (local.get {c})))")
        elif op == 3:
            term = (f"(i8x16.shuffle 0 17 2 19 4 21 6 23 31 30 29 28 3 3 3 3 "
                    f"(local.get {a}) (local.get {b}))")
        else:
            term = f"(i64x2.mul (local.get {a}) (local.get {b}))"
        acc = f"(v128.xor {acc} {term})"
    keep = "(local.get 2)"
    for k in range(1, n):
        keep = f"(i32x4.add {keep} (local.get {2 + k}))"
    return (f'  (func (export "three") (param v128 i32) (result v128) '
            f"(local {' '.join(['v128'] * n)}) {lets} {sets} "
            f"(v128.xor {acc} {keep}))\n")


def _program() -> str:
    n = 30
    lets = " ".join(f"(i32x4.add (local.get 0) (i32x4.splat (i32.const {k * 7919})))"
                    for k in range(n))
    sets = " ".join(f"(local.set {3 + n - 1 - k})" for k in range(n))
    mix = "(local.get 0)"
    for k in range(n):
        op = ("i32x4.mul", "v128.xor", "i16x8.add")[k % 3]
        mix = f"({op} {mix} (local.get {3 + k}))"
    body = (f"(local {' '.join(['v128'] * n)}) {lets} {sets} (local.set $r {mix}) "
            f"(i32x4.add (local.get $r) (i32x4.splat (local.get 1)))")
    text = PROGRAM.replace("(local $r v128)\n    PRESSURE", "(local $r v128) " + body)
    text = text.replace("WIDE\n", _wide() + "\n")
    return text[:text.rindex(")")] + _three_operand_pressure() + ")"


def _host_mix(a: int, v: int, x: float, w: int):
    return ((v + a) & M128, int(x * 2), (w ^ (M128 >> 1)))


def _instance(config: Config, data: bytes | None = None):
    engine = Engine(config)
    module = Module.deserialize(engine, data) if data is not None else Module(engine, _program())
    store = Store(engine)
    ty = FuncType([ValType.i32(), ValType.v128(), ValType.f64(), ValType.v128()],
                  [ValType.v128(), ValType.i32(), ValType.v128()])
    host = Func(store, ty, _host_mix)
    return store, Instance(store, module, [host])


A = 0x0123456789ABCDEF_FEDCBA9876543210
B = 0x80000000_7FFFFFFF_00000001_FFFFFFFF
CALLS = [
    ("across_call", (A, B)), ("across_call", (B, A)),
    ("stack_args", (A, B)), ("stack_args", (B, M128)),
    ("host", (A, B)),
    ("globals", (A,)), ("globals", (B,)),
    ("select", (A, B, 1)), ("select", (A, B, 0)),
    ("swap_loop", (A, B, 0)), ("swap_loop", (A, B, 5)), ("swap_loop", (B, A, 37)),
    ("pressure", (A, 3)), ("pressure", (B, -1)),
    ("mem", (100, A)), ("mem", (65536 - 18, B)), ("mem", (65536 - 19, A)),
    ("shuffle", (A, B)),
    ("many", (5, A, B, 1, 2, 3, 4, 5, 6, 0.25, M128, 7, 8, B)),
    ("call_wide", (A, B)), ("three", (A, 0)), ("three", (B, 1)),
    ("select_after_call", (A, B, M128 // 3)),
    ("select_cmp", (A, B, -1, 0)), ("select_cmp", (A, B, 5, 0)), ("select_cmp", (A, B, 0, 0)),
    ("find", (0, 0x13)), ("find", (0, 0x01)), ("find", (0, 0xEE)), ("find", (8, 0x1E)),
    ("skip", (0,)), ("skip", (3,)),
    ("wide", (9, *range(1, 9), 0.5, *(A * k & M128 for k in range(32)))),
]


def _run(store, instance, name, args):
    try:
        return ("ok", instance.exports(store)[name](store, *args))
    except Exception as e:  # a trap must match too
        return ("error", type(e).__name__, str(e).split("\n")[0])


@pytest.fixture(scope="module")
def reference():
    store, inst = _instance(Config(strategy="interpreter"))
    return [_run(store, inst, name, args) for name, args in CALLS]


def test_aarch64_agrees_with_the_interpreter(reference):
    store, inst = _instance(Config(strategy="compiler", target="aarch64"))
    got = [_run(store, inst, name, args) for name, args in CALLS]
    for call, want, have in zip(CALLS, reference, got):
        assert have == want, call


def test_known_values(reference):
    results = dict(zip(range(len(CALLS)), reference))
    # select picks the first operand for a nonzero condition
    assert results[7] == ("ok", A) and results[8] == ("ok", B)
    # the out-of-bounds store traps on both
    assert results[15][0] == "error"
    # across_call: (a + b) * a lane-wise in i32x4
    lanes = lambda v: [(v >> (32 * i)) & 0xFFFFFFFF for i in range(4)]
    want = sum((((x + y) * x) & 0xFFFFFFFF) << (32 * i)
               for i, (x, y) in enumerate(zip(lanes(A), lanes(B))))
    assert results[0] == ("ok", want)


def test_precompiled_artifact_round_trips(reference):
    config = Config(strategy="compiler", target="aarch64")
    data = Engine(config).precompile_module(_program())
    store, inst = _instance(config, data)
    got = [_run(store, inst, name, args) for name, args in CALLS]
    assert got == reference
    assert inst.exports(store)["g"].value(store) != 0


SHAPES = """function 0 "f"(v128, v128, i32) -> (v128) {
block0(v0:v128, v1:v128, v2:i32):
    v3:v128 = i8x16.swizzle v0, v1
    v4:v128 = i16x8.q15mulr_sat_s v3, v1
    v5:v128 = i8x16.popcnt v4
    v6:v128 = i32x4.shr_s v5, v2
    v7:v128 = v128.const 0x000102030405060708090a0b0c0d0e0f
    v8:v128 = i8x16.add v6, v7
    return v8
}
"""


def test_neon_instructions_are_chosen():
    text = assembly(SHAPES)
    assert "tbl v" in text and "sqrdmulh v" in text and "cnt v" in text
    # a right shift by a register is sshl by the negated count modulo 32
    assert "sshl v" in text and "#31" in text and "neg w" in text
    # a constant movi cannot make comes from the literal pool
    assert "ldr q" in text and ".quad 283686952306183" in text


PERMUTES = """function 0 "zip"(v128, v128) -> (v128) {
block0(v0:v128, v1:v128):
    v2:v128 = i8x16.shuffle 0.1.16.17.2.3.18.19.4.5.20.21.6.7.22.23 v0, v1
    return v2
}
function 1 "ext"(v128, v128) -> (v128) {
block0(v0:v128, v1:v128):
    v2:v128 = i8x16.shuffle 29.30.31.0.1.2.3.4.5.6.7.8.9.10.11.12 v0, v1
    return v2
}
function 2 "dup"(v128, v128) -> (v128) {
block0(v0:v128, v1:v128):
    v2:v128 = i8x16.shuffle 28.29.30.31.28.29.30.31.28.29.30.31.28.29.30.31 v0, v1
    return v2
}
"""


def test_shuffles_that_are_one_permute():
    text = assembly(PERMUTES)
    assert "zip1 v" in text and ".8h" in text and "ext v" in text and "#13" in text
    assert "dup v" in text and ".s[3]" in text
    assert "tbl" not in text and "ldr q" not in text


KERNELS = Path(__file__).resolve().parents[3] / "benchmarks" / "kernels"


@pytest.mark.parametrize("kernel", ["bytecount", "saxpy", "blur16"])
def test_clang_simd_kernels_agree_with_the_interpreter(kernel):
    # C compiled by clang -msimd128 (benchmarks/kernels/simd): real compiler output
    wat = (KERNELS / f"{kernel}.wat").read_text()
    answers = []
    for config in (Config(strategy="interpreter"), Config(strategy="compiler", target="aarch64")):
        engine = Engine(config)
        store = Store(engine)
        run = Instance(store, Module(engine, wat), []).exports(store)["run"]
        answers.append(run(store, 1))
    assert answers[0] == answers[1]
