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
