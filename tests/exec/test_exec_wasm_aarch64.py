"""WebAssembly text -> decoder -> IR builder -> aarch64 backend -> Unicorn execution: the checks
of test_exec_wasm_x86.py (known results, agreement with the IR interpreter) on aarch64 code."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from support.harness import Harness, HarnessSpec
from engine.ir.builder import build_module
from engine.wasm.decoder import decode


def _x86_checks():
    path = Path(__file__).resolve().parent / "test_exec_wasm_x86.py"
    spec = importlib.util.spec_from_file_location("exec_wasm_checks", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


CHECKS = _x86_checks()


@pytest.fixture
def compiled(wat_to_wasm):
    module = decode(wat_to_wasm(CHECKS.WAT))
    funcs = build_module(module)
    h = Harness(funcs, HarnessSpec(memory=(1, 2)), emulate=True, target="aarch64")
    yield h, funcs
    h.close()


def test_wasm_functions_run(compiled):
    CHECKS.test_wasm_functions_run(compiled)


def test_matches_ir_interpreter_on_pure_functions(compiled):
    CHECKS.test_matches_ir_interpreter_on_pure_functions(compiled)


def test_native_aarch64_code_is_refused_on_other_hosts():
    import platform
    if platform.machine().lower() in ("aarch64", "arm64"):
        pytest.skip("this host runs aarch64 code natively")
    from engine.errors import UnsupportedError
    with pytest.raises(UnsupportedError, match="emulated"):
        Harness([], emulate=False, target="aarch64")
