"""The internal calling convention's value placement, the same rule on every target: each
argument (or result) takes the next free register of its class from the target's
`arg_regs` (`ret_regs`), and the rest travel in 8-byte stack slots numbered in order (a v128
takes two consecutive slots). A target without argument registers of its own for vectors
passes v128 values in its float registers, counted with the floats (x86_64 xmm, aarch64 v).
Targets differ only in their register lists and where the stack area sits (their abi.py).
Also what every target's frame records after register allocation (`FrameBase`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from engine.wasm.types import ValType, buffer_offsets  # noqa: F401 (the trampolines import it here)

from .base import RegClass, TargetDesc


def reg_class(t: ValType) -> RegClass:
    """The register class of a wasm value type (references live in integer registers)."""
    if t is ValType.V128:
        return RegClass.VECTOR
    return RegClass.FLOAT if t in (ValType.F32, ValType.F64) else RegClass.INT


def bits(t: ValType) -> int:
    """Register width a value of type t uses: 32 for i32/f32, 128 for v128, 64 otherwise."""
    if t is ValType.V128:
        return 128
    return 32 if t in (ValType.I32, ValType.F32) else 64


def words(t: ValType) -> range:
    """The 8-byte words a value of type t takes in a buffer or in stack slots (a v128: two)."""
    return range(2 if t is ValType.V128 else 1)


@dataclass(slots=True, frozen=True)
class ValueLoc:
    """Where one argument or result travels: a register, or stack slot `stack` (8 bytes each)."""

    reg: int | None = None
    stack: int | None = None


def assign(target: TargetDesc, types: Sequence[ValType],
           results: bool = False) -> tuple[tuple[ValueLoc, ...], int]:
    """Locations of a list of arguments (or results) on `target`; returns them (a shared tuple:
    do not change it) and the number of stack slots used. Answers are cached per target and
    signature, since signatures repeat across a module's calls."""
    key = (target.name, tuple(types), results)
    hit = _ASSIGNED.get(key)
    if hit is None:
        hit = _ASSIGNED[key] = _assign(target, key[1], results)
    return hit


def _assign(target: TargetDesc, types: tuple[ValType, ...],
            results: bool) -> tuple[tuple[ValueLoc, ...], int]:
    pools = target.ret_regs if results else target.arg_regs
    used = {RegClass.INT: 0, RegClass.FLOAT: 0, RegClass.VECTOR: 0}
    out: list[ValueLoc] = []
    nstack = 0
    for t in types:
        cls = reg_class(t)
        if cls not in pools:
            cls = RegClass.FLOAT            # vectors share the float argument registers
        regs = pools[cls]
        if used[cls] < len(regs):
            out.append(ValueLoc(reg=regs[used[cls]]))
            used[cls] += 1
        else:
            out.append(ValueLoc(stack=nstack))
            nstack += 2 if t is ValType.V128 else 1
    return tuple(out), nstack


#: assign's answers by (target name, types, results)
_ASSIGNED: dict[tuple[str, tuple[ValType, ...], bool], tuple[tuple[ValueLoc, ...], int]] = {}


@dataclass(slots=True)
class FrameBase:
    """What a function's frame holds after register allocation: the callee-saved registers it
    uses, extra slots (the saved vmctx), spill slots and the outgoing stack-argument/result
    slots. Each target's abi.Frame derives from it and adds the layout (offsets, size)."""

    callee_saved: list[int]
    extra_slots: int
    spill_slots: int
    outgoing_slots: int

    @classmethod
    def of(cls, mf, outgoing: int, callee_saved: frozenset[int]):
        """The frame of allocated machine function `mf` that needs `outgoing` stack slots for
        its calls; `callee_saved`: the target's callee-saved registers."""
        return cls(callee_saved=[r for r in mf.used_callee_saved if r in callee_saved],
                   extra_slots=mf.extra_slots, spill_slots=mf.spill_slots,
                   outgoing_slots=outgoing)
