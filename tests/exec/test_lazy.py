"""engine.exec.lazy: with Config.lazy_compilation (the default) a function is compiled on its
first call, through every way a call arrives (exports, direct calls, call_indirect, start, other
instances, tail calls, host re-entry, threads), natively and under Unicorn on every target, with
the same results and traps as whole-module code; only the functions that run are compiled."""

from __future__ import annotations

import ctypes
import threading

import pytest

from engine import Config, Engine, Func, FuncType, Instance, Linker, Module, Store, Trap, \
    TrapCode, ValType
from engine.exec.lazy import LazyUnit
from engine.exec.native import native_supported
from stack_cases import run_child

CONFIGS = [
    pytest.param({}, id="native", marks=pytest.mark.skipif(not native_supported(),
                                                           reason="native x86_64 only")),
    pytest.param({"target": "x86_64", "emulate": True}, id="x86_64-emulated"),
    pytest.param({"target": "aarch64"}, id="aarch64"),
    pytest.param({"target": "riscv64"}, id="riscv64"),
]

#: ten functions; `run` calls three of them directly and one through the table
WAT = """(module
  (type $i (func (param i32) (result i32)))
  (table 4 funcref) (elem (i32.const 0) $sq $unused1 $tri $unused2)
  (func $sq (type $i) (i32.mul (local.get 0) (local.get 0)))
  (func $tri (type $i) (i32.shr_u (i32.mul (local.get 0) (i32.add (local.get 0) (i32.const 1)))
                                   (i32.const 1)))
  (func $fib (type $i)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func $unused1 (type $i) (i32.const 1))
  (func $unused2 (type $i) (i32.const 2))
  (func $unused3 (type $i) (i32.const 3))
  (func $unused4 (type $i) (i32.const 4))
  (func $unused5 (type $i) (i32.const 5))
  (func $unused6 (type $i) (i32.const 6))
  (func (export "run") (param i32) (result i32)
    (i32.add (i32.add (call $sq (local.get 0)) (call $fib (local.get 0)))
             (call_indirect (type $i) (local.get 0) (i32.const 2))))
  (func (export "boom") (param i32) (result i32)
    (i32.div_u (i32.const 1) (local.get 0))))"""


def _engine(cfg: dict, **more) -> Engine:
    """An engine of `cfg`, the optimising tier alone unless it says otherwise (tiered
    compilation's lazy code has its tests in test_tierup.py)."""
    return Engine(Config(**{"tiered_compilation": False, **cfg, **more}))


def _lazy(store: Store, instance: Instance):
    unit = instance.exec_state.unit
    assert isinstance(unit, LazyUnit)
    return unit.lazy


def _expect_run(n: int) -> int:
    fib = [0, 1]
    while len(fib) <= n:
        fib.append(fib[-1] + fib[-2])
    return n * n + fib[n] + n * (n + 1) // 2


@pytest.mark.parametrize("cfg", CONFIGS)
def test_only_the_functions_that_run_are_compiled(cfg) -> None:
    engine = _engine(cfg)
    store = Store(engine)
    module = Module(engine, WAT)
    inst = Instance(store, module, [])
    lazy = _lazy(store, inst)
    assert lazy.compiled == {}
    assert inst.exports(store)["run"](store, 15) == _expect_run(15)
    # sq 0, tri 1, fib 2, run 9 (function indices): nothing else
    assert sorted(lazy.compiled) == [0, 1, 2, 9]
    assert module.code is None          # the whole module was never compiled
    # a second instance in another store runs the same compiled code, compiling nothing more
    store2 = Store(engine)
    inst2 = Instance(store2, module, [])
    assert _lazy(store2, inst2) is lazy
    assert inst2.exports(store2)["run"](store2, 10) == _expect_run(10)
    assert sorted(lazy.compiled) == [0, 1, 2, 9]


