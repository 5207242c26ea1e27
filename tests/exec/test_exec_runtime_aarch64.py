"""The runtime's machine-code executor (engine.exec.compiled.CompiledExecutor) driving aarch64
code under Unicorn through the public API: host imports, recursion, call_indirect with its
traps, globals, memory stores and growth. (The executor is attached directly until
engine.runtime.executor.executor_for selects it for strategy="compiler".)"""

from __future__ import annotations

import pytest

from engine import (Config, Engine, Func, FuncType, Instance, Module, Store, Trap, TrapCode,
                    ValType)
from engine.exec.compiled import CompiledExecutor

WAT = """(module
  (import "h" "add1" (func $add1 (param i32) (result i32)))
  (memory (export "mem") 1 3)
  (global $g (mut i64) (i64.const 5))
  (table 2 funcref) (elem (i32.const 0) $fib $twice)
  (type $t (func (param i32) (result i32)))
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func $twice (export "twice") (param i32) (result i32)
    (call $add1 (call $add1 (local.get 0))))
  (func (export "ind") (param i32 i32) (result i32)
    (call_indirect (type $t) (local.get 0) (local.get 1)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "st") (param i32 i64) (i64.store (local.get 0) (local.get 1))
    (global.set $g (i64.add (global.get $g) (local.get 1))))
  (func (export "g") (result i64) (global.get $g)))"""


@pytest.fixture
def exports():
    config = Config()
    config.strategy = "compiler"
    config.target = "aarch64"
    engine = Engine(config)
    engine._state.executor = CompiledExecutor(engine._state)
    assert engine._state.executor.emulate
    store = Store(engine)
    add1 = Func(store, FuncType([ValType.i32()], [ValType.i32()]), lambda x: x + 1)
    instance = Instance(store, Module(engine, WAT), [add1])
    return store, instance.exports(store)


def test_runtime_runs_aarch64_code(exports):
    store, ex = exports
    assert ex["fib"](store, 15) == 610
    assert ex["twice"](store, 5) == 7
    assert ex["ind"](store, 10, 0) == 55
    assert ex["ind"](store, 10, 1) == 12
    ex["st"](store, 8, 77)
    assert ex["g"](store) == 82
    assert ex["mem"].read(store, 8, 9) == bytes([77])
    assert ex["grow"](store, 1) == 1
    assert ex["grow"](store, 5) == -1
    with pytest.raises(Trap) as e:
        ex["ind"](store, 1, 5)
    assert e.value.trap_code == TrapCode.TABLE_OUT_OF_BOUNDS


def test_exit_stubs_for_undeclared_signatures():
    from backends.aarch64 import AArch64Backend
    code = AArch64Backend().compile_trampolines(exit_sigs=[((ValType.F64, ValType.I32), ())])
    assert set(code.symbols) == {"__trap", "exit_f64_i32__"}
    assert len(code.code) % 4 == 0 and code.symbols["exit_f64_i32__"] < len(code.code)


def test_host_function_reentering_wasm():
    config = Config()
    config.strategy = "compiler"
    config.target = "aarch64"
    engine = Engine(config)
    engine._state.executor = CompiledExecutor(engine._state)
    store = Store(engine)
    box = {}
    # add1(x) = fib(x) + 1 runs wasm again from inside the host call (nested emulation)
    add1 = Func(store, FuncType([ValType.i32()], [ValType.i32()]),
                lambda x: box["ex"]["fib"](store, x) + 1)
    box["ex"] = ex = Instance(store, Module(engine, WAT), [add1]).exports(store)


    def fib(n: int) -> int:
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    for x in (5, 6, 7):
        assert ex["twice"](store, x) == fib(fib(x) + 1) + 1
