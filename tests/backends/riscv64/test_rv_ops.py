"""Every IR opcode on edge values (0, -1, INT_MIN, NaN payloads, -0.0, inf), compiled to riscv64
and run under Unicorn, against engine.ir.numerics (the case table is tests/backend_ops.py)."""

from __future__ import annotations

from target_testlib import op_tests

from .rv_testlib import MODES, build

harness, test_op_matches_numerics = op_tests(build, MODES)
