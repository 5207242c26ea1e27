"""Tiered compilation (Config.tiered_compilation, engine.exec.lazy): a function runs counted
baseline code first and the optimising tier's code once hot (calls and loop iterations),
natively and under Unicorn, with the same results, traps and backtraces."""

from __future__ import annotations

import ctypes
import threading

import pytest

from engine import Config, Engine, Instance, Module, Store, Trap, TrapCode, WasmError
from engine.exec.lazy import LazyUnit
from engine.exec.native import native_supported

CONFIGS = [
    pytest.param({}, id="native", marks=pytest.mark.skipif(not native_supported(),
                                                           reason="native x86_64 only")),
    pytest.param({"target": "x86_64", "emulate": True}, id="x86_64-emulated"),
]

WAT = """(module
  (func $sum (export "sum") (param i32) (result i32) (local i32)
    (block $out (loop $l
      (br_if $out (i32.eqz (local.get 0)))
      (local.set 1 (i32.add (local.get 1) (local.get 0)))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br $l)))
    (local.get 1))
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func $div (param i32) (result i32) (i32.div_u (i32.const 100) (local.get 0)))
  (func (export "outer") (param i32) (result i32) (i32.add (call $div (local.get 0))
                                                           (i32.const 1))))"""

SUM, FIB, DIV, OUTER = range(4)


def _setup(cfg: dict, threshold: int, **more):
    engine = Engine(Config(tiered_compilation=True, tier_up_threshold=threshold, **cfg, **more))
    store = Store(engine)
    inst = Instance(store, Module(engine, WAT), [])
    unit = inst.exec_state.unit
    assert isinstance(unit, LazyUnit)
    return store, inst.exports(store), unit.lazy


def _fib(n: int) -> int:
    return n if n < 2 else _fib(n - 1) + _fib(n - 2)


def _codes(lazy, index: int) -> list[int]:
    return [start for start, _, i in lazy.placed if i == index]


@pytest.mark.parametrize("cfg", CONFIGS)
def test_a_function_called_often_runs_baseline_then_optimised_code(cfg) -> None:
    store, ex, lazy = _setup(cfg, threshold=3)
    for _ in range(4):           # calls 1-3 leave the counter >= 0, the 4th goes below
        assert ex["sum"](store, 3) == 6
        if SUM not in lazy.tiered_up:
            baseline = lazy.compiled[SUM]
            assert SUM in lazy.baseline_compiled
    assert SUM in lazy.tiered_up
    assert ex["sum"](store, 3) == 6
    optimised = lazy.compiled[SUM]
    assert optimised != baseline and _codes(lazy, SUM) == [baseline, optimised]
    assert lazy.slots[SUM - lazy.first] == optimised
    # pcs in both codes still name the function (backtraces, faults)
    assert lazy.function_at(baseline) == SUM and lazy.function_at(optimised) == SUM
    assert lazy.counters[SUM - lazy.first] > 1 << 30      # reset far from zero


