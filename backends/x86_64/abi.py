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

from ..base import RegClass
from .target import TARGET


def reg_class(t: ValType) -> RegClass:
    return RegClass.FLOAT if t in (ValType.F32, ValType.F64) else RegClass.INT


def bits(t: ValType) -> int:
    return 32 if t in (ValType.I32, ValType.F32) else 64


@dataclass(slots=True, frozen=True)
class ValueLoc:
    """Where one argument or result travels: a register, or stack slot `stack` (8 bytes each)."""

    reg: int | None = None
    stack: int | None = None


def assign(types: Sequence[ValType], results: bool = False) -> tuple[Sequence[ValueLoc], int]:
    """Locations of a list of arguments (or results); returns them (a shared tuple: do not
    change it) and the stack slot count."""
    key = (tuple(types), results)
    hit = _ASSIGNED.get(key)
    if hit is None:
        hit = _ASSIGNED[key] = _assign(key[0], results)
    return hit


def _assign(types: tuple[ValType, ...], results: bool) -> tuple[tuple[ValueLoc, ...], int]:
    pools = TARGET.ret_regs if results else TARGET.arg_regs
    int_regs, float_regs = pools[RegClass.INT], pools[RegClass.FLOAT]
    n_int = n_float = 0
    out: list[ValueLoc] = []
    nstack = 0
    for t in types:
        if t is ValType.F32 or t is ValType.F64:
            if n_float < len(float_regs):
                out.append(ValueLoc(reg=float_regs[n_float]))
                n_float += 1
                continue
        elif n_int < len(int_regs):
            out.append(ValueLoc(reg=int_regs[n_int]))
            n_int += 1
            continue
        out.append(ValueLoc(stack=nstack))
        nstack += 1
    return tuple(out), nstack


#: assign's answers by (types, results): signatures repeat across a module's calls
_ASSIGNED: dict[tuple[tuple[ValType, ...], bool], tuple[tuple[ValueLoc, ...], int]] = {}


@dataclass(slots=True)
class Frame:
    """The frame of one function after register allocation."""

    callee_saved: list[int]
    extra_slots: int
    spill_slots: int
    outgoing_slots: int

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
