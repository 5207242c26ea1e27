"""Every function of every module of the 2.0/core spec suite: the built IR verifies (with the
module), prints and parses back identically, and verifies again after every pass."""

from __future__ import annotations

import json

import pytest

from engine.config import Features
from engine.errors import WasmError
from engine.ir.builder import build_function
from engine.ir.parser import parse_function
from engine.ir.passes import DEFAULT_PIPELINE, PASSES, run_passes
from engine.ir.printer import print_function
from engine.ir.verifier import verify
from engine.wasm.decoder import decode
from engine.wasm.validator import validate
from spec.cache import SUITE_DIR, converted, suite_files

FILES = suite_files()


def _valid_modules(wast):
    """(name, WasmModule) for every binary module command that decodes and validates."""
    js = converted(wast)
    out = []
    for cmd in json.loads(js.read_text())["commands"]:
        if cmd["type"] != "module" or not cmd.get("filename", "").endswith(".wasm"):
            continue
        try:
            m = decode((js.parent / cmd["filename"]).read_bytes())
            validate(m, Features())
        except WasmError:
            continue        # the suite's modules that must fail are the decoder's business
        out.append((cmd["filename"], m))
    return out


def test_suite_is_present():
    assert len(FILES) > 80, f"spec suite not found in {SUITE_DIR}"


@pytest.mark.parametrize("wast", FILES, ids=[f.stem for f in FILES])
def test_every_function_builds_verifies_and_survives_every_pass(wast):
    modules = _valid_modules(wast)
    for name, m in modules:
        base = m.num_imported_funcs
        for i in range(len(m.funcs)):
            where = f"{name} function {base + i}"
            f = build_function(m, base + i)
            verify(f, m)
            text = print_function(f)
            assert print_function(parse_function(text)) == text, where
            for pass_name in PASSES:
                g = parse_function(text)
                run_passes(g, [pass_name], verify_each=True, module=m)
            run_passes(f, DEFAULT_PIPELINE + DEFAULT_PIPELINE, verify_each=True, module=m)
            again = print_function(f)
            assert print_function(parse_function(again)) == again, where
