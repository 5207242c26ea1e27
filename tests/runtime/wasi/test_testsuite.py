"""The official WASI test suite (../shared/wasi-testsuite, 72 preview-1 tests in C, Rust and
AssemblyScript), each run as `polyjit run` on a temporary copy of its directory, as the
suite's own runner does (suite.py). Natively and on aarch64 under Unicorn in CI; x86_64 under
Unicorn, riscv64 and the IR interpreter with POLYJIT_FULL=1 (`slow`)."""

from __future__ import annotations

import pytest

import suite

CASES = suite.cases()

TARGETS = [
    pytest.param((None, False, None), id="native"),
    pytest.param(("aarch64", False, None), id="aarch64-emu"),
    pytest.param(("x86_64", True, None), id="x86_64-emu", marks=pytest.mark.slow),
    pytest.param(("riscv64", False, None), id="riscv64-emu", marks=pytest.mark.slow),
    pytest.param((None, False, "interpreter"), id="interpreter", marks=pytest.mark.slow),
]


def test_suite_is_complete():
    # the 72 preview-1 tests of SOURCE.md: c 14, assemblyscript 12, rust 46
    counts = {lang: sum(1 for c in CASES if c.parents[2].name == lang) for lang in suite.FOLDERS}
    assert counts == {"c": 14, "assemblyscript": 12, "rust": 46}


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("wasm", CASES, ids=[suite.case_id(c) for c in CASES])
def test_wasi_testsuite(wasm, target, tmp_path):
    arch, emulate, strategy = target
    outcome = suite.run_case(wasm, tmp_path, arch, emulate, strategy=strategy)
    assert outcome.ok, f"{outcome.why}\nstderr:\n{outcome.stderr[-3000:]}"
