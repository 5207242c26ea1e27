"""engine/exec/compiled.py: a table's elements live in machine memory only: a host call converts
no table entry, and changes on either side (code, API) are seen by the other at once."""

from __future__ import annotations

import pytest

from engine import Config, Engine, Func, FuncType, Instance, Module, Store, ValType
from engine.runtime.refs import Refs

TARGETS = [{}, {"target": "aarch64"}]

WAT = """(module
  (import "h" "f" (func $h (param i32) (result i32)))
  (table (export "t") 500 funcref)
  (elem (i32.const 0) func $a $b)
  (func $a (result i32) i32.const 11)
  (func $b (result i32) i32.const 22)
  (func (export "loop") (param i32) (result i32) (local i32)
    (loop $l (local.set 1 (i32.add (local.get 1) (call $h (local.get 0))))
      (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    local.get 1)
  (func (export "call") (param i32) (result i32) (call_indirect (result i32) (local.get 0)))
  (func (export "copy") (param i32 i32) (table.set (local.get 1) (table.get (local.get 0)))))"""


def _setup(settings: dict, host=lambda x: 1):
    engine = Engine(Config(**settings))
    store = Store(engine)
    f = Func(store, FuncType([ValType.I32], [ValType.I32]), host)
    inst = Instance(store, Module(engine, WAT), [f])
    return store, inst.exports(store)


@pytest.mark.parametrize("settings", TARGETS, ids=["host", "aarch64"])
def test_host_calls_convert_no_table_entry(settings, monkeypatch):
    store, ex = _setup(settings)
    ex["loop"](store, 1)
    seen = []
    for name in ("func_word", "func_at", "word", "value"):
        original = getattr(Refs, name)
        monkeypatch.setattr(Refs, name, lambda self, *a, _o=original, _n=name:
                            seen.append(_n) or _o(self, *a))
    assert ex["loop"](store, 200) == 200
    assert seen == []           # 200 host calls, no reference converted


@pytest.mark.parametrize("settings", TARGETS, ids=["host", "aarch64"])
def test_changes_cross_in_both_directions(settings):
    holder = {}

    def host(x):
        t = holder["t"]
        if x == 1:      # during a host call, the API moves $b to slot 7
            t.set(holder["store"], 7, t.get(holder["store"], 1))
        return 0

    store, ex = _setup(settings, host)
    holder.update(t=ex["t"], store=store)
    t = ex["t"]
    assert t.get(store, 7) is None
    ex["loop"](store, 1)
    assert ex["call"](store, 7) == 22            # the code sees the API's change
    ex["copy"](store, 0, 9)                      # the code's table.set ...
    assert t.get(store, 9) is t.get(store, 0)    # ... is seen by the API
    t.set(store, 9, t.get(store, 1))             # and the API's overwrite by the code
    assert ex["call"](store, 9) == 22


# -- state shared by instances and the host -------------------------------------------------

EXECUTORS = [{"strategy": "interpreter"}, {}, {"target": "x86_64", "emulate": True},
             {"target": "aarch64"}, {"target": "riscv64"}]
EXECUTOR_IDS = ["interpreter", "x86_64", "x86_64-emulated", "aarch64", "riscv64"]

OWNER = """(module
  (global (export "g") (mut i32) (i32.const 1))
  (memory (export "m") 1 4)
  (table (export "t") 2 10 funcref)
  (func $seven (result i32) i32.const 7)
  (elem (i32.const 0) $seven)
  (func (export "seven") (result i32) i32.const 7)
  (func (export "get_g") (result i32) global.get 0)
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "pages") (result i32) memory.size)
  (func (export "tsize") (result i32) table.size 0)
  (func (export "call_t") (param i32) (result i32) (call_indirect (result i32) (local.get 0))))"""

USER = """(module
  (import "a" "g" (global $g (mut i32)))
  (import "a" "m" (memory 1))
  (import "a" "t" (table 2 funcref))
  (import "h" "h" (func $h))
  (func (export "run") (result i32)
    (global.set $g (i32.const 42))
    (i32.store (i32.const 16) (i32.const 99))
    (call $h)
    ;; what the host changed during the call, seen at once
    (i32.add (i32.add (i32.mul (global.get $g) (i32.const 1000))
                      (i32.mul (memory.size) (i32.const 100)))
             (i32.add (i32.mul (table.size 0) (i32.const 10))
                      (call_indirect (result i32) (i32.const 1))))))"""


@pytest.mark.parametrize("settings", EXECUTORS, ids=EXECUTOR_IDS)
def test_global_table_memory_shared_by_two_instances_and_the_host(settings):
    from engine import GlobalType, Limits, Memory, MemoryType, Table, TableType
    engine = Engine(Config(**settings))
    store = Store(engine)
    a = Instance(store, Module(engine, OWNER), []).exports(store)
    seen = {}

    def host():
        # the other instance and the host see what "run" wrote before calling out
        seen["g"] = (a["get_g"](store), a["g"].value(store))
        seen["mem"] = (a["load"](store, 16), bytes(a["m"].read(store, 16, 17)))
        # and what the host changes now, "run" sees when the call returns
        a["g"].set_value(store, 5)
        assert a["m"].grow(store, 2) == 1
        a["t"].set(store, 1, a["seven"])
        assert a["t"].grow(store, 3, None) == 2

    h = Func(store, FuncType([], []), host)
    run = Instance(store, Module(engine, USER), [a["g"], a["m"], a["t"], h]).exports(store)
    assert run["run"](store) == 5 * 1000 + 3 * 100 + 5 * 10 + 7
    assert seen == {"g": (42, 42), "mem": (99, b"\x63")}
    assert a["pages"](store) == 3 and a["tsize"](store) == 5 and a["call_t"](store, 1) == 7


@pytest.mark.parametrize("settings", EXECUTORS, ids=EXECUTOR_IDS)
def test_globals_and_tables_made_by_the_host_are_the_code_s(settings):
    from engine import Global, GlobalType, Limits, Table, TableType
    engine = Engine(Config(**settings))
    store = Store(engine)
    g = Global(store, GlobalType(ValType.i64(), True), -3)
    t = Table(store, TableType(ValType.externref(), Limits(1, None)), None)
    wat = """(module (import "" "g" (global $g (mut i64))) (import "" "t" (table 1 externref))
      (func (export "bump") (result i64) (global.set $g (i64.add (global.get $g) (i64.const 1)))
        (global.get $g))
      (func (export "swap") (param externref) (result externref)
        (table.get 0 (i32.const 0)) (table.set 0 (i32.const 0) (local.get 0))))"""
    ex = Instance(store, Module(engine, wat), [g, t]).exports(store)
    assert ex["bump"](store) == -2 and g.value(store) == -2
    g.set_value(store, 10)
    assert ex["bump"](store) == 11
    token, other = object(), object()
    t.set(store, 0, token)
    assert ex["swap"](store, other) is token and t.get(store, 0) is other
