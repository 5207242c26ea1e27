"""Parallel compilation (engine/compile/parallel.py): worker processes make exactly the code a
serial compile makes, on every target; Config.parallel_compilation and the size threshold
decide when the pool is used; a function a worker fails on raises its real error here."""

from __future__ import annotations

import os

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


def test_a_failing_function_raises_its_real_error(monkeypatch):
    real = X86_64Backend.function_code

    def failing(self, func, info):
        if func.index == 7:
            raise InternalError("function 7 is broken")
        return real(self, func, info)
    monkeypatch.setattr(X86_64Backend, "function_code", failing)
    with pytest.raises(InternalError, match="function 7 is broken"):
        _compile("x86_64", jobs=2)


def test_a_worker_that_dies_leaves_its_share_to_this_process(monkeypatch):
    """Workers killed in the middle (here: each exits on its first function) cost time, not
    code: what they took is compiled here."""
    parent = os.getpid()
    real = X86_64Backend.function_code

    def dying(self, func, info):
        if os.getpid() != parent:
            os._exit(3)
        return real(self, func, info)
    monkeypatch.setattr(X86_64Backend, "function_code", dying)
    monkeypatch.setattr(parallel, "CHUNK_INSTRUCTIONS", 1)      # one function per task
    par = _compile("x86_64", jobs=3)
    monkeypatch.setattr(X86_64Backend, "function_code", real)
    assert par.code == _compile("x86_64", jobs=1).code


def test_failed_positions_come_back_empty():
    def job(p):
        if p == 1:
            raise ValueError("no")
        return p * 10
    assert parallel._run_chunk(job, [0, 1, 2]) == [(0, 0), (1, None), (2, 20)]


def test_chunks_cover_every_function_once_largest_first():
    sizes = [5, 9000, 1, 300, 4000, 4000, 2]
    groups = parallel.chunks(sizes, chunk=4000)
    assert sorted(p for g in groups for p in g) == list(range(len(sizes)))
    assert groups[0] == [1]
    assert all(sum(sizes[p] for p in g) >= 4000 for g in groups[:-1])



# -- validation shared with a forked child (parallel.validate_parallel) ----------------------

def _big_module(last_body: str, extra: str = "") -> str:
    """A module of more than MIN_PARALLEL_INSTRUCTIONS instructions whose last function's
    body is `last_body` (so it falls in the child's half)."""
    filler = "(local.get 0) (i32.const 1) (i32.add) (local.set 0) " * 60
    funcs = "".join(f"(func (param i32) (result i32) {filler} (local.get 0))\n"
                    for _ in range(parallel.MIN_PARALLEL_INSTRUCTIONS // 240 + 2))
    return f"(module {extra} {funcs} (func {last_body}))"


def _error(text: str, parallel_compilation: bool) -> str:
    from engine import WasmError
    with pytest.raises(WasmError) as info:
        Module(Engine(Config(parallel_compilation=parallel_compilation)), text)
    return str(info.value)


@pytest.mark.skipif(not parallel.can_fork() or parallel.worker_count() < 2,
                    reason="needs fork and two CPUs")
def test_a_broken_body_in_the_child_s_half_raises_what_a_serial_validation_raises(monkeypatch):
    calls: list = []
    real = parallel.validate_parallel
    monkeypatch.setattr("engine.compile.module.validate_parallel",
                        lambda m, f, ahead=None: calls.append(1) or real(m, f, ahead))
    text = _big_module("(i32.const 1) (i64.const 2) (i32.add) (drop)")
    assert _error(text, True) == _error(text, False)
    assert "type mismatch" in _error(text, True) and calls


@pytest.mark.skipif(not parallel.can_fork() or parallel.worker_count() < 2,
                    reason="needs fork and two CPUs")
def test_what_validation_finds_in_the_child_s_half_reaches_the_module():
    from engine.wasm.decoder import decode
    from engine.wasm.validator import validate
    from engine.text import wat2wasm
    from engine.compile.environment import state_of
    text = _big_module("(return_call_indirect (type $t) (i32.const 0))",
                       "(type $t (func)) (table 1 funcref)")
    features = state_of(Engine(), "test").features
    serial, par = decode(wat2wasm(text), features), decode(wat2wasm(text), features)
    validate(serial, features)
    parallel.validate_parallel(par, features)
    assert serial.tail_calls_leave and par.tail_calls_leave


@pytest.mark.skipif(not parallel.can_fork() or parallel.worker_count() < 2,
                    reason="needs fork and two CPUs")
def test_the_faster_process_checks_more_of_the_bodies(monkeypatch):
    """The two processes meet where they meet: a child slowed down (a busy core) leaves
    most of the bodies to this process, which checks them from the first up."""
    import os
    import time
    from engine.wasm.module import PendingBody
    parent = os.getpid()
    real = parallel._Claiming.__iter__

    def slow_in_the_child(self):
        for i in real(self):
            if os.getpid() != parent:
                time.sleep(0.02)
            yield i
    monkeypatch.setattr(parallel._Claiming, "__iter__", slow_in_the_child)
    monkeypatch.setattr("engine.wasm.decoder.DEFER_MIN_BYTES", 0)   # (bodies left pending)
    module = Module(Engine(Config()), _big_module("(nop)")).wasm_module
    here = [c.decoded for c in module.codes]           # (what this process checked)
    assert all(isinstance(c, PendingBody) for c in module.codes)
    assert 0.75 * len(here) < sum(here) < len(here) and not here[-1]
    assert module.instruction_count() == sum(len(c.body) for c in module.codes)
