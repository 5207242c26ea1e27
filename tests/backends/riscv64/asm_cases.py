"""Test programs for the riscv64 assembler, shared by the Capstone check (test_asm) and the
GNU as check (test_asm_gnu).

A ``Case`` is one source statement (or a few) and its expected disassembly in plain RISC-V
syntax, one line per 4-byte word (``.skip N`` for N bytes of data): base instructions, ABI register names, ``imm(reg)`` memory
operands, branch/jump targets as byte offsets from the instruction. The tables of mnemonics,
registers and CSR numbers below are written from the ISA manuals, independently of the
assembler's own tables.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

X = ("zero ra sp gp tp t0 t1 t2 s0 s1 a0 a1 a2 a3 a4 a5 a6 a7 "
     "s2 s3 s4 s5 s6 s7 s8 s9 s10 s11 t3 t4 t5 t6").split()
F = ("ft0 ft1 ft2 ft3 ft4 ft5 ft6 ft7 fs0 fs1 fa0 fa1 fa2 fa3 fa4 fa5 fa6 fa7 "
     "fs2 fs3 fs4 fs5 fs6 fs7 fs8 fs9 fs10 fs11 ft8 ft9 ft10 ft11").split()
ROUNDING = ("rne", "rtz", "rdn", "rup", "rmm", "dyn")

# Mnemonics by operand shape (RV64I, M, F, D, Zicsr, Zifencei).
R_INT = ("add sub sll slt sltu xor srl sra or and mul mulh mulhsu mulhu div divu rem remu "
         "addw subw sllw srlw sraw mulw divw divuw remw remuw").split()
I_INT = "addi slti sltiu xori ori andi addiw".split()
SHIFT6 = "slli srli srai".split()
SHIFT5 = "slliw srliw sraiw".split()
LOADS = "lb lh lw ld lbu lhu lwu".split()
STORES = "sb sh sw sd".split()
BRANCHES = "beq bne blt bge bltu bgeu".split()
F_RM3 = [f"{op}.{t}" for t in "sd" for op in ("fadd", "fsub", "fmul", "fdiv")]
F_R3 = [f"{op}.{t}" for t in "sd" for op in ("fsgnj", "fsgnjn", "fsgnjx", "fmin", "fmax")]
F_CMP = [f"{op}.{t}" for t in "sd" for op in ("feq", "flt", "fle")]
F_R4 = [f"{op}.{t}" for t in "sd" for op in ("fmadd", "fmsub", "fnmsub", "fnmadd")]
F_TO_X_RM = [f"fcvt.{i}.{t}" for t in "sd" for i in ("w", "wu", "l", "lu")]
X_TO_F_RM = ["fcvt.s.w", "fcvt.s.wu", "fcvt.s.l", "fcvt.s.lu", "fcvt.d.l", "fcvt.d.lu"]
X_TO_F_EXACT = ["fcvt.d.w", "fcvt.d.wu"]   # exact: no rounding-mode operand
F_TO_X = ["fmv.x.w", "fmv.x.d", "fclass.s", "fclass.d"]
X_TO_F = ["fmv.w.x", "fmv.d.x"]
CSR_OPS = "csrrw csrrs csrrc".split()
CSRI_OPS = "csrrwi csrrsi csrrci".split()
BARE = "ecall ebreak fence.i fence.tso".split()

#: CSR names the tests use -> address (privileged spec tables).
CSR_NUMBERS = {"fflags": 0x001, "frm": 0x002, "fcsr": 0x003, "cycle": 0xC00, "time": 0xC01,
               "instret": 0xC02, "sstatus": 0x100, "satp": 0x180, "mstatus": 0x300,
               "misa": 0x301, "mtvec": 0x305, "mscratch": 0x340, "mepc": 0x341,
               "mcause": 0x342, "mhartid": 0xF14}

IMM12 = (-2048, -2047, -1, 0, 1, 2046, 2047, 100, -100, 0x555, -0x2AB)


@dataclass(frozen=True)
class Case:
    """One statement and its expected disassembly (see the module docstring)."""

    source: str
    expect: tuple[str, ...]
    gnu: bool = True       # GNU as reads the same text the same way (numeric branch targets don't)
    capstone: bool = True  # Capstone 5 decodes it


def _xr(k: int) -> str:
    """Register k, spelled by its ABI name or as xN on alternate calls (both must work)."""
    k %= 32
    return X[k] if k % 3 else f"x{k}"


def _fr(k: int) -> str:
    k %= 32
    return F[k] if k % 3 else f"f{k}"


def _num(value: int, k: int) -> str:
    """A number written in decimal or hex (as GNU as and Capstone print either)."""
    if k % 2:
        return str(value)
    return f"-{-value:#x}" if value < 0 else f"{value:#x}"


def _same(source: str, **kw: bool) -> Case:
    return Case(source, (source,), **kw)


def real_cases() -> list[Case]:
    """Every real instruction over all registers, every immediate extreme, every rounding mode."""
    cases: list[Case] = []
    for name in R_INT:
        for k in range(32):
            cases.append(_same(f"{name} {_xr(k)}, {_xr(k + 11)}, {_xr(k + 22)}"))
    for name in I_INT:
        for k in range(32):
            cases.append(_same(f"{name} {_xr(k)}, {_xr(k + 7)}, {_num(IMM12[k % len(IMM12)], k)}"))
    for name, amounts in [(n, (0, 1, 31, 32, 62, 63)) for n in SHIFT6] + \
                         [(n, (0, 1, 15, 16, 30, 31)) for n in SHIFT5]:
        for k, amount in enumerate(amounts * 3):
            cases.append(_same(f"{name} {_xr(3 * k + 1)}, {_xr(5 * k + 2)}, {amount}"))
    for name in LOADS:
        for k in range(32):
            cases.append(_same(f"{name} {_xr(k)}, {_num(IMM12[k % len(IMM12)], k)}({_xr(k + 9)})"))
    for name in STORES:
        for k in range(32):
            cases.append(_same(f"{name} {_xr(k)}, {_num(IMM12[k % len(IMM12)], k)}({_xr(k + 9)})"))
    for name in ("flw", "fld"):
        for k in range(32):
            cases.append(_same(f"{name} {_fr(k)}, {_num(IMM12[k % len(IMM12)], k)}({_xr(k + 9)})"))
    for name in ("fsw", "fsd"):
        for k in range(32):
            cases.append(_same(f"{name} {_fr(k)}, {_num(IMM12[k % len(IMM12)], k)}({_xr(k + 9)})"))
    for name in BRANCHES:  # numeric targets: offsets from the instruction (not GNU's meaning)
        for k, off in enumerate((-4096, -4094, -2, 0, 2, 8, 2046, 2048, 4092, 4094)):
            cases.append(_same(f"{name} {_xr(k * 3)}, {_xr(k * 7 + 1)}, {off}", gnu=False))
    for k, value in enumerate((0, 1, 0x7FF, 0x800, 0x7FFFF, 0x80000, 0xABCDE, 0xFFFFF)):
        cases.append(_same(f"lui {_xr(k * 5)}, {_num(value, k)}"))
        cases.append(_same(f"auipc {_xr(k * 5 + 3)}, {_num(value, k + 1)}"))
    for k, off in enumerate((-1048576, -1048574, -4096, -2, 0, 2, 2046, 4096, 1048572, 1048574)):
        cases.append(_same(f"jal {_xr(k * 3)}, {off}", gnu=False))
    for k in range(32):
        cases.append(_same(f"jalr {_xr(k)}, {_num(IMM12[k % len(IMM12)], k)}({_xr(k + 13)})"))
    for name in F_RM3:
        for k in range(32):
            rm = ("",) + tuple(f", {r}" for r in ROUNDING)
            cases.append(_same(f"{name} {_fr(k)}, {_fr(k + 9)}, {_fr(k + 18)}{rm[k % 7]}"))
    for name in F_R3:
        for k in range(32):
            cases.append(_same(f"{name} {_fr(k)}, {_fr(k + 9)}, {_fr(k + 18)}"))
    for name in F_CMP:
        for k in range(32):
            cases.append(_same(f"{name} {_xr(k)}, {_fr(k + 9)}, {_fr(k + 18)}"))
    for name in F_R4:
        for k in range(32):
            rm = ("",) + tuple(f", {r}" for r in ROUNDING)
            cases.append(_same(f"{name} {_fr(k)}, {_fr(k + 5)}, {_fr(k + 14)}, {_fr(k + 23)}"
                               f"{rm[k % 7]}"))
    rms = ("",) + tuple(f", {r}" for r in ROUNDING)
    for k in range(32):
        cases.append(_same(f"fsqrt.s {_fr(k)}, {_fr(k + 3)}{rms[k % 7]}"))
        cases.append(_same(f"fsqrt.d {_fr(k + 1)}, {_fr(k + 4)}{rms[(k + 3) % 7]}"))
    for name in F_TO_X_RM:
        for k in range(14):
            cases.append(_same(f"{name} {_xr(k * 5)}, {_fr(k * 3 + 1)}{rms[k % 7]}"))
    for name in X_TO_F_RM:
        for k in range(14):
            cases.append(_same(f"{name} {_fr(k * 5)}, {_xr(k * 3 + 1)}{rms[k % 7]}"))
    for name in X_TO_F_EXACT:
        for k in range(8):
            cases.append(_same(f"{name} {_fr(k * 5)}, {_xr(k * 3 + 1)}"))
    for k in range(14):
        cases.append(_same(f"fcvt.s.d {_fr(k * 5)}, {_fr(k * 3 + 1)}{rms[k % 7]}"))
    for k in range(8):
        cases.append(_same(f"fcvt.d.s {_fr(k * 5)}, {_fr(k * 3 + 1)}"))
    for name in F_TO_X:
        for k in range(32):
            cases.append(_same(f"{name} {_xr(k)}, {_fr(k + 7)}"))
    for name in X_TO_F:
        for k in range(32):
            cases.append(_same(f"{name} {_fr(k)}, {_xr(k + 7)}"))
    csrs = list(CSR_NUMBERS) + ["0", "0x7c0", "0xfff", "4095"]
    for name in CSR_OPS:
        for k, csr in enumerate(csrs):
            cases.append(_same(f"{name} {_xr(k * 3 + 1)}, {csr}, {_xr(k * 5 + 2)}"))
            cases.append(_same(f"{name} zero, {csr}, {_xr(k * 5 + 2)}"))
            cases.append(_same(f"{name} {_xr(k * 3 + 1)}, {csr}, zero"))
    for name in CSRI_OPS:
        for k, csr in enumerate(csrs):
            cases.append(_same(f"{name} {_xr(k * 3 + 1)}, {csr}, {(0, 1, 16, 31)[k % 4]}"))
            cases.append(_same(f"{name} zero, {csr}, {(0, 1, 16, 31)[k % 4]}"))
    for sets in ("iorw, iorw", "rw, rw", "r, r", "w, w", "r, rw", "rw, w", "i, o", "io, iorw",
                 "iorw, r", "o, i", "iow, rw"):
        cases.append(_same(f"fence {sets}"))
    cases.append(Case("fence", ("fence iorw, iorw",)))
    for name in BARE:
        cases.append(_same(name))
    return cases


#: (source, expected lines) for every pseudo-instruction, expanded as GNU as expands them.
PSEUDO: list[tuple[str, tuple[str, ...]]] = [
    ("nop", ("addi zero, zero, 0",)),
    ("mv a0, a1", ("addi a0, a1, 0",)),
    ("mv t6, sp", ("addi t6, sp, 0",)),
    ("not s3, t2", ("xori s3, t2, -1",)),
    ("neg a0, a7", ("sub a0, zero, a7",)),
    ("negw t0, s11", ("subw t0, zero, s11",)),
    ("sext.w a0, a1", ("addiw a0, a1, 0",)),
    ("seqz a2, a3", ("sltiu a2, a3, 1",)),
    ("snez a2, a3", ("sltu a2, zero, a3",)),
    ("sltz a4, a5", ("slt a4, a5, zero",)),
    ("sgtz a4, a5", ("slt a4, zero, a5",)),
    ("sgt a0, a1, a2", ("slt a0, a2, a1",)),
    ("sgtu a0, a1, a2", ("sltu a0, a2, a1",)),
    ("zext.b a0, a1", ("andi a0, a1, 255",)),
    ("zext.h a0, a1", ("slli a0, a1, 48", "srli a0, a0, 48")),
    ("zext.w a0, a1", ("slli a0, a1, 32", "srli a0, a0, 32")),
    ("sext.b a0, a1", ("slli a0, a1, 56", "srai a0, a0, 56")),
    ("sext.h a0, a1", ("slli a0, a1, 48", "srai a0, a0, 48")),
    ("beqz a0, 1f; nop; 1:", ("beq a0, zero, 8", "addi zero, zero, 0")),
    ("bnez t1, 1f; nop; 1:", ("bne t1, zero, 8", "addi zero, zero, 0")),
    ("blez s2, 1f; nop; 1:", ("bge zero, s2, 8", "addi zero, zero, 0")),
    ("bgez s2, 1f; nop; 1:", ("bge s2, zero, 8", "addi zero, zero, 0")),
    ("bltz s2, 1f; nop; 1:", ("blt s2, zero, 8", "addi zero, zero, 0")),
    ("bgtz s2, 1f; nop; 1:", ("blt zero, s2, 8", "addi zero, zero, 0")),
    ("1: nop; bgt a0, a1, 1b", ("addi zero, zero, 0", "blt a1, a0, -4")),
    ("1: nop; ble a0, a1, 1b", ("addi zero, zero, 0", "bge a1, a0, -4")),
    ("1: nop; bgtu a0, a1, 1b", ("addi zero, zero, 0", "bltu a1, a0, -4")),
    ("1: nop; bleu a0, a1, 1b", ("addi zero, zero, 0", "bgeu a1, a0, -4")),
    ("j 1f; nop; nop; 1:", ("jal zero, 12", "addi zero, zero, 0", "addi zero, zero, 0")),
    ("L: jal L", ("jal ra, 0",)),
    ("L: jal t0, L", ("jal t0, 0",)),
    ("jr a0", ("jalr zero, 0(a0)",)),
    ("jr 8(t2)", ("jalr zero, 8(t2)",)),
    ("jr t2, -8", ("jalr zero, -8(t2)",)),
    ("jalr a0", ("jalr ra, 0(a0)",)),
    ("jalr 16(a0)", ("jalr ra, 16(a0)",)),
    ("jalr a1, a0", ("jalr a1, 0(a0)",)),
    ("jalr a1, a0, -12", ("jalr a1, -12(a0)",)),
    ("ret", ("jalr zero, 0(ra)",)),
    ("call L; nop; L:", ("auipc ra, 0", "jalr ra, 12(ra)", "addi zero, zero, 0")),
    ("call a0, L; nop; L:", ("auipc t1, 0", "jalr a0, 12(t1)", "addi zero, zero, 0")),
    ("tail L; nop; L:", ("auipc t1, 0", "jalr zero, 12(t1)", "addi zero, zero, 0")),
    ("la a0, L; nop; L:", ("auipc a0, 0", "addi a0, a0, 12", "addi zero, zero, 0")),
    ("L: lla s1, L", ("auipc s1, 0", "addi s1, s1, 0")),
    ("L: .zero 0x2000; la a0, L", (".skip 0x2000", "auipc a0, 0xffffe", "addi a0, a0, 0")),
    ("L: .zero 0x1804; la a0, L", (".skip 0x1804", "auipc a0, 0xffffe", "addi a0, a0, 2044")),
    ("lw a0, L; L:", ("auipc a0, 0", "lw a0, 8(a0)")),
    ("ld t3, L; L:", ("auipc t3, 0", "ld t3, 8(t3)")),
    ("lbu a0, L; L:", ("auipc a0, 0", "lbu a0, 8(a0)")),
    ("fld fa0, L, t0; L:", ("auipc t0, 0", "fld fa0, 8(t0)")),
    ("flw ft3, L, a5; L:", ("auipc a5, 0", "flw ft3, 8(a5)")),
    ("sw a0, L, t1; L:", ("auipc t1, 0", "sw a0, 8(t1)")),
    ("sd s0, L, t1; L:", ("auipc t1, 0", "sd s0, 8(t1)")),
    ("fsd fa0, L, t1; L:", ("auipc t1, 0", "fsd fa0, 8(t1)")),
    ("fsw ft0, L, t1; L:", ("auipc t1, 0", "fsw ft0, 8(t1)")),
    ("fmv.s fa0, fa1", ("fsgnj.s fa0, fa1, fa1",)),
    ("fmv.d ft0, fs11", ("fsgnj.d ft0, fs11, fs11",)),
    ("fabs.s fa0, fa1", ("fsgnjx.s fa0, fa1, fa1",)),
    ("fabs.d fa0, fa1", ("fsgnjx.d fa0, fa1, fa1",)),
    ("fneg.s fa0, fa1", ("fsgnjn.s fa0, fa1, fa1",)),
    ("fneg.d fa0, fa1", ("fsgnjn.d fa0, fa1, fa1",)),
    ("fgt.s a0, fa1, fa2", ("flt.s a0, fa2, fa1",)),
    ("fge.s a0, fa1, fa2", ("fle.s a0, fa2, fa1",)),
    ("fgt.d a0, fa1, fa2", ("flt.d a0, fa2, fa1",)),
    ("fge.d a0, fa1, fa2", ("fle.d a0, fa2, fa1",)),
    ("fmv.x.s a0, fa1", ("fmv.x.w a0, fa1",)),
    ("fmv.s.x fa0, a1", ("fmv.w.x fa0, a1",)),
    ("csrr a0, fcsr", ("csrrs a0, fcsr, zero",)),
    ("csrr a0, 0x300", ("csrrs a0, mstatus, zero",)),
    ("csrw mstatus, a1", ("csrrw zero, mstatus, a1",)),
    ("csrs fflags, a1", ("csrrs zero, fflags, a1",)),
    ("csrc fflags, a1", ("csrrc zero, fflags, a1",)),
    ("csrwi frm, 3", ("csrrwi zero, frm, 3",)),
    ("csrsi fcsr, 31", ("csrrsi zero, fcsr, 31",)),
    ("csrci fflags, 1", ("csrrci zero, fflags, 1",)),
    ("frcsr a0", ("csrrs a0, fcsr, zero",)),
    ("fscsr a1", ("csrrw zero, fcsr, a1",)),
    ("fscsr a0, a1", ("csrrw a0, fcsr, a1",)),
    ("frrm a0", ("csrrs a0, frm, zero",)),
    ("fsrm a1", ("csrrw zero, frm, a1",)),
    ("fsrm a0, a1", ("csrrw a0, frm, a1",)),
    ("frflags a0", ("csrrs a0, fflags, zero",)),
    ("fsflags a1", ("csrrw zero, fflags, a1",)),
    ("fsflags a0, a1", ("csrrw a0, fflags, a1",)),
    ("fsrmi 4", ("csrrwi zero, frm, 4",)),
    ("fsrmi a0, 1", ("csrrwi a0, frm, 1",)),
    ("fsflagsi 0", ("csrrwi zero, fflags, 0",)),
    ("fsflagsi a0, 31", ("csrrwi a0, fflags, 31",)),
    ("rdcycle a0", ("csrrs a0, cycle, zero",)),
    ("rdtime a1", ("csrrs a1, time, zero",)),
    ("rdinstret a2", ("csrrs a2, instret, zero",)),
    ("unimp", ("csrrw zero, cycle, zero",)),
    # li: one addi up to 12 bits, lui/addiw for 32 bits, then slli/addi steps.
    ("li a0, 0", ("addi a0, zero, 0",)),
    ("li a0, -2048", ("addi a0, zero, -2048",)),
    ("li a0, 2047", ("addi a0, zero, 2047",)),
    ("li a0, -1", ("addi a0, zero, -1",)),
    ("li a0, 2048", ("lui a0, 1", "addiw a0, a0, -2048")),
    ("li a0, 4096", ("lui a0, 1",)),
    ("li a0, -4096", ("lui a0, 0xfffff",)),
    ("li t0, 0x7fffffff", ("lui t0, 0x80000", "addiw t0, t0, -1")),
    ("li t0, -0x80000000", ("lui t0, 0x80000",)),
    ("li t0, 0x12345678", ("lui t0, 0x12345", "addiw t0, t0, 1656")),
    ("li a1, 0x80000000", ("addiw a1, zero, 1", "slli a1, a1, 31")),
    ("li a1, 0xffffffff", ("addiw a1, zero, 1", "slli a1, a1, 32", "addi a1, a1, -1")),
    ("li a1, 0x100000000", ("addiw a1, zero, 1", "slli a1, a1, 32")),
    ("li a1, 0x8000000000000000", ("addiw a1, zero, -1", "slli a1, a1, 63")),
    ("li a1, 0x7fffffffffffffff", ("addiw a1, zero, -1", "slli a1, a1, 63", "addi a1, a1, -1")),
    ("li a1, 0xffffffffffffffff", ("addi a1, zero, -1",)),
    ("li s5, 0x123456789abcdef0", ("lui s5, 0x247", "addiw s5, s5, -1875", "slli s5, s5, 14",
                                   "addi s5, s5, -947", "slli s5, s5, 12", "addi s5, s5, 1511",
                                   "slli s5, s5, 13", "addi s5, s5, -272")),
    ("li a0, 010", ("addi a0, zero, 8",)),
    ("li a0, 0b101", ("addi a0, zero, 5",)),
    ("li a0, (1 << 4) | 3", ("addi a0, zero, 19",)),
    ("li a0, -(8 * 4) + 2", ("addi a0, zero, -30",)),
    (".equ K, 100; li a0, K + 1", ("addi a0, zero, 101",)),
    ("addi a0, a0, %lo(0x12345678)", ("addi a0, a0, 1656",)),
    ("lui a0, %hi(0x12345fff)", ("lui a0, 0x12346",)),
    ("L: auipc a0, %pcrel_hi(M); addi a0, a0, %pcrel_lo(L); M:",
     ("auipc a0, 0", "addi a0, a0, 8")),
    ("L: auipc a0, %pcrel_hi(M); sw a1, %pcrel_lo(L)(a0); M:", ("auipc a0, 0", "sw a1, 8(a0)")),
    ("addi sp, sp, -16  # a comment", ("addi sp, sp, -16",)),
    ("ADDI a0, a0, 1", ("addi a0, a0, 1",)),
]


def pseudo_cases() -> list[Case]:
    return [Case(src, expect) for src, expect in PSEUDO]


def li_values(count: int = 300, seed: int = 20261125) -> list[int]:
    """Constants for li: random widths and bit patterns plus the awkward edges."""
    rng = random.Random(seed)
    values = [0, 1, -1, 2047, 2048, -2048, -2049, 0x7FF, 0x800, 0xFFF, 0x1000, 0x7FFFF800,
              0x7FFFFFFF, 0x80000000, -0x80000000, -0x80000001, 0xFFFFFFFF, 0x100000000,
              0x7FFFFFFFFFFFFFFF, -0x8000000000000000, 0x8000000000000000 - 0x800,
              0xFFFFFFFF00000000, 0x00000FFFFFFFF000, 0x8000000000000001, 0x7FFFFFFF7FFFF800]
    while len(values) < count:
        bits = rng.choice((13, 20, 31, 32, 33, 40, 44, 52, 63, 64))
        value = rng.getrandbits(bits)
        if rng.random() < 0.3:  # runs of zeros or ones in the middle
            lo, hi = sorted(rng.sample(range(bits + 1), 2))
            mask = ((1 << hi) - 1) ^ ((1 << lo) - 1)
            value = value | mask if rng.random() < 0.5 else value & ~mask
        if rng.random() < 0.5:
            value = -value
        values.append(max(-(1 << 63), min(value, (1 << 64) - 1)))
    return values


def relaxation_program(gap: int) -> str:
    """Branches and jumps to labels ``gap`` bytes of nops away, forwards and backwards."""
    nops = "\n".join(["nop"] * (gap // 4))
    return f"""
    top:
        beq a0, a1, far
        bltu a2, a3, far
        bnez a4, far
        j far
        jal far
    {nops}
    far:
        bge a0, a1, top
        bgeu t0, t1, top
        beqz a5, top
        j top
        jal top
        ret
    """


def cascade_program() -> str:
    """A branch in range only until another branch between it and its target grows."""
    nops = "\n".join(["nop"] * 1021)
    return f"""
        beq a0, a1, near      # at 0; 'near' ends up 4092 bytes on, then 4096 after b2 grows
        bne a2, a3, distant   # at 4; grows to 8 bytes
    {nops}
    near:
        nop
        .zero 8192
    distant:
        nop
    """
