"""What the drop-in for wasmtime-py promises beyond wasmtime-py's own suite (which
test_wasmtime_py_suite.py runs): on every executor (the interpreter, x86_64 natively and under
Unicorn, aarch64, riscv64), backtraces as Frame objects, Store.set_limits enforced where wasm
code grows memories and tables, externrefs released by Store.gc; the Config, Module, Caller
and component behaviour wasmtime-py users rely on; readable reprs."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine import (ArgumentTypeError, ClosedError, Config, Engine, Frame, Func, FuncType,
                    Instance, Limits, Linker, Memory, MemoryType, Module, Store, Table, TableType,
                    Trap, TrapCode, UnsupportedError, Val, ValType, WasmError, WasmtimeError)

EXECUTORS = {"interpreter": dict(strategy="interpreter"), "native": {},
             "x86_64-emulated": dict(emulate=True), "aarch64": dict(target="aarch64"),
             "riscv64": dict(target="riscv64")}

#: wasmtime-py's test_trap.test_frames module, and what wasmtime 50 prints for it
FRAMES_WAT = """
    (module $module
        (func (export "init")
            call $foo)
        (func $foo
            call $bar)
        (func $bar
            unreachable)
    )
"""
WASMTIME_TRACE = """\
error while executing at wasm backtrace:
    0:     0x2d - module!bar
    1:     0x28 - module!foo
    2:     0x23 - module!<wasm function 0>

Caused by:
    wasm trap: wasm `unreachable` instruction executed
