"""The x86_64 internal calling convention and frame layout.

Arguments: integers/references in rdi, rsi, rdx, rcx, r8, r9; floats in xmm0-xmm7; the rest in
8-byte stack slots at [rsp + 8k] of the caller (k counting only stack-passed values), which the
callee reads at [rbp + 16 + 8k]. Results: rax, rdx / xmm0, xmm1, the rest written by the callee
into the same stack area ([rbp + 16 + 8k]); the caller reserves max(stack args, stack results)
slots. vmctx in r15 (restored by the callee), heap base in r14 (callers reload it after a
call, since the callee may grow memory). Every call site has rsp 16-byte aligned.

Frame (rbp-based): [rbp+8] return address, [rbp] saved rbp, then the used callee-saved
registers, then extra slots (saved vmctx), then spill slots, then the outgoing stack-argument
area at the bottom (rsp).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from engine.wasm.types import ValType

from .. import callconv
from ..callconv import FrameBase, ValueLoc, bits, reg_class
from .target import TARGET

__all__ = ["Frame", "ValueLoc", "assign", "bits", "reg_class"]


def assign(types: Sequence[ValType], results: bool = False) -> tuple[Sequence[ValueLoc], int]:
    """Locations of a list of arguments (or results); returns them (a shared tuple: do not
    change it) and the stack slot count (the shared rule of backends/callconv.py over
    x86_64's registers)."""
    return callconv.assign(TARGET, types, results)


@dataclass(slots=True)
class Frame(FrameBase):
    """The frame of one function after register allocation."""

    @property
    def locals_size(self) -> int:
        """Bytes below the pushed registers, keeping rsp 16-aligned at call sites."""
        size = 8 * (self.extra_slots + self.spill_slots + self.outgoing_slots)
        pushed = 8 * len(self.callee_saved)  # after push rbp, rsp is 16-aligned
        if (size + pushed) % 16:
            size += 8
        return size

    def extra_offset(self, i: int) -> int:
        """rbp-relative offset of extra slot i."""
        return -8 * (len(self.callee_saved) + 1 + i)

    def spill_offset(self, i: int) -> int:
        return -8 * (len(self.callee_saved) + self.extra_slots + 1 + i)
