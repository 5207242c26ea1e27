"""Shared helpers of the riscv64 backend tests: compile IR text for riscv64 into a Harness
(run under Unicorn) or to assembly text; see tests/backends/target_testlib.py."""

from __future__ import annotations

from functools import partial

from target_testlib import assembly as _assembly
from target_testlib import builder

#: where riscv64 code runs: Unicorn only (no native riscv64 execution in engine.exec)
MODES = ["unicorn"]

build = builder("riscv64")
assembly = partial(_assembly, "riscv64")
