"""wasmtime-py 50's own WASI tests (../shared/wasmtime-py-tests: tests/test_wasi.py and
test_trap.py's test_wasi_exit), run unchanged against polyjit: the source is executed with
`from wasmtime import *` meaning polyjit's API (WasmtimeError is WasmError)."""

from __future__ import annotations

import os
import unittest

import pytest

import tools

SHARED = tools.SHARED / "wasmtime-py-tests" / "tests"


def _load(name: str) -> dict:
    src = (SHARED / name).read_text()
    assert "from wasmtime import *" in src
    src = src.replace("from wasmtime import *",
                      "from engine import *\nfrom engine import WasmError as WasmtimeError")
    ns: dict = {"__name__": f"wasmtime_py_{name[:-3]}"}
    exec(compile(src, str(SHARED / name), "exec"), ns)
    return ns


@pytest.mark.parametrize("name, case, tests", [
    ("test_wasi.py", "TestWasi", ["test_config", "test_preview1", "preopen_nonexistent",
                                  "test_custom_print"]),
    ("test_trap.py", "TestTrap", ["test_wasi_exit"]),
])
def test_wasmtime_py_wasi_tests(name, case, tests, tmp_path, monkeypatch):
    (tmp_path / "wasmtime").mkdir()          # test_config preopens the relative dir `wasmtime`
    monkeypatch.chdir(tmp_path)
    cls = _load(name)[case]
    suite = unittest.TestSuite(cls(t) for t in tests)
    result = unittest.TextTestRunner(stream=open(os.devnull, "w")).run(suite)
    problems = [f"{t}: {tb}" for t, tb in result.failures + result.errors]
    assert not problems, "\n".join(problems)
    assert result.testsRun == len(tests)
