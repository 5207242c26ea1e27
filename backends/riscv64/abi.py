"""The riscv64 internal calling convention and frame layout.

Arguments: integers/references in a0-a7, floats in fa0-fa7; the rest in 8-byte stack slots at
[sp + 8k] of the caller (k counting only stack-passed values), which the callee reads at
[s0 + 8k] (s0, the frame pointer, is the stack pointer at entry). Results: a0, a1 / fa0, fa1,
the rest written by the callee into the same stack area ([s0 + 8k]); the caller reserves
max(stack args, stack results) slots. vmctx in s11 (callers of imports and call_ref restore it
from a frame slot), heap base in s10 (callers reload it after a call, since the callee may
grow memory). sp stays 16-byte aligned.

Frame (s0-based, growing down): [s0-8] return address, [s0-16] caller's s0, then the used
callee-saved registers, then extra slots (saved vmctx), then spill slots, then the outgoing
stack-argument area at the bottom (sp). The prologue traps STACK_OVERFLOW when sp minus the
frame size is below vmctx's stack limit. A leaf that calls nothing and has no spills, saved
registers or stack arguments/results gets no frame (and no check: it uses no stack).

Value representation in registers: an i32 is kept sign-extended to 64 bits (the RV64 *w
instructions' convention), so 64-bit compares and branches order i32 values correctly, both
signed and unsigned; it is zero-extended where it becomes an address or table index.
An f32 is NaN-boxed in a 64-bit float register (as flw and the .s instructions leave it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from engine.wasm.types import ValType

from .. import callconv
from ..callconv import FrameBase, ValueLoc, bits, reg_class
from .target import TARGET

__all__ = ["Frame", "ValueLoc", "assign", "bits", "load_op", "reg_class", "store_op"]


def assign(types: Sequence[ValType], results: bool = False) -> tuple[Sequence[ValueLoc], int]:
    """Locations of a list of arguments (or results); returns them and the stack slot count
    (the shared rule of backends/callconv.py over riscv64's registers)."""
    return callconv.assign(TARGET, types, results)


def load_op(t: ValType) -> str:
    """The load that brings a value of type t from an 8-byte slot into its register class
    (i32 sign-extended, f32 NaN-boxed)."""
    return {ValType.I32: "lw", ValType.F32: "flw", ValType.F64: "fld"}.get(t, "ld")


def store_op(t: ValType) -> str:
    return {ValType.I32: "sw", ValType.F32: "fsw", ValType.F64: "fsd"}.get(t, "sd")


@dataclass(slots=True)
class Frame(FrameBase):
    """The frame of one function after register allocation."""

    @property
    def size(self) -> int:
        """Bytes from sp to s0 (16-aligned)."""
        n = 2 + len(self.callee_saved) + self.extra_slots + self.spill_slots + self.outgoing_slots
        return (8 * n + 15) & ~15

    def saved_offset(self, i: int) -> int:
        """s0-relative offset of the i-th saved callee-saved register."""
        return -8 * (3 + i)

    def extra_offset(self, i: int) -> int:
        return -8 * (3 + len(self.callee_saved) + i)

    def spill_offset(self, i: int) -> int:
        return -8 * (3 + len(self.callee_saved) + self.extra_slots + i)
