"""Every IR opcode on edge values (0, -1, INT_MIN, NaN payloads, -0.0, inf), compiled to x86_64
and run natively and under Unicorn, against engine.ir.numerics."""

from __future__ import annotations

import pytest

from backend_ops import check_case, ops_module
from x86_testlib import MODES, build

TEXT, CASES = ops_module()


@pytest.fixture(scope="module", params=[*MODES, "baseline"])
def harness(request):
    """The cases compiled for each run mode, and once more for a CPU without SSE4.1, POPCNT,
    LZCNT and BMI1 (the fallback sequences), run where x86_64 code runs."""
    if request.param == "baseline":
        from engine.ir.parser import parse_functions
        from engine.exec.harness import Harness
        h = Harness(parse_functions(TEXT), emulate=MODES == ["unicorn"], features=frozenset())
    else:
        h = build(TEXT, request.param)
    yield h
    h.close()


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[2]}-{c[3]}-{c[4]}")
def test_op_matches_numerics(harness, case):
    assert check_case(harness, case) > 0
