"""Stack exhaustion on every executor ends in Trap STACK_OVERFLOW, never in a crash (issue #15):
frames larger than the room below the limit, the limit clamped to the calling thread's real
stack, max_wasm_stack bounds, deep wasm -> host -> wasm re-entry. Crash-prone cases run in a
child process (stack_cases.run_child)."""

from __future__ import annotations

import pytest

from engine import Config, Engine, Instance, Module, Store, Trap, TrapCode, WasmError

from stack_cases import EXECUTORS, executor_params, run_child, spilled_values_wat


# -- item 1: the prologue's check covers the whole frame ------------------------------------

@pytest.mark.parametrize("executor", executor_params())
def test_frame_larger_than_the_stack_budget_traps(executor):
    """max_wasm_stack=16 KiB and one call of a function whose frame is about 24 KiB: the
    frame alone exceeds the budget, so the entry check must trap (a check of the stack pointer
    before the frame is allocated let it run)."""
    engine = Engine(Config(max_wasm_stack=16 * 1024, **EXECUTORS[executor]))
    module = Module(engine, spilled_values_wat(3 * 1024, recursive=False))
    store = Store(engine)
    f = Instance(store, module, []).exports(store)["f"]
    if executor == "interpreter":
        # no machine frames: the interpreter's budget counts calls, and one call fits
        assert f(store, 1) == sum(1 + i for i in range(3 * 1024))
        return
    with pytest.raises(Trap) as info:
        f(store, 1)
    assert info.value.trap_code == TrapCode.STACK_OVERFLOW


def test_frame_smaller_than_the_budget_runs():
    """The same function within a budget that holds it returns its value (the check does not
    trap early)."""
    engine = Engine(Config(max_wasm_stack=256 * 1024))
    store = Store(engine)
    f = Instance(store, Module(engine, spilled_values_wat(3 * 1024, recursive=False)),
                 []).exports(store)["f"]
    assert f(store, 1) == sum(1 + i for i in range(3 * 1024))


_DEEP_FRAMES = """
    import sys, threading
    from engine import Config, Engine, Instance, Module, Store, Trap, TrapCode
    from stack_cases import EXECUTORS, spilled_values_wat
    settings = EXECUTORS[{executor!r}]
    engine = Engine(Config(**settings))
    module = Module(engine, spilled_values_wat({nvals}, recursive=True))
    def run(out):
        store = Store(engine)
        f = Instance(store, module, []).exports(store)["f"]
        try:
            f(store, 0)
            out.append("returned")
        except Trap as e:
            out.append(str(e.trap_code))
    for extra_kib in {extras}:
        out = []
        threading.stack_size(512 * 1024 + extra_kib * 1024)
        t = threading.Thread(target=run, args=(out,))
        t.start()
        t.join()
        print(extra_kib, out[0], flush=True)
"""


@pytest.mark.parametrize("executor", executor_params(["x86_64-native"]))
def test_recursion_with_32k_frames_in_a_tight_thread(executor):
    """Infinite recursion with 32 KiB frames in threads whose stack is max_wasm_stack plus
    0..64 KiB: each traps (on main: a segfault at +16 KiB)."""
    extras = [0, 8, 16, 24, 32, 48, 64]
    out = run_child(_DEEP_FRAMES.format(executor=executor, nvals=4096, extras=extras))
    lines = out.split("\n")[:-1]
    assert lines == [f"{x} {TrapCode.STACK_OVERFLOW}" for x in extras]


# -- item 3: the limit is clamped to the real stack; absurd budgets are refused --------------

def test_max_wasm_stack_beyond_2mib_is_refused():
    """wasmtime-py's Engine refuses it too (it aborts the process)."""
    for value in (1 << 30, (2 << 20) + 1):
        with pytest.raises(WasmError, match="Config.max_wasm_stack"):
            Engine(Config(max_wasm_stack=value))
    Engine(Config(max_wasm_stack=2 << 20))


_SMALL_THREAD = """
    import threading
    from engine import Config, Engine, Instance, Module, Store, Trap
    from stack_cases import EXECUTORS
    engine = Engine(Config(max_wasm_stack={budget}, **EXECUTORS[{executor!r}]))
    module = Module(engine, '(module (func $f (export "f") (param i64) (result i64) '
                    '(i64.add (call $f (i64.add (local.get 0) (i64.const 1))) (local.get 0))))')
    def run(out):
        store = Store(engine)
        f = Instance(store, module, []).exports(store)["f"]
        try:
            out.append(f(store, 0))
        except Trap as e:
            out.append(str(e.trap_code))
    out = []
    if {thread_kib}:
        threading.stack_size({thread_kib} * 1024)
        t = threading.Thread(target=run, args=(out,))
        t.start()
        t.join()
    else:
        run(out)
    print(out[0])
"""


@pytest.mark.parametrize("executor", executor_params())
@pytest.mark.parametrize("thread_kib, budget", [(256, 512 * 1024), (256, 2 << 20),
                                                (1024, 2 << 20)])
