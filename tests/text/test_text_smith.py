"""Round trip over random modules: `wasm-tools smith` (WebAssembly 2.0 features, SIMD included)
makes a binary, `wasm-tools print` turns it into text, and our parser must encode that text to
exactly the bytes `wasm-tools parse` produces."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tools
from engine.text.parser import parse_module_text

#: wasm-smith settings: the 2.0 proposals on, everything later off, a few functions always.
SMITH_FLAGS = [
    "--simd-enabled", "true", "--reference-types-enabled", "true", "--bulk-memory-enabled", "true",
    "--multi-value-enabled", "true", "--saturating-float-to-int-enabled", "true",
    "--sign-extension-ops-enabled", "true",
    "--relaxed-simd-enabled", "false", "--exceptions-enabled", "false", "--gc-enabled", "false",
    "--tail-call-enabled", "false", "--threads-enabled", "false", "--memory64-enabled", "false",
    "--max-memories", "1", "--custom-page-sizes-enabled", "false",
    "--wide-arithmetic-enabled", "false", "--extended-const-enabled", "false",
    "--shared-everything-threads-enabled", "false", "--custom-descriptors-enabled", "false",
    "--compact-imports-enabled", "false", "--generate-custom-sections", "true",
    "--min-funcs", "3",
]


def _run(*args: str | Path, stdin: bytes | None = None) -> bytes:
    exe = tools.require_tool("wasm-tools")
    proc = subprocess.run([str(exe), *map(str, args)], input=stdin, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout


@pytest.fixture(scope="module")
def smith_dir(tmp_path_factory) -> Path:
    if tools.find_tool("wasm-tools") is None:
        pytest.fail("wasm-tools is required (install the dev extras)")
    return tmp_path_factory.mktemp("smith")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(seed=st.binary(min_size=2000, max_size=40000))
def test_printed_smith_module_round_trip(seed: bytes, smith_dir: Path) -> None:
    source = smith_dir / "seed.bin"
    source.write_bytes(seed)
    wasm = _run("smith", *SMITH_FLAGS, source, "-o", "/dev/stdout")
    text = _run("print", "-", stdin=wasm)
    want = _run("parse", "-", "-o", "/dev/stdout", stdin=text)
    assert parse_module_text(text.decode("utf-8")) == want
