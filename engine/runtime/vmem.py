"""Address-space reservations for linear memories (ctypes over libc, Linux/POSIX).

A Reservation maps its whole size once, PROT_NONE with MAP_NORESERVE (no memory and no
overcommit charge), and commits a prefix in place with mprotect(PROT_READ | PROT_WRITE). The
base address never changes and nothing is unmapped before the Reservation is freed, so code
running over the memory in another thread never sees it move or vanish. Pages the program
never touches stay uncommitted (they cost no RSS), so growth is a system call, not a copy.

``whole()`` is a writable buffer (a memoryview of format "B") over the whole range; slices of
it (``whole()[:n]``) are the views over the committed prefix. Views keep the Reservation
alive, so a view handed out earlier stays valid after growth; only bytes below ``committed``
may be touched."""

from __future__ import annotations

import ctypes
import mmap

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                       ctypes.c_int, ctypes.c_long]
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]

_MAP_FAILED = ctypes.c_void_p(-1).value
_MAP_NORESERVE = getattr(mmap, "MAP_NORESERVE", 0x4000)
_PROT_NONE = 0
_PROT_RW = mmap.PROT_READ | mmap.PROT_WRITE

#: host page granularity of commits
HOST_PAGE = mmap.PAGESIZE


def _round_up(n: int, align: int) -> int:
    return (n + align - 1) // align * align


class Reservation:
    """`size` bytes of address space, of which a prefix (``committed`` bytes) is read+write."""

    __slots__ = ("addr", "size", "committed", "__weakref__")

    def __init__(self, size: int) -> None:
        self.addr = 0
        self.committed = 0
        self.size = _round_up(max(size, HOST_PAGE), HOST_PAGE)
        addr = _libc.mmap(None, self.size, _PROT_NONE,
                          mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _MAP_NORESERVE, -1, 0)
        if addr in (None, _MAP_FAILED):
            raise MemoryError(f"cannot reserve {self.size} bytes of address space "
                              f"(errno {ctypes.get_errno()})")
        self.addr = addr

    def commit(self, nbytes: int) -> bool:
        """Make [addr, addr + nbytes) readable and writable (rounded up to host pages); False
        if that is more than the reservation or the system refuses."""
        need = _round_up(nbytes, HOST_PAGE)
        if need > self.size:
            return False
        if need > self.committed:
            if _libc.mprotect(self.addr + self.committed, need - self.committed, _PROT_RW) != 0:
                return False
            self.committed = need
        return True

    def protect(self, offset: int, nbytes: int, prot: int) -> None:
        """Set the protection of [addr + offset, addr + offset + nbytes) (host pages, whatever
        `committed` says: for reservations that hold code, engine.exec.lazy); MemoryError
        when the system refuses."""
        if offset % HOST_PAGE or offset + nbytes > self.size:
            raise ValueError(f"protect({offset}, {nbytes}) outside the reservation's pages")
        if nbytes and _libc.mprotect(self.addr + offset, _round_up(nbytes, HOST_PAGE),
                                     prot) != 0:
            raise MemoryError(f"mprotect failed (errno {ctypes.get_errno()})")

    def whole(self) -> memoryview:
        """A writable byte view of the whole reservation (touch only the committed prefix)."""
        arr = (ctypes.c_ubyte * self.size).from_address(self.addr)
        arr._reservation = self         # the view keeps the mapping alive
        return memoryview(arr).cast("B")

    def __del__(self, _munmap=_libc.munmap) -> None:
        # `_munmap` is bound at definition: at interpreter shutdown module globals may be None.
        if self.addr:
            _munmap(self.addr, self.size)
            self.addr = 0
