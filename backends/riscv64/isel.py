"""riscv64 instruction selection: IR function -> machine function over virtual registers.

Rules are small methods per opcode, grouped by kind (integer, float, conversion, memory,
control, calls); `_RULES` maps each IR opcode to its rule. Integer constants are folded into
instructions as 12-bit immediates where the I-type forms allow (addi/andi/ori/xori/slti/
sltiu, shift amounts, load/store displacements), zero is the `zero` register, and other
constants are rematerialised at each use with `li`. A compare (icmp/eqz) that immediately
precedes its only user brif/trapz/trapnz is fused into one conditional branch, and into a
select as a branch over a move (float selects, or compares against zero).

i32 invariant: an i32 value is kept sign-extended to 64 bits in its register. Every rule that
produces an i32 keeps it so (the *w instructions, lw, fcvt.w*, fmv.x.w and slt* all do), which
makes sextend a copy, lets 64-bit branches compare i32 values (sign extension preserves both
the signed and the unsigned order), and requires a zero extension (slli+srli by 32) where an
i32 becomes an address or a table index; the zero-extended index is computed once per block.

Misaligned memory accesses: the memarg alignment is only a hint, and hardware may trap on (or
emulate very slowly) a misaligned access. Each access wider than a byte checks the effective
address's low bits at run time: aligned addresses take the single load/store, others a
byte-wise sequence (lbu/sb with shifts), so the code is correct on any RV64 implementation.

Pseudo operations (op names starting with '@') are expanded by emit.py: '@ret', '@call',
'@call_import', '@call_ref', '@call_helper', '@trap_dyn', '@csel' / '@csel_br' (conditional
move on a register / on a fused compare),
'@fminmax', '@fround', '@bitcount', '@load', '@store', '@jtable' (br_table jump table),
'@load_fp' / '@store_fp' (s0-relative
stack arguments/results), '@slot_ld' / '@slot_st' (spill slots), '@pcopy'.
"""

from __future__ import annotations

from typing import Callable

from engine.errors import TrapCode
from engine.ir.ir import F32, F64, I32, I64, FloatCC, Function, Inst, IntCC, Opcode
from engine.environ import vmctx as V

from engine.environ.helpers import HELPER_INDEX, Helper
from engine.environ.module_info import ModuleInfo
from ..base import RegClass
from ..lowering import LoweringBase, common_rules
from ..lowering import signed as _signed
from ..mir import Imm, Label, Mem, MInst, Reg
from . import abi, bulk
from .asm_li import li_sequence
from .target import A, CALLER_SAVED, HEAP, SP, TARGET, VMCTX, ZERO, is_float

#: IntCC -> (branch op, swap operands) meaning "branch if a cc b"
_BRANCH = {IntCC.EQ: ("beq", False), IntCC.NE: ("bne", False), IntCC.SLT: ("blt", False),
           IntCC.SGE: ("bge", False), IntCC.SGT: ("blt", True), IntCC.SLE: ("bge", True),
           IntCC.ULT: ("bltu", False), IntCC.UGE: ("bgeu", False), IntCC.UGT: ("bltu", True),
           IntCC.ULE: ("bgeu", True)}
NEG_BRANCH = {"beq": "bne", "bne": "beq", "blt": "bge", "bge": "blt", "bltu": "bgeu",
              "bgeu": "bltu"}

_ALU = {Opcode.IADD: "add", Opcode.ISUB: "sub", Opcode.BAND: "and", Opcode.BOR: "or",
        Opcode.BXOR: "xor"}
_MULDIV = {Opcode.IMUL: "mul", Opcode.SDIV: "div", Opcode.UDIV: "divu", Opcode.SREM: "rem",
           Opcode.UREM: "remu"}
_SHIFT = {Opcode.ISHL: "sll", Opcode.SSHR: "sra", Opcode.USHR: "srl"}
_FALU = {Opcode.FADD: "fadd", Opcode.FSUB: "fsub", Opcode.FMUL: "fmul", Opcode.FDIV: "fdiv"}
_ROUND = {Opcode.FNEAREST: "rne", Opcode.FFLOOR: "rdn", Opcode.FCEIL: "rup",
          Opcode.FTRUNC: "rtz"}
_LOAD = {Opcode.ULOAD8: ("lbu", 1), Opcode.SLOAD8: ("lb", 1), Opcode.ULOAD16: ("lhu", 2),
         Opcode.SLOAD16: ("lh", 2), Opcode.ULOAD32: ("lwu", 4), Opcode.SLOAD32: ("lw", 4)}