"""


def _store(executor: str) -> Store:
    return Store(Engine(Config(**EXECUTORS[executor])))


def _exports(store: Store, wat: str, imports=()):
    return Instance(store, Module(store.engine, wat), list(imports)).exports(store)


@pytest.mark.parametrize("executor", list(EXECUTORS))
def test_trap_frames(executor):
    store = _store(executor)
    with pytest.raises(Trap) as info:
        _exports(store, FRAMES_WAT)["init"](store)
    trap = info.value
    assert trap.trap_code == TrapCode.UNREACHABLE
    assert all(isinstance(f, Frame) for f in trap.frames)
    innermost = trap.frames[0]
    assert (innermost.func_index, innermost.func_name, innermost.module_name,
            innermost.module_offset, innermost.func_offset) == (2, "bar", "module", 0x2D, 1)
    # every frame, as wasmtime gives them (machine code: the chain of frame pointers)
    assert [(f.func_index, f.func_name, f.module_offset) for f in trap.frames] == [
        (2, "bar", 0x2D), (1, "foo", 0x28), (0, None, 0x23)]
    assert str(trap) == WASMTIME_TRACE


@pytest.mark.parametrize("executor", ["interpreter", "native"])
def test_frame_offsets_are_none_rather_than_a_guess(executor):
    """Two divisions in one function: which one trapped is not known, so no offset."""
    store = _store(executor)
    f = _exports(store, """(module (func (export "f") (param i32 i32) (result i32)
        (i32.add (i32.div_u (i32.const 1) (local.get 0)) (i32.div_u (i32.const 1) (local.get 1)))))""")["f"]
    with pytest.raises(Trap) as info:
        f(store, 1, 0)
    assert info.value.trap_code == TrapCode.INTEGER_DIVISION_BY_ZERO
    assert info.value.frames[0].func_index == 0
    assert info.value.frames[0].module_offset is None
    assert "       ? - <unknown>!<wasm function 0>" in str(info.value)


def test_host_trap_reaches_the_caller_with_the_wasm_frames():
    store = _store("interpreter")
    def host():
        raise Trap("from the host")
    run = _exports(store, """(module (import "" "h" (func $h))
        (func $mid (call $h)) (func (export "run") (call $mid)))""",
                   [Func(store, FuncType([], []), host)])["run"]
    with pytest.raises(Trap) as info:
        run(store)
    assert info.value.trap_code is None and info.value.message == "from the host"
    assert [(f.func_index, f.module_offset) for f in info.value.frames] == [(1, 0x29), (2, 0x2E)]   # the two calls


GROW_WAT = """(module (memory (export "mem") 1) (table (export "tab") 1 funcref)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
    (func (export "tgrow") (param i32) (result i32) (table.grow (ref.null func) (local.get 0))))"""


@pytest.mark.parametrize("executor", list(EXECUTORS))
def test_store_limits_bound_wasm_growth(executor):
    store = _store(executor)
    store.set_limits(memory_size=3 * 65536, table_elements=4)
    ex = _exports(store, GROW_WAT)
    assert ex["grow"](store, 2) == 1          # 3 pages: at the limit
    assert ex["grow"](store, 1) == -1         # past it: memory.grow fails, as in wasmtime
    assert ex["mem"].size(store) == 3
    with pytest.raises(WasmError, match="failed to grow memory"):
        ex["mem"].grow(store, 1)
    assert ex["tgrow"](store, 3) == 1
    assert ex["tgrow"](store, 1) == -1
    with pytest.raises(WasmError, match="failed to grow table"):
        ex["tab"].grow(store, 1, None)


def test_store_limits_count_instances_memories_tables():
    store = Store()
    store.set_limits(instances=2, memories=1, tables=1)
    engine = store.engine
    Instance(store, Module(engine, "(module (memory 1) (table 1 funcref))"), [])
    with pytest.raises(WasmError, match="memory count too high at 2"):
        Instance(store, Module(engine, "(module (memory 1))"), [])
    store = Store()
    store.set_limits(instances=1)
    Instance(store, Module(store.engine, "(module)"), [])
    with pytest.raises(WasmError, match="instance count too high at 2"):
        Instance(store, Module(store.engine, "(module)"), [])
    store = Store()
    store.set_limits(memory_size=65536)
    with pytest.raises(WasmError, match="exceeds memory limits"):
        Instance(store, Module(store.engine, "(module (memory 2))"), [])
    with pytest.raises(TypeError):
        store.set_limits(memory_size="big")  # type: ignore[arg-type]


class _Flag:
    def __init__(self, hit: dict) -> None:
        hit["freed"] = False
        self.hit = hit

    def __del__(self) -> None:
        self.hit["freed"] = True


@pytest.mark.parametrize("executor", list(EXECUTORS))
def test_externref_released_after_gc(executor):
    store = _store(executor)
    ex = _exports(store, """(module (global $g (mut externref) (ref.null extern))
        (func (export "keep") (param externref) (global.set $g (local.get 0)))
        (func (export "drop") (global.set $g (ref.null extern)))
        (func (export "pass") (param externref)))""")
    passed: dict = {}
    ex["pass"](store, _Flag(passed))
    kept: dict = {}
    ex["keep"](store, _Flag(kept))
    store.gc()
    gc.collect()
    assert passed["freed"]
    assert not kept["freed"]                   # a global still holds it
    ex["drop"](store)
    store.gc()
    gc.collect()
    assert kept["freed"]


def test_caller_is_invalid_after_the_call():
    store = Store()
    kept = []
    log = Func(store, FuncType([], []), kept.append, access_caller=True)
    ex = _exports(store, """(module (import "" "f" (func $f)) (memory (export "m") 1)
        (func (export "run") (call $f)))""", [log])
    ex["run"](store)
    caller = kept[0]
    assert caller.get("m") is None
    with pytest.raises(ClosedError) as info:
        ex["m"].size(caller)
    assert isinstance(info.value, ValueError)


def test_host_function_exceptions_and_results():
    store = Store()
    class Mine(Exception):
        pass
    def boom():
        raise Mine("x")
    run = _exports(store, '(module (import "" "f" (func $f)) (func (export "run") (call $f)))',
                   [Func(store, FuncType([], []), boom)])["run"]
    with pytest.raises(Mine):
        run(store)
    two = Func(store, FuncType([], [ValType.i32(), ValType.i32()]), lambda: (1, 2))
    assert two(store) == [1, 2]


def test_val_and_wrong_types():
    store = Store()
    ident = Func(store, FuncType([ValType.i64()], [ValType.i64()]), lambda x: x)
    assert ident(store, Val.i64(-5)) == -5
    assert Val.i32(0xFFFFFFFF) == -1 and Val.i32(3).type == ValType.i32()
    assert Val.f32(0.1).value == pytest.approx(0.1) and Val.f32(0.1).value != 0.1
    with pytest.raises(TypeError):
        ident(store, Val.i32(1))
    with pytest.raises(TypeError):
        ident(store, "1")
    with pytest.raises(TypeError):
        Val.f64(1)
    with pytest.raises(WasmtimeError):
        Val.ref_null(ValType.i32())
    err = ArgumentTypeError("x")
    assert isinstance(err, (TypeError, AttributeError, WasmError))


def test_config_as_wasmtime_py_checks_it(tmp_path):
    config = Config()
    config.target = "aarch64-unknown-linux-gnu"
    assert config.target == "aarch64"
    config.strategy = "cranelift"
    engine = Engine(config)
    assert engine.target == "aarch64" and engine.settings.strategy == "compiler"
    assert not engine.is_pulley()
    with pytest.raises(ValueError):
        Engine(config)                          # an Engine consumes its Config
    with pytest.raises(ValueError):
        config.wasm_simd = False
    for bad in ("not-a-real-target", "sparc-unknown-linux-gnu"):
        with pytest.raises(WasmError, match="not a known target"):
            Config().target = bad
    with pytest.raises(UnsupportedError, match="Pulley"):
        Config().target = "pulley64"
    with pytest.raises(WasmError, match="strategy"):
        Config().strategy = "winch"
    with pytest.raises(WasmError, match="cache config file"):
        Config().cache = str(tmp_path / "test.toml")
    toml = tmp_path / "cache.toml"
    toml.write_text('[cache]\nenabled = true\ndirectory = "compiled"\n')
    assert Engine(Config(cache=str(toml))).settings.cache == str(tmp_path / "compiled")
    toml.write_text('[cache]\nenabled = false\n')
    assert Engine(Config(cache=str(toml))).settings.cache is None
    for proposal in ("wasm_component_model", "wasm_custom_page_sizes", "shared_memory"):
        with pytest.raises(WasmError, match=proposal):
            Engine(Config(**{proposal: True}))
    with pytest.raises(UnsupportedError, match="profiler"):
        Engine(Config(profiler="jitdump"))
    tuned = Config(debug_info=True, memory_reservation=1 << 20, parallel_compilation=False)
    tuned.cranelift_flag_enable("preserve_frame_pointers")
    Engine(tuned)


def test_text_as_bytes_and_context_managers():
    engine = Engine()
    with engine:
        art = engine.precompile_module(b'(module (func (export "f") (result i32) i32.const 7))')
        with Module.deserialize(engine, art) as module, Store(engine) as store:
            assert Instance(store, module, []).exports(store)["f"](store) == 7
    with pytest.raises(ValueError):
        store.gc()
    with pytest.raises(WasmError):
        Module(engine, b"\x00")
    with pytest.raises(WasmError, match="UTF-8"):
        Module(engine, b"\xff\xfe")


def test_memory_type_limits():
    assert MemoryType(Limits(0x10000, None)).limits.min == 0x10000
    for bad in (dict(limits=Limits(0x10001, None)), dict(limits=Limits(1, 0x100000000)),
                dict(limits=Limits(1, None), shared=True),
                dict(limits=Limits(1, None), page_size_log2=3)):
        with pytest.raises(WasmError):
            MemoryType(**bad)
    assert MemoryType(Limits(1, 1 << 48), is_64=True).is_64
    assert MemoryType(Limits(1, None), page_size_log2=0).page_size == 1
    store = Store()
    mem64 = Memory(store, MemoryType(Limits(1, None), is_64=True))
    assert mem64.type(store).is_64 and mem64.size(store) == 1
    assert mem64.grow(store, 2) == 1 and mem64.size(store) == 3
    with pytest.raises(WasmError, match="failed to grow"):
        mem64.grow(store, 1 << 40)             # beyond the host's maximum for a 64-bit memory
    with pytest.raises(WasmError, match="64-bit memory"):
        Memory(store, MemoryType(Limits(1 << 32, None), is_64=True))


def test_func_type_lists_and_linker_extras():
    ty = FuncType([ValType.i32()], [ValType.i64()])
    assert ty.params == [ValType.i32()] and ty.results == [ValType.i64()]
    ty.params.append(ValType.f32())            # a copy: the type does not change
    assert ty.params == [ValType.i32()] and hash(ty) == hash(FuncType([ValType.i32()], [ValType.i64()]))
    assert repr(ty) == "FuncType([i32], [i64])"
    engine = Engine()
    linker = Linker(engine)
    module = Module(engine, """(module (import "env" "g" (func $g (result i32 f64)))
        (func (export "f") (result i32) (drop (call $g)) ))""")
    store = Store(engine)
    linker.define_unknown_imports_as_default_values(store, module)
    assert linker.instantiate(store, module).exports(store)["f"](store) == 0
    with pytest.raises(TypeError):
        linker.instantiate_pre("not a module")  # type: ignore[arg-type]
    start = Linker(engine)
    start.define_module(store, "m", Module(engine, '(module (func (export "_start")))'))
    assert start.get_default(store, "m").type(store) == FuncType([], [])


def test_component_api_is_not_supported_yet():
    import engine.component as component
    with pytest.raises(UnsupportedError, match="not supported yet: components"):
        component.Component  # noqa: B018
    code = "from engine.component import *"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2])))
    assert proc.returncode != 0 and "not supported yet: components" in proc.stderr
    assert "ImportError" not in proc.stderr


def test_reprs_say_what_the_objects_are():
    store = Store()
    ex = _exports(store, GROW_WAT)
    assert repr(ex["mem"]) == "<Memory 1 pages>"
    assert repr(ex["tab"]) == "<Table funcref 1 elements>"
    assert repr(ex["grow"]) == "<Func grow [i32] -> [i32]>"
    assert repr(Val.i32(3)) == "Val.i32(3)"
    assert repr(ValType.funcref()) == "funcref"
    assert "Store" in repr(store) and "Engine" in repr(store)
    assert repr(Table(store, TableType(ValType.externref(), Limits(2, 5)), None)) == \
        "<Table externref 2 elements, max 5>"
    assert str(TrapCode.UNREACHABLE) == "TrapCode.UNREACHABLE"


#: a leaf whose load faults (natively: a guard-page fault, not a trap path), its caller, and a
#: recursion that overflows the stack
WALK_WAT = """(module $m (memory 1)
  (func $leaf (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "oob") (param i32) (result i32) (i32.add (call $leaf (local.get 0)) (i32.const 1)))
  (func $rec (export "rec") (param i32) (result i32) (i32.add (call $rec (local.get 0)) (i32.const 1))))"""


@pytest.mark.parametrize("executor", list(EXECUTORS))
def test_backtraces_walk_every_frame(executor):
    store = _store(executor)
    ex = _exports(store, WALK_WAT)
    with pytest.raises(Trap) as info:
        ex["oob"](store, 65536)
    assert info.value.trap_code == TrapCode.MEMORY_OUT_OF_BOUNDS
    assert [f.func_index for f in info.value.frames] == [0, 1]
    assert info.value.frames[1].module_offset is not None        # the call of the leaf
    with pytest.raises(Trap) as info:
        ex["rec"](store, 0)
    frames = info.value.frames
    assert info.value.trap_code == TrapCode.STACK_OVERFLOW
    assert len(frames) > 1000 and {f.func_index for f in frames} == {2}
    assert len({f.module_offset for f in frames[1:]}) == 1       # every caller at its one call
