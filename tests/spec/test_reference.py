"""The harness checked against the reference, wasmtime-py (default features).

Run without the skip list, every file must fail exactly at the assertions skips.py names:
the skips (f32 signaling NaNs that cannot cross a Python float) and the reference's known
failures (rules WebAssembly 3.0 changed). So the harness's rules agree with wasmtime on the
other ~28,000 assertions, and every entry of skips.py is shown to be needed.
"""

from __future__ import annotations

import pytest

from spec.cache import converted, suite_files
from spec.executor import make_executor
from spec.results import Status
from spec.runner import ScriptRunner
from spec.skips import REFERENCE_KNOWN_FAILURES, SKIPS
from spec.wast import load_script

wasmtime = pytest.importorskip("wasmtime", reason="wasmtime-py is a dev dependency")

WAST_FILES = suite_files()


@pytest.mark.parametrize("wast", WAST_FILES, ids=lambda p: p.stem)
def test_reference_fails_only_where_listed(wast) -> None:
    script = load_script(converted(wast), wast.stem, wast)
    result = ScriptRunner(script, make_executor("wasmtime"), "wasmtime",
                          skip_for=lambda file, line: None).run()
    listed = {s.line for s in (*SKIPS, *REFERENCE_KNOWN_FAILURES) if s.file == wast.stem}
    unexpected = [f for f, line in zip(result.failures, result.failed_lines)
                  if line not in listed]
    assert not unexpected, "\n".join(unexpected[:20])
    assert set(result.failed_lines) == listed, "listed in skips.py but passes on wasmtime"
    assert result.tally.total(Status.NOT_RUN) == 0 and result.tally.total(Status.SKIPPED) == 0
    assert result.tally.total(Status.FAILED) == len(result.failures)


def test_skip_entries_name_real_assertions() -> None:
    by_file = {}
    for skip in (*SKIPS, *REFERENCE_KNOWN_FAILURES):
        by_file.setdefault(skip.file, []).append(skip)
    stems = {w.stem: w for w in WAST_FILES}
    for file, skips in by_file.items():
        skips = [s for s in skips if s.suite == "2.0/core"]    # what this suite's files hold
        if not skips:
            continue
        assert file in stems, f"skips.py names {file}.wast, which is not in the suite"
        lines = {c.line for c in load_script(converted(stems[file]), file).commands}
        for skip in skips:
            assert skip.line in lines, f"{file}.wast:{skip.line} is not an assertion"
            assert skip.reason
