"""The polyjit command's compile, inspect, wast subcommands and `run` of precompiled files:
output, errors as one line on stderr with a non-zero exit, --help on each."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tools import SHARED

from engine.tools.cli import main

ROOT = Path(__file__).resolve().parents[2]
FIB = ROOT / "examples" / "fib.wat"
SPEC = SHARED / "spec-testsuite" / "2.0" / "core"


def _fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def test_compile_then_run_native_artifact(tmp_path, capsys):
    out = tmp_path / "fib.pjit"
    assert main(["compile", str(FIB), "-o", str(out)]) == 0
    assert "x86_64 code" in capsys.readouterr().out
    assert out.read_bytes()[:8] == b"\0polyjit"
    assert main(["run", str(out), "--invoke", "fib", "20"]) == 0
    assert capsys.readouterr().out.split() == [str(_fib(20))]


def test_run_text_with_the_compiler(capsys):
    assert main(["run", str(FIB), "--invoke", "fib", "25"]) == 0
    assert capsys.readouterr().out.split() == [str(_fib(25))]


@pytest.mark.parametrize("target", ["aarch64", "riscv64"])
def test_foreign_artifact_compiles_and_native_run_refuses_it(tmp_path, capsys, target):
    out = tmp_path / f"fib.{target}"
    assert main(["compile", str(FIB), "--target", target, "-o", str(out)]) == 0
    assert f"{target} code" in capsys.readouterr().out
    assert main(["run", str(out), "--target", "x86_64", "--invoke", "fib", "5"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"polyjit: error: target: compiled for {target}, but this engine targets "
                   f"x86_64"]


@pytest.mark.parametrize("target", ["aarch64", "riscv64"])
def test_run_foreign_artifact_under_unicorn(tmp_path, capsys, target):
    out = tmp_path / f"fib.{target}"
    assert main(["compile", str(FIB), "--target", target, "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["run", str(out), "--invoke", "fib", "15"]) == 0
    assert capsys.readouterr().out.split() == [str(_fib(15))]


def test_settings_recorded_in_the_artifact_are_used_by_run(tmp_path, capsys):
    out = tmp_path / "fuel.pjit"
    assert main(["compile", str(FIB), "--consume-fuel", "-o", str(out)]) == 0
    capsys.readouterr()
    # a fuel-compiled artifact runs with consume_fuel on: the store starts with no fuel
    assert main(["run", str(out), "--invoke", "fib", "5"]) == 2
    assert "fuel" in capsys.readouterr().err


@pytest.mark.parametrize("target,mnemonic", [("x86_64", "ret"), ("aarch64", "ret"),
                                             ("riscv64", "ret")])
def test_inspect_artifact_disassembles_for_its_target(tmp_path, capsys, target, mnemonic):
    out = tmp_path / "fib.pjit"
    assert main(["compile", str(FIB), "--target", target, "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["inspect", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"target: {target}" in text
    assert "func0" in text and "entry_" in text and "exports (1):" in text
    lines = [ln.split() for ln in text.splitlines()]
    assert any(len(p) >= 3 and p[2] == mnemonic for p in lines)


def test_inspect_module_lists_sections_imports_exports_functions(tmp_path, capsys):
    wat = tmp_path / "m.wat"
    wat.write_text('(module (import "env" "log" (func (param i32))) (memory 1)'
                   ' (func $go (export "go") (call 0 (i32.const 1))))')
    assert main(["inspect", str(wat)]) == 0
    text = capsys.readouterr().out
    for needle in ("text WebAssembly module", "import ", "memory ", "export ", "code ",
                   "env.log", "go:", "functions (1 defined, 1 imported)"):
        assert needle in text, needle


def test_wast_runs_a_spec_script(capsys):
    if not (SPEC / "i32.wast").exists():
        pytest.fail("the spec suite is missing")
    assert main(["wast", str(SPEC / "i32.wast"), "--strategy", "interpreter"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{SPEC / 'i32.wast'}: ") and " 0 failed" in out
    assert int(out.split(": ")[1].split()[0]) > 400


def test_wast_reports_failures_with_exit_status(tmp_path, capsys):
    script = tmp_path / "bad.wast"
    script.write_text('(module (func (export "one") (result i32) (i32.const 1)))\n'
                      '(assert_return (invoke "one") (i32.const 1))\n'
                      '(assert_return (invoke "one") (i32.const 2))\n'
                      '(assert_trap (invoke "one") "unreachable")\n')
    assert main(["wast", str(script), "--strategy", "interpreter"]) == 3
    out = capsys.readouterr().out
    assert "2 passed, 2 failed" in out and "line 3" in out and "line 4" in out


def test_wast_reads_module_definitions_and_instances(tmp_path, capsys):
    # 3.0's script forms: a definition is compiled, not instantiated; each instance is new
    script = tmp_path / "generative.wast"
    script.write_text('(module definition $M (global (export "g") (mut i32) (i32.const 0))\n'
                      '  (func (export "bump") (global.set 0 (i32.add (global.get 0) '
                      '(i32.const 1)))))\n'
                      '(module instance $A $M)\n'
                      '(module instance $B $M)\n'
                      '(invoke $A "bump")\n'
                      '(assert_return (get $A "g") (i32.const 1))\n'
                      '(assert_return (get $B "g") (i32.const 0))\n'
                      '(module instance)\n'
                      '(assert_return (get "g") (i32.const 0))\n'
                      '(module instance $C $Nothing)\n')
    assert main(["wast", "-v", str(script), "--strategy", "interpreter"]) == 3
    out = capsys.readouterr().out
    assert "8 passed, 1 failed" in out and "no module definition Nothing" in out


def test_wast_expects_a_null_of_any_reference_type(tmp_path, capsys):
    script = tmp_path / "null.wast"
    script.write_text('(module (func (export "f") (result funcref) (ref.null func))\n'
                      '  (func (export "e") (result externref) (ref.null extern))\n'
                      '  (func (export "g") (result funcref) (ref.func 0)))\n'
                      '(assert_return (invoke "f") (ref.null))\n'
                      '(assert_return (invoke "e") (ref.null))\n'
                      '(assert_return (invoke "g") (ref.null))\n')
    assert main(["wast", str(script), "--strategy", "interpreter"]) == 3
    assert "3 passed, 1 failed" in capsys.readouterr().out


@pytest.mark.parametrize("argv,needle", [
    (["compile", "missing.wat", "-o", "x"], "No such file"),
    (["inspect", "missing.pjit"], "No such file"),
    (["run", "@bad"], "No such file"),
])
def test_user_errors_are_one_line(argv, needle, capsys):
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]


def test_damaged_artifact_is_one_line_error(tmp_path, capsys):
    out = tmp_path / "fib.pjit"
    assert main(["compile", str(FIB), "-o", str(out)]) == 0
    data = bytearray(out.read_bytes())
    data[len(data) // 2] ^= 0x10
    out.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["run", str(out), "--invoke", "fib", "3"]) == 1
    assert capsys.readouterr().err.strip() == ("polyjit: error: damaged artifact: checksum "
                                               "mismatch (sha256 of the contents differs from "
                                               "the stored one)")


@pytest.mark.parametrize("command", ["run", "compile", "inspect", "wast", "validate"])
def test_help_on_each_command(command):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "engine.tools.cli", command, "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0 and proc.stdout.startswith(f"usage: polyjit {command}")
    assert "FILE" in proc.stdout


def test_compile_error_through_the_process_has_no_traceback(tmp_path):
    bad = tmp_path / "bad.wat"
    bad.write_text("(module (func (result i32)))")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "engine.tools.cli", "compile", str(bad), "-o",
                           str(tmp_path / "o")], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env=env)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith("polyjit: error: invalid")
