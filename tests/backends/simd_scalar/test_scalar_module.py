"""The legalisation inside whole modules: v128 block parameters through loops and branches,
select, calls and call_indirect, globals, host functions and the entry/exit trampolines, run on
riscv64 (emulated) through the API and compared with the interpreter."""

from __future__ import annotations

import engine
from backends.simd_scalar import legalise_function
from engine.ir.builder import build_module
from engine.ir.ir import V128
from engine.ir.verifier import verify

WAT = r"""
(module
  (type $vv (func (param v128) (result v128)))
  (import "host" "twist" (func $twist (param v128 i32) (result v128 i32)))
  (global $g (mut v128) (v128.const i32x4 1 2 3 4))
  (global $k v128 (v128.const i64x2 -1 7))
  (global (export "gx") (mut v128) (v128.const i8x16 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15))
  (table 2 funcref)
  (elem (i32.const 0) $double $negate)
  (memory 1)
  (func $double (type $vv) (i32x4.add (local.get 0) (local.get 0)))
  (func $negate (type $vv) (i32x4.neg (local.get 0)))
  ;; sum of i32x4 lanes over n steps, a v128 loop-carried value
  (func (export "loop") (param $v v128) (param $n i32) (result v128)
    (local $acc v128)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $acc (i32x4.add (local.get $acc) (local.get $v)))
        (local.set $v (i32x4.shl (local.get $v) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $acc))
  (func (export "pick") (param v128 v128 i32) (result v128)
    (select (local.get 0) (local.get 1) (local.get 2)))
  (func (export "branch") (param v128 i32) (result v128)
    (block $b (result v128)
      (block $a (result v128)
        (br_table $a $b (i8x16.abs (local.get 0)) (local.get 1)))
      (i8x16.popcnt)))
  (func (export "calls") (param v128 i32) (result v128)
    (call_indirect (type $vv) (call $double (local.get 0)) (local.get 1)))
  (func (export "host") (param v128 i32) (result v128 i32)
    (call $twist (local.get 0) (local.get 1)))
  (func (export "globals") (param v128) (result v128)
    (global.set $g (v128.xor (global.get $g) (local.get 0)))
    (i64x2.add (global.get $g) (global.get $k)))
  (func (export "mem") (param i32 v128) (result v128)
    (v128.store offset=3 (local.get 0) (local.get 1))
    (v128.load8_lane offset=1 7 (local.get 0) (v128.load offset=3 (local.get 0))))
  (func (export "many") (param v128 v128 v128 v128 v128 f64 v128 i64 v128) (result v128 v128 v128)
    (local.get 8) (local.get 6) (i64x2.add (local.get 0) (local.get 4)))
)
"""

V = [0, (1 << 128) - 1, 0x0123_4567_89AB_CDEF_FEDC_BA98_7654_3210, 1 << 127,
     0x8080_7F7F_0001_FFFF_8000_0000_7FFF_FFFF]


def _twist(v: int, k: int):
    return ((v << 8) | (v >> 120)) & ((1 << 128) - 1), (k * 3) & 0xFFFF_FFFF


def _instance(settings: dict):
    eng = engine.Engine(engine.Config(**settings))
    store = engine.Store(eng)
    module = engine.Module(eng, WAT)
    twist = engine.Func(store, engine.FuncType([engine.ValType.v128(), engine.ValType.i32()],
                                               [engine.ValType.v128(), engine.ValType.i32()]),
                        _twist)
    return store, engine.Instance(store, module, [twist])


CALLS = [("loop", (v, n)) for v in V for n in (0, 1, 5)] + \
        [("pick", (a, b, c)) for a in V[:3] for b in V[2:] for c in (0, 1)] + \
        [("branch", (v, i)) for v in V for i in (0, 1, 2)] + \
        [("calls", (v, i)) for v in V for i in (0, 1)] + \
        [("host", (v, 5)) for v in V] + \
        [("globals", (v,)) for v in V] + \
        [("mem", (a, v)) for a in (0, 17, 65515, 65525) for v in V[1:3]] + \
        [("many", (*V, 1.5, V[0], 9, V[1]))]


def _run(settings: dict) -> list:
    store, inst = _instance(settings)
    out = []
    for name, args in CALLS:
        try:
            out.append(inst.exports(store)[name](store, *args))
        except engine.Trap as t:
            out.append(("trap", t.trap_code))
    out.append(inst.exports(store)["gx"].value(store))
    return out


def test_legalised_ir_verifies() -> None:
    wasm = engine.Module(engine.Engine(), WAT).wasm_module
    for f in build_module(wasm):
        legal = legalise_function(f)
        assert V128 not in legal.value_types
        if not any(i.opcode.value.startswith("global") for b in legal.blocks for i in b.insts):
            verify(legal)


def test_riscv64_matches_interpreter() -> None:
    want = _run({"strategy": "interpreter"})
    got = _run({"strategy": "compiler", "target": "riscv64"})
    assert got == want
    assert any(isinstance(x, tuple) and x and x[0] == "trap" for x in want)   # mem at 65000
