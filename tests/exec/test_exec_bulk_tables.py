"""memory.init, data.drop, table.copy and table.fill in machine code (backends/*/bulk.py) on
every executor: the same results and traps as the interpreter (which runs the runtime's
libcalls), overlapping copies included; the baseline tier, which calls the helpers, shares
the instance's dropped-segment state with the optimised code."""

from __future__ import annotations

import pytest

from engine import Config, Engine, Instance, Module, Store, Trap, TrapCode
from executors import FIVE, settings

SETTINGS = settings(*FIVE, "x86_64-baseline", "x86_64-tiered")

MEMORY = """(module (memory 1)
  (data $p "hello, world")
  (data $a (i32.const 100) "active")
  (func (export "init") (param i32 i32 i32) (memory.init $p (local.get 0) (local.get 1) (local.get 2)))
  (func (export "inita") (param i32 i32 i32) (memory.init $a (local.get 0) (local.get 1) (local.get 2)))
  (func (export "drop") (data.drop $p))
  (func (export "ld") (param i32) (result i32) (i32.load8_u (local.get 0))))"""

TABLES = """(module (table $t 10 funcref) (table $u 4 externref)
  (func $a (result i32) (i32.const 1)) (func $b (result i32) (i32.const 2))
  (elem (table $t) (i32.const 0) func $a $b)
  (type $r (func (result i32)))
  (func (export "copy") (param i32 i32 i32) (table.copy $t $t (local.get 0) (local.get 1) (local.get 2)))
  (func (export "fill") (param i32 i32) (table.fill $t (local.get 0) (ref.func $b) (local.get 1)))
  (func (export "fillx") (param i32 externref i32) (table.fill $u (local.get 0) (local.get 1) (local.get 2)))
  (func (export "getx") (param i32) (result externref) (table.get $u (local.get 0)))
  (func (export "call") (param i32) (result i32) (call_indirect (type $r) (local.get 0)))
  (func (export "isnull") (param i32) (result i32) (ref.is_null (table.get $t (local.get 0)))))"""


def _outcome(f, store, *args):
    try:
        return f(store, *args)
    except Trap as e:
        return e.trap_code


def _exports(name: str, wat: str):
    engine = Engine(Config(**SETTINGS[name]))
    store = Store(engine)
    return store, Instance(store, Module(engine, wat), []).exports(store)


@pytest.mark.parametrize("name", list(SETTINGS))
def test_memory_init_and_drop(name) -> None:
    store, ex = _exports(name, MEMORY)
    oob = TrapCode.MEMORY_OUT_OF_BOUNDS
    ex["init"](store, 10, 7, 5)
    assert bytes(ex["ld"](store, 10 + i) for i in range(5)) == b"world"
    assert [_outcome(ex["init"], store, *a) for a in
            [(65530, 0, 7), (0, 8, 5), (0, 13, 0), (65536, 0, 0), (65537, 0, 0), (0, 12, 0)]] \
        == [oob, oob, oob, None, oob, None]
    assert _outcome(ex["inita"], store, 0, 0, 1) == oob     # active: dropped at instantiation
    assert _outcome(ex["inita"], store, 0, 0, 0) is None
    ex["drop"](store)
    assert _outcome(ex["init"], store, 0, 0, 1) == oob
    assert _outcome(ex["init"], store, 0, 0, 0) is None


@pytest.mark.parametrize("name", list(SETTINGS))
def test_table_copy_and_fill(name) -> None:
    store, ex = _exports(name, TABLES)
    toob = TrapCode.TABLE_OUT_OF_BOUNDS
    ex["copy"](store, 4, 0, 2)
    assert [ex["call"](store, 4), ex["call"](store, 5)] == [1, 2]
    ex["copy"](store, 1, 0, 5)                  # overlapping, destination above the source
    assert [ex["isnull"](store, i) for i in range(10)] == [0, 0, 0, 1, 1, 0, 1, 1, 1, 1]
    ex["copy"](store, 0, 1, 5)                  # overlapping, destination below
    assert [ex["isnull"](store, i) for i in range(10)] == [0, 0, 1, 1, 0, 0, 1, 1, 1, 1]
    assert [_outcome(ex["copy"], store, *a) for a in [(8, 0, 3), (0, 8, 3), (10, 0, 0),
                                                       (11, 0, 0)]] == [toob, toob, None, toob]
    ex["fill"](store, 7, 3)
    assert [ex["call"](store, i) for i in (7, 8, 9)] == [2, 2, 2]
    assert [_outcome(ex["fill"], store, *a) for a in [(8, 3), (10, 0), (11, 0)]] == \
        [toob, None, toob]
    obj = object()
    ex["fillx"](store, 1, obj, 2)
    assert [ex["getx"](store, i) is obj for i in range(4)] == [False, True, True, False]
