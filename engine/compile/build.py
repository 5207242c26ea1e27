"""The identity of this polyjit build, for artifacts and cache entries: the release version
plus a digest of the implementation's source, so code compiled by one build is never run by
another whose code generation, vmctx layout or runtime protocol may differ (as wasmtime
refuses artifacts of any other wasmtime build), even between commits of one release."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

POLYJIT_VERSION = "0.1.0"

#: the packages whose source decides what machine code means (relative to the source root)
_PACKAGES = ("engine", "backends")


@functools.cache
def build_id() -> str:
    """``<version>+<12 hex digits>``: the version and a sha256 over every source file of the
    implementation (path and contents, in path order)."""
    root = Path(__file__).resolve().parents[2]
    h = hashlib.sha256()
    for package in _PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root).as_posix().encode()
            data = path.read_bytes()
            h.update(len(rel).to_bytes(4, "little") + rel)
            h.update(len(data).to_bytes(8, "little") + data)
    return f"{POLYJIT_VERSION}+{h.hexdigest()[:12]}"
