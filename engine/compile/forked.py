"""Compile helper processes. ForkedCompiler: one forked child that computes `job(p)` for the
requests it is sent (small picklable values: a function index, a tuple of loop positions),
one at a time, and sends each result back pickled (tiered compilation's optimising compiles
of a large module: engine.exec.lazy). It inherits the decoded module, its metadata and the
backend at fork, so only the request goes in. ForkedStream (below): a child computing ahead
of need, after one thing first if asked. Compiling in a process, not a thread,
leaves the GIL to the program: a thread that compiles holds it for milliseconds at a time,
and every call the running program makes into Python (host functions, helpers) waits for it.

The child keeps no descriptor of the parent's but its two pipes (stdin, stdout and stderr are
/dev/null: nothing that reads the parent's output waits for the child), runs at a lower
priority (NICE) and ends when the parent closes the request pipe or exits (end of file), or
when the reply pipe is gone.
"""

from __future__ import annotations

import _thread
import collections
import fcntl
import gc
import mmap
import os
import pickle
import select
import signal
import struct
import threading
import time
import traceback
from typing import Any, Callable

_HEADER = 9         # status byte (0 result, 1 error text), payload length (8 bytes)
_STARTED = 2        # a ForkedStream child's status byte: it has started on a position
_GONE = 3           # (parent side) the child ended before sending `first`'s outcome
_FIRST = 0xFFFF_FFFF    # the position a ForkedStream child sends `first`'s outcome as

#: the child's niceness above the parent's: on a busy machine the program it compiles for
#: keeps its share of the processors; on an idle one the child still has a core to itself
NICE = 10
#: the reply pipe's capacity: a child's write blocks once this much is unread, and the
#: parent's reader thread waits for the GIL while the parent compiles (the default 64 KB
#: held up a compile-ahead child up to 13 ms at a time on SQLite)
REPLY_PIPE = 1 << 20
#: a ForkedStream child computes at most this many results ahead of what the parent has
#: seen (taken, or computed itself), then waits for the parent to see more ...
AHEAD_LIMIT = 512
#: ... and ends when the parent has seen nothing for this many seconds (a module made and
#: kept, but not run: its speculative compiles stop costing processor time and memory)
IDLE_END = 10.0

#: what a ForkedStream child is computing, in a small mapping both processes share: the
#: position, when it started (time.monotonic, one clock for all processes) and how many of
#: its hints follow (u32 each, at most _NOW_HINTS)
_NOW = struct.Struct("<IdI")
_NOW_HINTS = 255
_NOW_LATER = 0xFFFF_FFFF    # (the count while the child works its hints out)

#: a seen message's hint count when the child is to work the hints out itself
_OWN_COUNT = 0xFFFF_FFFF
_OWN_HINTS = _OWN_COUNT.to_bytes(4, "little")

#: whose a position is, one byte each in a table a parent and its forked child share
#: (ForkedStream's, and engine.compile.parallel's for validation): no one's yet, the
#: parent's, the child's, and (ForkedStream) the child's with its result sent
CLAIM_FREE, CLAIM_PARENT, CLAIM_CHILD, CLAIM_SENT = 0, 1, 2, 3


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


def _outcome(fn: Callable[[], Any]) -> tuple[int, bytes]:
    """(status, payload) of calling `fn`: 0 and its result pickled, or 1 and the traceback
    of what it raised, as text (the parent raises it as a ChildError)."""
    try:
        return 0, pickle.dumps(fn(), pickle.HIGHEST_PROTOCOL)
    except BaseException:
        return 1, traceback.format_exc().encode("utf-8", "replace")


def _reply(fd: int, status: int, payload: bytes) -> None:
    _write_all(fd, bytes([status]) + len(payload).to_bytes(8, "little") + payload)


