"""The per-store descriptor table: guest file descriptors -> Descriptor entries that own (or,
for inherited stdio, borrow) host descriptors. Host descriptor numbers never reach the guest;
owned ones are closed when the table is closed (when its store goes away)."""

from __future__ import annotations

import os
from typing import Any, Callable

from .constants import Errno, Filetype, WasiError

_BADF = Errno.BADF


class Descriptor:
    """One open guest descriptor.

    ``host``: the host fd (None for a stream with no host fd: a closed stdin, a discarding or
    custom stdout); ``owned``: close ``host`` when this descriptor closes; ``filetype``;
    ``rights_base`` / ``rights_inheriting``; ``fdflags``; ``preopen``: the guest name of a
    preopened directory (else None); ``readable`` / ``writable``: the open mode;
    ``custom``: a callable taking bytes for a custom output stream; ``dir_perms`` /
    ``file_perms`` of the preopen it descends from; ``is_stdio``."""

    __slots__ = ("host", "owned", "filetype", "rights_base", "rights_inheriting", "fdflags",
                 "preopen", "readable", "writable", "custom", "dir_perms", "file_perms",
                 "is_stdio")

    def __init__(self, host: int | None, filetype: int, rights_base: int,
                 rights_inheriting: int, *, owned: bool = True, fdflags: int = 0,
                 preopen: str | None = None, readable: bool = True, writable: bool = True,
                 custom: Callable[[bytes], Any] | None = None, dir_perms: int = 3,
                 file_perms: int = 3, is_stdio: bool = False) -> None:
        self.host = host
        self.owned = owned
        self.filetype = filetype
        self.rights_base = rights_base
        self.rights_inheriting = rights_inheriting
        self.fdflags = fdflags
        self.preopen = preopen
        self.readable = readable
        self.writable = writable
        self.custom = custom
        self.dir_perms = dir_perms
        self.file_perms = file_perms
        self.is_stdio = is_stdio

    @property
    def is_dir(self) -> bool:
        return self.filetype == Filetype.DIRECTORY

    def close(self) -> None:
        host, self.host = self.host, None
        if host is not None and self.owned:
            try:
                os.close(host)
            except OSError:
                pass


class DescriptorTable:
    """Guest fd -> Descriptor. New descriptors take the lowest free number."""

    def __init__(self) -> None:
        self.entries: dict[int, Descriptor] = {}

    def get(self, fd: int, rights: int = 0) -> Descriptor:
        """The descriptor `fd` (BADF if not open), checked to hold `rights` (NOTCAPABLE)."""
        d = self.entries.get(fd & 0xFFFFFFFF)
        if d is None:
            raise WasiError(_BADF)
        if rights and (d.rights_base & rights) != rights:
            raise WasiError(Errno.NOTCAPABLE)
        return d

    def insert(self, d: Descriptor) -> int:
        fd = 0
        entries = self.entries
        while fd in entries:
            fd += 1
        if fd > 0xFFFFFFFF:
            raise WasiError(Errno.NFILE)
        entries[fd] = d
        return fd

    def remove(self, fd: int) -> Descriptor:
        d = self.entries.pop(fd & 0xFFFFFFFF, None)
        if d is None:
            raise WasiError(_BADF)
        return d

    def renumber(self, fd: int, to: int) -> None:
        fd &= 0xFFFFFFFF
        to &= 0xFFFFFFFF
        src = self.get(fd)
        dst = self.get(to)
        if fd == to:
            return
        del self.entries[fd]
        self.entries[to] = src
        dst.close()

    def close_all(self) -> None:
        entries, self.entries = self.entries, {}
        for d in entries.values():
            d.close()
