"""A compile helper process: one forked child that computes `job(p)` for the positions it is
sent, one at a time, and sends each result back pickled (tiered compilation's optimising
compiles of a large module: engine.exec.lazy). It inherits the decoded module, its metadata
and the backend at fork, so only a position goes in. Compiling in a process, not a thread,
leaves the GIL to the program: a thread that compiles holds it for milliseconds at a time,
and every call the running program makes into Python (host functions, helpers) waits for it.

The child keeps no descriptor of the parent's but its two pipes (stdin, stdout and stderr are
/dev/null: nothing that reads the parent's output waits for the child), runs at a lower
priority (NICE) and ends when the parent closes the request pipe or exits (end of file), or
when the reply pipe is gone.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import threading
import traceback
from typing import Any, Callable

_HEADER = 9         # status byte (0 result, 1 error text), payload length (8 bytes)

#: the child's niceness above the parent's: on a busy machine the program it compiles for
#: keeps its share of the processors; on an idle one the child still has a core to itself
NICE = 10


class ChildError(Exception):
    """What `job` raised in the child, with the child's traceback as its message."""


class ChildGone(Exception):
    """The child ended (killed, out of memory) or could not be started."""


def _read_exact(fd: int, n: int) -> bytes:
    chunks: list[bytes] = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class ForkedCompiler:
    """A child process computing `job(p)` on request (see the module docstring); calls are
    serialised (thread-safe)."""

    def __init__(self, job: Callable[[int], Any]) -> None:
        requests_r, requests_w = os.pipe()
        replies_r, replies_w = os.pipe()
        try:
            pid = os.fork()
        except OSError as e:
            for fd in (requests_r, requests_w, replies_r, replies_w):
                os.close(fd)
            raise ChildGone(f"cannot fork a compile process: {e}") from None
        if pid == 0:                    # the child: never returns
            status = 1
            try:
                _serve(job, requests_r, replies_w)
                status = 0
            finally:
                os._exit(status)
        os.close(requests_r)
        os.close(replies_w)
        self.pid = pid
        self._requests, self._replies = requests_w, replies_r
        self._lock = threading.Lock()
        #: the process whose child it is (a process forked from it later must not use it)
        self._owner = os.getpid()

    def compile(self, p: int) -> Any:
        """`job(p)` computed in the child; ChildError if it raised there, ChildGone if the
        child is gone (then every later call is ChildGone too)."""
        if os.getpid() != self._owner:
            raise ChildGone("the compile process is another process's")
        with self._lock:
            if self._requests < 0:
                raise ChildGone("the compile process has ended")
            try:
                _write_all(self._requests, p.to_bytes(8, "little"))
                head = _read_exact(self._replies, _HEADER)
                if len(head) == _HEADER:
                    size = int.from_bytes(head[1:], "little")
                    payload = _read_exact(self._replies, size)
                    if len(payload) == size:
                        if head[0] == 0:
                            return pickle.loads(payload)
                        raise ChildError(payload.decode("utf-8", "replace"))
            except OSError:
                pass
            self._close()
            raise ChildGone("the compile process ended")

    def _close(self) -> None:
        for fd in (self._requests, self._replies):
            if fd >= 0:
                os.close(fd)
        self._requests = self._replies = -1
        try:
            os.waitpid(self.pid, os.WNOHANG)       # reap it if it is gone already
        except ChildProcessError:
            pass

    def close(self) -> None:
        """Let the child go (it ends once its compile in progress, if any, is done); never
        waits for it."""
        with self._lock:
            if self._requests >= 0:
                self._close()

    def __del__(self) -> None:
        if getattr(self, "_requests", -1) >= 0 and os.getpid() == self._owner:
            try:
                self._close()
            except Exception:        # noqa: S110 - interpreter shutdown
                pass


def _serve(job: Callable[[int], Any], requests: int, replies: int) -> None:
    """The child's loop (see the module docstring)."""
    gc.disable()        # a collection would touch (and copy) every page shared with the parent
    try:
        os.nice(NICE)
    except OSError:
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # the parent handles Ctrl-C; EOF ends us
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    keep = {0, 1, 2, requests, replies}
    for name in os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else ():
        fd = int(name)
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass
    while True:
        request = _read_exact(requests, 8)
        if len(request) < 8:
            return
        try:
            status, payload = 0, pickle.dumps(job(int.from_bytes(request, "little")),
                                              pickle.HIGHEST_PROTOCOL)
        except BaseException:           # sent back as text: the parent raises it
            status, payload = 1, traceback.format_exc().encode("utf-8", "replace")
        try:
            _write_all(replies, bytes([status]) + len(payload).to_bytes(8, "little") + payload)
        except OSError:
            return
