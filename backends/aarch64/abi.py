"""The aarch64 internal calling convention and frame layout.

Arguments: integers/references in x0-x7, floats in d0-d7 (s0-s7 for f32), v128 in q0-q7 counted
with the floats; the rest in 8-byte stack slots at [sp + 8k] of the caller (k counting only
stack-passed values; a v128 takes two, at any 8-byte offset), which the callee reads at
[x29 + 16 + 8k]. Results: x0, x1 / d0, d1 (q0, q1), the rest written by the callee into the same
stack area ([x29 + 16 + 8k]); the caller reserves max(stack args, stack results) slots. vmctx
in x28 (a callee that changes it restores it), heap base of memory 0 in x27 (reloaded by callers
after a call). sp is 16-byte aligned everywhere.

Frame, from the top: the caller's stack arguments, then the pair (x29, x30) that x29 points at,
then (from sp upwards) the outgoing argument area (rounded up to 16 bytes), spill slots (a v128
takes an even-numbered pair, so its 16 bytes are aligned), extra slots (the saved vmctx), and
the used callee-saved registers; the whole area below x29 is a multiple of 16 bytes. Every
slot is addressed from sp with a scaled unsigned 12-bit offset, which bounds a frame at 32 KiB.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from engine.errors import UnsupportedError
from engine.wasm.types import ValType

from .. import callconv
from ..callconv import FrameBase, ValueLoc, bits, reg_class
from .target import TARGET

__all__ = ["Frame", "MAX_SLOT_OFFSET", "ValueLoc", "assign", "bits", "reg_class"]

#: the largest sp offset an 8-byte ldr/str encodes (scaled unsigned 12-bit)
MAX_SLOT_OFFSET = 8 * 4095


def assign(types: Sequence[ValType], results: bool = False) -> tuple[Sequence[ValueLoc], int]:
    """Locations of a list of arguments (or results); returns them and the stack slot count."""
    return callconv.assign(TARGET, types, results)


@dataclass(slots=True)
class Frame(FrameBase):
    """The frame of one function after register allocation (offsets are from sp)."""

    def __post_init__(self) -> None:
        top = 8 * (self.spill_base + self.spill_slots + self.extra_slots
                   + len(self.callee_saved))
        if top > MAX_SLOT_OFFSET:
            raise UnsupportedError(f"aarch64 frame of {top} bytes (the limit is 32 KiB)")

    @property
    def locals_size(self) -> int:
        """Bytes between sp and x29 (a multiple of 16)."""
        size = 8 * (self.spill_base + self.spill_slots + self.extra_slots
                    + len(self.callee_saved))
        return (size + 15) & ~15

    @property
    def spill_base(self) -> int:
        """Slots below the spill area: the outgoing ones, rounded up to keep the spill area
        16-byte aligned (a v128 spill takes an even-numbered pair of slots)."""
        return self.outgoing_slots + (self.outgoing_slots & 1)

    def spill_offset(self, i: int) -> int:
        return 8 * (self.spill_base + i)

    def extra_offset(self, i: int) -> int:
        return 8 * (self.spill_base + self.spill_slots + i)

    def saved_offset(self, i: int) -> int:
        return 8 * (self.spill_base + self.spill_slots + self.extra_slots + i)
