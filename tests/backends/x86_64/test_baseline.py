"""The x86_64 baseline tier (backends/x86_64/baseline/compiler.py) on the operations that are
easy to get wrong, natively: trapping and saturating numerics, float edge cases, control flow
with values, calls across the two tiers in both directions (stack arguments and results),
call_indirect, bulk memory, memory.grow, epoch interruption, stack exhaustion, traps naming
their function, and what it refuses (compiled by the optimising tier instead)."""

from __future__ import annotations

import math

import pytest

import engine as E
from engine.exec.lazy import lazy_code

pytestmark = pytest.mark.skipif(E.config.host_target() != "x86_64",
                                reason="native x86_64 code")


def _instance(wat: str, **config):
    cfg = E.Config(baseline_compilation=True, **config)
    eng = E.Engine(cfg)
    store = E.Store(eng)
    module = E.Module(eng, wat)
    inst = E.Instance(store, module, [])
    return store, module, inst.exports(store)


NUMERIC = """(module
  (func (export "div_s") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "rem_s") (param i32 i32) (result i32) (i32.rem_s (local.get 0) (local.get 1)))
  (func (export "div_u") (param i32 i32) (result i32) (i32.div_u (local.get 0) (local.get 1)))
  (func (export "rem_u64") (param i64 i64) (result i64) (i64.rem_u (local.get 0) (local.get 1)))
  (func (export "div_s64") (param i64 i64) (result i64) (i64.div_s (local.get 0) (local.get 1)))
  (func (export "rem_s64") (param i64 i64) (result i64) (i64.rem_s (local.get 0) (local.get 1)))
  (func (export "trunc_u32") (param f64) (result i32) (i32.trunc_f64_u (local.get 0)))
  (func (export "trunc_s32") (param f32) (result i32) (i32.trunc_f32_s (local.get 0)))
  (func (export "trunc_u64") (param f64) (result i64) (i64.trunc_f64_u (local.get 0)))
  (func (export "sat_u64") (param f32) (result i64) (i64.trunc_sat_f32_u (local.get 0)))
  (func (export "sat_s32") (param f64) (result i32) (i32.trunc_sat_f64_s (local.get 0)))
  (func (export "sat_u32") (param f64) (result i32) (i32.trunc_sat_f64_u (local.get 0)))
  (func (export "cvt_u64") (param i64) (result f32) (f32.convert_i64_u (local.get 0)))
  (func (export "cvt_u32") (param i32) (result f64) (f64.convert_i32_u (local.get 0)))
  (func (export "min") (param f64 f64) (result f64) (f64.min (local.get 0) (local.get 1)))
  (func (export "max32") (param f32 f32) (result f32) (f32.max (local.get 0) (local.get 1)))
  (func (export "nearest") (param f64) (result f64) (f64.nearest (local.get 0)))
  (func (export "copysign") (param f32 f32) (result f32) (f32.copysign (local.get 0) (local.get 1)))
  (func (export "neg64") (param f64) (result f64) (f64.neg (local.get 0)))
  (func (export "lt") (param f64 f64) (result i32) (f64.lt (local.get 0) (local.get 1)))
  (func (export "ne") (param f32 f32) (result i32) (f32.ne (local.get 0) (local.get 1)))
  (func (export "clz64") (param i64) (result i64) (i64.clz (local.get 0)))
  (func (export "rotr") (param i32 i32) (result i32) (i32.rotr (local.get 0) (local.get 1)))
  (func (export "bits") (param f32) (result i64)
    (i64.extend_i32_u (i32.reinterpret_f32 (local.get 0))))
  (func (export "const") (result i64) (i64.add (i64.extend_i32_u (i32.const -1))
                                               (i64.const 0x123456789)))
)"""


@pytest.fixture(scope="module")
def numeric():
    store, module, ex = _instance(NUMERIC)
    return lambda name, *args: ex[name](store, *args)


