"""The WebAssembly 2.0 fixed-width SIMD suite (2.0/simd, 58 files), one test per (file, target),
through the same runner as the core suite (test_spec.py).

A machine-code target whose backend has no SIMD yet reports every assertion of these files as
"not yet run" with polyjit's own reason (asked by compiling a one-instruction SIMD module);
it is never counted as passed or failed.
"""

from __future__ import annotations

import functools

import pytest

import engine
from spec.cache import converted
from spec.results import SPEC_PROPERTY, Status
from spec.runner import run_target
from spec.skips import SKIPS
from spec.suites import SIMD_2_0
from spec.wast import load_script
from spec.targets import TARGETS, Target

WAST_FILES = SIMD_2_0.files()

_PROBE = '(module (func (export "f") (result v128) (v128.const i32x4 1 2 3 4)))'


@functools.cache
def simd_missing(target: Target) -> str | None:
    """Why `target` cannot run SIMD code yet (None: it can)."""
    if target.api != "polyjit":
        return None
    eng = engine.Engine(engine.Config(**target.settings))
    try:
        store = engine.Store(eng)
        instance = engine.Instance(store, engine.Module(eng, _PROBE), [])
        instance.exports(store)["f"](store)
    except engine.UnsupportedError as e:
        return str(e)
    return None


#: CI runs the suite on the interpreter, native x86_64 and x86_64 under Unicorn; the other
#: emulated targets are part of the full matrix (POLYJIT_FULL=1, marker `slow`)
_CI_TARGETS = ("interpreter", "x86_64", "x86_64-emulated")


def _slow(t: Target) -> bool:
    return t.slow or t.name not in _CI_TARGETS


@pytest.mark.parametrize("target", [
    pytest.param(t, id=t.name, marks=[pytest.mark.slow] if _slow(t) else []) for t in TARGETS])
@pytest.mark.parametrize("wast", WAST_FILES, ids=lambda p: p.stem)
def test_simd(wast, target, request) -> None:
    result = run_target(wast, target, SIMD_2_0, missing=simd_missing(target))
    request.node.user_properties.append(
        (SPEC_PROPERTY, (target.name, result.tally.to_json(), result.not_run_reasons)))
    assert not result.failures, result.summary()
    ran = result.tally.total(Status.PASSED)
    if ran == 0 and result.tally.total(Status.NOT_RUN):
        pytest.skip("not yet run: " + "; ".join(result.not_run_reasons))


def test_simd_suite_is_present() -> None:
    assert len(WAST_FILES) == 58, f"expected the 58 files of 2.0/simd, found {len(WAST_FILES)}"


def test_simd_skip_entries_name_real_assertions() -> None:
    stems = {w.stem: w for w in WAST_FILES}
    skips = [s for s in SKIPS if s.suite == SIMD_2_0.name]
    assert skips, "the SIMD suite's one skip (an f32 signalling NaN) is listed"
    for skip in skips:
        assert skip.file in stems, f"skips.py names {skip.file}.wast, not in 2.0/simd"
        lines = {c.line for c in load_script(converted(stems[skip.file]), skip.file).commands}
        assert skip.line in lines and skip.reason
