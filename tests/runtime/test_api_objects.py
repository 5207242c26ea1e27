"""The runtime's API objects in wasmtime-py's shapes: Store, Memory, Table, Global, Func (host),
Instance (imports, exports), Linker, and the strategy check at instantiation."""

from __future__ import annotations

import ctypes

import pytest

import engine
from engine import (Config, Engine, Func, FuncType, Global, GlobalType, Instance, Limits, LinkError,
                    Linker, Memory, MemoryType, Module, Store, Table, TableType, Trap,
                    ValType, WasmError, wat2wasm)

I32, I64, F32, F64 = ValType.i32(), ValType.i64(), ValType.f32(), ValType.f64()


@pytest.fixture
def store() -> Store:
    return Store(Engine(Config(strategy="interpreter")))


def module(store: Store, wat: str) -> Module:
    return Module(store.engine, wat2wasm(wat))


# ---- Memory ---------------------------------------------------------------------------------

def test_memory_size_grow_read_write(store):
    mem = Memory(store, MemoryType(Limits(1, 3)))
    assert mem.size(store) == 1 and mem.data_len(store) == 65536
    assert mem.write(store, b"hello", 10) == 5
    assert bytes(mem.read(store, 10, 15)) == b"hello"
    assert mem.grow(store, 2) == 1
    assert mem.size(store) == 3 and mem.data_len(store) == 3 * 65536
    assert bytes(mem.read(store, 10, 15)) == b"hello"          # contents survive a move
    with pytest.raises(WasmError):
        mem.grow(store, 1)                                       # beyond the maximum
    with pytest.raises(IndexError):
        mem.write(store, b"xx", 3 * 65536 - 1)
    with pytest.raises(WasmError):
        mem.write(store, b"xx", 3 * 65536)
    with pytest.raises(WasmError):
        mem.read(store, "0")
    assert mem.type(store).limits == Limits(3, 3)


def test_memory_base_address_sees_the_bytes(store):
    mem = Memory(store, MemoryType(Limits(1)))
    mem.write(store, b"\x01\x02\x03\x04", 100)
    ptr = mem.data_ptr(store)
    assert ptr[100] == 1 and ptr[103] == 4
    raw = (ctypes.c_ubyte * 4).from_address(mem.base_address() + 100)
    raw[0] = 0x7F                                                # writes through the address
    assert mem.read(store, 100, 101) == bytearray(b"\x7f")
    mem.grow(store, 1)                                           # may move
    assert mem.data_ptr(store)[100] == 0x7F
    assert mem.get_buffer_ptr(store, 4, 100)[3] == 4


def test_memory_zero_pages_and_limits(store):
    mem = Memory(store, MemoryType(Limits(0)))
    assert mem.data_len(store) == 0 and mem.read(store) == bytearray()
    assert mem.grow(store, 0) == 0
    assert mem.grow_pages(65537) == -1
    with pytest.raises(WasmError):
        Memory(store, MemoryType(Limits(2, 1)))
    with pytest.raises(WasmError):
        Memory(store, MemoryType(Limits(65537)))


# ---- Table ----------------------------------------------------------------------------------

def test_table_get_set_grow(store):
    tab = Table(store, TableType(ValType.externref(), Limits(2, 5)), "init")
    assert tab.size(store) == 2 and tab.get(store, 1) == "init"
    obj = object()
    tab.set(store, 0, obj)
    assert tab.get(store, 0) is obj
    assert tab.grow(store, 2, None) == 2
    assert tab.size(store) == 4 and tab.get(store, 3) is None
    assert tab.get(store, 99) is None
    with pytest.raises(WasmError):
        tab.set(store, 4, 1)
    with pytest.raises(WasmError):
        tab.grow(store, 2, None)                                 # beyond the maximum


def test_funcref_table_accepts_only_funcs(store):
    tab = Table(store, TableType(ValType.funcref(), Limits(1)), None)
    f = Func(store, FuncType([], []), lambda: None)
    tab.set(store, 0, f)
    assert tab.get(store, 0) is f
    with pytest.raises(WasmError):
        tab.set(store, 0, "not a function")


# ---- Global ---------------------------------------------------------------------------------

