"""The per-store descriptor table: guest file descriptors -> Descriptor entries that own (or,
for inherited stdio, borrow) host descriptors. Host descriptor numbers never reach the guest;
owned ones are closed when the table is closed (when its store goes away)."""

from __future__ import annotations

import ctypes
import os
from typing import Any, Callable

from ...environ.fastcalls import FD_NONE
from .constants import Errno, Filetype, Rights, WasiError

_BADF = Errno.BADF
_FD_WRITE = int(Rights.FD_WRITE)
_FD_READ = int(Rights.FD_READ)

#: guest fds 0 .. FAST_FDS-1 are published to native fast paths (engine.environ.fastcalls)
FAST_FDS = 64


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
    """Guest fd -> Descriptor. New descriptors take the lowest free number.

    Every change goes through the methods here (or `changed`), which keep `fast_map` and
    `read_map` (the descriptor maps native fast paths read, see engine.environ.fastcalls) in
    step."""

    def __init__(self) -> None:
        self._entries: dict[int, Descriptor] = {}
        self.fast_map = (ctypes.c_int32 * FAST_FDS)(*([FD_NONE] * FAST_FDS))
        #: fd_read's map: the host descriptor of a guest fd whose contents it may read
        self.read_map = (ctypes.c_int32 * FAST_FDS)(*([FD_NONE] * FAST_FDS))

    @property
    def entries(self) -> dict[int, Descriptor]:
        """The open descriptors (read only: change them through the methods)."""
        return self._entries

    def changed(self, fd: int) -> None:
        """Republish `fd` after its entry (or a field of it) changed."""
        if fd < FAST_FDS:
            d = self._entries.get(fd)
            ok = d is not None and d.host is not None and d.custom is None
            self.fast_map[fd] = (d.host << 1 | d.is_stdio) \
                if ok and d.rights_base & _FD_WRITE else FD_NONE      # type: ignore[union-attr]
            self.read_map[fd] = d.host if ok and d.rights_base & _FD_READ \
                and not d.is_dir else FD_NONE                           # type: ignore[union-attr]

    def get(self, fd: int, rights: int = 0) -> Descriptor:
        """The descriptor `fd` (BADF if not open), checked to hold `rights` (NOTCAPABLE)."""
        d = self._entries.get(fd & 0xFFFFFFFF)
        if d is None:
            raise WasiError(_BADF)
        if rights and (d.rights_base & rights) != rights:
            raise WasiError(Errno.NOTCAPABLE)
        return d

    def put(self, fd: int, d: Descriptor) -> None:
        """Open `d` as guest descriptor `fd` (which must be free)."""
        self._entries[fd] = d
        self.changed(fd)

    def insert(self, d: Descriptor) -> int:
        fd = 0
        entries = self._entries
        while fd in entries:
            fd += 1
        if fd > 0xFFFFFFFF:
            raise WasiError(Errno.NFILE)
        self.put(fd, d)
        return fd

    def remove(self, fd: int) -> Descriptor:
        fd &= 0xFFFFFFFF
        d = self._entries.pop(fd, None)
        if d is None:
            raise WasiError(_BADF)
        self.changed(fd)
        return d

    def renumber(self, fd: int, to: int) -> None:
        fd &= 0xFFFFFFFF
        to &= 0xFFFFFFFF
        src = self.get(fd)
        dst = self.get(to)
        if fd == to:
            return
        del self._entries[fd]
        self._entries[to] = src
        self.changed(fd)
        self.changed(to)
        dst.close()

    def take_from(self, other: DescriptorTable) -> list[Descriptor]:
        """Replace this table's descriptors by `other`'s (which becomes empty); the previous
        descriptors are returned, for the caller to close."""
        old = list(self._entries.values())
        self._entries, other._entries = other._entries, {}
        for fd in range(FAST_FDS):
            self.changed(fd)
        return old

    def close_all(self) -> None:
        entries, self._entries = self._entries, {}
        for fd in range(FAST_FDS):
            self.changed(fd)
        for d in entries.values():
            d.close()
