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
    # outside the module a type index is its canonical type (engine.wasm.canonical)
    (result,) = ex["sq"].type(store).results
    assert not result.nullable and result.heap.functype == FuncType([I32], [I32])
    assert result != ref_type(False, 0) and repr(result) == "(ref (func [i32] -> [i32]))"
    param = ex["apply"].type(store).params[0]
    assert param.nullable and param.heap is result.heap
    assert repr(param) == "(ref null (func [i32] -> [i32]))"
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


# -- concrete types across modules: canonical, not by index (engine.wasm.canonical) -----------

#: exports a function whose type mentions (ref $s), and a table holding it
PROVIDER = """(module
  (type $s (func (param i32) (result i32)))
  (type $t (func (param (ref $s) i32) (result i32)))
  (func $sq (type $s) (i32.mul (local.get 0) (local.get 0)))
  (func $apply (export "apply") (type $t) (call_ref $s (local.get 1) (local.get 0)))
  (func (export "sq") (result (ref $s)) (ref.func $sq))
  (elem declare func $sq)
  (table (export "tab") 1 funcref)
  (elem (i32.const 0) func $apply))"""

#: the same types at other indices (and a look-alike that differs by nullability)
CLIENT = """(module
  (type $pad (func))
  (type $other (func (param f64)))
  (type $s (func (param i32) (result i32)))
  (type $t (func (param (ref $s) i32) (result i32)))
  (type $t_null (func (param (ref null $s) i32) (result i32)))
  (import "p" "apply" (func $apply (type $t)))
  (import "p" "tab" (table $ptab 1 funcref))
  (func $neg (type $s) (i32.sub (i32.const 0) (local.get 0)))
  (elem declare func $neg)
  (table $own 1 funcref)
  (elem (table $own) (i32.const 0) func $apply)
  (func (export "direct") (param i32) (result i32) (call $apply (ref.func $neg) (local.get 0)))
  (func (export "theirs") (param i32) (result i32)
    (call_indirect $ptab (type $t) (ref.func $neg) (local.get 0) (i32.const 0)))
  (func (export "own") (param i32) (result i32)
    (call_indirect $own (type $t) (ref.func $neg) (local.get 0) (i32.const 0)))
  (func (export "mismatch") (param i32) (result i32)
    (call_indirect $ptab (type $t_null) (ref.func $neg) (local.get 0) (i32.const 0))))"""


@pytest.fixture(params=list(SETTINGS))
def linked(request):
    engine = Engine(Config(**SETTINGS[request.param]))
    store = Store(engine)
    provider = Instance(store, Module(engine, PROVIDER), []).exports(store)
    client = Module(engine, CLIENT)
    return engine, store, provider, client


def test_call_indirect_between_modules_of_different_type_layouts(linked) -> None:
    engine, store, p, client = linked
    ex = Instance(store, client, [p["apply"], p["tab"]]).exports(store)
    assert ex["direct"](store, 5) == -5
    assert ex["theirs"](store, 6) == -6        # the provider's table, the client's type index
    assert ex["own"](store, 7) == -7           # the provider's function in the client's table
    with pytest.raises(Trap) as e:
        ex["mismatch"](store, 1)               # (ref null $s) is another type
    assert e.value.trap_code == TrapCode.BAD_SIGNATURE


def test_imports_match_by_canonical_type(linked) -> None:
    engine, store, p, client = linked
    # the provider's function type, as the client declares its import, is one type
    (want,) = [i.type for i in client.imports if i.name == "apply"]
    assert p["apply"].type(store) == want
    # a function of the look-alike type does not link
    other = Module(engine, """(module (type $s (func (param i32) (result i32)))
      (func (export "f") (param (ref null $s) i32) (result i32) (local.get 1)))""")
    f = Instance(store, other, []).exports(store)["f"]
    with pytest.raises(WasmError, match="incompatible import type"):
        Instance(store, client, [f, p["tab"]])
    # a host function made from the import's type links, and is called through the table
    host = Func(store, want, lambda ref, x: x + 100)
    ex = Instance(store, client, [host, p["tab"]]).exports(store)
    assert ex["own"](store, 1) == 101 and ex["direct"](store, 2) == 102


def test_typed_globals_and_tables_link_by_canonical_type(linked) -> None:
    engine, store, p, client = linked
    exporter = Instance(store, Module(engine, """(module
      (type $pad (func (param i64)))
      (type $s (func (param i32) (result i32)))
      (func $sq (type $s) (i32.mul (local.get 0) (local.get 0)))
      (elem declare func $sq)
      (global (export "g") (ref null $s) (ref.func $sq))
      (table (export "t") 1 (ref null $s)))"""), []).exports(store)
    importer = Module(engine, """(module
      (type $s (func (param i32) (result i32)))
      (import "e" "g" (global $g (ref null $s)))
      (import "e" "t" (table $t 1 (ref null $s)))
      (func (export "run") (param i32) (result i32)
        (table.set $t (i32.const 0) (global.get $g))
        (call_ref $s (local.get 0) (table.get $t (i32.const 0)))))""")
    ex = Instance(store, importer, [exporter["g"], exporter["t"]]).exports(store)
    assert ex["run"](store, 9) == 81
    # a table of another concrete type does not link
    wrong = Instance(store, Module(engine, """(module (type $u (func (param i64) (result i32)))
      (table (export "t") 1 (ref null $u)))"""), []).exports(store)
    with pytest.raises(WasmError, match="incompatible import type"):
        Instance(store, importer, [exporter["g"], wrong["t"]])


def test_functions_crossing_the_api_are_checked_against_concrete_types(linked) -> None:
    engine, store, p, client = linked
    sq = p["sq"](store)
    neg_like = Func(store, FuncType([I32], [I32]), lambda x: -x)    # the same type as $s
    assert p["apply"](store, sq, 3) == 9
    assert p["apply"](store, neg_like, 3) == -3
    wrong = Func(store, FuncType([I32], []), lambda x: None)
    with pytest.raises(WasmError, match="type mismatch"):
        p["apply"](store, wrong, 3)
    # a host function's typed result, and a bottom type's only value
    ret = Func(store, FuncType([], [p["sq"].type(store).results[0]]), lambda: wrong)
    with pytest.raises(WasmError, match="type mismatch"):
        ret(store)
    nothing = Func(store, FuncType([ref_type(True, HeapType.NOFUNC)], []), lambda r: None)
    nothing(store, None)
    with pytest.raises(WasmError, match="only null"):
        nothing(store, sq)
