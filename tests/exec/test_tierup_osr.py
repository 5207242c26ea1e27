"""On-stack replacement under tiered compilation (engine.exec.lazy, engine.ir.osr): an
activation hot in a loop of its counted baseline code moves, at that loop's header, to the
optimised tier's entry for the loop, and finishes there with what the interpreter computes:
locals of every type, many of them (stack arguments), nested loops and arms, several results,
traps after the move, natively and under Unicorn. Each loop calls the host, which waits for
the background compiler once the entry is queued, so the move happens in every run."""

from __future__ import annotations

import pytest

from engine import (Config, Engine, Func, FuncType, Instance, Module, Store, Trap, TrapCode,
                    ValType)
from engine.exec.native import native_supported

CONFIGS = [
    pytest.param({}, id="native", marks=pytest.mark.skipif(not native_supported(),
                                                           reason="native x86_64 only")),
    pytest.param({"target": "x86_64", "emulate": True}, id="x86_64-emulated"),
]

#: every loop calls $tick with its counter; iteration 200 waits for the entry's compile
PROGRAM = """(module
  (import "host" "tick" (func $tick (param i32)))
  (table 2 funcref)
  (elem (i32.const 0) $id $sq)
  (func $id (param i32) (result i32) (local.get 0))
  (func $sq (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))

  ;; all kinds of locals live through the loop; three results
  (func (export "mixed") (param $n i32) (param $x f64) (param $r externref)
        (result i32 f64 externref)
    (local $i i32) (local $acc i64) (local $f f32) (local $g funcref) (local $y f64)
    (local.set $g (ref.func $sq))
    (local.set $f (f32.const 1.5))
    (block $out (loop $l
      (call $tick (local.get $i))
      (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u
        (call_indirect (param i32) (result i32) (local.get $i)
                       (i32.and (local.get $i) (i32.const 1))))))
      (local.set $y (f64.add (local.get $y) (f64.mul (local.get $x) (f64.const 0.5))))
      (local.set $f (f32.mul (local.get $f) (f32.const 1.0001)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (i32.wrap_i64 (i64.add (local.get $acc) (i64.trunc_f32_s (local.get $f))))
    (local.get $y)
    (local.get $r))

  ;; twenty i64 locals: arguments beyond the registers
  (func (export "many") (param $n i32) (result i64)
    (local $i i32)
    (local $a0 i64) (local $a1 i64) (local $a2 i64) (local $a3 i64) (local $a4 i64)
    (local $a5 i64) (local $a6 i64) (local $a7 i64) (local $a8 i64) (local $a9 i64)
    (local $b0 f64) (local $b1 f64) (local $b2 f64) (local $b3 f64) (local $b4 f64)
    (local $b5 f64) (local $b6 f64) (local $b7 f64) (local $b8 f64) (local $b9 f64)
    (local.set $a0 (i64.const 1)) (local.set $a9 (i64.const 9)) (local.set $b9 (f64.const 2))
    (loop $l
      (call $tick (local.get $i))
      (local.set $a1 (i64.add (local.get $a0) (local.get $a1)))
      (local.set $a2 (i64.add (local.get $a1) (local.get $a2)))
      (local.set $a3 (i64.xor (local.get $a2) (local.get $a3)))
      (local.set $a4 (i64.add (local.get $a3) (i64.const 3)))
      (local.set $a5 (i64.rotl (local.get $a4) (local.get $a5)))
      (local.set $a6 (i64.add (local.get $a5) (local.get $a6)))
      (local.set $a7 (i64.sub (local.get $a6) (local.get $a7)))
      (local.set $a8 (i64.add (local.get $a7) (local.get $a9)))
      (local.set $b0 (f64.add (local.get $b0) (f64.convert_i64_s (local.get $a8))))
      (local.set $b5 (f64.add (local.get $b5) (local.get $b9)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (i64.add (i64.add (local.get $a8) (local.get $a3))
             (i64.add (i64.trunc_f64_s (f64.div (local.get $b0) (f64.const 1e6)))
                      (i64.trunc_f64_s (local.get $b5)))))

  ;; the hot loop is the inner one, in the else arm of an if in an outer loop
  (func (export "nested") (param $rows i32) (result i64)
    (local $r i32) (local $c i32) (local $acc i64)
    (local.set $acc (i64.const 7))
    (block $done
      (loop $outer
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        (if (i32.eqz (i32.and (local.get $r) (i32.const 1)))
          (then (local.set $acc (i64.mul (local.get $acc) (i64.const 3))))
          (else
            (local.set $c (i32.const 0))
            (loop $inner
              (call $tick (local.get $c))
              (block $b1 (block $b0
                (br_table $b0 $b1 (i32.and (local.get $c) (i32.const 1))))
                (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (local.get $c))))
                (br $b1))
              (local.set $acc (i64.rotl (local.get $acc) (i64.const 1)))
              (local.set $c (i32.add (local.get $c) (i32.const 1)))
              (br_if $inner (i32.lt_u (local.get $c) (i32.mul (local.get $r) (i32.const 50)))))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $outer)))
    (local.get $acc))

  ;; a loop with a value under it (no entry: the operand stack is not empty) around a
  ;; loop that can move
  (func (export "stacked") (param $n i32) (result i32) (local $i i32) (local $j i32)
    (local $k i32)
    (i32.const 1000)
    (loop $l (result i32)
      (call $tick (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (local.get $i)
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.set $k (i32.add))
    (loop $m
      (call $tick (i32.div_u (local.get $j) (i32.const 3)))
      (local.set $j (i32.add (local.get $j) (i32.const 3)))
      (br_if $m (i32.lt_u (local.get $j) (local.get $n))))
    (i32.add (local.get $k) (local.get $j)))

  ;; divides by zero at iteration $n, long after the move
  (func (export "trap") (param $n i32) (result i32) (local $i i32) (local $s i32)
    (loop $l
      (call $tick (local.get $i))
      (local.set $s (i32.add (local.get $s)
                             (i32.div_u (i32.const 1000) (i32.sub (local.get $n) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l))
    (local.get $s)))"""


