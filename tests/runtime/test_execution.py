"""Running wasm through the public API on the interpreter: one test per trap code the interpreter
raises, backtraces, host functions (raising, trapping, re-entering, using the Caller), deep
recursion, multi-value, start functions and instantiation-time traps."""

from __future__ import annotations

import pytest

from engine import (Config, Engine, Func, FuncType, Instance, Linker, Memory, MemoryType, Module,
                    Limits, Store, Trap, TrapCode, ValType, wat2wasm)

I32 = ValType.i32()


@pytest.fixture
def store() -> Store:
    return Store(Engine(Config(strategy="interpreter")))


def instantiate(store: Store, wat: str, imports=()) -> dict:
    inst = Instance(store, Module(store.engine, wat2wasm(wat)), list(imports))
    return inst.exports(store)


TRAPS = """(module
  (type $v (func))
  (type $i (func (param i32)))
  (memory 1)
  (table 3 funcref)
  (elem (i32.const 0) $ok)
  (func $ok)
  (func (export "unreachable") unreachable)
  (func (export "div0") (result i32) (i32.div_u (i32.const 1) (i32.const 0)))
  (func (export "overflow") (result i32) (i32.div_s (i32.const 0x80000000) (i32.const -1)))
  (func (export "conversion") (result i32) (i32.trunc_f32_s (f32.const nan)))
  (func (export "trunc_overflow") (result i64) (i64.trunc_f64_u (f64.const -1)))
  (func (export "oob") (result i32) (i32.load (i32.const 65534)))
  (func (export "table_oob") (call_indirect (type $v) (i32.const 3)))
  (func (export "null") (call_indirect (type $v) (i32.const 1)))
  (func (export "signature") (call_indirect (type $i) (i32.const 7) (i32.const 0)))
  (func $rec (export "recurse") (call $rec))
  (func (export "table_get") (result funcref) (table.get 0 (i32.const 9)))
  (func (export "fill_oob") (memory.fill (i32.const 65535) (i32.const 0) (i32.const 2))))"""


@pytest.mark.parametrize("name, code", [
    ("unreachable", TrapCode.UNREACHABLE),
    ("div0", TrapCode.INTEGER_DIVISION_BY_ZERO),
    ("overflow", TrapCode.INTEGER_OVERFLOW),
    ("conversion", TrapCode.BAD_CONVERSION_TO_INTEGER),
    ("trunc_overflow", TrapCode.INTEGER_OVERFLOW),
    ("oob", TrapCode.MEMORY_OUT_OF_BOUNDS),
    ("table_oob", TrapCode.TABLE_OUT_OF_BOUNDS),
    ("null", TrapCode.INDIRECT_CALL_TO_NULL),
    ("signature", TrapCode.BAD_SIGNATURE),
    ("recurse", TrapCode.STACK_OVERFLOW),
    ("table_get", TrapCode.TABLE_OUT_OF_BOUNDS),
    ("fill_oob", TrapCode.MEMORY_OUT_OF_BOUNDS),
])
def test_trap_codes(store, name, code):
    exports = instantiate(store, TRAPS)
    with pytest.raises(Trap) as info:
        exports[name](store)
    assert info.value.trap_code == code
    assert info.value.message == {TrapCode.STACK_OVERFLOW: "call stack exhausted"}.get(
        code, info.value.message)


def test_stack_overflow_is_not_a_python_recursion_error(store):
    exports = instantiate(store, TRAPS)
    with pytest.raises(Trap) as info:
        exports["recurse"](store)
    assert info.value.message.startswith("call stack exhausted")
    assert not isinstance(info.value.__context__, RecursionError)


def test_deep_but_finite_recursion_works(store):
    exports = instantiate(store, """(module
      (func $sum (export "sum") (param i32) (result i64)
        (if (result i64) (i32.eqz (local.get 0)) (then (i64.const 0))
          (else (i64.add (i64.extend_i32_u (local.get 0))
                         (call $sum (i32.sub (local.get 0) (i32.const 1))))))))""")
    assert exports["sum"](store, 5000) == 5000 * 5001 // 2


def test_backtrace_names_functions_innermost_first(store):
    exports = instantiate(store, """(module
      (func $inner (unreachable))
      (func $middle (call $inner))
      (func (export "outer") (call $middle)))""")
    with pytest.raises(Trap) as info:
        exports["outer"](store)
    # Frame objects, innermost first; names from the name section only ("outer" is an export)
    assert [f.func_name for f in info.value.frames] == ["inner", "middle", None]
    assert [f.func_index for f in info.value.frames] == [0, 1, 2]
    assert "wasm backtrace" in str(info.value)


def test_host_exception_propagates_unchanged(store):
    """As in wasmtime-py: what a host function raises leaves the wasm call as it is."""
    def host(x):
        raise KeyError(x)
    f = Func(store, FuncType([I32], []), host)
    exports = instantiate(store, """(module (import "h" "f" (func $f (param i32)))
      (func (export "run") (call $f (i32.const 42))))""", [f])
    with pytest.raises(KeyError) as info:
        exports["run"](store)
    assert info.value.args == (42,)


def test_host_trap_propagates_as_is(store):
    mine = Trap("host says no")
    def host():
        raise mine
    f = Func(store, FuncType([], []), host)
    exports = instantiate(store, """(module (import "h" "f" (func $f))
      (func (export "run") (call $f)))""", [f])
    with pytest.raises(Trap) as info:
        exports["run"](store)
    assert info.value is mine and info.value.trap_code is None


