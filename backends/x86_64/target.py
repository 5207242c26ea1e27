"""x86_64 registers and the internal calling convention's register roles.

Pinned: rsp (stack), rbp (frame pointer), r15 (the vmctx of the running instance), r14 (base
of linear memory 0 in a function that uses it: loaded on entry and after calls and memory.grow,
since a caller in another instance or a trampoline leaves it holding anything). Scratch (never allocated): r10, r11,
xmm14, xmm15. Arguments and results follow the System V registers, so runtime helpers (C
functions) and wasm functions clobber the same set. v128 values (class VECTOR) live in the
same xmm registers as floats and travel in the float argument registers.
"""

from __future__ import annotations

from ..base import RegClass, TargetDesc

RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI = range(8)
R8, R9, R10, R11, R12, R13, R14, R15 = range(8, 16)
XMM = tuple(range(16, 32))

VMCTX = R15
HEAP = R14

INT_NAMES64 = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
               "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"]
INT_NAMES32 = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
               "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d"]
INT_NAMES16 = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di",
               "r8w", "r9w", "r10w", "r11w", "r12w", "r13w", "r14w", "r15w"]
INT_NAMES8 = ["al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil",
              "r8b", "r9b", "r10b", "r11b", "r12b", "r13b", "r14b", "r15b"]


_NAMES_BY_BITS = {64: INT_NAMES64, 32: INT_NAMES32, 16: INT_NAMES16, 8: INT_NAMES8}
#: (register, bits) -> assembler name, for every register and width
REG_NAMES: dict[tuple[int, int], str] = {
    **{(r, bits): names[r] for bits, names in _NAMES_BY_BITS.items() for r in range(16)},
    **{(r, bits): f"xmm{r - 16}" for bits in (8, 16, 32, 64, 128) for r in range(16, 32)},
}


def reg_name(reg: int, bits: int = 64) -> str:
    name = REG_NAMES.get((reg, bits))
    if name is None:
        if reg >= 16:
            return f"xmm{reg - 16}"
        return _NAMES_BY_BITS[bits][reg]    # KeyError for an impossible width, as before
    return name


CALLER_SAVED = frozenset([RAX, RCX, RDX, RSI, RDI, R8, R9, R10, R11, *XMM])
CALLEE_SAVED = frozenset([RBX, R12, R13])

TARGET = TargetDesc(
    name="x86_64",
    pointer_size=8,
    stack_align=16,
    reg_names={r: reg_name(r) for r in range(32)},
    allocatable={
        RegClass.INT: (RAX, RCX, RDX, RSI, RDI, R8, R9, RBX, R12, R13),
        RegClass.FLOAT: XMM[:14],
        RegClass.VECTOR: XMM[:14],
    },
    caller_saved=CALLER_SAVED,
    callee_saved=CALLEE_SAVED,
    scratch={RegClass.INT: (R10, R11), RegClass.FLOAT: (XMM[14], XMM[15]),
             RegClass.VECTOR: (XMM[14], XMM[15])},
    arg_regs={RegClass.INT: (RDI, RSI, RDX, RCX, R8, R9), RegClass.FLOAT: XMM[:8]},
    ret_regs={RegClass.INT: (RAX, RDX), RegClass.FLOAT: (XMM[0], XMM[1])},
)
