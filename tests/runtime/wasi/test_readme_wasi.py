"""The README's WASI example runs as written and prints what it says."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_readme_wasi_example(capfd, monkeypatch):
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## WASI\n.*?```python\n(.*?)```", text, re.S)
    assert block, "README has no WASI example"
    monkeypatch.chdir(ROOT)
    exec(compile(block.group(1), "README.md", "exec"), {})
    out = capfd.readouterr().out
    assert out == "hello\nfrom\nWASI\nexit status 3\n"