def _read_reply(fd: int) -> Any:
    """A `_reply`'s result (ChildError for an error's text), or ChildGone if the child ended
    before sending all of it."""
    head = _read_exact(fd, _HEADER)
    if len(head) == _HEADER:
        size = int.from_bytes(head[1:], "little")
        payload = _read_exact(fd, size)
        if len(payload) == size:
            if head[0] == 0:
                return pickle.loads(payload)
            raise ChildError(payload.decode("utf-8", "replace"))
    raise ChildGone("the child ended without a result")


def _fork_piped(child: Callable[[int, int], None]) -> tuple[int, int, int]:
    """Fork a child that runs `child(requests, replies)` on the read end of one pipe and the
    write end of another, then exits; (its pid, the requests' write end, the replies' read
    end). ChildGone when it cannot be forked."""
    requests_r, requests_w = os.pipe()
    replies_r, replies_w = os.pipe()
    try:        # room for the replies a parent busy compiling has not read yet (Linux)
        fcntl.fcntl(replies_w, getattr(fcntl, "F_SETPIPE_SZ", 1031), REPLY_PIPE)
    except OSError:
        pass
    try:
        pid = os.fork()
    except OSError as e:
        for fd in (requests_r, requests_w, replies_r, replies_w):
            os.close(fd)
        raise ChildGone(f"cannot fork a compile process: {e}") from None
    if pid == 0:                        # the child: never returns
        status = 1
        try:
            child(requests_r, replies_w)
            status = 0
        finally:
            os._exit(status)
    os.close(requests_r)
    os.close(replies_w)
    return pid, requests_w, replies_r


class ForkedCompiler:
    """A child process computing `job(p)` on request (see the module docstring); calls are
    serialised (thread-safe)."""

    def __init__(self, job: Callable[[Any], Any]) -> None:
        self.pid, self._requests, self._replies = _fork_piped(
            lambda requests, replies: _serve(job, requests, replies))
        self._lock = threading.Lock()
        #: the process whose child it is (a process forked from it later must not use it)
        self._owner = os.getpid()

    def compile(self, p: Any) -> Any:
        """`job(p)` computed in the child (`p` pickled there); ChildError if it raised
        there, ChildGone if the child is gone (then every later call is ChildGone too)."""
        if os.getpid() != self._owner:
            raise ChildGone("the compile process is another process's")
        with self._lock:
            if self._requests < 0:
                raise ChildGone("the compile process has ended")
            try:
                request = pickle.dumps(p, pickle.HIGHEST_PROTOCOL)
                _write_all(self._requests, len(request).to_bytes(4, "little") + request)
                return _read_reply(self._replies)
            except (OSError, ChildGone):
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


def _become_child(requests: int, replies: int, nice: int) -> None:
    """What a compile child does first: no collections (one would touch, and copy, every
    page shared with the parent), a lower priority, Ctrl-C left to the parent (end of file
    ends the child), stdio on /dev/null and no descriptor of the parent's but its pipes."""
    gc.disable()
    if nice:
        try:
            os.nice(nice)
        except OSError:
            pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)
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


def _serve(job: Callable[[Any], Any], requests: int, replies: int) -> None:
    """The child's loop (see the module docstring)."""
    _become_child(requests, replies, NICE)
    while True:
        head = _read_exact(requests, 4)
        if len(head) < 4:
            return
        size = int.from_bytes(head, "little")
        request = _read_exact(requests, size)
        if len(request) < size:
            return
        try:
            _reply(replies, *_outcome(lambda: job(pickle.loads(request))))
        except OSError:
            return