@pytest.mark.parametrize("name,args,expect", [
    ("div_s", (-7, 2), -3), ("rem_s", (-7, 2), -1), ("rem_s", (-(1 << 31), -1), 0),
    ("div_u", (-1, 2), 0x7FFFFFFF), ("rem_u64", (-1, 10), (2**64 - 1) % 10),
    ("div_s64", (-(1 << 63), 1), -(1 << 63)), ("rem_s64", (-(1 << 63), -1), 0),
    ("trunc_u32", (4294967295.9,), -1), ("trunc_s32", (-2147483648.0,), -(1 << 31)),
    ("trunc_u64", (2.0 ** 63,), -(1 << 63)), ("trunc_u64", (-0.9,), 0),
    ("sat_u64", (-5.0,), 0), ("sat_u64", (float("inf"),), -1), ("sat_u64", (float("nan"),), 0),
    ("sat_u64", (2.0 ** 63,), -(1 << 63)),
    ("sat_s32", (1e10,), 2**31 - 1), ("sat_s32", (-1e10,), -(2**31)), ("sat_s32", (math.nan,), 0),
    ("sat_u32", (1e10,), -1), ("sat_u32", (-1.0,), 0), ("sat_u32", (3e9,), 3000000000 - 2**32),
    ("cvt_u64", (-1,), 2.0 ** 64), ("cvt_u64", (0x7FFFFFFFFFFFFFFF,), 2.0 ** 63),
    ("cvt_u32", (-1,), 4294967295.0),
    ("max32", (-0.0, 0.0), 0.0), ("nearest", (2.5,), 2.0), ("nearest", (-3.5,), -4.0),
    ("copysign", (1.5, -0.0), -1.5), ("neg64", (0.0,), -0.0),
    ("lt", (math.nan, 1.0), 0), ("lt", (1.0, 2.0), 1), ("ne", (math.nan, math.nan), 1),
    ("clz64", (1,), 63), ("rotr", (1, 1), -(1 << 31)),
    ("bits", (-0.0,), 0x80000000), ("const", (), 0xFFFFFFFF + 0x123456789),
])
def test_numeric(numeric, name, args, expect):
    got = numeric(name, *args)
    assert got == expect and math.copysign(1, got) == math.copysign(1, expect) \
        if isinstance(expect, float) else got == expect


def test_min_of_zeros_and_nan(numeric):
    assert math.copysign(1, numeric("min", 0.0, -0.0)) == -1
    assert math.isnan(numeric("min", math.nan, 1.0))
    assert math.isnan(numeric("max32", 1.0, math.nan))


@pytest.mark.parametrize("name,args,code", [
    ("div_s", (1, 0), E.TrapCode.INTEGER_DIVISION_BY_ZERO),
    ("div_s", (-(1 << 31), -1), E.TrapCode.INTEGER_OVERFLOW),
    ("div_s64", (-(1 << 63), -1), E.TrapCode.INTEGER_OVERFLOW),
    ("rem_u64", (1, 0), E.TrapCode.INTEGER_DIVISION_BY_ZERO),
    ("trunc_u32", (4294967296.0,), E.TrapCode.INTEGER_OVERFLOW),
    ("trunc_u32", (-1.0,), E.TrapCode.INTEGER_OVERFLOW),
    ("trunc_s32", (2147483648.0,), E.TrapCode.INTEGER_OVERFLOW),
    ("trunc_s32", (math.nan,), E.TrapCode.BAD_CONVERSION_TO_INTEGER),
    ("trunc_u64", (2.0 ** 64,), E.TrapCode.INTEGER_OVERFLOW),
])
def test_numeric_traps(numeric, name, args, code):
    with pytest.raises(E.Trap) as e:
        numeric(name, *args)
    assert e.value.trap_code == code