def test_globals(store):
    g = Global(store, GlobalType(I64, True), -5)
    assert g.value(store) == -5
    g.set_value(store, 2**64 - 1)
    assert g.value(store) == -1
    c = Global(store, GlobalType(F32, False), 0.1)
    assert c.value(store) == ctypes.c_float(0.1).value             # rounded to float32
    with pytest.raises(WasmError):
        c.set_value(store, 1.0)
    with pytest.raises(WasmError):
        Global(store, GlobalType(I32, False), 2**32)
    with pytest.raises(WasmError):
        Global(store, GlobalType(I32, False), 1.5)
    assert c.type(store).content == F32 and not c.type(store).mutable


# ---- Func (host) ----------------------------------------------------------------------------

def test_host_func_call_shapes(store):
    none = Func(store, FuncType([I32], []), lambda x: None)
    one = Func(store, FuncType([I32, I32], [I32]), lambda a, b: a - b)
    two = Func(store, FuncType([F64], [F64, I64]), lambda x: (x * 2, 7))
    assert none(store, 1) is None
    assert one(store, 1, 3) == -2
    assert one(store, 0, 1) == -1
    assert two(store, 1.5) == [3.0, 7]
    assert one.type(store) == FuncType([I32, I32], [I32])


def test_func_argument_checks(store):
    f = Func(store, FuncType([I32], [I32]), lambda x: x)
    with pytest.raises(WasmError, match="too few"):
        f(store)
    with pytest.raises(WasmError, match="too many"):
        f(store, 1, 2)
    with pytest.raises(WasmError, match="i32"):
        f(store, "1")
    with pytest.raises(WasmError):
        f(store, 2**40)


def test_host_func_that_raises_propagates_unchanged(store):
    """As in wasmtime-py: the host function's own exception reaches the caller."""
    def boom(x):
        raise ValueError("no good")
    f = Func(store, FuncType([I32], []), boom)
    with pytest.raises(ValueError, match="no good"):
        f(store, 1)


def test_host_trap_passes_unchanged(store):
    mine = Trap("custom")
    def raiser():
        raise mine
    with pytest.raises(Trap) as info:
        Func(store, FuncType([], []), raiser)(store)
    assert info.value is mine


def test_host_bad_result_is_a_type_error(store):
    """As in wasmtime-py: a result of the wrong type is a TypeError (polyjit's
    ArgumentTypeError), the wrong number of results a WasmError."""
    f = Func(store, FuncType([], [I32]), lambda: "x")
    with pytest.raises(TypeError, match="bad result"):
        f(store)
    g = Func(store, FuncType([], [I32, I32]), lambda: 1)
    with pytest.raises(TypeError, match="has no len"):
        g(store)
    h = Func(store, FuncType([], [I32, I32]), lambda: [1, 2, 3])
    with pytest.raises(WasmError, match="wrong number of results"):
        h(store)


_HUGE = 10 ** 400   # an int that float() refuses (OverflowError)


@pytest.mark.parametrize("strategy", [{"strategy": "interpreter"}, {}, {"target": "riscv64"}])
def test_int_too_large_for_a_float(strategy):
    """wasmtime-py refuses such an int like any value it cannot convert (TypeError "don't know
    how to convert"); polyjit raises the error it raises for any bad value: WasmError for an
    argument, global value or host function's result. Never OverflowError."""
    store = Store(Engine(Config(**strategy)))
    inst = Instance(store, module(store, """(module
        (import "h" "f32" (func $h32 (result f32))) (import "h" "f64" (func $h64 (result f64)))
        (func (export "id32") (param f32) (result f32) local.get 0)
        (func (export "id64") (param f64) (result f64) local.get 0)
        (func (export "c32") (result f32) call $h32) (func (export "c64") (result f64) call $h64))"""),
        [Func(store, FuncType([], [F32]), lambda: _HUGE), Func(store, FuncType([], [F64]), lambda: -_HUGE)])
    ex = inst.exports(store)
    for name, ty in (("id32", "f32"), ("id64", "f64")):
        with pytest.raises(WasmError, match=f"argument 0: expected an {ty} .*too large for a float"):
            ex[name](store, _HUGE)
        assert ex[name](store, 2 ** 1023) == (float("inf") if ty == "f32" else 2.0 ** 1023)
    for name, ty in (("c32", "f32"), ("c64", "f64")):
        with pytest.raises(WasmError, match=f"bad result: expected an {ty} .*too large for a float"):
            ex[name](store)
    assert ex["id32"](store, 1e300) == float("inf")       # a float too large for f32 is inf
    for ty in (F32, F64):
        with pytest.raises(WasmError, match="too large for a float"):
            Global(store, GlobalType(ty, True), _HUGE)
        g = Global(store, GlobalType(ty, True), 1.0)
        with pytest.raises(WasmError, match="too large for a float"):
            g.set_value(store, -_HUGE)
        assert g.value(store) == 1.0


