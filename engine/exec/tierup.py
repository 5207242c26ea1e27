"""The background compiler of tiered compilation (engine.exec.lazy): per engine, daemon
threads take hot functions from a bounded queue, the cheapest first (for the work their
baseline code has done: many small hot functions are done in the time of one large one), and
compile them with the optimising tier while the program goes on running their baseline
code; the large ones have a lane (and thread) of their own, so that one of them never holds
up the rest.

Natively the program runs inside a ctypes call and under Unicorn inside `emu_start` (also a
ctypes call): both release the GIL, so the compile really runs beside the program and only
the program's calls into Python (host functions, helpers) wait for the GIL. A lane's thread
is started on its first job and ends when the lane is empty, so an idle engine holds no
thread. Nothing waits for them: closing a Store or an Engine does not, and at interpreter
exit the queued jobs are dropped (`close`) and a compile in progress is abandoned with its
daemon thread. A job never raises into the thread: what one raises goes to its `failed` callback.
"""

from __future__ import annotations

import _thread
import atexit
import heapq
import itertools
import os
import threading
import weakref
from typing import Callable

#: jobs queued at most; beyond it `submit` refuses one (the caller counts again and retries)
CAPACITY = 1024
#: the lanes: 0 for most compiles, 1 for the large ones (engine.exec.lazy.LARGE_COMPILE)
LANES = 2

Job = Callable[[], None]
Failed = Callable[[BaseException], None]


class BackgroundCompiler:
    """A bounded queue of compile jobs in LANES lanes, and per lane the daemon thread that
    runs its jobs one at a time: a large function's compile (seconds, for a big interpreter
    loop) runs in a lane of its own, so the many small hot functions are not held up behind
    it (engine.exec.lazy gives each lane its own compile process)."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        #: per lane, (cost, order, job, failed): a heap
        self._jobs: list[list[tuple[int, int, Job, Failed]]] = [[] for _ in range(LANES)]
        self._order = itertools.count()
        self._cond = threading.Condition(threading.Lock())
        self._lane_running = [False] * LANES    # a thread is taking the lane's jobs
        self._lane_busy = [False] * LANES       # it is running one
        self._closed = False

    @property
    def _running(self) -> bool:
        return any(self._lane_running)

    @property
    def _busy(self) -> bool:
        return any(self._lane_busy)

    def _queued(self) -> int:
        return sum(len(jobs) for jobs in self._jobs)

    def submit(self, job: Job, failed: Failed, cost: int = 0, lane: int = 0) -> bool:
        """Queue `job` in `lane` (run on the lane's thread after its queued jobs of lower
        `cost`; what it raises goes to `failed`); False when the queue is full or the
        compiler closed (nothing queued then)."""
        with self._cond:
            if self._closed or self._queued() >= self.capacity:
                return False
            heapq.heappush(self._jobs[lane], (cost, next(self._order), job, failed))
            if not self._lane_running[lane]:
                self._lane_running[lane] = True
                # (not threading.Thread, whose start waits until the thread has run: up to
                # milliseconds of the program's own time, at each lane's first job after idle)
                _thread.start_new_thread(self._run, (lane,))
        return True

    def _run(self, lane: int) -> None:
        jobs = self._jobs[lane]
        while True:
            with self._cond:
                if not jobs or self._closed:
                    self._lane_running[lane] = False
                    self._cond.notify_all()
                    return
                _, _, job, failed = heapq.heappop(jobs)
                self._lane_busy[lane] = True
            try:
                job()
            except BaseException as e:          # handed to the job's owner, never lost
                try:
                    failed(e)
                except BaseException:           # noqa: S110 - nothing left to report to
                    pass
            with self._cond:
                self._lane_busy[lane] = False
                if not jobs or self._closed:
                    self._lane_running[lane] = False    # ends now: idle means no thread
                    self._cond.notify_all()
                    return

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no job is queued or running (or `timeout` seconds); whether idle."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queued() and not self._busy,
                                       timeout)

    @property
    def pending(self) -> int:
        """Jobs queued or running."""
        with self._cond:
            return self._queued() + sum(self._lane_busy)

    def close(self) -> None:
        """Drop the queued jobs and take no more; a job running finishes on its own (never
        waited for). Closing twice is fine."""
        with self._cond:
            self._closed = True
            for jobs in self._jobs:
                jobs.clear()
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
        bg._lane_running = [False] * LANES
        bg._lane_busy = [False] * LANES


os.register_at_fork(after_in_child=_after_fork)