@pytest.mark.parametrize("cfg", CONFIGS)
def test_a_trap_in_lazily_compiled_code_names_its_function(cfg) -> None:
    engine = _engine(cfg)
    store = Store(engine)
    inst = Instance(store, Module(engine, WAT), [])
    boom = inst.exports(store)["boom"]
    assert boom(store, 1) == 1
    with pytest.raises(Trap) as info:
        boom(store, 0)
    assert info.value.trap_code == TrapCode.INTEGER_DIVISION_BY_ZERO
    assert info.value.frames and info.value.frames[0].func_index == 10


@pytest.mark.parametrize("cfg", CONFIGS)
def test_lazy_off_compiles_the_whole_module(cfg) -> None:
    engine = _engine(cfg, lazy_compilation=False)
    store = Store(engine)
    module = Module(engine, WAT)
    inst = Instance(store, module, [])
    assert not isinstance(inst.exec_state.unit, LazyUnit)
    assert module.code is not None
    assert inst.exports(store)["run"](store, 12) == _expect_run(12)


#: many arguments (the stack-passed ones beyond the registers), floats, a start function, a
#: tail call to an uncompiled function with stack arguments, and a host function that calls
#: back into an uncompiled function
ARGS_WAT = """(module
  (import "host" "back" (func $back (param i32) (result i32)))
  (global $started (mut i32) (i32.const 0))
  (func $start (global.set $started (call $seven)))
  (start $start)
  (func $seven (result i32) (i32.const 7))
  (func $wide (param i32 i64 f64 i32 i64 f32 i32 i64 f64 i32 i64 f32 i32 i64 f64 i32 i64 f32
                     f64 f64 f64)
              (result f64)
    (f64.add
      (f64.convert_i64_s (i64.add (i64.add (i64.add (i64.extend_i32_s (local.get 0))
                                                     (local.get 1))
                                           (i64.add (i64.extend_i32_s (local.get 15))
                                                    (local.get 16)))
                                  (i64.add (i64.extend_i32_s (local.get 12)) (local.get 13))))
      (f64.add (f64.add (local.get 2) (local.get 20))
               (f64.add (f64.promote_f32 (local.get 17)) (local.get 14)))))
  (func (export "wide") (result f64)
    (call $wide (i32.const 1) (i64.const 2) (f64.const 0.5) (i32.const 0) (i64.const 0)
                (f32.const 0) (i32.const 0) (i64.const 0) (f64.const 0) (i32.const 0)
                (i64.const 0) (f32.const 0) (i32.const 100) (i64.const 200) (f64.const 0.25)
                (i32.const 1000) (i64.const 2000) (f32.const 1.5) (f64.const 0) (f64.const 0)
                (f64.const 8)))
  (func $tail_target (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
    (i32.add (local.get 0) (i32.mul (local.get 8) (i32.const 10))))
  (func (export "tail") (param i32) (result i32)
    (return_call $tail_target (local.get 0) (i32.const 0) (i32.const 0) (i32.const 0)
      (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 4)))
  (func $callee (export "callee") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func (export "reenter") (param i32) (result i32) (call $back (local.get 0)))
  (func (export "started") (result i32) (global.get $started)))"""


@pytest.mark.parametrize("cfg", CONFIGS)
def test_arguments_start_tail_calls_and_reentry(cfg) -> None:
    engine = _engine(cfg)
    store = Store(engine)
    linker = Linker(engine)
    box: dict = {}

    def back(x: int) -> int:
        # the first call of `callee` (uncompiled) from inside a host call from wasm
        return box["callee"](store, x) * 2
    linker.define_func("host", "back", FuncType([ValType.i32()], [ValType.i32()]), back)
    inst = linker.instantiate(store, Module(engine, ARGS_WAT))
    ex = inst.exports(store)
    box["callee"] = ex["callee"]
    assert ex["started"](store) == 7
    assert ex["wide"](store) == 1 + 2 + 1000 + 2000 + 100 + 200 + 0.5 + 8 + 1.5 + 0.25
    assert ex["tail"](store, 3) == 43
    assert ex["reenter"](store, 20) == 42


