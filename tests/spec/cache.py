"""The wast2json conversion cache: one directory of JSON + modules per .wast content hash.

Layout: tests/.cache/spec/<stem>/<sha256[:16]>/<stem>.json (+ the .wasm/.wat files wast2json
writes beside it). A directory is complete once it exists: it is built in a temporary
directory and renamed into place, so concurrent pytest-xdist workers never see half of one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from tools import run_tool

TESTS_DIR = Path(__file__).resolve().parent.parent
CACHE_ROOT = TESTS_DIR / ".cache" / "spec"
#: The official suites (never edited; see ../shared/spec-testsuite/SOURCE.md).
SPEC_ROOT = TESTS_DIR.parent.parent / "shared" / "spec-testsuite"
#: The suite this harness runs by default.
SUITE_DIR = Path(os.environ.get("POLYJIT_SPEC_SUITE", SPEC_ROOT / "2.0" / "core"))

#: Bump when the conversion (tool flags, layout) changes so old entries are not reused.
_CACHE_FORMAT = "1"


def suite_files(suite_dir: Path = SUITE_DIR) -> list[Path]:
    """The .wast files of the suite, sorted by name."""
    return sorted(suite_dir.glob("*.wast"))


def content_key(wast: Path) -> str:
    digest = hashlib.sha256(_CACHE_FORMAT.encode())
    digest.update(wast.read_bytes())
    return digest.hexdigest()[:16]


def converted(wast: Path, cache_root: Path = CACHE_ROOT) -> Path:
    """The JSON file wast2json makes of `wast`, converting it first if the cache lacks it."""
    stem = wast.stem
    final = cache_root / stem / content_key(wast)
    json_path = final / f"{stem}.json"
    if json_path.is_file():
        return json_path
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=final.parent))
    try:
        run_tool("wast2json", wast, "-o", tmp / f"{stem}.json")
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
