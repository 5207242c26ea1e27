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
