"""Test helpers every backend's tests share: compile IR text for a target into a Harness or to
assembly text, the target-independent program tests of tests/backends/x86_64/
test_x86_programs.py rebound to another target, and the per-opcode numerics tests of
tests/backend_ops.py as a fixture and a test function a target's test module takes over."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Callable

import pytest

from backend_ops import check_case, ops_module
from support.harness import Harness, HarnessSpec
from engine.ir.parser import parse_functions

_X86_DIR = Path(__file__).resolve().parent / "x86_64"

Build = Callable[..., Harness]


def builder(target: str) -> Build:
    """`build(text, mode="unicorn", spec=None)`: IR text compiled for `target` into a Harness
    that runs under Unicorn (mode "unicorn") or natively."""

    def build(text: str, mode: str = "unicorn", spec: HarnessSpec | None = None) -> Harness:
        return Harness(parse_functions(text), spec, emulate=(mode == "unicorn"), target=target)

    return build


def assembly(target: str, text: str) -> str:
    """The assembly `target`'s backend emits for IR text (for checking instruction choice)."""
    from engine.compile.registry import backend_class
    from engine.environ.module_info import ModuleInfo
    from engine.environ.vmctx import VMOffsets
    funcs = parse_functions(text)
    info = ModuleInfo(VMOffsets(1, 0, 0, 0, 0), [(tuple(f.params), tuple(f.results))
                                                 for f in funcs])
    backend = backend_class(target)()
    return "\n".join(line for f in funcs for line in backend.compile_function(f, info))


def shared_programs(target: str, build: Build) -> tuple[ModuleType, list[str]]:
    """test_x86_programs.py loaded as a separate module whose `build` is `build`, and the names
    of its tests."""
    sys.path.insert(0, str(_X86_DIR))
    try:
        spec = importlib.util.spec_from_file_location(f"{target}_shared_programs",
                                                      _X86_DIR / "test_x86_programs.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(str(_X86_DIR))
    mod.build = build
    return mod, sorted(n for n in vars(mod) if n.startswith("test_"))


def program_tests(shared: ModuleType, names: list[str], modes: list[str]):
    """The two tests a target's program module takes over: the shared programs were found,
    and each of them passes in each run mode."""

    def test_shared_programs_found():
        assert len(names) >= 10

    @pytest.mark.parametrize("mode", modes)
    @pytest.mark.parametrize("name", names)
    def test_shared_program(name, mode):
        getattr(shared, name)(mode)

    return test_shared_programs_found, test_shared_program


def op_tests(build: Build, params: list[str]):
    """The fixture and test a target's op module takes over: every case of
    tests/backend_ops.py compiled once per run mode (`build(text, param)`) and checked against
    engine.ir.numerics."""
    text, cases = ops_module()

    @pytest.fixture(scope="module", params=params)
    def harness(request):
        h = build(text, request.param)
        yield h
        h.close()

    @pytest.mark.parametrize("case", cases, ids=lambda c: f"{c[0]}-{c[2]}-{c[3]}-{c[4]}")
    def test_op_matches_numerics(harness, case):
        assert check_case(harness, case) > 0

    return harness, test_op_matches_numerics
