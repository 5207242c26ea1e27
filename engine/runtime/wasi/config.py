"""WasiConfig: what a store's WASI guest sees (mirrors wasmtime-py's WasiConfig): its
arguments, environment, standard streams and preopened directories."""

from __future__ import annotations

import enum
import os
import sys
from pathlib import Path
from typing import Callable, Iterable, Sequence

from ...errors import WasmError


class DirPerms(enum.IntFlag):
    """What a guest may do to a preopened directory itself (wasmtime-py's DirPerms)."""

    READ_ONLY = 1
    MUTATE = 2
    READ_WRITE = 3


class FilePerms(enum.IntFlag):
    """What a guest may do to files under a preopened directory (wasmtime-py's FilePerms)."""

    READ_ONLY = 1
    WRITE = 2
    READ_WRITE = 3


class Preopen:
    """One preopened directory: its host path, the name the guest sees, and the permissions."""

    __slots__ = ("host_path", "guest_path", "dir_perms", "file_perms")

    def __init__(self, host_path: str, guest_path: str, dir_perms: int, file_perms: int) -> None:
        self.host_path = host_path
        self.guest_path = guest_path
        self.dir_perms = dir_perms
        self.file_perms = file_perms


#: Stream settings: ("inherit",), ("file", path), ("custom", callable), or None (closed/empty).
Stream = tuple | None


def _perms(value: object, enum_type: type, what: str) -> int:
    if isinstance(value, bool):
        # wasmtime-py accepts True/False positionally; True is the read-only value 1
        return int(enum_type(1)) if value else int(enum_type(3))
    try:
        return int(enum_type(int(value)))
    except (TypeError, ValueError):
        raise WasmError(f"preopen_dir: bad {what} {value!r}") from None


class WasiConfig:
    """Configuration of WASI for a store; give it to `Store.set_wasi`."""

    def __init__(self) -> None:
        self._argv: list[str] = []
        self._env: list[tuple[str, str]] = []
        self.stdin: Stream = None
        self.stdout: Stream = None
        self.stderr: Stream = None
        self.preopens: list[Preopen] = []

    # -- arguments and environment ------------------------------------------------------------

    @property
    def argv(self) -> list[str]:
        return list(self._argv)

    @argv.setter
    def argv(self, argv: Sequence[str]) -> None:
        self._argv = [_text(a, "argv") for a in argv]

    def inherit_argv(self) -> None:
        """Use this process's arguments."""
        self._argv = list(sys.argv)

    @property
    def env(self) -> list[tuple[str, str]]:
        return list(self._env)

    @env.setter
    def env(self, pairs: Iterable[Sequence[str]]) -> None:
        out = []
        for pair in pairs:
            if len(pair) != 2:
                raise WasmError(f"env entries are (name, value) pairs, got {pair!r}")
            out.append((_text(pair[0], "env"), _text(pair[1], "env")))
        self._env = out

    def inherit_env(self) -> None:
        """Use this process's environment."""
        self._env = list(os.environ.items())

    # -- standard streams ---------------------------------------------------------------------

    def inherit_stdin(self) -> None:
        self.stdin = ("inherit",)

    def inherit_stdout(self) -> None:
        self.stdout = ("inherit",)

    def inherit_stderr(self) -> None:
        self.stderr = ("inherit",)

    @property
    def stdin_file(self) -> None:
        raise AttributeError("stdin_file is write-only")

    @stdin_file.setter
    def stdin_file(self, path: str | Path) -> None:
        p = os.fspath(path)
        if not os.path.isfile(p):
            raise WasmError(f"failed to open `{p}` for stdin: no such file")
        self.stdin = ("file", p)

    @property
    def stdout_file(self) -> None:
        raise AttributeError("stdout_file is write-only")

    @stdout_file.setter
    def stdout_file(self, path: str | Path) -> None:
        self.stdout = ("file", _writable(path, "stdout"))

    @property
    def stderr_file(self) -> None:
        raise AttributeError("stderr_file is write-only")

    @stderr_file.setter
    def stderr_file(self, path: str | Path) -> None:
        self.stderr = ("file", _writable(path, "stderr"))

    @property
    def stdout_custom(self) -> None:
        raise AttributeError("stdout_custom is write-only")

    @stdout_custom.setter
    def stdout_custom(self, fn: Callable[[bytes], None]) -> None:
        if not callable(fn):
            raise WasmError("stdout_custom expects a callable taking bytes")
        self.stdout = ("custom", fn)

    @property
    def stderr_custom(self) -> None:
        raise AttributeError("stderr_custom is write-only")

    @stderr_custom.setter
    def stderr_custom(self, fn: Callable[[bytes], None]) -> None:
        if not callable(fn):
            raise WasmError("stderr_custom expects a callable taking bytes")
        self.stderr = ("custom", fn)

    # -- directories --------------------------------------------------------------------------

    def preopen_dir(self, path: str | Path, guest_path: str,
                    dir_perms: DirPerms | int | bool = DirPerms.READ_WRITE,
                    file_perms: FilePerms | int | bool = FilePerms.READ_WRITE) -> None:
        """Give the guest the host directory `path`, named `guest_path` in the guest."""
        host = os.fspath(path)
        if not os.path.isdir(host):
            raise WasmError(f"failed to open directory `{host}` for preopen: not a directory")
        self.preopens.append(Preopen(host, _text(guest_path, "guest_path"),
                                     _perms(dir_perms, DirPerms, "dir_perms"),
                                     _perms(file_perms, FilePerms, "file_perms")))


def _text(value: object, what: str) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    if not isinstance(value, str):
        raise WasmError(f"{what}: expected str, got {type(value).__name__}")
    return value


def _writable(path: str | Path, what: str) -> str:
    """Create (truncate) the file now, as wasmtime does, so a bad path fails here."""
    p = os.fspath(path)
    try:
        with open(p, "wb"):
            pass
    except OSError as e:
        raise WasmError(f"failed to open `{p}` for {what}: {e.strerror or e}") from None
    return p
