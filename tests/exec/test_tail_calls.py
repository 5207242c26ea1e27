"""Tail calls (return_call, return_call_indirect) on every executor: frames are replaced, so
unbounded mutual tail recursion runs in constant stack, with arguments in registers and on the
stack; tail calls to host functions, to another instance's functions and from the entry of a
host call give the same results as ordinary calls; a C interpreter built with clang
-mtail-call runs as under wasmtime."""

from __future__ import annotations

from pathlib import Path

import pytest
import wasmtime

from engine import (Config, Engine, Func, FuncType, Instance, Linker, Module, Store, Trap,
                    TrapCode, ValType)
from executors import FIVE, settings

SETTINGS = settings(*FIVE)
I64 = ValType.i64()


@pytest.fixture(params=list(SETTINGS))
def engine(request) -> Engine:
    return Engine(Config(**SETTINGS[request.param]))


def exports(engine: Engine, wat: str, imports=(), store: Store | None = None):
    store = store or Store(engine)
    return store, Instance(store, Module(engine, wat), list(imports)).exports(store)


def _params(n: int) -> str:
    return " ".join(["i64"] * n)


def _gets(n: int) -> str:
    return " ".join(f"(local.get {k})" for k in range(1, n))


# Mutual recursion even/odd with 12 i64 parameters: more than any target passes in
# registers, so some travel on the stack, whose slots the tail call reuses. The depth is far
# beyond what the stack (or the interpreter's frame limit) allows for ordinary calls.
MUTUAL = f"""(module
  (func $even (export "even") (param {_params(12)}) (result i64)
    (if (result i64) (i64.eqz (local.get 0))
      (then (i64.add (local.get 11) (local.get 1)))
      (else (return_call $odd (i64.sub (local.get 0) (i64.const 1)) {_gets(12)}))))
  (func $odd (param {_params(12)}) (result i64)
    (if (result i64) (i64.eqz (local.get 0))
      (then (i64.sub (local.get 11) (local.get 1)))
      (else (return_call $even (i64.sub (local.get 0) (i64.const 1)) {_gets(12)})))))"""

DEPTH = 200_000


def test_mutual_tail_recursion_with_stack_arguments_runs_in_constant_stack(engine):
    store, ex = exports(engine, MUTUAL)
    args = [0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 100]
    assert ex["even"](store, DEPTH, *args[1:]) == 107
    assert ex["even"](store, DEPTH + 1, *args[1:]) == 93


def test_the_same_recursion_as_ordinary_calls_exhausts_the_stack(engine):
    store, ex = exports(engine, MUTUAL.replace("return_call", "call"))
    with pytest.raises(Trap) as info:
        ex["even"](store, DEPTH, *[1] * 11)
    assert info.value.trap_code == TrapCode.STACK_OVERFLOW


INDIRECT = """(module
  (type $t (func (param i64 i64) (result i64)))
  (table funcref (elem $count $count))
  (func $count (export "count") (param i64 i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0))
      (then (local.get 1))
      (else (return_call_indirect (type $t)
              (i64.sub (local.get 0) (i64.const 1)) (i64.add (local.get 1) (i64.const 2))
              (i32.wrap_i64 (i64.and (local.get 0) (i64.const 1))))))))"""


def test_indirect_tail_recursion_runs_in_constant_stack(engine):
    store, ex = exports(engine, INDIRECT)
    assert ex["count"](store, DEPTH, 5) == 5 + 2 * DEPTH


def test_tail_call_to_a_host_function_and_its_trap(engine):
    seen = []

    def host(a, b):
        seen.append((a, b))
        if a < 0:
            raise Trap("host says no")
        return a * 1000 + b
    store = Store(engine)
    f = Func(store, FuncType([I64, I64], [I64]), host)
    _, ex = exports(engine, """(module
      (import "" "h" (func $h (param i64 i64) (result i64)))
      (func (export "f") (param i64) (result i64)
        (return_call $h (local.get 0) (i64.const 7))))""", [f], store)
    assert ex["f"](store, 3) == 3007
    with pytest.raises(Trap):
        ex["f"](store, -1)
    assert seen == [(3, 7), (-1, 7)]


def test_tail_call_into_another_instance(engine):
    store = Store(engine)
    linker = Linker(engine)
    _, lib = exports(engine, """(module
      (func $dec (export "dec") (param i64 i64) (result i64)
        (if (result i64) (i64.eqz (local.get 0)) (then (local.get 1))
          (else (return_call $dec (i64.sub (local.get 0) (i64.const 1))
                                  (i64.add (local.get 1) (i64.const 3))))))
      (table (export "t") funcref (elem $dec)))""", store=store)
    linker.define(store, "lib", "dec", lib["dec"])
    linker.define(store, "lib", "t", lib["t"])
    module = Module(engine, """(module
      (import "lib" "dec" (func $dec (param i64 i64) (result i64)))
      (import "lib" "t" (table 1 funcref))
      (type $t (func (param i64 i64) (result i64)))
      (func (export "direct") (param i64) (result i64)
        (return_call $dec (local.get 0) (i64.const 1)))
      (func (export "indirect") (param i64) (result i64)
        (return_call_indirect (type $t) (local.get 0) (i64.const 2) (i32.const 0))))""")
    ex = linker.instantiate(store, module).exports(store)
    assert ex["direct"](store, 1000) == 3001
    assert ex["indirect"](store, 1000) == 3002


