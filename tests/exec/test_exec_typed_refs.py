"""Typed function references on every executor: call_ref and return_call_ref through
funcrefs of this and of another instance, br_on_null / br_on_non_null, ref.as_non_null, the
null-reference traps, table initialisers, typed globals and typed values crossing the API."""

from __future__ import annotations

import pytest

from engine import (Config, Engine, Func, FuncType, Instance, Module, Store, Trap, TrapCode,
                    ValType)
from engine.errors import WasmError
from engine.wasm.types import HeapType, ref_type
from executors import settings

SETTINGS = settings("interpreter", "x86_64", "x86_64-emulated", "x86_64-baseline", "aarch64",
                    "riscv64")
I32 = ValType.i32()

MODULE = """(module
  (type $ii (func (param i32) (result i32)))
  (func $sq (type $ii) (i32.mul (local.get 0) (local.get 0)))
  (func $neg (type $ii) (i32.sub (i32.const 0) (local.get 0)))
  (elem declare func $sq $neg)
  (table $tab 2 (ref $ii) (ref.func $neg))
  (global $g (ref null $ii) (ref.func $sq))
  (func (export "apply") (param $f (ref null $ii)) (param $x i32) (result i32)
    (call_ref $ii (local.get $x) (local.get $f)))
  (func (export "twice") (param $x i32) (result i32)
    (local $f (ref $ii))
    (local.set $f (ref.func $sq))
    (call_ref $ii (call_ref $ii (local.get $x) (local.get $f)) (local.get $f)))
  (func (export "via-global") (param $x i32) (result i32)
    (call_ref $ii (local.get $x) (global.get $g)))
  (func (export "via-table") (param $x i32) (result i32)
    (call_ref $ii (local.get $x) (table.get $tab (i32.const 1))))
  (func (export "null") (result i32)
    (call_ref $ii (i32.const 1) (ref.null $ii)))
  (func (export "as-non-null") (param $f funcref) (result i32)
    (drop (ref.as_non_null (local.get $f))) (i32.const 7))
  (func (export "is-null") (param $f (ref null $ii)) (result i32)
    (block $null
      (return (call_ref $ii (i32.const 5) (br_on_null $null (local.get $f)))))
    (i32.const -1))
  (func (export "non-null") (param $f (ref null $ii)) (result i32)
    (local $r (ref null $ii))
    (block $some (result (ref $ii))
      (br_on_non_null $some (local.get $f))
      (return (i32.const -2)))
    (local.set $r)
    (call_ref $ii (i32.const 6) (local.get $r)))
  (func $count (param $n i32) (param $acc i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n)) (then (local.get $acc))
      (else (return_call_ref $cnt (i32.sub (local.get $n) (i32.const 1))
                                  (i32.add (local.get $acc) (i32.const 1))
                                  (ref.func $count)))))
  (type $cnt (func (param i32 i32) (result i32)))
  (elem declare func $count)
  (func (export "count") (param i32) (result i32)
    (return_call_ref $cnt (local.get 0) (i32.const 0) (ref.func $count)))
  (func (export "sq") (result (ref $ii)) (ref.func $sq)))"""


@pytest.fixture(params=list(SETTINGS))
def instance(request):
    engine = Engine(Config(**SETTINGS[request.param]))
    store = Store(engine)
    return store, Instance(store, Module(engine, MODULE), []).exports(store)


def test_call_ref(instance) -> None:
    store, ex = instance
    sq = ex["sq"](store)
    assert isinstance(sq, Func)
    assert ex["apply"](store, sq, 9) == 81
    assert ex["twice"](store, 3) == 81
    assert ex["via-global"](store, 4) == 16
    assert ex["via-table"](store, 4) == -4      # the table's initialiser: every element $neg


def test_null_references_trap(instance) -> None:
    store, ex = instance
    for call in (lambda: ex["null"](store), lambda: ex["apply"](store, None, 1),
                 lambda: ex["as-non-null"](store, None)):
        with pytest.raises(Trap) as e:
            call()
        assert e.value.trap_code == TrapCode.NULL_REFERENCE
    assert ex["as-non-null"](store, ex["sq"](store)) == 7


def test_br_on_null_and_non_null(instance) -> None:
    store, ex = instance
    sq = ex["sq"](store)
    assert ex["is-null"](store, None) == -1
    assert ex["is-null"](store, sq) == 25
    assert ex["non-null"](store, None) == -2
    assert ex["non-null"](store, sq) == 36


def test_return_call_ref_runs_in_constant_stack(instance) -> None:
    store, ex = instance
    assert ex["count"](store, 100_000) == 100_000


def test_typed_values_cross_the_api(instance) -> None:
    store, ex = instance
    assert ex["sq"].type(store).results == [ref_type(False, 0)]
    assert repr(ex["apply"].type(store).params[0]) == "(ref null 0)"
    # a host function's typed reference parameter, called with a wasm function
    host = Func(store, FuncType([ref_type(False, HeapType.FUNC)], [I32]), lambda f: 1)
    assert host(store, ex["sq"](store)) == 1
    with pytest.raises(WasmError, match="non-null"):
        host(store, None)


def test_config_gates_typed_references_and_fingerprints_them() -> None:
    off = Config()
    off.wasm_function_references = False
    on_engine, off_engine = Engine(Config()), Engine(off)
    assert on_engine.code_settings()["wasm_function_references"] is True
    assert off_engine.code_settings()["wasm_function_references"] is False
    with pytest.raises(WasmError):
        Module(off_engine, MODULE)
    art = on_engine.precompile_module(MODULE)
    with pytest.raises(WasmError, match="function_references"):
        Module.deserialize(off_engine, art)