CROSS_WAT = """(module
  (import "a" "callee" (func $callee (param i32) (result i32)))
  (import "a" "table" (table 4 funcref))
  (type $i (func (param i32) (result i32)))
  (func (export "via_import") (param i32) (result i32) (call $callee (local.get 0)))
  (func (export "via_table") (param i32) (result i32)
    (call_indirect (type $i) (local.get 0) (i32.const 2))))"""


@pytest.mark.parametrize("cfg", CONFIGS)
def test_calls_from_another_instance_compile_the_callee(cfg) -> None:
    engine = _engine(cfg)
    store = Store(engine)
    a = Instance(store, Module(engine, WAT.replace(
        '(func (export "run")', '(export "callee" (func $sq)) (export "table" (table 0))'
        ' (func (export "run")')), [])
    ex = a.exports(store)
    b = Instance(store, Module(engine, CROSS_WAT), [ex["callee"], ex["table"]])
    lazy = _lazy(store, a)
    assert b.exports(store)["via_import"](store, 9) == 81
    assert b.exports(store)["via_table"](store, 9) == 45
    assert sorted(lazy.compiled) == [0, 1]


#: types that never cross the boundary at instantiation: $f64 only through the table (from
#: the host, by Table.get), $two only by a host function the host puts in the table, $f32
#: through the table, trapping
SIGS_WAT = """(module
  (import "host" "log" (func $log (param i32)))
  (type $f64 (func (param f64 f64) (result f64)))
  (type $two (func (param i64 i32) (result i64)))
  (type $f32 (func (param f32) (result f32)))
  (table (export "t") 4 funcref) (elem (i32.const 0) $hyp) (elem (i32.const 2) $bad)
  (func $bad (type $f32) unreachable)
  (func $hyp (type $f64) (f64.sqrt (f64.add (f64.mul (local.get 0) (local.get 0))
                                            (f64.mul (local.get 1) (local.get 1)))))
  (func (export "run") (param i32) (result i64)
    (call $log (local.get 0))
    (call_indirect (type $two) (i64.const 40) (local.get 0) (i32.const 1))))"""


