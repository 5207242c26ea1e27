"""engine.ir.passes.heapcheck: dominated and mergeable heap checks go, the rest stay; the
rewritten IR verifies; traps and stores before a trap stay observable exactly as before, under
the interpreter and the compiler."""

from __future__ import annotations

import pytest

from engine import Config, Engine, Instance, Module, Store, Trap
from engine.ir.builder import build_function
from engine.ir.ir import Opcode
from engine.ir.passes import eliminate_heap_checks
from engine.ir.verifier import verify

WAT = """(module
  (memory 1)
  ;; three loads off one base: one check covering offset 16 + 8
  (func (export "sum3") (param i32) (result i64)
    (i64.add (i64.add (i64.load (local.get 0)) (i64.load offset=8 (local.get 0)))
             (i64.load offset=16 (local.get 0))))
  ;; a dominating wider check makes the one in the branch redundant
  (func (export "dom") (param i32 i32) (result i32)
    (drop (i32.load offset=12 (local.get 0)))
    (if (result i32) (local.get 1)
      (then (i32.load offset=4 (local.get 0)))
      (else (i32.const 7))))
  ;; a store between the checks: the later check must stay where it is
  (func (export "store_then_load") (param i32) (result i32)
    (i32.store (local.get 0) (i32.const 0x11223344))
    (i32.load offset=8 (local.get 0)))
  ;; a division (which may trap) between the checks keeps them apart
  (func (export "div_between") (param i32 i32) (result i32)
    (i32.add (i32.load (local.get 0))
      (i32.add (i32.div_u (i32.const 100) (local.get 1)) (i32.load offset=8 (local.get 0)))))
  (func (export "peek") (param i32) (result i32) (i32.load (local.get 0))))"""


def _checks(fn) -> list:
    return [i for b in fn.blocks for i in b.insts if i.opcode is Opcode.HEAP_CHECK]


@pytest.fixture(scope="module")
def wasm():
    return Module(Engine(Config(strategy="interpreter")), WAT).wasm_module


def _fn(wasm, name):
    idx = next(e.index for e in wasm.exports if e.name == name)
    return build_function(wasm, idx)


def test_loads_off_one_base_share_one_check(wasm):
    fn = _fn(wasm, "sum3")
    assert len(_checks(fn)) == 3
    assert eliminate_heap_checks(fn) is True
    verify(fn, wasm)
    (check,) = _checks(fn)
    assert check.imm.offset + check.imm.size == 24


def test_dominated_check_is_removed(wasm):
    fn = _fn(wasm, "dom")
    assert len(_checks(fn)) == 2
    assert eliminate_heap_checks(fn)
    verify(fn, wasm)
    (check,) = _checks(fn)
    assert check.imm.offset + check.imm.size == 16


@pytest.mark.parametrize("name", ["store_then_load", "div_between", "peek"])
def test_checks_that_must_stay(wasm, name):
    fn = _fn(wasm, name)
    before = [(c.imm.offset, c.imm.size) for c in _checks(fn)]
    assert eliminate_heap_checks(fn) is False
    verify(fn, wasm)
    assert [(c.imm.offset, c.imm.size) for c in _checks(fn)] == before


def test_module_pipeline_runs_it():
    module = Module(Engine(Config(strategy="interpreter")), WAT)
    idx = next(e.index for e in module.wasm_module.exports if e.name == "sum3")
    assert len(_checks(module.ir_function(idx))) == 1


@pytest.mark.parametrize("strategy", ["interpreter", "compiler"])
def test_trap_behaviour_is_unchanged(strategy):
    engine = Engine(Config(strategy=strategy))
    store = Store(engine)
    ex = Instance(store, Module(engine, WAT), []).exports(store)
    last = 65536
    # sum3: the first load is in bounds, the third is not: a trap either way
    with pytest.raises(Trap):
        ex["sum3"](store, last - 16)
    assert ex["sum3"](store, last - 24) == 0
    # the store before the out-of-bounds load still happens
    with pytest.raises(Trap):
        ex["store_then_load"](store, last - 4)
    assert ex["peek"](store, last - 4) == 0x11223344
    # division by zero is reported before the out-of-bounds second load
    with pytest.raises(Trap) as err:
        ex["div_between"](store, last - 4, 0)
    assert "divide by zero" in str(err.value).lower()
    assert ex["dom"](store, last - 16, 1) == 0
    with pytest.raises(Trap):
        ex["dom"](store, last - 12, 0)