def test_tail_call_keeps_traps_and_signature_checks(engine):
    store, ex = exports(engine, """(module
      (type $v (func (result i64)))
      (type $i (func (param i64) (result i64)))
      (table funcref (elem $boom $one))
      (func $boom (result i64) (unreachable))
      (func $one (param i64) (result i64) (local.get 0))
      (func (export "boom") (result i64) (return_call $boom))
      (func (export "null") (result i64) (return_call_indirect (type $v) (i32.const 2)))
      (func (export "sig") (result i64) (return_call_indirect (type $v) (i32.const 1)))
      (func (export "ok") (result i64)
        (return_call_indirect (type $i) (i64.const 42) (i32.const 1))))""")
    assert ex["ok"](store) == 42
    for name, code in (("boom", TrapCode.UNREACHABLE), ("null", TrapCode.TABLE_OUT_OF_BOUNDS),
                       ("sig", TrapCode.BAD_SIGNATURE)):
        with pytest.raises(Trap) as info:
            ex[name](store)
        assert info.value.trap_code == code, name


def test_tail_call_with_more_stack_arguments_than_the_caller_has(engine):
    # the callee needs stack slots the caller's frame was not given: an ordinary call then
    store, ex = exports(engine, f"""(module
      (func $wide (param {_params(20)}) (result i64)
        (i64.add (local.get 0) (local.get 19)))
      (func (export "narrow") (param i64) (result i64)
        (return_call $wide {" ".join("(local.get 0)" for _ in range(19))} (i64.const 5))))""")
    assert ex["narrow"](store, 11) == 16


def test_tail_calls_are_refused_when_disabled():
    from engine import WasmError
    with pytest.raises(WasmError, match="tail call"):
        Module(Engine(Config(wasm_tail_call=False)), "(module (func $f (return_call $f)))")


VM = Path(__file__).resolve().parent.parent / "data" / "tailcall" / "vm.wasm"


def test_a_tail_calling_c_interpreter_runs_as_under_wasmtime(engine):
    wasm = VM.read_bytes()
    n = 100_000                 # 300,000 tail calls between the interpreter's handlers
    wstore = wasmtime.Store()
    expected = wasmtime.Instance(wstore, wasmtime.Module(wstore.engine, wasm), []).exports(
        wstore)["run"](wstore, n)
    store, ex = exports(engine, wasm)
    assert ex["run"](store, n) == expected
    assert ex["run"](store, 3) == wasmtime.Instance(
        wstore, wasmtime.Module(wstore.engine, wasm), []).exports(wstore)["run"](wstore, 3)


PING = """(module
  (type $t (func (param i64) (result i64)))
  (table (export "t") 1 funcref)
  (global $g (mut i64) (i64.const 40))
  (memory 1)
  (data (i32.const 8) "\\02")
  (func $ping (export "ping") (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0))
      (then (global.get $g))
      (else (return_call_indirect (type $t) (i64.sub (local.get 0) (i64.const 1))
                                  (i32.const 0)))))
  (func (export "around") (param i64) (result i64)
    ;; a direct call whose callee leaves for the other instance by tail calls: this
    ;; function's own global and memory are still its own afterwards
    (i64.add (call $ping (local.get 0))
             (i64.add (global.get $g) (i64.load8_u (i32.const 8))))))"""

PONG = """(module
  (import "a" "ping" (func $ping (param i64) (result i64)))
  (import "a" "t" (table 1 funcref))
  (global $g (mut i64) (i64.const 1000))
  (memory 1)
  (data (i32.const 8) "\\09")
  (elem (i32.const 0) $pong)
  (func $pong (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0))
      (then (i64.add (global.get $g) (i64.load8_u (i32.const 8))))
      (else (return_call $ping (i64.sub (local.get 0) (i64.const 1)))))))"""


def test_mutual_tail_recursion_between_instances_runs_in_constant_stack(engine):
    # ping (instance a) and pong (instance b) tail-call each other through an import and a
    # table: each call changes the instance, yet no frame stays behind
    store, linker = Store(engine), Linker(engine)
    a = Instance(store, Module(engine, PING), [])
    linker.define_instance(store, "a", a)
    linker.instantiate(store, Module(engine, PONG))
    ex = a.exports(store)
    assert ex["ping"](store, DEPTH) == 40            # even: ends in ping
    assert ex["ping"](store, DEPTH + 1) == 1009      # odd: ends in pong, b's global and memory
    assert ex["around"](store, DEPTH + 1) == 1009 + 40 + 2
    assert ex["around"](store, 6) == 40 + 40 + 2
