"""The README's API tour and WASI example run as written and print what they say."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run_example(section: str, monkeypatch) -> None:
    """Run the first Python block under the README heading `section` from the repository root."""
    text = (ROOT / "README.md").read_text()
    block = re.search(rf"## {section}\n.*?```python\n(.*?)```", text, re.S)
    assert block, f"README has no {section} example"
    monkeypatch.chdir(ROOT)
    exec(compile(block.group(1), "README.md", "exec"), {})


def test_api_tour_runs(capsys, monkeypatch):
    _run_example("API tour", monkeypatch)
    out = capsys.readouterr().out
    assert "75025" in out
    assert "compiled for aarch64, but this engine targets x86_64" in out


@pytest.mark.parametrize("command", ["pip install -e '.[dev]' && polyjit run examples/fib.wat --invoke fib 25",
                                     "python -m pytest"])
def test_quick_start_commands_are_the_documented_ones(command):
    text = (ROOT / "README.md").read_text()
    assert command in text
    ci = (ROOT / ".ci" / "run").read_text()
    if command == "python -m pytest":
        assert ci.rstrip().splitlines()[-1] == command


def test_wasi_example_runs(capfd, monkeypatch):
    _run_example("WASI", monkeypatch)      # the guest writes to file descriptor 1 itself
    assert capfd.readouterr().out == "hello\nfrom\nWASI\nexit status 3\n"
