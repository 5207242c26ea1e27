"""Setting file timestamps with utimensat/futimens (through libc), so that one timestamp can be
left unchanged (UTIME_OMIT) or set to the current time (UTIME_NOW) as fstflags asks."""

from __future__ import annotations

import ctypes
import ctypes.util
import os

from .constants import Errno, FstFlags, WasiError

UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2
AT_SYMLINK_NOFOLLOW = 0x100


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_utimensat = _libc.utimensat
_utimensat.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(_Timespec), ctypes.c_int]
_futimens = _libc.futimens
_futimens.argtypes = [ctypes.c_int, ctypes.POINTER(_Timespec)]


def _spec(value: int, flags: int, set_bit: int, now_bit: int) -> tuple[int, int]:
    if flags & now_bit:
        return (0, UTIME_NOW)
    if flags & set_bit:
        return divmod(value, 1_000_000_000)
    return (0, UTIME_OMIT)


def times_for(atim: int, mtim: int, fst: int) -> "ctypes.Array[_Timespec]":
    """The timespec pair for fstflags `fst`; INVAL for contradictory or unknown flags."""
    if fst & ~0xF or (fst & FstFlags.ATIM and fst & FstFlags.ATIM_NOW) or \
            (fst & FstFlags.MTIM and fst & FstFlags.MTIM_NOW):
        raise WasiError(Errno.INVAL)
    a = _spec(atim, fst, FstFlags.ATIM, FstFlags.ATIM_NOW)
    m = _spec(mtim, fst, FstFlags.MTIM, FstFlags.MTIM_NOW)
    return (_Timespec * 2)(_Timespec(*a), _Timespec(*m))


def set_times_fd(fd: int, times) -> None:
    if _futimens(fd, times) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def set_times_at(dirfd: int, name: str, times, follow: bool) -> None:
    flags = 0 if follow else AT_SYMLINK_NOFOLLOW
    if _utimensat(dirfd, os.fsencode(name), times, flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
