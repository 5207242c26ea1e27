"""Exception handling on every executor: throw and catch in one function and across frames,
instances and host functions; what reaches Python (ThrownException with the ExnRef); an
exception a host function throws into wasm; payloads of every kind; and the machine state
staying sound after an exception or a trap unwinds through handlers (the catch records)."""

from __future__ import annotations

import pytest

from engine import (Config, Engine, ExnRef, Func, FuncType, Instance, Linker, Module, Store,
                    Tag, TagType, ThrownException, Trap, TrapCode, ValType, WasmError)
from executors import FIVE, settings

SETTINGS = settings(*FIVE, "x86_64-baseline", "x86_64-tiered")
I32, I64, F32, F64 = ValType.i32(), ValType.i64(), ValType.f32(), ValType.f64()

MODULE = """(module
  (import "host" "call" (func $host (param i32) (result i32)))
  (import "host" "tag" (tag $h (param i32)))
  (tag $e (export "e") (param i32 i64 f32 f64))
  (tag $empty (export "empty"))
  (tag $r (param externref funcref))
  (func $throw_e (export "throw_e") (param i32)
    (throw $e (local.get 0) (i64.const -5) (f32.const 1.5) (f64.const -2.25)))
  (func $deep (param i32)
    (if (i32.eqz (local.get 0)) (then (call $throw_e (i32.const 77)) (unreachable)))
    (call $deep (i32.sub (local.get 0) (i32.const 1))))
  ;; the payload of $e through 100 frames without handlers
  (func (export "catch_deep") (result i32 i64 f32 f64)
    (block $b (result i32 i64 f32 f64)
      (try_table (catch $e $b) (call $deep (i32.const 100)))
      (unreachable)))
  ;; first matching clause wins; catch_all after a non-matching tag
  (func (export "clauses") (param i32) (result i32)
    (block $all
      (block $emp
        (block $ee (result i32 i64 f32 f64)
          (try_table (catch $e $ee) (catch $empty $emp) (catch_all $all)
            (if (i32.eq (local.get 0) (i32.const 0)) (then (call $throw_e (i32.const 9))))
            (if (i32.eq (local.get 0) (i32.const 1)) (then (throw $empty)))
            (if (i32.eq (local.get 0) (i32.const 2)) (then (throw $h (i32.const 3))))
            (return (i32.const -1)))
          (unreachable))
        (drop) (drop) (drop) (return))
      (return (i32.const 20)))
    (i32.const 30))
  ;; values live across the protected call survive the unwind (kept in the frame)
  (func (export "live") (param i32 f64) (result f64)
    (local $a i32) (local $b f64)
    (local.set $a (i32.mul (local.get 0) (i32.const 3)))
    (local.set $b (f64.mul (local.get 1) (f64.const 2)))
    (block $b0
      (try_table (catch_all $b0) (call $throw_e (local.get 0))))
    (f64.add (f64.convert_i32_s (local.get $a)) (local.get $b)))
  ;; a host function in the try body: what it raises is caught; its result otherwise
  (func (export "via_host") (param i32) (result i32)
    (block $b (result i32)
      (try_table (catch $h $b) (return (call $host (local.get 0))))
      (unreachable))
    (i32.add (i32.const 1000)))
  ;; rethrow with throw_ref after looking at it
  (func (export "rethrow") (param i32)
    (block $b (result exnref)
      (try_table (catch_all_ref $b) (call $throw_e (local.get 0)))
      (return))
    (throw_ref))
  (func (export "throw_refs") (param externref funcref)
    (throw $r (local.get 0) (local.get 1)))
  ;; a trap inside a try body is not caught, and leaves nothing behind
  (func (export "trap_in_try") (result i32)
    (block $b
      (try_table (catch_all $b) (unreachable)))
    (i32.const 1))
  (func (export "null_rethrow") (throw_ref (ref.null exn)))
)"""

OTHER = """(module
  (import "m" "throw_e" (func $throw_e (param i32)))
  (import "m" "e" (tag $e (param i32 i64 f32 f64)))
  (tag $mine (param i32))
  (func (export "catch_theirs") (param i32) (result i32)
    (block $b (result i32 i64 f32 f64)
      (try_table (catch $e $b) (call $throw_e (local.get 0)))
      (unreachable))
    (drop) (drop) (drop))
  (func (export "not_mine") (param i32) (result i32)
    (block $b (result i32)
      (try_table (catch $mine $b) (call $throw_e (local.get 0)))
      (unreachable))))"""