CONTROL = """(module
  (type $ii (func (param i32) (result i32)))
  (table 4 funcref)
  (elem (i32.const 0) $sq $neg)
  (memory 1 3)
  (func $sq (type $ii) (i32.mul (local.get 0) (local.get 0)))
  (func $neg (type $ii) (i32.sub (i32.const 0) (local.get 0)))
  (func (export "switch") (param i32) (result i32 i32)
    (block $d (result i32 i32)
      (block $b (result i32 i32)
        (block $a (result i32 i32)
          (i32.const 10) (i32.const 20) (local.get 0)
          (br_table $a $b $a $d)))
      (i32.add (i32.const 100)) (return))
    (i32.add (i32.const 1000)))
  (func (export "indirect") (param i32 i32) (result i32)
    (call_indirect (type $ii) (local.get 1) (local.get 0)))
  (func $many (param i64 i32 f64 i32 i32 i32 i32 i32 f32 i64) (result i64 f64 i32 i64 i64)
    (local.get 0) (local.get 2) (local.get 1)
    (i64.extend_i32_u (local.get 7)) (i64.add (local.get 9) (i64.extend_i32_s (local.get 3))))
  (func (export "many") (result i64 f64 i32 i64 i64)
    (call $many (i64.const -5) (i32.const 1) (f64.const 2.5) (i32.const -3) (i32.const 4)
                (i32.const 5) (i32.const 6) (i32.const -7) (f32.const 8) (i64.const 9)))
  (func (export "loop") (param i32) (result i32) (local i32)
    (loop $l (result i32)
      (local.set 1 (i32.add (local.get 1) (local.get 0)))
      (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1))))
      (local.get 1)))
  (func (export "copy") (param i32 i32 i32) (result i64)
    (i64.store (i32.const 0) (i64.const 0x0807060504030201))
    (memory.copy (local.get 0) (local.get 1) (local.get 2))
    (i64.load (i32.const 0)))
  (func (export "fill") (param i32 i32 i32) (result i32)
    (memory.fill (local.get 0) (local.get 1) (local.get 2))
    (i32.load8_u (i32.add (local.get 0) (local.get 2)))
    (i32.load8_u (local.get 0)) (i32.shl (i32.const 8)) (i32.or))
  (func (export "grow") (param i32) (result i32 i32)
    (memory.grow (local.get 0))
    (i32.store (i32.const 65536) (i32.const 42))
    (i32.load (i32.const 65536)))
  (func $deep (export "deep") (param i32) (result i32)
    (i32.add (call $deep (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func (export "oob") (param i32) (result i32) (i32.load16_s offset=10 (local.get 0)))
)"""


@pytest.fixture(scope="module")
def control():
    store, module, ex = _instance(CONTROL)
    return store, module, ex


def test_br_table_with_values(control):
    store, _, ex = control
    assert [tuple(ex["switch"](store, k)) for k in (0, 1, 2, 3, 99)] == [
        (10, 120), (10, 120), (10, 120), (10, 1020), (10, 1020)]   # as wasmtime


def test_call_indirect_and_its_traps(control):
    store, _, ex = control
    assert ex["indirect"](store, 0, 7) == 49 and ex["indirect"](store, 1, 7) == -7
    with pytest.raises(E.Trap) as e:
        ex["indirect"](store, 2, 7)
    assert e.value.trap_code == E.TrapCode.INDIRECT_CALL_TO_NULL
    with pytest.raises(E.Trap) as e:
        ex["indirect"](store, 4, 7)
    assert e.value.trap_code == E.TrapCode.TABLE_OUT_OF_BOUNDS


def test_stack_arguments_and_results(control):
    store, _, ex = control
    assert tuple(ex["many"](store)) == (-5, 2.5, 1, 0xFFFFFFF9, 6)


def test_loop(control):
    store, _, ex = control
    assert ex["loop"](store, 100) == 5050


def test_bulk_memory(control):
    store, _, ex = control
    assert ex["copy"](store, 1, 0, 4) == 0x0807060504030201 & ~0xFFFFFFFFFF | 0x0403020101
    assert ex["copy"](store, 0, 2, 4) == 0x0807060506050403
    assert ex["fill"](store, 100, 0xAB, 3) == 0xAB00
    with pytest.raises(E.Trap) as e:
        ex["copy"](store, 65535, 0, 2)
    assert e.value.trap_code == E.TrapCode.MEMORY_OUT_OF_BOUNDS
    with pytest.raises(E.Trap) as e:
        ex["fill"](store, 0, 0, 65537)
    assert e.value.trap_code == E.TrapCode.MEMORY_OUT_OF_BOUNDS


