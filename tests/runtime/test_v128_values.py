"""v128 across the API: parameters, results, globals and host functions as Python ints
(lane 0 in the low bits), range checks, and the clear refusal of a backend without SIMD."""

from __future__ import annotations

import pytest

import engine as E

M128 = (1 << 128) - 1
V128 = E.ValType.v128()

_WAT = """(module
  (global $g (import "m" "g") (mut v128))
  (func $host (import "m" "h") (param v128) (result v128))
  (global (export "k") v128 (v128.const i16x8 1 2 3 4 5 6 7 -1))
  (func (export "add_g") (param v128 v128) (result v128 i32)
    local.get 0 global.get $g i8x16.add local.get 1 i32x4.extract_lane 1)
  (func (export "via_host") (param v128) (result v128)
    (i32x4.add (call $host (local.get 0)) (v128.const i32x4 1 0 0 0)))
  (func (export "set_g") (param v128) (global.set $g (local.get 0))))"""


@pytest.fixture
def env():
    eng = E.Engine(E.Config(strategy="interpreter"))
    store = E.Store(eng)
    g = E.Global(store, E.GlobalType(V128, True), -1)
    seen = []

    def host(x):
        seen.append(x)
        return x ^ 0xFF

    h = E.Func(store, E.FuncType([V128], [V128]), host)
    inst = E.Instance(store, E.Module(eng, _WAT), [g, h])
    return store, g, inst.exports(store), seen


def test_params_results_and_globals(env):
    store, g, ex, seen = env
    assert g.value(store) == M128                       # -1 taken modulo 2**128
    assert ex["add_g"](store, 1, 7 << 32) == [M128 - 0xFF, 7]
    assert ex["via_host"](store, 0x1234) == 0x12CC
    assert seen == [0x1234]
    ex["set_g"](store, 5)
    assert g.value(store) == 5
    k = ex["k"].value(store)
    assert k == sum(x << (16 * i) for i, x in enumerate([1, 2, 3, 4, 5, 6, 7, 0xFFFF]))


@pytest.mark.parametrize("bad", [1 << 128, -(1 << 127) - 1, 1.0, True, "0"])
def test_out_of_range_arguments_are_refused(env, bad):
    store, g, ex, _ = env
    with pytest.raises(E.WasmError, match="expected a v128"):
        ex["set_g"](store, bad)


def test_backend_without_simd_says_so():
    eng = E.Engine(E.Config(strategy="compiler", target="riscv64"))
    with pytest.raises(E.WasmError, match="not supported yet: SIMD .v128. on the riscv64"):
        store = E.Store(eng)
        module = E.Module(eng, '(module (func (export "f") (result v128) v128.const i64x2 1 2))')
        E.Instance(store, module, []).exports(store)["f"](store)
