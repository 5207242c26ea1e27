"""v128 through the machine-code ABI on every executor with SIMD: stack-passed parameters and
results, many values live across calls (16-byte spills), host functions (exit trampolines),
call_indirect, globals shared between instances, select, block parameters, artifacts; each
answer checked against values computed here and against the interpreter; fuel charged for
SIMD operators as wasmtime charges it."""

from __future__ import annotations

import pytest
import wasmtime

import engine as E
from backends.x86_64 import X86_64Backend

M128 = (1 << 128) - 1
V128 = E.ValType.v128()
I32 = E.ValType.i32()

#: executors whose backend has SIMD (the SIMD spec suite runs the same list)
CONFIGS = {
    "interpreter": {"strategy": "interpreter"},
    "x86_64": {"strategy": "compiler", "target": "x86_64"},
    "x86_64-emulated": {"strategy": "compiler", "target": "x86_64", "emulate": True},
    "aarch64": {"strategy": "compiler", "target": "aarch64"},
}

_N = 12         # more v128 parameters than there are xmm argument registers

_PARAMS = " ".join(["v128"] * _N)
_SUM = " ".join(f"(local.get {i})" for i in range(_N))
_WAT = f"""(module
  (type $vv (func (param v128) (result v128)))
  (import "host" "twist" (func $twist (param v128 i32) (result v128 i32)))
  (global $g (import "host" "g") (mut v128))
  (table 2 funcref)
  (elem (i32.const 0) $rot $twice)
  (func $rot (type $vv) (i8x16.shuffle 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 0
                           (local.get 0) (local.get 0)))
  (func $twice (type $vv) (i16x8.add (local.get 0) (local.get 0)))
  ;; many parameters: the last ones travel on the stack
  (func $mix (export "mix") (param {_PARAMS}) (result v128)
    (local $acc v128) (local $i i32)
    {"".join(f"(local.set $acc (v128.xor (i64x2.mul (local.get $acc) (v128.const i64x2 3 5)) (local.get {i})))" for i in range(_N))}
    (local.get $acc))
  ;; many results: the ones past xmm0/xmm1 come back on the stack
  (func $spread (export "spread") (param v128) (result v128 v128 v128 v128 i32)
    (local.get 0) (i32x4.neg (local.get 0)) (v128.not (local.get 0))
    (i64x2.shl (local.get 0) (i32.const 3)) (i32x4.extract_lane 3 (local.get 0)))
  ;; values live across calls of every kind: spilled in 16-byte slots
  (func (export "pressure") (param v128 v128) (result v128)
    (local $r v128) (local $k i32) {" ".join(f"(local $t{i} v128)" for i in range(20))}
    {" ".join(f"(local.set $t{i} (i32x4.add (local.get {i % 2}) (v128.const i32x4 {i} {i * 7} {i * 13} {-i})))" for i in range(20))}
    (call $twist (local.get 0) (i32.const 7))
    (local.set $k)
    (local.set $r)
    (local.set $r (i8x16.add (local.get $r) (call_indirect (type $vv) (local.get 1) (i32.const 0))))
    (local.set $r (i8x16.add (local.get $r) (call_indirect (type $vv) (local.get 1) (i32.const 1))))
    (local.set $r (i32x4.add (local.get $r) (call $mix {" ".join(f"(local.get $t{i})" for i in range(_N))})))
    {" ".join(f"(local.set $r (v128.xor (local.get $r) (local.get $t{i})))" for i in range(20))}
    (global.set $g (local.get $r))
    (i32x4.replace_lane 0 (local.get $r) (local.get $k)))
  ;; select and block parameters of type v128 in a loop
  (func (export "loop") (param v128 i32) (result v128)
    (local.get 0)
    (loop $l (param v128) (result v128)
      (i16x8.add (v128.const i16x8 1 2 3 4 5 6 7 8))
      (local.tee 1 (i32.sub (local.get 1) (i32.const 1)))
      (br_if $l)
    )
    (local.set 0)
    (select (local.get 0) (global.get $g)
            (i32.and (i32x4.extract_lane 0 (local.get 0)) (i32.const 1))))
)"""


