"""The WebAssembly 2.0 core spec suite, one test per (file, target).

A test fails when an assertion it ran failed. Assertions a target cannot run yet are counted
"not yet run" (see the table at the end of the run); a test that could run nothing at all is
reported as skipped with the reason, never as passed.
"""

from __future__ import annotations

import pytest

from spec.cache import suite_files
from spec.results import SPEC_PROPERTY, Status
from spec.runner import run_target
from spec.targets import TARGETS

WAST_FILES = suite_files()


@pytest.mark.parametrize("target", [
    pytest.param(t, id=t.name, marks=[pytest.mark.slow] if t.slow else []) for t in TARGETS])
@pytest.mark.parametrize("wast", WAST_FILES, ids=lambda p: p.stem)
def test_spec(wast, target, request) -> None:
    result = run_target(wast, target)
    request.node.user_properties.append(
        (SPEC_PROPERTY, (target.name, result.tally.to_json(), result.not_run_reasons)))
    assert not result.failures, result.summary()
    ran = result.tally.total(Status.PASSED)
    if ran == 0 and result.tally.total(Status.NOT_RUN):
        pytest.skip("not yet run: " + "; ".join(result.not_run_reasons))


def test_suite_is_present() -> None:
    assert len(WAST_FILES) >= 90, f"expected the 2.0 core suite, found {len(WAST_FILES)} files"
