"""Objects of another Store or Engine are refused, in every way they can meet (issue #15,
item 13), as wasmtime does: wasmtime-py raises WasmtimeError ("reference used with wrong
store", "cross-`Store` instantiation is not currently supported", an error of the call for a
host function returning another store's Func) or aborts the process ("object used with the
wrong store"); polyjit raises WasmError (a Trap, for a host function's result).

The 17 ways, one test each (interpreter and native x86_64; aarch64 under Unicorn too where a
Func crosses into machine code):
 1 Table(store, type, init) with a foreign Func        10 Func called with another Store
 2 Table.set with another Store's Func                 11 Func.type with another Store
 3 Table.set with another Engine's Func                12 export's funcref param: other Store's Func
 4 Table.grow with a foreign Func as init              13 export's funcref param: other Engine's Func
 5 Global(store, funcref type, foreign Func)          14 host function returns other Store's Func
 6 Global.set_value with a foreign Func                15 host function returns other Engine's Func
 7 Memory methods with another Store                   16 imports / Linker.define of another Store's items
 8 Global methods with another Store                   17 Module of another Engine; exports(other Store)
 9 Table methods with another Store
"""

from __future__ import annotations

import pytest

from engine import (Config, Engine, Func, FuncType, Global, GlobalType, Instance, Limits, Linker,
                    LinkError, Memory, MemoryType, Module, Store, Table, TableType, Trap, ValType,
                    WasmError)

I32, FUNCREF = ValType.i32(), ValType.funcref()
CONFIGS = {"interpreter": dict(strategy="interpreter"), "native": dict(strategy="compiler"),
           "aarch64": dict(strategy="compiler", target="aarch64")}
WRONG_STORE = "different Store"
WRONG_ENGINE = "different Engine"


class Env:
    """A store, another store of the same engine, a store of another engine (aarch64 under
    Unicorn, or native for the aarch64 config) and a Func in each."""

    def __init__(self, name: str) -> None:
        self.engine = Engine(Config(**CONFIGS[name]))
        self.store = Store(self.engine)
        self.other = Store(self.engine)
        far = "native" if name == "aarch64" else "aarch64"
        self.far_engine = Engine(Config(**CONFIGS[far]))
        self.far = Store(self.far_engine)
        ty = FuncType([], [I32])
        self.own_func = Func(self.store, ty, lambda: 1)
        self.other_func = Func(self.other, ty, lambda: 2)
        self.far_func = Func(self.far, ty, lambda: 3)


@pytest.fixture(params=["interpreter", "native"])
def env(request) -> Env:
    return Env(request.param)


@pytest.fixture(params=["interpreter", "native", "aarch64"])
def crossing_env(request) -> Env:
    """For the ways where a Func crosses into running code."""
    return Env(request.param)


TABLE = TableType(FUNCREF, Limits(2, None))


def test_01_table_init_with_a_foreign_func(env):
    assert Table(env.store, TABLE, env.own_func).get(env.store, 1) is env.own_func
    for f, why in ((env.other_func, WRONG_STORE), (env.far_func, WRONG_ENGINE)):
        with pytest.raises(WasmError, match=why):
            Table(env.store, TABLE, f)


def test_02_table_set_with_another_stores_func(env):
    table = Table(env.store, TABLE, None)
    table.set(env.store, 0, env.own_func)
    with pytest.raises(WasmError, match=WRONG_STORE):
        table.set(env.store, 1, env.other_func)
    assert table.get(env.store, 1) is None


def test_03_table_set_with_another_engines_func(env):
    table = Table(env.store, TABLE, None)
    with pytest.raises(WasmError, match=WRONG_ENGINE):
        table.set(env.store, 0, env.far_func)
    assert table.get(env.store, 0) is None


def test_04_table_grow_with_a_foreign_init(env):
    table = Table(env.store, TABLE, None)
    for f in (env.other_func, env.far_func):
        with pytest.raises(WasmError, match="wrong Store"):
            table.grow(env.store, 1, f)
    assert table.size(env.store) == 2
    assert table.grow(env.store, 1, env.own_func) == 2


GLOBAL = GlobalType(FUNCREF, True)


def test_05_global_init_with_a_foreign_func(env):
    assert Global(env.store, GLOBAL, env.own_func).value(env.store) is env.own_func
    for f in (env.other_func, env.far_func):
        with pytest.raises(WasmError, match="wrong Store"):
            Global(env.store, GLOBAL, f)


def test_06_global_set_value_with_a_foreign_func(env):
    g = Global(env.store, GLOBAL, None)
    for f in (env.other_func, env.far_func):
        with pytest.raises(WasmError, match="wrong Store"):
            g.set_value(env.store, f)
    assert g.value(env.store) is None


def test_07_memory_with_another_store(env):
    mem = Memory(env.store, MemoryType(Limits(1, 4)))
    calls = [lambda s: mem.read(s, 0, 4), lambda s: mem.write(s, b"x", 0),
             lambda s: mem.grow(s, 1), lambda s: mem.size(s), lambda s: mem.data_len(s),
             lambda s: mem.type(s), lambda s: mem.data_ptr(s), lambda s: mem.get_buffer_ptr(s)]
    for call in calls:
        for s in (env.other, env.far):
            with pytest.raises(WasmError, match=WRONG_STORE):
                call(s)
        call(env.store)                       # the owner still may
    with pytest.raises(WasmError, match="expects a Store"):
        mem.read(None, 0, 4)
    assert mem.size(env.store) == 2           # only the owner's grow happened