def _instance(settings: dict, wat: str = PROGRAM, at: dict | None = None):
    """(store, exports, LazyCode) of `wat` instantiated with `settings`; its $tick waits for
    the background compiler at iteration 200 and calls `at[i]()` at iteration i."""
    engine = Engine(Config(**settings))
    store = Store(engine)
    module = Module(engine, wat)
    state = {}

    def tick(i: int) -> None:
        lazy = state.get("lazy")
        if lazy is not None and i == 200:
            assert lazy.wait_tier_ups(60)
        if at and i in at:
            at[i]()
    func = Func(store, FuncType([ValType.i32()], []), tick)
    inst = Instance(store, module, [func])
    unit = inst.exec_state.unit if inst.exec_state is not None else None
    state["lazy"] = getattr(unit, "lazy", None)
    return store, inst.exports(store), state["lazy"]


def _both(cfg: dict, name: str, *args):
    """(tiered result, interpreter result, the tiered LazyCode) of export `name`."""
    store, ex, lazy = _instance({"tiered_compilation": True, "tier_up_threshold": 1, **cfg})
    ref_store, ref_ex, _ = _instance({"strategy": "interpreter"})
    return ex[name](store, *args), ref_ex[name](ref_store, *args), lazy


def _moved(lazy, before: int = 0) -> bool:
    return lazy.osr_moves > before and lazy.osr_entries()


@pytest.mark.parametrize("cfg", CONFIGS)
def test_locals_of_every_type_and_several_results_survive_the_move(cfg) -> None:
    marker = object()
    got, want, lazy = _both(cfg, "mixed", 3000, 2.25, marker)
    assert got[0] == want[0] and got[1] == want[1] and got[2] is marker is want[2]
    assert _moved(lazy)


@pytest.mark.parametrize("cfg", CONFIGS)
def test_many_locals_move_as_stack_arguments(cfg) -> None:
    got, want, lazy = _both(cfg, "many", 2000)
    assert got == want and _moved(lazy)


@pytest.mark.parametrize("cfg", CONFIGS)
def test_an_inner_loop_in_an_else_arm_moves_and_the_outer_loop_goes_on(cfg) -> None:
    got, want, lazy = _both(cfg, "nested", 12)
    assert got == want and _moved(lazy)
    assert {loop for (_, loop) in lazy.osr_entries()}      # the inner loop's entry


