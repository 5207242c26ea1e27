"""engine/exec/emulator.py: a fault of emulated code (an access the sandbox's own code never
makes) is a WasmError naming the instruction's address and the access, and the machine
still runs afterwards."""

from __future__ import annotations

import pytest
from keystone import KS_ARCH_X86, KS_MODE_64

from backends.base import CompiledCode
from backends.keystone_asm import keystone_asm
from engine.errors import WasmError
from engine.environ import vmctx as V
from engine.exec.emulator import EmulatedMachine
from engine.runtime.arena import Arena

# entry(vmctx=rdi, code=rsi, args=rdx): reads 8 bytes at [rdi + 0x5000000], returns 0
_CODE = ("bad:\nmov rax, qword ptr [rdi + 0x5000000]\nxor eax, eax\nret\n"
         "good:\nmov qword ptr [rdx], 42\nxor eax, eax\nret\n")


def _machine():
    code = keystone_asm(KS_ARCH_X86, KS_MODE_64, _CODE)
    bad_len = len(keystone_asm(KS_ARCH_X86, KS_MODE_64, _CODE.split("good:")[0]))
    arena = Arena()
    m = EmulatedMachine("x86_64", arena, arena.alloc(V.STATE_SIZE), [])
    compiled = CompiledCode("x86_64", code, {"bad": 0, "good": bad_len})
    return m, m.load(compiled), compiled


def test_fault_names_pc_and_access_then_machine_runs_on():
    m, unit, _compiled = _machine()
    vmctx = m.space.alloc(64)
    with pytest.raises(WasmError) as info:
        m.call(unit.address("bad"), vmctx, 0, [], 0)
    text = str(info.value)
    assert f"faulted at {unit.base:#x}" in text
    assert f"read of 8 bytes at {vmctx + 0x5000000:#x}" in text
    assert m.call(unit.address("good"), vmctx, 0, [], 1) == [42]


# -- guard-page bounds under Unicorn (Config.signals_based_traps, the default when emulating) --

_BOUNDS = """(module (memory 1)
  (func $ld (export "ld") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "ld_deep") (param i32) (result i32) (call $ld (local.get 0)))
  (func (export "st") (param i32) (i32.store8 offset=3 (local.get 0) (i32.const 7)))
  (func (export "grow") (result i32) (memory.grow (i32.const 1))))"""


@pytest.mark.parametrize("target", ["x86_64", "aarch64", "riscv64"])
@pytest.mark.parametrize("guard", [True, False], ids=["guard", "checked"])
def test_out_of_bounds_is_the_same_trap_with_guard_pages_or_checks(target, guard):
    from engine import Config, Engine, Instance, Module, Store, Trap, TrapCode
    engine = Engine(Config(target=target, emulate=True, signals_based_traps=guard))
    store = Store(engine)
    ex = Instance(store, Module(engine, _BOUNDS), []).exports(store)
    oob = TrapCode.MEMORY_OUT_OF_BOUNDS
    assert ex["ld"](store, 65532) == 0
    for addr in (65533, 65536, 0x7FFFFFFF, 0xFFFFFFFF):
        with pytest.raises(Trap) as info:
            ex["ld"](store, addr)
        assert info.value.trap_code == oob
    with pytest.raises(Trap) as info:
        ex["ld_deep"](store, 70000)
    assert info.value.trap_code == oob and [f.func_index for f in info.value.frames] == [0, 1]
    with pytest.raises(Trap):
        ex["st"](store, 65533)        # offset 3: the byte at 65536
    ex["st"](store, 65532)
    assert ex["ld"](store, 65532) == 7 << 24
    # the pages growth adds are accessible, and only those
    assert ex["grow"](store) == 1
    ex["st"](store, 65533)
    assert ex["ld"](store, 65536) == 7
    with pytest.raises(Trap):
        ex["ld"](store, 131069)
    assert ex["ld"](store, 131068) == 0


def test_guarded_empty_memory_traps_at_zero():
    from engine import Config, Engine, Instance, Module, Store, Trap, TrapCode
    engine = Engine(Config(target="aarch64"))
    store = Store(engine)
    ex = Instance(store, Module(engine, """(module (memory 0)
      (func (export "ld") (param i32) (result i32) (i32.load8_u (local.get 0))))"""),
                  []).exports(store)
    with pytest.raises(Trap) as info:
        ex["ld"](store, 0)
    assert info.value.trap_code == TrapCode.MEMORY_OUT_OF_BOUNDS


@pytest.mark.parametrize("target", ["x86_64", "aarch64", "riscv64"])
def test_a_straddling_store_writes_nothing(target):
    """Under Unicorn a store that runs past the end of a guarded memory would write its
    in-bounds bytes before faulting, so emulated stores keep their explicit check."""
    from engine import Config, Engine, Instance, Module, Store, Trap
    engine = Engine(Config(target=target, emulate=True))
    store = Store(engine)
    ex = Instance(store, Module(engine, """(module (memory 1)
      (func (export "st") (param i32) (i64.store (local.get 0) (i64.const -1)))
      (func (export "ld") (param i32) (result i64) (i64.load (local.get 0))))"""),
                  []).exports(store)
    for addr in (65529, 65533, 65535):
        with pytest.raises(Trap):
            ex["st"](store, addr)
    assert ex["ld"](store, 65528) == 0
