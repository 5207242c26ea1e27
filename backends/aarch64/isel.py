"""aarch64 instruction selection: IR function -> machine function over virtual registers.

Rules are small methods per opcode, grouped by kind (integer, float, conversion, memory,
control, calls); `_RULES` maps each IR opcode to its rule. A64 forms folded where the ISA
allows them:

- add/sub/cmp/cmn with 12-bit (optionally ``lsl #12``) immediates, and/orr/eor with logical
  bitmask immediates, shifts and rotates by constants;
- a single-use constant shift feeding add/sub/and/orr/eor becomes a shifted-register operand;
  a single-use multiply feeding add/sub becomes madd/msub; remainders are sdiv/udiv + msub;
- a single-use icmp/eqz/fcmp (or band with a bitmask immediate, as tst) in the same block as its
  brif/select/trapz/trapnz user is emitted at the user as a flag-setting compare followed by
  b.cc/csel/fcsel; a comparison with zero, a plain i32/i64 condition and a SIMD lane test
  (any_true, all_true) branch with cbz/cbnz, a
  single-bit test with tbz/tbnz (emit.py relaxes those to tst + b.cc in functions too large for
  their +-32 KiB reach);
- memory accesses use the register-offset form [x27, xIndex] (plus one add for a static offset).
  The memarg alignment is only a hint and is ignored: A64 loads and stores of normal memory
  accept any alignment (Linux runs with SCTLR_EL1.A clear), so misaligned accesses need no
  special code (tests/backends/aarch64 checks one).

Register invariant: an i32 value always has the upper 32 bits of its x register zero (every
instruction that produces an i32 writes the w register, which zeroes them), so uextend is a copy
and an i32 index addresses memory directly. Arithmetic never traps (the IR builder emits the
division and conversion checks); fcvtzs/fcvtzu saturate and give 0 for NaN, which is exactly the
wasm saturating semantics; fmin/fmax/frintn have wasm's NaN and signed-zero rules.

Pseudo operations (op names starting with '@') are expanded by emit.py: '@ret' (epilogue),
'@call' (direct), '@call_import', '@call_ref', '@call_helper', '@load_fp'/'@store_fp' (stack
arguments/results of this function), '@pcopy' (resolved by the register allocator).
"""

from __future__ import annotations

from typing import Callable

from engine.errors import TrapCode
from engine.ir.ir import F32, F64, I32, I64, V128, FloatCC, Function, Inst, IntCC, Opcode
from engine.environ import vmctx as V

from engine.environ.helpers import HELPER_INDEX, Helper
from engine.environ.module_info import ModuleInfo
from ..base import RegClass
from ..lowering import LOADS, STORES, SizedRegLowering, common_rules
from ..lowering import signed as _signed
from ..mir import Imm, Label, Mem, MInst, Reg
from . import abi, bulk
from .isel_simd import LANE_TESTS, VEC, SimdLowering, VecOp, simd_rules
from .target import CALLER_SAVED, HEAP, SP, TARGET, VMCTX

#: the zero register (xzr/wzr); not allocatable, never tracked
ZR = 64

_ICC = {IntCC.EQ: "eq", IntCC.NE: "ne", IntCC.SLT: "lt", IntCC.SLE: "le", IntCC.SGT: "gt",
        IntCC.SGE: "ge", IntCC.ULT: "lo", IntCC.ULE: "ls", IntCC.UGT: "hi", IntCC.UGE: "hs"}
#: the condition with operands swapped (a cc b == b swap[cc] a)
_SWAP = {"eq": "eq", "ne": "ne", "lt": "gt", "gt": "lt", "le": "ge", "ge": "le", "lo": "hi",
         "hi": "lo", "ls": "hs", "hs": "ls"}
#: after `fcmp a, b`: true for the FloatCC (an unordered result sets C and V, clears N and Z)
_FCC = {FloatCC.EQ: "eq", FloatCC.NE: "ne", FloatCC.LT: "mi", FloatCC.LE: "ls",
        FloatCC.GT: "gt", FloatCC.GE: "ge", FloatCC.UNO: "vs", FloatCC.ORD: "vc"}
INVERT = {"eq": "ne", "ne": "eq", "lt": "ge", "ge": "lt", "le": "gt", "gt": "le", "lo": "hs",
          "hs": "lo", "ls": "hi", "hi": "ls", "mi": "pl", "pl": "mi", "vs": "vc", "vc": "vs"}

_ALU = {Opcode.IADD: "add", Opcode.ISUB: "sub", Opcode.BAND: "and", Opcode.BOR: "orr",
        Opcode.BXOR: "eor"}
_COMMUTES = {"add", "and", "orr", "eor"}
_SHIFT = {Opcode.ISHL: "lsl", Opcode.SSHR: "asr", Opcode.USHR: "lsr", Opcode.ROTR: "ror"}
_FALU = {Opcode.FADD: "fadd", Opcode.FSUB: "fsub", Opcode.FMUL: "fmul", Opcode.FDIV: "fdiv",
         Opcode.FMIN: "fmin", Opcode.FMAX: "fmax", Opcode.FABS: "fabs", Opcode.FNEG: "fneg",
         Opcode.FSQRT: "fsqrt", Opcode.FCEIL: "frintp", Opcode.FFLOOR: "frintm",
         Opcode.FTRUNC: "frintz", Opcode.FNEAREST: "frintn"}
