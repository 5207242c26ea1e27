"""Fixtures of the x86_64 backend tests."""

import pytest

from x86_testlib import MODES


@pytest.fixture(params=MODES)
def mode(request) -> str:
    """Where compiled code runs: "native" (x86_64 hosts) and "unicorn"."""
    return request.param