def test_host_reentry_and_caller(store):
    seen = []
    def host(caller, n):
        seen.append(bytes(caller["mem"].read(store, 0, 4)))
        return caller["double"](store, n) + 1
    f = Func(store, FuncType([I32], [I32]), host, access_caller=True)
    exports = instantiate(store, """(module (import "h" "f" (func $f (param i32) (result i32)))
      (memory (export "mem") 1) (data (i32.const 0) "wasm")
      (func (export "double") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
      (func (export "run") (param i32) (result i32) (call $f (local.get 0))))""", [f])
    assert exports["run"](store, 20) == 41
    assert seen == [b"wasm"]


def test_recursion_through_the_host_is_bounded(store):
    holder = {}
    def host(n):
        return holder["run"](store, n)
    f = Func(store, FuncType([I32], [I32]), host)
    exports = instantiate(store, """(module (import "h" "f" (func $f (param i32) (result i32)))
      (func (export "run") (param i32) (result i32) (call $f (local.get 0))))""", [f])
    holder["run"] = exports["run"]
    with pytest.raises(Trap) as info:
        exports["run"](store, 1)
    assert info.value.trap_code == TrapCode.STACK_OVERFLOW


def test_multi_value_and_types(store):
    exports = instantiate(store, """(module
      (func (export "swap") (param i64 f32) (result f32 i64) (local.get 1) (local.get 0))
      (func (export "neg") (param f64) (result f64) (f64.neg (local.get 0))))""")
    assert exports["swap"](store, -3, 1.5) == [1.5, -3]
    assert exports["neg"](store, 0.0) == -0.0 and str(exports["neg"](store, 0.0)) == "-0.0"


def test_memory_grow_failure_returns_minus_one(store):
    exports = instantiate(store, """(module (memory 1 2)
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))""")
    assert exports["grow"](store, 1) == 1
    assert exports["grow"](store, 1) == -1
    assert exports["grow"](store, 0) == 2


def test_start_function_runs_and_segments_trap_at_instantiation(store):
    exports = instantiate(store, """(module (global $g (export "g") (mut i32) (i32.const 0))
      (func $start (global.set $g (i32.const 7))) (start $start))""")
    assert exports["g"].value(store) == 7
    mem = Memory(store, MemoryType(Limits(1)))
    with pytest.raises(Trap) as info:
        instantiate(store, """(module (import "m" "mem" (memory 1))
          (data (i32.const 0) "ok") (data (i32.const 65535) "too long"))""", [mem])
    assert info.value.trap_code == TrapCode.MEMORY_OUT_OF_BOUNDS
    assert mem.read(store, 0, 2) == bytearray(b"ok")            # earlier segment stays written


def test_calls_across_instances(store):
    linker = Linker(store.engine)
    lib = linker.instantiate(store, Module(store.engine, wat2wasm("""(module
      (global $n (mut i32) (i32.const 0))
      (func (export "bump") (result i32)
        (global.set $n (i32.add (global.get $n) (i32.const 1))) (global.get $n)))""")))
    linker.define_instance(store, "lib", lib)
    user = linker.instantiate(store, Module(store.engine, wat2wasm("""(module
      (import "lib" "bump" (func $bump (result i32)))
      (func (export "twice") (result i32) (drop (call $bump)) (call $bump)))""")))
    assert user.exports(store)["twice"](store) == 2
    assert lib.exports(store)["bump"](store) == 3


SPIN = """(module (func (export "spin") (param i32) (result i32)
  (loop $l (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br_if $l (local.get 0)))
  (local.get 0)))"""


def test_fuel_runs_out_with_out_of_fuel_trap():
    store = Store(Engine(Config(strategy="interpreter", consume_fuel=True)))
    spin = instantiate(store, SPIN)["spin"]
    with pytest.raises(Trap) as info:
        spin(store, 10)                                   # a new store has no fuel
    assert info.value.trap_code == TrapCode.OUT_OF_FUEL
    store.set_fuel(10_000)
    assert spin(store, 10) == 0
    used = 10_000 - store.get_fuel()
    assert used > 10                                      # charged per executed block
    store.set_fuel(10_000)
    with pytest.raises(Trap) as info:
        spin(store, 1_000_000)
    assert info.value.trap_code == TrapCode.OUT_OF_FUEL and store.get_fuel() == 0


def test_epoch_deadline_interrupts_loops():
    eng = Engine(Config(strategy="interpreter", epoch_interruption=True))
    store = Store(eng)
    spin = instantiate(store, SPIN)["spin"]
    store.set_epoch_deadline(1)
    assert spin(store, 1000) == 0
    eng.increment_epoch()                                 # deadline reached
    with pytest.raises(Trap) as info:
        spin(store, 5)
    assert info.value.trap_code == TrapCode.INTERRUPT
    store.set_epoch_deadline(1)
    assert spin(store, 5) == 0


def test_epoch_interrupts_an_endless_loop():
    eng = Engine(Config(strategy="interpreter", epoch_interruption=True))
    store = Store(eng)
    calls = []
    def tick():
        calls.append(1)
        if len(calls) == 50:
            eng.increment_epoch()
    f = Func(store, FuncType([], []), tick)
    exports = instantiate(store, """(module (import "h" "tick" (func $t))
      (func (export "forever") (loop $l (call $t) (br $l))))""", [f])
    store.set_epoch_deadline(1)
    with pytest.raises(Trap) as info:
        exports["forever"](store)
    assert info.value.trap_code == TrapCode.INTERRUPT and len(calls) == 50


def test_fuel_needs_the_config(store):
    from engine import WasmError
    with pytest.raises(WasmError, match="consume_fuel"):
        store.set_fuel(5)
