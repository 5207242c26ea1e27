"""WasiContext: the WASI state of one store (arguments, environment, the descriptor table with
stdio and preopens), built from a WasiConfig. Its host descriptors are closed when the store
is garbage collected (or when `close` is called)."""

from __future__ import annotations

import os
import stat as _stat
import weakref
from typing import Any

from ...errors import WasmError
from .config import DirPerms, FilePerms, WasiConfig
from .constants import (DIR_RIGHTS, DIR_WRITE_RIGHTS, FILE_RIGHTS, FILE_WRITE_RIGHTS, Filetype,
                        Rights)
from .descriptors import Descriptor, DescriptorTable

_STDIO_COMMON = int(Rights.FD_FDSTAT_SET_FLAGS | Rights.FD_FILESTAT_GET
                    | Rights.POLL_FD_READWRITE)


class WasiContext:
    """The WASI state of a store; `configure` (re)builds it from a WasiConfig."""

    def __init__(self) -> None:
        self.table = DescriptorTable()
        self.args: list[bytes] = []
        self.env: list[bytes] = []
        self.configured = False
        self.configure(WasiConfig())
        self.configured = False

    def configure(self, config: WasiConfig) -> None:
        if not isinstance(config, WasiConfig):
                raise WasmError(f"set_wasi expects a WasiConfig, got {type(config).__name__}")
        table = DescriptorTable()
        try:
            table.put(0, _stdio(config.stdin, 0, readable=True))
            table.put(1, _stdio(config.stdout, 1, readable=False))
            table.put(2, _stdio(config.stderr, 2, readable=False))
            for p in config.preopens:
                table.insert(_preopen(p))
        except BaseException:
            table.close_all()
            raise
        # the table, args and env objects stay the same (bound functions hold them)
        for d in self.table.take_from(table):
            d.close()
        self.args[:] = [a.encode("utf-8", "surrogateescape") for a in config.argv]
        self.env[:] = [f"{k}={v}".encode("utf-8", "surrogateescape") for k, v in config.env]
        self.configured = True

    def close(self) -> None:
        """Close every host descriptor this context owns."""
        self.table.close_all()


def _stdio(stream: Any, which: int, readable: bool) -> Descriptor:
    right = int(Rights.FD_READ if readable else Rights.FD_WRITE)
    rights = right | _STDIO_COMMON
    if stream is None:
        return Descriptor(None, Filetype.UNKNOWN, rights, 0, readable=readable,
                          writable=not readable, is_stdio=True)
    kind = stream[0]
    if kind == "inherit":
        ftype = Filetype.UNKNOWN
        try:
            if os.isatty(which):
                ftype = Filetype.CHARACTER_DEVICE
            else:
                mode = os.fstat(which).st_mode
                if _stat.S_ISREG(mode):
                    ftype = Filetype.REGULAR_FILE
        except OSError:
            pass
        return Descriptor(which, ftype, rights, 0, owned=False, readable=readable,
                          writable=not readable, is_stdio=True)
    if kind == "file":
        flags = os.O_RDONLY if readable else (os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            host = os.open(stream[1], flags | os.O_CLOEXEC, 0o666)
        except OSError as e:
                raise WasmError(f"cannot open {stream[1]}: {e.strerror}") from None
        return Descriptor(host, Filetype.UNKNOWN, rights, 0, readable=readable,
                          writable=not readable, is_stdio=True)
    if kind == "custom":
        return Descriptor(None, Filetype.UNKNOWN, rights, 0, readable=False, writable=True,
                          custom=stream[1], is_stdio=True)
    raise AssertionError(f"unknown stream setting {stream!r}")


def _preopen(p: Any) -> Descriptor:
    try:
        host = os.open(p.host_path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        raise WasmError(f"failed to open directory `{p.host_path}` for preopen: "
                        f"{e.strerror}") from None
    base, inheriting = DIR_RIGHTS, DIR_RIGHTS | FILE_RIGHTS
    if not p.dir_perms & DirPerms.MUTATE:
        base &= ~DIR_WRITE_RIGHTS
        inheriting &= ~DIR_WRITE_RIGHTS
    if not p.file_perms & FilePerms.WRITE:
        inheriting &= ~FILE_WRITE_RIGHTS
    return Descriptor(host, Filetype.DIRECTORY, base, inheriting, preopen=p.guest_path,
                      readable=True, writable=False, dir_perms=int(p.dir_perms),
                      file_perms=int(p.file_perms))


def context_of(store: Any) -> WasiContext:
    """The store's WasiContext, created (unconfigured) on first use; closed with the store."""
    ctx = getattr(store, "_wasi_ctx", None)
    if ctx is None:
        ctx = WasiContext()
        store._wasi_ctx = ctx
        weakref.finalize(store, ctx.close)
    return ctx


def configure_store(store: Any, config: WasiConfig) -> None:
    """Store.set_wasi: (re)configure the store's WASI state from `config`."""
    context_of(store).configure(config)
