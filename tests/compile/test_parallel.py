"""Parallel compilation (engine/compile/parallel.py): worker processes make exactly the code a
serial compile makes, on every target; Config.parallel_compilation and the size threshold
decide when the pool is used; a function a worker fails on raises its real error here."""

from __future__ import annotations

import pytest

from backends.x86_64 import X86_64Backend
from benchmarks.gen_large import generate
from engine import Config, Engine, InternalError
from engine.compile import driver, parallel
from engine.compile.module import Module
from engine.compile.registry import backend_for

LARGE = generate()


def _compile(target: str, jobs: int | None, **config):
    engine = Engine(Config(target=target, **config))
    return driver.compile_module(Module(engine, LARGE), backend_for(engine.settings), jobs=jobs)


@pytest.mark.parametrize("target", ["x86_64", "aarch64", "riscv64"])
def test_workers_make_the_serial_bytes(target):
    serial = _compile(target, jobs=1)
    par = _compile(target, jobs=2)
    assert len(serial.code) > 10_000
    assert par.code == serial.code
    assert par.symbols == serial.symbols


def _count_pools(monkeypatch) -> list:
    calls: list = []
    real = parallel.multiprocessing.get_context

    def counting(method):
        calls.append(method)
        return real(method)
    monkeypatch.setattr(parallel.multiprocessing, "get_context", counting)
    return calls


def test_the_pool_serves_modules_above_the_threshold(monkeypatch):
    monkeypatch.setattr(parallel, "worker_count", lambda: 2)
    monkeypatch.setattr(driver, "worker_count", lambda: 2)
    calls = _count_pools(monkeypatch)
    monkeypatch.setattr(driver, "MIN_PARALLEL_INSTRUCTIONS", 10**9)
    small = _compile("x86_64", jobs=None)
    assert calls == []
    monkeypatch.setattr(driver, "MIN_PARALLEL_INSTRUCTIONS", 100)
    big = _compile("x86_64", jobs=None)
    assert calls == ["fork"]
    off = _compile("x86_64", jobs=None, parallel_compilation=False)
    assert calls == ["fork"]
    assert small.code == big.code == off.code


def test_a_worker_failure_raises_the_real_error_here(monkeypatch):
    real = X86_64Backend.function_code
    seen: list[int] = []

    def failing(self, func, info):
        seen.append(func.index)            # only this process's calls are recorded here
        if func.index == 7:
            raise InternalError("function 7 is broken")
        return real(self, func, info)
    monkeypatch.setattr(X86_64Backend, "function_code", failing)
    with pytest.raises(InternalError, match="function 7 is broken"):
        _compile("x86_64", jobs=2)
    assert seen == [7], "the parent compiled more than the failed function"


def test_chunks_cover_every_function_once_largest_first():
    sizes = [5, 9000, 1, 300, 4000, 4000, 2]
    groups = parallel.chunks(sizes, chunk=4000)
    assert sorted(p for g in groups for p in g) == list(range(len(sizes)))
    assert groups[0] == [1]
    assert all(sum(sizes[p] for p in g) >= 4000 for g in groups[:-1])
