"""Differential test on modules from wasm-smith (`wasm-tools smith`, tests/smith.py): whole
random modules (globals, tables, memories, segments, start functions, calls, every 2.0
instruction but SIMD) are instantiated and every exported function is called, on polyjit's
interpreter and on wasmtime; outcomes, results, globals and memory contents must agree."""

from __future__ import annotations

import os

import pytest

import engine
from smith import MEMORY64_FLAGS, WASM_TOOLS, Side, agree, smith

wasmtime = pytest.importorskip("wasmtime")

#: Seeds run by default; SMITH_FROM / SMITH_TO widen the sweep (0..500 passes as committed).
SEEDS = range(int(os.environ.get("SMITH_FROM", 0)), int(os.environ.get("SMITH_TO", 80)))


@pytest.mark.skipif(WASM_TOOLS is None, reason="wasm-tools is not installed (dev extras)")
@pytest.mark.parametrize("seed", SEEDS)
def test_smith_module_matches_wasmtime(seed):
    _differential(smith(seed), seed)


@pytest.mark.skipif(WASM_TOOLS is None, reason="wasm-tools is not installed (dev extras)")
@pytest.mark.parametrize("seed", SEEDS[:40])
def test_smith_memory64_module_matches_wasmtime(seed):
    """memory64: about half of these modules have a 64-bit memory or table (0..600 agreed on
    the interpreter, 0..300 on x86_64, 0..150 on aarch64 and riscv64, when written)."""
    _differential(smith(seed, MEMORY64_FLAGS), seed)


def _differential(wasm: bytes, seed: int) -> None:
    pstore = engine.Store(engine.Engine(engine.Config(strategy="interpreter")))
    wstore = wasmtime.Store()
    mine = Side(engine, pstore, wasm, engine.Trap, engine.WasmError)
    theirs = Side(wasmtime, wstore, wasm, wasmtime.Trap, wasmtime.WasmtimeError)
    a, b = mine.instantiate(), theirs.instantiate()
    agree(a, b, f"seed {seed}: instantiation")
    if a[0] != "ok":
        return
    names = [n for n, item in theirs.exports().items() if isinstance(item, wasmtime.Func)]
    for name in names:
        agree(mine.call(name), theirs.call(name), f"seed {seed}: call {name!r}")
    assert mine.state() == theirs.state(), f"seed {seed}: state after calls"