@pytest.fixture(params=list(SETTINGS))
def setup(request):
    engine = Engine(Config(**SETTINGS[request.param]))
    store = Store(engine)
    htag = Tag(store, TagType(FuncType([I32], [])))
    calls = []

    def host(x):
        calls.append(x)
        if x < 0:
            raise ThrownException(ExnRef(store, htag, [x * 2]))
        if x == 0:
            raise ValueError("plain Python error")
        return x + 1

    linker = Linker(engine)
    linker.define(store, "host", "call", Func(store, FuncType([I32], [I32]), host))
    linker.define(store, "host", "tag", htag)
    inst = linker.instantiate(store, Module(engine, MODULE))
    linker.define_instance(store, "m", inst)
    other = linker.instantiate(store, Module(engine, OTHER))
    return store, inst.exports(store), other.exports(store), htag


def test_catch_through_frames(setup) -> None:
    store, ex, _, _ = setup
    assert ex["catch_deep"](store) == [77, -5, 1.5, -2.25]


def test_clauses_in_order(setup) -> None:
    store, ex, _, _ = setup
    # $e's payload (9 first), $empty's label, catch_all's label, no exception
    assert [ex["clauses"](store, k) for k in (0, 1, 2, 3)] == [9, 20, 30, -1]


def test_values_live_across_the_unwind(setup) -> None:
    store, ex, _, _ = setup
    assert ex["live"](store, 7, 0.25) == 21.5
    assert ex["live"](store, -4, 1e10) == -12 + 2e10


def test_uncaught_reaches_python(setup) -> None:
    store, ex, _, _ = setup
    with pytest.raises(ThrownException) as info:
        ex["throw_e"](store, 42)
    exn = info.value.exn
    assert exn.tag(store).eq(store, ex["e"])
    assert exn.fields(store) == [42, -5, 1.5, -2.25] and exn.field(store, 3) == -2.25
    # the store is sound afterwards: the same call again, and a caught one
    with pytest.raises(ThrownException):
        ex["rethrow"](store, 1)
    assert ex["catch_deep"](store) == [77, -5, 1.5, -2.25]


def test_host_throws_into_wasm(setup) -> None:
    store, ex, _, htag = setup
    assert ex["via_host"](store, 5) == 6
    assert ex["via_host"](store, -21) == 958          # -42 caught, + 1000
    with pytest.raises(ValueError, match="plain Python error"):
        ex["via_host"](store, 0)                       # not an exception of wasm: passes
    assert ex["via_host"](store, -1) == 998


def test_across_instances(setup) -> None:
    store, _, other, _ = setup
    assert other["catch_theirs"](store, 8) == 8
    with pytest.raises(ThrownException) as info:
        other["not_mine"](store, 3)
    assert info.value.exn.fields(store)[0] == 3


def test_reference_payloads(setup) -> None:
    store, ex, _, _ = setup
    obj = object()
    with pytest.raises(ThrownException) as info:
        ex["throw_refs"](store, obj, ex["throw_e"])
    fields = info.value.exn.fields(store)
    assert fields[0] is obj and fields[1] is not None
    with pytest.raises(ThrownException):
        fields[1](store, 1)


def test_traps_are_not_caught(setup) -> None:
    store, ex, _, _ = setup
    for _ in range(3):
        with pytest.raises(Trap) as info:
            ex["trap_in_try"](store)
        assert info.value.trap_code == TrapCode.UNREACHABLE
        # the trap unwound past a linked catch record: later exceptions still find theirs
        assert ex["clauses"](store, 1) == 20
    with pytest.raises(Trap) as info:
        ex["null_rethrow"](store)
    assert info.value.trap_code == TrapCode.NULL_REFERENCE


def test_wrong_store_exception(setup) -> None:
    store, ex, _, _ = setup
    # an ExnRef belongs to its store
    other = Store(store.engine)
    tag = Tag(other, TagType(FuncType([], [])))
    with pytest.raises(WasmError):
        ExnRef(store, tag, [])
    with pytest.raises(WasmError):
        ExnRef(other, tag, [1])


