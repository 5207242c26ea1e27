"""Spec-suite scripts through the aarch64 backend under Unicorn (and natively on aarch64
hosts) with the test harness; the runner is exec_spec_runner.py, shared with x86_64."""

from __future__ import annotations

import platform

import pytest

from exec_spec_runner import FILES, run_spec_file

NATIVE = platform.machine().lower() in ("aarch64", "arm64")
MODES = ["native", "unicorn"] if NATIVE else ["unicorn"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(set(FILES)))
def test_spec_file(name, mode):
    run_spec_file(name, mode, "aarch64")