_FUSE_COND = (Opcode.ICMP, Opcode.EQZ, Opcode.FCMP)
_FOLD_SHIFT = {Opcode.ISHL: "lsl", Opcode.USHR: "lsr", Opcode.SSHR: "asr"}


def imm12(x: int) -> bool:
    """add/sub/cmp immediate: 12 bits, optionally shifted left by 12."""
    return 0 <= x < 4096 or (x & 0xFFF == 0 and 0 <= x < (1 << 24))


def logical_imm(x: int, bits: int) -> bool:
    """Whether x is an A64 logical (bitmask) immediate of width `bits`: a replicated element of
    2..64 bits that is a rotated run of ones (neither all zeros nor all ones)."""
    mask = (1 << bits) - 1
    x &= mask
    if x in (0, mask):
        return False
    size = bits
    while size > 2:
        half = size // 2
        low = (1 << half) - 1
        if x & low != (x >> half) & low:
            break
        size = half
    elem = x & ((1 << size) - 1)
    rotated = (elem >> 1) | ((elem & 1) << (size - 1))
    return bin(elem ^ rotated).count("1") == 2


def _regs_of(o) -> list[int]:
    if isinstance(o, VecOp):
        return [o.reg]
    if isinstance(o, Reg):
        return [o.reg] if o.reg not in (ZR, SP, VMCTX, HEAP) else []
    if isinstance(o, Mem):
        return [r for r in (o.base, o.index) if r is not None and r not in (HEAP, VMCTX, SP)]
    return []