_STORE = {Opcode.ISTORE8: ("sb", 1), Opcode.ISTORE16: ("sh", 2), Opcode.ISTORE32: ("sw", 4)}


#: br_table with at least this many cases uses a jump table instead of a compare tree
_JUMP_TABLE_MIN = 4


def fits12(x: int) -> bool:
    return -2048 <= x < 2048


class Lowering(LoweringBase):
    """Lowers one IR function. Use `run()`; the result is an MFunction plus facts emit needs."""

    JUMP = "j"
    TARGET = TARGET
    CALLER_SAVED = CALLER_SAVED

    def __init__(self, func: Function, info: ModuleInfo) -> None:
        self.init_state(func, info)
        #: i32 values zero-extended in the current block: value -> register
        self.zext_cache: dict[int, int] = {}
        #: (machine block id, constant value) -> the register built in that block
        self.const_cache: dict[tuple[int, int], int] = {}

    # -- helpers --------------------------------------------------------------------------------

    def is32(self, v: int) -> bool:
        return self.ty(v) in (I32, F32)

    def cls(self, v: int) -> RegClass:
        return abi.reg_class(self.ty(v))

    def fs(self, v: int) -> str:
        """The float format suffix of value v: 's' or 'd'."""
        return "s" if self.ty(v) == F32 else "d"

    def vreg(self, v: int) -> int:
        """The register holding IR value v (an integer zero is the zero register; constants
        are materialised afresh at each use, except those that take three or more instructions
        to build, which are built once per machine block: the SWAR masks of legalised SIMD)."""
        c = self.consts.get(v)
        if c is None:
            return super().vreg(v)
        if c == 0 and self.cls(v) == RegClass.INT:
            return ZERO
        ty = self.ty(v)
        if len(li_sequence(_signed(c, 32 if ty in (I32, F32) else 64))) < 3:
            return super().vreg(v)
        key = (self.cur.id, v)
        r = self.const_cache.get(key)
        if r is None:
            r = self.const_cache[key] = super().vreg(v)
        return r

    def imm12(self, v: int) -> int | None:
        """v's value as a sign-extended 12-bit immediate, if v is such an integer constant."""
        if v in self.consts and self.ty(v) in (I32, I64):
            c = _signed(self.consts[v], 32 if self.ty(v) == I32 else 64)
            if fits12(c):
                return c
        return None

    def ins(self, op: str, *ops, defs=(), uses=(), **kw) -> MInst:
        i = MInst(op, list(ops), list(defs), list(uses), **kw)
        self.cur.insts.append(i)
        return i

    def op3(self, op: str, d: int, a: int, b) -> None:
        """d <- a op b, b a register number or an Imm."""
        if isinstance(b, Imm):
            self.ins(op, Reg(d), Reg(a), b, defs=[d], uses=[a])
        else:
            self.ins(op, Reg(d), Reg(a), Reg(b), defs=[d], uses=[a, b])

    def op2(self, op: str, d: int, a: int, *extra) -> None:
        self.ins(op, Reg(d), Reg(a), *extra, defs=[d], uses=[a])

    def mov(self, d: int, s: int) -> None:
        """d <- s, registers of one class."""
        op = "fmv.d" if self._is_float(d) else "mv"
        self.ins(op, Reg(d), Reg(s), defs=[d], uses=[s], is_move=True)

    def _is_float(self, r: int) -> bool:
        if r >= 256:
            return self.mf.vreg_class[r] == RegClass.FLOAT
        return is_float(r)

    def li(self, r: int, value: int) -> None:
        self.ins("li", Reg(r), Imm(value), defs=[r])

    def materialize(self, r: int, ty, value: int) -> None:
        if ty in (F32, F64):
            mv = "fmv.w.x" if ty == F32 else "fmv.d.x"
            if value == 0:
                self.ins(mv, Reg(r), Reg(ZERO), defs=[r])
                return
            t = self.tmp()
            self.li(t, _signed(value, 32) if ty == F32 else value)
            self.ins(mv, Reg(r), Reg(t), defs=[r], uses=[t])
        else:
            self.li(r, _signed(value, 32 if ty == I32 else 64))

    def branch_trap(self, op: str, a: int, b: int, code: TrapCode) -> None:
        self.ins(op, Reg(a), Reg(b), self.trap_label(code), uses=[a, b])

    def vm(self, off: int) -> Mem:
        """The vmctx field at byte offset `off` as a memory operand."""
        if fits12(off):
            return Mem(VMCTX, off)
        t = self.tmp()
        self.li(t, off)
        self.op3("add", t, t, VMCTX)
        return Mem(t, 0)

    def sp_slot(self, off: int) -> Mem:
        """The outgoing stack-argument slot at sp + off as a memory operand."""
        if fits12(off):
            return Mem(SP, off)
        t = self.tmp()
        self.li(t, off)
        self.op3("add", t, t, SP)
        return Mem(t, 0)

    def load(self, op: str, d: int, m: Mem) -> None:
        self.ins(op, Reg(d), m, defs=[d], uses=[m.base])

    def store(self, op: str, v: int, m: Mem) -> None:
        self.ins(op, Reg(v), m, uses=[v, m.base])

    def zext(self, v: int) -> int:
        """A register holding i32 value v zero-extended to 64 bits (once per block)."""
        r = self.zext_cache.get(v)
        if r is None:
            if v in self.consts:
                r = self.tmp()
                self.li(r, self.consts[v] & 0xFFFFFFFF)
                return r
            a = self.vreg(v)
            r = self.tmp()
            self.op2("slli", r, a, Imm(32))
            self.op2("srli", r, r, Imm(32))
            self.zext_cache[v] = r
        return r

    # -- driver ---------------------------------------------------------------------------------

    def begin_block(self, b, headers) -> None:
        self.zext_cache = {}
        super().begin_block(b, headers)

    def epoch_check(self) -> None:
        """Trap INTERRUPT once the engine's epoch reaches the deadline (function entry and
        loop headers)."""
        t, u = self.tmp(), self.tmp()
        self.load("ld", t, self.vm(V.EPOCH_PTR))
        self.load("ld", t, Mem(t, 0))
        self.load("ld", u, Mem(self.store_ctx(), V.STATE_EPOCH_DEADLINE))
        # deadline reached (or zeroed by a signal): an out-of-line call of helper EPOCH that
        # preserves every register (see emit.p_epoch_slow), then trap or go on
        self.traps.add(int(TrapCode.INTERRUPT))
        self.ins("@epoch_slow", Reg(t), Reg(u), uses=[t, u])

    def fuel_charge(self, v: int) -> None:
        """Subtract IR value v from the store's fuel."""
        t, sc = self.tmp(), self.store_ctx()
        self.load("ld", t, Mem(sc, V.STATE_FUEL))
        c = self.consts.get(v)
        if c is not None and fits12(-c):
            self.op2("addi", t, t, Imm(-c))
        else:
            self.op3("sub", t, t, self.vreg(v))
        self.store("sd", t, Mem(sc, V.STATE_FUEL))

    def fuel_check(self, v: int) -> None:
        """Trap OUT_OF_FUEL when the store's fuel minus IR value v is <= 0 (v >= fuel)."""
        t = self.tmp()
        self.load("ld", t, Mem(self.store_ctx(), V.STATE_FUEL))
        self.branch_trap("bge", self.vreg(v), t, TrapCode.OUT_OF_FUEL)

    def value_from_reg(self, v: int, reg: int) -> None:
        self.mov(self.dst(v), reg)

    def value_to_reg(self, reg: int, v: int) -> None:
        self.mov(reg, self.vreg(v))

    def load_param(self, v: int, slot: int) -> None:
        d = self.dst(v)
        self.ins("@load_fp", Reg(d), Imm(8 * slot), abi.load_op(self.ty(v)), defs=[d])

    # -- fusion ---------------------------------------------------------------------------------

    def try_fuse(self, inst: Inst, nxt: Inst | None) -> bool:
        """Mark a single-use compare as fused into the next branch (which then emits it)."""
        if (inst.opcode in (Opcode.ICMP, Opcode.EQZ) and nxt is not None
                and self.uses.get(inst.results[0]) == 1
                and nxt.opcode in (Opcode.BRIF, Opcode.TRAPZ, Opcode.TRAPNZ, Opcode.SELECT)
                and nxt.args[0] == inst.results[0]
                and (nxt.opcode != Opcode.SELECT or self._select_fusable(inst, nxt))):
            self.fused.add(id(inst))
            return True
        return False

    def _select_fusable(self, cmp: Inst, sel: Inst) -> bool:
        """A compare fuses into a select when the branch over the move reads at most three
        integer registers (the allocator's scratch count): always for float selects, for
        integer ones when the compare is against zero."""
        if self.cls(sel.results[0]) == RegClass.FLOAT or cmp.opcode == Opcode.EQZ:
            return True
        return any(self.consts.get(a) == 0 for a in cmp.args)

    def cond(self, c: int) -> tuple[str, int, int]:
        """A branch (op, a, b) taken exactly when IR value c != 0."""
        d = self.defs.get(c)
        if d is not None and id(d) in self.fused:
            if d.opcode == Opcode.EQZ:
                return "beq", self.vreg(d.args[0]), ZERO
            op, swap = _BRANCH[d.imm]
            a, b = self.vreg(d.args[0]), self.vreg(d.args[1])
            return (op, b, a) if swap else (op, a, b)
        return "bne", self.vreg(c), ZERO

    # -- integer --------------------------------------------------------------------------------

    def r_alu(self, inst: Inst) -> None:
        a, b = inst.args
        r = inst.results[0]
        d = self.dst(r)
        w = "w" if self.is32(r) else ""
        op = _ALU[inst.opcode]
        if op in ("add", "and", "or", "xor") and self.imm12(a) is not None \
                and self.imm12(b) is None:
            a, b = b, a
        imm = self.imm12(b)
        if op == "sub" and b in self.consts:
            neg = -_signed(self.consts[b], 32 if w else 64)
            imm = neg if fits12(neg) else None
            if imm is not None:
                op = "add"
        if imm is not None:
            if op == "add":
                self.op2("addi" + w, d, self.vreg(a), Imm(imm))
            else:
                self.op2(op + "i", d, self.vreg(a), Imm(imm))
            return
        self.op3(op + (w if op in ("add", "sub") else ""), d, self.vreg(a), self.vreg(b))

    def r_muldiv(self, inst: Inst) -> None:
        a, b = inst.args
        r = inst.results[0]
        op = _MULDIV[inst.opcode] + ("w" if self.is32(r) else "")
        self.op3(op, self.dst(r), self.vreg(a), self.vreg(b))

    def r_shift(self, inst: Inst) -> None:
        a, b = inst.args
        r = inst.results[0]
        w = "w" if self.is32(r) else ""
        op = _SHIFT[inst.opcode]
        d = self.dst(r)
        if b in self.consts:
            k = self.consts[b] & (31 if w else 63)
            if k == 0:
                self.op2("addiw" if w else "addi", d, self.vreg(a), Imm(0))
            else:
                self.op2(op + "i" + w, d, self.vreg(a), Imm(k))
            return
        self.op3(op + w, d, self.vreg(a), self.vreg(b))

    def r_rotate(self, inst: Inst) -> None:
        a, b = inst.args
        r = inst.results[0]
        w = "w" if self.is32(r) else ""
        n = 32 if w else 64
        d = self.dst(r)
        ra = self.vreg(a)
        left = inst.opcode == Opcode.ROTL
        t, u = self.tmp(), self.tmp()
        if b in self.consts:
            k = self.consts[b] % n
            if not left:
                k = (n - k) % n
            if k == 0:
                self.op2("addiw" if w else "addi", d, ra, Imm(0))
                return
            self.op2("slli" + w, t, ra, Imm(k))
            self.op2("srli" + w, u, ra, Imm(n - k))
            self.op3("or", d, t, u)
            return
        rb = self.vreg(b)
        first, second = ("sll", "srl") if left else ("srl", "sll")
        self.op3(first + w, t, ra, rb)
        self.op3("sub" + w, u, ZERO, rb)
        self.op3(second + w, u, ra, u)
        self.op3("or", d, t, u)

    def r_bitcount(self, inst: Inst) -> None:
        a = inst.args[0]
        r = inst.results[0]
        d = self.dst(r)
        ra = self.vreg(a)
        kind = inst.opcode.value + ("32" if self.is32(r) else "64")
        self.ins("@bitcount", Reg(d), Reg(ra), kind, defs=[d], uses=[ra])

    def r_sext(self, inst: Inst) -> None:
        d = self.dst(inst.results[0])
        ra = self.vreg(inst.args[0])
        if inst.opcode == Opcode.SEXT32:
            self.op2("addiw", d, ra, Imm(0))
            return
        k = 56 if inst.opcode == Opcode.SEXT8 else 48
        self.op2("slli", d, ra, Imm(k))
        self.op2("srai", d, d, Imm(k))

    def r_eqz(self, inst: Inst) -> None:
        self.op2("seqz", self.dst(inst.results[0]), self.vreg(inst.args[0]))

    def r_icmp(self, inst: Inst) -> None:
        a, b = inst.args
        d = self.dst(inst.results[0])
        cc = inst.imm
        if cc in (IntCC.EQ, IntCC.NE):
            set_ = "seqz" if cc == IntCC.EQ else "snez"
            if b in self.consts and self.consts[b] == 0:
                self.op2(set_, d, self.vreg(a))
                return
            t = self.tmp()
            imm = self.imm12(b)
            if imm is not None:
                self.op2("xori", t, self.vreg(a), Imm(imm))
            else:
                self.op3("xor", t, self.vreg(a), self.vreg(b))
            self.op2(set_, d, t)
            return
        signed = cc in (IntCC.SLT, IntCC.SLE, IntCC.SGT, IntCC.SGE)
        slt = "slt" if signed else "sltu"
        # a < b directly; a > b as b < a; a >= b as !(a < b); a <= b as !(b < a)
        swap = cc in (IntCC.SGT, IntCC.UGT, IntCC.SLE, IntCC.ULE)
        negate = cc in (IntCC.SGE, IntCC.UGE, IntCC.SLE, IntCC.ULE)
        x, y = (b, a) if swap else (a, b)
        imm = self.imm12(y)
        if imm is not None:
            self.op2(slt + "i" if signed else "sltiu", d, self.vreg(x), Imm(imm))
        else:
            self.op3(slt, d, self.vreg(x), self.vreg(y))
        if negate:
            self.op2("xori", d, d, Imm(1))

    def r_select(self, inst: Inst) -> None:
        c, a, b = inst.args
        d = self.dst(inst.results[0])
        rb = self.vreg(b)
        ra = self.vreg(a)
        cd = self.defs.get(c)
        if cd is not None and id(cd) in self.fused:
            # d = b; branch over "d = a" unless the fused compare holds
            op, x, y = self.cond(c)
            self.mov(d, rb)
            self.ins("@csel_br", Reg(d), Reg(ra), Reg(x), Reg(y), NEG_BRANCH[op], defs=[d],
                     uses=[d, ra, x, y])
            return
        rc = self.vreg(c)
        self.mov(d, rb)
        self.ins("@csel", Reg(d), Reg(ra), Reg(rc), defs=[d], uses=[d, ra, rc])

    # -- float ----------------------------------------------------------------------------------

    def r_falu(self, inst: Inst) -> None:
        a, b = inst.args
        self._fop(f"{_FALU[inst.opcode]}.{self.fs(a)}", inst.results[0], a, b, rm="rne")

    def _fop(self, op: str, r: int, *args: int, rm: str | None = None) -> None:
        regs = [self.vreg(a) for a in args]
        d = self.dst(r)
        extra = (rm,) if rm else ()
        self.ins(op, Reg(d), *[Reg(x) for x in regs], *extra, defs=[d], uses=regs)

    def r_fminmax(self, inst: Inst) -> None:
        a, b = inst.args
        op = ("fmin." if inst.opcode == Opcode.FMIN else "fmax.") + self.fs(a)
        ra, rb = self.vreg(a), self.vreg(b)
        d = self.dst(inst.results[0])
        self.ins("@fminmax", Reg(d), Reg(ra), Reg(rb), op, defs=[d], uses=[ra, rb])

    def r_fsign(self, inst: Inst) -> None:
        a = inst.args[0]
        s = self.fs(a)
        if inst.opcode == Opcode.FCOPYSIGN:
            self._fop(f"fsgnj.{s}", inst.results[0], a, inst.args[1])
        else:
            op = "fsgnjx" if inst.opcode == Opcode.FABS else "fsgnjn"
            self._fop(f"{op}.{s}", inst.results[0], a, a)

    def r_fsqrt(self, inst: Inst) -> None:
        self._fop(f"fsqrt.{self.fs(inst.args[0])}", inst.results[0], inst.args[0], rm="rne")

    def r_fround(self, inst: Inst) -> None:
        a = inst.args[0]
        ra = self.vreg(a)
        d = self.dst(inst.results[0])
        self.ins("@fround", Reg(d), Reg(ra), _ROUND[inst.opcode], self.fs(a), defs=[d],
                 uses=[ra])

    def r_fcmp(self, inst: Inst) -> None:
        a, b = inst.args
        s = self.fs(a)
        cc = inst.imm
        d = self.dst(inst.results[0])
        ra, rb = self.vreg(a), self.vreg(b)
        if cc in (FloatCC.UNO, FloatCC.ORD):
            t = self.tmp()
            self.op3(f"feq.{s}", t, ra, ra)
            self.op3(f"feq.{s}", d, rb, rb)
            self.op3("and", d, d, t)
            if cc == FloatCC.UNO:
                self.op2("xori", d, d, Imm(1))
            return
        op, x, y = {FloatCC.EQ: ("feq", ra, rb), FloatCC.NE: ("feq", ra, rb),
                    FloatCC.LT: ("flt", ra, rb), FloatCC.LE: ("fle", ra, rb),
                    FloatCC.GT: ("flt", rb, ra), FloatCC.GE: ("fle", rb, ra)}[cc]
        self.op3(f"{op}.{s}", d, x, y)
        if cc == FloatCC.NE:
            self.op2("xori", d, d, Imm(1))

    # -- conversions ----------------------------------------------------------------------------

    def r_ireduce(self, inst: Inst) -> None:
        self.op2("addiw", self.dst(inst.results[0]), self.vreg(inst.args[0]), Imm(0))

    def r_uextend(self, inst: Inst) -> None:
        d = self.dst(inst.results[0])
        self.op2("slli", d, self.vreg(inst.args[0]), Imm(32))
        self.op2("srli", d, d, Imm(32))

    def r_sextend(self, inst: Inst) -> None:
        self.r_ireduce(inst)

    def r_fcvt_to_int(self, inst: Inst) -> None:
        a = inst.args[0]
        r = inst.results[0]
        op = inst.opcode
        signed = op in (Opcode.FCVT_TO_SINT, Opcode.FCVT_TO_SINT_SAT)
        fmt = ("w" if self.is32(r) else "l") + ("" if signed else "u")
        ra = self.vreg(a)
        d = self.dst(r)
        self.ins(f"fcvt.{fmt}.{self.fs(a)}", Reg(d), Reg(ra), "rtz", defs=[d], uses=[ra])
        if op in (Opcode.FCVT_TO_SINT_SAT, Opcode.FCVT_TO_UINT_SAT):
            # fcvt saturates like wasm except for NaN (it gives the maximum): mask it to 0
            t = self.tmp()
            self.op3(f"feq.{self.fs(a)}", t, ra, ra)
            self.op3("sub", t, ZERO, t)
            self.op3("and", d, d, t)

    def r_fcvt_from_int(self, inst: Inst) -> None:
        a = inst.args[0]
        r = inst.results[0]
        fmt = ("w" if self.is32(a) else "l") + ("u" if inst.opcode == Opcode.FCVT_FROM_UINT
                                                else "")
        s = self.fs(r)
        exact = s == "d" and fmt in ("w", "wu")
        self._fop(f"fcvt.{s}.{fmt}", r, a, rm=None if exact else "rne")

    def r_fpromote(self, inst: Inst) -> None:
        self._fop("fcvt.d.s", inst.results[0], inst.args[0])

    def r_fdemote(self, inst: Inst) -> None:
        self._fop("fcvt.s.d", inst.results[0], inst.args[0], rm="rne")

    def r_bitcast(self, inst: Inst) -> None:
        r = inst.results[0]
        op = {I32: "fmv.x.w", I64: "fmv.x.d", F32: "fmv.w.x", F64: "fmv.d.x"}[self.ty(r)]
        self._fop(op, r, inst.args[0])

    # -- memory ---------------------------------------------------------------------------------

    def heap_base(self, memory: int) -> int:
        if memory == 0:
            return HEAP
        t = self.tmp()
        self.load("ld", t, self.vm(self.info.offsets.memory_base(memory)))
        return t

    def address(self, imm, index: int, size: int) -> Mem:
        """The effective address of an access of `size` bytes (the displacement leaves room
        for the byte-wise path's size - 1 extra bytes)."""
        z = self.zext(index)
        ea = self.tmp()
        self.op3("add", ea, self.heap_base(imm.memory), z)
        if 0 <= imm.offset <= 2047 - (size - 1):
            return Mem(ea, imm.offset)
        t = self.tmp()
        self.li(t, imm.offset)
        self.op3("add", ea, ea, t)
        return Mem(ea, 0)

    def r_heap_check(self, inst: Inst) -> None:
        imm = inst.imm
        z = self.zext(inst.args[0])
        t = self.tmp()
        end = imm.offset + imm.size
        if fits12(end):
            self.op2("addi", t, z, Imm(end))
        else:
            self.li(t, end)
            self.op3("add", t, t, z)
        n = self.tmp()
        self.load("ld", n, self.vm(self.info.offsets.memory_length(imm.memory)))
        self.branch_trap("bltu", n, t, TrapCode.MEMORY_OUT_OF_BOUNDS)

    def r_load(self, inst: Inst) -> None:
        r = inst.results[0]
        if inst.opcode == Opcode.LOAD:
            op, size = {I32: ("lw", 4), I64: ("ld", 8), F32: ("flw", 4),
                        F64: ("fld", 8)}[self.ty(r)]
        else:
            op, size = _LOAD[inst.opcode]
        m = self.address(inst.imm, inst.args[0], size)
        d = self.dst(r)
        self.ins("@load", Reg(d), m, op, size, defs=[d], uses=[m.base])

    def r_store(self, inst: Inst) -> None:
        idx, v = inst.args
        if inst.opcode == Opcode.STORE:
            op, size = {I32: ("sw", 4), I64: ("sd", 8), F32: ("fsw", 4),
                        F64: ("fsd", 8)}[self.ty(v)]
        else:
            op, size = _STORE[inst.opcode]
        rv = self.vreg(v)
        m = self.address(inst.imm, idx, size)
        self.ins("@store", Reg(rv), m, op, size, uses=[rv, m.base])

    def r_memory_size(self, inst: Inst) -> None:
        d = self.dst(inst.results[0])
        self.load("ld", d, self.vm(self.info.offsets.memory_length(inst.imm)))
        self.op2("srli", d, d, Imm(16))

    # -- globals --------------------------------------------------------------------------------

    def load_vm(self, reg: int, m: Mem) -> None:
        self.load("ld", reg, m)

    def load_cell(self, v: int, cell: int, offset: int = 0) -> None:
        self.load(abi.load_op(self.ty(v)), self.dst(v), Mem(cell, offset))

    def store_cell(self, v: int, cell: int, offset: int = 0) -> None:
        self.store(abi.store_op(self.ty(v)), self.vreg(v), Mem(cell, offset))

    # -- references and tables ------------------------------------------------------------------

    def r_ref_null(self, inst: Inst) -> None:
        self.mov(self.dst(inst.results[0]), ZERO)

    def r_ref_is_null(self, inst: Inst) -> None:
        self.op2("seqz", self.dst(inst.results[0]), self.vreg(inst.args[0]))

    def r_ref_func(self, inst: Inst) -> None:
        d = self.dst(inst.results[0])
        self.load("ld", d, self.vm(V.FUNCREFS))
        off = V.FUNCREF_SIZE * inst.imm
        if fits12(off):
            self.op2("addi", d, d, Imm(off))
        else:
            t = self.tmp()
            self.li(t, off)
            self.op3("add", d, d, t)

    def table_entry(self, table: int, index: int) -> Mem:
        z = self.zext(index)
        tdef = self.table_def(table)
        n = self.tmp()
        self.load("ld", n, Mem(tdef, V.TABLEDEF_LENGTH))
        self.branch_trap("bgeu", z, n, TrapCode.TABLE_OUT_OF_BOUNDS)
        t = self.tmp()
        self.load("ld", t, Mem(tdef, V.TABLEDEF_BASE))
        u = self.tmp()
        self.op2("slli", u, z, Imm(3))
        self.op3("add", t, t, u)
        return Mem(t, 0)

    def r_table_get(self, inst: Inst) -> None:
        m = self.table_entry(inst.imm, inst.args[0])
        self.load("ld", self.dst(inst.results[0]), m)

    def r_table_set(self, inst: Inst) -> None:
        m = self.table_entry(inst.imm, inst.args[0])
        self.store("sd", self.vreg(inst.args[1]), m)

    def r_table_size(self, inst: Inst) -> None:
        self.load("lw", self.dst(inst.results[0]),
                  Mem(self.table_def(inst.imm), V.TABLEDEF_LENGTH))

    # -- runtime helpers ------------------------------------------------------------------------

    def helper(self, h: Helper, consts: list[int], args: list[int],
               result: int | None = None, traps: bool = False, reload_heap: bool = False) -> None:
        """Call runtime helper h (C convention): (vmctx, *consts, *args)."""
        self.mov(A[0], VMCTX)
        k = 1
        for c in consts:
            self.li(A[k], c)
            k += 1
        for a in args:
            self.mov(A[k], self.vreg(a))
            k += 1
        self.ins("@call_helper", Imm(HELPER_INDEX[h]), defs=[A[0]], uses=list(A[:k]),
                 clobbers=CALLER_SAVED)
        if reload_heap:
            self.reload_heap()
        if traps:
            self.ins("@trap_dyn", Label(name=f"{self.mf.name}_trapdyn"), uses=[A[0]])
            self.traps.add(-1)
        if result is not None:
            d = self.dst(result)
            if self.is32(result):
                self.op2("addiw", d, A[0], Imm(0))
            else:
                self.mov(d, A[0])

    def reload_heap(self) -> None:
        if self.uses_heap:
            m = self.vm(self.info.offsets.memory_base(0))
            self.ins("ld", Reg(HEAP), m, uses=[m.base])

    # -- traps ----------------------------------------------------------------------------------

    def r_trapz(self, inst: Inst) -> None:
        op, a, b = self.cond(inst.args[0])
        self.branch_trap(NEG_BRANCH[op], a, b, inst.imm)

    def r_trapnz(self, inst: Inst) -> None:
        op, a, b = self.cond(inst.args[0])
        self.branch_trap(op, a, b, inst.imm)

    # -- calls ----------------------------------------------------------------------------------

    def store_arg(self, v: int, slot: int) -> None:
        op = "fsd" if self.cls(v) == RegClass.FLOAT else "sd"
        self.store(op, self.vreg(v), self.sp_slot(8 * slot))

    def load_result(self, v: int, slot: int) -> None:
        d = self.dst(v)
        self.load("fld" if self.cls(v) == RegClass.FLOAT else "ld", d, self.sp_slot(8 * slot))

    def store_return(self, v: int, slot: int) -> None:
        ra = self.vreg(v)
        op = "fsd" if self.cls(v) == RegClass.FLOAT else "sd"
        self.ins("@store_fp", Reg(ra), Imm(8 * slot), op, uses=[ra])

    def callee_ref(self, imm, index: int) -> int:
        m = self.table_entry(imm.table, index)
        ref = self.tmp()
        self.load("ld", ref, m)
        self.branch_trap("beq", ref, ZERO, TrapCode.INDIRECT_CALL_TO_NULL)
        sig, got = self.tmp(), self.tmp()
        self.load("ld", sig, self.vm(self.info.offsets.sig_id(imm.type_index)))
        self.load("ld", got, Mem(ref, V.FUNCREF_SIG))
        self.branch_trap("bne", sig, got, TrapCode.BAD_SIGNATURE)
        return ref

    # -- control --------------------------------------------------------------------------------

    def branch_if(self, inst: Inst, block: int) -> None:
        op, a, b = self.cond(inst.args[0])
        self.ins(op, Reg(a), Reg(b), Label(block), uses=[a, b], targets=(block,))

    def dispatch(self, ri: int, cases: list[int], default: int) -> None:
        # i32 indices are sign-extended, so unsigned 64-bit compares order them as unsigned
        # 32-bit values
        if len(cases) >= _JUMP_TABLE_MIN:
            # bounds check, then a table of 32-bit offsets (emit: '@jtable')
            n = self._const_reg(len(cases))
            self.ins("bgeu", Reg(ri), Reg(n), Label(default), uses=[ri, n], targets=(default,))
            self.ins("@jtable", Reg(ri), [Label(c) for c in cases], uses=[ri],
                     targets=tuple(dict.fromkeys(cases)))
            return
        # a few cases: a compare-and-branch tree
        self.br_tree(ri, cases, 0, len(cases), default)

    def _const_reg(self, k: int) -> int:
        if k == 0:
            return ZERO
        t = self.tmp()
        self.li(t, k)
        return t

    def index_branch(self, ri: int, k: int, cond: str, block: int) -> None:
        c = self._const_reg(k)
        self.ins("beq" if cond == "eq" else "bgeu", Reg(ri), Reg(c), Label(block), uses=[ri, c],
                 targets=(block,))


