"""Spec-suite scripts through the aarch64 backend under Unicorn with the test harness; the
runner is exec_spec_runner.py, shared with the other architectures."""

from __future__ import annotations

import pytest

from exec_spec_runner import FILES, run_spec_file

# The same spec files run on every target through the public API in tests/spec/ (the CI set);
# this second path (the test harness / a hand-attached executor) is part of the full matrix.
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", sorted(set(FILES)))
def test_spec_file(name):
    run_spec_file(name, "unicorn", "aarch64")