def test_traps_name_their_function(control):
    store, module, ex = control
    with pytest.raises(E.Trap) as e:
        ex["oob"](store, 65530)
    assert e.value.trap_code == E.TrapCode.MEMORY_OUT_OF_BOUNDS
    assert e.value.frames[0].func_index == 11
    with pytest.raises(E.Trap) as e:
        ex["deep"](store, 0)
    assert e.value.trap_code == E.TrapCode.STACK_OVERFLOW
    assert e.value.frames[0].func_index == 10


def test_memory_grow_reloads_the_heap(control):
    store, _, ex = control
    assert tuple(ex["grow"](store, 1)) == (1, 42)


def test_every_function_went_baseline(control):
    store, module, ex = control
    lazy = _lazy(module)
    assert lazy.compiled and set(lazy.compiled) == lazy.baseline_compiled


def _lazy(module):
    from engine.compile.registry import backend_for
    return lazy_code(module, backend_for(module.state.settings))


MIXED = """(module
  (func $opt (export "opt") (param i32 i64 i32 i32 i32 i32 i32 f64) (result i32 i64 f64)
    (local v128)
    (i32.add (local.get 0) (local.get 6)) (local.get 1) (local.get 7))
  (func $base (export "base") (param i32) (result i32 i64 f64)
    (call $opt (local.get 0) (i64.const -2) (i32.const 3) (i32.const 4) (i32.const 5)
               (i32.const 6) (i32.const 7) (f64.const 0.5)))
  (func $back (export "back") (param i32) (result i32)
    (local v128)
    (call $leaf (local.get 0)))
  (func $leaf (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
)"""


def test_tiers_call_each_other():
    """A function the baseline refuses (a v128 local) is compiled by the optimising tier; the
    two call each other with register and stack arguments and results."""
    store, module, ex = _instance(MIXED)
    assert tuple(ex["base"](store, 10)) == (17, -2, 0.5)
    assert ex["back"](store, 5) == 15
    lazy = _lazy(module)
    assert lazy.baseline_compiled == {1, 3} and set(lazy.compiled) == {0, 1, 2, 3}


def test_refusal_is_before_emission():
    from backends.x86_64 import X86_64Backend
    from backends.x86_64.baseline.compiler import BaselineUnsupported, compile_function
    from engine.environ.module_info import ModuleInfo
    eng = E.Engine()
    wasm = E.Module(eng, MIXED).wasm_module
    info = ModuleInfo.for_module(wasm)
    with pytest.raises(BaselineUnsupported, match="v128"):
        compile_function(wasm, info, 0, X86_64Backend().features, X86_64Backend.target)
    fuel = ModuleInfo.for_module(wasm, fuel=True)
    with pytest.raises(BaselineUnsupported, match="fuel"):
        compile_function(wasm, fuel, 1, X86_64Backend().features, X86_64Backend.target)
    assert X86_64Backend().baseline_function(wasm, info, 0) is None
    assert X86_64Backend().baseline_function(wasm, info, 1).code


def test_an_instruction_the_tier_lacks_refuses_the_function_even_in_unreachable_code():
    """No prescan of the body: the pass refuses at the instruction, also where it is dead
    (try_table opens a block there, so the dead code's nesting would otherwise be wrong);
    the optimising tier then compiles the function, with the same results."""
    from backends.x86_64 import X86_64Backend
    from engine.environ.module_info import ModuleInfo
    wat = """(module
      (func (export "dead") (result i32)
        (block $b (br $b) (try_table (catch_all $b) (nop)))
        (i32.const 7))
      (func (export "lanes") (param i32) (result i32)
        (i32x4.extract_lane 2 (i32x4.splat (local.get 0))))
      (func (export "plain") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1))))"""
    eng = E.Engine()
    module = E.Module(eng, wat)
    info = ModuleInfo.for_module(module.wasm_module)
    backend = X86_64Backend()
    assert [backend.baseline_function(module.wasm_module, info, k) is None
            for k in range(3)] == [True, True, False]
    cfg = E.Config(baseline_compilation=True)
    eng = E.Engine(cfg)
    store = E.Store(eng)
    ex = E.Instance(store, E.Module(eng, wat), []).exports(store)
    assert (ex["dead"](store), ex["lanes"](store, 9), ex["plain"](store, 2)) == (7, 9, 3)


