"""Crash isolation: each oracle runs in its own long-lived worker process, so machine code that
crashes (SIGSEGV) or hangs is recorded as an outcome (CRASH / TIMEOUT) instead of ending the
campaign; the dead or stuck worker is replaced. All workers get the case at once and run in
parallel."""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from dataclasses import dataclass

from .case import Case
from .oracles import CRASH, REFERENCES, TIMEOUT, UNAVAILABLE, Outcome


def _worker_main(oracle: str, conn, init: str | None) -> None:
    from .oracles import describe, probe, run_case
    if init:
        import importlib
        mod, _, fn = init.partition(":")
        getattr(importlib.import_module(mod), fn)(oracle)
    api, reason = probe(oracle)
    conn.send(("ready", reason, describe(api) if api is not None else ""))
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        case: Case = msg
        if api is None:
            conn.send(Outcome(oracle, UNAVAILABLE, reason))
        else:
            conn.send(run_case(api, case))


_CTX = None


def _context():
    """A forkserver context with polyjit and wasmtime preloaded: replacing a dead worker is a
    fork of a clean server (fast), never of the campaign process (which may hold threads)."""
    global _CTX
    if _CTX is None:
        try:
            ctx = mp.get_context("forkserver")
            ctx.set_forkserver_preload(["engine", "engine.exec.interp", "fuzz.oracles", "wasmtime"])
        except ValueError:
            ctx = mp.get_context("spawn")
        _CTX = ctx
    return _CTX


@dataclass(slots=True)
class _Worker:
    process: mp.process.BaseProcess
    conn: object


class OraclePool:
    """One worker per oracle. `run(case)` returns {oracle: Outcome}."""

    def __init__(self, oracles: list[str], timeout: float = 20.0, start_timeout: float = 120.0,
                 worker_init: str | None = None) -> None:
        """`worker_init`, "module:function", is called with the oracle's name in each worker
        before anything runs (tests use it to inject a deliberate bug)."""
        self.oracles = list(oracles)
        self.worker_init = worker_init
        #: minimum wait for non-reference oracles once the references have answered
        self.grace = 5.0
        self.timeout = timeout
        self.start_timeout = start_timeout
        self.unavailable: dict[str, str] = {}
        self.descriptions: dict[str, str] = {}
        self._ctx = _context()
        self._workers: dict[str, _Worker] = {}
        self.restarts = 0
        for name in self.oracles:
            self._start(name)
        for name in self.oracles:
            self._await_ready(name)

    def _start(self, name: str) -> None:
        parent, child = self._ctx.Pipe()
        p = self._ctx.Process(target=_worker_main, args=(name, child, self.worker_init), daemon=True,
                              name=f"fuzz-oracle-{name}")
        p.start()
        child.close()
        self._workers[name] = _Worker(p, parent)

    def _await_ready(self, name: str) -> None:
        w = self._workers[name]
        if not w.conn.poll(self.start_timeout):
            self.unavailable[name] = "worker did not start"
            self._kill(name)
            return
        try:
            _, reason, desc = w.conn.recv()
            self.descriptions[name] = desc
        except EOFError:
            reason = f"worker died at start (exit code {w.process.exitcode})"
        if reason:
            self.unavailable[name] = reason
            self._kill(name)

    @property
    def available(self) -> list[str]:
        return [o for o in self.oracles if o not in self.unavailable]

    def _kill(self, name: str) -> None:
        w = self._workers.pop(name, None)
        if w is None:
            return
        if w.process.is_alive():
            w.process.kill()                 # the worker is our own child (by its pid)
        w.process.join(5)
        w.conn.close()

    def _restart(self, name: str) -> None:
        self._kill(name)
        self.restarts += 1
        self._start(name)
        self._await_ready(name)

    def run(self, case: Case, only: list[str] | None = None) -> dict[str, Outcome]:
        """Every oracle's outcome of `case` (or only those named in `only`)."""
        results: dict[str, Outcome] = {}
        sent: dict[str, float] = {}
        names = [n for n in self.oracles if only is None or n in only]
        for name in names:
            if name in self.unavailable:
                results[name] = Outcome(name, UNAVAILABLE, self.unavailable[name])
                continue
            if name not in self._workers:
                self._restart(name)
                if name in self.unavailable:
                    results[name] = Outcome(name, UNAVAILABLE, self.unavailable[name])
                    continue
            try:
                self._workers[name].conn.send(case)
                sent[name] = time.monotonic()
            except (BrokenPipeError, OSError):
                results[name] = self._crashed(name)
        start = time.monotonic()
        deadline = start + self.timeout
        refs = [n for n in sent if n in REFERENCES]
        for name in refs:
            self._collect(name, sent, results, deadline)
        if refs:
            # The others get a grace period proportional to the references' time: machine code
            # should not be much slower than the interpreter, so waiting the full timeout for a
            # target stuck in a loop is wasted time.
            spent = time.monotonic() - start
            deadline = min(deadline, time.monotonic() + max(self.grace, 3.0 * spent))
        for name in sent:
            if name not in refs:
                self._collect(name, sent, results, deadline)
        return {name: results[name] for name in names}

    def _collect(self, name: str, sent: dict[str, float], results: dict[str, Outcome],
                 deadline: float) -> None:
        w = self._workers[name]
        left = max(0.0, deadline - time.monotonic())
        try:
            ready = w.conn.poll(left)
        except (EOFError, OSError):
            ready = True
        if not ready:
            waited = time.monotonic() - sent[name]
            results[name] = Outcome(name, TIMEOUT, f"no answer within {waited:.1f} s")
            self._restart(name)
            return
        try:
            out = w.conn.recv()
            out.seconds = time.monotonic() - sent[name]
            results[name] = out
        except (EOFError, OSError):
            results[name] = self._crashed(name)

    def _crashed(self, name: str) -> Outcome:
        w = self._workers[name]
        w.process.join(5)
        code = w.process.exitcode
        how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        out = Outcome(name, CRASH, f"worker died ({how})")
        self._restart(name)
        return out

    def close(self) -> None:
        for name in list(self._workers):
            w = self._workers[name]
            try:
                w.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        for name in list(self._workers):
            w = self._workers[name]
            w.process.join(2)
            self._kill(name)

    def __enter__(self) -> OraclePool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def worker_pids(pool: OraclePool) -> dict[str, int]:
    """Process ids of the live workers (for diagnostics)."""
    return {n: w.process.pid for n, w in pool._workers.items() if w.process.pid != os.getpid()}
