"""RV64IMFD + Zicsr + Zifencei facts for the assembler: registers, CSRs, rounding modes and the
table of real instructions (mnemonic -> operand format and fixed encoding bits).

Everything here is plain data built once at import; the encoders in ``asm_insns`` read it.
Encodings follow the RISC-V Unprivileged ISA manual (chapters RV32I/RV64I, M, F, D, Zicsr).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .asm_error import AsmError

# --------------------------------------------------------------------------- registers

_X_ABI = ("zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1",
          "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7",
          "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11",
          "t3", "t4", "t5", "t6")
_F_ABI = ("ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1",
          "fa0", "fa1", "fa2", "fa3", "fa4", "fa5", "fa6", "fa7",
          "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9", "fs10", "fs11",
          "ft8", "ft9", "ft10", "ft11")

#: Integer register name (``x0``..``x31`` and ABI names, ``fp`` = ``s0``) -> number.
XREG: dict[str, int] = {f"x{i}": i for i in range(32)}
XREG.update({name: i for i, name in enumerate(_X_ABI)})
XREG["fp"] = 8

#: Float register name (``f0``..``f31`` and ABI names) -> number.
FREG: dict[str, int] = {f"f{i}": i for i in range(32)}
FREG.update({name: i for i, name in enumerate(_F_ABI)})

#: Canonical ABI name of each integer / float register (what objdump and Capstone print).
X_NAMES: tuple[str, ...] = _X_ABI
F_NAMES: tuple[str, ...] = _F_ABI

ZERO, RA, SP, T1 = 0, 1, 2, 6

#: Scratch register of long jumps that the assembler synthesises (``tail`` uses it too):
#: a ``j`` beyond +-1 MiB, or a conditional branch beyond that, becomes auipc t1 + jalr.
LONG_JUMP_SCRATCH = T1

# --------------------------------------------------------------------------- operands

#: Static rounding modes (the ``rm`` field of F/D instructions).
ROUNDING: dict[str, int] = {"rne": 0, "rtz": 1, "rdn": 2, "rup": 3, "rmm": 4, "dyn": 7}
RM_DYN = 7

#: Standard CSR names -> address (user FP and counters, the main supervisor and machine ones).
CSRS: dict[str, int] = {
    "fflags": 0x001, "frm": 0x002, "fcsr": 0x003,
    "cycle": 0xC00, "time": 0xC01, "instret": 0xC02,
    "sstatus": 0x100, "sie": 0x104, "stvec": 0x105, "scounteren": 0x106, "senvcfg": 0x10A,
    "sscratch": 0x140, "sepc": 0x141, "scause": 0x142, "stval": 0x143, "sip": 0x144,
    "satp": 0x180,
    "mvendorid": 0xF11, "marchid": 0xF12, "mimpid": 0xF13, "mhartid": 0xF14, "mconfigptr": 0xF15,
    "mstatus": 0x300, "misa": 0x301, "medeleg": 0x302, "mideleg": 0x303, "mie": 0x304,
    "mtvec": 0x305, "mcounteren": 0x306, "menvcfg": 0x30A, "mscratch": 0x340, "mepc": 0x341,
    "mcause": 0x342, "mtval": 0x343, "mip": 0x344, "mcycle": 0xB00, "minstret": 0xB02,
}
CSRS.update({f"hpmcounter{i}": 0xC00 + i for i in range(3, 32)})
CSRS.update({f"mhpmcounter{i}": 0xB00 + i for i in range(3, 32)})
CSR_FFLAGS, CSR_FRM, CSR_FCSR = 0x001, 0x002, 0x003

#: Bits of a fence's predecessor/successor set.
FENCE_BITS: dict[str, int] = {"i": 8, "o": 4, "r": 2, "w": 1}

# --------------------------------------------------------------------------- instructions


class Fmt(enum.Enum):
    """Operand syntax and encoding shape of a real instruction."""

    R = "rd, rs1, rs2"
    R_RM = "rd, rs1, rs2[, rm]"
    R2 = "rd, rs1"                   # rs2 field fixed in the match bits
    R2_RM = "rd, rs1[, rm]"
    R4_RM = "rd, rs1, rs2, rs3[, rm]"
    I = "rd, rs1, simm12"
    SHIFT = "rd, rs1, shamt6"
    SHIFTW = "rd, rs1, shamt5"
    LOAD = "rd, simm12(rs1)"
    STORE = "rs2, simm12(rs1)"
    BRANCH = "rs1, rs2, target"
    U = "rd, imm20"
    JAL = "[rd,] target"
    JALR = "[rd,] simm12(rs1) | rd, rs1[, simm12]"
    CSR = "rd, csr, rs1"
    CSRI = "rd, csr, uimm5"
    FENCE = "[pred, succ]"
    NONE = ""


class RegClass(enum.Enum):
    """Which register file an operand names."""

    X = "x"
    F = "f"


@dataclass(slots=True, frozen=True)
class InsnDesc:
    """One real instruction: its format, the fixed bits, the register file of each operand and,
    for F/D arithmetic, the rounding mode used when the operand is omitted."""

    mnemonic: str
    fmt: Fmt
    match: int
    regs: tuple[RegClass, ...] = ()
    default_rm: int | None = None


X, F = RegClass.X, RegClass.F

OP_LOAD, OP_LOAD_FP, OP_MISC_MEM, OP_IMM, OP_AUIPC, OP_IMM_32 = 0x03, 0x07, 0x0F, 0x13, 0x17, 0x1B
OP_STORE, OP_STORE_FP, OP_OP, OP_LUI, OP_OP_32 = 0x23, 0x27, 0x33, 0x37, 0x3B
OP_MADD, OP_MSUB, OP_NMSUB, OP_NMADD, OP_FP = 0x43, 0x47, 0x4B, 0x4F, 0x53
OP_BRANCH, OP_JALR, OP_JAL, OP_SYSTEM = 0x63, 0x67, 0x6F, 0x73


def _bits(opcode: int, funct3: int = 0, funct7: int = 0) -> int:
    return opcode | (funct3 << 12) | (funct7 << 25)


def _build() -> dict[str, InsnDesc]:
    table: dict[str, InsnDesc] = {}

    def add(name: str, fmt: Fmt, match: int, regs: tuple[RegClass, ...] = (),
            default_rm: int | None = None) -> None:
        assert name not in table, name
        table[name] = InsnDesc(name, fmt, match, regs, default_rm)

    add("lui", Fmt.U, OP_LUI, (X,))
    add("auipc", Fmt.U, OP_AUIPC, (X,))
    add("jal", Fmt.JAL, OP_JAL, (X,))
    add("jalr", Fmt.JALR, OP_JALR, (X, X))
    for name, f3 in (("beq", 0), ("bne", 1), ("blt", 4), ("bge", 5), ("bltu", 6), ("bgeu", 7)):
        add(name, Fmt.BRANCH, _bits(OP_BRANCH, f3), (X, X))
    for name, f3 in (("lb", 0), ("lh", 1), ("lw", 2), ("ld", 3), ("lbu", 4), ("lhu", 5), ("lwu", 6)):
        add(name, Fmt.LOAD, _bits(OP_LOAD, f3), (X, X))
    for name, f3 in (("sb", 0), ("sh", 1), ("sw", 2), ("sd", 3)):
        add(name, Fmt.STORE, _bits(OP_STORE, f3), (X, X))
    for name, f3 in (("addi", 0), ("slti", 2), ("sltiu", 3), ("xori", 4), ("ori", 6), ("andi", 7)):
        add(name, Fmt.I, _bits(OP_IMM, f3), (X, X))
    add("slli", Fmt.SHIFT, _bits(OP_IMM, 1), (X, X))
    add("srli", Fmt.SHIFT, _bits(OP_IMM, 5), (X, X))
    add("srai", Fmt.SHIFT, _bits(OP_IMM, 5, 0x20), (X, X))
    add("addiw", Fmt.I, _bits(OP_IMM_32, 0), (X, X))
    add("slliw", Fmt.SHIFTW, _bits(OP_IMM_32, 1), (X, X))
    add("srliw", Fmt.SHIFTW, _bits(OP_IMM_32, 5), (X, X))
    add("sraiw", Fmt.SHIFTW, _bits(OP_IMM_32, 5, 0x20), (X, X))
    for name, f3, f7 in (("add", 0, 0), ("sub", 0, 0x20), ("sll", 1, 0), ("slt", 2, 0),
                         ("sltu", 3, 0), ("xor", 4, 0), ("srl", 5, 0), ("sra", 5, 0x20),
                         ("or", 6, 0), ("and", 7, 0),
                         ("mul", 0, 1), ("mulh", 1, 1), ("mulhsu", 2, 1), ("mulhu", 3, 1),
                         ("div", 4, 1), ("divu", 5, 1), ("rem", 6, 1), ("remu", 7, 1)):
        add(name, Fmt.R, _bits(OP_OP, f3, f7), (X, X, X))
    for name, f3, f7 in (("addw", 0, 0), ("subw", 0, 0x20), ("sllw", 1, 0), ("srlw", 5, 0),
                         ("sraw", 5, 0x20), ("mulw", 0, 1), ("divw", 4, 1), ("divuw", 5, 1),
                         ("remw", 6, 1), ("remuw", 7, 1)):
        add(name, Fmt.R, _bits(OP_OP_32, f3, f7), (X, X, X))
    add("fence", Fmt.FENCE, OP_MISC_MEM)
    add("fence.tso", Fmt.NONE, 0x8330000F)
    add("fence.i", Fmt.NONE, _bits(OP_MISC_MEM, 1))
    add("ecall", Fmt.NONE, 0x00000073)
    add("ebreak", Fmt.NONE, 0x00100073)
    for name, f3 in (("csrrw", 1), ("csrrs", 2), ("csrrc", 3)):
        add(name, Fmt.CSR, _bits(OP_SYSTEM, f3), (X, X))
    for name, f3 in (("csrrwi", 5), ("csrrsi", 6), ("csrrci", 7)):
        add(name, Fmt.CSRI, _bits(OP_SYSTEM, f3), (X,))

    # F and D: the format bit is bit 25 (funct7's low bit, fmt field of R4).
    for sfx, fbit, width in (("s", 0, 2), ("d", 1, 3)):
        add(f"fl{'w' if sfx == 's' else 'd'}", Fmt.LOAD, _bits(OP_LOAD_FP, width), (F, X))
        add(f"fs{'w' if sfx == 's' else 'd'}", Fmt.STORE, _bits(OP_STORE_FP, width), (F, X))
        for op, f7 in (("fadd", 0x00), ("fsub", 0x04), ("fmul", 0x08), ("fdiv", 0x0C)):
            add(f"{op}.{sfx}", Fmt.R_RM, _bits(OP_FP, 0, f7 | fbit), (F, F, F), RM_DYN)
        add(f"fsqrt.{sfx}", Fmt.R2_RM, _bits(OP_FP, 0, 0x2C | fbit), (F, F), RM_DYN)
        for op, f3 in (("fsgnj", 0), ("fsgnjn", 1), ("fsgnjx", 2)):
            add(f"{op}.{sfx}", Fmt.R, _bits(OP_FP, f3, 0x10 | fbit), (F, F, F))
        for op, f3 in (("fmin", 0), ("fmax", 1)):
            add(f"{op}.{sfx}", Fmt.R, _bits(OP_FP, f3, 0x14 | fbit), (F, F, F))
        for op, f3 in (("feq", 2), ("flt", 1), ("fle", 0)):
            add(f"{op}.{sfx}", Fmt.R, _bits(OP_FP, f3, 0x50 | fbit), (X, F, F))
        add(f"fclass.{sfx}", Fmt.R2, _bits(OP_FP, 1, 0x70 | fbit), (X, F))
        for op, opcode in (("fmadd", OP_MADD), ("fmsub", OP_MSUB), ("fnmsub", OP_NMSUB),
                           ("fnmadd", OP_NMADD)):
            add(f"{op}.{sfx}", Fmt.R4_RM, opcode | (fbit << 25), (F, F, F, F), RM_DYN)
        for isfx, rs2 in (("w", 0), ("wu", 1), ("l", 2), ("lu", 3)):
            add(f"fcvt.{isfx}.{sfx}", Fmt.R2_RM, _bits(OP_FP, 0, 0x60 | fbit) | (rs2 << 20),
                (X, F), RM_DYN)
            # int32 -> double is exact: no rounding-mode operand, rm field 0 (as GNU as 2.40
            # and LLVM/Capstone, which reject any other rm for it).
            if sfx == "d" and isfx in ("w", "wu"):
                add(f"fcvt.d.{isfx}", Fmt.R2, _bits(OP_FP, 0, 0x69) | (rs2 << 20), (F, X))
            else:
                add(f"fcvt.{sfx}.{isfx}", Fmt.R2_RM, _bits(OP_FP, 0, 0x68 | fbit) | (rs2 << 20),
                    (F, X), RM_DYN)
    add("fcvt.s.d", Fmt.R2_RM, _bits(OP_FP, 0, 0x20) | (1 << 20), (F, F), RM_DYN)
    add("fcvt.d.s", Fmt.R2, _bits(OP_FP, 0, 0x21), (F, F))  # exact, like fcvt.d.w
    add("fmv.x.w", Fmt.R2, _bits(OP_FP, 0, 0x70), (X, F))
    add("fmv.w.x", Fmt.R2, _bits(OP_FP, 0, 0x78), (F, X))
    add("fmv.x.d", Fmt.R2, _bits(OP_FP, 0, 0x71), (X, F))
    add("fmv.d.x", Fmt.R2, _bits(OP_FP, 0, 0x79), (F, X))
    # Pre-2.2 spellings that GNU as still accepts.
    table["fmv.x.s"] = table["fmv.x.w"]
    table["fmv.s.x"] = table["fmv.w.x"]
    return table


#: Every real instruction the assembler knows, by mnemonic.
INSNS: dict[str, InsnDesc] = _build()


# --------------------------------------------------------------------------- field encoders

def check_signed(value: int, bits: int, what: str) -> int:
    """Return ``value`` if it fits a signed ``bits``-bit field, else raise AsmError."""
    lo = -(1 << (bits - 1))
    if lo <= value < -lo:
        return value
    raise AsmError(f"{what} {value} out of range for a {bits}-bit signed field ({lo}..{-lo - 1})")


def check_unsigned(value: int, bits: int, what: str) -> int:
    """Return ``value`` if it fits an unsigned ``bits``-bit field, else raise AsmError."""
    if 0 <= value < (1 << bits):
        return value
    raise AsmError(f"{what} {value} out of range for a {bits}-bit unsigned field "
                   f"(0..{(1 << bits) - 1})")


def imm_i(imm: int) -> int:
    """I-type immediate bits (imm[11:0] at 31:20)."""
    return (imm & 0xFFF) << 20


def imm_s(imm: int) -> int:
    """S-type immediate bits (imm[11:5] at 31:25, imm[4:0] at 11:7)."""
    return ((imm & 0xFE0) << 20) | ((imm & 0x1F) << 7)


def imm_b(off: int) -> int:
    """B-type offset bits (imm[12|10:5] at 31:25, imm[4:1|11] at 11:7)."""
    return (((off >> 12) & 1) << 31) | (((off >> 5) & 0x3F) << 25) \
        | (((off >> 1) & 0xF) << 8) | (((off >> 11) & 1) << 7)


def imm_j(off: int) -> int:
    """J-type offset bits (imm[20|10:1|11|19:12] at 31:12)."""
    return (((off >> 20) & 1) << 31) | (((off >> 1) & 0x3FF) << 21) \
        | (((off >> 11) & 1) << 20) | (((off >> 12) & 0xFF) << 12)


def b_offset_ok(off: int) -> bool:
    """Whether a conditional branch reaches ``off`` bytes (even, within +-4 KiB)."""
    return -4096 <= off < 4096 and not off & 1


def j_offset_ok(off: int) -> bool:
    """Whether jal reaches ``off`` bytes (even, within +-1 MiB)."""
    return -(1 << 20) <= off < (1 << 20) and not off & 1


def hi_lo(value: int) -> tuple[int, int]:
    """Split a 32-bit signed quantity into the (hi20, lo12) of a lui/auipc + I/S-type pair:
    ``(hi << 12) + lo == value`` with ``lo`` in -2048..2047 and ``hi`` the 20-bit field value.

    Raises AsmError when ``value`` is beyond what a sign-extended hi20 can reach."""
    if not -(1 << 31) <= value + 0x800 < (1 << 31):
        raise AsmError(f"offset {value:#x} out of range of a 32-bit hi/lo pair")
    lo = ((value & 0xFFF) ^ 0x800) - 0x800
    return ((value - lo) >> 12) & 0xFFFFF, lo