def _instance(name: str):
    eng = E.Engine(E.Config(**CONFIGS[name]))
    store = E.Store(eng)
    g = E.Global(store, E.GlobalType(V128, True), 0x1234)

    def twist(v, k):
        return [(v ^ (k << 64)) & M128, k + 1]

    host = E.Func(store, E.FuncType([V128, I32], [V128, I32]), twist)
    inst = E.Instance(store, E.Module(eng, _WAT), [host, g])
    return store, inst.exports(store), g


def _run(name: str) -> list:
    store, ex, g = _instance(name)
    args = [(0x0123456789ABCDEF << 64 | 0xFEDCBA9876543210) * (i + 1) & M128 for i in range(_N)]
    out = [ex["mix"](store, *args)]
    out.append(list(ex["spread"](store, args[1])))
    out.append(ex["pressure"](store, args[2], args[3]))
    out.append(g.value(store))
    out.append(ex["loop"](store, args[4], 5))
    out.append(ex["loop"](store, args[5], 1))
    return out


def _lanes(v: int, bits: int) -> list[int]:
    return [(v >> i) & ((1 << bits) - 1) for i in range(0, 128, bits)]


def test_interpreter_values():
    out = _run("interpreter")
    x = (0x0123456789ABCDEF << 64 | 0xFEDCBA9876543210) * 2 & M128
    v, neg, inv, shl, lane3 = out[1]
    assert v == x and inv == x ^ M128 and lane3 == _lanes(x, 32)[3]
    assert _lanes(neg, 32) == [(-a) & 0xFFFFFFFF for a in _lanes(x, 32)]
    assert _lanes(shl, 64) == [(a << 3) & (2**64 - 1) for a in _lanes(x, 64)]
    assert out[3] != 0x1234                 # pressure stored its result in the global


@pytest.mark.parametrize("name", ["x86_64", "x86_64-emulated", "aarch64"])
def test_machine_code_matches_interpreter(name):
    assert _run(name) == _run("interpreter")


def test_precompiled_artifact_carries_simd_code():
    eng = E.Engine(E.Config(**CONFIGS["x86_64"]))
    data = eng.precompile_module(_WAT)
    store = E.Store(eng)
    module = E.Module.deserialize(eng, data)
    host = E.Func(store, E.FuncType([V128, I32], [V128, I32]), lambda v, k: [v, k])
    glob = E.Global(store, E.GlobalType(V128, True), 0)
    ex = E.Instance(store, module, [host, glob]).exports(store)
    assert ex["spread"](store, 5)[3] == 40


def test_x86_64_without_sse41_refuses_simd():
    assert X86_64Backend(frozenset({"popcnt"})).simd_missing() == \
        "SIMD (v128) on x86_64 without SSE4.1"
    assert X86_64Backend(frozenset({"sse4.1"})).simd_missing() is None


_FUEL_WAT = """(module (memory 1)
  (func (export "f") (param i32) (result i32) (local v128)
    (loop $l
      (local.set 1 (i32x4.add (local.get 1) (v128.load (i32.const 16))))
      (v128.store (i32.const 32) (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15
                                   (local.get 1) (local.get 1)))
      (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    (i32x4.extract_lane 0 (local.get 1))))"""


@pytest.mark.parametrize("name", list(CONFIGS))
def test_simd_operators_cost_the_fuel_wasmtime_charges(name):
    wconfig = wasmtime.Config()
    wconfig.consume_fuel = True
    weng = wasmtime.Engine(wconfig)
    wstore = wasmtime.Store(weng)
    wstore.set_fuel(10_000)
    winst = wasmtime.Instance(wstore, wasmtime.Module(weng, _FUEL_WAT), [])
    assert winst.exports(wstore)["f"](wstore, 7) == 0
    eng = E.Engine(E.Config(consume_fuel=True, **CONFIGS[name]))
    store = E.Store(eng)
    store.set_fuel(10_000)
    inst = E.Instance(store, E.Module(eng, _FUEL_WAT), [])
    assert inst.exports(store)["f"](store, 7) == 0
    assert store.get_fuel() == wstore.get_fuel() < 10_000
