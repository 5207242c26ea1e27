"""riscv64 registers and the internal calling convention's register roles.

Numbering: x0-x31 are 0-31, f0-f31 are 32-63. Roles (standard psABI names):

- pinned: zero, ra (return address, saved by every prologue), sp, s0 (frame pointer), gp and
  tp (platform registers, never touched), s11 (the vmctx of the running instance), s10 (base
  of linear memory 0 in a function that uses it: loaded on entry and after calls and
  memory.grow);
- scratch (never allocated; the register allocator's spill reloads and move cycles): t0, t1,
  t2 and ft8, ft9, ft10 -- three per class because most instructions have three register
  operands. The assembler's far-jump relaxation also uses t1, which is harmless since scratch
  registers never live across a jump;
- emitter temporaries (never allocated, never scratch; used inside one expanded pseudo
  operation or a large frame offset): t5, t6 and ft11;
- allocatable: a0-a7, t3, t4 (caller-saved), s1-s9 (callee-saved); fa0-fa7, ft0-ft7
  (caller-saved), fs0-fs11 (callee-saved).

Arguments and results follow the psABI registers (a0-a7 / fa0-fa7, results a0-a1 / fa0-fa1),
so runtime helpers (C functions) and wasm functions clobber the same set.
"""

from __future__ import annotations

from ..base import RegClass, TargetDesc

ZERO, RA, SP, GP, TP, T0, T1, T2, S0, S1 = range(10)
A = tuple(range(10, 18))            # a0-a7 = x10-x17
S2_11 = tuple(range(18, 28))        # s2-s11 = x18-x27
T3, T4, T5, T6 = range(28, 32)
FP = S0
S11 = 27
S10 = 26
VMCTX = S11
HEAP = S10
F = tuple(range(32, 64))
FT0_7 = F[0:8]
FS0_1 = F[8:10]
FA = F[10:18]
FS2_11 = F[18:28]
FT8, FT9, FT10, FT11 = F[28:32]

#: emitter temporaries (see the module docstring)
ETMP = T6
ETMP2 = T5
FTMP = FT11

_INT_NAMES = ["zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1",
              "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7",
              "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11",
              "t3", "t4", "t5", "t6"]
_FLOAT_NAMES = ["ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1",
                "fa0", "fa1", "fa2", "fa3", "fa4", "fa5", "fa6", "fa7",
                "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9", "fs10", "fs11",
                "ft8", "ft9", "ft10", "ft11"]


def reg_name(reg: int) -> str:
    return _FLOAT_NAMES[reg - 32] if reg >= 32 else _INT_NAMES[reg]


def is_float(reg: int) -> bool:
    return 32 <= reg < 64


CALLER_SAVED = frozenset([RA, T0, T1, T2, *A, T3, T4, T5, T6, *FT0_7, *FA, FT8, FT9, FT10,
                          FT11])
CALLEE_SAVED = frozenset([S1, *S2_11[:8], *FS0_1, *FS2_11])

TARGET = TargetDesc(
    name="riscv64",
    pointer_size=8,
    stack_align=16,
    reg_names={r: reg_name(r) for r in range(64)},
    allocatable={
        RegClass.INT: (*A, T3, T4, S1, *S2_11[:8]),
        RegClass.FLOAT: (*FA, *FT0_7, *FS0_1, *FS2_11),
    },
    caller_saved=CALLER_SAVED,
    callee_saved=CALLEE_SAVED,
    scratch={RegClass.INT: (T0, T1, T2), RegClass.FLOAT: (FT8, FT9, FT10)},
    arg_regs={RegClass.INT: A, RegClass.FLOAT: FA},
    ret_regs={RegClass.INT: A[:2], RegClass.FLOAT: FA[:2]},
)
