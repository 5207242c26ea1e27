"""The background compiler of tiered compilation (engine.exec.lazy): one daemon thread per
engine takes hot functions from a bounded queue, the cheapest first (their size: many small
hot functions are done in the time of one large one), and compiles them with the optimising
tier while the program goes on running their baseline code.

Natively the program runs inside a ctypes call and under Unicorn inside `emu_start` (also a
ctypes call): both release the GIL, so the compile really runs beside the program and only
the program's calls into Python (host functions, helpers) wait for the GIL. The thread is
started on the first job and ends when the queue is empty, so an idle engine holds no thread.
Nothing waits for it: closing a Store or an Engine does not, and at interpreter exit the
queued jobs are dropped (`close`) and a compile in progress is abandoned with its daemon
thread. A job never raises into the thread: what one raises goes to its `failed` callback.
"""

from __future__ import annotations

import atexit
import heapq
import itertools
import os
import threading
import weakref
from typing import Callable

#: jobs queued at most; beyond it `submit` refuses one (the caller counts again and retries)
CAPACITY = 1024

Job = Callable[[], None]
Failed = Callable[[BaseException], None]


class BackgroundCompiler:
    """A bounded queue of compile jobs and the daemon thread that runs them, one at a time."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        #: (cost, order, job, failed): a heap
        self._jobs: list[tuple[int, int, Job, Failed]] = []
        self._order = itertools.count()
        self._cond = threading.Condition(threading.Lock())
        self._running = False       # a thread is taking jobs (or about to)
        self._busy = False          # it is running one
        self._closed = False

    def submit(self, job: Job, failed: Failed, cost: int = 0) -> bool:
        """Queue `job` (run on the thread after the queued jobs of lower `cost`; what it
        raises goes to `failed`); False when the queue is full or the compiler closed
        (nothing queued then)."""
        with self._cond:
            if self._closed or len(self._jobs) >= self.capacity:
                return False
            heapq.heappush(self._jobs, (cost, next(self._order), job, failed))
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="polyjit-tier-up",
                                 daemon=True).start()
        return True

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._jobs or self._closed:
                    self._running = False
                    self._cond.notify_all()
                    return
                _, _, job, failed = heapq.heappop(self._jobs)
                self._busy = True
            try:
                job()
            except BaseException as e:          # handed to the job's owner, never lost
                try:
                    failed(e)
                except BaseException:           # noqa: S110 - nothing left to report to
                    pass
            with self._cond:
                self._busy = False
                if not self._jobs or self._closed:
                    self._running = False       # ends now: idle means no thread
                    self._cond.notify_all()
                    return

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no job is queued or running (or `timeout` seconds); whether idle."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._jobs and not self._busy, timeout)

    @property
    def pending(self) -> int:
        """Jobs queued or running."""
        with self._cond:
            return len(self._jobs) + self._busy

    def close(self) -> None:
        """Drop the queued jobs and take no more; a job running finishes on its own (never
        waited for). Closing twice is fine."""
        with self._cond:
            self._closed = True
            self._jobs.clear()
            self._cond.notify_all()


_ALL: weakref.WeakSet[BackgroundCompiler] = weakref.WeakSet()
_ALL_LOCK = threading.Lock()


def background_compiler(state) -> BackgroundCompiler:
    """The BackgroundCompiler of an engine (its EngineState), made on first use."""
    bg = state.background
    if bg is None:
        with _ALL_LOCK:
            bg = state.background
            if bg is None:
                bg = state.background = BackgroundCompiler()
                _ALL.add(bg)
    return bg


@atexit.register
def _close_all() -> None:
    for bg in list(_ALL):
        bg.close()


def _after_fork() -> None:
    # a process forked from this one has no compile thread (and maybe a lock another thread
    # held): its compilers start afresh; the jobs queued here run there from its next
    # submit on, the one running here is not run there
    for bg in list(_ALL):
        bg._cond = threading.Condition(threading.Lock())
        bg._running = bg._busy = False


os.register_at_fork(after_in_child=_after_fork)
