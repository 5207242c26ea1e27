"""Compiling a module's functions in several processes at once (wasmtime's
Config.parallel_compilation): the compile driver hands over a function that turns one function
position into its compiled piece (the backend's function_code: text, or machine code with
fixups), and gets every piece back in order, the same values a serial compile makes. This
process compiles too, beside one forked worker per further CPU; all take tasks (groups of
functions, the largest first) from one shared counter.

Workers are forked (POSIX only): they inherit the decoded module, its metadata and the backend,
so nothing but a task number goes in and the pieces come back. A function a worker fails
on comes back empty and is compiled again in this process, which raises the real error with its
real traceback. Where forking is unavailable or not allowed (a daemonic process, no fork start
method) the caller compiles serially."""

from __future__ import annotations

import mmap
import multiprocessing
import os
import queue
from typing import Any, Callable, Iterator, Sequence

from ..wasm.decoder import decode_pending
from ..wasm.validator import validate
from .forked import CLAIM_CHILD, CLAIM_PARENT, ChildError, ChildGone, ForkedStream

#: below this many wasm instructions in all function bodies, forking costs more than it saves
MIN_PARALLEL_INSTRUCTIONS = 20_000
#: the work of one task, in wasm instructions (large enough that sending its results back is
#: small against it, small enough to balance the load at the end)
CHUNK_INSTRUCTIONS = 4_000


def validate_parallel(module: Any, features: Any,
                      ahead: Callable[[], tuple[Callable[[int], Any], list[int], list[int],
                                                Callable[[int], list[int]]]] | None = None
                      ) -> ForkedStream | None:
    """engine.wasm.validator.validate, the function bodies of a large module shared with one
    forked child: this process checks them from the first up, the child from the last down,
    each claiming a function in a byte table both share before it checks it, until they
    meet (a static split by bytes left one of them waiting up to a third of the time: the
    cost per byte differs between a module's functions). Each decodes the bodies it checks
    that the decoder left pending (engine.wasm.decoder.decode's `defer`). The outcome is a
    serial validation's: the first rule broken in module order is raised here, with its
    real traceback (the bodies the child checked are decoded and checked again here when it
    found one broken). Given `ahead`, which makes (job, roots, later, hints) when a child is
    forked, the child goes on as a forked.ForkedStream of them once its part is valid, and
    that stream is returned (else None)."""
    if not _worth_sharing(module) or worker_count() < 2 or not can_fork():
        return _validate_here(module, features)
    n = len(module.codes)
    claims = mmap.mmap(-1, n)
    theirs = _Claiming(claims, range(n - 1, -1, -1), CLAIM_CHILD, CLAIM_PARENT)

    def child() -> tuple[bool, int, int]:
        validate(module, features, theirs)
        low = theirs.last if theirs.last is not None else n
        return module.tail_calls_leave, low, sum(len(module.codes[i].body)
                                                 for i in range(low, n))
    job, roots, rest, hints = ahead() if ahead is not None else (None, [], [], list)
    try:
        other = ForkedStream(job, roots, rest, hints, first=child,    # type: ignore[arg-type]
                             size=module.num_imported_funcs + n)
    except ChildGone:
        return _validate_here(module, features)
    mine = _Claiming(claims, range(n), CLAIM_PARENT, CLAIM_CHILD)
    try:
        validate(module, features, mine)
    except BaseException:
        other.kill()
        decode_pending(module)          # a malformed body comes first, as in a whole decode
        raise
    reached = n if mine.stopped is None else mine.stopped      # (checked here: below it)
    try:
        leave, low, counted = other.first_result()
    except (ChildError, ChildGone):       # a rule broken there (or no child): find it here
        decode_pending(module)
        validate(module, features, range(reached, n))
        return None
    module.tail_calls_leave |= leave
    if module.pending_split is not None:
        module.instructions = counted + sum(len(module.codes[i].body) for i in range(low))
    return other if ahead is not None else None


class _Claiming:
    """The code positions of `order` that `mine` claims in the shared table `claims`, one at
    a time as validation asks for the next, until one is the other process's (`other`):
    `last` is the last one claimed, `stopped` the one found taken (None: not met). Both may
    claim the one they meet at (each checks it then; harmless)."""

    def __init__(self, claims: mmap.mmap, order: range, mine: int, other: int) -> None:
        self.claims, self.order, self.mine, self.other = claims, order, mine, other
        self.last: int | None = None
        self.stopped: int | None = None

    def __iter__(self) -> Iterator[int]:
        claims, mine, other = self.claims, self.mine, self.other
        for i in self.order:
            if claims[i] == other:
                self.stopped = i
                return
            claims[i] = mine
            self.last = i
            yield i


