"""wasmtime-py 50.0.1's own tests and examples (../shared/wasmtime-py-tests, unmodified) run
against polyjit: a copy of the folder is run by pytest in a subprocess whose `wasmtime` is
tests/api/wasmtime_shim (a package that only re-exports polyjit's names). Every test passes
except those in NOT_YET, the one list of what polyjit does not have yet, each with the issue
that brings it; a test listed there must still fail (so the list is kept honest), and the
component-model files must fail with polyjit's "not supported yet: components" error.

The examples print what they print with wasmtime itself (the `wasmtime` wheel, a dev
dependency): each runs once per side, from the copy's root as their relative paths expect."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools import SHARED

_ROOT = Path(__file__).resolve().parents[2]
SUITE = SHARED / "wasmtime-py-tests"
SHIM = Path(__file__).resolve().parent / "wasmtime_shim"

#: test id -> why it cannot pass yet (the issue or later work that brings it)
NOT_YET: dict[str, str] = {
    **{f"tests/test_shared_memory.py::TestSharedMemory::{t}":
       "threads: SharedMemory and Config.shared_memory (the threads proposal, a later issue)"
       for t in ("test_new", "test_grow", "test_errors", "test_memory_type_has_to_be_shared")},
    "tests/test_memory.py::TestMemory::test_page_size_custom":
        "custom-page-sizes proposal (Config.wasm_custom_page_sizes; not in WebAssembly 3.0, "
        "later work)",
}

#: whole files: the component model (a later issue) and a private module of wasmtime-py
NOT_YET_FILES: dict[str, str] = {
    **{f"tests/component/{name}": "components (the component model, a later issue)"
       for name in ("test_component.py", "test_func.py", "test_instance.py",
                    "test_linker.py", "test_types.py", "test_value.py")},
    "tests/test_slab.py": "not part of the API: tests wasmtime._slab, a private module of "
                          "wasmtime-py",
}

_LINE = re.compile(r"^(PASSED|FAILED|ERROR|XFAIL|XPASS|SKIPPED) (\S+?)(?: - (.*))?$")


def _env(shim: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    paths = ([str(SHIM)] if shim else []) + [str(_ROOT)]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["PYTHONUNBUFFERED"] = "1"
    env["COLUMNS"] = "400"                # pytest's summary lines keep the whole message
    return env


def _copy(tmp: Path) -> Path:
    work = tmp / "wasmtime-py-tests"
    shutil.copytree(SUITE, work)
    (work / "wasmtime").mkdir()       # test_wasi preopens the relative directory `wasmtime`
    return work


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, tuple[str, str]]:
    """test id (or file, for a file that fails to import) -> (outcome, message), from one
    pytest run of the whole suite against polyjit."""
    work = _copy(tmp_path_factory.mktemp("suite"))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist",
         "-c", os.devnull, "-rA", "-q", "--tb=no", "--continue-on-collection-errors",
         "tests"],
        cwd=work, env=_env(shim=True), capture_output=True, text=True, timeout=900)
    found: dict[str, tuple[str, str]] = {}
    for line in proc.stdout.splitlines():
        m = _LINE.match(line)
        if m:
            found[m.group(2)] = (m.group(1), m.group(3) or "")
    assert found, proc.stdout[-3000:] + proc.stderr[-3000:]
    return found


def _files() -> list[str]:
    return sorted(str(p.relative_to(SUITE)) for p in (SUITE / "tests").rglob("test_*.py"))


@pytest.mark.parametrize("path", _files())
def test_wasmtime_py_test_file(path, outcomes):
    if path in NOT_YET_FILES:
        mine = {k: v for k, v in outcomes.items() if k == path or k.startswith(path + "::")}
        assert mine, f"{path}: not run"
        assert all(o in ("FAILED", "ERROR") for o, _ in mine.values()), \
            f"{path} passes now: take it off NOT_YET_FILES"
        if "component" in path:
            for o, msg in mine.values():
                assert "not supported yet: components" in msg, (path, o, msg)
        return
    mine = {k: v for k, v in outcomes.items() if k.startswith(path + "::")}
    assert mine, f"{path}: no test ran (import error?): {outcomes.get(path)}"
    wrong = [f"{k}: {o} {msg}" for k, (o, msg) in mine.items()
             if (o == "PASSED") == (k in NOT_YET)]
    assert not wrong, ("tests that fail (or, listed in NOT_YET, pass now):\n"
                       + "\n".join(wrong))


def test_not_yet_lists_only_real_tests(outcomes):
    missing = [t for t in NOT_YET if t not in outcomes]
    assert not missing, missing
    assert all(f in _files() for f in NOT_YET_FILES)


EXAMPLES = ["gcd.py", "hello.py", "linking.py", "memory.py", "multi.py"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_prints_what_wasmtime_prints(name, tmp_path):
    work = _copy(tmp_path)
    runs = {}
    for side, shim in (("wasmtime", False), ("polyjit", True)):
        proc = subprocess.run([sys.executable, str(work / "examples" / name)], cwd=work,
                              env=_env(shim), capture_output=True, text=True, timeout=300)
        runs[side] = (proc.returncode, proc.stdout, proc.stderr)
    assert runs["wasmtime"][0] == 0, runs["wasmtime"]
    assert runs["polyjit"][0] == 0, runs["polyjit"]
    assert runs["polyjit"][1] == runs["wasmtime"][1]
    assert runs["polyjit"][1].strip()            # every example prints something