_O = Opcode
_RULES: dict[Opcode, Callable[[Lowering, Inst], None]] = {
    **common_rules(Lowering),
    **{op: Lowering.r_alu for op in _ALU},
    **{op: Lowering.r_muldiv for op in _MULDIV},
    **{op: Lowering.r_shift for op in _SHIFT},
    _O.ROTL: Lowering.r_rotate, _O.ROTR: Lowering.r_rotate,
    **{op: Lowering.r_falu for op in _FALU},
    _O.FMIN: Lowering.r_fminmax, _O.FMAX: Lowering.r_fminmax,
    _O.FABS: Lowering.r_fsign, _O.FNEG: Lowering.r_fsign, _O.FCOPYSIGN: Lowering.r_fsign,
    _O.FSQRT: Lowering.r_fsqrt, **{op: Lowering.r_fround for op in _ROUND},
    _O.FPROMOTE: Lowering.r_fpromote, _O.FDEMOTE: Lowering.r_fdemote,
    _O.MEMORY_COPY: bulk.memory_copy, _O.MEMORY_FILL: bulk.memory_fill,
    _O.MEMORY_INIT: bulk.memory_init, _O.TABLE_COPY: bulk.table_copy,
    _O.TABLE_FILL: bulk.table_fill,
}
Lowering.set_rules(_RULES, fusable=(_O.ICMP, _O.EQZ))
