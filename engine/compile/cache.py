"""Config.cache: compiled machine code kept on disk between processes.

An entry is one file in the cache directory, named by the sha256 of everything that decides the
machine code: the polyjit version, the target, whether the code runs emulated, the ISA features
the backend may use, the code-affecting settings (engine.config.CODE_SETTINGS) and the module's
binary. Its content is a precompiled artifact (engine.compile.artifact, checksummed), so a
damaged entry is detected when read. A hit skips compilation; a miss, a corrupt entry or an
entry made for something else is ignored (the code is compiled and the entry rewritten). Writes
go to a temporary file first and are renamed into place, so concurrent writers never expose a
partial file. The cache never raises for I/O problems: it is an optimisation, not a store of
record.

What the cache trusts: an entry is machine code that runs in this process, so only entries this
user wrote are read. An entry is used only when it is a regular file owned by the current user,
opened without following a symlink and without blocking (a FIFO or device is refused, never
waited on), no larger than MAX_ENTRY_BYTES, in a directory that no other user can write (owned
by the current user, not group- or world-writable). Sharing a cache between users is therefore
not supported: give each user (or each service account) its own directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile

from backends.base import CompiledCode
from ..config import Settings
from . import artifact
from .build import build_id

#: File name suffix of cache entries.
SUFFIX = ".pjc"
#: Entries larger than this are not read (a cache entry is one module's code and metadata).
MAX_ENTRY_BYTES = 1 << 30


def cache_key(settings: Settings, wasm: bytes, features: frozenset[str]) -> str:
    """The hex sha256 naming the entry for module binary `wasm` compiled by a backend that may
    use ISA `features`, under the target and code settings of `settings`."""
    head = json.dumps({"version": build_id(), "target": settings.target,
                       "emulated": bool(settings.emulate), "features": sorted(features),
                       "settings": settings.code_settings()},
                      sort_keys=True, separators=(",", ":")).encode()
    h = hashlib.sha256()
    h.update(len(head).to_bytes(8, "little"))
    h.update(head)
    h.update(wasm)
    return h.hexdigest()


def entry_path(settings: Settings, wasm: bytes, features: frozenset[str]) -> str | None:
    """Where the entry for this module lives (None when caching is off)."""
    if settings.cache is None:
        return None
    return os.path.join(settings.cache, cache_key(settings, wasm, features) + SUFFIX)


def _trusted_directory(path: str) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return (stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid()
            and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def _read_entry(path: str) -> bytes | None:
    """The entry's bytes if it is one this user may trust (see the module docstring)."""
    if not _trusted_directory(os.path.dirname(path)):
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or \
                st.st_size > MAX_ENTRY_BYTES:
            return None
        chunks, left = [], st.st_size
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 24))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def load(settings: Settings, wasm: bytes, features: frozenset[str]) -> CompiledCode | None:
    """The cached code for `wasm`, or None on a miss, a bad or untrusted entry."""
    path = entry_path(settings, wasm, features)
    if path is None:
        return None
    data = _read_entry(path)
    if data is None:
        return None
    try:
        art = artifact.parse(data)
        artifact.check_compatible(art, settings)
    except artifact.IncompatibleArtifactError:
        return None
    if art.wasm != wasm or not art.features <= features:
        return None     # a hash collision or an entry copied from elsewhere: not ours
    return art.compiled_code()


def store(settings: Settings, wasm: bytes, features: frozenset[str],
          compiled: CompiledCode) -> bool:
    """Write the entry for `wasm` compiled by a backend with ISA `features` (atomically).
    False if caching is off or the directory is unusable."""
    path = entry_path(settings, wasm, features)
    if path is None:
        return False
    data = artifact.encode(settings, wasm, compiled)
    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
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
