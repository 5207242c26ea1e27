"""The engine's epoch counter: a u64 at a fixed, page-aligned address.

The counter lives in a page of its own (mmap'd, page aligned) so that generated code can read it
through a pointer in the vmctx, and an emulator can map the same page with ``mem_map_ptr``.
``increment()`` is one atomic increment of that 8-byte cell: on an x86_64 host a 5-byte
``lock inc qword ptr [rdi]; ret`` routine called through ctypes (no lock, no system call, the
GIL released during the call); elsewhere a plain store of the incremented value (atomic for
aligned 8-byte stores on every supported target; concurrent increments may then coalesce, which
only delays an interruption by one tick).
"""

from __future__ import annotations

import ctypes
import mmap
import threading
from typing import Callable

from .native import CodeRegion, native_supported
from .space import SpaceError

_PAGE = mmap.PAGESIZE


class EpochCounter:
    """The engine's epoch (see the module docstring)."""

    __slots__ = ("_page", "_cell", "address", "_inc")

    def __init__(self) -> None:
        self._page = mmap.mmap(-1, _PAGE)
        self._cell = ctypes.c_uint64.from_buffer(self._page)
        self.address: int = ctypes.addressof(self._cell)
        self._inc: Callable[[int], None] | None = _atomic_increment()

    @property
    def page(self) -> tuple[int, int]:
        """(address, size) of the page holding the counter (for an emulator's mem_map_ptr)."""
        return self.address, _PAGE

    @property
    def value(self) -> int:
        return self._cell.value

    def increment(self) -> None:
        if self._inc is not None:
            self._inc(self.address)
        else:
            self._cell.value += 1


_INC_LOCK = threading.Lock()
_INC: list = []          # [callable or None, CodeRegion], filled once


def _atomic_increment() -> Callable[[int], None] | None:
    """A ctypes function doing ``lock inc qword ptr [arg]`` natively, or None off x86_64."""
    with _INC_LOCK:
        if not _INC:
            fn = region = None
            if native_supported():
                try:
                    region = CodeRegion(bytes([0xF0, 0x48, 0xFF, 0x07, 0xC3]))
                    fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(region.addr)
                except (OSError, SpaceError):
                    fn = region = None
            _INC.extend([fn, region])
        return _INC[0]
