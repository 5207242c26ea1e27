"""Spec scripts through the public runtime API with the CompiledExecutor (x86_64 machine code,
native and under Unicorn): linking, imports/exports, tables, element and data segments, bulk
operations, references, start functions. The executor is installed for compiler-strategy
engines here; tests/spec runs the whole suite once the runtime selects it itself."""

from __future__ import annotations

import platform

import pytest

from spec.cache import SUITE_DIR
from spec.results import Status
from spec.runner import run_target
from spec.targets import Target

# The same spec files run on every target through the public API in tests/spec/ (the CI set);
# this second path (the test harness / a hand-attached executor) is part of the full matrix.
pytestmark = pytest.mark.slow

NATIVE = platform.machine().lower() in ("x86_64", "amd64")
MODES = ["native", "unicorn"] if NATIVE else ["unicorn"]
FILES = ["linking", "imports", "exports", "elem", "data", "start", "bulk", "memory_grow",
         "memory_init", "table_copy", "table_init", "table_grow", "table_fill", "table_get",
         "table_set", "table_size", "ref_func", "ref_null", "ref_is_null", "call_indirect",
         "global", "func_ptrs", "select", "unreached-valid", "fac", "skip-stack-guard-page"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", FILES)
def test_runtime_spec_file(name, mode):
    wast = SUITE_DIR / f"{name}.wast"
    if not wast.exists():
        pytest.skip(f"{wast} is not in the suite")
    settings = {"strategy": "compiler", "target": "x86_64"}
    if mode == "unicorn":
        settings["emulate"] = True
    result = run_target(wast, Target("x86_64", settings=settings))
    assert not result.failures, result.failures[:5]
    assert result.tally.total(Status.NOT_RUN) == 0, result.not_run_reasons[:3]
    assert result.tally.total(Status.PASSED) > 0