class Lowering(SimdLowering, SizedRegLowering):
    """Lowers one IR function. Use `run()`; the result is an MFunction plus facts emit needs
    (`traps`, `outgoing`, `uses_heap`)."""

    JUMP = "b"
    TARGET = TARGET
    CALLER_SAVED = CALLER_SAVED
    SP = SP
    LOAD_PARAM = "@load_fp"

    regs_of = staticmethod(_regs_of)

    def __init__(self, func: Function, info: ModuleInfo) -> None:
        self.init_state(func, info)

    # -- helpers --------------------------------------------------------------------------------

    def bits(self, v: int) -> int:
        return abi.bits(self.ty(v))

    def cls(self, v: int) -> RegClass:
        return abi.reg_class(self.ty(v))

    def R(self, v: int, bits: int | None = None) -> Reg:
        return Reg(self.vreg(v), bits or self.bits(v))

    def Rz(self, v: int, bits: int | None = None) -> Reg:
        """As R, but the zero register for an integer 0 (only where an operand may be ZR:
        register-form data processing, csel, store values)."""
        if v in self.consts and self.consts[v] == 0 and self.cls(v) == RegClass.INT:
            return Reg(ZR, bits or self.bits(v))
        return self.R(v, bits)

    def D(self, v: int) -> Reg:
        return Reg(self.dst(v), self.bits(v))

    def const_of(self, v: int) -> int | None:
        """The constant bit pattern of integer value v, or None."""
        if v in self.consts and self.ty(v) in (I32, I64):
            return self.consts[v]
        return None

    def ins(self, op: str, *ops, defs=(), uses=(), **kw) -> MInst:
        i = MInst(op, list(ops), list(defs), list(uses), **kw)
        self.cur.insts.append(i)
        return i

    def op(self, op: str, d: Reg, *srcs) -> None:
        """d <- op(srcs): the common three-address shape."""
        uses: list[int] = []
        for s in srcs:
            uses += _regs_of(s)
        self.ins(op, d, *srcs, defs=[d.reg], uses=uses)

    def is_float(self, r: int) -> bool:
        if r >= 256:
            return self.mf.vreg_class[r] == RegClass.FLOAT
        return 32 <= r < 64

    def is_vector(self, r: int) -> bool:
        return r >= 256 and self.mf.vreg_class[r] == VEC

    def mov(self, d: Reg, s) -> None:
        """d <- s for same-class registers (whole register), or a load from memory."""
        if isinstance(s, Reg) and (d.bits == 128 or self.is_vector(s.reg)):
            self.ins("mov", VecOp(d.reg, "16b"), VecOp(s.reg, "16b"), defs=[d.reg],
                     uses=[s.reg], is_move=True)
        elif isinstance(s, Reg):
            if s.reg == ZR:
                self.ins("mov", Reg(d.reg, 64), Reg(ZR, 64), defs=[d.reg])
            elif self.is_float(d.reg):
                self.ins("fmov", Reg(d.reg, 64), Reg(s.reg, 64), defs=[d.reg], uses=[s.reg],
                         is_move=True)
            else:
                self.ins("mov", Reg(d.reg, 64), Reg(s.reg, 64), defs=[d.reg], uses=[s.reg],
                         is_move=True)
        else:
            self.ins("ldr", d, s, defs=[d.reg], uses=_regs_of(s))

    def materialize(self, r: int, ty, value: int) -> None:
        if ty in (F32, F64):
            b = abi.bits(ty)
            if value == 0:
                self.ins("fmov", Reg(r, b), Reg(ZR, b), defs=[r])
                return
            t = self.tmp()
            self.int_const(t, value, b)
            self.ins("fmov", Reg(r, b), Reg(t, b), defs=[r], uses=[t])
        else:
            self.int_const(r, value, abi.bits(ty))

    def int_const(self, r: int, value: int, bits: int) -> None:
        """r <- value with movz/movn/movk or an orr of a bitmask immediate."""
        value &= (1 << bits) - 1
        d = Reg(r, bits)
        if value == 0:
            self.ins("mov", d, Reg(ZR, bits), defs=[r])
            return
        chunks = [(value >> (16 * i)) & 0xFFFF for i in range(bits // 16)]
        nonzero = [i for i, c in enumerate(chunks) if c]
        nonones = [i for i, c in enumerate(chunks) if c != 0xFFFF]
        if len(nonzero) > 2 and len(nonones) > 1 and logical_imm(value, bits):
            self.ins("orr", d, Reg(ZR, bits), Imm(value), defs=[r])
            return
        if len(nonones) < len(nonzero):
            first = nonones[0] if nonones else 0
            self.ins("movn", d, Imm(~chunks[first] & 0xFFFF), f"lsl #{16 * first}", defs=[r])
            for i in nonones[1:]:
                self.ins("movk", d, Imm(chunks[i]), f"lsl #{16 * i}", defs=[r], uses=[r])
            return
        self.ins("movz", d, Imm(chunks[nonzero[0]]), f"lsl #{16 * nonzero[0]}", defs=[r])
        for i in nonzero[1:]:
            self.ins("movk", d, Imm(chunks[i]), f"lsl #{16 * i}", defs=[r], uses=[r])

    def bcc_trap(self, cc: str, code: TrapCode) -> None:
        self.ins("b." + cc, self.trap_label(code))

    def vm(self, off: int, bits: int = 64) -> Mem:
        """A vmctx field: [x28, #off] when the scaled offset encodes, else through a register."""
        size = bits // 8
        if off % size == 0 and 0 <= off // size < 4096:
            return Mem(VMCTX, off, bits)
        t = self.tmp()
        self.int_const(t, off, 64)
        return Mem(VMCTX, 0, bits, t, 1)

    # -- driver ---------------------------------------------------------------------------------

    def plan(self, reachable) -> None:
        f = self.f
        block_of = {r: b.id for b in f.blocks for inst in b.insts for r in inst.results}
        for b in f.blocks:
            if reachable(b.id):
                self.plan_folds(b, block_of)

    def plan_folds(self, b, block_of: dict[int, int]) -> None:
        """Mark single-use definitions in block b that their user absorbs: compares into
        brif/select/trapz/trapnz, constant shifts into ALU operands, multiplies into madd/msub."""

        def single(v: int, opcodes) -> Inst | None:
            d = self.defs.get(v)
            if (d is None or d.opcode not in opcodes or self.uses.get(v) != 1
                    or block_of.get(v) != b.id or id(d) in self.fused):
                return None
            return d

        for inst in b.insts:
            op = inst.opcode
            if op in (Opcode.BRIF, Opcode.TRAPZ, Opcode.TRAPNZ, Opcode.SELECT):
                d = single(inst.args[0], _FUSE_COND + (Opcode.BAND,))
                if d is not None and (d.opcode != Opcode.BAND or self.tst_mask(d) is not None):
                    self.fused.add(id(d))
                elif op is not Opcode.SELECT:
                    d = single(inst.args[0], LANE_TESTS)
                    if d is not None:
                        self.fused.add(id(d))
            elif op in _ALU:
                positions = (1, 0) if _ALU[op] in _COMMUTES else (1,)
                if op == Opcode.ISUB:
                    positions = (1,)
                for pos in positions:
                    d = self.foldable_operand(inst, pos, single)
                    if d is not None:
                        self.fused.add(id(d))
                        break

    def foldable_operand(self, inst: Inst, pos: int, single) -> Inst | None:
        """The definition of operand `pos` of ALU instruction `inst` if it folds into it."""
        v = inst.args[pos]
        if self.const_of(inst.args[1 - pos]) is not None:
            return None  # an immediate operand folds instead
        if self.const_of(v) is not None:
            return None
        d = single(v, tuple(_FOLD_SHIFT) + (Opcode.IMUL,))
        if d is None:
            return None
        if d.opcode == Opcode.IMUL:
            return d if inst.opcode in (Opcode.IADD, Opcode.ISUB) else None
        return d if self.const_of(d.args[1]) is not None else None

    def tst_mask(self, d: Inst) -> tuple[int, int] | None:
        """(value, mask) when band `d` has a constant logical-immediate operand."""
        for v, c in ((d.args[0], d.args[1]), (d.args[1], d.args[0])):
            m = self.const_of(c)
            if m is not None and self.const_of(v) is None and logical_imm(m, self.bits(v)):
                return v, m
        return None

    def fused_def(self, v: int) -> Inst | None:
        d = self.defs.get(v)
        return d if d is not None and id(d) in self.fused else None

    def epoch_check(self) -> None:
        """Trap INTERRUPT once the engine's epoch reaches the deadline (function entry and
        loop headers)."""
        t, u = self.tmp(), self.tmp()
        self.ins("ldr", Reg(t), self.vm(V.EPOCH_PTR), defs=[t])
        self.ins("ldr", Reg(t), Mem(t, 0, 64), defs=[t], uses=[t])
        c = self.store_ctx()
        self.ins("ldr", Reg(u), Mem(c, V.STATE_EPOCH_DEADLINE, 64), defs=[u], uses=[c])
        self.ins("cmp", Reg(t), Reg(u), uses=[t, u])
        # deadline reached (or zeroed by a signal): an out-of-line call of helper EPOCH that
        # preserves every register (see emit.p_epoch_slow), then trap or go on
        self.traps.add(int(TrapCode.INTERRUPT))
        self.ins("@epoch_slow")

    def fuel_charge(self, v: int) -> None:
        """Subtract IR value v from the store's fuel."""
        t, sc = self.tmp(), self.store_ctx()
        self.ins("ldr", Reg(t), Mem(sc, V.STATE_FUEL, 64), defs=[t], uses=[sc])
        c = self.consts.get(v)
        if c is not None and imm12(c):
            self.ins("sub", Reg(t), Reg(t), Imm(c), defs=[t], uses=[t])
        else:
            u = self.R(v, 64)
            self.ins("sub", Reg(t), Reg(t), u, defs=[t], uses=[t, u.reg])
        self.ins("str", Reg(t), Mem(sc, V.STATE_FUEL, 64), uses=[t, sc])

    def fuel_check(self, v: int) -> None:
        """Trap OUT_OF_FUEL when the store's fuel minus IR value v is <= 0 (fuel <= v)."""
        t, sc = self.tmp(), self.store_ctx()
        self.ins("ldr", Reg(t), Mem(sc, V.STATE_FUEL, 64), defs=[t], uses=[sc])
        c = self.consts.get(v)
        if c is not None and imm12(c):
            self.ins("cmp", Reg(t), Imm(c), uses=[t])
        else:
            u = self.R(v, 64)
            self.ins("cmp", Reg(t), u, uses=[t, u.reg])
        self.bcc_trap("le", TrapCode.OUT_OF_FUEL)

    # -- conditions -----------------------------------------------------------------------------

    def cmp(self, a: int, b: int) -> bool:
        """Set flags comparing integer values a and b (cmp/cmn with an immediate where one
        encodes); returns True when the operands were swapped to put a constant second."""
        bits = self.bits(a)
        cb, ca = self.const_of(b), self.const_of(a)
        swapped = ca is not None and cb is None
        if swapped:
            a, b, cb = b, a, ca
        ra = self.R(a, bits)
        if cb is not None:
            c = _signed(cb, bits)
            if imm12(c):
                self.ins("cmp", ra, Imm(c), uses=[ra.reg])
                return swapped
            if c < 0 and imm12(-c):
                self.ins("cmn", ra, Imm(-c), uses=[ra.reg])
                return swapped
        rb = self.R(b, bits)
        self.ins("cmp", ra, rb, uses=[ra.reg, rb.reg])
        return swapped

    def flags(self, d: Inst) -> str:
        """Emit the compare of fused icmp/eqz/fcmp/band `d`; return the condition true when d's
        result would be nonzero."""
        if d.opcode == Opcode.BAND:
            v, m = self.tst_mask(d)
            r = self.R(v)
            self.ins("tst", r, Imm(m), uses=[r.reg])
            return "ne"
        if d.opcode == Opcode.EQZ:
            a = self.R(d.args[0])
            self.ins("cmp", a, Imm(0), uses=_regs_of(a))
            return "eq"
        if d.opcode == Opcode.ICMP:
            cc = _ICC[d.imm]
            return _SWAP[cc] if self.cmp(d.args[0], d.args[1]) else cc
        ra, rb = self.R(d.args[0]), self.R(d.args[1])
        self.ins("fcmp", ra, rb, uses=[ra.reg, rb.reg])
        return _FCC[d.imm]

    def cond(self, c: int) -> str:
        """Set flags for condition value c; returns the condition true when c != 0."""
        d = self.fused_def(c)
        if d is not None:
            return self.flags(d)
        r = self.R(c)
        self.ins("cmp", r, Imm(0), uses=_regs_of(r))
        return "ne"

    # -- integer --------------------------------------------------------------------------------

    def r_alu(self, inst: Inst) -> None:
        a, b = inst.args
        d = self.D(inst.results[0])
        bits = d.bits
        op = _ALU[inst.opcode]
        if op in _COMMUTES and (self.fused_def(a) is not None
                                or (self.const_of(a) is not None and self.const_of(b) is None)):
            a, b = b, a
        fb = self.fused_def(b)
        if fb is not None and fb.opcode == Opcode.IMUL:
            x, y = self.R(fb.args[0]), self.R(fb.args[1])
            self.op("madd" if op == "add" else "msub", d, x, y, self.R(a))
            return
        if fb is not None:
            k = self.consts[fb.args[1]] & (bits - 1)
            self.op(op, d, self.R(a), self.R(fb.args[0]), f"{_FOLD_SHIFT[fb.opcode]} #{k}")
            return
        cb = self.const_of(b)
        if cb is not None:
            if op in ("add", "sub"):
                c = _signed(cb, bits) * (1 if op == "add" else -1)
                if imm12(c):
                    self.op("add", d, self.R(a), Imm(c))
                    return
                if imm12(-c):
                    self.op("sub", d, self.R(a), Imm(-c))
                    return
            elif logical_imm(cb, bits):
                self.op(op, d, self.R(a), Imm(cb))
                return
        self.op(op, d, self.R(a), self.R(b))

    def r_imul(self, inst: Inst) -> None:
        a, b = inst.args
        self.op("mul", self.D(inst.results[0]), self.R(a), self.R(b))

    def r_div(self, inst: Inst) -> None:
        a, b = inst.args
        d = self.D(inst.results[0])
        signed = inst.opcode in (Opcode.SDIV, Opcode.SREM)
        div = "sdiv" if signed else "udiv"
        ra, rb = self.R(a), self.R(b)
        if inst.opcode in (Opcode.SDIV, Opcode.UDIV):
            self.op(div, d, ra, rb)
            return
        q = Reg(self.tmp(), d.bits)
        self.op(div, q, ra, rb)
        self.op("msub", d, q, rb, ra)

    def r_shift(self, inst: Inst) -> None:
        a, b = inst.args
        d = self.D(inst.results[0])
        bits = d.bits
        cb = self.const_of(b)
        rotl = inst.opcode == Opcode.ROTL
        if cb is not None:
            k = cb & (bits - 1)
            if rotl:
                k = (bits - k) & (bits - 1)
            if k == 0:
                self.mov(d, self.Rz(a))
                return
            self.op("ror" if rotl else _SHIFT[inst.opcode], d, self.R(a), Imm(k))
            return
        rb = self.R(b, bits)
        if rotl:
            n = Reg(self.tmp(), bits)
            self.op("neg", n, rb)
            rb = n
        self.op("ror" if rotl else _SHIFT[inst.opcode], d, self.R(a), rb)

    def r_bitcount(self, inst: Inst) -> None:
        a = self.R(inst.args[0])
        d = self.D(inst.results[0])
        if inst.opcode == Opcode.CLZ:
            self.op("clz", d, a)
        elif inst.opcode == Opcode.CTZ:
            t = Reg(self.tmp(), d.bits)
            self.op("rbit", t, a)
            self.op("clz", d, t)
        else:
            v = self.tmp(RegClass.FLOAT)
            self.op("fmov", Reg(v, d.bits), a)
            self.ins("cnt", VecOp(v, "8b"), VecOp(v, "8b"), defs=[v], uses=[v])
            self.ins("addv", VecOp(v, "b"), VecOp(v, "8b"), defs=[v], uses=[v])
            self.op("fmov", Reg(d.reg, 32), Reg(v, 32))

    def r_sext(self, inst: Inst) -> None:
        d = self.D(inst.results[0])
        op = {Opcode.SEXT8: "sxtb", Opcode.SEXT16: "sxth", Opcode.SEXT32: "sxtw"}[inst.opcode]
        self.op(op, d, self.R(inst.args[0], 32))

    def r_icmp(self, inst: Inst) -> None:
        cc = self.flags(inst)
        d = self.D(inst.results[0])
        self.ins("cset", Reg(d.reg, 32), cc, defs=[d.reg])

    r_eqz = r_icmp
    r_fcmp = r_icmp

    def r_select(self, inst: Inst) -> None:
        c, a, b = inst.args
        if self.ty(a) == V128:
            # a mask of all ones (c != 0) or zeros, then a bitwise select
            cc = self.cond(c)
            m = self.tmp()
            self.ins("csetm", Reg(m), cc, defs=[m])
            d = VecOp(self.three_reg(inst).reg, "2d")
            self.ins("dup", d, Reg(m), defs=[d.reg], uses=[m])
            self.ins("bsl", VecOp(d.reg, "16b"), self.vv(a), self.vv(b), defs=[d.reg],
                     uses=[d.reg, self.vreg(a), self.vreg(b)])
            self.done(inst, d)
            return
        d = self.D(inst.results[0])
        ra, rb = self.Rz(a), self.Rz(b)
        cc = self.cond(c)
        self.op("fcsel" if self.cls(a) == RegClass.FLOAT else "csel", d, ra, rb, cc)

    # -- float ----------------------------------------------------------------------------------

    def r_float(self, inst: Inst) -> None:
        d = self.D(inst.results[0])
        self.op(_FALU[inst.opcode], d, *(self.R(a) for a in inst.args))

    def r_fcopysign(self, inst: Inst) -> None:
        a, b = inst.args
        bits = self.bits(a)
        ta, tb = Reg(self.tmp(), bits), Reg(self.tmp(), bits)
        self.op("fmov", ta, self.R(a))
        self.op("fmov", tb, self.R(b))
        # keep b's sign bit, insert a's other bits
        self.ins("bfxil", tb, ta, Imm(0), Imm(bits - 1), defs=[tb.reg], uses=[tb.reg, ta.reg])
        self.op("fmov", self.D(inst.results[0]), tb)

    # -- conversions ----------------------------------------------------------------------------

    def r_ireduce(self, inst: Inst) -> None:
        d = self.D(inst.results[0])
        self.op("mov", Reg(d.reg, 32), self.R(inst.args[0], 32))

    def r_uextend(self, inst: Inst) -> None:
        # the i32 operand's upper half is already zero (register invariant)
        self.mov(self.D(inst.results[0]), self.R(inst.args[0]))

    def r_sextend(self, inst: Inst) -> None:
        self.op("sxtw", self.D(inst.results[0]), self.R(inst.args[0], 32))

    def r_fcvt_to_int(self, inst: Inst) -> None:
        signed = inst.opcode in (Opcode.FCVT_TO_SINT, Opcode.FCVT_TO_SINT_SAT)
        # fcvtz[su] round toward zero and saturate, NaN -> 0: the saturating semantics; the
        # trapping forms are guarded by the builder's checks
        self.op("fcvtzs" if signed else "fcvtzu", self.D(inst.results[0]),
                self.R(inst.args[0]))

    def r_fcvt_from_int(self, inst: Inst) -> None:
        op = "scvtf" if inst.opcode == Opcode.FCVT_FROM_SINT else "ucvtf"
        self.op(op, self.D(inst.results[0]), self.R(inst.args[0]))

    def r_fconvert(self, inst: Inst) -> None:
        self.op("fcvt", self.D(inst.results[0]), self.R(inst.args[0]))

    def r_bitcast(self, inst: Inst) -> None:
        self.op("fmov", self.D(inst.results[0]), self.R(inst.args[0]))

    # -- memory ---------------------------------------------------------------------------------

    def heap_base(self, memory: int) -> int:
        if memory == 0:
            return HEAP
        t = self.tmp()
        self.ins("ldr", Reg(t), self.vm(self.info.offsets.memory_base(memory)), defs=[t])
        return t

    def address(self, imm, index: int, bits: int) -> Mem:
        base = self.heap_base(imm.memory)
        ri = self.R(index, 64)
        if imm.offset == 0:
            return Mem(base, 0, bits, ri.reg, 1)
        t = self.tmp()
        if imm12(imm.offset):
            self.op("add", Reg(t), ri, Imm(imm.offset))
        else:
            self.int_const(t, imm.offset, 64)
            self.op("add", Reg(t), Reg(t), ri)
        return Mem(base, 0, bits, t, 1)

    def r_heap_check(self, inst: Inst) -> None:
        imm = inst.imm
        ri = self.R(inst.args[0], 64)
        end = imm.offset + imm.size
        t, n = self.tmp(), self.tmp()
        if imm12(end):
            self.op("add", Reg(t), ri, Imm(end))
        else:
            self.int_const(t, end, 64)
            self.op("add", Reg(t), Reg(t), ri)
        self.ins("ldr", Reg(n), self.vm(self.info.offsets.memory_length(imm.memory)), defs=[n])
        self.ins("cmp", Reg(t), Reg(n), uses=[t, n])
        self.bcc_trap("hi", TrapCode.MEMORY_OUT_OF_BOUNDS)

    def r_load(self, inst: Inst) -> None:
        d = self.D(inst.results[0])
        info = inst.opcode.info
        if inst.opcode == Opcode.LOAD:
            self.mov(d, self.address(inst.imm, inst.args[0], d.bits))
            return
        size = info.access_size
        m = self.address(inst.imm, inst.args[0], size * 8)
        if size == 4:
            op, dbits = ("ldrsw", 64) if info.signed else ("ldr", 32)
        else:
            op = ("ldrs" if info.signed else "ldr") + ("b" if size == 1 else "h")
            dbits = d.bits if info.signed else 32
        self.ins(op, Reg(d.reg, dbits), m, defs=[d.reg], uses=_regs_of(m))

    def r_store(self, inst: Inst) -> None:
        idx, v = inst.args
        size = inst.opcode.info.access_size
        rv = self.Rz(v, 32 if size in (1, 2, 4) else None)
        op = {1: "strb", 2: "strh"}.get(size, "str")
        m = self.address(inst.imm, idx, rv.bits)
        self.ins(op, rv, m, uses=_regs_of(rv) + _regs_of(m))

    def r_memory_size(self, inst: Inst) -> None:
        d = self.D(inst.results[0])
        self.ins("ldr", Reg(d.reg), self.vm(self.info.offsets.memory_length(inst.imm)),
                 defs=[d.reg])
        self.ins("lsr", Reg(d.reg), Reg(d.reg), Imm(16), defs=[d.reg], uses=[d.reg])

    # -- globals --------------------------------------------------------------------------------

    def load_vm(self, reg: int, m: Mem) -> None:
        self.ins("ldr", Reg(reg), m, defs=[reg])

    def store_cell(self, v: int, cell: int, offset: int = 0) -> None:
        rv = self.R(v)
        self.ins("str", rv, Mem(cell, offset, rv.bits), uses=[cell, *_regs_of(rv)])

    # -- references and tables ------------------------------------------------------------------

    def r_ref_null(self, inst: Inst) -> None:
        self.mov(self.D(inst.results[0]), Reg(ZR))

    def r_ref_is_null(self, inst: Inst) -> None:
        a = self.R(inst.args[0])
        self.ins("cmp", a, Imm(0), uses=_regs_of(a))
        d = self.D(inst.results[0])
        self.ins("cset", Reg(d.reg, 32), "eq", defs=[d.reg])

    def r_ref_func(self, inst: Inst) -> None:
        d = self.D(inst.results[0])
        self.ins("ldr", d, self.vm(V.FUNCREFS), defs=[d.reg])
        off = V.FUNCREF_SIZE * inst.imm
        if imm12(off):
            self.op("add", d, d, Imm(off))
        else:
            t = self.tmp()
            self.int_const(t, off, 64)
            self.op("add", d, d, Reg(t))

    def table_entry(self, table: int, index: int) -> Mem:
        ri = self.vreg(index)
        tdef = self.table_def(table)
        n = self.tmp()
        self.ins("ldr", Reg(n), Mem(tdef, V.TABLEDEF_LENGTH, 64), defs=[n], uses=[tdef])
        self.ins("cmp", Reg(ri), Reg(n), uses=[ri, n])
        self.bcc_trap("hs", TrapCode.TABLE_OUT_OF_BOUNDS)
        t = self.tmp()
        self.ins("ldr", Reg(t), Mem(tdef, V.TABLEDEF_BASE, 64), defs=[t], uses=[tdef])
        return Mem(t, 0, 64, ri, 8)

    def r_table_get(self, inst: Inst) -> None:
        m = self.table_entry(inst.imm, inst.args[0])
        self.mov(self.D(inst.results[0]), m)

    def r_table_set(self, inst: Inst) -> None:
        m = self.table_entry(inst.imm, inst.args[0])
        rv = self.R(inst.args[1])
        self.ins("str", rv, m, uses=[*_regs_of(m), *_regs_of(rv)])

    def r_table_size(self, inst: Inst) -> None:
        d = self.D(inst.results[0])
        tdef = self.table_def(inst.imm)
        self.ins("ldr", Reg(d.reg, 32), Mem(tdef, V.TABLEDEF_LENGTH, 32), uses=[tdef],
                 defs=[d.reg])

    # -- runtime helpers ------------------------------------------------------------------------

    def helper(self, h: Helper, consts: list[int], args: list[int], result: int | None = None,
               traps: bool = False, reload_heap: bool = False) -> None:
        """Call runtime helper h (C calling convention): (vmctx, *consts, *args). The heap
        base is reloaded after every helper call of a function that uses memory 0, so
        `reload_heap` is implied."""
        self.ins("mov", Reg(0), Reg(VMCTX), defs=[0])
        k = 1
        for c in consts:
            self.int_const(k, c, 64)
            k += 1
        for a in args:
            self.mov(Reg(k), self.R(a))
            k += 1
        self.ins("@call_helper", Imm(HELPER_INDEX[h]), defs=[0], uses=list(range(k)),
                 clobbers=CALLER_SAVED)
        self.reload_heap()
        if traps:
            self.ins("cbnz", Reg(0, 32), Label(name=f"{self.mf.name}_trapdyn"), uses=[0])
            self.traps.add(-1)
        if result is not None:
            self.mov(self.D(result), Reg(0, self.bits(result)))

    def reload_heap(self) -> None:
        if self.uses_heap:
            self.ins("ldr", Reg(HEAP), self.vm(self.info.offsets.memory_base(0)))

    # -- traps ----------------------------------------------------------------------------------

    def r_trapz(self, inst: Inst) -> None:
        self.cond_trap(inst, on_zero=True)

    def r_trapnz(self, inst: Inst) -> None:
        self.cond_trap(inst, on_zero=False)

    def cond_trap(self, inst: Inst, on_zero: bool) -> None:
        label = self.trap_label(inst.imm)
        self.branch(inst.args[0], not on_zero, label, ())

    def branch(self, c: int, if_nonzero: bool, label: Label, targets: tuple) -> None:
        """Branch to `label` when condition value c is nonzero (or zero: if_nonzero False),
        with the cheapest A64 form: cbz/cbnz, tbz/tbnz, or a compare and b.cc."""
        d = self.fused_def(c)
        test = self.zero_test(c, d)
        if test is not None:
            r, branch_if_zero = test
            op = "cbz" if branch_if_zero == if_nonzero else "cbnz"
            self.ins(op, r, label, uses=_regs_of(r), targets=targets)
            return
        bit = self.bit_test(d)
        if bit is not None:
            r, k = bit
            self.ins("tbnz" if if_nonzero else "tbz", r, Imm(k), label, uses=[r.reg],
                     targets=targets)
            return
        cc = self.flags(d)
        self.ins("b." + (cc if if_nonzero else INVERT[cc]), label, targets=targets)

    def zero_test(self, c: int, d: Inst | None) -> tuple[Reg, bool] | None:
        """(register, nonzero-c means it is zero) when c reduces to comparing one register with
        zero: c itself unfused, a fused eqz, or a fused icmp eq/ne against constant 0."""
        if d is None:
            return self.R(c), False
        if d.opcode in LANE_TESTS:
            return self.lane_test(d)
        if d.opcode == Opcode.EQZ:
            return self.R(d.args[0]), True
        if d.opcode == Opcode.ICMP and d.imm in (IntCC.EQ, IntCC.NE):
            a, b = d.args
            if self.const_of(a) == 0:
                a, b = b, a
            if self.const_of(b) == 0 and self.const_of(a) is None:
                return self.R(a), d.imm == IntCC.EQ
        return None

    def bit_test(self, d: Inst | None) -> tuple[Reg, int] | None:
        """(register, bit) for a fused band with a single-bit mask."""
        if d is None or d.opcode != Opcode.BAND:
            return None
        v, m = self.tst_mask(d)
        if m & (m - 1):
            return None
        return self.R(v), m.bit_length() - 1

    # -- calls ----------------------------------------------------------------------------------

    def store_arg(self, v: int, slot: int) -> None:
        ra = self.R(v, 128 if self.ty(v) == V128 else 64)
        m = self.sp_slot(8 * slot, ra.bits)
        self.ins("str", ra, m, uses=_regs_of(ra) + _regs_of(m))

    def load_result(self, v: int, slot: int) -> None:
        d = Reg(self.dst(v), 128 if self.ty(v) == V128 else 64)
        self.mov(d, self.sp_slot(8 * slot, d.bits))

    def sp_slot(self, off: int, bits: int) -> Mem:
        """[sp, #off] for a stack argument or result; a q register access at an offset neither
        the scaled (multiple of 16) nor the unscaled (below 256) form encodes goes through an
        address register."""
        if bits == 128 and off % 16 and off >= 256:
            t = self.tmp()
            if imm12(off):
                self.ins("add", Reg(t), Reg(SP), Imm(off), defs=[t])
            else:
                self.int_const(t, off, 64)
                self.ins("add", Reg(t), Reg(SP), Reg(t), defs=[t], uses=[t])
            return Mem(t, 0, bits)
        return Mem(SP, off, bits)

    def store_return(self, v: int, slot: int) -> None:
        ra = self.R(v, 128 if self.ty(v) == V128 else 64)
        self.ins("@store_fp", Imm(16 + 8 * slot), ra, uses=_regs_of(ra))

    def callee_ref(self, imm, index: int) -> int:
        m = self.table_entry(imm.table, index)
        ref = self.tmp()
        self.ins("ldr", Reg(ref), m, defs=[ref], uses=_regs_of(m))
        self.ins("cbz", Reg(ref), self.trap_label(TrapCode.INDIRECT_CALL_TO_NULL), uses=[ref])
        sig, got = self.tmp(), self.tmp()
        self.ins("ldr", Reg(sig), self.vm(self.info.offsets.sig_id(imm.type_index)), defs=[sig])
        self.ins("ldr", Reg(got), Mem(ref, V.FUNCREF_SIG, 64), defs=[got], uses=[ref])
        self.ins("cmp", Reg(sig), Reg(got), uses=[sig, got])
        self.bcc_trap("ne", TrapCode.BAD_SIGNATURE)
        return ref

    # -- control --------------------------------------------------------------------------------

    def branch_if(self, inst: Inst, block: int) -> None:
        self.branch(inst.args[0], True, Label(block), (block,))

    def index_branch(self, ri: int, k: int, cond: str, block: int) -> None:
        if imm12(k):
            self.ins("cmp", Reg(ri, 32), Imm(k), uses=[ri])
        else:
            t = self.tmp()
            self.int_const(t, k, 32)
            self.ins("cmp", Reg(ri, 32), Reg(t, 32), uses=[ri, t])
        self.ins("b." + cond, Label(block), targets=(block,))


_O = Opcode
_RULES: dict[Opcode, Callable[[Lowering, Inst], None]] = {
    **common_rules(Lowering),
    **simd_rules(Lowering),
    **{op: Lowering.r_alu for op in _ALU},
    _O.IMUL: Lowering.r_imul,
    **{op: Lowering.r_div for op in (_O.SDIV, _O.UDIV, _O.SREM, _O.UREM)},
    **{op: Lowering.r_shift for op in (*_SHIFT, _O.ROTL)},
    **{op: Lowering.r_float for op in _FALU},
    _O.FCOPYSIGN: Lowering.r_fcopysign,
    _O.FPROMOTE: Lowering.r_fconvert, _O.FDEMOTE: Lowering.r_fconvert,
    _O.MEMORY_COPY: bulk.memory_copy, _O.MEMORY_FILL: bulk.memory_fill,
    _O.MEMORY_INIT: bulk.memory_init, _O.TABLE_COPY: bulk.table_copy,
    _O.TABLE_FILL: bulk.table_fill,
}
# compares, shifts and multiplies are folded ahead of time (plan), not by try_fuse
Lowering.set_rules(_RULES)
