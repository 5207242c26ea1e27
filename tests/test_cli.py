"""The `polyjit` command: run, validate, and its errors (one line on stderr, non-zero exit)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.tools.cli import main

FIB = Path(__file__).resolve().parent.parent / "examples" / "fib.wat"


def test_run_invokes_export_and_prints_result(capsys):
    assert main(["run", str(FIB), "--invoke", "fib", "20", "--strategy", "interpreter"]) == 0
    assert capsys.readouterr().out.split() == ["6765"]


def test_run_unknown_export_is_one_line_error(capsys):
    assert main(["run", str(FIB), "--invoke", "nope", "--strategy", "interpreter"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no exported function 'nope'" in err[0] and "fib" in err[0]


def test_run_wrong_argument_count(capsys):
    assert main(["run", str(FIB), "--invoke", "fib", "--strategy", "interpreter"]) == 1
    assert "takes 1 argument" in capsys.readouterr().err


def test_run_bad_argument_value(capsys):
    assert main(["run", str(FIB), "--invoke", "fib", "x1", "--strategy", "interpreter"]) == 1
    assert "not a valid i32" in capsys.readouterr().err


def test_run_trap_exit_code(tmp_path, capsys):
    wat = tmp_path / "trap.wat"
    wat.write_text('(module (func (export "boom") unreachable))')
    assert main(["run", str(wat), "--invoke", "boom", "--strategy", "interpreter"]) == 2
    assert "unreachable" in capsys.readouterr().err


def test_validate_reports_invalid_module(tmp_path, capsys):
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"\0asm\x02\0\0\0")
    assert main(["validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("polyjit: error:") and "version" in err


def test_missing_file(capsys):
    assert main(["validate", "/nonexistent/x.wasm"]) == 1
    assert "No such file" in capsys.readouterr().err


def test_help_for_each_command(capsys):
    for cmd in ("run", "validate"):
        with pytest.raises(SystemExit) as exc:
            main([cmd, "--help"])
        assert exc.value.code == 0
        assert "usage: polyjit " + cmd in capsys.readouterr().out
