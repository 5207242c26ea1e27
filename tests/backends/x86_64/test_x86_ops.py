"""Every IR opcode on edge values (0, -1, INT_MIN, NaN payloads, -0.0, inf), compiled to x86_64
and run natively and under Unicorn, against engine.ir.numerics."""

from __future__ import annotations

from support.harness import Harness
from engine.ir.parser import parse_functions
from target_testlib import op_tests
from x86_testlib import MODES, build


def _build(text: str, mode: str) -> Harness:
    """The cases compiled for each run mode, and once more ("baseline") for a CPU without
    SSE4.1, POPCNT, LZCNT and BMI1 (the fallback sequences), run where x86_64 code runs."""
    if mode == "baseline":
        return Harness(parse_functions(text), emulate=MODES == ["unicorn"], features=frozenset())
    return build(text, mode)


harness, test_op_matches_numerics = op_tests(_build, [*MODES, "baseline"])