def test_infinite_recursion_in_a_small_thread_traps(executor, thread_kib, budget):
    """A thread whose stack is smaller than max_wasm_stack: the limit follows the thread's
    real stack (on main: a segfault with the default budget in a 256 KiB thread)."""
    out = run_child(_SMALL_THREAD.format(executor=executor, budget=budget,
                                         thread_kib=thread_kib))
    assert out.split() == [str(TrapCode.STACK_OVERFLOW)]


@pytest.mark.parametrize("executor", executor_params(["x86_64-native"]))
def test_infinite_recursion_on_a_main_thread_with_a_small_rlimit_traps(executor):
    """The main thread's stack bound comes from RLIMIT_STACK (here 1 MiB, max_wasm_stack
    2 MiB)."""
    out = run_child(_SMALL_THREAD.format(executor=executor, budget=2 << 20, thread_kib=0),
                    stack_rlimit=1 << 20)
    assert out.split() == [str(TrapCode.STACK_OVERFLOW)]


# -- item 2 and 6: deep wasm -> host -> wasm re-entry, calls between instances ---------------

_REENTRY = """
    import threading
    from engine import Config, Engine, Func, FuncType, Instance, Module, Store, Trap, ValType
    from stack_cases import EXECUTORS
    engine = Engine(Config(**EXECUTORS[{executor!r}]))
    module = Module(engine, '''(module (import "" "h" (func $h (param i32) (result i32)))
      (func (export "f") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
          (else (i32.add (call $h (i32.sub (local.get 0) (i32.const 1))) (i32.const 1))))))''')
    def run(depth, out):
        store = Store(engine)
        box = []
        h = Func(store, FuncType([ValType.i32()], [ValType.i32()]), lambda n: box[0](store, n))
        box.append(Instance(store, module, [h]).exports(store)["f"])
        try:
            out.append(box[0](store, depth))
        except Trap as e:
            out.append(str(e.trap_code))
    for depth in {depths}:
        out = []
        if {thread_kib}:
            threading.stack_size({thread_kib} * 1024)
            t = threading.Thread(target=run, args=(depth, out))
            t.start()
            t.join()
        else:
            run(depth, out)
        print(out[0], flush=True)
"""


@pytest.mark.parametrize("executor", executor_params())
@pytest.mark.parametrize("thread_kib", [0, 256])
def test_deep_host_reentry_traps(executor, thread_kib):
    """wasm -> host -> wasm 20 levels deep returns; 64 and 100 levels return or end in Trap
    STACK_OVERFLOW, 1000 levels end in it, on the main thread and in a 256 KiB thread (on
    main: under Unicorn a segfault from 64 levels (Unicorn nests at most 64 emu_start on one
    engine), natively a Trap without a trap_code from about 81 levels)."""
    depths = [20, 64, 100, 1000]
    out = run_child(_REENTRY.format(executor=executor, depths=depths, thread_kib=thread_kib))
    overflow = str(TrapCode.STACK_OVERFLOW)
    lines = out.split()
    assert len(lines) == 4 and lines[0] == "20" and lines[3] == overflow
    assert all(line in (str(d), overflow) for line, d in zip(lines, depths))


_BETWEEN_INSTANCES = """
    from engine import Config, Engine, Instance, Module, Store, Trap
    from stack_cases import EXECUTORS
    engine = Engine(Config(**EXECUTORS[{executor!r}]))
    store = Store(engine)
    a = Instance(store, Module(engine, '''(module (type $t (func (param i32) (result i32)))
      (table (export "t") 1 funcref)
      (func (export "a") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
          (else (i32.add (call_indirect (type $t) (i32.sub (local.get 0) (i32.const 1))
                                        (i32.const 0)) (i32.const 1))))))'''), [])
    ea = a.exports(store)
    b = Instance(store, Module(engine, '''(module (import "" "a" (func $a (param i32) (result i32)))
      (func (export "b") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
          (else (i32.add (call $a (i32.sub (local.get 0) (i32.const 1))) (i32.const 1))))))'''),
      [ea["a"]])
    ea["t"].set(store, 0, b.exports(store)["b"])
    import sys
    sys.setrecursionlimit(200)      # calls between the instances never nest Python frames
    for depth in {depths}:
        try:
            print(ea["a"](store, depth), flush=True)
        except Trap as e:
            print(e.trap_code, flush=True)
"""


@pytest.mark.parametrize("executor", executor_params())
def test_recursion_between_two_instances(executor):
    """a -> (table) b -> (import) a ..., no host code: 40 and 1000 levels return (as in
    wasmtime), with Python's recursion limit at 200: the calls stay in machine code (before
    one store machine ran every instance: natively ctypes.ArgumentError at 200 levels, under
    Unicorn a raw RecursionError at 100); 1,000,000 end in Trap STACK_OVERFLOW."""
    out = run_child(_BETWEEN_INSTANCES.format(executor=executor, depths=[40, 1000, 10 ** 6]))
    assert out.split() == ["40", "1000", str(TrapCode.STACK_OVERFLOW)]