class ForkedStream:
    """A child process computing `job(p)` ahead of need, one position after another, each
    result sent back as soon as it is made; a reader thread here keeps them until `take`n.
    The child computes `roots` and the hints of the positions the parent has `seen` first
    (`hints(p)`: the positions p is likely to need next, a function's callees in the order
    it needs them; the latest seen first), then, depth-first, the hints of what it computed
    itself (guesses of guesses: a callee of a function the program may never call), then
    `later`. `seen(p)` tells it that p is needed no more (it skips it) and that p's hints
    come next; it stays at most AHEAD_LIMIT results ahead of what the parent has seen. Given
    `first`, the child calls it before anything else and goes on only if it returned
    (`first_result` has its outcome: a module's validation, say). Speculative compilation:
    the parent compiles what it needs itself when the child has not got there yet. Out of
    positions (or that far ahead), the child waits for what the parent sees next; it ends
    when the parent closes it or exits (end of file), when the reply pipe is gone, or when
    the parent has seen nothing for IDLE_END seconds; then `take` finds nothing more.

    Positions below `size` are claimed in a byte table both processes share (an anonymous
    shared mapping made before the fork): the child claims one before computing it and
    marks it sent once its result is written, the parent claims one `take` finds free.
    So the parent knows at once what the child is computing or has sent (its reader
    thread may not have run yet: the parent's thread holds the GIL while it compiles) and
    waits for that instead of computing it again, and the child skips what the parent
    computes without waiting for `seen`. The child also tells, in a second shared mapping,
    when it started the position it computes and that position's hints (`computing`), so
    that a parent waiting for it can do work of its own that ends in time and is likely
    needed next (`take`'s `meanwhile`)."""

    def __init__(self, job: Callable[[int], Any], roots: list[int], later: list[int],
                 hints: Callable[[int], list[int]],
                 first: Callable[[], Any] | None = None, size: int = 0) -> None:
        self._size = size
        self._claims = mmap.mmap(-1, size) if size else None
        self._now = mmap.mmap(-1, _NOW.size + 4 * _NOW_HINTS) if size else None
        claims, now = self._claims, self._now
        self.pid, self._requests, self._replies = _fork_piped(
            lambda requests, replies: _stream(job, roots, later, hints, requests, replies,
                                              first, claims, size, now))
        self._owner = os.getpid()
        self._cond = threading.Condition(threading.Lock())
        self._results: dict[int, bytes] = {}
        #: `first`'s outcome once sent: (status, payload) as _reply frames them
        self._first: tuple[int, bytes] | None = None if first is not None else (0, b"")
        #: the position the child is computing now (-1: none, or it ended)
        self._current = -1
        #: results sent (taken or not), for tests and benchmarks
        self.received = 0
        #: the reader has ended (the child is gone or closed): nothing more comes
        self._ended = False
        # (not threading.Thread: its start waits until the new thread has run, 0.3-2.7 ms of
        # Module() on a 2-core VM whose other core has the child just forked)
        _thread.start_new_thread(self._read, ())

    def _read(self) -> None:
        fd = self._replies
        try:
            while True:
                head = _read_exact(fd, _HEADER + 4)
                if len(head) < _HEADER + 4:
                    break
                size = int.from_bytes(head[1:_HEADER], "little")
                payload = _read_exact(fd, size)
                if len(payload) < size:
                    break
                p = int.from_bytes(head[_HEADER:], "little")
                if p == _FIRST:
                    with self._cond:
                        self._first = (head[0], payload)
                        self._cond.notify_all()
                    continue
                with self._cond:
                    if head[0] == _STARTED:
                        self._current = p
                    else:
                        self._current = -1
                        if head[0] == 0:    # (else an error: the parent compiles it itself)
                            self._results[p] = payload      # (unpickled when taken)
                            self.received += 1
                    self._cond.notify_all()
        except OSError:
            pass
        finally:
            with self._cond:
                self._current = -1
                self._ended = True
                if self._first is None:
                    self._first = (_GONE, b"")
                self._cond.notify_all()
            os.close(fd)
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass

    def first_result(self) -> Any:
        """What `first` returned in the child (waits for it); ChildError for what it raised
        there, ChildGone if the child ended before sending it."""
        with self._cond:
            self._cond.wait_for(lambda: self._first is not None)
            status, payload = self._first           # type: ignore[misc]
        if status == 0:
            return pickle.loads(payload) if payload else None
        if status == 1:
            raise ChildError(payload.decode("utf-8", "replace"))
        raise ChildGone("the child ended without a result")

    def take(self, p: int, wait: float = 1.0,
             meanwhile: Callable[[float, list[int]], bool] | None = None) -> Any:
        """The child's result for `p` (each is taken once): at once if it has sent it, after
        up to `wait` seconds if it is computing it now (or has sent it and it is on its way),
        else None: then `p` is the parent's (the child skips it). While the child computes
        `p`, `meanwhile(started, hints)` is called (when the child began `p`, and `p`'s
        hints, None while the child works them out) as long as it returns True: work of
        the parent's that would otherwise wait idle."""
        claims = self._claims
        if meanwhile is not None and claims is not None and p < self._size:
            until = time.monotonic() + wait
            while claims[p] == CLAIM_CHILD and not self._ended and time.monotonic() < until:
                now = self.computing(p)
                if now is None:
                    break
                if now[1] is None:              # its hints are on their way: meanwhile
                    if not meanwhile(*now):     # may know them, else it waits for them
                        time.sleep(50e-6)
                elif not meanwhile(*now):
                    break
        with self._cond:
            payload = self._results.pop(p, None)
            if payload is not None:
                return pickle.loads(payload)
            if claims is not None and p < self._size:
                if claims[p] == CLAIM_CHILD or claims[p] == CLAIM_SENT:
                    self._cond.wait_for(lambda: p in self._results or self._ended
                                        or claims[p] == CLAIM_FREE, wait)
                else:
                    claims[p] = CLAIM_PARENT
            elif self._current == p:
                self._cond.wait_for(lambda: self._current != p, wait)
            payload = self._results.pop(p, None)
        return None if payload is None else pickle.loads(payload)

    def computing(self, p: int) -> tuple[float, list[int] | None] | None:
        """(when the child started computing `p`, by time.monotonic; `p`'s hints, None
        until the child has worked them out) if it is computing `p` now, else None."""
        now, claims = self._now, self._claims
        if now is None or claims is None or p >= self._size or claims[p] != CLAIM_CHILD:
            return None
        at, when, count = _NOW.unpack_from(now)
        if at != p:
            return None
        if count > _NOW_HINTS:
            return when, None
        hints = list(struct.unpack_from(f"<{count}I", now, _NOW.size))
        return (when, hints) if _NOW.unpack_from(now)[0] == p else None

    def claim(self, p: int) -> bool:
        """Make `p` the parent's if no one has it yet (the child then skips it): whether it
        did. The parent computes `p` itself, ahead of need."""
        claims = self._claims
        if claims is None or p >= self._size or claims[p] != CLAIM_FREE:
            return False
        claims[p] = CLAIM_PARENT
        return True

    def sent(self, p: int) -> bool:
        """Whether the child's result for `p` is here, not taken yet (for tests: `take`
        makes a position the parent's when it is not)."""
        with self._cond:
            return p in self._results

    def seen(self, p: int, hints: list[int] | None = None) -> None:
        """Tell the child that `p` is needed no more and that its hints come next: `hints`
        if given (what `hints(p)` gives: the parent knows them when it computes `p`
        itself, and the child need not work them out), else `hints(p)` in the child."""
        if self._requests >= 0 and os.getpid() == self._owner:
            message = p.to_bytes(4, "little")
            if hints is None:
                message += _OWN_HINTS
            else:
                message += len(hints).to_bytes(4, "little") + \
                    struct.pack(f"<{len(hints)}I", *hints)
            try:
                _write_all(self._requests, message)
            except OSError:
                self.close()

    def kill(self) -> None:
        """End the child now (its work is not wanted); never waits."""
        self.close()
        if os.getpid() == self._owner:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass

    def close(self) -> None:
        """Let the child go (it ends after its compile in progress); never waits."""
        fd, self._requests = self._requests, -1
        if fd >= 0 and os.getpid() == self._owner:
            os.close(fd)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:        # noqa: S110 - interpreter shutdown
            pass


