"""aarch64 registers and the internal calling convention's register roles (AAPCS64 based).

Numbering: 0-30 are x0-x30, 31 is sp, 32-63 are the SIMD/FP registers v0-v31 (used as s/d, q
for v128). Pinned: x28 (vmctx of the running instance), x27 (base of linear memory 0: loaded by
the entry trampoline and by the prologue of functions that access memory, reloaded after
calls), x29 (frame pointer), x30 (link register). Scratch, never allocated: x16, x17 (IP0/IP1:
spill reloads, move cycles, call targets), v30, v31 (floats and vectors alike). x18 (the
platform register) is never touched.
Callee-saved per AAPCS64: x19-x28 and the low 64 bits of v8-v15; everything else a call
clobbers. Arguments: x0-x7 / d0-d7, results x0, x1 / d0, d1, the rest on the stack (abi.py).
v128 values (class VECTOR) live in the same v registers as floats and travel in the float
argument registers, but never in v8-v15: AAPCS64 preserves only their low 64 bits across a
call, so a vector is allocated only to caller-saved registers and spilled (16 bytes) across
calls.
"""

from __future__ import annotations

from ..base import RegClass, TargetDesc

X = tuple(range(31))
SP = 31
V = tuple(range(32, 64))

X15, X16, X17, X18 = 15, 16, 17, 18
HEAP = 27
VMCTX = 28
FP = 29
LR = 30


_FP_VIEW = {128: "q", 64: "d", 32: "s", 16: "h", 8: "b"}


def reg_name(reg: int, bits: int = 64) -> str:
    """Assembly name: xN/wN for integers (sp/wsp for 31), qN/dN/sN for SIMD/FP registers."""
    if reg == SP:
        return "sp" if bits == 64 else "wsp"
    if reg >= 32:
        return f"{_FP_VIEW[bits]}{reg - 32}"
    return f"{'x' if bits == 64 else 'w'}{reg}"


_INT_CALLER = tuple(range(15))                      # x0-x14 (x15 is scratch)
_INT_CALLEE = tuple(range(19, 27))                  # x19-x26 (x27, x28 pinned)
_FLT_CALLER = V[0:8] + V[16:30]                     # v0-v7, v16-v29
_FLT_CALLEE = V[8:16]                               # v8-v15

CALLER_SAVED = frozenset([*_INT_CALLER, X15, X16, X17, LR, *_FLT_CALLER, V[30], V[31]])
CALLEE_SAVED = frozenset([*_INT_CALLEE, *_FLT_CALLEE])

TARGET = TargetDesc(
    name="aarch64",
    pointer_size=8,
    stack_align=16,
    reg_names={r: reg_name(r) for r in range(64)},
    allocatable={
        RegClass.INT: _INT_CALLER + _INT_CALLEE,
        RegClass.FLOAT: V[0:8] + V[16:30] + _FLT_CALLEE,
        RegClass.VECTOR: _FLT_CALLER,
    },
    caller_saved=CALLER_SAVED,
    callee_saved=CALLEE_SAVED,
    scratch={RegClass.INT: (X16, X17, X15), RegClass.FLOAT: (V[30], V[31]),
             RegClass.VECTOR: (V[30], V[31])},
    arg_regs={RegClass.INT: X[0:8], RegClass.FLOAT: V[0:8]},
    ret_regs={RegClass.INT: (X[0], X[1]), RegClass.FLOAT: (V[0], V[1])},
)
