"""The fd_* functions of wasi_snapshot_preview1 (descriptor operations)."""

from __future__ import annotations

import errno as _os
import fcntl
import os
import struct
from typing import Any

from ..memory import Memory
from . import guestmem as G
from .constants import Advice, Errno, FdFlags, Filetype, PreopenType, Rights, WasiError, Whence
from .filestat import DIRENT, FDSTAT, FILESTAT, PRESTAT, filetype_of_mode, pack_filestat
from .hosterrno import from_oserror
from .hosttime import set_times_fd, times_for

_M64 = 0xFFFFFFFFFFFFFFFF
_U32 = struct.Struct("<I")
_SUCCESS = 0
_BADF = int(Errno.BADF)
_FD_WRITE = int(Rights.FD_WRITE)
_FD_READ = int(Rights.FD_READ)
_NOTCAPABLE = int(Errno.NOTCAPABLE)
_IOVEC_UNPACK = struct.Struct("<II").unpack_from
_U32_PACK = _U32.pack_into
_write = os.write
_POSIX_ADVICE = {Advice.NORMAL: os.POSIX_FADV_NORMAL, Advice.SEQUENTIAL: os.POSIX_FADV_SEQUENTIAL,
                 Advice.RANDOM: os.POSIX_FADV_RANDOM, Advice.WILLNEED: os.POSIX_FADV_WILLNEED,
                 Advice.DONTNEED: os.POSIX_FADV_DONTNEED, Advice.NOREUSE: os.POSIX_FADV_NOREUSE}


def _write_all(d: Any, data: bytes) -> int:
    """Write `data` to descriptor `d`'s stream; the number of bytes written."""
    if d.custom is not None:
        d.custom(bytes(data))
        return len(data)
    host = d.host
    if host is None:
        return len(data)            # a stream with nowhere to go discards, as wasmtime's sink
    if d.is_stdio:
        # a stream: keep writing until everything is out (the guest asked for all of it); an
        # error after part of it went out reports that part, as write(2) does (and the native
        # fast path, engine.environ.fastcalls)
        view = memoryview(data)
        done = 0
        while done < len(view):
            try:
                n = os.write(host, view[done:])
            except OSError:
                if done:
                    return done
                raise
            if n == 0:
                break
            done += n
        return done
    return os.write(host, data)