def _stream_reply(fd: int, status: int, p: int, payload: bytes = b"") -> None:
    """One message of a ForkedStream child: a _reply frame with position `p` after the
    header (what ForkedStream._read takes apart)."""
    _write_all(fd, bytes([status]) + len(payload).to_bytes(8, "little") + p.to_bytes(4, "little")
               + payload)


def _stream(job: Callable[[int], Any], roots: list[int], later: list[int],
            hints: Callable[[int], list[int]], requests: int, replies: int,
            first: Callable[[], Any] | None = None, claims: mmap.mmap | None = None,
            size: int = 0, now: mmap.mmap | None = None) -> None:
    """The streaming child's loop (ForkedStream)."""
    _become_child(requests, replies, 0)
    if first is not None:
        status, payload = _outcome(first)
        _stream_reply(replies, status, _FIRST, payload)
        if status != 0:
            return
        try:                            # what follows is speculative: the program comes first
            os.nice(NICE)
        except OSError:
            pass
    fcntl.fcntl(requests, fcntl.F_SETFL, fcntl.fcntl(requests, fcntl.F_GETFL) | os.O_NONBLOCK)
    todo = collections.deque(roots)     # the roots' and the seen positions' hints
    guesses = collections.deque()       # the hints of positions computed here
    rest = collections.deque(later)
    done: set[int] = set()
    unseen: set[int] = set()            # sent, and not seen by the parent yet
    pending = b""
    while True:
        # far enough ahead, or out of positions: wait for the parent (what it sees next
        # has hints), until it has seen nothing for IDLE_END seconds
        if len(unseen) >= AHEAD_LIMIT or not (todo or guesses or rest):
            ready, _, _ = select.select([requests], [], [], IDLE_END)
            if not ready:
                return                  # the module is kept but not run: end
        try:                            # what the parent has seen since
            chunk = os.read(requests, 1 << 16)
            if not chunk:
                return                  # the parent closed it, or is gone
            pending += chunk
        except BlockingIOError:
            pass
        k = 0
        while len(pending) - k >= 8:    # seen messages (ForkedStream.seen)
            p, count = struct.unpack_from("<II", pending, k)
            told = None
            if count != _OWN_COUNT:
                if len(pending) - k - 8 < 4 * count:
                    break
                told = struct.unpack_from(f"<{count}I", pending, k + 8)
                k += 4 * count
            k += 8
            done.add(p)
            unseen.discard(p)
            todo.extendleft(h for h in reversed(told if told is not None else hints(p))
                            if h not in done)
        pending = pending[k:]
        if len(unseen) >= AHEAD_LIMIT or not (todo or guesses or rest):
            continue
        p = todo.popleft() if todo else guesses.popleft() if guesses else rest.popleft()
        if p in done:
            continue
        done.add(p)
        claimed = claims if claims is not None and p < size else None
        if claimed is not None:
            if claimed[p] != CLAIM_FREE:     # the parent's
                continue
            if now is not None:
                _NOW.pack_into(now, 0, p, time.monotonic(), _NOW_LATER)
            claimed[p] = CLAIM_CHILD
        ahead: list[int] = []
        try:
            if claimed is None:         # (else the shared table tells the parent: a message
                _stream_reply(replies, _STARTED, p)     # would wake its reader for nothing)
            ahead = hints(p)
            if claimed is not None and now is not None:
                told = ahead[:_NOW_HINTS]
                struct.pack_into(f"<{len(told)}I", now, _NOW.size, *told)
                struct.pack_into("<I", now, _NOW.size - 4, len(told))
            status, payload = 0, pickle.dumps(job(p), pickle.HIGHEST_PROTOCOL)
        except Exception:               # the parent compiles it itself (and sees the error)
            status, payload = 1, b""
        try:
            _stream_reply(replies, status, p, payload)
        except OSError:
            return
        if claimed is not None:
            claimed[p] = CLAIM_SENT if status == 0 else CLAIM_FREE
        if status == 0:
            unseen.add(p)
        guesses.extendleft(h for h in reversed(ahead) if h not in done)
