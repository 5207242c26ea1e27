"""Tiered compilation against the interpreter on wasm-smith modules (tests/smith.py): natively,
with a tier-up threshold of one call and the background compiler running each job in the call
that queues it, so that functions tier up and activations move to their on-stack replacement
entries in the middle of calls, at once and every time; outcomes, results, globals, memories
and tables must be the interpreter's."""

from __future__ import annotations

import os

import pytest

import engine
from engine.exec.native import native_supported
from engine.exec.tierup import BackgroundCompiler
from smith import WASM_TOOLS, Side, agree, smith

pytestmark = [
    pytest.mark.skipif(WASM_TOOLS is None, reason="wasm-tools is not installed (dev extras)"),
    pytest.mark.skipif(not native_supported(), reason="native x86_64 only"),
]

#: Seeds run by default; SMITH_FROM / SMITH_TO widen the sweep
SEEDS = range(int(os.environ.get("SMITH_FROM", 0)), int(os.environ.get("SMITH_TO", 40)))


@pytest.fixture
def compiles_at_once(monkeypatch):
    """The background compiler runs a job in the call that submits it (so a loop's first ask
    finds its entry compiled)."""
    def submit(self, job, failed, cost=0, lane=0):
        try:
            job()
        except BaseException as e:      # noqa: BLE001 - handed to the job's owner
            failed(e)
        return True
    monkeypatch.setattr(BackgroundCompiler, "submit", submit)


def _run(wasm: bytes, seed: int) -> int:
    """Compare the two executors on module `wasm`; the activations that moved."""
    tiered = engine.Engine(engine.Config(tiered_compilation=True, tier_up_threshold=1))
    mine = Side(engine, engine.Store(tiered), wasm, engine.Trap, engine.WasmError)
    ref = Side(engine, engine.Store(engine.Engine(engine.Config(strategy="interpreter"))),
               wasm, engine.Trap, engine.WasmError)
    a, b = mine.instantiate(), ref.instantiate()
    agree(a, b, f"seed {seed}: instantiation")
    if a[0] != "ok":
        return 0
    names = [n for n, item in ref.exports().items() if isinstance(item, engine.Func)]
    for _ in range(2):                  # the second time round, tiered-up code
        for name in names:
            agree(mine.call(name), ref.call(name), f"seed {seed}: call {name!r}")
    assert mine.state() == ref.state(), f"seed {seed}: state after calls"
    lazy = getattr(mine.instance.exec_state.unit, "lazy", None)
    assert lazy is None or not lazy.failures
    return 0 if lazy is None else lazy.osr_moves


@pytest.mark.parametrize("seed", SEEDS)
def test_smith_module_tiered_matches_the_interpreter(seed, compiles_at_once):
    _run(smith(seed), seed)


def test_smith_modules_move_activations(compiles_at_once):
    """The modules above do move activations to their entries (so the test above tests
    that); counted over a few of them."""
    assert sum(_run(smith(seed), seed) for seed in range(8)) > 0
