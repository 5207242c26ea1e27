"""args, environ, clocks, random, proc, sched and sock functions of wasi_snapshot_preview1."""

from __future__ import annotations

import os
import time
from typing import Any

from ...errors import ExitTrap
from . import guestmem as G
from .constants import ClockId, Errno, WasiError

_SUCCESS = 0
_CLOCKS = {ClockId.REALTIME: time.CLOCK_REALTIME, ClockId.MONOTONIC: time.CLOCK_MONOTONIC,
           ClockId.PROCESS_CPUTIME_ID: time.CLOCK_PROCESS_CPUTIME_ID,
           ClockId.THREAD_CPUTIME_ID: time.CLOCK_THREAD_CPUTIME_ID}


def host_clock(clock_id: int) -> int:
    """The host clock for a WASI clockid; INVAL for an unknown one."""
    c = _CLOCKS.get(clock_id & 0xFFFFFFFF)
    if c is None:
        raise WasiError(Errno.INVAL)
    return c


def _sizes(caller: Any, items: list[bytes], count_ptr: int, size_ptr: int) -> int:
    mem = G.memory_of(caller)
    G.check(mem, count_ptr, 4, 4)
    G.check(mem, size_ptr, 4, 4)
    G.write_u32(mem, count_ptr, len(items))
    G.write_u32(mem, size_ptr, sum(len(i) + 1 for i in items))
    return _SUCCESS


def _strings(caller: Any, items: list[bytes], ptrs: int, buf: int) -> int:
    mem = G.memory_of(caller)
    G.check(mem, ptrs, 4 * len(items), 4)
    G.check(mem, buf, sum(len(i) + 1 for i in items))
    pos = buf & 0xFFFFFFFF
    for i, item in enumerate(items):
        G.write_u32(mem, ptrs + 4 * i, pos)
        G.write_bytes(mem, pos, item + b"\0")
        pos += len(item) + 1
    return _SUCCESS


class MiscOps:
    """Mixin of WasiFunctions: everything that is not a file or a path."""

    table: Any
    args: list[bytes]
    env: list[bytes]

    def args_sizes_get(self, caller: Any, argc: int, argv_buf_size: int) -> int:
        return _sizes(caller, self.args, argc, argv_buf_size)

    def args_get(self, caller: Any, argv: int, argv_buf: int) -> int:
        return _strings(caller, self.args, argv, argv_buf)

    def environ_sizes_get(self, caller: Any, count: int, buf_size: int) -> int:
        return _sizes(caller, self.env, count, buf_size)

    def environ_get(self, caller: Any, environ: int, environ_buf: int) -> int:
        return _strings(caller, self.env, environ, environ_buf)

    def clock_res_get(self, caller: Any, clock_id: int, resolution: int) -> int:
        c = host_clock(clock_id)
        mem = G.memory_of(caller)
        res = max(1, round(time.clock_getres(c) * 1e9))
        G.write_u64(mem, resolution, res)
        return _SUCCESS

    def clock_time_get(self, caller: Any, clock_id: int, precision: int, out: int) -> int:
        c = host_clock(clock_id)
        mem = G.memory_of(caller)
        G.write_u64(mem, out, time.clock_gettime_ns(c))
        return _SUCCESS

    def random_get(self, caller: Any, buf: int, buf_len: int) -> int:
        mem = G.memory_of(caller)
        n = buf_len & 0xFFFFFFFF
        G.check(mem, buf, n)
        G.write_bytes(mem, buf, os.urandom(n))
        return _SUCCESS

    def proc_exit(self, caller: Any, code: int) -> None:
        raise ExitTrap(code)            # as wasmtime-py: the i32, signed

    def proc_raise(self, caller: Any, sig: int) -> int:
        raise WasiError(Errno.NOTSUP)

    def sched_yield(self, caller: Any) -> int:
        os.sched_yield()
        return _SUCCESS

    # -- sockets: polyjit hands out no sockets, so every descriptor is "not a socket" --------

    def sock_accept(self, caller: Any, fd: int, flags: int, out: int) -> int:
        self.table.get(fd)
        raise WasiError(Errno.NOTSOCK)

    def sock_recv(self, caller: Any, fd: int, ri_data: int, ri_data_len: int, ri_flags: int,
                  ro_datalen: int, ro_flags: int) -> int:
        self.table.get(fd)
        raise WasiError(Errno.NOTSOCK)

    def sock_send(self, caller: Any, fd: int, si_data: int, si_data_len: int, si_flags: int,
                  so_datalen: int) -> int:
        self.table.get(fd)
        raise WasiError(Errno.NOTSOCK)

    def sock_shutdown(self, caller: Any, fd: int, how: int) -> int:
        self.table.get(fd)
        raise WasiError(Errno.NOTSOCK)
