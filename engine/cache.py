"""Config.cache: compiled machine code kept on disk between processes.

An entry is one file in the cache directory, named by the sha256 of everything that decides the
machine code: the polyjit version, the target, whether the code runs emulated, the ISA features
the backend may use, the code-affecting settings (engine.config.CODE_SETTINGS) and the module's
binary. Its content is a precompiled artifact (engine.artifact, checksummed), so a damaged
entry is detected when read. A hit skips compilation; a miss, a corrupt entry or an entry made
for something else is ignored (the code is compiled and the entry rewritten). Writes go to a
temporary file first and are renamed into place, so concurrent writers never expose a partial
file. The cache never raises for I/O problems: it is an optimisation, not a store of record.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from typing import Any

from .errors import WasmError

#: File name suffix of cache entries.
SUFFIX = ".pjc"


def cache_dir(engine) -> str | None:
    """The engine's cache directory (Config.cache), or None when caching is off."""
    path = engine.settings.get("cache")
    return os.fspath(path) if path is not None else None


def cache_key(engine, wasm: bytes, features: frozenset[str]) -> str:
    """The hex sha256 naming the entry for module binary `wasm` compiled by a backend that may
    use ISA `features`, under `engine`'s target and code settings."""
    from .artifact import POLYJIT_VERSION
    head = json.dumps({"version": POLYJIT_VERSION, "target": engine.target,
                       "emulated": bool(engine.emulated), "features": sorted(features),
                       "settings": engine.code_settings()},
                      sort_keys=True, separators=(",", ":")).encode()
    h = hashlib.sha256()
    h.update(len(head).to_bytes(8, "little"))
    h.update(head)
    h.update(wasm)
    return h.hexdigest()


def entry_path(engine, wasm: bytes, features: frozenset[str]) -> str | None:
    """Where the entry for this module lives (None when caching is off)."""
    directory = cache_dir(engine)
    if directory is None:
        return None
    return os.path.join(directory, cache_key(engine, wasm, features) + SUFFIX)


def load(engine, wasm: bytes, features: frozenset[str]) -> Any | None:
    """The cached backends.base.CompiledCode for `wasm`, or None on a miss or a bad entry."""
    path = entry_path(engine, wasm, features)
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    from .artifact import check_compatible, parse
    try:
        art = parse(data)
        check_compatible(art, engine)
    except WasmError:
        return None
    if art.wasm != wasm or not art.features <= features:
        return None     # a hash collision or an entry copied from elsewhere: not ours
    return art.compiled_code()


def store(engine, wasm: bytes, features: frozenset[str], compiled) -> bool:
    """Write the entry for `wasm` compiled by a backend with ISA `features` (atomically).
    False if the directory is unusable."""
    path = entry_path(engine, wasm, features)
    if path is None:
        return False
    from .artifact import encode
    data = encode(engine, wasm, compiled)
    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=SUFFIX, dir=directory)
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False
    return True
