"""Compiling a module's functions in a pool of worker processes (wasmtime's
Config.parallel_compilation): the compile driver hands over a function that turns one function
position into its compiled piece (the backend's function_code: text, or machine code with
fixups), and gets every piece back in order, the same values a serial compile makes.

Workers are forked (POSIX only): they inherit the decoded module, its metadata and the backend,
so nothing but function positions goes out and the pieces come back. A function a worker fails
on comes back empty and is compiled again in this process, which raises the real error with its
real traceback. Where forking is unavailable or not allowed (a daemonic process, no fork start
method) the caller compiles serially."""

from __future__ import annotations

import multiprocessing
import os
from typing import Any, Callable, Iterator, Sequence

#: below this many wasm instructions in all function bodies, forking costs more than it saves
MIN_PARALLEL_INSTRUCTIONS = 20_000
#: the work of one task sent to a worker, in wasm instructions (large enough that the pickling
#: and the round trip are small against it, small enough to balance the load at the end)
CHUNK_INSTRUCTIONS = 4_000

_JOB: Callable[[int], Any] | None = None


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


def chunks(sizes: Sequence[int], chunk: int = CHUNK_INSTRUCTIONS) -> list[list[int]]:
    """Positions 0..len(sizes)-1 grouped into tasks of about `chunk` instructions, the largest
    functions first (so the long ones do not start last and leave one worker running alone)."""
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


def _run_chunk(positions: list[int]) -> list[tuple[int, Any]]:
    job = _JOB
    out: list[tuple[int, Any]] = []
    for p in positions:
        try:
            out.append((p, job(p)))
        except Exception:          # compiled again in the parent, which raises it properly
            out.append((p, None))
    return out


def _pool(jobs: int):
    try:
        return multiprocessing.get_context("fork").Pool(processes=jobs)
    except OSError:         # no room for more processes: everything is compiled here
        return None


def compile_parallel(job: Callable[[int], Any], sizes: Sequence[int], jobs: int,
                     progress: Callable[[int, int], None] | None = None) -> Iterator[Any]:
    """`job(p)` for p in 0..len(sizes)-1, computed by `jobs` forked workers; yields the results
    in order of p (`job` never returns None). `sizes[p]` weighs the work of p. A position a worker failed on is computed
    here (its exception propagates, in order of p as serially). `progress(done, total)` is
    called as results arrive."""
    global _JOB
    total = len(sizes)
    texts: list[Any] = [None] * total
    _JOB = job
    try:
        pool = _pool(jobs)
        if pool is not None:
            with pool:
                done = 0
                for results in pool.imap_unordered(_run_chunk, chunks(sizes)):
                    for p, text in results:
                        texts[p] = text
                    done += len(results)
                    if progress is not None:
                        progress(done, total)
    finally:
        _JOB = None
    for p in range(total):
        text = texts[p]
        if text is None:
            text = job(p)
        texts[p] = None       # handed over: the caller drops it once assembled
        yield text
