"""CompiledExecutor behind the public API (Engine/Store/Module/Instance) with riscv64 code under
Unicorn: host functions, tables, globals, memory growth shared with the runtime, traps with
the trapping function named, fuel."""

from __future__ import annotations

import pytest

from engine import (Config, Engine, Func, FuncType, Instance, Limits, Module, Store, Table,
                    TableType, Trap, TrapCode, ValType)

from test_exec_compiled_executor import WAT


def _instance(**config):
    from engine.exec.compiled import CompiledExecutor
    cfg = Config(**config)
    cfg.strategy = "compiler"
    cfg.target = "riscv64"
    eng = Engine(cfg)
    eng._state.executor = CompiledExecutor(eng._state)
    store = Store(eng)
    seen = []

    def log(x):
        seen.append(x)
        if x == 13:
            raise Trap("unlucky")
        return x + 1

    f_log = Func(store, FuncType([ValType.i32()], [ValType.i32()]), log)
    tab = Table(store, TableType(ValType.funcref(), Limits(2, None)), None)
    inst = Instance(store, Module(eng, WAT), [f_log, tab])
    return store, inst.exports(store), seen


def test_riscv64_code_runs_with_the_runtime():
    store, ex, seen = _instance()
    assert ex["fib"](store, 15) == 610
    assert ex["via"](store, 4, 1) == 5          # call_indirect to the imported host function
    assert seen == [4]
    assert ex["g"](store) == 5 + 4
    with pytest.raises(Trap):
        ex["via"](store, 13, 1)                   # the host function raised
    with pytest.raises(Trap) as e:
        ex["via"](store, 0, 7)                    # out of the table
    assert e.value.trap_code == TrapCode.TABLE_OUT_OF_BOUNDS
    with pytest.raises(Trap) as e:
        ex["ext"](store, 0)                       # null entry in the imported table
    assert e.value.trap_code == TrapCode.INDIRECT_CALL_TO_NULL
    mem = ex["mem"]
    assert ex["grow"](store, 1) == 1
    ex["poke"](store, 65536 + 9, 0x0A0B0C0D)      # misaligned, in the grown page
    assert bytes(mem.read(store, 65545, 65549)) == bytes([0x0D, 0x0C, 0x0B, 0x0A])
    with pytest.raises(Trap) as e:
        ex["poke"](store, 3 * 65536, 1)
    assert e.value.trap_code == TrapCode.MEMORY_OUT_OF_BOUNDS
    assert ex["grow"](store, 5) == -1             # beyond the maximum


def test_riscv64_fuel():
    store, ex, _ = _instance(consume_fuel=True)
    store.set_fuel(10_000)
    ex["spin"](store, 100)
    left = store.get_fuel()
    assert 0 < left < 10_000
    with pytest.raises(Trap) as e:
        ex["spin"](store, 1_000_000)
    assert e.value.trap_code == TrapCode.OUT_OF_FUEL