@pytest.mark.parametrize("cfg", CONFIGS)
def test_a_loop_over_a_value_does_not_move_and_one_after_it_does(cfg) -> None:
    got, want, lazy = _both(cfg, "stacked", 3000)
    assert got == want and _moved(lazy)
    assert len(lazy.osr_entries()) == 1


@pytest.mark.parametrize("cfg", CONFIGS)
def test_a_trap_after_the_move_is_the_same_trap(cfg) -> None:
    store, ex, lazy = _instance({"tiered_compilation": True, "tier_up_threshold": 1, **cfg})
    with pytest.raises(Trap) as info:
        ex["trap"](store, 5000)
    assert info.value.trap_code is TrapCode.INTEGER_DIVISION_BY_ZERO and _moved(lazy)
    # one frame for the function, as before the move (the moved activation is not another)
    assert [f.func_index for f in info.value.frames] == [7]
    assert ex["mixed"](store, 10, 1.0, None)[1] == 5.0       # the store still works


THROWING = """(module
  (import "host" "tick" (func $tick (param i32)))
  (tag $e (param i32))
  (func $thrower (param i32)
    (if (i32.eq (local.get 0) (i32.const 5000)) (then (throw $e (local.get 0)))))
  (func $looper (export "looper") (param $n i32) (result i32) (local $i i32) (local $s i32)
    (loop $l
      (call $tick (local.get $i))
      (call $thrower (local.get $i))
      (local.set $s (i32.add (local.get $s) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $s))
  (func (export "catcher") (param $n i32) (result i32)
    (block $h (result i32)
      (return (try_table (result i32) (catch $e $h) (call $looper (local.get $n)))))
    (i32.const 1000000) (i32.add)))"""


@pytest.mark.parametrize("cfg", CONFIGS)
def test_an_exception_thrown_after_the_move_reaches_its_handler(cfg) -> None:
    store, ex, lazy = _instance({"tiered_compilation": True, "tier_up_threshold": 1, **cfg},
                                THROWING)
    assert ex["catcher"](store, 10_000) == 1_005_000
    assert _moved(lazy)
    assert ex["catcher"](store, 100) == sum(range(100))        # no throw: the sum


@pytest.mark.parametrize("cfg", CONFIGS)
def test_an_epoch_deadline_interrupts_a_moved_activation(cfg) -> None:
    holder: dict = {}
    at = {300: lambda: holder["engine"].increment_epoch()}
    store, ex, lazy = _instance({"tiered_compilation": True, "tier_up_threshold": 1,
                                 "epoch_interruption": True, **cfg}, PROGRAM, at)
    holder["engine"] = store.engine
    store.set_epoch_deadline(1)
    with pytest.raises(Trap) as info:
        ex["trap"](store, 1 << 30)          # (divides by zero only at 2**30)
    assert info.value.trap_code is TrapCode.INTERRUPT and _moved(lazy)


def test_an_error_in_the_tier_up_helper_is_raised_from_the_call_not_a_crash(tmp_path):
    """TIER_UP returns a code address to counted code: what it raises (a bug, Ctrl-C) must
    not become one. Run in a subprocess: a crash there fails this test, not the run."""
    import subprocess
    import sys
    script = tmp_path / "boom.py"
    script.write_text(f"""
from engine import Config, Engine, Instance, Module, Store
engine = Engine(Config(tiered_compilation=True, tier_up_threshold=1))
store = Store(engine)
inst = Instance(store, Module(engine, {SUM_LOOP!r}), [])
lazy = inst.exec_state.unit.lazy
def boom(*args):
    raise KeyboardInterrupt("from the helper")
lazy.hot = boom
try:
    inst.exports(store)["sum"](store, 100000)
except KeyboardInterrupt as e:
    print("raised", e)
del lazy.hot                          # the helper works again: so does the store
print(inst.exports(store)["sum"](store, 10))
""")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == ["raised from the helper", "45"]


SUM_LOOP = """(module (func (export "sum") (param $n i32) (result i32) (local $i i32) (local $s i32)
  (loop $l
    (local.set $s (i32.add (local.get $s) (local.get $i)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
  (local.get $s)))"""
