"""Fuel: Config.consume_fuel, store.set_fuel / get_fuel, TrapCode.OUT_OF_FUEL, and the same
fuel consumed by the same program on the interpreter, native x86_64 and every emulated target."""

from __future__ import annotations

import pytest

from engine import Config, Engine, Instance, Module, Store, Trap, TrapCode, WasmError

PROGRAM = """(module
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func (export "sum") (param i32) (result i32) (local i32)
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get 0)))
      (local.set 1 (i32.add (local.get 1) (local.get 0)))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br $l)))
    (local.get 1)))"""

START = 10_000_000


def _runtime_consumed(engine: Engine, name: str, arg: int) -> tuple[int, int]:
    store = Store(engine)
    store.set_fuel(START)
    inst = Instance(store, Module(engine, PROGRAM), [])
    result = inst.exports(store)[name](store, arg)
    return result, START - store.get_fuel()


def _harness_consumed(target: str, name: str, arg: int) -> tuple[int, int]:
    from support.harness import Harness, HarnessSpec
    from engine.ir.builder import build_module
    from engine.wasm.decoder import decode
    from tests.tools import wat_to_wasm
    module = decode(wat_to_wasm(PROGRAM))
    index = next(e.index for e in module.exports if e.name == name)
    h = Harness(build_module(module), HarnessSpec(fuel=START), emulate=True, target=target)
    try:
        result = h.call(index, arg)[0]
        return result, START - h.fuel()
    finally:
        h.close()


@pytest.mark.parametrize("name,arg,expected", [("fib", 15, 610), ("sum", 1000, 500500)])
def test_same_fuel_everywhere(name, arg, expected):
    interp = _runtime_consumed(Engine(Config(strategy="interpreter", consume_fuel=True)),
                               name, arg)
    native_engine = Engine(Config(consume_fuel=True))
    native = _runtime_consumed(native_engine, name, arg)
    assert interp[0] == native[0] == expected
    assert interp[1] > arg           # every iteration / call costs something
    assert native[1] == interp[1]
    for target in ("x86_64", "aarch64", "riscv64"):
        assert _harness_consumed(target, name, arg) == interp, target
        emulated = Engine(Config(target=target, emulate=True, consume_fuel=True))
        assert _runtime_consumed(emulated, name, arg) == interp, target


@pytest.mark.parametrize("strategy", ["interpreter", "compiler"])
def test_out_of_fuel_traps_and_leaves_zero(strategy):
    engine = Engine(Config(strategy=strategy, consume_fuel=True))
    store = Store(engine)
    inst = Instance(store, Module(engine, PROGRAM), [])
    fib = inst.exports(store)["fib"]
    store.set_fuel(100)
    with pytest.raises(Trap) as info:
        fib(store, 25)
    assert info.value.trap_code == TrapCode.OUT_OF_FUEL
    assert store.get_fuel() == 0
    store.set_fuel(START)
    assert fib(store, 10) == 55
    assert 0 < store.get_fuel() < START


def test_fuel_api_errors():
    store = Store(Engine(Config(strategy="interpreter")))
    with pytest.raises(WasmError, match="consume_fuel"):
        store.set_fuel(10)
    with pytest.raises(WasmError, match="consume_fuel"):
        store.get_fuel()
    fuel_store = Store(Engine(Config(strategy="interpreter", consume_fuel=True)))
    assert fuel_store.get_fuel() == 0
    with pytest.raises(WasmError):
        fuel_store.set_fuel(-1)