@pytest.mark.parametrize("cfg", CONFIGS)
def test_signatures_the_lazy_unit_leaves_out_get_their_trampolines_on_demand(cfg) -> None:
    engine = _engine(cfg)
    store = Store(engine)
    linker = Linker(engine)
    seen: list[int] = []
    linker.define_func("host", "log", FuncType([ValType.i32()], []), seen.append)
    inst = linker.instantiate(store, Module(engine, SIGS_WAT))
    unit = inst.exec_state.unit
    # the unit's own: the export's entry and the import's exit, no others
    assert sorted(unit.trampolines()) == ["entry_i32__i64", "exit_i32__"]
    ex = inst.exports(store)
    table = ex["t"]
    assert table.get(store, 0)(store, 3.0, 4.0) == 5.0
    add = Func(store, FuncType([ValType.i64(), ValType.i32()], [ValType.i64()]),
               lambda a, b: a + b)
    table.set(store, 1, add)
    assert ex["run"](store, 2) == 42
    assert seen == [2]
    # a trap entered through an extra entry trampoline, an exception through an extra exit
    with pytest.raises(Trap) as e:
        table.get(store, 2)(store, 1.5)
    assert e.value.trap_code == TrapCode.UNREACHABLE
    table.set(store, 1, Func(store, add.type(store), lambda a, b: 1 // 0))
    with pytest.raises(ZeroDivisionError):
        ex["run"](store, 2)
    assert table.get(store, 0)(store, 6.0, 8.0) == 10.0


@pytest.mark.parametrize("cfg", CONFIGS[:2])
def test_threads_compile_each_function_once(cfg) -> None:
    engine = _engine(cfg)
    module = Module(engine, WAT)
    results: list = []
    errors: list = []
    lazies: list = []
    start = threading.Barrier(4)

    def work(n: int) -> None:
        try:
            store = Store(engine)
            inst = Instance(store, module, [])
            lazies.append(_lazy(store, inst))
            start.wait()
            results.append((n, inst.exports(store)["run"](store, n)))
        except BaseException as e:        # reported below
            errors.append(e)
    threads = [threading.Thread(target=work, args=(n,)) for n in (10, 11, 12, 13)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(results) == [(n, _expect_run(n)) for n in (10, 11, 12, 13)]
    lazy = lazies[0]
    assert all(other is lazy for other in lazies)
    assert sorted(lazy.compiled) == [0, 1, 2, 9]
    assert len({start for start, _, _ in lazy.placed}) == 4


def test_serialize_after_lazy_runs_writes_the_whole_module() -> None:
    engine = _engine({"target": "x86_64", "emulate": True})
    store = Store(engine)
    module = Module(engine, WAT)
    Instance(store, module, []).exports(store)["run"](store, 5)
    data = module.serialize()
    again = Module.deserialize(engine, data)
    assert again.code is not None and len(again.code.symbols) > 10
    inst = Instance(Store(engine), again, [])
    assert not isinstance(inst.exec_state.unit, LazyUnit)


@pytest.mark.skipif(not native_supported(), reason="native x86_64 only")
def test_first_call_at_the_stack_limit_traps_or_runs_and_the_process_survives() -> None:
    """A function first called where the stack is nearly used up (the deepest recursion whole
    -module code survives) either runs or traps STACK_OVERFLOW; compiling it there never runs
    the thread's real stack out."""
    out = run_child('''
        from engine import Config, Engine, Instance, Module, Store, Trap
        WAT = """(module
          (func $leaf (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
          (func $rec (export "rec") (param i32) (result i32)
            (if (result i32) (i32.eqz (local.get 0)) (then (call $leaf (i32.const 0)))
              (else (i32.add (call $rec (i32.sub (local.get 0) (i32.const 1)))
                             (i32.const 1))))))"""
        def rec(lazy):
            engine = Engine(Config(lazy_compilation=lazy, tiered_compilation=False))
            store = Store(engine)
            f = Instance(store, Module(engine, WAT), []).exports(store)["rec"]
            return lambda n: f(store, n)
        eager = rec(False)
        lo, hi = 1, 1 << 20               # the deepest recursion whole-module code survives
        while lo + 1 < hi:
            mid = (lo + hi) // 2
            try:
                eager(mid)
                lo = mid
            except Trap:
                hi = mid
        print("deepest", lo)
        for depth in (lo, lo - 1, lo - 2, lo - 3, lo - 8, lo - 40, 100):
            try:
                print(depth, rec(True)(depth) == depth + 1)
            except Trap as t:
                print(depth, t.trap_code.name)
        ''')
    lines = out.split("\n")
    deepest = int(lines[0].split()[1])
    assert deepest > 1000
    outcomes = dict(line.split() for line in lines[1:] if line)
    assert set(outcomes.values()) <= {"True", "STACK_OVERFLOW"}, outcomes
    assert outcomes["100"] == "True"


@pytest.mark.skipif(not native_supported(), reason="native x86_64 only")
def test_calls_to_functions_compiled_later_are_repointed_past_their_stubs() -> None:
    from capstone import CS_ARCH_X86, CS_MODE_64, Cs
    engine = _engine({})
    store = Store(engine)
    inst = Instance(store, Module(engine, WAT), [])
    assert inst.exports(store)["run"](store, 6) == _expect_run(6)
    lazy = _lazy(store, inst)
    start, end, index = next(p for p in lazy.placed if p[2] == 9)      # run: compiled first
    code = bytes((ctypes.c_ubyte * (end - start)).from_address(start))
    targets = {int(i.op_str, 16) for i in Cs(CS_ARCH_X86, CS_MODE_64).disasm(code, start)
               if i.mnemonic == "call" and i.op_str.startswith("0x")}
    # its direct calls (to sq and fib, compiled after it) reach their code, not their stubs
    assert targets == {lazy.compiled[0], lazy.compiled[2]}


@pytest.mark.parametrize("setting", ["lazy_compilation", "baseline_compilation",
                                     "tiered_compilation"])
def test_the_tier_settings_take_only_booleans(setting) -> None:
    from engine import WasmError
    with pytest.raises(WasmError, match=f"Config.{setting} must be True or False"):
        Engine(Config(**{setting: "yes"}))