@pytest.mark.parametrize("cfg", CONFIGS)
def test_a_hot_loop_in_one_long_call_tiers_up_and_the_call_finishes(cfg) -> None:
    store, ex, lazy = _setup(cfg, threshold=10)
    assert ex["sum"](store, 50_000) == (50_000 * 50_001 // 2) & 0xFFFF_FFFF
    assert SUM in lazy.tiered_up and len(_codes(lazy, SUM)) == 2
    assert ex["sum"](store, 100) == 5050


@pytest.mark.parametrize("cfg", CONFIGS)
def test_recursion_tiers_up_mid_call_with_the_same_results(cfg) -> None:
    store, ex, lazy = _setup(cfg, threshold=5)
    assert [ex["fib"](store, n) for n in range(12)] == [_fib(n) for n in range(12)]
    assert FIB in lazy.tiered_up
    assert ex["fib"](store, 20) == _fib(20)


@pytest.mark.parametrize("cfg", CONFIGS)
def test_a_trap_gives_the_same_trap_and_backtrace_in_both_tiers(cfg) -> None:
    store, ex, lazy = _setup(cfg, threshold=2)

    def trap() -> tuple:
        with pytest.raises(Trap) as info:
            ex["outer"](store, 0)
        t = info.value
        return t.trap_code, [f.func_index for f in t.frames]
    before = trap()
    assert DIV in lazy.compiled and DIV not in lazy.tiered_up
    for _ in range(4):
        assert ex["outer"](store, 4) == 26
    assert {DIV, OUTER} <= lazy.tiered_up
    assert trap() == before == (TrapCode.INTEGER_DIVISION_BY_ZERO, [DIV, OUTER])


@pytest.mark.parametrize("cfg", CONFIGS)
def test_threads_racing_the_tier_up_compile_each_tier_once(cfg) -> None:
    engine = Engine(Config(tiered_compilation=True, tier_up_threshold=1, **cfg))
    module = Module(engine, WAT)
    results: list = []
    errors: list = []
    lazies: list = []
    start = threading.Barrier(4)

    def work(n: int) -> None:
        try:
            store = Store(engine)
            inst = Instance(store, module, [])
            lazies.append(inst.exec_state.unit.lazy)
            start.wait()
            ex = inst.exports(store)
            results.append([ex["fib"](store, n) for _ in range(3)])
        except BaseException as e:        # reported below
            errors.append(e)
    threads = [threading.Thread(target=work, args=(n,)) for n in (14, 15, 16, 17)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(results) == [[_fib(n)] * 3 for n in (14, 15, 16, 17)]
    lazy = lazies[0]
    assert all(other is lazy for other in lazies)
    assert lazy.tiered_up == {FIB} and len(_codes(lazy, FIB)) == 2


@pytest.mark.skipif(not native_supported(), reason="native x86_64 only")
def test_direct_calls_are_repointed_at_the_optimised_code() -> None:
    from capstone import CS_ARCH_X86, CS_MODE_64, Cs
    store, ex, lazy = _setup({}, threshold=1)
    for _ in range(3):
        assert ex["outer"](store, 5) == 21
    assert {DIV, OUTER} <= lazy.tiered_up
    start, end = next((s, e) for s, e, i in reversed(lazy.placed) if i == OUTER)
    code = bytes((ctypes.c_ubyte * (end - start)).from_address(start))
    targets = {int(i.op_str, 16) for i in Cs(CS_ARCH_X86, CS_MODE_64).disasm(code, start)
               if i.mnemonic == "call" and i.op_str.startswith("0x")}
    assert targets == {lazy.compiled[DIV]} and lazy.compiled[DIV] == _codes(lazy, DIV)[1]


def test_baseline_compilation_forces_the_baseline_tier() -> None:
    store, ex, lazy = _setup({}, threshold=0, baseline_compilation=True)
    for _ in range(5):
        assert ex["sum"](store, 1000) == 500500
    assert lazy.baseline_compiled == {SUM} and not lazy.tiered_up and not lazy.tiered


def test_other_targets_keep_the_optimising_tier() -> None:
    store, ex, lazy = _setup({"target": "aarch64"}, threshold=0)
    assert ex["sum"](store, 10) == 55
    assert not lazy.baseline_compiled and not lazy.tiered_up


@pytest.mark.parametrize("value", [-1, True, "10", 1 << 30])
def test_the_threshold_takes_a_number_of_calls(value) -> None:
    with pytest.raises(WasmError, match="Config.tier_up_threshold must be"):
        Engine(Config(tier_up_threshold=value))


@pytest.mark.parametrize("cfg", CONFIGS)
def test_runaway_recursion_across_the_tier_up_traps_stack_overflow(cfg) -> None:
    engine = Engine(Config(tiered_compilation=True, tier_up_threshold=1, **cfg))
    store = Store(engine)
    wat = """(module (func $r (export "r") (param i32) (result i32)
               (i32.add (call $r (i32.add (local.get 0) (i32.const 1))) (i32.const 1))))"""
    inst = Instance(store, Module(engine, wat), [])
    lazy = inst.exec_state.unit.lazy
    for _ in range(2):
        with pytest.raises(Trap) as info:
            inst.exports(store)["r"](store, 0)
        assert info.value.trap_code == TrapCode.STACK_OVERFLOW
    assert lazy.tiered_up == {0}
