"""An instance's function index space (engine.runtime.func.FuncSpace) and its FuncRef records
(engine.runtime.refs): instantiating makes no Func per defined function, an active element
segment of plain `ref.func`s is stored as records directly, and a reference that reaches
Python is one Func per function, whichever way it got there (export, table, host call),
natively, under Unicorn and in the interpreter."""

from __future__ import annotations

import pytest

from engine import Config, Engine, Func, FuncType, Instance, Module, Store, ValType

CONFIGS = {"interpreter": dict(strategy="interpreter"), "native": dict(strategy="compiler"),
           "aarch64": dict(strategy="compiler", target="aarch64")}
I32 = ValType.i32()
N = 120


def _wat() -> str:
    funcs = "\n".join(f'(func $f{k} (result i32) (i32.const {1000 + k}))' for k in range(N))
    names = " ".join(f"$f{k}" for k in range(N))
    return f"""(module
      (import "host" "seven" (func $seven (result i32)))
      (import "host" "take" (func $take (param funcref)))
      (type $r (func (result i32)))
      (table $t (export "table") {N + 4} funcref)
      {funcs}
      (elem (table $t) (i32.const 0) func {names})
      (elem (table $t) (i32.const {N}) funcref (ref.func $seven) (ref.null func)
                                            (ref.func $f3))
      (elem declare func $f5)
      (func (export "call") (param i32) (result i32) (call_indirect (type $r) (local.get 0)))
      (func (export "give") (call $take (ref.func $f5)))
      (func (export "f7") (result i32) (call $f7)))"""


@pytest.fixture(params=list(CONFIGS))
def setup(request):
    engine = Engine(Config(**CONFIGS[request.param]))
    store = Store(engine)
    taken: list = []
    seven = Func(store, FuncType([], [I32]), lambda: 7)
    take = Func(store, FuncType([ValType.funcref()], []), taken.append)
    inst = Instance(store, Module(engine, _wat()), [seven, take])
    return request.param, store, inst, seven, taken


def _made(inst) -> int:
    """The defined functions of `inst` that have a Func object."""
    space = inst.funcs
    return sum(f is not None for f in space._funcs[len(space.imported):])


def test_instantiating_makes_a_func_only_for_the_exported_functions(setup) -> None:
    name, store, inst, _, _ = setup
    assert len(inst.funcs) == 2 + N + 3
    assert _made(inst) == 3                           # call, give, f7
    ex = inst.exports(store)
    assert [ex["call"](store, k) for k in (0, 1, N - 1)] == [1000, 1001, 1000 + N - 1]
    assert ex["call"](store, N) == 7 and ex["call"](store, N + 2) == 1003
    assert ex["f7"](store) == 1007
    # machine code calls through the records and makes none; the interpreter looks up the
    # Func of each function it calls (0, 1, N - 1 and 3 through the table, $f7 directly)
    assert _made(inst) == (3 + 5 if name == "interpreter" else 3)


def test_a_reference_is_one_func_however_it_reaches_python(setup) -> None:
    _, store, inst, seven, taken = setup
    ex = inst.exports(store)
    table = ex["table"]
    first = table.get(store, 3)
    assert isinstance(first, Func) and first(store) == 1003
    assert table.get(store, 3) is first is table.get(store, N + 2)
    assert table.get(store, N) is seven and table.get(store, N + 1) is None
    ex["give"](store)
    assert len(taken) == 1 and taken[0](store) == 1005
    assert inst.funcs[2 + 5] is taken[0]
    table.set(store, 0, ex["f7"])                     # an exported Func written back
    assert table.get(store, 0) is ex["f7"] and ex["call"](store, 0) == 1007


def test_another_instance_s_function_stored_in_a_table_keeps_its_identity(setup) -> None:
    _, store, inst, _, _ = setup
    engine = inst.module.engine
    other = Instance(store, Module(engine, '(module (func (export "g") (result i32) '
                                           '(i32.const 42)))'), [])
    g = other.exports(store)["g"]
    table = inst.exports(store)["table"]
    table.set(store, 1, g)
    assert inst.exports(store)["call"](store, 1) == 42
    assert table.get(store, 1) is g


def test_the_function_space_reads_like_a_list(setup) -> None:
    _, _, inst, seven, _ = setup
    space = inst.funcs
    assert space[0] is seven and space[-1] is space[len(space) - 1]
    assert space[2:4] == [space[2], space[3]]
    assert len(list(space)) == len(space)
    with pytest.raises(IndexError):
        space[len(space)]
