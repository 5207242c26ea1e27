"""First-tier code compiled ahead (engine.compile.ahead): what a program is likely to call
first, and the child that validated half of a large module going on to compile it, its
stream kept by the Module for the LazyCode of the same backend."""

from __future__ import annotations

import os
import time

import pytest

from engine import Config, Engine, Module, WasmError
from engine.compile import ahead, forked, parallel
from engine.compile.registry import backend_for

needs_fork = pytest.mark.skipif(not parallel.can_fork() or parallel.worker_count() < 2,
                                reason="needs fork and two CPUs")

SMALL = """(module
  (import "h" "f" (func $imp))
  (table 2 funcref)
  (func $a (call $c) (call $b) (call $c) (call $imp))
  (func $b (drop (ref.func $d)))
  (func $c)
  (func $d)
  (func $e)
  (elem (i32.const 0) $e $b)
  (elem declare func $d)
  (start $c)
  (export "a" (func $a)) (export "imp" (func $imp)) (export "b" (func $b)))"""


def test_entries_callees_and_element_functions_in_order():
    wasm = Module(Engine(), SMALL).wasm_module
    assert ahead.entry_functions(wasm) == [3, 1, 2]        # start first, imports skipped
    assert ahead.callees(wasm, 1) == [3, 2]                 # each once, in body order
    assert ahead.callees(wasm, 2) == [4]                    # ref.func counts
    assert ahead.elem_functions(wasm) == [5, 2, 4]


def test_calls_on_the_way_to_a_trap_are_not_callees_to_compile_ahead():
    wasm = Module(Engine(), """(module
      (func $main (param i32)
        (if (local.get 0) (then (call $report (i32.const 1)) (call $abort) (unreachable)))
        (block (br_if 0 (local.get 0)) (call $abort))   ;; a branch between: not a trap path
        (unreachable))
      (func $report (param i32))
      (func $abort)
      (func $g (call $report (i32.const 2)) (drop (i32.const 0)) (call $report (i32.const 3))
        (unreachable)))""").wasm_module
    assert ahead.callees(wasm, 0) == [2]    # $report only on the way to the trap, $abort not
    assert ahead.callees(wasm, 3) == []     # straight-line code between: still the trap's


def test_the_compile_ahead_order_takes_the_largest_callee_first():
    wasm = Module(Engine(), """(module
      (func $a (call $small) (call $big) (call $mid) (call $small))
      (func $small)
      (func $big (drop (i32.add (i32.mul (i32.const 1) (i32.const 2)) (i32.const 3))))
      (func $mid (drop (i32.const 1))))""").wasm_module
    assert ahead.callees(wasm, 0) == [1, 2, 3]
    assert ahead.compile_order(wasm, 0) == [2, 1, 3]      # $big, then body order
    assert ahead.compile_order(wasm, 1) == []


def _large(broken_first: bool = False) -> str:
    """More than MIN_PARALLEL_INSTRUCTIONS instructions; "run" calls $leaf. With
    `broken_first` the first function (in the parent's half) is invalid."""
    filler = "(local.get 0) (i32.const 1) (i32.add) (local.set 0) " * 60
    funcs = "".join(f"(func (param i32) (result i32) {filler} (local.get 0))\n"
                    for _ in range(parallel.MIN_PARALLEL_INSTRUCTIONS // 240 + 2))
    first = "(func (i32.add (i32.const 1) (i64.const 2)) (drop))" if broken_first else ""
    return (f"(module {first} {funcs} (func $leaf (param i32) (result i32) "
            f"(i32.mul (local.get 0) (i32.const 3)))"
            f"(func (export \"run\") (param i32) (result i32) (call $leaf (local.get 0))))")


def _taken(stream: forked.ForkedStream, index: int, timeout: float = 30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if stream.sent(index):          # (a take before would make it this process's)
            return stream.take(index)
        time.sleep(0.01)
    raise AssertionError(f"function {index} never came")


@needs_fork
def test_the_validating_child_compiles_the_entries_and_their_callees_ahead():
    engine = Engine(Config())
    module = Module(engine, _large())
    wasm = module.wasm_module
    run = len(wasm.funcs) - 1
    backend = backend_for(module.state.settings)
    stream = module.take_ahead(backend)
    assert stream is not None and module.take_ahead(backend) is None     # taken once
    try:
        for index in (run, run - 1):                      # "run", then its callee $leaf
            by_baseline, piece = _taken(stream, index)
            assert by_baseline
            own = ahead.first_tier(wasm, module.info, backend, index, True, True, False)
            assert piece.code == own[1].code and piece.fixups == own[1].fixups
    finally:
        stream.close()


@needs_fork
def test_a_stream_for_another_backend_is_let_go():
    module = Module(Engine(Config()), _large())
    plan, stream = module._ahead

    class Other:
        features = plan.backend.features
    assert not plan.fits(Other()) and plan.fits(backend_for(module.state.settings))
    assert module.take_ahead(Other()) is None
    assert stream._requests < 0                           # closed: the child ends
    assert module.take_ahead(plan.backend) is None


@pytest.mark.parametrize("cfg", [dict(lazy_compilation=False), dict(parallel_compilation=False),
                                 dict(tiered_compilation=False), "cache"])
def test_nothing_is_compiled_ahead_unless_lazily_in_parallel_with_a_baseline_tier(cfg, tmp_path):
    config = Config(**cfg) if isinstance(cfg, dict) else Config()
    if cfg == "cache":
        config.cache = str(tmp_path)
    module = Module(Engine(config), _large())
    assert module._ahead is None


@needs_fork
def test_an_invalid_body_in_this_process_s_half_ends_the_child(monkeypatch):
    made: list[forked.ForkedStream] = []
    real = forked.ForkedStream

    def recording(*args, **kw):
        made.append(real(*args, **kw))
        return made[-1]
    monkeypatch.setattr(parallel, "ForkedStream", recording)
    with pytest.raises(WasmError, match="type mismatch"):
        Module(Engine(Config()), _large(broken_first=True))
    assert made
    end = time.monotonic() + 30
    gone = False
    while not gone and time.monotonic() < end:
        try:
            os.kill(made[0].pid, 0)
            time.sleep(0.01)
        except ProcessLookupError:
            gone = True
    assert gone


@needs_fork
def test_the_compile_ahead_child_ends_with_its_module():
    import gc
    module = Module(Engine(Config()), _large())
    pid = module._ahead[1].pid
    os.kill(pid, 0)                                       # alive while the module is
    del module
    gc.collect()
    end = time.monotonic() + 30
    gone = False
    while not gone and time.monotonic() < end:
        try:
            os.kill(pid, 0)
            time.sleep(0.01)
        except ProcessLookupError:
            gone = True
    assert gone
