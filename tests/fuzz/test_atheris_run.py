"""The atheris entry points run for a bounded time under the atheris wheel (opt-in: set
POLYJIT_ATHERIS=1, after `pip install atheris`; the default run does not). Skipped, with the reason shown, when it is not
asked for or atheris is not installed (`pip install atheris`: a manylinux wheel exists for
CPython 3.11 on x86_64; other platforms build it with clang)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import tools

_ROOT = Path(__file__).resolve().parents[2]

_OPT_IN = [
    pytest.mark.skipif(os.environ.get("POLYJIT_ATHERIS") != "1",
                       reason="atheris run is opt-in: set POLYJIT_ATHERIS=1"),
    pytest.mark.skipif(importlib.util.find_spec("atheris") is None,
                       reason="atheris is not installed (pip install atheris)"),
]


def _opt_in(test):
    for mark in _OPT_IN:
        test = mark(test)
    return test


def _fuzz(tmp_path: Path, *extra: str) -> str:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(_ROOT),
                                                        os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(
        [sys.executable, "-m", "fuzz.atheris_targets", "-targets=interp,x86_64",
         "-max_total_time=15", "-rss_limit_mb=4096", *extra, str(corpus)],
        capture_output=True, text=True, timeout=300, cwd=_ROOT, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stderr


@_opt_in
def test_generated_modules_entry_point_runs(tmp_path):
    err = _fuzz(tmp_path)
    done = re.search(r"Done (\d+) runs", err)
    assert done and int(done.group(1)) > 0, err[-2000:]


@_opt_in
def test_smith_entry_point_runs(tmp_path):
    if tools.find_tool("wasm-tools") is None:
        pytest.skip("wasm-tools not found (the smith entry point needs it)")
    err = _fuzz(tmp_path, "-smith")
    done = re.search(r"Done (\d+) runs", err)
    assert done and int(done.group(1)) > 0, err[-2000:]


def test_oss_fuzz_files_name_every_entry_point():
    """build.sh builds each fuzz/oss-fuzz/fuzz_*.py with compile_python_fuzzer; the OSS-Fuzz
    project files are there."""
    oss = _ROOT / "fuzz" / "oss-fuzz"
    build = (oss / "build.sh").read_text()
    assert "compile_python_fuzzer" in build and "fuzz/oss-fuzz/fuzz_*.py" in build
    assert sorted(p.name for p in oss.glob("fuzz_*.py")) == ["fuzz_polyjit.py",
                                                            "fuzz_polyjit_smith.py"]
    assert "language: python" in (oss / "project.yaml").read_text()
    assert "base-builder-python" in (oss / "Dockerfile").read_text()
