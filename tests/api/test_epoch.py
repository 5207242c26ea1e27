"""Epoch interruption: an infinite wasm loop on one thread is stopped by Engine.increment_epoch()
from another thread, on the interpreter, natively (the GIL is released while machine code runs)
and under Unicorn (every target); code compiled without the setting has no check."""

from __future__ import annotations

import threading
import time

import pytest

from engine import Config, Engine, Instance, Module, Store, Trap, TrapCode, WasmError

SPIN = """(module
  (func (export "spin") (param i32) (result i32)
    (loop $l (local.set 0 (i32.add (local.get 0) (i32.const 1))) (br $l))
    (local.get 0)))"""


def _run_and_interrupt(call):
    """Run `call()` on a thread and, while it runs, count how often this thread gets the GIL
    (0.2 s of 1 ms sleeps). Returns (outcome list, ticks, the worker thread)."""
    outcome: list = []
    started = threading.Event()

    def body() -> None:
        started.set()
        try:
            call()
            outcome.append(None)
        except BaseException as e:  # noqa: BLE001 - handed to the test
            outcome.append(e)

    worker = threading.Thread(target=body, daemon=True)
    worker.start()
    started.wait(5)
    ticks = 0
    end = time.perf_counter() + 0.2
    while time.perf_counter() < end:     # the wasm loop runs meanwhile
        ticks += 1
        time.sleep(0.001)
    assert worker.is_alive(), "the loop should still be running before the epoch moves"
    return outcome, ticks, worker


def _interrupt(engine: Engine, call) -> tuple[BaseException, float, int]:
    outcome, ticks, worker = _run_and_interrupt(call)
    t0 = time.perf_counter()
    engine.increment_epoch()
    worker.join(10)
    stop = time.perf_counter() - t0
    assert not worker.is_alive(), "increment_epoch did not stop the loop within 10 s"
    return outcome[0], stop, ticks


def _spin_export(engine: Engine):
    store = Store(engine)
    store.set_epoch_deadline(1)
    inst = Instance(store, Module(engine, SPIN), [])
    spin = inst.exports(store)["spin"]
    return lambda: spin(store, 0)


def test_interpreter_loop_stopped_from_another_thread():
    engine = Engine(Config(strategy="interpreter", epoch_interruption=True))
    err, stop, ticks = _interrupt(engine, _spin_export(engine))
    assert isinstance(err, Trap) and err.trap_code == TrapCode.INTERRUPT
    assert stop < 2.0


def test_native_loop_stopped_from_another_thread_without_holding_the_gil():
    engine = Engine(Config(epoch_interruption=True))
    err, stop, ticks = _interrupt(engine, _spin_export(engine))
    assert isinstance(err, Trap) and err.trap_code == TrapCode.INTERRUPT, err
    # this thread slept in 1 ms steps for 0.2 s while machine code ran: it got the GIL back
    # (a call holding the GIL would block it until the loop ends, i.e. forever)
    assert ticks > 10
    assert stop < 2.0


@pytest.mark.parametrize("target", ["x86_64", "aarch64", "riscv64"])
def test_emulated_loop_stopped_from_another_thread(target):
    """Unicorn runs harness code that reads the engine's own epoch page (mapped into the guest
    with the emulator's map_host)."""
    from support.harness import Harness, HarnessSpec
    from engine.exec.space import write_u64
    from engine.ir.builder import build_module
    from engine.environ import vmctx as V
    from engine.wasm.decoder import decode
    from tests.tools import wat_to_wasm
    engine = Engine(Config(target=target, emulate=True, epoch_interruption=True))
    module = decode(wat_to_wasm(SPIN))
    h = Harness(build_module(module), HarnessSpec(epoch_deadline=1), emulate=True, target=target)
    counter = engine._state.epoch_counter
    page, size = counter.page
    h.machine.map_host(page, size, owner=counter)      # at its host address
    write_u64(h.space, h.vmctx + V.EPOCH_PTR, counter.address)
    err, stop, ticks = _interrupt(engine, lambda: h.call(0, 0))
    assert isinstance(err, Trap) and err.trap_code == TrapCode.INTERRUPT, err
    assert ticks > 10       # emu_start releases the GIL too (held, this thread would hang)
    assert stop < 2.0


def _count_epoch_checks(engine: Engine) -> int:
    """cmp instructions against the store context's epoch deadline in the x86_64 code of
    SPIN."""
    import capstone
    from engine.compile.driver import compile_module
    from engine.compile.registry import backend_for
    code = compile_module(Module(engine, SPIN), backend_for(engine.settings))
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    start = code.symbols["func0"]
    ends = sorted(o for o in code.symbols.values() if o > start)
    end = ends[0] if ends else len(code.code)
    deadline = hex(32)     # engine.environ.vmctx.STATE_EPOCH_DEADLINE
    return sum(1 for i in md.disasm(code.code[start:end], start)
               if i.mnemonic == "cmp" and f"+ {deadline}]" in i.op_str)


def test_epoch_checks_only_when_configured():
    from engine.environ import vmctx as V
    assert V.STATE_EPOCH_DEADLINE == 32
    assert _count_epoch_checks(Engine(Config(epoch_interruption=True))) >= 2  # entry + loop
    assert _count_epoch_checks(Engine(Config())) == 0


def test_increment_is_shared_by_copies_and_monotonic_across_threads():
    import copy
    engine = Engine(Config(epoch_interruption=True))
    other = copy.copy(engine)
    before = engine._state.epoch

    def bump() -> None:
        for _ in range(2000):
            other.increment_epoch()
    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # the increment is atomic: no tick is lost between threads
    assert engine._state.epoch == before + 8000


def test_deadline_already_reached_traps_at_entry():
    engine = Engine(Config(strategy="interpreter", epoch_interruption=True))
    store = Store(engine)
    inst = Instance(store, Module(engine, '(module (func (export "f") (result i32) i32.const 7))'),
                    [])
    store.set_epoch_deadline(0)
    with pytest.raises(Trap) as info:
        inst.exports(store)["f"](store)
    assert info.value.trap_code == TrapCode.INTERRUPT
    store.set_epoch_deadline(1)
    assert inst.exports(store)["f"](store) == 7


def test_epoch_counter_is_page_aligned_for_emulators():
    import mmap
    addr, size = Engine()._state.epoch_counter.page
    assert size == mmap.PAGESIZE and addr % mmap.PAGESIZE == 0
    with pytest.raises(WasmError):
        Engine.same(Engine(), object())


@pytest.mark.parametrize("target", ["x86_64", "aarch64", "riscv64"])
def test_emulated_runtime_loop_stopped_from_another_thread(target):
    """Through the public API on Engine(Config(target=T, emulate=True))."""
    engine = Engine(Config(target=target, emulate=True, epoch_interruption=True))
    err, stop, ticks = _interrupt(engine, _spin_export(engine))
    assert isinstance(err, Trap) and err.trap_code == TrapCode.INTERRUPT, err
    assert ticks > 10
    assert stop < 2.0
