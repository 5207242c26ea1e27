"""Stack exhaustion on every executor ends in Trap STACK_OVERFLOW, never in a crash (issue #15):
frames larger than the room below the limit, the limit clamped to the calling thread's real
stack, max_wasm_stack bounds, deep wasm -> host -> wasm re-entry. Crash-prone cases run in a
child process (stack_cases.run_child)."""

from __future__ import annotations

import pytest

from engine import Config, Engine, Instance, Module, Store, Trap, TrapCode, WasmError

from stack_cases import EXECUTORS, executor_params, run_child, spilled_values_wat


# -- item 1: the prologue's check covers the whole frame ------------------------------------

@pytest.mark.parametrize("executor", executor_params())
def test_frame_larger_than_the_stack_budget_traps(executor):
    """max_wasm_stack=16 KiB and one call of a function whose frame is about 24 KiB: the
    frame alone exceeds the budget, so the entry check must trap (a check of the stack pointer
    before the frame is allocated let it run)."""
    engine = Engine(Config(max_wasm_stack=16 * 1024, **EXECUTORS[executor]))
    module = Module(engine, spilled_values_wat(3 * 1024, recursive=False))
    store = Store(engine)
    f = Instance(store, module, []).exports(store)["f"]
    if executor == "interpreter":
        # no machine frames: the interpreter's budget counts calls, and one call fits
        assert f(store, 1) == sum(1 + i for i in range(3 * 1024))
        return
    with pytest.raises(Trap) as info:
        f(store, 1)
    assert info.value.trap_code == TrapCode.STACK_OVERFLOW


def test_frame_smaller_than_the_budget_runs():
    """The same function within a budget that holds it returns its value (the check does not
    trap early)."""
    engine = Engine(Config(max_wasm_stack=256 * 1024))
    store = Store(engine)
    f = Instance(store, Module(engine, spilled_values_wat(3 * 1024, recursive=False)),
                 []).exports(store)["f"]
    assert f(store, 1) == sum(1 + i for i in range(3 * 1024))
