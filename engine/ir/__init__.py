"""The SSA IR: data types (ir.py), wasm-to-SSA builder, verifier, text printer/parser, passes,
and the IR interpreter (interp.py)."""

from .ir import (BITS, EXTERNREF, F32, F64, FUNCREF, I32, I64, Block, BlockCall, CallIndirectImm,
                 CopyImm, FloatCC, Function, HeapImm, ImmKind, Inst, IntCC, MemImm, Opcode,
                 SegmentImm, Type)

__all__ = ["BITS", "EXTERNREF", "F32", "F64", "FUNCREF", "I32", "I64", "Block", "BlockCall",
           "CallIndirectImm", "CopyImm", "FloatCC", "Function", "HeapImm", "ImmKind", "Inst",
           "IntCC", "MemImm", "Opcode", "SegmentImm", "Type"]
