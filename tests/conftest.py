"""Shared pytest fixtures (external tools) and the spec-suite summary table.

Fixtures: `wast2json_exe`, `wat2wasm_exe`, `wasm_tools_exe` (Paths of the external tools;
see tests/tools.py), `wat_to_wasm` (text -> bytes with wasm-tools, the reference encoder).

Spec results: each tests/spec item records its counts in `user_properties` ("spec_tally",
target, JSON). Those travel with the test report, so under pytest-xdist they reach the
controlling process, which prints one table per target at the end of the run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_TESTS = Path(__file__).resolve().parent
for _path in (str(_TESTS.parent), str(_TESTS)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import tools  # noqa: E402

SPEC_PROPERTY = "spec_tally"
_SPEC_KEY = pytest.StashKey[dict]()


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

def pytest_configure(config: pytest.Config) -> None:
    config.stash[_SPEC_KEY] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call":
        return
    for name, value in getattr(report, "user_properties", ()):
        if name == SPEC_PROPERTY:
            target, tally_json = value
            _reports(report)[report.nodeid] = (target, tally_json)


def _reports(report) -> dict:
    # The hook has no config argument; the stash lives on the session's config.
    return _CONFIG_HOLDER[0].stash[_SPEC_KEY] if _CONFIG_HOLDER else {}


_CONFIG_HOLDER: list = []


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    _CONFIG_HOLDER[:] = [session.config]


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    collected = config.stash.get(_SPEC_KEY, {})
    if not collected:
        return
    from spec.results import Tally, format_text_table
    by_target: dict[str, Tally] = {}
    files: dict[str, int] = {}
    for target, tally_json in collected.values():
        by_target.setdefault(target, Tally()).merge(Tally.from_json(tally_json))
        files[target] = files.get(target, 0) + 1
    for target in sorted(by_target):
        terminalreporter.write_sep("=", f"spec suite on {target} ({files[target]} files)")
        terminalreporter.write_line(format_text_table(by_target[target]))
