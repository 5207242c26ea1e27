"""Spec-suite scripts through the x86_64 backend (native and Unicorn) with the test harness
(the runner is exec_spec_runner.py, shared with the other architectures)."""

from __future__ import annotations

import platform

import pytest

from exec_spec_runner import FILES, run_spec_file

# The same spec files run on every target through the public API in tests/spec/ (the CI set);
# this second path (the test harness / a hand-attached executor) is part of the full matrix.
pytestmark = pytest.mark.slow

NATIVE = platform.machine().lower() in ("x86_64", "amd64")
MODES = ["native", "unicorn"] if NATIVE else ["unicorn"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(set(FILES)))
def test_spec_file(name, mode):
    run_spec_file(name, mode, "x86_64")