def test_objects_of_another_store_are_refused(store):
    other = Store(store.engine)
    f = Func(other, FuncType([], []), lambda: None)
    with pytest.raises(WasmError):
        f(store)


# ---- Instance: imports and exports ----------------------------------------------------------

IMPORTER = """(module
  (import "m" "f" (func (param i32) (result i32)))
  (import "m" "mem" (memory 1 2))
  (import "m" "g" (global (mut i64)))
  (import "m" "t" (table 2 funcref))
  (export "f" (func 0)) (export "mem" (memory 0)) (export "g" (global 0)) (export "t" (table 0)))"""


def _imports(store):
    f = Func(store, FuncType([I32], [I32]), lambda x: x)
    mem = Memory(store, MemoryType(Limits(1, 2)))
    g = Global(store, GlobalType(I64, True), 3)
    t = Table(store, TableType(ValType.funcref(), Limits(2)), None)
    return [f, mem, g, t]


def test_instance_exports_by_name_and_index(store):
    imports = _imports(store)
    inst = Instance(store, module(store, IMPORTER), imports)
    exports = inst.exports(store)
    assert exports["f"] is imports[0] and exports["mem"] is imports[1]
    assert exports[2] is imports[2] and exports.by_index[3] is imports[3]
    assert list(exports) == ["f", "mem", "g", "t"] and len(exports) == 4


@pytest.mark.parametrize("slot, bad", [
    (0, lambda s: Func(s, FuncType([I64], [I32]), lambda x: x)),
    (0, lambda s: Memory(s, MemoryType(Limits(1)))),
    (1, lambda s: Memory(s, MemoryType(Limits(0, 2)))),          # too small
    (1, lambda s: Memory(s, MemoryType(Limits(1)))),             # no maximum, one is required
    (1, lambda s: Memory(s, MemoryType(Limits(1, 3)))),          # maximum too large
    (2, lambda s: Global(s, GlobalType(I64, False), 3)),         # mutability differs
    (2, lambda s: Global(s, GlobalType(I32, True), 3)),
    (3, lambda s: Table(s, TableType(ValType.externref(), Limits(2)), None)),
    (3, lambda s: Table(s, TableType(ValType.funcref(), Limits(1)), None)),
])
def test_import_type_mismatch(store, slot, bad):
    imports = _imports(store)
    imports[slot] = bad(store)
    with pytest.raises(LinkError, match="incompatible import type"):
        Instance(store, module(store, IMPORTER), imports)


def test_import_count_mismatch(store):
    with pytest.raises(LinkError, match="expected 4 imports, found 3"):
        Instance(store, module(store, IMPORTER), _imports(store)[:3])


def test_larger_memory_and_table_satisfy_imports(store):
    imports = _imports(store)
    imports[1] = Memory(store, MemoryType(Limits(2, 2)))
    imports[3] = Table(store, TableType(ValType.funcref(), Limits(5, 10)), None)
    Instance(store, module(store, IMPORTER), imports)


# ---- Linker ---------------------------------------------------------------------------------

def test_linker_resolves_and_reports_unknown_imports(store):
    linker = Linker(store.engine)
    names = ["f", "mem", "g", "t"]
    for name, item in zip(names[:3], _imports(store)[:3]):
        linker.define(store, "m", name, item)
    with pytest.raises(LinkError, match="unknown import"):
        linker.instantiate(store, module(store, IMPORTER))
    linker.define(store, "m", "t", _imports(store)[3])
    inst = linker.instantiate(store, module(store, IMPORTER))
    assert inst.exports(store)["g"].value(store) == 3


