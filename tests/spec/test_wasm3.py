"""The WebAssembly 3.0 core spec suite, one test per (file, target), converted with
`wasm-tools json-from-wast` (wast2json reads only 173 of its 198 files).

The same runner as test_spec.py; the suite's proposals polyjit does not implement yet (GC,
relaxed SIMD) are listed in skips.py with the reason. What polyjit refuses as "not supported
yet" (typed function references, exceptions), and what runs on such a module, is
counted "not yet run", never passed. Opt-in (`slow`, POLYJIT_FULL=1) while the text parser
still fails some of those proposals' modules (see the README's 3.0 table).
"""

from __future__ import annotations

import pytest

from spec.results import SPEC_PROPERTY, Status
from spec.runner import run_target
from spec.suites import CORE_3_0
from spec.targets import TARGETS

WAST_FILES = CORE_3_0.files()


@pytest.mark.parametrize("target", [
    pytest.param(t, id=t.name, marks=[pytest.mark.slow]) for t in TARGETS])
@pytest.mark.parametrize("wast", WAST_FILES, ids=lambda p: p.stem)
def test_wasm3(wast, target, request) -> None:
    result = run_target(wast, target, CORE_3_0)
    request.node.user_properties.append(
        (SPEC_PROPERTY, (target.name, result.tally.to_json(), result.not_run_reasons)))
    assert not result.failures, result.summary()
    if result.tally.total(Status.PASSED) == 0:
        reasons = result.not_run_reasons or ["every assertion is in skips.py"]
        pytest.skip("not yet run: " + "; ".join(reasons))


def test_suite_is_present() -> None:
    assert len(WAST_FILES) == 198, f"expected the 198 files of 3.0/core, found {len(WAST_FILES)}"
