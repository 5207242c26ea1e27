"""Every IR opcode on edge values (0, -1, INT_MIN, NaN payloads, -0.0, inf), compiled to riscv64
and run under Unicorn, against engine.ir.numerics (the case table is tests/backend_ops.py)."""

from __future__ import annotations

import pytest

from backend_ops import check_case, ops_module

from .rv_testlib import MODES, build

TEXT, CASES = ops_module()


@pytest.fixture(scope="module", params=MODES)
def harness(request):
    h = build(TEXT, request.param)
    yield h
    h.close()


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[2]}-{c[3]}-{c[4]}")
def test_op_matches_numerics(harness, case):
    assert check_case(harness, case) > 0
