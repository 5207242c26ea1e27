"""The .wast conversion cache: one directory of JSON + modules per .wast content hash and tool.

Layout: tests/.cache/spec/<stem>/<sha256[:16]>/<stem>.json (+ the .wasm/.wat files the tool
writes beside it). The tool is wast2json (wabt) or `wasm-tools json-from-wast`, which reads
every file of the 3.0 suite (GC and exceptions too); the hash covers the tool's name. A directory is complete once it exists: it is built in a temporary
directory and renamed into place, so concurrent pytest-xdist workers never see half of one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from tools import SHARED, run_tool

TESTS_DIR = Path(__file__).resolve().parent.parent
CACHE_ROOT = TESTS_DIR / ".cache" / "spec"


#: The official suites (never edited; see ../shared/spec-testsuite/SOURCE.md).
SPEC_ROOT = SHARED / "spec-testsuite"
#: The suite this harness runs by default.
SUITE_DIR = Path(os.environ.get("POLYJIT_SPEC_SUITE", SPEC_ROOT / "2.0" / "core"))

#: Bump when the conversion (tool flags, layout) changes so old entries are not reused.
_CACHE_FORMAT = "1"


def suite_files(suite_dir: Path = SUITE_DIR) -> list[Path]:
    """The .wast files of the suite, sorted by name."""
    return sorted(suite_dir.glob("*.wast"))


#: The converters: tool name -> its command line (wast, output JSON, output directory).
CONVERTERS = {
    "wast2json": lambda wast, out, _dir: ("wast2json", wast, "-o", out),
    "wasm-tools": lambda wast, out, wasm_dir: ("wasm-tools", "json-from-wast", wast, "-o", out,
                                               "--wasm-dir", wasm_dir),
}


def content_key(wast: Path, tool: str = "wast2json") -> str:
    digest = hashlib.sha256(_CACHE_FORMAT.encode())
    if tool != "wast2json":
        digest.update(tool.encode())
    digest.update(wast.read_bytes())
    return digest.hexdigest()[:16]


def converted(wast: Path, cache_root: Path = CACHE_ROOT, tool: str = "wast2json") -> Path:
    """The JSON file `tool` (a CONVERTERS key) makes of `wast`, converting it first if the
    cache lacks it."""
    stem = wast.stem
    final = cache_root / stem / content_key(wast, tool)
    json_path = final / f"{stem}.json"
    if json_path.is_file():
        return json_path
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=final.parent))
    try:
        name, *args = CONVERTERS[tool](wast, tmp / f"{stem}.json", tmp)
        run_tool(name, *args)
        try:
            os.rename(tmp, final)
        except OSError:
            # Another worker renamed its copy first; it is identical, keep that one.
            if not json_path.is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return json_path
