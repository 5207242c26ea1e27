"""Calls between instances on every executor: the callee runs on its own instance's memory
and the caller finds its own again afterwards, whether the call goes through an import, a
table another instance filled, a funcref, or a tail call. The callee's memory is larger than
the caller's, so a callee that used the caller's heap base with its own bounds would write
outside the caller's memory (a sandbox escape), not only give a wrong answer."""

from __future__ import annotations

import pytest

from engine import Config, Engine, Instance, Linker, Module, Store
from executors import settings

SETTINGS = settings("interpreter", "x86_64", "x86_64-eager", "x86_64-baseline", "x86_64-tiered",
                    "x86_64-emulated", "aarch64", "riscv64")

# 4 pages; `poke` writes at 3 pages (beyond the caller's one page) and reads back its own data
CALLEE = """(module
  (memory (export "mem") 4)
  (data (i32.const 8) "\\09")
  (table (export "t") 2 funcref)
  (elem (i32.const 0) $poke $peek)
  (func $poke (export "poke") (param i32) (result i32)
    (i32.store (i32.const 196608) (local.get 0))
    (i32.add (i32.load (i32.const 196608)) (i32.load8_u (i32.const 8))))
  (func $peek (param i32) (result i32)
    (i32.add (local.get 0) (i32.load8_u (i32.const 8)))))"""

CALLER = """(module
  (import "b" "poke" (func $poke (param i32) (result i32)))
  (import "b" "t" (table 2 funcref))
  (memory (export "mem") 1)
  (data (i32.const 8) "\\02")
  (type $t (func (param i32) (result i32)))
  (func $mine (result i32) (i32.load8_u (i32.const 8)))
  (func (export "via_import") (param i32) (result i32)
    (i32.add (call $poke (local.get 0)) (call $mine)))
  (func (export "via_table") (param i32) (result i32)
    (i32.add (call_indirect (type $t) (local.get 0) (i32.const 1)) (i32.load8_u (i32.const 8))))
  (func $tail (param i32) (result i32)
    (return_call_indirect (type $t) (local.get 0) (i32.const 0)))
  (func (export "via_tail") (param i32) (result i32)
    (i32.add (call $tail (local.get 0)) (i32.load8_u (i32.const 8)))))"""


@pytest.fixture(params=list(SETTINGS))
def linked(request):
    engine = Engine(Config(**SETTINGS[request.param]))
    store, linker = Store(engine), Linker(engine)
    callee = Instance(store, Module(engine, CALLEE), [])
    linker.define_instance(store, "b", callee)
    caller = linker.instantiate(store, Module(engine, CALLER))
    return store, callee.exports(store), caller.exports(store)


def test_an_imported_function_runs_on_its_own_memory(linked):
    store, callee, caller = linked
    assert caller["via_import"](store, 100) == 100 + 9 + 2
    assert int.from_bytes(callee["mem"].read(store, 196608, 196612), "little") == 100
    assert caller["mem"].read(store, 8, 9) == b"\x02"


def test_a_table_function_of_another_instance_runs_on_its_own_memory(linked):
    store, _, caller = linked
    assert caller["via_table"](store, 5) == 5 + 9 + 2


def test_a_tail_call_into_another_instance_leaves_the_caller_its_memory(linked):
    store, callee, caller = linked
    assert caller["via_tail"](store, 7) == 7 + 9 + 2
    assert int.from_bytes(callee["mem"].read(store, 196608, 196612), "little") == 7


def test_a_call_from_the_host_after_another_instance_ran_uses_the_right_memory(linked):
    store, callee, caller = linked
    caller["via_import"](store, 1)
    assert callee["poke"](store, 3) == 3 + 9
    assert caller["via_table"](store, 1) == 1 + 9 + 2