def test_epoch_interruption():
    wat = """(module (func (export "spin") (loop $l (br $l))))"""
    cfg = E.Config(baseline_compilation=True, epoch_interruption=True)
    eng = E.Engine(cfg)
    store = E.Store(eng)
    inst = E.Instance(store, E.Module(eng, wat), [])
    store.set_epoch_deadline(1)
    import threading
    timer = threading.Timer(0.2, eng.increment_epoch)
    timer.start()
    with pytest.raises(E.Trap) as e:
        inst.exports(store)["spin"](store)
    timer.join()
    assert e.value.trap_code == E.TrapCode.INTERRUPT
    assert e.value.frames[0].func_index == 0


def test_other_targets_ignore_the_setting():
    """baseline_compilation on aarch64 (emulated): the optimising tier, no error."""
    cfg = E.Config(baseline_compilation=True, target="aarch64")
    eng = E.Engine(cfg)
    store = E.Store(eng)
    inst = E.Instance(store, E.Module(eng, NUMERIC), [])
    assert inst.exports(store)["div_s"](store, 9, 2) == 4


PINNED = """(module
  (func $g (param $x f64) (result f64) (local $a f64) (local $b f64) (local $i i32)
    (loop $l
      (local.set $a (f64.add (local.get $a) (local.get $x)))
      (local.set $b (f64.mul (local.get $a) (f64.const 0.5)))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 3))))
    (f64.add (local.get $a) (local.get $b)))
  (func $h (param $n i64) (result i64) (local $i i64) (local $j i64) (local $k i64) (local v128)
    (local.set $i (i64.mul (local.get $n) (i64.const 3)))
    (local.set $j (i64.add (local.get $i) (i64.const 7)))
    (local.set $k (i64.xor (local.get $j) (local.get $i)))
    (i64.add (local.get $k) (local.get $j)))
  (func (export "run") (param $n i32) (result f64 i64 f32)
    (local $acc f64) (local $s f32) (local $i i32) (local $t i64) (local $u i64)
    (loop $l
      (local.set $acc (f64.add (local.get $acc) (call $g (f64.convert_i32_u (local.get $i)))))
      (local.set $s (f32.add (local.get $s) (f32.const 1.25)))
      (local.set $t (i64.add (local.get $t) (call $h (i64.extend_i32_u (local.get $i)))))
      (local.set $u (i64.add (local.get $u) (local.get $t)))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                          (local.get $n))))
    (local.get $acc) (i64.add (local.get $t) (local.get $u)) (local.get $s))
)"""


def test_locals_in_registers_survive_calls():
    """Locals kept in rbx/r12/r13 and xmm14/xmm15 across calls into both tiers (the
    callees use the same registers for their own locals), against the interpreter."""
    store, module, ex = _instance(PINNED)
    eng = E.Engine(E.Config(strategy="interpreter"))
    ref_store = E.Store(eng)
    ref = E.Instance(ref_store, E.Module(eng, PINNED), []).exports(ref_store)
    for n in (1, 5, 40):
        assert tuple(ex["run"](store, n)) == tuple(ref["run"](ref_store, n))
    lazy = _lazy(module)
    assert lazy.baseline_compiled == {0, 2} and set(lazy.compiled) == {0, 1, 2}


