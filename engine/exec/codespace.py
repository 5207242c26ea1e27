"""Memory for machine code written while other code runs (lazy compilation): one shared memory
object (memfd) mapped twice, read+execute where code runs and read+write where polyjit writes
it. No page is ever writable and executable in the same mapping (W^X), no protection changes
while code runs (a page being executed by another thread never loses its execute right), and
code can be added next to running code or patched in place. Pages cost memory only once
written; the read+write view's address is known only to polyjit."""

from __future__ import annotations

import ctypes
import mmap
import os

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                       ctypes.c_int, ctypes.c_long]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_MAP_FAILED = ctypes.c_void_p(-1).value


class CodeSpace:
    """`size` bytes (whole pages) seen at `addr` (read+execute) and `writable` (read+write)."""

    __slots__ = ("addr", "writable", "size", "__weakref__")

    def __init__(self, size: int) -> None:
        self.addr = self.writable = 0
        self.size = -(-size // mmap.PAGESIZE) * mmap.PAGESIZE
        fd = os.memfd_create("polyjit-code", os.MFD_CLOEXEC)
        try:
            os.ftruncate(fd, self.size)
            self.addr = self._map(fd, mmap.PROT_READ | mmap.PROT_EXEC)
            self.writable = self._map(fd, mmap.PROT_READ | mmap.PROT_WRITE)
        finally:
            os.close(fd)        # the mappings keep the memory object

    def _map(self, fd: int, prot: int) -> int:
        addr = _libc.mmap(None, self.size, prot, mmap.MAP_SHARED, fd, 0)
        if addr in (None, _MAP_FAILED):
            raise MemoryError(f"cannot map {self.size} bytes of code space "
                              f"(errno {ctypes.get_errno()})")
        return addr

    def write(self, addr: int, data: bytes) -> None:
        """Store `data` at executable address `addr` (through the writable view)."""
        if not (self.addr <= addr and addr + len(data) <= self.addr + self.size):
            raise ValueError(f"{addr:#x} (+{len(data)}) is outside this code space")
        ctypes.memmove(self.writable + (addr - self.addr), data, len(data))

    def data(self, offset: int, size: int) -> None:
        """Make [offset, offset + size) of the executable view read+write data (whole pages;
        counters the code updates), no longer executable."""
        if _libc.mprotect(self.addr + offset, size,
                          mmap.PROT_READ | mmap.PROT_WRITE) != 0:
            raise MemoryError(f"cannot make code space data (errno {ctypes.get_errno()})")

    def __del__(self, _munmap=_libc.munmap) -> None:
        # `_munmap` is bound at definition: at interpreter shutdown module globals may be None.
        for attr in ("addr", "writable"):
            a = getattr(self, attr, 0)
            if a:
                _munmap(a, self.size)
                setattr(self, attr, 0)
