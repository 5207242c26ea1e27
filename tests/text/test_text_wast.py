"""parse_wast over the 2.0/core suite, checked against `wasm-tools json-from-wast`: the same
commands on the same lines, the same module bytes, the same argument and expected values, and
every text-form assert_malformed module rejected when encoded."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import tools
from engine.errors import WasmError
from spec.suites import FEATURES_2_0
from engine.text.wast import (ActionCommand, AnyRef, AssertExhaustion, AssertModule, AssertReturn,
                              AssertTrap, Get, Invoke, LanePatterns, ModuleCommand, NanPattern,
                              Register, Value, parse_wast)

#: The 2.0/core suite (as tests/spec finds it: $POLYJIT_SPEC_SUITE, else ../shared beside the repo).
SUITE = Path(os.environ.get("POLYJIT_SPEC_SUITE",
                            tools.SHARED / "spec-testsuite" / "2.0" / "core"))
FILES = sorted(SUITE.glob("*.wast"))
_LANE_BITS = {"i8": 8, "i16": 16, "i32": 32, "i64": 64, "f32": 32, "f64": 64}


def _json_type(cmd) -> str:
    if isinstance(cmd, ModuleCommand):
        return "module"
    if isinstance(cmd, Register):
        return "register"
    if isinstance(cmd, ActionCommand):
        return "action"
    if isinstance(cmd, AssertReturn):
        return "assert_return"
    if isinstance(cmd, AssertTrap):
        return "assert_trap" if cmd.action is not None else "assert_uninstantiable"
    if isinstance(cmd, AssertExhaustion):
        return "assert_exhaustion"
    assert isinstance(cmd, AssertModule)
    return "assert_" + cmd.kind


def _json_line(cmd) -> int:
    """json-from-wast gives an assertion the line of its module or action."""
    if isinstance(cmd, AssertModule):
        return cmd.module.line
    if isinstance(cmd, (AssertReturn, AssertTrap, AssertExhaustion, ActionCommand)):
        return cmd.module.line if getattr(cmd, "module", None) is not None else cmd.action.line
    return cmd.line


def _value_json(v) -> dict:
    """Our value in json-from-wast's notation (unsigned decimal bits as strings)."""
    if isinstance(v, NanPattern):
        return {"type": v.type, "value": "nan:" + v.kind}
    if isinstance(v, AnyRef):
        return {"type": v.type}
    if isinstance(v, LanePatterns):
        lanes = ["nan:" + x.kind if isinstance(x, NanPattern) else str(x) for x in v.lanes]
        return {"type": "v128", "lane_type": v.shape.split("x")[0], "value": lanes}
    assert isinstance(v, Value)
    if v.type in ("i32", "i64"):
        bits = 32 if v.type == "i32" else 64
        return {"type": v.type, "value": str(v.value & ((1 << bits) - 1))}
    if v.type in ("f32", "f64"):
        return {"type": v.type, "value": str(v.value)}
    if v.type == "v128":
        return {"type": "v128", "bytes": v.value}
    return {"type": v.type, "value": "null" if v.value is None else str(v.value)}


def _normalise_ref(j: dict) -> dict:
    j = dict(j)
    if j.get("type") in ("i32", "i64") and not str(j.get("value", "")).startswith("nan"):
        j["value"] = str(int(j["value"]) & ((1 << int(j["type"][1:])) - 1))
    if j.get("type") == "v128":
        width = _LANE_BITS[j["lane_type"]]
        lanes = j["value"]
        if any(str(x).startswith("nan:") for x in lanes):
            return j
        data = b"".join(int(x).to_bytes(width // 8, "little") for x in lanes)
        return {"type": "v128", "bytes": data}
    return j


def _action_json(a) -> dict:
    if isinstance(a, Invoke):
        out = {"type": "invoke", "field": a.name, "args": [_value_json(x) for x in a.args]}
    else:
        assert isinstance(a, Get)
        out = {"type": "get", "field": a.name}
    if a.module is not None:
        out["module"] = a.module
    return out


def _ref_action(j: dict) -> dict:
    out = {"type": j["type"], "field": j["field"]}
    if j["type"] == "invoke":
        out["args"] = [_normalise_ref(x) for x in j.get("args", [])]
    if "module" in j:
        out["module"] = j["module"]
    return out


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_wast_commands_match_json_from_wast(path: Path, tmp_path: Path) -> None:
    if tools.find_tool("wasm-tools") is None:
        pytest.fail("wasm-tools is required (install the dev extras)")
    tools.run_tool("wasm-tools", "json-from-wast", path, "--wasm-dir", tmp_path, "-o", tmp_path / "r.json")
    ref = json.loads((tmp_path / "r.json").read_text())["commands"]
    ours = parse_wast(path.read_text(encoding="utf-8"))
    assert [(_json_type(c), _json_line(c)) for c in ours] == [(r["type"], r["line"]) for r in ref]
    for cmd, r in zip(ours, ref):
        where = f"{path.name}:{cmd.line}"
        module = getattr(cmd, "module", None)
        if isinstance(cmd, (ModuleCommand, AssertModule, AssertTrap)) and module is not None and not isinstance(module, str):
            if isinstance(cmd, AssertModule) and cmd.kind == "malformed":
                if r.get("module_type") == "text":
                    with pytest.raises(WasmError):
                        module.encode(FEATURES_2_0)
                continue
            if r.get("filename", "").endswith(".wasm"):
                assert module.encode(FEATURES_2_0) == (tmp_path / r["filename"]).read_bytes(), where
        if isinstance(cmd, Register):
            assert (cmd.as_name, cmd.module) == (r["as"], r.get("name")), where
        if isinstance(cmd, (AssertReturn, AssertTrap, AssertExhaustion, ActionCommand)) and getattr(cmd, "action", None):
            assert _action_json(cmd.action) == _ref_action(r["action"]), where
        if isinstance(cmd, AssertReturn):
            assert [_value_json(v) for v in cmd.expected] == \
                [_normalise_ref(x) for x in r["expected"]], where
        if isinstance(cmd, (AssertTrap, AssertExhaustion, AssertModule)):
            assert cmd.message == r["text"], where
