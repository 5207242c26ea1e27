"""Shared helpers of the aarch64 backend tests: run modes and helpers that compile IR text for
aarch64 (into a Harness, or to assembly text); see tests/backends/target_testlib.py."""

from __future__ import annotations

from functools import partial

from target_testlib import assembly as _assembly
from target_testlib import builder

#: where aarch64 code runs: Unicorn only (engine.exec.native's helper stubs are x86_64 code, so
#: native runs on aarch64 hosts are not available yet; Harness refuses them)
MODES = ["unicorn"]

build = builder("aarch64")
assembly = partial(_assembly, "aarch64")
