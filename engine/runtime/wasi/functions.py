"""WasiFunctions: every function of wasi_snapshot_preview1, bound to one store's WasiContext,
and SIGNATURES, their wasm types (witx: pointers, sizes, fds and flags are i32; 64-bit
values i64; every function but proc_exit returns an errno)."""

from __future__ import annotations

from typing import Any, Callable

from .constants import WasiError
from .context import WasiContext
from .fd_ops import FdOps
from .hosterrno import from_oserror
from .misc_ops import MiscOps
from .path_ops import PathOps
from .poll import PollOps

MODULE = "wasi_snapshot_preview1"

#: name -> (params, results), "i" = i32, "I" = i64, in the witx's order
SIGNATURES: dict[str, tuple[str, str]] = {
    "args_get": ("ii", "i"),
    "args_sizes_get": ("ii", "i"),
    "environ_get": ("ii", "i"),
    "environ_sizes_get": ("ii", "i"),
    "clock_res_get": ("ii", "i"),
    "clock_time_get": ("iIi", "i"),
    "fd_advise": ("iIIi", "i"),
    "fd_allocate": ("iII", "i"),
    "fd_close": ("i", "i"),
    "fd_datasync": ("i", "i"),
    "fd_fdstat_get": ("ii", "i"),
    "fd_fdstat_set_flags": ("ii", "i"),
    "fd_fdstat_set_rights": ("iII", "i"),
    "fd_filestat_get": ("ii", "i"),
    "fd_filestat_set_size": ("iI", "i"),
    "fd_filestat_set_times": ("iIIi", "i"),
    "fd_pread": ("iiiIi", "i"),
    "fd_prestat_get": ("ii", "i"),
    "fd_prestat_dir_name": ("iii", "i"),
    "fd_pwrite": ("iiiIi", "i"),
    "fd_read": ("iiii", "i"),
    "fd_readdir": ("iiiIi", "i"),
    "fd_renumber": ("ii", "i"),
    "fd_seek": ("iIii", "i"),
    "fd_sync": ("i", "i"),
    "fd_tell": ("ii", "i"),
    "fd_write": ("iiii", "i"),
    "path_create_directory": ("iii", "i"),
    "path_filestat_get": ("iiiii", "i"),
    "path_filestat_set_times": ("iiiiIIi", "i"),
    "path_link": ("iiiiiii", "i"),
    "path_open": ("iiiiiIIii", "i"),
    "path_readlink": ("iiiiii", "i"),
    "path_remove_directory": ("iii", "i"),
    "path_rename": ("iiiiii", "i"),
    "path_symlink": ("iiiii", "i"),
    "path_unlink_file": ("iii", "i"),
    "poll_oneoff": ("iiii", "i"),
    "proc_exit": ("i", ""),
    "proc_raise": ("i", "i"),
    "sched_yield": ("", "i"),
    "random_get": ("ii", "i"),
    "sock_accept": ("iii", "i"),
    "sock_recv": ("iiiiii", "i"),
    "sock_send": ("iiiii", "i"),
    "sock_shutdown": ("ii", "i"),
}

#: functions whose method does its own error handling (the hot path: no wrapper frame)
_DIRECT = frozenset({"fd_write", "proc_exit"})


class WasiFunctions(FdOps, PathOps, MiscOps, PollOps):
    """The preview1 functions over one WasiContext. Methods take (caller, *wasm args) and
    return an errno; a guest mistake is an errno, never a Python exception."""

    def __init__(self, ctx: WasiContext) -> None:
        self.ctx = ctx
        # the same objects for the context's lifetime (set_wasi refills them)
        self.table = ctx.table
        self.args = ctx.args
        self.env = ctx.env

    def host_function(self, name: str) -> Callable[..., Any]:
        """The Python callable to register for `name` (errors turned into errnos)."""
        method = getattr(self, name)
        if name in _DIRECT:
            return method

        def call(caller: Any, *args: int) -> int:
            try:
                return method(caller, *args)
            except WasiError as e:
                return e.errno
            except OSError as e:
                return from_oserror(e)
        call.__name__ = name
        call.__qualname__ = f"wasi.{name}"
        return call