class FdOps:
    """Mixin of WasiFunctions: descriptor operations. Each returns an errno."""

    table: Any

    # -- the hot path: fd_write/fd_read --------------------------------------------------------

    def fd_write(self, caller: Any, fd: int, iovs: int, iovs_len: int, nwritten: int) -> int:
        # The hot path (one iovec, a host descriptor) does its checks inline; anything else
        # goes through the general checked path below.
        d = self.table.entries.get(fd)
        if d is None:
            return _BADF
        if not d.rights_base & _FD_WRITE:
            return _NOTCAPABLE
        inst = caller._instance
        mem = inst.export_map.get("memory") if inst is not None else None
        if iovs_len == 1 and type(mem) is Memory and d.host is not None and d.custom is None:
            buf = mem.buf
            length = mem.length
            iovs &= 0xFFFFFFFF
            nwritten &= 0xFFFFFFFF
            if iovs + 8 <= length and nwritten + 4 <= length and not (iovs | nwritten) & 3:
                base, n = _IOVEC_UNPACK(buf, iovs)
                if base + n <= length:
                    try:
                        done = _write(d.host, buf[base:base + n])
                        if 0 < done < n and d.is_stdio:
                            done += _write_all(d, buf[base + done:base + n])
                    except OSError as e:
                        return from_oserror(e)
                    _U32_PACK(buf, nwritten, done)
                    return _SUCCESS
        try:
            mem = G.memory_of(caller)
            data = G.gather(mem, iovs, iovs_len)
            G.check(mem, nwritten, 4, 4)
            n = _write_all(d, data)
            _U32.pack_into(mem.buf, nwritten & 0xFFFFFFFF, n)
        except WasiError as e:
            return e.errno
        except OSError as e:
            return from_oserror(e)
        return _SUCCESS

    def fd_read(self, caller: Any, fd: int, iovs: int, iovs_len: int, nread: int) -> int:
        d = self._file(fd, _FD_READ, None)
        mem = G.memory_of(caller)
        pieces = G.iovecs(mem, iovs, iovs_len)
        G.check(mem, nread, 4, 4)
        total = sum(n for _, n in pieces)
        data = b"" if d.host is None or total == 0 else os.read(d.host, total)
        G.scatter(mem, pieces, data)
        G.write_u32(mem, nread, len(data))
        return _SUCCESS

    def fd_pread(self, caller: Any, fd: int, iovs: int, iovs_len: int, offset: int,
                 nread: int) -> int:
        d = self._file(fd, int(Rights.FD_READ | Rights.FD_SEEK), Errno.SPIPE)
        mem = G.memory_of(caller)
        pieces = G.iovecs(mem, iovs, iovs_len)
        G.check(mem, nread, 4, 4)
        if offset < 0:
            raise WasiError(Errno.INVAL)
        total = sum(n for _, n in pieces)
        data = os.pread(self._host(d), total, offset) if total else b""
        G.scatter(mem, pieces, data)
        G.write_u32(mem, nread, len(data))
        return _SUCCESS

    def fd_pwrite(self, caller: Any, fd: int, iovs: int, iovs_len: int, offset: int,
                  nwritten: int) -> int:
        d = self._file(fd, int(Rights.FD_WRITE | Rights.FD_SEEK), Errno.SPIPE)
        mem = G.memory_of(caller)
        data = G.gather(mem, iovs, iovs_len)
        G.check(mem, nwritten, 4, 4)
        if offset < 0:
            raise WasiError(Errno.INVAL)
        host = self._host(d)
        if d.fdflags & FdFlags.APPEND:
            # Linux's pwrite appends to an O_APPEND file whatever the offset; POSIX (and
            # wasmtime) write at the offset: do it through a descriptor without O_APPEND
            n = _pwrite_no_append(host, data, offset)
        else:
            n = os.pwrite(host, data, offset)
        G.write_u32(mem, nwritten, n)
        return _SUCCESS

    # -- positioning ------------------------------------------------------------------------------

    def fd_seek(self, caller: Any, fd: int, offset: int, whence: int, newoffset: int) -> int:
        need = Rights.FD_TELL if (offset == 0 and whence == Whence.CUR) else Rights.FD_SEEK
        d = self._file(fd, int(need), Errno.SPIPE)
        mem = G.memory_of(caller)
        G.check(mem, newoffset, 8, 8)
        if whence not in (0, 1, 2):
            raise WasiError(Errno.INVAL)        # (wasmtime traps on a bad enum value)
        host = self._host(d)
        pos = os.lseek(host, offset, (os.SEEK_SET, os.SEEK_CUR, os.SEEK_END)[whence])
        G.write_u64(mem, newoffset, pos)
        return _SUCCESS

    def fd_tell(self, caller: Any, fd: int, offset: int) -> int:
        d = self._file(fd, int(Rights.FD_TELL), Errno.SPIPE)
        mem = G.memory_of(caller)
        G.check(mem, offset, 8, 8)
        G.write_u64(mem, offset, os.lseek(self._host(d), 0, os.SEEK_CUR))
        return _SUCCESS

    # -- descriptor state -------------------------------------------------------------------------

    def fd_close(self, caller: Any, fd: int) -> int:
        self.table.remove(fd).close()
        return _SUCCESS

    def fd_renumber(self, caller: Any, fd: int, to: int) -> int:
        self.table.renumber(fd, to)
        return _SUCCESS

    def fd_fdstat_get(self, caller: Any, fd: int, buf: int) -> int:
        d = self.table.get(fd)
        mem = G.memory_of(caller)
        G.write_struct(mem, buf, FDSTAT, 8, d.filetype, d.fdflags, d.rights_base,
                       d.rights_inheriting)
        return _SUCCESS

    def fd_fdstat_set_flags(self, caller: Any, fd: int, flags: int) -> int:
        d = self._file(fd, int(Rights.FD_FDSTAT_SET_FLAGS))
        flags &= 0xFFFF
        if flags & ~0x1F:
            raise WasiError(Errno.INVAL)
        if flags & (FdFlags.DSYNC | FdFlags.RSYNC | FdFlags.SYNC):
            # the sync flags can only be chosen when opening (as in wasmtime)
            raise WasiError(Errno.INVAL)
        if d.host is not None:
            cur = fcntl.fcntl(d.host, fcntl.F_GETFL)
            cur &= ~(os.O_APPEND | os.O_NONBLOCK)
            if flags & FdFlags.APPEND:
                cur |= os.O_APPEND
            if flags & FdFlags.NONBLOCK:
                cur |= os.O_NONBLOCK
            if d.owned:
                fcntl.fcntl(d.host, fcntl.F_SETFL, cur)
        keep = d.fdflags & (FdFlags.DSYNC | FdFlags.RSYNC | FdFlags.SYNC)
        d.fdflags = keep | (flags & (FdFlags.APPEND | FdFlags.NONBLOCK))
        return _SUCCESS

    def fd_fdstat_set_rights(self, caller: Any, fd: int, base: int, inheriting: int) -> int:
        d = self.table.get(fd)
        base &= _M64
        inheriting &= _M64
        if base & ~d.rights_base or inheriting & ~d.rights_inheriting:
            raise WasiError(Errno.NOTCAPABLE)
        d.rights_base = base
        d.rights_inheriting = inheriting
        self.table.changed(fd & 0xFFFFFFFF)
        return _SUCCESS

    def fd_filestat_get(self, caller: Any, fd: int, buf: int) -> int:
        d = self.table.get(fd, int(Rights.FD_FILESTAT_GET))
        mem = G.memory_of(caller)
        G.check(mem, buf, FILESTAT.size, 8)
        if d.host is None:
            values = (0, 0, d.filetype, 0, 0, 0, 0, 0)
        else:
            values = pack_filestat(os.fstat(d.host))
            if d.is_stdio and values[2] != Filetype.REGULAR_FILE:
                values = values[:2] + (d.filetype,) + values[3:]
        G.write_struct(mem, buf, FILESTAT, 8, *values)
        return _SUCCESS

    def fd_filestat_set_size(self, caller: Any, fd: int, size: int) -> int:
        d = self._file(fd, int(Rights.FD_FILESTAT_SET_SIZE))
        if size < 0:
            raise WasiError(Errno.INVAL)
        os.ftruncate(self._host(d), size)
        return _SUCCESS

    def fd_filestat_set_times(self, caller: Any, fd: int, atim: int, mtim: int,
                              fst: int) -> int:
        d = self.table.get(fd, int(Rights.FD_FILESTAT_SET_TIMES))
        times = times_for(atim & _M64, mtim & _M64, fst & 0xFFFF)
        set_times_fd(self._host(d), times)
        return _SUCCESS

    def fd_advise(self, caller: Any, fd: int, offset: int, length: int, advice: int) -> int:
        d = self._file(fd, int(Rights.FD_ADVISE))
        if advice not in _POSIX_ADVICE:
            raise WasiError(Errno.INVAL)        # (wasmtime traps on a bad enum value)
        if offset < 0 or length < 0:
            raise WasiError(Errno.INVAL)
        host = self._host(d)
        if d.filetype == Filetype.REGULAR_FILE:
            os.posix_fadvise(host, offset, length, _POSIX_ADVICE[advice])
        return _SUCCESS

    def fd_allocate(self, caller: Any, fd: int, offset: int, length: int) -> int:
        d = self._file(fd, int(Rights.FD_ALLOCATE))
        if offset < 0 or length <= 0:
            raise WasiError(Errno.INVAL)
        host = self._host(d)
        size = os.fstat(host).st_size
        if offset + length > size:
            # allocation that only extends the file (what POSIX guarantees after the call)
            try:
                os.posix_fallocate(host, offset, length)
            except OSError as e:
                if e.errno not in (_os.EOPNOTSUPP, _os.EINVAL):
                    raise
                os.ftruncate(host, offset + length)
        return _SUCCESS

    def fd_datasync(self, caller: Any, fd: int) -> int:
        d = self._file(fd, int(Rights.FD_DATASYNC))
        os.fdatasync(self._host(d))
        return _SUCCESS

    def fd_sync(self, caller: Any, fd: int) -> int:
        d = self._file(fd, int(Rights.FD_SYNC))
        os.fsync(self._host(d))
        return _SUCCESS

    # -- preopens ---------------------------------------------------------------------------------

    def fd_prestat_get(self, caller: Any, fd: int, buf: int) -> int:
        d = self.table.get(fd)
        if d.preopen is None:
            raise WasiError(Errno.BADF)
        mem = G.memory_of(caller)
        G.write_struct(mem, buf, PRESTAT, 4, PreopenType.DIR, len(d.preopen.encode("utf-8")))
        return _SUCCESS

    def fd_prestat_dir_name(self, caller: Any, fd: int, path: int, path_len: int) -> int:
        d = self.table.get(fd)
        if d.preopen is None:
            raise WasiError(Errno.BADF)
        name = d.preopen.encode("utf-8")
        if (path_len & 0xFFFFFFFF) < len(name):
            raise WasiError(Errno.NAMETOOLONG)
        G.write_bytes(G.memory_of(caller), path, name)
        return _SUCCESS

    # -- directories ------------------------------------------------------------------------------

    def fd_readdir(self, caller: Any, fd: int, buf: int, buf_len: int, cookie: int,
                   bufused: int) -> int:
        d = self.table.get(fd)
        if not d.is_dir:
            raise WasiError(Errno.BADF)
        if not d.rights_base & Rights.FD_READDIR:
            raise WasiError(Errno.NOTCAPABLE)
        mem = G.memory_of(caller)
        buf_len &= 0xFFFFFFFF
        buf = G.check(mem, buf, buf_len)
        G.check(mem, bufused, 4, 4)
        cookie &= _M64
        out = bytearray()
        for index, (name, ino, ftype) in enumerate(_listing(self._host(d))):
            if index < cookie:
                continue
            raw = name.encode("utf-8", "surrogateescape")
            out += DIRENT.pack(index + 1, ino, len(raw), ftype) + raw
            if len(out) >= buf_len:
                break
        data = bytes(out[:buf_len])
        mem.buf[buf:buf + len(data)] = data
        G.write_u32(mem, bufused, len(data))
        return _SUCCESS

    # -- helpers ----------------------------------------------------------------------------------

    def _file(self, fd: int, rights: int, stream_errno: int | None = Errno.BADF) -> Any:
        """The descriptor `fd` for an operation on a file's contents: BADF for a directory,
        `stream_errno` (unless None) for a standard stream, then NOTCAPABLE without
        `rights` (the order in which wasmtime answers)."""
        d = self.table.get(fd)
        if d.is_dir:
            raise WasiError(Errno.BADF)
        if d.is_stdio and stream_errno is not None:
            raise WasiError(stream_errno)
        if d.rights_base & rights != rights:
            raise WasiError(Errno.NOTCAPABLE)
        return d

    @staticmethod
    def _host(d: Any) -> int:
        if d.host is None:
            raise WasiError(Errno.BADF if not d.is_stdio else Errno.SPIPE)
        return d.host


def _listing(host: int) -> list[tuple[str, int, int]]:
    """(name, inode, filetype) of a directory's entries: ".", "..", then the host's order.
    ".." has the directory's own inode number (as in wasmtime): a preopen's host parent is
    outside the sandbox, and nothing about it reaches the guest."""
    here = os.fstat(host).st_ino
    out = [(".", here, Filetype.DIRECTORY), ("..", here, Filetype.DIRECTORY)]
    with os.scandir(host) as it:
        for e in it:
            try:
                ftype = filetype_of_mode(e.stat(follow_symlinks=False).st_mode)
            except OSError:
                ftype = Filetype.UNKNOWN
            out.append((e.name, e.inode(), ftype))
    return out


def _pwrite_no_append(host: int, data: bytes, offset: int) -> int:
    """pwrite at `offset` on a descriptor opened with O_APPEND (clear the flag around it)."""
    flags = fcntl.fcntl(host, fcntl.F_GETFL)
    fcntl.fcntl(host, fcntl.F_SETFL, flags & ~os.O_APPEND)
    try:
        return os.pwrite(host, data, offset)
    finally:
        fcntl.fcntl(host, fcntl.F_SETFL, flags)
