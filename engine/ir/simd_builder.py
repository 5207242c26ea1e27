"""The IR builder's translation of the wasm SIMD instructions (0xFD prefix): one IR opcode per
instruction (engine/ir/README.md, "SIMD"), a ``heap_check`` of the access size before every
memory form."""

from __future__ import annotations

from typing import Callable

from ..wasm.types import ValType
from .ir import HeapImm, ImmKind, MemImm, MemLaneImm, Opcode
from .simd import ACCESS_SIZE, FROM_WASM, SIGNATURES, SIMD_MEMORY

#: emit(opcode, args, result type or None, imm) -> result value (-1 without a result)
Emit = Callable[[Opcode, list, "ValType | None", object], int]


def translate(emit: Emit, wasm_op: int, imm: object, stack: list[int],
              narrow: Callable[[Emit, int, int], tuple[int, int]] | None = None,
              wide_memories: frozenset[int] = frozenset()) -> None:
    """Translate one validated SIMD instruction, popping its operands from and pushing its
    result onto the builder's operand `stack`. A memory form on one of `wide_memories` (64-bit,
    memory64) has its i64 address narrowed first by `narrow` (engine.ir.addr64.narrow_address:
    (emit, address, offset) -> (i32 address, offset))."""
    op = FROM_WASM[wasm_op]
    params, results = SIGNATURES[op]
    n = len(params)
    args = stack[len(stack) - n:] if n else []
    if n:
        del stack[-n:]
    kind = op.info.imm
    if op in SIMD_MEMORY:
        memarg = imm[0] if kind is ImmKind.MEM_LANE else imm  # type: ignore[index]
        offset = memarg.offset
        if narrow is not None and memarg.memory in wide_memories:
            args[0], offset = narrow(emit, args[0], offset)
        emit(Opcode.HEAP_CHECK, [args[0]], None, HeapImm(memarg.memory, offset, ACCESS_SIZE[op]))
        if kind is ImmKind.MEM_LANE:
            ir_imm: object = MemLaneImm(memarg.memory, offset, imm[1])  # type: ignore
        else:
            ir_imm = MemImm(memarg.memory, offset)
    elif kind is ImmKind.BITS:                  # v128.const: the 16 bytes, little-endian
        ir_imm = int.from_bytes(imm, "little")  # type: ignore[arg-type]
    elif kind is ImmKind.SHUFFLE:
        ir_imm = tuple(imm)                     # type: ignore[arg-type]
    else:
        ir_imm = imm                            # a lane index, or None
    v = emit(op, args, results[0] if results else None, ir_imm)
    if results:
        stack.append(v)