@pytest.mark.parametrize("name", list(SETTINGS))
def test_nested_host_reentry(name) -> None:
    """An exception from wasm called by a host function called by wasm inside a try_table:
    the inner entry raises it in Python, the host function lets it go, the outer wasm catches
    it; a host function that catches it itself returns normally."""
    engine = Engine(Config(**SETTINGS[name]))
    store = Store(engine)
    inner = Instance(store, Module(engine, """(module
      (tag $t (export "t") (param i32))
      (func (export "boom") (param i32) (throw $t (local.get 0))))"""), [])
    boom = inner.exports(store)["boom"]

    def passes(x):
        boom(store, x)

    def swallows(x):
        try:
            boom(store, x)
        except ThrownException as e:
            return e.exn.fields(store)[0] + 1
        return 0

    outer = Instance(store, Module(engine, """(module
      (import "" "t" (tag $t (param i32)))
      (import "" "passes" (func $passes (param i32)))
      (import "" "swallows" (func $swallows (param i32) (result i32)))
      (func (export "run") (param i32) (result i32)
        (block $b (result i32)
          (try_table (catch $t $b)
            (drop (call $swallows (local.get 0)))
            (call $passes (i32.add (local.get 0) (i32.const 1))))
          (i32.const -1))))"""), [
        inner.exports(store)["t"], Func(store, FuncType([I32], []), passes),
        Func(store, FuncType([I32], [I32]), swallows)])
    assert outer.exports(store)["run"](store, 10) == 11


@pytest.mark.parametrize("name", list(SETTINGS))
def test_v128_payload(name) -> None:
    """A v128 in the payload (riscv64 legalises it to two words: the record holds both)."""
    engine = Engine(Config(**SETTINGS[name]))
    store = Store(engine)
    ex = Instance(store, Module(engine, """(module (tag $v (param v128 i32))
      (func $t (param i32) (throw $v (v128.const i64x2 0x1122334455667788 -1) (local.get 0)))
      (func (export "f") (param i32) (result i64 i64 i32)
        (local $x v128)
        (block $b (result v128 i32)
          (try_table (catch $v $b) (call $t (local.get 0))) (unreachable))
        (local.set 0) (local.set $x)
        (i64x2.extract_lane 0 (local.get $x)) (i64x2.extract_lane 1 (local.get $x))
        (local.get 0))
      (func (export "g") (param i32) (call $t (local.get 0))))"""), []).exports(store)
    assert ex["f"](store, 5) == [0x1122334455667788, -1, 5]
    with pytest.raises(ThrownException) as info:
        ex["g"](store, 9)
    assert info.value.exn.fields(store) == [(2 ** 64 - 1) << 64 | 0x1122334455667788, 9]


@pytest.mark.parametrize("name", list(SETTINGS))
def test_a_tail_call_leaves_the_handler(name) -> None:
    """return_call inside a try_table replaces the frame: the callee's exception is not
    caught by the handler it was written in, but by the caller's."""
    engine = Engine(Config(**SETTINGS[name]))
    store = Store(engine)
    ex = Instance(store, Module(engine, """(module (tag $t (param i32))
      (func $boom (param i32) (result i32) (throw $t (local.get 0)))
      (func $tail (param i32) (result i32)
        (block $h (result i32)
          (try_table (result i32) (catch $t $h) (return_call $boom (local.get 0))))
        (i32.add (i32.const 100)))
      (func (export "outer") (param i32) (result i32)
        (block $h (result i32)
          (try_table (result i32) (catch $t $h) (call $tail (local.get 0))))
        (i32.add (i32.const 1000)))
      (func (export "bare") (param i32) (result i32) (call $tail (local.get 0))))"""),
                  []).exports(store)
    assert ex["outer"](store, 5) == 1005
    with pytest.raises(ThrownException):
        ex["bare"](store, 5)


@pytest.mark.parametrize("name", list(SETTINGS))
def test_a_host_throwing_something_else_is_a_clear_error(name) -> None:
    """ThrownException must carry an ExnRef of the calling store; anything else is a
    WasmError naming it, never a crash or an exception wasm could catch."""
    engine = Engine(Config(**SETTINGS[name]))
    store, other = Store(engine), Store(engine)
    foreign = ExnRef(other, Tag(other, TagType(FuncType([], []))), [])
    thrown = [ThrownException("not an exception object"), ThrownException(foreign)]

    def host():
        raise thrown.pop(0)
    ex = Instance(store, Module(engine, """(module (import "" "h" (func $h))
      (func (export "run") (result i32)
        (block $b (try_table (catch_all $b) (call $h)) (return (i32.const 0)))
        (i32.const 1)))"""), [Func(store, FuncType([], []), host)]).exports(store)
    for _ in range(2):
        with pytest.raises(WasmError, match="not an ExnRef of this Store") as info:
            ex["run"](store)
        assert not isinstance(info.value, ThrownException)
