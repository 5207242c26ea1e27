"""Tiered compilation (Config.tiered_compilation, engine.exec.lazy): a function runs counted
baseline code first and the optimising tier's code once hot (calls and loop iterations),
compiled by the engine's background compiler (engine.exec.tierup) while the baseline code
runs, natively and under Unicorn, with the same results, traps and backtraces."""

from __future__ import annotations

import ctypes
import threading
import time

import pytest

from engine import Config, Engine, Instance, Module, Store, Trap, TrapCode, WasmError
from engine.exec.lazy import LazyUnit
from engine.exec.native import native_supported
from engine.compile.parallel import can_fork, worker_count

CONFIGS = [
    pytest.param({}, id="native", marks=pytest.mark.skipif(not native_supported(),
                                                           reason="native x86_64 only")),
    pytest.param({"target": "x86_64", "emulate": True}, id="x86_64-emulated"),
]

WAT = """(module
  (func $sum (export "sum") (param i32) (result i32) (local i32)
    (block $out (loop $l
      (br_if $out (i32.eqz (local.get 0)))
      (local.set 1 (i32.add (local.get 1) (local.get 0)))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br $l)))
    (local.get 1))
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func $div (param i32) (result i32) (i32.div_u (i32.const 100) (local.get 0)))
  (func (export "outer") (param i32) (result i32) (i32.add (call $div (local.get 0))
                                                           (i32.const 1))))"""

SUM, FIB, DIV, OUTER = range(4)


def _setup(cfg: dict, threshold: int, **more):
    engine = Engine(Config(tiered_compilation=True, tier_up_threshold=threshold, **cfg, **more))
    store = Store(engine)
    inst = Instance(store, Module(engine, WAT), [])
    unit = inst.exec_state.unit
    assert isinstance(unit, LazyUnit)
    return store, inst.exports(store), unit.lazy


def _fib(n: int) -> int:
    return n if n < 2 else _fib(n - 1) + _fib(n - 2)


def _codes(lazy, index: int) -> list[int]:
    """Where function `index`'s codes start (not its on-stack replacement entries)."""
    entries = set(lazy.osr_entries().values())
    return [start for start, _, i in lazy.placed if i == index and start not in entries]


@pytest.mark.parametrize("cfg", CONFIGS)
def test_a_function_called_often_runs_baseline_then_optimised_code(cfg) -> None:
    store, ex, lazy = _setup(cfg, threshold=3)
    assert ex["sum"](store, 3) == 6
    baseline = lazy.compiled[SUM]
    assert SUM in lazy.baseline_compiled and lazy.final(SUM) is None
    calls = 1
    while lazy.wait_tier_ups() and SUM not in lazy.tiered_up:
        assert ex["sum"](store, 3) == 6      # the call that goes below zero queues it
        calls += 1
        assert calls < 10
    assert calls >= 2 and lazy.final(SUM) == lazy.compiled[SUM]
    assert ex["sum"](store, 3) == 6
    optimised = lazy.compiled[SUM]
    assert optimised != baseline and _codes(lazy, SUM) == [baseline, optimised]
    assert lazy.slots[SUM - lazy.first] == optimised
    # pcs in both codes still name the function (backtraces, faults)
    assert lazy.function_at(baseline) == SUM and lazy.function_at(optimised) == SUM
    # its loop can move activations to optimised code: its counter stays near zero, so
    # baseline activations still running ask for that (a function without one: far from it)
    assert 0 < lazy.counters[SUM - lazy.first] <= 3 * 16