MULTI_MEMORY = """(module
  (memory $m0 1) (memory $m1 1 2)
  (func (export "run") (param i32 i32) (result i64 i32 i32 i32)
    (i64.store $m1 offset=8 (local.get 0) (i64.const 0x1122334455667788))
    (i32.store8 $m0 (local.get 1) (i32.const 0x99))
    (memory.copy $m0 $m1 (i32.const 100) (i32.add (local.get 0) (i32.const 8)) (i32.const 8))
    (i64.load $m0 offset=100 (i32.const 0))
    (memory.grow $m1 (i32.const 1))
    (memory.size $m1)
    (i32.load8_u $m0 (local.get 1)))
  (func (export "oob") (param i32) (result i32) (i32.load $m1 (local.get 0)))
)"""


def test_multi_memory():
    store, _, ex = _instance(MULTI_MEMORY)
    assert tuple(ex["run"](store, 16, 5)) == (0x1122334455667788, 1, 2, 0x99)
    assert ex["oob"](store, 2 * 65536 - 4) == 0
    with pytest.raises(E.Trap) as e:
        ex["oob"](store, 2 * 65536 - 3)
    assert e.value.trap_code == E.TrapCode.MEMORY_OUT_OF_BOUNDS


def test_operations_a_cpu_lacks_are_refused():
    """clz, ctz, popcnt and float rounding need LZCNT, BMI1, POPCNT and SSE4.1: without them
    the function goes to the optimising tier (which has fallbacks), the others stay."""
    from backends.x86_64 import X86_64Backend
    from engine.environ.module_info import ModuleInfo
    wat = """(module
      (func (param i32) (result i32) (i32.popcnt (local.get 0)))
      (func (param f64) (result f64) (f64.floor (local.get 0)))
      (func (param i32) (result i32) (i32.add (local.get 0) (i32.const 1))))"""
    wasm = E.Module(E.Engine(), wat).wasm_module
    info = ModuleInfo.for_module(wasm)
    bare = X86_64Backend(frozenset())
    assert [bare.baseline_function(wasm, info, k) is None for k in range(3)] == \
        [True, True, False]
    full = X86_64Backend(frozenset({"lzcnt", "bmi1", "popcnt", "sse4.1"}))
    assert all(full.baseline_function(wasm, info, k) is not None for k in range(3))


def test_the_loops_counted_code_moves_from_are_the_entry_s():
    """Counted code numbers the loops an activation can move from as engine.ir.osr numbers
    its entry's targets (in body order): every loop it picks can be entered, on a real
    program's every function; a loop under a block with parameters is not picked."""
    from pathlib import Path

    from engine.compile.registry import backend_for
    from engine.ir.osr import osr_targets
    from engine.wasm.opcodes import Op
    wasm_bytes = (Path(__file__).resolve().parents[2] / "data" / "wasi" / "minigzip.wasm"
                  ).read_bytes()
    engine = E.Engine(E.Config(tiered_compilation=True))
    backend = backend_for(engine.settings)
    module = E.Module(engine, wasm_bytes)
    wasm = module.wasm_module
    picked = 0
    for k in range(len(wasm.funcs)):
        piece = backend.baseline_function(wasm, module.info, wasm.num_imported_funcs + k, True)
        if piece is None or not piece.movable:
            continue
        picked += len(piece.movable)
        targets = osr_targets(wasm.codes[k].body, piece.movable, wasm.types)
        assert list(targets) == list(piece.movable)
        assert list(targets.values()) == list(range(1, len(piece.movable) + 1))
    assert picked > 50
    wat = """(module (type $t (func (param i32) (result i32)))
      (func (export "f") (param i32) (result i32) (local i32)
        (loop (br_if 0 (local.tee 1 (i32.const 0))))
        (local.get 0) (block (type $t) (loop (br_if 0 (i32.const 0))))))"""
    small = E.Module(engine, wat)
    piece = backend.baseline_function(small.wasm_module, small.info, 0, True)
    loops = [p for p, ins in enumerate(small.wasm_module.codes[0].body) if ins.op == Op.LOOP]
    assert len(loops) == 2 and piece.movable == (loops[0],)
