"""The text parser against the 2.0/core spec suite (in 2.0's text format: FEATURES_2_0), one
test per .wast file and check:

- every module written in the .wast (text, quote and binary forms, including those inside
  assert_invalid/assert_trap/...) encodes to the same bytes as wasm-tools' encoding of it;
- every binary module wast2json produces, printed by `wasm-tools print`, parses to the same
  bytes as `wasm-tools parse` gives for that printed text;
- every text-form assert_malformed module is rejected with a WasmError.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import tools
from engine.errors import WasmError
from engine.text.lexer import Source
from engine.text.parser import parse_module_text
from spec.suites import FEATURES_2_0
from engine.text.sexpr import SList, read

#: The 2.0/core suite (as tests/spec finds it: $POLYJIT_SPEC_SUITE, else ../shared beside the repo).
SUITE = Path(os.environ.get("POLYJIT_SPEC_SUITE",
                            tools.SHARED / "spec-testsuite" / "2.0" / "core"))
FILES = sorted(SUITE.glob("*.wast"))

#: Modules whose encoding legitimately differs from wasm-tools' (file, line, reason). Where two
#: encodings are both valid, the test accepts them if both print to the same text.
KNOWN_DIFFERENCES: list[tuple[str, int, str]] = []

#: Commands whose (first) module json-from-wast turns into a .wasm file.
_MODULE_COMMANDS = {"module", "assert_invalid", "assert_unlinkable", "assert_uninstantiable",
                    "assert_trap", "assert_exhaustion", "assert_return"}


_FIELDS = {"type", "import", "func", "table", "memory", "global", "export", "start", "elem", "data"}


def _need_tools() -> None:
    for name in ("wasm-tools", "wast2json"):
        if tools.find_tool(name) is None:
            pytest.fail(f"{name} is required for the spec text tests (install the dev extras)")


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _wast_modules(text: str) -> list[tuple[int, str]]:
    """(line of the command, module source text) for each module of the script that is not
    inside an assert_malformed."""
    out = []
    items = read(Source(text))
    if any(type(item) is SList and item.head() in _FIELDS for item in items):
        # a script made of bare module fields is one module
        return [(_line_of(text, items[0].pos), text)]
    for item in items:
        if type(item) is not SList:
            continue
        head = item.head()
        if head == "module":
            out.append((_line_of(text, item.pos), text[item.pos:item.end + 1]))
        elif head in _MODULE_COMMANDS:
            for sub in item.items[1:]:
                if type(sub) is SList and sub.head() == "module":
                    out.append((_line_of(text, sub.pos), text[sub.pos:sub.end + 1]))
                    break
    return out


def _json_from_wast(path: Path, tmp: Path) -> tuple[dict, list[dict]]:
    out = tmp / "ref.json"
    tools.run_tool("wasm-tools", "json-from-wast", path, "--wasm-dir", tmp, "-o", out)
    return json.loads(out.read_text()), []


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_wast_modules_match_wasm_tools(path: Path, tmp_path: Path) -> None:
    _need_tools()
    text = path.read_text(encoding="utf-8")
    ref, _ = _json_from_wast(path, tmp_path)
    by_line = {}
    for cmd in ref["commands"]:
        name = cmd.get("filename")
        if cmd["type"] in _MODULE_COMMANDS and name and name.endswith(".wasm"):
            by_line.setdefault(cmd["line"], tmp_path / name)
    checked = 0
    mismatches = []
    for line, source in _wast_modules(text):
        ref_file = by_line.get(line)
        if ref_file is None:
            continue
        want = ref_file.read_bytes()
        try:
            got = parse_module_text(source, FEATURES_2_0)
        except WasmError as exc:
            mismatches.append(f"line {line}: rejected: {exc}")
            continue
        checked += 1
        if got != want and not any(f == path.name and ln == line for f, ln, _ in KNOWN_DIFFERENCES):
            mismatches.append(f"line {line}: bytes differ from wasm-tools")
    assert not mismatches, "\n".join(mismatches[:20])
    if by_line:
        assert checked > 0


@functools.cache
def _wasm_tools_version() -> str:
    return tools.run_tool("wasm-tools", "--version").decode().strip()


def _print(wasm: Path, cache) -> str | None:
    """`wasm-tools print` of a binary, memoised in pytest's cache (keyed by the binary's hash and
    the wasm-tools version): one process per module is the slow part of this test."""
    data = wasm.read_bytes()
    key = "text/printed/" + hashlib.sha256(_wasm_tools_version().encode() + data).hexdigest()
    hit = cache.get(key, None) if cache is not None else None
    if hit is not None:
        return hit or None
    proc = subprocess.run([str(tools.require_tool("wasm-tools")), "print", str(wasm)],
                          capture_output=True, timeout=60)
    text = proc.stdout.decode("utf-8") if proc.returncode == 0 else ""
    if cache is not None:
        cache.set(key, text)
    return text or None


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_printed_binaries_round_trip(path: Path, tmp_path: Path, request) -> None:
    _need_tools()
    tools.run_tool("wast2json", path, "-o", tmp_path / "w.json")
    commands = json.loads((tmp_path / "w.json").read_text())["commands"]
    binaries = sorted({tmp_path / c["filename"] for c in commands
                       if c.get("filename", "").endswith(".wasm") and c["type"] != "assert_malformed"})
    with ThreadPoolExecutor(max_workers=4) as pool:
        cache = getattr(request.config, "cache", None)   # absent under -p no:cacheprovider
        printed = [t for t in pool.map(lambda b: _print(b, cache), binaries)
                   if t is not None]
    printed = list(dict.fromkeys(printed))
    if not binaries:
        # only assert_malformed modules in this file: nothing to print
        assert all(c["type"] == "assert_malformed" for c in commands if "filename" in c)
        return
    assert printed, f"wasm-tools could print none of the {len(binaries)} modules"
    # one json-from-wast call assembles every printed module with wasm-tools
    script = tmp_path / "printed.wast"
    script.write_text("\n".join(printed), encoding="utf-8")
    ref = tmp_path / "ref"
    ref.mkdir()
    tools.run_tool("wasm-tools", "json-from-wast", script, "--wasm-dir", ref, "-o", ref / "r.json")
    cmds = [c for c in json.loads((ref / "r.json").read_text())["commands"] if c["type"] == "module"]
    assert len(cmds) == len(printed)
    mismatches = []
    for source, cmd in zip(printed, cmds):
        want = (ref / cmd["filename"]).read_bytes()
        try:
            got = parse_module_text(source, FEATURES_2_0)
        except WasmError as exc:
            mismatches.append(f"rejected: {exc}\n{source[:400]}")
            continue
        if got != want:
            mismatches.append(f"bytes differ:\n{source[:400]}")
    assert not mismatches, "\n\n".join(mismatches[:5])


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_text_assert_malformed_rejected(path: Path, tmp_path: Path) -> None:
    _need_tools()
    tools.run_tool("wast2json", path, "-o", tmp_path / "w.json")
    commands = json.loads((tmp_path / "w.json").read_text())["commands"]
    cases = [c for c in commands if c["type"] == "assert_malformed" and c.get("module_type") == "text"]
    accepted = []
    for case in cases:
        data = (tmp_path / case["filename"]).read_bytes()
        try:
            parse_module_text(data, FEATURES_2_0)
        except WasmError:
            continue
        accepted.append(f"line {case['line']} ({case['text']}): {data[:120]!r}")
    assert not accepted, "accepted malformed text:\n" + "\n".join(accepted)


def test_suite_is_present() -> None:
    assert len(FILES) >= 90, f"expected the 2.0/core suite in {SUITE}"