@pytest.mark.parametrize("cfg", CONFIGS)
def test_a_hot_loop_in_one_long_call_gets_an_entry_and_a_second_call_tiers_up(cfg) -> None:
    store, ex, lazy = _setup(cfg, threshold=10)
    assert ex["sum"](store, 50_000) == (50_000 * 50_001 // 2) & 0xFFFF_FFFF
    assert lazy.wait_tier_ups()
    # one activation so far: the entry its loop can move to, no whole-function compile
    assert list(lazy.osr_entries()) == [(SUM, _loops(lazy, SUM)[0])]
    assert SUM not in lazy.tiered_up
    assert ex["sum"](store, 50_000) == (50_000 * 50_001 // 2) & 0xFFFF_FFFF
    assert lazy.wait_tier_ups()
    assert SUM in lazy.tiered_up and len(_codes(lazy, SUM)) == 2
    assert ex["sum"](store, 100) == 5050


@pytest.mark.parametrize("cfg", CONFIGS)
def test_asking_to_tier_up_does_not_decode_a_pending_body(cfg) -> None:
    """A hot function whose code came from the compile-ahead process may still have its
    body pending here (engine.wasm.module.PendingBody): the program's asks (helper TIER_UP,
    from its calls and its loops) queue it by its estimated size and leave the decoding to
    the compile, off the program's thread."""
    import threading
    from engine.wasm.module import PendingBody
    store, ex, lazy = _setup(cfg, threshold=10)
    assert ex["sum"](store, 3) == 6                 # compiled: the asks may come
    k = SUM - lazy.first
    whole = lazy.wasm.codes[k]
    decoders = []

    def decode(_pending):
        decoders.append(threading.get_ident())
        return whole.body
    lazy.wasm.codes[k] = PendingBody(whole.locals, whole.offset, whole.start, decode,
                                     2 * len(whole.body))
    assert ex["sum"](store, 50_000) == (50_000 * 50_001 // 2) & 0xFFFF_FFFF
    assert lazy.wait_tier_ups() and lazy.osr_entries()
    assert threading.get_ident() not in decoders
    assert ex["sum"](store, 100) == 5050


@pytest.mark.parametrize("cfg", CONFIGS)
def test_a_pending_body_compiled_here_is_released_and_decoded_again_to_tier_up(cfg) -> None:
    """A function whose body was left pending (a large module's, decoded by whoever uses
    it) and that this process compiles itself: its instructions are decoded for that compile
    and dropped after it (not kept for the collector to scan); its tier-up decodes them
    again and gives the same results."""
    from engine.wasm.module import PendingBody
    store, ex, lazy = _setup(cfg, threshold=10)
    k = FIB - lazy.first
    whole = lazy.wasm.codes[k]
    decodes = []

    def decode(_pending):
        decodes.append(1)
        return list(whole.body)
    pending = PendingBody(whole.locals, whole.offset, whole.start, decode,
                          2 * len(whole.body))
    lazy.wasm.codes[k] = pending
    assert FIB not in lazy.compiled
    assert ex["fib"](store, 2) == 1
    assert FIB in lazy.compiled and len(decodes) == 1 and not pending.decoded
    assert [ex["fib"](store, n) for n in range(15)] == [_fib(n) for n in range(15)]
    assert lazy.wait_tier_ups() and FIB in lazy.tiered_up
    assert ex["fib"](store, 20) == _fib(20)


def _loops(lazy, index: int) -> list[int]:
    from engine.wasm.opcodes import Op
    return [p for p, ins in enumerate(lazy.wasm.codes[index - lazy.first].body)
            if ins.op == Op.LOOP]


@pytest.mark.parametrize("cfg", CONFIGS)
def test_recursion_tiers_up_mid_call_with_the_same_results(cfg) -> None:
    store, ex, lazy = _setup(cfg, threshold=5)
    assert [ex["fib"](store, n) for n in range(12)] == [_fib(n) for n in range(12)]
    assert lazy.wait_tier_ups() and FIB in lazy.tiered_up
    assert ex["fib"](store, 20) == _fib(20)


@pytest.mark.parametrize("cfg", CONFIGS)
def test_a_trap_gives_the_same_trap_and_backtrace_in_both_tiers(cfg) -> None:
    store, ex, lazy = _setup(cfg, threshold=2)

    def trap() -> tuple:
        with pytest.raises(Trap) as info:
            ex["outer"](store, 0)
        t = info.value
        return t.trap_code, [f.func_index for f in t.frames]
    before = trap()
    assert DIV in lazy.compiled and DIV not in lazy.tiered_up
    for _ in range(4):
        assert ex["outer"](store, 4) == 26
    assert lazy.wait_tier_ups() and {DIV, OUTER} <= lazy.tiered_up
    assert trap() == before == (TrapCode.INTEGER_DIVISION_BY_ZERO, [DIV, OUTER])


@pytest.mark.parametrize("cfg", CONFIGS)
def test_threads_racing_the_tier_up_compile_each_tier_once(cfg) -> None:
    engine = Engine(Config(tiered_compilation=True, tier_up_threshold=1, **cfg))
    module = Module(engine, WAT)
    results: list = []
    errors: list = []
    lazies: list = []
    start = threading.Barrier(4)

    def work(n: int) -> None:
        try:
            store = Store(engine)
            inst = Instance(store, module, [])
            lazies.append(inst.exec_state.unit.lazy)
            start.wait()
            ex = inst.exports(store)
            results.append([ex["fib"](store, n) for _ in range(3)])
        except BaseException as e:        # reported below
            errors.append(e)
    threads = [threading.Thread(target=work, args=(n,)) for n in (14, 15, 16, 17)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(results) == [[_fib(n)] * 3 for n in (14, 15, 16, 17)]
    lazy = lazies[0]
    assert all(other is lazy for other in lazies)
    assert lazy.wait_tier_ups()
    assert lazy.tiered_up == {FIB} and len(_codes(lazy, FIB)) == 2


@pytest.mark.skipif(not native_supported(), reason="native x86_64 only")
def test_direct_calls_are_repointed_at_the_optimised_code() -> None:
    from capstone import CS_ARCH_X86, CS_MODE_64, Cs
    store, ex, lazy = _setup({}, threshold=1)
    for _ in range(3):
        assert ex["outer"](store, 5) == 21
    assert lazy.wait_tier_ups() and {DIV, OUTER} <= lazy.tiered_up
    start, end = next((s, e) for s, e, i in reversed(lazy.placed) if i == OUTER)
    code = bytes((ctypes.c_ubyte * (end - start)).from_address(start))
    targets = {int(i.op_str, 16) for i in Cs(CS_ARCH_X86, CS_MODE_64).disasm(code, start)
               if i.mnemonic == "call" and i.op_str.startswith("0x")}
    assert targets == {lazy.compiled[DIV]} and lazy.compiled[DIV] == _codes(lazy, DIV)[1]


def test_baseline_compilation_forces_the_baseline_tier() -> None:
    store, ex, lazy = _setup({}, threshold=0, baseline_compilation=True)
    for _ in range(5):
        assert ex["sum"](store, 1000) == 500500
    assert lazy.baseline_compiled == {SUM} and not lazy.tiered_up and not lazy.tiered


def test_other_targets_keep_the_optimising_tier() -> None:
    store, ex, lazy = _setup({"target": "aarch64"}, threshold=0)
    assert ex["sum"](store, 10) == 55
    assert not lazy.baseline_compiled and not lazy.tiered_up


@pytest.mark.parametrize("value", [-1, True, "10", 1 << 30])
def test_the_threshold_takes_a_number_of_calls(value) -> None:
    with pytest.raises(WasmError, match="Config.tier_up_threshold must be"):
        Engine(Config(tier_up_threshold=value))


@pytest.mark.parametrize("cfg", CONFIGS)
def test_runaway_recursion_across_the_tier_up_traps_stack_overflow(cfg) -> None:
    engine = Engine(Config(tiered_compilation=True, tier_up_threshold=1, **cfg))
    store = Store(engine)
    wat = """(module (func $r (export "r") (param i32) (result i32)
               (i32.add (call $r (i32.add (local.get 0) (i32.const 1))) (i32.const 1))))"""
    inst = Instance(store, Module(engine, wat), [])
    lazy = inst.exec_state.unit.lazy
    for _ in range(2):
        with pytest.raises(Trap) as info:
            inst.exports(store)["r"](store, 0)
        assert info.value.trap_code == TrapCode.STACK_OVERFLOW
    assert lazy.wait_tier_ups() and lazy.tiered_up == {0}


# -- the background compiler (engine.exec.tierup) ---------------------------------------------

def _count_optimised(monkeypatch, lazy, before=None) -> dict[int, int]:
    """Count (per function) the optimising compiles of `lazy`, calling `before(index)` first;
    no activation moves to optimised code at a loop (on-stack replacement has its own tests),
    so the background compiler's queue holds the tier-ups alone."""
    counts: dict[int, int] = {}
    real = lazy._optimised

    def counted(index: int, loop=None):
        counts[index] = counts.get(index, 0) + 1
        if before is not None:
            before(index)
        return real(index, loop)
    monkeypatch.setattr(lazy, "_optimised", counted)
    monkeypatch.setattr(lazy, "osr_entry", lambda index, loop, compile_now=True: 0)
    return counts


@pytest.mark.parametrize("cfg", CONFIGS)
def test_the_baseline_code_runs_on_while_the_hot_function_compiles(cfg, monkeypatch) -> None:
    store, ex, lazy = _setup(cfg, threshold=2)
    started, release = threading.Event(), threading.Event()
    counts = _count_optimised(monkeypatch, lazy, lambda _: started.set() or release.wait(30))
    for _ in range(50):          # hot after a few calls: every later call still returns
        assert ex["fib"](store, 10) == 55
    assert started.wait(30)
    for _ in range(50):
        assert ex["fib"](store, 10) == 55
    # compiled once (queued again as it stays hot: those entries compile nothing)
    assert counts == {FIB: 1} and lazy.background.pending >= 1
    assert FIB not in lazy.tiered_up and lazy.final(FIB) is None
    release.set()
    assert lazy.wait_tier_ups() and lazy.tiered_up == {FIB} and counts == {FIB: 1}
    assert ex["fib"](store, 15) == _fib(15)


HOT_CALLEE = """(module
  (import "host" "check" (func $check (param i32)))
  (func $f (param i32) (result i32) (i32.add (local.get 0) (i32.const 3)))
  (func (export "loop") (param i32) (result i32) (local i32 i32)
    (block $out (loop $l
      (br_if $out (i32.ge_u (local.get 1) (local.get 0)))
      (call $check (local.get 1))
      (local.set 2 (i32.add (local.get 2) (call $f (local.get 1))))
      (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br $l)))
    (local.get 2)))"""


@pytest.mark.parametrize("cfg", CONFIGS)
def test_code_installed_during_a_call_runs_in_that_call(cfg) -> None:
    """The callee tiers up while the caller's loop runs (natively, or inside one emu_start):
    once installed, the rest of the loop's calls run the optimised code (its counter, which
    only the counted baseline code lowers, stops moving) and the sum is right."""
    from engine import Func, FuncType, ValType
    engine = Engine(Config(tiered_compilation=True, tier_up_threshold=5, **cfg))
    store = Store(engine)
    seen: list[int] = []
    lazy_of: list = []

    def check(i: int) -> None:
        lazy = lazy_of[0]
        if i == 100:               # f is queued by now: wait until it is installed
            assert lazy.wait_tier_ups() and lazy.final(1) is not None
        if i in (100, 999):
            seen.append(lazy.counters[1 - lazy.first])
    f = Func(store, FuncType([ValType.i32()], []), check)
    inst = Instance(store, Module(engine, HOT_CALLEE), [f])
    lazy_of.append(inst.exec_state.unit.lazy)
    n = 1000
    assert inst.exports(store)["loop"](store, n) == sum(i + 3 for i in range(n))
    lazy = lazy_of[0]
    assert 1 in lazy.tiered_up and len(seen) == 2
    # 899 calls, none in baseline code (the counter restarts after the first ask and may
    # reach exactly 0 while the compile runs, under load)
    assert seen[0] == seen[1] and seen[0] >= 0


@pytest.mark.parametrize("cfg", CONFIGS)
def test_many_threads_calling_hot_functions_compile_each_once(cfg, monkeypatch) -> None:
    engine = Engine(Config(tiered_compilation=True, tier_up_threshold=2, **cfg))
    module = Module(engine, WAT)
    errors: list = []
    start = threading.Barrier(8)
    lazies: list = []
    counts: dict = {}

    def work(k: int) -> None:
        try:
            store = Store(engine)
            inst = Instance(store, module, [])
            lazy = inst.exec_state.unit.lazy
            if not lazies:
                lazies.append(lazy)
                counts.update(_count_optimised(monkeypatch, lazy) or {})
            start.wait()
            ex = inst.exports(store)
            for i in range(40):
                n = (i + k) % 12
                assert ex["fib"](store, n) == _fib(n)
                assert ex["sum"](store, n) == n * (n + 1) // 2
                assert ex["outer"](store, 1 + n) == 100 // (1 + n) + 1
        except BaseException as e:        # reported below
            errors.append(e)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    lazy = lazies[0]
    assert lazy.wait_tier_ups() and not lazy.failures
    assert lazy.tiered_up == {SUM, FIB, DIV, OUTER}
    for index in range(4):
        assert len(_codes(lazy, index)) == 2        # baseline, then optimised: once each


@pytest.mark.parametrize("cfg", CONFIGS)
def test_a_failed_background_compile_surfaces_as_internal_error(cfg, monkeypatch) -> None:
    from engine.errors import InternalError
    store, ex, lazy = _setup(cfg, threshold=1)

    release = threading.Event()

    def broken(index: int):
        release.wait(30)
        raise RuntimeError(f"no code for {index}")
    counts = _count_optimised(monkeypatch, lazy, broken)
    for _ in range(3):
        assert ex["sum"](store, 10) == 55
    release.set()
    assert lazy.wait_tier_ups() and counts == {SUM: 1}
    with pytest.raises(InternalError, match="optimising compile of function 0 failed") as info:
        ex["sum"](store, 10)
    assert isinstance(info.value.__cause__, RuntimeError)
    # raised once; the function stays on its baseline code and is not queued again
    for _ in range(5):
        assert ex["sum"](store, 10) == 55
    assert lazy.wait_tier_ups() and counts == {SUM: 1} and not lazy.tiered_up
    assert lazy.final(SUM) is None and not lazy.failures


def test_closing_store_and_engine_does_not_wait_for_the_compile(monkeypatch) -> None:
    import time
    store, ex, lazy = _setup({}, threshold=1)
    release = threading.Event()
    _count_optimised(monkeypatch, lazy, lambda _: release.wait(30))
    for _ in range(3):
        assert ex["sum"](store, 10) == 55
    engine = store.engine
    t0 = time.perf_counter()
    store.close()
    engine.close()
    assert time.perf_counter() - t0 < 1.0 and lazy.background.pending == 1
    release.set()
    assert lazy.wait_tier_ups() and lazy.tiered_up == {SUM}


def test_interpreter_exit_does_not_wait_for_the_compile(tmp_path) -> None:
    import subprocess
    import sys
    import time
    script = tmp_path / "hot.py"
    script.write_text(f"""
import time
from engine import Config, Engine, Instance, Module, Store
engine = Engine(Config(tiered_compilation=True, tier_up_threshold=1))
store = Store(engine)
inst = Instance(store, Module(engine, {WAT!r}), [])
lazy = inst.exec_state.unit.lazy
lazy._optimised = lambda index, loop=None: time.sleep(120)   # a compile that never ends
lazy.osr_entry = lambda index, loop, compile_now=True: 0
ex = inst.exports(store)
print(sum(ex["sum"](store, 10) for _ in range(5)), lazy.background.pending)
""")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=100)
    assert proc.returncode == 0, proc.stderr
    total, pending = proc.stdout.split()
    assert total == "275" and int(pending) >= 1       # (a compile in progress, or queued)
    assert time.perf_counter() - t0 < 60


# -- large modules: the optimising compiles in a forked process (engine.compile.forked) ---------

def _forking(monkeypatch, cfg: dict, threshold: int = 1):
    import engine.exec.lazy as lazy_module
    monkeypatch.setattr(lazy_module, "FORK_MIN_INSTRUCTIONS", 0)   # WAT counts as large
    store, ex, lazy = _setup(cfg, threshold=threshold)
    assert lazy.forks
    return store, ex, lazy


def _ended(pid: int) -> bool:
    import os
    import time
    for _ in range(200):
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        except ChildProcessError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("cfg", CONFIGS)
def test_a_large_module_compiles_hot_functions_in_a_forked_process(cfg, monkeypatch) -> None:
    import os
    store, ex, lazy = _forking(monkeypatch, cfg)
    for _ in range(3):
        assert ex["fib"](store, 12) == 144 and ex["outer"](store, 7) == 15
    assert lazy.wait_tier_ups() and lazy.tiered_up == {FIB, DIV, OUTER}
    forked = lazy._forked
    assert forked is not None and forked.pid != os.getpid()
    assert ex["fib"](store, 20) == _fib(20)
    with pytest.raises(Trap) as info:               # its code traps as the baseline's did
        ex["outer"](store, 0)
    assert [f.func_index for f in info.value.frames] == [DIV, OUTER]
    forked.close()                                  # the child ends once let go
    assert _ended(forked.pid)


def test_a_compile_failing_in_the_forked_process_surfaces(monkeypatch) -> None:
    from engine.errors import InternalError
    store, ex, lazy = _forking(monkeypatch, {})

    def broken(index: int, loop=None):
        raise RuntimeError(f"no code for {index} in the child")
    monkeypatch.setattr(lazy, "_optimised", broken)     # the child inherits it
    monkeypatch.setattr(lazy, "osr_entry", lambda index, loop, compile_now=True: 0)
    assert ex["sum"](store, 4) == 10 and ex["sum"](store, 4) == 10     # (called twice: hot)
    assert lazy.wait_tier_ups() and lazy.failures
    with pytest.raises(InternalError, match="no code for 0 in the child"):
        ex["sum"](store, 4)
    assert lazy._forked is not None and lazy.forks        # the child lives on
    assert ex["sum"](store, 4) == 10 and not lazy.tiered_up


def test_when_the_forked_process_dies_this_process_compiles(monkeypatch) -> None:
    import os
    import signal
    store, ex, lazy = _forking(monkeypatch, {})
    assert ex["sum"](store, 4) == 10 and ex["sum"](store, 4) == 10     # (called twice: hot)
    assert lazy.wait_tier_ups() and lazy.tiered_up == {SUM}
    os.kill(lazy._forked.pid, signal.SIGKILL)
    assert _ended(lazy._forked.pid)
    for _ in range(3):
        assert ex["fib"](store, 10) == 55
    assert lazy.wait_tier_ups() and lazy.tiered_up == {SUM, FIB} and not lazy.forks
    assert not lazy.failures


# -- lazy compilation off: every function by the baseline tier up front ------------------------

SIMD_WAT = """(module
  (func (export "lanes") (param i32) (result i32)
    (i32x4.extract_lane 2 (i32x4.add (i32x4.splat (local.get 0)) (v128.const i32x4 1 2 3 4))))
  (func (export "plain") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3))))"""


@pytest.mark.parametrize("jobs", [1, 2])
def test_lazy_off_compiles_every_function_with_the_baseline_tier_then_tiers_up(
        jobs, monkeypatch) -> None:
    import engine.exec.compiled as compiled_module
    monkeypatch.setattr(compiled_module, "compile_jobs", lambda module: jobs)
    store, ex, lazy = _setup({}, threshold=2, lazy_compilation=False)
    defined = set(range(lazy.first, lazy.first + lazy.count))
    # all compiled at instantiation, before any call: no slot reaches a compile thunk
    assert set(lazy.compiled) == defined == lazy.baseline_compiled and not lazy.tiered_up
    assert [lazy.slots[k] for k in range(lazy.count)] == [lazy.compiled[i] for i in
                                                          sorted(defined)]
    for _ in range(4):
        assert ex["fib"](store, 12) == 144 and ex["outer"](store, 9) == 12
    assert lazy.wait_tier_ups() and lazy.tiered_up == {FIB, DIV, OUTER}
    assert ex["sum"](store, 100) == 5050


def test_lazy_off_gives_what_the_baseline_refuses_to_the_optimising_tier() -> None:
    engine = Engine(Config(tiered_compilation=True, lazy_compilation=False))
    store = Store(engine)
    inst = Instance(store, Module(engine, SIMD_WAT), [])
    lazy = inst.exec_state.unit.lazy
    ex = inst.exports(store)
    assert ex["lanes"](store, 10) == 13 and ex["plain"](store, 5) == 15
    assert lazy.baseline_compiled == {1} and lazy.final(0) == lazy.compiled[0]
    assert lazy.final(1) is None


def test_lazy_off_artifacts_stay_whole_module_optimised_code() -> None:
    engine = Engine(Config(tiered_compilation=True, lazy_compilation=False))
    module = Module(engine, WAT)
    again = Module.deserialize(engine, module.serialize())
    store = Store(engine)
    inst = Instance(store, again, [])
    assert not isinstance(inst.exec_state.unit, LazyUnit)
    assert inst.exports(store)["fib"](store, 15) == _fib(15)


def test_the_background_compiler_runs_cheapest_first_bounded_and_ends_when_idle() -> None:
    from engine.exec.tierup import BackgroundCompiler
    bg = BackgroundCompiler(capacity=3)
    gate, ran, failed = threading.Event(), [], []
    assert bg.submit(lambda: gate.wait(30), failed.append, cost=0)     # holds the thread
    while bg.pending != 1 or not bg._busy:
        threading.Event().wait(0.01)
    assert bg.submit(lambda: ran.append("big"), failed.append, cost=900)
    assert bg.submit(lambda: ran.append("small"), failed.append, cost=5)

    def boom() -> None:
        raise ValueError("bad")
    assert bg.submit(boom, failed.append, cost=50)
    assert not bg.submit(lambda: ran.append("over"), failed.append)    # 3 queued: full
    gate.set()
    assert bg.wait(30) and ran == ["small", "big"]
    assert [type(e) for e in failed] == [ValueError]
    assert not bg._running          # its thread has returned: an idle engine holds none
    bg.close()
    assert not bg.submit(lambda: ran.append("late"), failed.append) and bg.wait(1)
    assert ran == ["small", "big"]


def test_a_large_compile_in_its_lane_does_not_hold_up_the_others() -> None:
    """Jobs of lane 1 (large functions) run on a thread of their own: lane 0's jobs run
    while one of lane 1 is still compiling."""
    from engine.exec.tierup import BackgroundCompiler
    bg = BackgroundCompiler()
    gate, ran = threading.Event(), []
    assert bg.submit(lambda: gate.wait(30), ran.append, cost=0, lane=1)
    assert bg.submit(lambda: ran.append("large, queued"), ran.append, cost=0, lane=1)
    assert bg.submit(lambda: ran.append("small"), ran.append, cost=99, lane=0)
    end = threading.Event()
    for _ in range(3000):
        if ran:
            break
        end.wait(0.01)
    assert ran == ["small"] and bg.pending == 2 and not bg.wait(0.05)
    gate.set()
    assert bg.wait(30) and ran == ["small", "large, queued"] and not bg._running


@pytest.mark.parametrize("cfg", CONFIGS)
def test_the_queue_weighs_loop_iterations_as_calls(cfg) -> None:
    """Where a tier-up goes in the queue: its size over the work its baseline code did, a
    call and a loop iteration counting once each (the counter weighs a call
    TIER_UP_ENTRY_WEIGHT times an iteration): of two functions of one size that asked as
    often, the one whose asks came from a loop is compiled first."""
    from backends.base import TIER_UP_ENTRY_WEIGHT
    store, ex, lazy = _setup(cfg, threshold=10)
    ex["sum"](store, 3), ex["fib"](store, 3)
    counted = lazy._count_from * 4
    lazy.calls[SUM - lazy.first] = 1                                  # all in its loop
    lazy.calls[FIB - lazy.first] = counted // TIER_UP_ENTRY_WEIGHT     # all calls
    looping = lazy._cost(SUM - lazy.first, 100, 4)
    calling = lazy._cost(FIB - lazy.first, 100, 4)
    assert looping * (TIER_UP_ENTRY_WEIGHT // 2) < calling
    assert abs(lazy._cost(SUM - lazy.first, 200, 4) - 2 * looping) <= 1     # twice the size


@pytest.mark.parametrize("cfg", CONFIGS)
def test_a_large_function_s_entry_waits_as_long_as_its_compile_would_take(cfg, monkeypatch):
    """A large function (LARGE_COMPILE) hot in a loop of one activation gets its
    on-stack replacement entry only once the activation has stayed in the loop about as long
    as the compile takes (OSR_WAIT per instruction); a small one at once."""
    import engine.exec.lazy as lazy_module
    monkeypatch.setattr(lazy_module, "LARGE_COMPILE", 1)              # every function large
    monkeypatch.setattr(lazy_module, "OSR_WAIT", 1000.0)              # ... waits for ever
    store, ex, lazy = _setup(cfg, threshold=10)
    assert ex["sum"](store, 50_000) == (50_000 * 50_001 // 2) & 0xFFFF_FFFF
    assert lazy.wait_tier_ups() and lazy.osr_entries() == {} and lazy._in_loop_since
    monkeypatch.setattr(lazy_module, "OSR_WAIT", 0.0)
    store, ex, lazy = _setup(cfg, threshold=10)
    assert ex["sum"](store, 50_000) == (50_000 * 50_001 // 2) & 0xFFFF_FFFF
    assert lazy.wait_tier_ups() and list(lazy.osr_entries()) == [(SUM, _loops(lazy, SUM)[0])]


@pytest.mark.parametrize("cfg", CONFIGS)
def test_nothing_tiers_up_while_the_program_is_starting_up(cfg) -> None:
    """While first-tier compiles still come fast (the last STARTUP_COMPILES within the
    window) a hot function's asks queue nothing; once they have slowed down, it tiers up. The
    window scales with the threshold (a test's threshold of 10 makes it 0.4 ms)."""
    import time
    from engine.exec.lazy import STARTUP_COMPILES, STARTUP_WINDOW
    store, ex, lazy = _setup(cfg, threshold=10)
    assert lazy._startup_window == pytest.approx(STARTUP_WINDOW * 10 / 1000)
    lazy._startup_window = 3600.0
    lazy._first_tier_times.extend([time.monotonic()] * STARTUP_COMPILES)
    for _ in range(3):
        assert [ex["fib"](store, n) for n in range(12)] == [_fib(n) for n in range(12)]
    assert ex["sum"](store, 50_000) == (50_000 * 50_001 // 2) & 0xFFFF_FFFF
    assert lazy.wait_tier_ups() and not lazy.tiered_up and not lazy.osr_entries()
    lazy._startup_window = 0.0
    assert [ex["fib"](store, n) for n in range(12)] == [_fib(n) for n in range(12)]
    assert lazy.wait_tier_ups() and FIB in lazy.tiered_up
    # an entry made before is still moved to while starting up: only new compiles wait
    store, ex, lazy = _setup(cfg, threshold=10)
    lazy._startup_window = 0.0
    assert ex["sum"](store, 50_000) == (50_000 * 50_001 // 2) & 0xFFFF_FFFF
    assert lazy.wait_tier_ups() and lazy.osr_entries() and SUM not in lazy.tiered_up
    lazy._startup_window = 3600.0
    lazy._first_tier_times.extend([time.monotonic()] * STARTUP_COMPILES)
    moves = lazy.osr_moves
    assert ex["sum"](store, 50_000) == (50_000 * 50_001 // 2) & 0xFFFF_FFFF
    assert lazy.osr_moves > moves
    assert lazy.wait_tier_ups() and SUM not in lazy.tiered_up


def test_interpreter_exit_leaves_the_forked_compile_behind_without_waiting(tmp_path) -> None:
    """The compile process holds none of the parent's output: a caller reading it (as
    subprocess.run does) sees it end when the parent exits, not when the compile does."""
    import os
    import signal
    import subprocess
    import sys
    import time
    script = tmp_path / "hot.py"
    script.write_text(f"""
import time
import engine.exec.lazy as lazy_module
from engine import Config, Engine, Instance, Module, Store
lazy_module.FORK_MIN_INSTRUCTIONS = 0
engine = Engine(Config(tiered_compilation=True, tier_up_threshold=1))
store = Store(engine)
inst = Instance(store, Module(engine, {WAT!r}), [])
lazy = inst.exec_state.unit.lazy
lazy._optimised = lambda index, loop=None: time.sleep(120)   # the child's never ends
lazy.osr_entry = lambda index, loop, compile_now=True: 0
ex = inst.exports(store)
print(sum(ex["sum"](store, 10) for _ in range(5)), flush=True)
while lazy._forked is None:
    time.sleep(0.01)
print(lazy._forked.pid, flush=True)
""")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=100)
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr
    total, pid = proc.stdout.split()
    try:
        assert total == "275" and elapsed < 60
        os.kill(int(pid), 0)             # still compiling, on its own
    finally:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_process_forked_after_tier_ups_tiers_up_on_its_own(monkeypatch) -> None:
    """A process forked from one that has a compile process and a compile thread (as
    multiprocessing's fork does) compiles its own hot functions and never talks to the
    parent's compile process."""
    import os
    store, ex, lazy = _forking(monkeypatch, {})
    assert ex["sum"](store, 4) == 10
    assert lazy.wait_tier_ups() and lazy._forked is not None
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:                        # the child: report through the pipe, never return
        ok = 0
        try:
            for _ in range(3):
                assert ex["fib"](store, 10) == 55
            ok = int(lazy.wait_tier_ups(30) and FIB in lazy.tiered_up and not lazy.forks)
        finally:
            os.write(w, bytes([ok]))
            os._exit(0)
    os.close(w)
    assert os.read(r, 1) == b"\x01"
    os.waitpid(pid, 0)
    assert FIB not in lazy.tiered_up and lazy.forks     # the parent's own state is as before
    assert ex["sum"](store, 4) == 10


PREFETCHED = """(module
  (import "host" "wait" (func $wait))
  (func $a (result i32) (i32.const 1))
  (func $b (result i32) (i32.add (call $a) (i32.const 2)))
  (func $c (result i32) (i32.add (call $b) (call $a)))
  (func $unused (result i32) (i32.const 99))
  (func (export "run") (result i32) (call $wait) (i32.add (call $c) (call $b))))"""


@pytest.mark.parametrize("cfg", CONFIGS)
def test_a_large_module_s_callees_are_compiled_ahead_by_a_forked_process(cfg, monkeypatch):
    """The first compile of a large module forks a process that compiles, ahead of their
    first calls, the functions the compiled ones call (engine.compile.forked.ForkedStream):
    the calls then install its code instead of compiling."""
    import time
    from engine import Func, FuncType
    import engine.exec.lazy as lazy_module
    monkeypatch.setattr(lazy_module, "FORK_MIN_INSTRUCTIONS", 0)   # WAT counts as large
    engine = Engine(Config(**cfg))
    store = Store(engine)
    state = {}

    def wait() -> None:              # run's callees are compiled there meanwhile
        end = time.monotonic() + 30
        while state["lazy"]._stream.received < 3 and time.monotonic() < end:
            time.sleep(0.01)
    inst = Instance(store, Module(engine, PREFETCHED), [Func(store, FuncType([], []), wait)])
    lazy = state["lazy"] = inst.exec_state.unit.lazy
    assert lazy.prefetch
    assert inst.exports(store)["run"](store) == 7
    assert lazy.prefetched == 3 and set(lazy.compiled) == {1, 2, 3, 5}
    assert lazy.baseline_compiled == {1, 2, 3, 5}


SPARED = """(module
  (func $a (result i32) (i32.const 1))
  (func $b (result i32) (i32.const 2))
  (func $c (result i32)
    (i32.add (i32.add (i32.add (call $a) (call $b)) (i32.mul (call $a) (i32.const 3)))
             (i32.xor (call $b) (i32.const 12))))
  (func (export "run") (result i32) (call $c)))"""


@pytest.mark.parametrize("slow_hints", [False, True], ids=["compiling", "finding-callees"])
@pytest.mark.parametrize("cfg", CONFIGS)
def test_while_the_program_waits_for_the_forked_compile_this_process_compiles_callees(
        cfg, slow_hints, monkeypatch, tmp_path):
    """When a call needs a function the compile-ahead process is compiling, this process
    compiles that function's callees meanwhile (those it can finish before it is sent), and
    the calls to them find them compiled; while the child is still finding those callees,
    this process finds them itself in the body it validated."""
    import os
    import engine.exec.lazy as lazy_module
    from engine.compile.ahead import compile_order, first_tier
    monkeypatch.setattr(lazy_module, "FORK_MIN_INSTRUCTIONS", 0)   # WAT counts as large
    monkeypatch.setattr(lazy_module, "SPARE_RATE", 1.0)     # seconds per instruction
    parent, A, B, C, RUN = os.getpid(), 0, 1, 2, 3
    on_c, spared = tmp_path / "child-on-c", tmp_path / "spared"
    here: set[int] = set()

    def until(flag) -> None:
        end = time.monotonic() + 30
        while not flag.exists() and time.monotonic() < end:
            time.sleep(0.005)

    def hints_in_step(wasm, index):
        if slow_hints and os.getpid() != parent and index == C:
            on_c.touch()
            until(spared)
        return compile_order(wasm, index)

    def in_step(wasm, info, backend, index, *rest):
        # the child compiles $c (or finds its callees) until this process has compiled $a
        # and $b; this one compiles run (which calls $c) once the child is on $c
        if not slow_hints and os.getpid() != parent and index == C:
            on_c.touch()
            until(spared)
        elif os.getpid() == parent and index == RUN:
            until(on_c)
        piece = first_tier(wasm, info, backend, index, *rest)
        if os.getpid() == parent and index in (A, B):
            here.add(index)
            if here == {A, B}:
                spared.touch()
        return piece
    monkeypatch.setattr(lazy_module, "compile_order", hints_in_step)
    monkeypatch.setattr(lazy_module, "first_tier", in_step)
    engine = Engine(Config(**cfg))
    store = Store(engine)
    inst = Instance(store, Module(engine, SPARED), [])
    lazy = inst.exec_state.unit.lazy
    assert inst.exports(store)["run"](store) == 1 + 2 + 3 + 14
    assert lazy.prefetched == 1 and lazy.spared == 2    # $c came from the child; $a, $b here
    assert set(lazy.compiled) == {0, 1, 2, 3}


@pytest.mark.skipif(not can_fork() or worker_count() < 2, reason="needs fork and two CPUs")
def test_the_process_that_validated_half_the_module_is_the_one_compiling_ahead(monkeypatch):
    """A module validated in parallel hands its validating child, which goes on compiling
    first-tier code from the exports (engine.compile.ahead), to its LazyCode: nothing is
    forked at the first compile and the calls install the child's code."""
    import time
    from engine import Func, FuncType
    import engine.compile.parallel as parallel_module
    monkeypatch.setattr(parallel_module, "MIN_PARALLEL_INSTRUCTIONS", 0)
    engine = Engine(Config())
    store = Store(engine)
    module = Module(engine, PREFETCHED)
    stream = module._ahead[1]
    end = time.monotonic() + 30
    while stream.received < 4 and time.monotonic() < end:     # run, c, b, a
        time.sleep(0.01)
    inst = Instance(store, module, [Func(store, FuncType([], []), lambda: None)])
    lazy = inst.exec_state.unit.lazy
    assert lazy._stream is stream and not lazy.prefetch and module._ahead is None
    assert inst.exports(store)["run"](store) == 7
    assert lazy.prefetched == 4 and set(lazy.compiled) == {1, 2, 3, 5}


def test_a_small_module_compiles_nothing_ahead():
    from engine import Func, FuncType
    engine = Engine(Config())
    store = Store(engine)
    inst = Instance(store, Module(engine, PREFETCHED), [Func(store, FuncType([], []),
                                                             lambda: None)])
    lazy = inst.exec_state.unit.lazy
    assert inst.exports(store)["run"](store) == 7
    assert not lazy.prefetch and lazy._stream is None and lazy.prefetched == 0
