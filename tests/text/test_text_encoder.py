"""The binary encoder (engine/wasm/encoder.py) on decoded modules: for every binary module of the
2.0/core suite (as wasm-tools encodes it), encoding the decoded module and decoding it again
gives the same module, and encoding is a fixpoint after one round. Plus LEB128 unit checks."""

from __future__ import annotations

import dataclasses
import enum
import json
import os
from pathlib import Path

import pytest

import tools
from engine.errors import WasmError
from engine.wasm.decoder import decode
from engine.wasm.encoder import encode_module, sleb, uleb
from engine.wasm.module import CustomSection, FuncBody, Instr

#: The 2.0/core suite (as tests/spec finds it: $POLYJIT_SPEC_SUITE, else ../shared beside the repo).
SUITE = Path(os.environ.get("POLYJIT_SPEC_SUITE",
                            tools.SHARED / "spec-testsuite" / "2.0" / "core"))
FILES = sorted(SUITE.glob("*.wast"))


def _shape(obj):
    """A comparable form of decoded data, without byte offsets (which move on re-encoding)."""
    if isinstance(obj, Instr):
        return ("instr", obj.op, _shape(obj.imm))
    if isinstance(obj, FuncBody):
        return ("body", _shape(obj.locals), _shape(obj.body))
    if isinstance(obj, CustomSection):
        # `after` names the previous section written; empty sections are not written again
        return ("custom", obj.name, obj.data)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return (type(obj).__name__,) + tuple(_shape(getattr(obj, f.name)) for f in dataclasses.fields(obj))
    if isinstance(obj, (list, tuple)):
        return tuple(_shape(x) for x in obj)
    if isinstance(obj, dict):
        return tuple(sorted((k, _shape(v)) for k, v in obj.items()))
    if isinstance(obj, enum.Enum):
        return obj.name
    return obj


@pytest.mark.parametrize("value,encoded", [
    (0, b"\x00"), (127, b"\x7f"), (128, b"\x80\x01"), (624485, b"\xe5\x8e\x26"),
    (2 ** 32 - 1, b"\xff\xff\xff\xff\x0f"),
])
def test_uleb(value: int, encoded: bytes) -> None:
    assert uleb(value) == encoded


@pytest.mark.parametrize("value,encoded", [
    (0, b"\x00"), (-1, b"\x7f"), (63, b"\x3f"), (64, b"\xc0\x00"), (-64, b"\x40"), (-65, b"\xbf\x7f"),
    (-123456, b"\xc0\xbb\x78"), (2 ** 31 - 1, b"\xff\xff\xff\xff\x07"), (-(2 ** 63), b"\x80" * 9 + b"\x7f"),
])
def test_sleb(value: int, encoded: bytes) -> None:
    assert sleb(value) == encoded


def test_uleb_rejects_negative() -> None:
    with pytest.raises(WasmError):
        uleb(-1)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_decoded_modules_reencode(path: Path, tmp_path: Path) -> None:
    if tools.find_tool("wasm-tools") is None:
        pytest.fail("wasm-tools is required (install the dev extras)")
    tools.run_tool("wasm-tools", "json-from-wast", path, "--wasm-dir", tmp_path, "-o", tmp_path / "r.json")
    commands = json.loads((tmp_path / "r.json").read_text())["commands"]
    checked = 0
    for cmd in commands:
        name = cmd.get("filename", "")
        if not name.endswith(".wasm") or cmd["type"] == "assert_malformed":
            continue
        original = (tmp_path / name).read_bytes()
        try:
            module = decode(original)
        except WasmError:
            continue   # modules the decoder rejects are the decoder's tests' business
        first = encode_module(module)
        again = decode(first)
        assert _shape(again) == _shape(module), f"{path.name}:{cmd['line']}"
        assert encode_module(again) == first, f"{path.name}:{cmd['line']}"
        checked += 1
    has_binaries = any(c.get("filename", "").endswith(".wasm") and c["type"] != "assert_malformed"
                       for c in commands)
    assert checked > 0 or not has_binaries
