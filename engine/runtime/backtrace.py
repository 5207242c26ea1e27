"""The frames of a trap's backtrace (errors.Frame) as executors report them: a function of a
module instance and, when it can be told, where in the module's binary it was.

Where: executors know which functions were running (the interpreter all of them, machine
code the innermost, from the trap's pc) and the trap code, not the instruction. The offset is
read from the function's own code instead: the one instruction of the function that can raise
that trap code (the trapping frame), or the one call that can reach the callee (an outer
frame). When the function has several candidates the offset is None, never a guess."""

from __future__ import annotations

import re
from typing import Any

from ..errors import Frame, TrapCode
from ..wasm.module import Instr, WasmModule
from ..wasm.opcodes import INFO, Imm, Op

_NON_SAT_TRUNC = re.compile(r"^i(32|64)\.trunc_f(32|64)_[su]$")
_DIV = re.compile(r"^i(32|64)\.(div|rem)_[su]$")
_TABLE_OPS = {"table.get", "table.set", "table.fill", "table.copy", "table.init",
              "call_indirect"}
_MEMORY_OPS = {"memory.fill", "memory.copy", "memory.init"}
_CALL = int(Op.CALL)
_CALL_INDIRECT = int(Op.CALL_INDIRECT)


def _can_raise(code: TrapCode, ins: Instr) -> bool:
    info = INFO.get(ins.op)
    if info is None:
        return False
    name = info.name
    if code == TrapCode.UNREACHABLE:
        return name == "unreachable"
    if code == TrapCode.MEMORY_OUT_OF_BOUNDS:
        return info.imm in (Imm.MEMARG, Imm.MEMARG_LANE) or name in _MEMORY_OPS
    if code == TrapCode.TABLE_OUT_OF_BOUNDS:
        return name in _TABLE_OPS
    if code in (TrapCode.INDIRECT_CALL_TO_NULL, TrapCode.BAD_SIGNATURE):
        return name == "call_indirect"
    if code == TrapCode.INTEGER_DIVISION_BY_ZERO:
        return bool(_DIV.match(name))
    if code == TrapCode.INTEGER_OVERFLOW:
        return name in ("i32.div_s", "i64.div_s") or bool(_NON_SAT_TRUNC.match(name))
    if code == TrapCode.BAD_CONVERSION_TO_INTEGER:
        return bool(_NON_SAT_TRUNC.match(name))
    return False     # stack overflow, interrupt, fuel: at function entries and loop heads


def _body(wasm: WasmModule, func_index: int) -> list[Instr] | None:
    defined = func_index - wasm.num_imported_funcs
    if 0 <= defined < len(wasm.codes):
        return wasm.codes[defined].body
    return None


def _unique(instrs: list[Instr]) -> int | None:
    return instrs[0].offset if len(instrs) == 1 else None


def trap_site(wasm: WasmModule, func_index: int, code: TrapCode | None) -> int | None:
    """The offset of the instruction of function `func_index` that raised trap `code`, when
    the function has exactly one that can."""
    body = _body(wasm, func_index)
    if body is None or code is None:
        return None
    return _unique([ins for ins in body if _can_raise(code, ins)])


def call_site(instance: Any, func_index: int, callee: Any) -> int | None:
    """The offset of the call in function `func_index` of `instance` that called Func
    `callee`, when exactly one of its calls can reach it (a direct call of it, or any
    call_indirect of its type)."""
    body = _body(instance.wasm, func_index)
    if body is None:
        return None
    funcs, types = instance.funcs, instance.types
    found = [ins for ins in body
             if (ins.op == _CALL and ins.imm < len(funcs) and funcs[ins.imm] is callee)
             or (ins.op == _CALL_INDIRECT and types[ins.imm[0]] == callee.ftype)]
    return _unique(found)


def wasm_frame(wasm: WasmModule, func_index: int, offset: int | None = None) -> Frame:
    """The Frame of function `func_index` of `wasm`, at byte `offset` of the binary if known.
    Names come from the name section only (an export name is not the function's name)."""
    func_offset = None
    if offset is not None:
        defined = func_index - wasm.num_imported_funcs
        if 0 <= defined < len(wasm.codes) and wasm.codes[defined].start >= 0:
            func_offset = offset - wasm.codes[defined].start
    return Frame(func_index, wasm.names.functions.get(func_index), wasm.names.module, offset,
                 func_offset)
