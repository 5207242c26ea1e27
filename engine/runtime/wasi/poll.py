"""poll_oneoff: clock subscriptions (relative or absolute, on any clock) and fd readiness.
Regular files and streams without a host descriptor are always ready; stdio and other host
descriptors are polled with select.poll, up to the earliest clock deadline."""

from __future__ import annotations

import os
import select
import struct
import time
from typing import Any

from . import guestmem as G
from .constants import Errno, EventType, Filetype, Rights, SubClockFlags, WasiError
from .misc_ops import host_clock

#: subscription: userdata u64, tag u8 (+7), then the union at 16 (48 bytes)
_SUB_HEAD = struct.Struct("<QB")
_SUB_CLOCK = struct.Struct("<IxxxxQQH")        # at offset 16: id, timeout, precision, flags
_SUB_FD = struct.Struct("<I")
#: event: userdata u64, error u16, type u8 (+5), nbytes u64, flags u16 (+6) (32 bytes)
_EVENT = struct.Struct("<QHB5xQH6x")
_SUB_SIZE = 48


class PollOps:
    """Mixin of WasiFunctions: poll_oneoff."""

    table: Any

    def poll_oneoff(self, caller: Any, in_ptr: int, out_ptr: int, nsubs: int,
                    nevents: int) -> int:
        nsubs &= 0xFFFFFFFF
        mem = G.memory_of(caller)
        if nsubs == 0:
            raise WasiError(Errno.INVAL)
        base = G.check(mem, in_ptr, _SUB_SIZE * nsubs, 8)
        out = G.check(mem, out_ptr, _EVENT.size * nsubs, 8)
        G.check(mem, nevents, 4, 4)
        buf = mem.buf
        events: list[tuple] = []
        clocks: list[tuple[int, int]] = []        # (deadline in monotonic ns, userdata)
        waits: list[tuple[int, int, int]] = []    # (host fd, poll mask, userdata, type)
        now = time.monotonic_ns()
        for i in range(nsubs):
            at = base + _SUB_SIZE * i
            userdata, tag = _SUB_HEAD.unpack_from(buf, at)
            if tag == EventType.CLOCK:
                cid, timeout, _precision, flags = _SUB_CLOCK.unpack_from(buf, at + 16)
                try:
                    clock = host_clock(cid)
                except WasiError as e:
                    events.append((userdata, e.errno, tag, 0, 0))
                    continue
                if flags & SubClockFlags.ABSTIME:
                    delta = timeout - time.clock_gettime_ns(clock)
                else:
                    delta = timeout
                clocks.append((now + max(0, delta), userdata))
            elif tag in (EventType.FD_READ, EventType.FD_WRITE):
                fd = _SUB_FD.unpack_from(buf, at + 16)[0]
                d = self.table.entries.get(fd)
                if d is None:
                    events.append((userdata, int(Errno.BADF), tag, 0, 0))
                    continue
                if not d.rights_base & Rights.POLL_FD_READWRITE:
                    events.append((userdata, int(Errno.NOTCAPABLE), tag, 0, 0))
                    continue
                if d.host is None or d.filetype in (Filetype.REGULAR_FILE, Filetype.DIRECTORY):
                    events.append((userdata, 0, tag, _available(d, tag), 0))
                else:
                    mask = select.POLLIN if tag == EventType.FD_READ else select.POLLOUT
                    waits.append((d.host, mask, userdata, tag))
            else:
                raise WasiError(Errno.INVAL)
        if not events:
            deadline = min((c[0] for c in clocks), default=None)
            if waits:
                poller = select.poll()
                for host, mask, _, _ in waits:
                    poller.register(host, mask)
                timeout_ms = None if deadline is None else \
                    max(0, (deadline - time.monotonic_ns() + 999_999) // 1_000_000)
                ready = dict(poller.poll(timeout_ms))
                for host, mask, userdata, tag in waits:
                    got = ready.get(host, 0)
                    if got & (mask | select.POLLHUP | select.POLLERR):
                        flags = 1 if got & select.POLLHUP else 0
                        events.append((userdata, 0, tag, 0, flags))
            elif deadline is not None:
                delay = deadline - time.monotonic_ns()
                if delay > 0:
                    time.sleep(delay / 1e9)
        if not events or clocks:
            t = time.monotonic_ns()
            for deadline, userdata in clocks:
                if deadline <= t:
                    events.append((userdata, 0, int(EventType.CLOCK), 0, 0))
        for j, ev in enumerate(events):
            _EVENT.pack_into(buf, out + _EVENT.size * j, *ev)
        G.write_u32(mem, nevents, len(events))
        return 0


def _available(d: Any, tag: int) -> int:
    """nbytes of a ready event on an always-ready descriptor: bytes left to read in a file."""
    if tag != EventType.FD_READ or d.host is None or d.filetype != Filetype.REGULAR_FILE:
        return 0
    try:
        return max(0, os.fstat(d.host).st_size - os.lseek(d.host, 0, os.SEEK_CUR))
    except OSError:
        return 0