def _validate_here(module: Any, features: Any) -> None:
    """The whole validation in this process (a malformed pending body first, as in a whole
    decode)."""
    decode_pending(module)
    validate(module, features)


def _worth_sharing(module: Any) -> bool:
    """Whether a module's validation is worth sharing with a forked child: its bodies were
    left pending (a large code section), or they hold MIN_PARALLEL_INSTRUCTIONS or more."""
    if len(module.codes) < 2 or len(module.codes) != len(module.funcs):
        return False
    if module.pending_split is not None:
        return True
    return sum(len(c.body) for c in module.codes) >= MIN_PARALLEL_INSTRUCTIONS


def worker_count() -> int:
    """How many processes may compile at once: the CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def can_fork() -> bool:
    """Whether this process may start a pool of forked workers."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    return not multiprocessing.current_process().daemon


def chunks(sizes: Sequence[int], chunk: int | None = None) -> list[list[int]]:
    """Positions 0..len(sizes)-1 grouped into tasks of about `chunk` (CHUNK_INSTRUCTIONS)
    instructions, the largest functions first (so the long ones do not start last and leave
    one process running alone)."""
    chunk = CHUNK_INSTRUCTIONS if chunk is None else chunk
    order = sorted(range(len(sizes)), key=lambda i: -sizes[i])
    out: list[list[int]] = []
    cur: list[int] = []
    total = 0
    for i in order:
        cur.append(i)
        total += sizes[i]
        if total >= chunk:
            out.append(cur)
            cur, total = [], 0
    if cur:
        out.append(cur)
    return out


def _run_chunk(job: Callable[[int], Any], positions: list[int]) -> list[tuple[int, Any]]:
    out: list[tuple[int, Any]] = []
    for p in positions:
        try:
            out.append((p, job(p)))
        except Exception:          # compiled again in the parent, which raises it properly
            out.append((p, None))
    return out


def _next_task(counter) -> int:
    with counter.get_lock():
        k = counter.value
        counter.value = k + 1
    return k


def _worker(job, tasks: list[list[int]], counter, results) -> None:
    """A forked worker: take tasks until none is left, send each one's results, then None."""
    while (k := _next_task(counter)) < len(tasks):
        results.put(_run_chunk(job, tasks[k]))
    results.put(None)


def compile_parallel(job: Callable[[int], Any], sizes: Sequence[int], jobs: int,
                     progress: Callable[[int, int], None] | None = None) -> Iterator[Any]:
    """`job(p)` for p in 0..len(sizes)-1 (`job` never returns None), computed by this process
    and `jobs` - 1 forked workers, all taking tasks from one shared counter; yields the results
    in order of p. `sizes[p]` weighs the work of p. A position a worker failed on (or never
    sent: a worker that died) is computed here at the end, so its exception propagates in order
    of p as serially. `progress(done, total)` is called as results arrive."""
    total = len(sizes)
    tasks = chunks(sizes)
    out: list[Any] = [None] * total
    ctx = multiprocessing.get_context("fork")
    counter = ctx.Value("i", 0)
    results = ctx.Queue()
    workers = []
    done = finished = 0

    def take(batch) -> None:
        nonlocal done, finished
        if batch is None:           # a worker has no task left
            finished += 1
            return
        for p, piece in batch:
            out[p] = piece
        done += len(batch)
        if progress is not None:
            progress(done, total)

    complete = False
    try:
        for _ in range(jobs - 1):
            w = ctx.Process(target=_worker, args=(job, tasks, counter, results), daemon=True)
            try:
                w.start()
            except OSError:     # no room for another process: fewer workers
                break
            workers.append(w)
        while (k := _next_task(counter)) < len(tasks):
            take(_run_chunk(job, tasks[k]))
            while not results.empty():
                take(results.get())
        while finished < len(workers):
            try:
                batch = results.get(timeout=0.2)
            except queue.Empty:
                if not any(w.is_alive() for w in workers):
                    break           # a worker died without finishing: its share is done here
                continue
            take(batch)
        complete = True
    finally:
        for w in workers:
            if not complete:
                w.terminate()       # an exception here (KeyboardInterrupt): stop the workers
            w.join()
        results.close()
    for p in range(total):
        piece = out[p]
        if piece is None:
            piece = job(p)
        out[p] = None       # handed over: the caller drops it once linked
        yield piece
