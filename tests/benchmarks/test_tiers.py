"""benchmarks/tiers.py: both x86_64 tiers compile every function of a module and the figures
add up (a function the baseline refuses is counted, not timed)."""

from __future__ import annotations

from benchmarks import tiers

WAT = """(module
  (func (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
  (func (param i64) (result i64) (local v128) (i64.add (local.get 0) (i64.const 1)))
  (func (param f64) (result f64) (f64.sqrt (local.get 0))))"""


def test_both_tiers_compile_every_function():
    t = tiers.measure(WAT)
    assert t.functions == 3 and t.refused == 1
    assert t.baseline_s > 0 and t.optimising_s > 0 and t.median_ratio > 0
    assert t.baseline_bytes > 0 and t.optimising_bytes > 0
