"""Every IR opcode on edge values (0, -1, INT_MIN, NaN payloads, -0.0, inf), compiled to aarch64
and run under Unicorn (natively too on aarch64 hosts), against engine.ir.numerics."""

from __future__ import annotations

from a64_testlib import MODES, build
from target_testlib import op_tests

harness, test_op_matches_numerics = op_tests(build, MODES)