def test_linker_define_func_and_shadowing(store):
    linker = Linker(store.engine)
    linker.define_func("m", "f", FuncType([I32], [I32]), lambda x: x + 1)
    with pytest.raises(WasmError, match="defined twice"):
        linker.define_func("m", "f", FuncType([I32], [I32]), lambda x: x + 2)
    linker.allow_shadowing = True
    linker.define_func("m", "f", FuncType([I32], [I32]), lambda x: x + 2)
    f = linker.get(store, "m", "f")
    assert f(store, 1) == 3


def test_linker_define_instance(store):
    inst = Instance(store, module(store, IMPORTER), _imports(store))
    linker = Linker(store.engine)
    linker.define_instance(store, "m", inst)
    again = linker.instantiate(store, module(store, IMPORTER))
    assert again.exports(store)["mem"] is inst.exports(store)["mem"]


# ---- strategy -------------------------------------------------------------------------------

def test_strategy_selects_the_executor_and_both_agree():
    from engine.exec.compiled import CompiledExecutor
    from engine.exec.interp import Interpreter
    from engine.runtime.executor import executor_for
    wat = '(module (func (export "f") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 7))))'
    results = {}
    for strategy, kind in (("compiler", CompiledExecutor), ("interpreter", Interpreter)):
        store = Store(Engine(Config(strategy=strategy)))
        assert isinstance(executor_for(store.engine._state), kind)
        inst = Instance(store, Module(store.engine, wat2wasm(wat)), [])
        results[strategy] = inst.exports(store)["f"](store, -6)
    assert results == {"compiler": -42, "interpreter": -42}


def test_public_names():
    for name in ("Store", "Instance", "Linker", "Func", "Memory", "Table", "Global", "Caller"):
        assert hasattr(engine, name)


def test_repeated_small_grows_keep_contents_and_zero_fill(store):
    mem = Memory(store, MemoryType(Limits(1, 200)))
    mem.write(store, b"\xAA", 65535)
    for i in range(1, 100):
        assert mem.grow(store, 1) == i
        assert mem.read(store, 65535, 65536) == bytearray(b"\xAA")
        assert mem.read(store, i * 65536, i * 65536 + 4) == bytearray(4)
    assert mem.size(store) == 100 and mem.data_len(store) == 100 * 65536


def test_linker_unknown_imports_as_traps(store):
    mod = module(store, """(module (import "env" "missing" (func $m (result i32)))
      (func (export "run") (result i32) (call $m)))""")
    linker = Linker(store.engine)
    linker.define_unknown_imports_as_traps(mod)
    run = linker.instantiate(store, mod).exports(store)["run"]
    with pytest.raises(Trap, match="env::missing"):
        run(store)


def test_64_bit_memories_and_tables_link_only_to_their_address_type(store):
    mem32, mem64 = (Memory(store, MemoryType(Limits(1), is_64=w)) for w in (False, True))
    tab32, tab64 = (Table(store, TableType(ValType.funcref(), Limits(1), is_64=w), None)
                    for w in (False, True))
    assert mem64.type(store).is_64 and tab64.type(store).is_64 and not tab32.type(store).is_64
    want_mem64 = module(store, '(module (import "m" "x" (memory i64 1)))')
    want_tab64 = module(store, '(module (import "m" "x" (table i64 1 funcref)))')
    Instance(store, want_mem64, [mem64])
    Instance(store, want_tab64, [tab64])
    with pytest.raises(LinkError, match="expected memory i64"):
        Instance(store, want_mem64, [mem32])
    with pytest.raises(LinkError, match="expected table i64"):
        Instance(store, want_tab64, [tab32])
    with pytest.raises(LinkError, match="found i64"):
        Instance(store, module(store, '(module (import "m" "x" (memory 1)))'), [mem64])
    exported = Instance(store, module(store, '(module (memory (export "m") i64 2 3))'), [])
    assert exported.exports(store)["m"].type(store) == MemoryType(Limits(2, 3), is_64=True)
