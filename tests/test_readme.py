"""The README's API tour runs as written and prints what it says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_api_tour_runs(capsys, monkeypatch):
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## API tour\n\n```python\n(.*?)```", text, re.S)
    assert block, "README has no API tour"
    monkeypatch.chdir(ROOT)
    exec(compile(block.group(1), "README.md", "exec"), {})
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
