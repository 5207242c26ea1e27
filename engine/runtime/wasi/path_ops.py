"""The path_* functions of wasi_snapshot_preview1. Every path goes through the sandboxed
resolver (sandbox.resolve); the host call then names one component relative to a directory
fd inside the sandbox, without following links."""

from __future__ import annotations

import os
import stat as _stat
from typing import Any

from . import guestmem as G
from .config import DirPerms, FilePerms
from .constants import (DIR_RIGHTS, DIR_WRITE_RIGHTS, FILE_RIGHTS, FILE_WRITE_RIGHTS,
                        READ_RIGHTS, WRITE_RIGHTS, Errno, FdFlags, Filetype, LookupFlags, OFlags,
                        Rights, WasiError)
from .descriptors import Descriptor
from .filestat import FILESTAT, filetype_of_mode, pack_filestat
from .hosttime import set_times_at, times_for
from .sandbox import Resolved, resolve

_SUCCESS = 0
_M64 = 0xFFFFFFFFFFFFFFFF


def _lstat(r: Resolved) -> os.stat_result | None:
    try:
        return os.stat(r.name, dir_fd=r.dirfd, follow_symlinks=False)
    except FileNotFoundError:
        return None


class PathOps:
    """Mixin of WasiFunctions: path operations. Each returns an errno."""

    table: Any

    def _dir(self, fd: int, rights: int) -> Descriptor:
        """The directory descriptor `fd`, holding `rights` (PERM when a preopen's permissions
        removed them, else NOTCAPABLE)."""
        d = self.table.get(fd)
        if not d.is_dir:
            raise WasiError(Errno.NOTDIR)
        if d.rights_base & rights != rights:
            if not d.dir_perms & DirPerms.MUTATE and rights & DIR_WRITE_RIGHTS:
                raise WasiError(Errno.PERM)
            raise WasiError(Errno.NOTCAPABLE)
        return d

    def _resolve(self, caller: Any, fd: int, rights: int, path: int, path_len: int,
                 follow: bool) -> tuple[Descriptor, Resolved]:
        d = self._dir(fd, rights)
        text = G.read_path(G.memory_of(caller), path, path_len)
        return d, resolve(d.host, text, follow)

    # -- directories ------------------------------------------------------------------------------

    def path_create_directory(self, caller: Any, fd: int, path: int, path_len: int) -> int:
        _, r = self._resolve(caller, fd, int(Rights.PATH_CREATE_DIRECTORY), path, path_len, False)
        with r:
            if r.name == ".":
                raise WasiError(Errno.EXIST)
            os.mkdir(r.name, 0o777, dir_fd=r.dirfd)
        return _SUCCESS

    def path_remove_directory(self, caller: Any, fd: int, path: int, path_len: int) -> int:
        d = self._dir(fd, int(Rights.PATH_REMOVE_DIRECTORY))
        text = G.read_path(G.memory_of(caller), path, path_len)
        # "dir/" and "dir//" name dir (rmdir(2); wasmtime since 51); "dir/.", "dir/..",
        # "." name a directory by itself, which is not removed: INVAL, as rmdir(2)
        itself = text.rstrip("/").rpartition("/")[2] in (".", "..")
        with resolve(d.host, text, False) as r:
            st = _lstat(r)
            if st is None:
                raise WasiError(Errno.NOENT)
            if not _stat.S_ISDIR(st.st_mode):
                raise WasiError(Errno.NOTDIR)
            if itself or r.name == ".":
                raise WasiError(Errno.INVAL)
            if r.via_link:
                raise WasiError(Errno.NOTDIR)      # a link is not removed as a directory
            os.rmdir(r.name, dir_fd=r.dirfd)
        return _SUCCESS

    def path_unlink_file(self, caller: Any, fd: int, path: int, path_len: int) -> int:
        _, r = self._resolve(caller, fd, int(Rights.PATH_UNLINK_FILE), path, path_len, False)
        with r:
            st = _lstat(r)
            if st is None:
                raise WasiError(Errno.NOENT)
            if _stat.S_ISDIR(st.st_mode):
                raise WasiError(Errno.ISDIR)
            if r.must_be_dir:
                raise WasiError(Errno.NOTDIR)
            os.unlink(r.name, dir_fd=r.dirfd)
        return _SUCCESS

    # -- metadata ---------------------------------------------------------------------------------

    def path_filestat_get(self, caller: Any, fd: int, flags: int, path: int, path_len: int,
                          buf: int) -> int:
        _, r = self._resolve(caller, fd, int(Rights.PATH_FILESTAT_GET), path, path_len,
                             bool(flags & LookupFlags.SYMLINK_FOLLOW))
        mem = G.memory_of(caller)
        G.check(mem, buf, FILESTAT.size, 8)
        with r:
            st = _lstat(r)
            if st is None:
                raise WasiError(Errno.NOENT)
            if r.must_be_dir and not _stat.S_ISDIR(st.st_mode):
                raise WasiError(Errno.NOTDIR)
        G.write_struct(mem, buf, FILESTAT, 8, *pack_filestat(st))
        return _SUCCESS

    def path_filestat_set_times(self, caller: Any, fd: int, flags: int, path: int,
                                path_len: int, atim: int, mtim: int, fst: int) -> int:
        times = times_for(atim & _M64, mtim & _M64, fst & 0xFFFF)
        _, r = self._resolve(caller, fd, int(Rights.PATH_FILESTAT_SET_TIMES), path, path_len,
                             bool(flags & LookupFlags.SYMLINK_FOLLOW))
        with r:
            st = _lstat(r)
            if st is None:
                raise WasiError(Errno.NOENT)
            if r.must_be_dir and not _stat.S_ISDIR(st.st_mode):
                raise WasiError(Errno.NOTDIR)
            set_times_at(r.dirfd, r.name, times, follow=False)
        return _SUCCESS

    # -- links ------------------------------------------------------------------------------------

    def path_link(self, caller: Any, old_fd: int, old_flags: int, old_path: int,
                  old_len: int, new_fd: int, new_path: int, new_len: int) -> int:
        _, src = self._resolve(caller, old_fd, int(Rights.PATH_LINK_SOURCE), old_path, old_len,
                               bool(old_flags & LookupFlags.SYMLINK_FOLLOW))
        with src:
            _, dst = self._resolve(caller, new_fd, int(Rights.PATH_LINK_TARGET), new_path,
                                   new_len, False)
            with dst:
                st = _lstat(src)
                if st is None:
                    raise WasiError(Errno.NOENT)
                if _stat.S_ISDIR(st.st_mode):
                    raise WasiError(Errno.PERM)
                if src.must_be_dir:
                    raise WasiError(Errno.NOTDIR)
                if _lstat(dst) is not None:
                    raise WasiError(Errno.EXIST)
                if dst.must_be_dir:
                    raise WasiError(Errno.NOENT)
                os.link(src.name, dst.name, src_dir_fd=src.dirfd, dst_dir_fd=dst.dirfd,
                        follow_symlinks=False)
        return _SUCCESS

    def path_symlink(self, caller: Any, old_path: int, old_len: int, fd: int, new_path: int,
                     new_len: int) -> int:
        mem = G.memory_of(caller)
        target = G.read_path(mem, old_path, old_len)
        _, r = self._resolve(caller, fd, int(Rights.PATH_SYMLINK), new_path, new_len, False)
        with r:
            if "\0" in target:
                raise WasiError(Errno.INVAL)
            if target.startswith("/"):
                # a link that could only name something outside the sandbox (as wasmtime)
                raise WasiError(Errno.PERM)
            st = _lstat(r)
            if st is not None or r.name == ".":
                raise WasiError(Errno.EXIST)
            if r.must_be_dir:
                raise WasiError(Errno.NOENT)
            os.symlink(target, r.name, dir_fd=r.dirfd)
        return _SUCCESS

    def path_readlink(self, caller: Any, fd: int, path: int, path_len: int, buf: int,
                      buf_len: int, bufused: int) -> int:
        _, r = self._resolve(caller, fd, int(Rights.PATH_READLINK), path, path_len, False)
        mem = G.memory_of(caller)
        with r:
            if r.name == ".":
                raise WasiError(Errno.INVAL)
            if r.must_be_dir:
                raise WasiError(Errno.NOTDIR)
            link = os.readlink(os.fsencode(r.name), dir_fd=r.dirfd)
        buf_len &= 0xFFFFFFFF
        G.check(mem, buf, buf_len)
        G.check(mem, bufused, 4, 4)
        data = link[:buf_len]
        G.write_bytes(mem, buf, data)
        G.write_u32(mem, bufused, len(data))
        return _SUCCESS

    def path_rename(self, caller: Any, fd: int, old_path: int, old_len: int, new_fd: int,
                    new_path: int, new_len: int) -> int:
        _, src = self._resolve(caller, fd, int(Rights.PATH_RENAME_SOURCE), old_path, old_len,
                               False)
        with src:
            _, dst = self._resolve(caller, new_fd, int(Rights.PATH_RENAME_TARGET), new_path,
                                   new_len, False)
            with dst:
                if src.name == "." or dst.name == ".":
                    raise WasiError(Errno.BUSY)
                st = _lstat(src)
                if st is None:
                    raise WasiError(Errno.NOENT)
                src_dir = _stat.S_ISDIR(st.st_mode)
                if (src.must_be_dir or dst.must_be_dir) and (not src_dir or src.via_link):
                    raise WasiError(Errno.NOTDIR)
                os.rename(src.name, dst.name, src_dir_fd=src.dirfd, dst_dir_fd=dst.dirfd)
        return _SUCCESS

    # -- open -------------------------------------------------------------------------------------

    def path_open(self, caller: Any, fd: int, dirflags: int, path: int, path_len: int,
                  oflags: int, rights_base: int, rights_inheriting: int, fdflags: int,
                  opened_fd: int) -> int:
        oflags &= 0xFFFF
        fdflags &= 0xFFFF
        rights_base &= _M64
        rights_inheriting &= _M64
        need = int(Rights.PATH_OPEN)
        if oflags & OFlags.CREAT:
            need |= int(Rights.PATH_CREATE_FILE)
        if oflags & OFlags.TRUNC:
            need |= int(Rights.PATH_FILESTAT_SET_SIZE)
        parent = self._dir(fd, need)
        mem = G.memory_of(caller)
        text = G.read_path(mem, path, path_len)
        G.check(mem, opened_fd, 4, 4)
        if oflags & ~0xF or fdflags & ~0x1F:
            raise WasiError(Errno.INVAL)
        if oflags & OFlags.DIRECTORY and oflags & (OFlags.CREAT | OFlags.TRUNC):
            raise WasiError(Errno.INVAL)
        want_read = bool(rights_base & READ_RIGHTS)
        want_write = bool(rights_base & WRITE_RIGHTS) or bool(fdflags & FdFlags.APPEND)
        if (want_write or oflags & OFlags.TRUNC) and not parent.file_perms & FilePerms.WRITE:
            raise WasiError(Errno.PERM)
        flags = os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NOCTTY
        if oflags & OFlags.CREAT:
            flags |= os.O_CREAT
        if oflags & OFlags.EXCL:
            flags |= os.O_EXCL
        if oflags & OFlags.TRUNC:
            flags |= os.O_TRUNC
        if fdflags & FdFlags.APPEND:
            flags |= os.O_APPEND
        if fdflags & FdFlags.NONBLOCK:
            flags |= os.O_NONBLOCK
        if fdflags & FdFlags.DSYNC:
            flags |= os.O_DSYNC
        if fdflags & FdFlags.SYNC:
            flags |= os.O_SYNC
        if fdflags & FdFlags.RSYNC:
            flags |= getattr(os, "O_RSYNC", os.O_SYNC)
        with resolve(parent.host, text, bool(dirflags & LookupFlags.SYMLINK_FOLLOW)) as r:
            # Linux's open(2) answers, checked here so that the host is asked only for a
            # plain open of one name that is known to be what the guest asked for
            creat, excl = bool(oflags & OFlags.CREAT), bool(oflags & OFlags.EXCL)
            if r.is_link:                       # a link in the last place, not followed
                raise WasiError(Errno.EXIST if creat and excl else Errno.LOOP)
            st = _lstat(r)
            exists = st is not None
            is_dir = exists and _stat.S_ISDIR(st.st_mode)
            if creat and text.endswith("/"):
                raise WasiError(Errno.ISDIR)       # O_CREAT of "name/" (Linux: EISDIR)
            if creat and excl and exists:
                raise WasiError(Errno.EXIST)
            if r.must_be_dir:
                if not exists:
                    raise WasiError(Errno.NOENT)
                if not is_dir:
                    raise WasiError(Errno.NOTDIR)
            if oflags & OFlags.DIRECTORY:
                if not exists:
                    raise WasiError(Errno.NOENT)
                if not is_dir:
                    raise WasiError(Errno.NOTDIR)
            if is_dir:
                # only FD_WRITE asks to write a directory (FD_DATASYNC and the like are
                # meaningful on one)
                if creat or oflags & OFlags.TRUNC or rights_base & Rights.FD_WRITE:
                    raise WasiError(Errno.ISDIR)
                host = os.open(r.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
                               | os.O_CLOEXEC, dir_fd=r.dirfd)
            else:
                if want_read and want_write:
                    access = os.O_RDWR
                elif want_write:
                    access = os.O_WRONLY
                else:
                    access = os.O_RDONLY
                host = os.open(r.name, flags | access, 0o666, dir_fd=r.dirfd)
        try:
            ftype = filetype_of_mode(os.fstat(host).st_mode)
            kind_rights = DIR_RIGHTS if ftype == Filetype.DIRECTORY else FILE_RIGHTS
            base = rights_base & parent.rights_inheriting & kind_rights
            inheriting = rights_inheriting & parent.rights_inheriting
            if not parent.file_perms & FilePerms.WRITE:
                base &= ~FILE_WRITE_RIGHTS if ftype != Filetype.DIRECTORY else ~0
            if ftype == Filetype.DIRECTORY and not parent.dir_perms & DirPerms.MUTATE:
                base &= ~DIR_WRITE_RIGHTS
            d = Descriptor(host, ftype, base, inheriting,
                           fdflags=fdflags, readable=want_read or not want_write,
                           writable=want_write, dir_perms=parent.dir_perms,
                           file_perms=parent.file_perms)
            new = self.table.insert(d)
        except BaseException:
            os.close(host)
            raise
        G.write_u32(mem, opened_fd, new)
        return _SUCCESS
