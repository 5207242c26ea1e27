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
from .oracles import CRASH, TIMEOUT, UNAVAILABLE, Outcome


def _worker_main(oracle: str, conn) -> None:
    from .oracles import probe, run_case
    api, reason = probe(oracle)
    conn.send(("ready", reason))
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


@dataclass(slots=True)
class _Worker:
    process: mp.process.BaseProcess
    conn: object


class OraclePool:
    """One worker per oracle. `run(case)` returns {oracle: Outcome}."""

    def __init__(self, oracles: list[str], timeout: float = 20.0, start_timeout: float = 120.0) -> None:
        self.oracles = list(oracles)
        self.timeout = timeout
        self.start_timeout = start_timeout
        self.unavailable: dict[str, str] = {}
        self._ctx = mp.get_context("spawn")
        self._workers: dict[str, _Worker] = {}
        self.restarts = 0
        for name in self.oracles:
            self._start(name)
        for name in self.oracles:
            self._await_ready(name)

    def _start(self, name: str) -> None:
        parent, child = self._ctx.Pipe()
        p = self._ctx.Process(target=_worker_main, args=(name, child), daemon=True,
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
            _, reason = w.conn.recv()
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

    def run(self, case: Case) -> dict[str, Outcome]:
        results: dict[str, Outcome] = {}
        sent: dict[str, float] = {}
        for name in self.oracles:
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
        deadline = time.monotonic() + self.timeout
        for name in list(sent):
            w = self._workers[name]
            left = max(0.0, deadline - time.monotonic())
            try:
                ready = w.conn.poll(left)
            except (EOFError, OSError):
                ready = True
            if not ready:
                results[name] = Outcome(name, TIMEOUT, f"no answer within {self.timeout:g} s")
                self._restart(name)
                continue
            try:
                out = w.conn.recv()
                out.seconds = time.monotonic() - sent[name]
                results[name] = out
            except (EOFError, OSError):
                results[name] = self._crashed(name)
        return {name: results[name] for name in self.oracles}

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
