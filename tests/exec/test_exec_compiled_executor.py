"""CompiledExecutor behind the public API (Engine/Store/Module/Instance): native x86_64 code
with the runtime's store objects, host functions, tables, globals, memory growth, traps, fuel.
The executor is installed on the Engine directly until the runtime's executor_for selects it."""

from __future__ import annotations

import platform

import pytest

from engine import (Config, Engine, Func, FuncType, Instance, Module, Store, Table, TableType,
                    Trap, TrapCode, ValType, Limits)

pytestmark = pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"),
                                reason="native x86_64 execution")

WAT = """(module
  (import "env" "log" (func $log (param i32) (result i32)))
  (import "env" "tab" (table $ext 2 funcref))
  (memory (export "mem") 1 3)
  (global $g (mut i32) (i32.const 5))
  (table $t 2 funcref) (elem (table $t) (i32.const 0) func $fib $log)
  (type $t1 (func (param i32) (result i32)))
  (type $t0 (func))
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func (export "via") (param i32 i32) (result i32)
    (global.set $g (i32.add (global.get $g) (local.get 0)))
    (call_indirect $t (type $t1) (local.get 0) (local.get 1)))
  (func (export "ext") (param i32)
    (call_indirect $ext (type $t0) (local.get 0)))
  (func (export "g") (result i32) (global.get $g))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "poke") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "spin") (param i32)
    (loop $l (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1))))))
)"""


def _setup(**config):
    from engine.exec.compiled import CompiledExecutor
    cfg = Config(**config)
    cfg.strategy = "interpreter"
    eng = Engine(cfg)
    eng._state.executor = CompiledExecutor(eng._state)
    store = Store(eng)
    seen = []

    def log(x):
        seen.append(x)
        if x == 13:
            raise Trap("unlucky")
        return x * 10

    def nothing():
        seen.append("nothing")

    tab = Table(store, TableType(ValType.funcref(), Limits(2, None)), None)
    tab.set(store, 0, Func(store, FuncType([], []), nothing))
    f_log = Func(store, FuncType([ValType.i32()], [ValType.i32()]), log)
    inst = Instance(store, Module(eng, WAT), [f_log, tab])
    return store, inst.exports(store), seen


def test_calls_globals_tables_and_host_functions():
    store, ex, seen = _setup()
    assert ex["fib"](store, 20) == 6765
    assert ex["via"](store, 4, 1) == 40 and seen == [4]
    assert ex["via"](store, 7, 0) == 13  # fib(7) through the table
    assert ex["g"](store) == 16
    with pytest.raises(Trap, match="unlucky"):
        ex["via"](store, 13, 1)
    # a host function of a type the module imports nothing of, reached through a table
    ex["ext"](store, 0)
    assert seen[-1] == "nothing"
    with pytest.raises(Trap) as e:
        ex["ext"](store, 1)
    assert e.value.trap_code == TrapCode.INDIRECT_CALL_TO_NULL
    with pytest.raises(Trap) as e:
        ex["via"](store, 1, 2)
    assert e.value.trap_code == TrapCode.TABLE_OUT_OF_BOUNDS


def test_memory_growth_and_bounds():
    store, ex, _ = _setup()
    mem = ex["mem"]
    with pytest.raises(Trap) as e:
        ex["poke"](store, 65536, 1)
    assert e.value.trap_code == TrapCode.MEMORY_OUT_OF_BOUNDS
    assert ex["grow"](store, 1) == 1
    ex["poke"](store, 65536, 0x01020304)
    assert bytes(mem.read(store, 65536, 65540)) == bytes([4, 3, 2, 1])
    mem.grow(store, 1)  # grown from Python: the code sees it on the next entry
    ex["poke"](store, 2 * 65536, 7)
    assert ex["grow"](store, 1) == -1


def test_fuel():
    store, ex, _ = _setup(consume_fuel=True)
    store.set_fuel(10_000)
    ex["spin"](store, 100)
    left = store.get_fuel()
    assert 0 < left < 10_000
    with pytest.raises(Trap) as e:
        ex["spin"](store, 1_000_000)
    assert e.value.trap_code == TrapCode.OUT_OF_FUEL
    assert store.get_fuel() == 0


def test_emulated_x86_64_shares_memory_with_the_runtime():
    from engine.exec.compiled import CompiledExecutor
    cfg = Config()
    cfg.strategy = "compiler"
    cfg.emulate = True
    eng = Engine(cfg)
    eng._state.executor = CompiledExecutor(eng._state)
    store = Store(eng)
    f_log = Func(store, FuncType([ValType.i32()], [ValType.i32()]), lambda x: x + 1)
    tab = Table(store, TableType(ValType.funcref(), Limits(2, None)), None)
    ex = Instance(store, Module(eng, WAT), [f_log, tab]).exports(store)
    assert ex["fib"](store, 15) == 610
    assert ex["via"](store, 4, 1) == 5
    mem = ex["mem"]
    assert ex["grow"](store, 1) == 1  # the runtime's buffer moves; the guest mapping follows
    ex["poke"](store, 65536 + 8, 0x0A0B0C0D)
    assert bytes(mem.read(store, 65544, 65548)) == bytes([0x0D, 0x0C, 0x0B, 0x0A])
    mem.write(store, b"\x01\x02\x03\x04", 100)
    with pytest.raises(Trap) as e:
        ex["poke"](store, 3 * 65536, 1)
    assert e.value.trap_code == TrapCode.MEMORY_OUT_OF_BOUNDS


@pytest.mark.parametrize("emulate", [False, True])
def test_epoch_deadline_interrupts_running_code(emulate):
    import threading
    import time
    from engine.exec.compiled import CompiledExecutor
    cfg = Config()
    cfg.strategy = "compiler"
    cfg.emulate = emulate
    cfg.epoch_interruption = True
    eng = Engine(cfg)
    eng._state.executor = CompiledExecutor(eng._state)
    store = Store(eng)
    store.set_epoch_deadline(1)
    inst = Instance(store, Module(eng, """(module (func (export "forever")
        (loop $l (br $l))))"""), [])
    # another thread advances the epoch while the loop runs: the code reads the live counter
    timer = threading.Timer(0.2, eng.increment_epoch)
    timer.start()
    t0 = time.perf_counter()
    with pytest.raises(Trap) as e:
        inst.exports(store)["forever"](store)
    assert e.value.trap_code == TrapCode.INTERRUPT
    assert time.perf_counter() - t0 < 30
    timer.join()


def test_trap_names_the_function_that_trapped():
    store, ex, _ = _setup()
    with pytest.raises(Trap) as e:
        ex["poke"](store, 1 << 20, 1)
    assert e.value.trap_code == TrapCode.MEMORY_OUT_OF_BOUNDS
    # the trapping frame: poke's index, and the offset of its one store
    (frame,) = e.value.frames
    assert frame.func_index == ex["poke"].index and frame.module_offset is not None
