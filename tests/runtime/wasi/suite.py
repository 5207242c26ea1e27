"""Running one test of the official WASI test suite (../shared/wasi-testsuite) the way its own
runner does (test-runner/wasi_test_runner/test_suite_runner.py): the .json beside the .wasm
gives `args`, `env`, `root` (a directory preopened as "/"), the expected `exit_code` (default 0)
and `stdout`; the command line is `polyjit run --dir ROOT::/ --env K=V ... FILE ARGS...`, run in
a subprocess with stdin, stdout and stderr as pipes, on a temporary copy of the test's folder
(the shared folder is read-only)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tools import SHARED

REPO = Path(__file__).resolve().parents[3]
SUITE = SHARED / "wasi-testsuite" / "tests"
FOLDERS = ("c", "assemblyscript", "rust")


def cases() -> list[Path]:
    """Every preview-1 test (.wasm), sorted."""
    out = []
    for lang in FOLDERS:
        out += sorted((SUITE / lang / "testsuite" / "wasm32-wasip1").glob("*.wasm"))
    return out


def case_id(wasm: Path) -> str:
    return f"{wasm.parents[2].name}/{wasm.stem}"


@dataclass
class Outcome:
    ok: bool
    exit_code: int
    expected_code: int
    stdout: str
    stderr: str
    why: str


def _make_writable(root: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o755)
        for f in filenames:
            p = os.path.join(dirpath, f)
            if not os.path.islink(p):
                os.chmod(p, os.stat(p).st_mode | stat.S_IWUSR)


def run_case(wasm: Path, tmp: Path, target: str | None = None, emulate: bool = False,
             timeout: float = 900, strategy: str | None = None) -> Outcome:
    """Run one suite test under `polyjit run`; the outcome against its .json."""
    spec_path = wasm.with_suffix(".json")
    spec = json.loads(spec_path.read_text()) if spec_path.exists() else {}
    cmd = [sys.executable, "-m", "engine.tools.cli", "run"]
    if target:
        cmd += ["--target", target]
    if emulate:
        cmd += ["--emulate"]
    if strategy:
        cmd += ["--strategy", strategy]
    if spec.get("root"):
        src = wasm.parent / spec["root"]
        dst = tmp / spec["root"]
        shutil.copytree(src, dst, symlinks=True)
        _make_writable(dst)
        cmd += ["--dir", f"{dst}::/"]
    for k, v in spec.get("env", {}).items():
        cmd += ["--env", f"{k}={v}"]
    cmd += [str(wasm), *spec.get("args", [])]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(cmd, stdin=subprocess.PIPE, capture_output=True, text=True,
                          timeout=timeout, cwd=tmp, env=env)
    want_code = spec.get("exit_code", 0)
    why = []
    if proc.returncode != want_code:
        why.append(f"exit code {proc.returncode}, expected {want_code}")
    if "stdout" in spec and proc.stdout != spec["stdout"]:
        why.append(f"stdout {proc.stdout!r}, expected {spec['stdout']!r}")
    return Outcome(not why, proc.returncode, want_code, proc.stdout, proc.stderr,
                   "; ".join(why))
