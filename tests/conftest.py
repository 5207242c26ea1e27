"""Shared pytest fixtures (external tools) and the spec-suite summary table.

Fixtures: `wast2json_exe`, `wat2wasm_exe`, `wasm_tools_exe` (Paths of the external tools;
see tests/tools.py), `wat_to_wasm` (text -> bytes with wasm-tools, the reference encoder).

Tests marked `slow` (the full per-target matrix) are skipped unless POLYJIT_FULL=1.

Spec results: each tests/spec item records its counts in `user_properties` ("spec_tally",
(target, tally JSON, not-yet-run reasons)). Those travel with the test report, so under pytest-xdist they reach the
controlling process, which prints one table per target at the end of the run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

_TESTS = Path(__file__).resolve().parent
for _path in (str(_TESTS.parent), str(_TESTS)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import tools  # noqa: E402

from spec.results import SPEC_PROPERTY  # noqa: E402


@pytest.fixture(scope="session")
def wast2json_exe() -> Path:
    return tools.require_tool("wast2json")


@pytest.fixture(scope="session")
def wat2wasm_exe() -> Path:
    return tools.require_tool("wat2wasm")


@pytest.fixture(scope="session")
def wasm_tools_exe() -> Path:
    return tools.require_tool("wasm-tools")


@pytest.fixture(scope="session")
def wat_to_wasm():
    """A function: WebAssembly text -> binary, assembled by wasm-tools."""
    tools.require_tool("wasm-tools")
    return tools.wat_to_wasm


# ------------------------------------------------------------------ spec summary table

class SpecSummary:
    """Collects the spec tallies of finished tests and prints one table per target."""

    def __init__(self) -> None:
        self.collected: dict[str, tuple[str, str, list[str]]] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        for name, value in getattr(report, "user_properties", ()):
            if name == SPEC_PROPERTY:
                target, tally_json, reasons = value
                self.collected[report.nodeid] = (target, tally_json, list(reasons))

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.collected:
            return
        from spec.results import Tally, format_text_table
        from spec.targets import BY_NAME
        by_target: dict[str, Tally] = {}
        files: dict[str, int] = {}
        reasons: dict[str, list[str]] = {}
        for target, tally_json, why in self.collected.values():
            by_target.setdefault(target, Tally()).merge(Tally.from_json(tally_json))
            files[target] = files.get(target, 0) + 1
            seen = reasons.setdefault(target, [])
            seen += [r for r in why if r not in seen]
        order = list(BY_NAME)
        for target in sorted(by_target, key=lambda t: (order.index(t) if t in order else 99, t)):
            terminalreporter.write_sep("=", f"spec suite on {target} ({files[target]} files)")
            terminalreporter.write_line(format_text_table(by_target[target]))
            if reasons[target]:
                terminalreporter.write_line("not yet run because: " + "; ".join(reasons[target]))


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(SpecSummary(), "polyjit-spec-summary")


# ------------------------------------------------------------------------- slow tests

def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `slow` (the full per-target matrix) run only with POLYJIT_FULL=1."""
    if os.environ.get("POLYJIT_FULL") == "1":
        return
    skip = pytest.mark.skip(reason="slow (full matrix): run with POLYJIT_FULL=1")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)
