"""What the stack tests share (tests/exec/test_exec_stack.py): the executors, wasm programs with
large frames or deep re-entry, and a runner that executes a case in a child process, so that a
crash of the process (a segfault) is a test failure instead of the end of the test run."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine.config import host_target

_ROOT = Path(__file__).resolve().parents[2]

#: executor name -> Config settings
EXECUTORS = {
    "interpreter": dict(strategy="interpreter"),
    "x86_64-native": dict(),
    "x86_64-unicorn": dict(target="x86_64", emulate=True),
    "aarch64-unicorn": dict(target="aarch64", emulate=True),
    "riscv64-unicorn": dict(target="riscv64", emulate=True),
}
COMPILED = [name for name in EXECUTORS if name != "interpreter"]


def executor_params(names=None):
    """pytest params for the executors `names` (default: all), skipping what this host lacks."""
    out = []
    for name in names or EXECUTORS:
        marks = []
        if name == "x86_64-native" and host_target() != "x86_64":
            marks.append(pytest.mark.skip(reason="native x86_64 needs an x86_64 host"))
        out.append(pytest.param(name, id=name, marks=marks))
    return out


def spilled_values_wat(nvals: int, recursive: bool) -> str:
    """A function `f(n: i32) -> i64` keeping `nvals` i64 values live across a call (they are
    spilled: the frame is about 8 * nvals bytes). recursive: across a call f(n + 1), forever;
    otherwise they are all live at once (summed last), and f calls nothing."""
    sets = " ".join(f"(local.set {i + 1} (i64.add (i64.extend_i32_u (local.get 0)) "
                    f"(i64.const {i})))" for i in range(nvals))
    acc = "(call $f (i32.add (local.get 0) (i32.const 1)))" if recursive else "(i64.const 0)"
    for i in range(nvals):
        acc = f"(i64.add {acc} (local.get {i + 1}))" if recursive else \
            f"{acc} (local.get {i + 1}) (i64.add)"
    return (f'(module (func $f (export "f") (param i32) (result i64) '
            f'(local {" ".join(["i64"] * nvals)}) {sets} {acc}))')


def run_child(code: str, timeout: float = 240, stack_rlimit: int | None = None) -> str:
    """Run Python `code` in a child process (polyjit on its path; its RLIMIT_STACK set to
    `stack_rlimit` if given); fail the test if the child dies or exits non-zero; return its
    stdout."""
    def limit_stack() -> None:
        if stack_rlimit is not None:
            resource.setrlimit(resource.RLIMIT_STACK, (stack_rlimit, stack_rlimit))

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(_ROOT), str(_ROOT / "tests"), str(_ROOT / "tests" / "exec"),
                                         env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=_ROOT,
                          preexec_fn=limit_stack)
    if proc.returncode != 0:
        how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"status {proc.returncode}"
        pytest.fail(f"child process ended with {how}\nstdout:\n{proc.stdout[-3000:]}\n"
                    f"stderr:\n{proc.stderr[-3000:]}")
    return proc.stdout