def test_08_global_with_another_store(env):
    g = Global(env.store, GlobalType(I32, True), 5)
    for s in (env.other, env.far):
        for call in (lambda: g.value(s), lambda: g.set_value(s, 6), lambda: g.type(s)):
            with pytest.raises(WasmError, match=WRONG_STORE):
                call()
    assert g.value(env.store) == 5


def test_09_table_with_another_store(env):
    table = Table(env.store, TABLE, env.own_func)
    for s in (env.other, env.far):
        for call in (lambda: table.get(s, 0), lambda: table.set(s, 0, None),
                     lambda: table.grow(s, 1, None), lambda: table.size(s),
                     lambda: table.type(s)):
            with pytest.raises(WasmError, match=WRONG_STORE):
                call()
    assert table.size(env.store) == 2 and table.get(env.store, 0) is env.own_func


def test_10_func_called_with_another_store(env):
    assert env.own_func(env.store) == 1
    for s in (env.other, env.far):
        with pytest.raises(WasmError, match=WRONG_STORE):
            env.own_func(s)


def test_11_func_type_with_another_store(env):
    assert list(env.own_func.type(env.store).results) == [I32]
    with pytest.raises(WasmError, match=WRONG_STORE):
        env.own_func.type(env.other)


PUT_WAT = """(module (type $r (func (result i32))) (table 2 funcref)
  (func (export "put") (param funcref) (table.set 0 (i32.const 0) (local.get 0)))
  (func (export "call") (result i32) (call_indirect (type $r) (i32.const 0))))"""


def _put_call(env: Env):
    ex = Instance(env.store, Module(env.engine, PUT_WAT), []).exports(env.store)
    return ex["put"], ex["call"]


def test_12_export_funcref_param_from_another_store(crossing_env):
    env = crossing_env
    put, call = _put_call(env)
    put(env.store, env.own_func)
    assert call(env.store) == 1
    with pytest.raises(WasmError, match=f"argument 0: .*{WRONG_STORE}"):
        put(env.store, env.other_func)
    assert call(env.store) == 1               # the table still holds the own Func


def test_13_export_funcref_param_from_another_engine(crossing_env):
    env = crossing_env
    put, call = _put_call(env)
    with pytest.raises(WasmError, match=f"argument 0: .*{WRONG_ENGINE}"):
        put(env.store, env.far_func)
    with pytest.raises(Trap, match="uninitialized element"):
        call(env.store)                       # nothing was stored


RETURN_WAT = """(module (type $r (func (result i32)))
  (import "" "h" (func $h (result funcref))) (table 1 funcref)
  (func (export "go") (result i32)
    (table.set 0 (i32.const 0) (call $h))
    (call_indirect (type $r) (i32.const 0))))"""


def _returning(env: Env, func: Func):
    h = Func(env.store, FuncType([], [FUNCREF]), lambda: func)
    return Instance(env.store, Module(env.engine, RETURN_WAT), [h]).exports(env.store)["go"]


def test_14_host_returns_another_stores_func(crossing_env):
    env = crossing_env
    assert _returning(env, env.own_func)(env.store) == 1
    go = _returning(env, env.other_func)
    with pytest.raises(WasmError, match=f"host function returned a bad result: .*{WRONG_STORE}"):
        go(env.store)


def test_15_host_returns_another_engines_func(crossing_env):
    env = crossing_env
    go = _returning(env, env.far_func)
    with pytest.raises(WasmError, match=f"host function returned a bad result: .*{WRONG_ENGINE}"):
        go(env.store)


IMPORTS_WAT = """(module (import "" "f" (func (result i32))) (import "" "m" (memory 1))
  (import "" "t" (table 1 funcref)) (import "" "g" (global i32)))"""


def test_16_imports_and_linker_items_of_another_store(env):
    m = Module(env.engine, IMPORTS_WAT)

    def items(s):
        return [Func(s, FuncType([], [I32]), lambda: 0), Memory(s, MemoryType(Limits(1))),
                Table(s, TableType(FUNCREF, Limits(1)), None),
                Global(s, GlobalType(I32, False), 0)]
    Instance(env.store, m, items(env.store))
    for i in range(4):
        mixed = items(env.store)
        mixed[i] = items(env.other)[i]
        with pytest.raises(WasmError, match=WRONG_STORE):
            Instance(env.store, m, mixed)
    linker = Linker(env.engine)
    for item in items(env.other):
        with pytest.raises(WasmError, match=WRONG_STORE):
            linker.define(env.store, "", "x", item)
    other_inst = Instance(env.other, Module(env.engine, "(module)"), [])
    with pytest.raises(WasmError, match=WRONG_STORE):
        linker.define_instance(env.store, "i", other_inst)


def test_17_module_of_another_engine_and_exports_of_another_store(env):
    far_module = Module(env.far_engine, "(module (func (export \"f\")))")
    with pytest.raises(WasmError, match="different engine"):
        Instance(env.store, far_module, [])
    with pytest.raises(WasmError, match="different engine"):
        Linker(env.engine).instantiate(env.store, far_module)
    inst = Instance(env.store, Module(env.engine, "(module (func (export \"f\")))"), [])
    assert list(inst.exports(env.store)) == ["f"]
    with pytest.raises(WasmError, match=WRONG_STORE):
        inst.exports(env.other)
    with pytest.raises(LinkError):
        Instance(env.store, Module(env.engine, IMPORTS_WAT), [])
