"""x86_64 instruction selection: IR function -> machine function over virtual registers.

Rules are small methods per opcode, grouped by kind (integer, float, conversion, memory,
control, calls); the table `_RULES` maps each IR opcode to its rule. Integer constants are
folded into instructions as 32-bit immediates where x86-64 allows, and otherwise
rematerialised at each use (so they never occupy a register across code); a compare that
immediately precedes its only user (brif, select, trapz/trapnz) is fused into a flags-based
jump or cmov. i32 values always have the upper 32 bits of their register zero (every 32-bit
operation writes them so), which makes uextend a copy and lets i32 indices address memory
directly.

Pseudo operations (op names starting with '@') are expanded by emit.py: '@ret' (epilogue),
'@call' (direct), '@call_import', '@call_ref', '@call_helper', '@trap' (jump to the trap path
with a code), '@fminmax', '@fsel', '@cvt_*', '@memmove' and '@memfill' (bulk.py).
"""

from __future__ import annotations

from typing import Callable

from engine.errors import TrapCode
from engine.ir.ir import (F32, F64, I32, I64, V128, FloatCC, Function, Inst, IntCC, Opcode)
from engine.environ import vmctx as V

from engine.environ.helpers import HELPER_INDEX, Helper
from engine.environ.module_info import ModuleInfo
from ..base import RegClass
from ..lowering import SizedRegLowering, common_rules
from ..lowering import signed as _signed
from ..mir import Imm, Label, Mem, MInst, Reg, tuple_new
from . import abi, bulk, isel_simd
from .target import (CALLER_SAVED, HEAP, RAX, RCX, RDI, RDX, RSI, RSP, R8, R9, TARGET,
                     VMCTX)

_ICC = {IntCC.EQ: "e", IntCC.NE: "ne", IntCC.SLT: "l", IntCC.SLE: "le", IntCC.SGT: "g",
        IntCC.SGE: "ge", IntCC.ULT: "b", IntCC.ULE: "be", IntCC.UGT: "a", IntCC.UGE: "ae"}
_NEG = {"e": "ne", "ne": "e", "l": "ge", "ge": "l", "le": "g", "g": "le", "b": "ae", "ae": "b",
        "be": "a", "a": "be", "p": "np", "np": "p"}

_ALU = {Opcode.IADD: "add", Opcode.ISUB: "sub", Opcode.BAND: "and", Opcode.BOR: "or",
        Opcode.BXOR: "xor"}
_ALU_IDS = frozenset(id(op) for op in _ALU)
_SHIFT = {Opcode.ISHL: "shl", Opcode.SSHR: "sar", Opcode.USHR: "shr", Opcode.ROTL: "rol",
          Opcode.ROTR: "ror"}
_FALU = {Opcode.FADD: "add", Opcode.FSUB: "sub", Opcode.FMUL: "mul", Opcode.FDIV: "div"}
_FCOMMUTATIVE = (Opcode.FADD, Opcode.FMUL)
_ROUND = {Opcode.FNEAREST: 0, Opcode.FFLOOR: 1, Opcode.FCEIL: 2, Opcode.FTRUNC: 3}


_INT, _FLOAT, _VEC = RegClass.INT, RegClass.FLOAT, RegClass.VECTOR
#: MInst's default clobber set, for positional construction in hot paths
_NO_REGS: frozenset[int] = frozenset()


def _regs_of(o) -> list[int]:
    if isinstance(o, Reg):
        return [o.reg]
    if isinstance(o, Mem):
        return [r for r in (o.base, o.index) if r is not None and r not in (HEAP, VMCTX, RSP)]
    return []


def _fits32(x: int) -> bool:
    return -(1 << 31) <= x < (1 << 31)


class Lowering(SizedRegLowering):
    """Lowers one IR function. Use `run()`; the result is an MFunction plus facts emit needs."""

    JUMP = "jmp"
    TARGET = TARGET
    CALLER_SAVED = CALLER_SAVED
    VMCTX = VMCTX
    #: (a 4-byte access's scaled offset on aarch64, a 12-bit signed one on riscv64)
    DIRECT_VM_LIMIT = 1 << 31
    SP = RSP
    LOAD_PARAM = "@load_rbp"

    def __init__(self, func: Function, info: ModuleInfo, features: frozenset[str]) -> None:
        self.init_state(func, info)
        self.features = features
        #: loads folded into their single user: IR value -> the load
        self.fused_loads: dict[int, Inst] = {}
        #: shifts left by 1, 2 or 3 folded into the add right after them, their single user
        #: (``lea d, [a + x*scale]``): IR value -> (x, scale)
        self.fused_shifts: dict[int, tuple[int, int]] = {}
        #: ALU instructions whose flags the brif right after them reads (see plan)
        self.flag_setters: set[int] = set()
        #: the IR value the flags describe (ZF: value == 0) right now, or None
        self.flags_value: int | None = None

    # -- helpers --------------------------------------------------------------------------------

    def bits(self, v: int) -> int:
        t = self.f.value_types[v]
        return 32 if t is I32 or t is F32 else 128 if t is V128 else 64

    def cls(self, v: int) -> RegClass:
        t = self.f.value_types[v]
        return _FLOAT if t is F64 or t is F32 else _VEC if t is V128 else _INT

    def R(self, v: int) -> Reg:
        t = self.f.value_types[v]
        if v in self.consts:
            r = self.vreg(v)
        else:
            r = self.vmap.get(v)
            if r is None:
                r = self.vmap[v] = self.mf.new_vreg(
                    _FLOAT if t is F64 or t is F32 else _VEC if t is V128 else _INT)
        return tuple_new(Reg, (r, 32 if t is I32 or t is F32 else 128 if t is V128 else 64))

    def D(self, v: int) -> Reg:
        t = self.f.value_types[v]
        r = self.vmap.get(v)
        if r is None:
            r = self.vmap[v] = self.mf.new_vreg(
                _FLOAT if t is F64 or t is F32 else _VEC if t is V128 else _INT)
        return tuple_new(Reg, (r, 32 if t is I32 or t is F32 else 128 if t is V128 else 64))

    def _imm32_or_value(self, v: int) -> bool:
        """Whether `src(v)` is an immediate or a register (not a wide constant)."""
        c = self.consts.get(v)
        if c is None:
            return True
        t = self.f.value_types[v]
        return (t is I32 or t is I64) and _fits32(_signed(c, 32 if t is I32 else 64))

    def src(self, v: int):
        """An immediate (constant fitting a sign-extended imm32) or the value's register."""
        c = self.consts.get(v)
        if c is not None:
            t = self.f.value_types[v]
            if t is I32 or t is I64:
                c = _signed(c, 32 if t is I32 else 64)
                if -(1 << 31) <= c < (1 << 31):
                    return Imm(c)
        return self.R(v)

    def ins(self, op: str, *ops, defs=(), uses=(), **kw) -> MInst:
        """Append an instruction to the current block. A `defs` or `uses` list is taken over,
        not copied (every caller passes a fresh one)."""
        if type(defs) is not list:
            defs = list(defs)
        if type(uses) is not list:
            uses = list(uses)
        i = MInst(op, list(ops), defs, uses, **kw) if kw else MInst(op, list(ops), defs, uses)
        self.cur.insts.append(i)
        return i

    def mov(self, d: Reg, s) -> None:
        """d <- s for same-class registers, immediates or memory."""
        t = type(s)
        if t is Reg:
            r = d[0]
            if (self.mf.vreg_class[r] is not _INT) if r >= 256 else 16 <= r < 32:
                i = MInst("movaps", [d, s], [d.reg], [s.reg], _NO_REGS, (), True)  # is_move
            else:
                if d.bits == 64 or s.bits == 64:
                    if d.bits != 64:
                        d = Reg(d.reg, 64)
                    if s.bits != 64:
                        s = Reg(s.reg, 64)
                elif s.bits != d.bits:
                    s = Reg(s.reg, d.bits)
                i = MInst("mov", [d, s], [d.reg], [s.reg], _NO_REGS, (), True)  # is_move
            self.cur.insts.append(i)
        elif t is Imm:
            self.ins("mov", d, s, defs=[d.reg])
        else:
            op = ("movss" if d.bits == 32 else "movdqu" if d.bits == 128 else "movsd") \
                if self._is_float(d.reg) else "mov"
            self.ins(op, d, s, defs=[d.reg], uses=_regs_of(s))

    def _is_float(self, r: int) -> bool:
        """Whether r is an xmm register (a float or a vector)."""
        if r >= 256:
            return self.mf.vreg_class[r] is not _INT
        return 16 <= r < 32

    def begin_block(self, b, headers) -> None:
        self.flags_value = None
        super().begin_block(b, headers)

    def plan(self, reachable) -> None:
        isel_simd.plan(self)
        # an integer add/sub/and/or/xor right before the brif that tests its result sets the
        # flags the branch needs: emitted as the flag-setting form (not lea), no test after it
        setters = self.flag_setters
        for b in self.f.blocks:
            insts = [i for i in b.insts
                     if i.opcode is not Opcode.ICONST and i.opcode is not Opcode.FCONST]
            if len(insts) < 2 or insts[-1].opcode is not Opcode.BRIF:
                continue
            prev = insts[-2]
            if (prev.opcode in _ALU and prev.results and prev.results[0] == insts[-1].args[0]
                    and self.cls(prev.results[0]) == RegClass.INT):
                setters.add(id(prev))

    def materialize(self, r: int, ty, value: int) -> None:
        if ty is V128:
            isel_simd.const(self, value, Reg(r, 128))
            return
        if ty in (F32, F64):
            if value == 0:
                self.ins("xorps", Reg(r), Reg(r), defs=[r])
                return
            t = self.tmp()
            self.int_const(t, value, 64)
            self.ins("movq" if ty == F64 else "movd", Reg(r, abi.bits(ty)), Reg(t, abi.bits(ty)),
                     defs=[r], uses=[t])
        else:
            self.int_const(r, value, abi.bits(ty))

    def int_const(self, r: int, value: int, bits: int) -> None:
        if value == 0:
            self.ins("xor", Reg(r, 32), Reg(r, 32), defs=[r])
        elif value < (1 << 32):
            self.ins("mov", Reg(r, 32), Imm(value), defs=[r])
        elif bits == 64 and _fits32(_signed(value, 64)):
            self.ins("mov", Reg(r, 64), Imm(_signed(value, 64)), defs=[r])
        else:
            self.ins("movabs", Reg(r, 64), Imm(value), defs=[r])

    def jcc_trap(self, cc: str, code: TrapCode) -> None:
        self.ins("j" + cc, self.trap_label(code))

    def vm(self, off: int, bits: int = 64) -> Mem:
        return Mem(VMCTX, off, bits)

    # -- driver ---------------------------------------------------------------------------------

    def epoch_check(self) -> None:
        """Trap INTERRUPT once the engine's epoch reaches the deadline (function entry and
        loop headers)."""
        t = self.tmp()
        self.ins("mov", Reg(t), self.vm(V.EPOCH_PTR), defs=[t])
        self.ins("mov", Reg(t), Mem(t, 0, 64), defs=[t], uses=[t])
        u = self.store_ctx()
        self.ins("cmp", Reg(t), Mem(u, V.STATE_EPOCH_DEADLINE, 64), uses=[t, u])
        # deadline reached (or zeroed by a signal): an out-of-line call of helper EPOCH that
        # preserves every register (see emit.p_epoch_slow), then trap or go on
        self.ins("@epoch_slow")

    def _fuel_operand(self, v: int):
        c = self.consts.get(v)
        if c is not None and c < 1 << 31:
            return Imm(c), []
        r = self.R(v)
        return r, [r.reg]

    def fuel_charge(self, v: int) -> None:
        """Subtract IR value v from the store's fuel."""
        src, uses = self._fuel_operand(v)
        u = self.store_ctx()
        self.ins("sub", Mem(u, V.STATE_FUEL, 64), src, uses=[*uses, u])

    def fuel_check(self, v: int) -> None:
        """Trap OUT_OF_FUEL when the store's fuel minus IR value v is <= 0 (fuel <= v)."""
        src, uses = self._fuel_operand(v)
        u = self.store_ctx()
        self.ins("cmp", Mem(u, V.STATE_FUEL, 64), src, uses=[*uses, u])
        self.jcc_trap("le", TrapCode.OUT_OF_FUEL)

    # -- fusion ---------------------------------------------------------------------------------

    def flags_of(self, c: int, inst: Inst) -> str | None:
        """If c is an icmp/eqz used only by `inst`, emit the compare and return the x86
        condition that is true when c != 0."""
        d = self.defs.get(c)
        if d is None or self.uses.get(c) != 1 or d.opcode not in (Opcode.ICMP, Opcode.EQZ):
            return None
        if id(d) not in self.fused:
            return None
        if d.opcode == Opcode.EQZ:
            a = self.R(d.args[0])
            self.ins("test", a, a, uses=[a.reg])
            return "e"
        self.cmp(d.args[0], d.args[1])
        return _ICC[d.imm]

    def try_fuse(self, inst: Inst, nxt: Inst | None) -> bool:
        """Mark a single-use compare as fused into the next instruction (which then emits it),
        a full-width integer load into the ALU instruction right after it that uses it
        once (``add r, [mem]``), or a shift left by 1-3 into the add right after it that
        uses it once (``lea d, [a + x*scale]``)."""
        if (inst.opcode is Opcode.LOAD and nxt is not None and id(nxt.opcode) in _ALU_IDS
                and self.cls(inst.results[0]) == RegClass.INT
                and self.uses.get(inst.results[0]) == 1
                and inst.results[0] in nxt.args
                and (nxt.args[1] == inst.results[0] or nxt.opcode != Opcode.ISUB)
                and nxt.args[0] != nxt.args[1]):
            self.fused_loads[inst.results[0]] = inst
            return True
        if (inst.opcode is Opcode.LOAD and nxt is not None and nxt.opcode in _FALU
                and self.cls(inst.results[0]) == RegClass.FLOAT
                and self.uses.get(inst.results[0]) == 1
                and inst.results[0] in nxt.args
                and (nxt.args[1] == inst.results[0] or nxt.opcode in _FCOMMUTATIVE)
                and nxt.args[0] != nxt.args[1]):
            # a scalar float load read once by the arithmetic right after it: ``addsd x, [mem]``
            self.fused_loads[inst.results[0]] = inst
            return True
        if (inst.opcode is Opcode.ISHL and nxt is not None and nxt.opcode is Opcode.IADD
                and inst.args[1] in self.consts
                and 1 <= self.consts[inst.args[1]] & (self.bits(inst.results[0]) - 1) <= 3
                and self.uses.get(inst.results[0]) == 1
                and inst.results[0] in nxt.args and nxt.args[0] != nxt.args[1]
                and id(nxt) not in self.flag_setters
                and self._imm32_or_value(next(a for a in nxt.args if a != inst.results[0]))):
            # an index scaled by 2, 4 or 8 and added once: the add's lea scales it
            k = self.consts[inst.args[1]] & (self.bits(inst.results[0]) - 1)
            self.fused_shifts[inst.results[0]] = (inst.args[0], 1 << k)
            return True
        if (inst.opcode in (Opcode.ICMP, Opcode.EQZ) and nxt is not None
                and self.uses.get(inst.results[0]) == 1
                and nxt.opcode in (Opcode.BRIF, Opcode.TRAPZ, Opcode.TRAPNZ, Opcode.SELECT)
                and nxt.args[0] == inst.results[0]
                and (nxt.opcode != Opcode.SELECT or self.cls(nxt.results[0]) == RegClass.INT)):
            self.fused.add(id(inst))
            return True
        return False

    def cond(self, c: int, inst: Inst) -> str:
        if self.flags_value == c and inst.opcode is Opcode.BRIF:
            self.flags_value = None
            return "ne"
        cc = self.flags_of(c, inst)
        if cc is None:
            r = self.R(c)
            self.ins("test", r, r, uses=[r.reg])
            cc = "ne"
        return cc

    def cmp(self, a: int, b: int) -> None:
        ra = self.R(a)
        sb = self.src(b)
        self.ins("cmp", ra, sb, uses=[ra.reg, *_regs_of(sb)])

    # -- integer --------------------------------------------------------------------------------

    def r_alu(self, inst: Inst) -> None:
        a, b = inst.args
        d = self.D(inst.results[0])
        op = _ALU[inst.opcode]
        fused_loads = self.fused_loads
        sets_flags = id(inst) in self.flag_setters
        if sets_flags:
            self.flags_value = inst.results[0]     # whichever form below: op d, src last
        if fused_loads:
            if a in fused_loads:  # commutative: put the folded load second
                a, b = b, a
            load = fused_loads.get(b)
            if load is not None:
                m = self.address(load.imm, load.args[0], d.bits)
                self.mov(d, self.R(a))
                self.ins(op, d, m, defs=[d.reg], uses=[d.reg, *_regs_of(m)])
                return
        fused_shifts = self.fused_shifts
        if fused_shifts and (a in fused_shifts or b in fused_shifts):
            if a in fused_shifts:       # add is commutative: the scaled index second
                a, b = b, a
            x, scale = fused_shifts[b]
            rx = self.R(x)
            sa = self.src(a)
            if type(sa) is Imm:         # [x*scale + imm]: a disp32 without a base
                self.cur.insts.append(MInst("lea", [d, Mem(None, sa.value, 0, rx.reg, scale)],
                                            [d.reg], [rx.reg]))
                return
            ra = self.R(a)
            self.cur.insts.append(MInst("lea", [d, Mem(ra.reg, 0, 0, rx.reg, scale)], [d.reg],
                                        [ra.reg, rx.reg]))
            return
        sb = None
        if sets_flags:
            sb = self.src(b)
            self.mov(d, self.R(a))
            self.cur.insts.append(MInst(op, [d, sb], [d.reg],
                                        [d.reg] if type(sb) is Imm else [d.reg, *_regs_of(sb)]))
            return
        if (op == "add" or op == "sub") and a not in self.consts:
            sb = self.src(b)
            if type(sb) is Imm:
                # lea folds the copy: d = a +/- imm
                imm = sb.value if op == "add" else -sb.value
                if _fits32(imm):
                    ra = self.R(a)
                    self.cur.insts.append(MInst("lea", [d, Mem(ra.reg, imm, 0)], [d.reg],
                                                [ra.reg]))
                    return
        if sb is None:      # (a constant is materialised once, where it is first asked for)
            sb = self.src(b)
        if op == "add" and type(sb) is Reg and a not in self.consts:
            # lea makes it one instruction even when a stays live: d = a + b
            ra = self.R(a)
            self.cur.insts.append(MInst("lea", [d, Mem(ra.reg, 0, 0, sb.reg, 1)], [d.reg],
                                        [ra.reg, sb.reg]))
            return
        self.mov(d, self.R(a))
        self.cur.insts.append(MInst(op, [d, sb], [d.reg],
                                    [d.reg] if type(sb) is Imm else [d.reg, sb.reg]))

    def r_imul(self, inst: Inst) -> None:
        a, b = inst.args
        d = self.D(inst.results[0])
        sb = self.src(b)
        if isinstance(sb, Imm):
            ra = self.R(a)
            k = self.consts[b] & ((1 << d.bits) - 1)
            if k > 1 and k & (k - 1) == 0:
                self.mov(d, ra)
                self.ins("shl", d, Imm(k.bit_length() - 1), defs=[d.reg], uses=[d.reg])
                return
            self.ins("imul", d, ra, sb, defs=[d.reg], uses=[ra.reg])
            return
        self.mov(d, self.R(a))
        self.ins("imul", d, sb, defs=[d.reg], uses=[d.reg, sb.reg])

    def r_div(self, inst: Inst) -> None:
        a, b = inst.args
        bits = self.bits(inst.results[0])
        signed = inst.opcode in (Opcode.SDIV, Opcode.SREM)
        rem = inst.opcode in (Opcode.SREM, Opcode.UREM)
        self.mov(Reg(RAX, bits), self.R(a))
        if signed:
            self.ins("cqo" if bits == 64 else "cdq", defs=[RDX], uses=[RAX])
        else:
            self.ins("xor", Reg(RDX, 32), Reg(RDX, 32), defs=[RDX])
        rb = self.R(b)
        self.ins("idiv" if signed else "div", rb, defs=[RAX, RDX], uses=[RAX, RDX, rb.reg])
        self.mov(self.D(inst.results[0]), Reg(RDX if rem else RAX, bits))

    def r_shift(self, inst: Inst) -> None:
        a, b = inst.args
        d = self.D(inst.results[0])
        self.mov(d, self.R(a))
        op = _SHIFT[inst.opcode]
        if b in self.consts:
            self.ins(op, d, Imm(self.consts[b] & (d.bits - 1)), defs=[d.reg], uses=[d.reg])
            return
        self.mov(Reg(RCX, 64), self.R(b))
        self.ins(op, d, Reg(RCX, 8), defs=[d.reg], uses=[d.reg, RCX])

    def r_bitcount(self, inst: Inst) -> None:
        a = self.R(inst.args[0])
        d = self.D(inst.results[0])
        op = {Opcode.CLZ: "lzcnt", Opcode.CTZ: "tzcnt", Opcode.POPCNT: "popcnt"}[inst.opcode]
        feature = {"lzcnt": "lzcnt", "tzcnt": "bmi1", "popcnt": "popcnt"}[op]
        if feature in self.features:
            self.ins(op, d, a, defs=[d.reg], uses=[a.reg])
            return
        if op == "popcnt":
            t, u = self.tmp(), self.tmp()
            self.ins("@popcnt_sw", Reg(d.reg, 64), Reg(a.reg, 64), Reg(t), Reg(u),
                     defs=[d.reg, t, u], uses=[a.reg])
            return
        # bsr/bsf leave the destination unchanged for a zero input (documented by AMD, done
        # by Intel): preload the zero-input answer
        if op == "tzcnt":
            self.ins("mov", d, Imm(d.bits), defs=[d.reg])
            self.ins("bsf", d, a, defs=[d.reg], uses=[d.reg, a.reg])
        else:
            self.ins("mov", d, Imm(2 * d.bits - 1), defs=[d.reg])
            self.ins("bsr", d, a, defs=[d.reg], uses=[d.reg, a.reg])
            self.ins("xor", d, Imm(d.bits - 1), defs=[d.reg], uses=[d.reg])

    def r_sext(self, inst: Inst) -> None:
        a = inst.args[0]
        d = self.D(inst.results[0])
        width = {Opcode.SEXT8: 8, Opcode.SEXT16: 16, Opcode.SEXT32: 32}[inst.opcode]
        ra = self.R(a)
        if width == 32:
            self.ins("movsxd", d, Reg(ra.reg, 32), defs=[d.reg], uses=[ra.reg])
        else:
            self.ins("movsx", d, Reg(ra.reg, width), defs=[d.reg], uses=[ra.reg])

    def setcc(self, d: Reg, cc: str) -> None:
        self.ins("set" + cc, Reg(d.reg, 8), defs=[d.reg])
        self.ins("movzx", Reg(d.reg, 32), Reg(d.reg, 8), defs=[d.reg], uses=[d.reg])

    def r_icmp(self, inst: Inst) -> None:
        self.cmp(inst.args[0], inst.args[1])
        self.setcc(self.D(inst.results[0]), _ICC[inst.imm])

    def r_eqz(self, inst: Inst) -> None:
        a = self.R(inst.args[0])
        self.ins("test", a, a, uses=[a.reg])
        self.setcc(self.D(inst.results[0]), "e")

    def r_select(self, inst: Inst) -> None:
        c, a, b = inst.args
        d = self.D(inst.results[0])
        if self.cls(inst.results[0]) == RegClass.INT:
            rb = self.R(b)
            ra = self.R(a)
            self.mov(d, rb)
            cc = self.cond(c, inst)
            self.ins("cmov" + cc, Reg(d.reg, 64), Reg(ra.reg, 64), defs=[d.reg],
                     uses=[d.reg, ra.reg])
            return
        rb = self.R(b)
        ra = self.R(a)
        rc = self.R(c)
        self.mov(d, rb)
        self.ins("@fsel", d, ra, rc, defs=[d.reg], uses=[d.reg, ra.reg, rc.reg])

    # -- float ----------------------------------------------------------------------------------

    def sfx(self, v: int) -> str:
        return "ss" if self.ty(v) == F32 else "sd"

    def r_falu(self, inst: Inst) -> None:
        a, b = inst.args
        d = self.D(inst.results[0])
        fused_loads = self.fused_loads
        if fused_loads:
            if a in fused_loads:  # fadd / fmul (try_fuse checked): the folded load second
                a, b = b, a
            load = fused_loads.get(b)
            if load is not None:
                m = self.address(load.imm, load.args[0], self.bits(b))
                self.mov(d, self.R(a))
                self.ins(_FALU[inst.opcode] + self.sfx(a), d, m, defs=[d.reg],
                         uses=[d.reg, *_regs_of(m)])
                return
        rb = self.R(b)
        self.mov(d, self.R(a))
        self.ins(_FALU[inst.opcode] + self.sfx(a), d, rb, defs=[d.reg], uses=[d.reg, rb.reg])

    def r_fminmax(self, inst: Inst) -> None:
        a, b = inst.args
        d = self.D(inst.results[0])
        rb = self.R(b)
        self.mov(d, self.R(a))
        kind = "min" if inst.opcode == Opcode.FMIN else "max"
        self.ins("@fminmax", d, rb, kind + self.sfx(a), defs=[d.reg], uses=[d.reg, rb.reg])

    def sign_mask_op(self, inst: Inst, op: str) -> None:
        """fabs / fneg / fcopysign on the bit pattern in integer registers."""
        a = inst.args[0]
        bits = self.bits(a)
        mv = "movq" if bits == 64 else "movd"
        t = self.tmp()
        ra = self.R(a)
        self.ins(mv, Reg(t, bits), Reg(ra.reg, bits), defs=[t], uses=[ra.reg])
        m = self.tmp()
        sign = 1 << (bits - 1)
        if op == "abs":
            self.int_const(m, sign - 1, bits)
            self.ins("and", Reg(t, bits), Reg(m, bits), defs=[t], uses=[t, m])
        elif op == "neg":
            self.int_const(m, sign, bits)
            self.ins("xor", Reg(t, bits), Reg(m, bits), defs=[t], uses=[t, m])
        else:
            rb = self.R(inst.args[1])
            u = self.tmp()
            self.ins(mv, Reg(u, bits), Reg(rb.reg, bits), defs=[u], uses=[rb.reg])
            self.int_const(m, sign, bits)
            self.ins("and", Reg(u, bits), Reg(m, bits), defs=[u], uses=[u, m])
            self.ins("not", Reg(m, bits), defs=[m], uses=[m])
            self.ins("and", Reg(t, bits), Reg(m, bits), defs=[t], uses=[t, m])
            self.ins("or", Reg(t, bits), Reg(u, bits), defs=[t], uses=[t, u])
        d = self.D(inst.results[0])
        self.ins(mv, Reg(d.reg, bits), Reg(t, bits), defs=[d.reg], uses=[t])

    def r_fabs(self, inst: Inst) -> None:
        self.sign_mask_op(inst, "abs")

    def r_fneg(self, inst: Inst) -> None:
        self.sign_mask_op(inst, "neg")

    def r_fcopysign(self, inst: Inst) -> None:
        self.sign_mask_op(inst, "copysign")

    def r_fsqrt(self, inst: Inst) -> None:
        a = self.R(inst.args[0])
        d = self.D(inst.results[0])
        self.ins("sqrt" + self.sfx(inst.args[0]), d, a, defs=[d.reg], uses=[a.reg])

    def r_fround(self, inst: Inst) -> None:
        a = self.R(inst.args[0])
        d = self.D(inst.results[0])
        if "sse4.1" not in self.features:
            t, u = self.tmp(RegClass.FLOAT), self.tmp()
            # d and t are defined first so that neither shares a register with a
            self.ins("xorps", Reg(d.reg), Reg(d.reg), defs=[d.reg])
            self.ins("xorps", Reg(t), Reg(t), defs=[t])
            self.ins("@fround_sw", d, a, Reg(t), Reg(u), _ROUND[inst.opcode],
                     self.sfx(inst.args[0]), defs=[d.reg, t, u], uses=[d.reg, a.reg, t])
            return
        # bit 3 suppresses the precision exception; the mode is in bits 0-1
        self.ins("round" + self.sfx(inst.args[0]), d, a, Imm(8 | _ROUND[inst.opcode]),
                 defs=[d.reg], uses=[a.reg])

    def r_fcmp(self, inst: Inst) -> None:
        a, b = inst.args
        cc = inst.imm
        d = self.D(inst.results[0])
        ucom = "ucomi" + self.sfx(a)
        if cc in (FloatCC.LT, FloatCC.LE):
            a, b = b, a
        ra, rb = self.R(a), self.R(b)
        self.ins(ucom, ra, rb, uses=[ra.reg, rb.reg])
        simple = {FloatCC.LT: "a", FloatCC.LE: "ae", FloatCC.GT: "a", FloatCC.GE: "ae",
                  FloatCC.UNO: "p", FloatCC.ORD: "np"}
        if cc in simple:
            self.setcc(d, simple[cc])
            return
        t = self.tmp()
        if cc == FloatCC.EQ:
            self.ins("sete", Reg(d.reg, 8), defs=[d.reg])
            self.ins("setnp", Reg(t, 8), defs=[t])
            self.ins("and", Reg(d.reg, 8), Reg(t, 8), defs=[d.reg], uses=[d.reg, t])
        else:
            self.ins("setne", Reg(d.reg, 8), defs=[d.reg])
            self.ins("setp", Reg(t, 8), defs=[t])
            self.ins("or", Reg(d.reg, 8), Reg(t, 8), defs=[d.reg], uses=[d.reg, t])
        self.ins("movzx", Reg(d.reg, 32), Reg(d.reg, 8), defs=[d.reg], uses=[d.reg])

    # -- conversions ----------------------------------------------------------------------------

    def r_ireduce(self, inst: Inst) -> None:
        a = self.R(inst.args[0])
        d = self.D(inst.results[0])
        self.ins("mov", Reg(d.reg, 32), Reg(a.reg, 32), defs=[d.reg], uses=[a.reg])

    def r_uextend(self, inst: Inst) -> None:
        # an i32 is kept zero-extended in its register (every 32-bit write clears the upper
        # half), so the extension is a plain copy, which the allocator can coalesce away
        a = self.R(inst.args[0])
        d = self.D(inst.results[0])
        self.mov(Reg(d.reg, 64), Reg(a.reg, 64))

    def r_sextend(self, inst: Inst) -> None:
        a = self.R(inst.args[0])
        d = self.D(inst.results[0])
        self.ins("movsxd", Reg(d.reg, 64), Reg(a.reg, 32), defs=[d.reg], uses=[a.reg])

    def r_fcvt_to_int(self, inst: Inst) -> None:
        a = inst.args[0]
        r = inst.results[0]
        ra = self.R(a)
        d = self.D(r)
        sfx = self.sfx(a)
        op = inst.opcode
        bits = self.bits(r)
        if op == Opcode.FCVT_TO_SINT:
            self.ins("cvtt" + sfx + "2si", d, ra, defs=[d.reg], uses=[ra.reg])
        elif op == Opcode.FCVT_TO_UINT and bits == 32:
            self.ins("cvtt" + sfx + "2si", Reg(d.reg, 64), ra, defs=[d.reg], uses=[ra.reg])
            self.ins("mov", Reg(d.reg, 32), Reg(d.reg, 32), defs=[d.reg], uses=[d.reg])
        else:
            sat = op in (Opcode.FCVT_TO_SINT_SAT, Opcode.FCVT_TO_UINT_SAT)
            signed = op in (Opcode.FCVT_TO_SINT, Opcode.FCVT_TO_SINT_SAT)
            t = self.tmp(RegClass.FLOAT)
            u = self.tmp()
            # the temporaries are defined before the pseudo so they never share a register
            # with its input
            self.ins("xorps", Reg(t), Reg(t), defs=[t])
            self.ins("xor", Reg(u, 32), Reg(u, 32), defs=[u])
            kind = f"{'s' if signed else 'u'}{bits}{'sat' if sat else ''}_{sfx}"
            self.ins("@cvt_to_int", d, ra, Reg(t, 64), Reg(u, 64), kind, defs=[d.reg, t, u],
                     uses=[ra.reg, t, u])

    def r_fcvt_from_int(self, inst: Inst) -> None:
        a = inst.args[0]
        r = inst.results[0]
        ra = self.R(a)
        d = self.D(r)
        sfx = self.sfx(r)
        abits = self.bits(a)
        self.ins("xorps", d, d, defs=[d.reg])
        if inst.opcode == Opcode.FCVT_FROM_SINT:
            self.ins("cvtsi2" + sfx, d, Reg(ra.reg, abits), defs=[d.reg], uses=[d.reg, ra.reg])
        elif abits == 32:
            self.ins("cvtsi2" + sfx, d, Reg(ra.reg, 64), defs=[d.reg], uses=[d.reg, ra.reg])
        else:
            t = self.tmp()
            self.ins("xor", Reg(t, 32), Reg(t, 32), defs=[t])
            self.ins("@cvt_from_u64", d, ra, Reg(t, 64), sfx, defs=[d.reg, t],
                     uses=[d.reg, ra.reg, t])

    def r_fpromote(self, inst: Inst) -> None:
        a = self.R(inst.args[0])
        d = self.D(inst.results[0])
        self.ins("cvtss2sd", d, a, defs=[d.reg], uses=[a.reg])

    def r_fdemote(self, inst: Inst) -> None:
        a = self.R(inst.args[0])
        d = self.D(inst.results[0])
        self.ins("cvtsd2ss", d, a, defs=[d.reg], uses=[a.reg])

    def r_bitcast(self, inst: Inst) -> None:
        a = self.R(inst.args[0])
        d = self.D(inst.results[0])
        self.ins("movq" if d.bits == 64 else "movd", d, a, defs=[d.reg], uses=[a.reg])

    # -- memory ---------------------------------------------------------------------------------

    def heap_base(self, memory: int) -> int:
        if memory == 0:
            return HEAP
        t = self.tmp()
        self.ins("mov", Reg(t), self.vm(self.info.offsets.memory_base(memory)), defs=[t])
        return t

    def address(self, imm, index: int, bits: int) -> Mem:
        base = self.heap_base(imm.memory)
        ri = self.vreg(index)
        if _fits32(imm.offset):
            return Mem(base, imm.offset, bits, ri, 1)
        t = self.tmp()
        self.int_const(t, imm.offset, 64)
        self.ins("add", Reg(t), Reg(ri), defs=[t], uses=[t, ri])
        return Mem(base, 0, bits, t, 1)

    def r_heap_check(self, inst: Inst) -> None:
        imm = inst.imm
        ri = self.vreg(inst.args[0])
        end = imm.offset + imm.size
        length = self.vm(self.info.offsets.memory_length(imm.memory))
        if end == 1:
            # index + 1 > length  <=>  index >= length (no temporary, one instruction less)
            self.ins("cmp", Reg(ri), length, uses=[ri])
            self.jcc_trap("ae", TrapCode.MEMORY_OUT_OF_BOUNDS)
            return
        t = self.tmp()
        if _fits32(end):
            self.ins("lea", Reg(t), Mem(ri, end, 0), defs=[t], uses=[ri])
        else:
            self.int_const(t, end, 64)
            self.ins("add", Reg(t), Reg(ri), defs=[t], uses=[t, ri])
        self.ins("cmp", Reg(t), length, uses=[t])
        self.jcc_trap("a", TrapCode.MEMORY_OUT_OF_BOUNDS)

    def r_load(self, inst: Inst) -> None:
        r = inst.results[0]
        d = self.D(r)
        op = inst.opcode
        size = inst.opcode.info.access_size
        if op == Opcode.LOAD:
            m = self.address(inst.imm, inst.args[0], d.bits)
            self.mov(d, m)
            return
        m = self.address(inst.imm, inst.args[0], size * 8)
        if size == 4:
            if inst.opcode.info.signed:
                self.ins("movsxd", Reg(d.reg, 64), m, defs=[d.reg], uses=_regs_of(m))
            else:
                self.ins("mov", Reg(d.reg, 32), m, defs=[d.reg], uses=_regs_of(m))
        else:
            self.ins("movsx" if inst.opcode.info.signed else "movzx", d, m, defs=[d.reg],
                     uses=_regs_of(m))

    def r_store(self, inst: Inst) -> None:
        idx, v = inst.args
        size = inst.opcode.info.access_size
        bits = size * 8 if size else self.bits(v)
        if self.cls(v) == RegClass.FLOAT:
            rv = self.R(v)
            m = self.address(inst.imm, idx, bits)
            self.ins("movss" if bits == 32 else "movsd", m, rv, uses=[*_regs_of(m), rv.reg])
            return
        sv = self.src(v)
        if isinstance(sv, Imm):
            value = self.consts[v] & ((1 << bits) - 1)
            sv = Imm(_signed(value, bits) if bits >= 32 else value)
        else:
            sv = Reg(sv.reg, bits)
        m = self.address(inst.imm, idx, bits)
        self.ins("mov", m, sv, uses=[*_regs_of(m), *_regs_of(sv)])

    def r_memory_size(self, inst: Inst) -> None:
        d = self.D(inst.results[0])
        self.ins("mov", Reg(d.reg, 64), self.vm(self.info.offsets.memory_length(inst.imm)),
                 defs=[d.reg])
        self.ins("shr", Reg(d.reg, 64), Imm(16), defs=[d.reg], uses=[d.reg])

    # -- globals --------------------------------------------------------------------------------

    def load_vm(self, reg: int, m: Mem) -> None:
        self.ins("mov", Reg(reg), m, defs=[reg])

    def store_cell(self, v: int, cell: int, offset: int = 0) -> None:
        rv = self.R(v)
        if rv.bits == 128:
            self.ins("movdqu", Mem(cell, offset, 128), rv, uses=[cell, rv.reg])
        elif self.cls(v) == RegClass.FLOAT:
            self.ins("movss" if rv.bits == 32 else "movsd", Mem(cell, offset, rv.bits), rv,
                     uses=[cell, rv.reg])
        else:
            self.ins("mov", Mem(cell, offset, rv.bits), rv, uses=[cell, rv.reg])

    # -- references and tables ------------------------------------------------------------------

    def r_ref_null(self, inst: Inst) -> None:
        d = self.D(inst.results[0])
        self.ins("xor", Reg(d.reg, 32), Reg(d.reg, 32), defs=[d.reg])

    def r_ref_is_null(self, inst: Inst) -> None:
        a = self.R(inst.args[0])
        self.ins("test", a, a, uses=[a.reg])
        self.setcc(self.D(inst.results[0]), "e")

    def r_ref_func(self, inst: Inst) -> None:
        d = self.D(inst.results[0])
        self.ins("mov", d, self.vm(V.FUNCREFS), defs=[d.reg])
        self.ins("add", d, Imm(V.FUNCREF_SIZE * inst.imm), defs=[d.reg], uses=[d.reg])

    def table_entry(self, table: int, index: int) -> Mem:
        ri = self.vreg(index)
        tdef = self.table_def(table)
        self.ins("cmp", Reg(ri, 64), Mem(tdef, V.TABLEDEF_LENGTH, 64), uses=[ri, tdef])
        self.jcc_trap("ae", TrapCode.TABLE_OUT_OF_BOUNDS)
        t = self.tmp()
        self.ins("mov", Reg(t), Mem(tdef, V.TABLEDEF_BASE, 64), defs=[t], uses=[tdef])
        return Mem(t, 0, 64, ri, 8)

    def r_table_get(self, inst: Inst) -> None:
        m = self.table_entry(inst.imm, inst.args[0])
        d = self.D(inst.results[0])
        self.ins("mov", d, m, defs=[d.reg], uses=_regs_of(m))

    def r_table_set(self, inst: Inst) -> None:
        m = self.table_entry(inst.imm, inst.args[0])
        rv = self.R(inst.args[1])
        self.ins("mov", m, rv, uses=[*_regs_of(m), rv.reg])

    def r_table_size(self, inst: Inst) -> None:
        d = self.D(inst.results[0])
        tdef = self.table_def(inst.imm)
        self.ins("mov", Reg(d.reg, 32), Mem(tdef, V.TABLEDEF_LENGTH, 32), defs=[d.reg],
                 uses=[tdef])

    # -- runtime helpers ------------------------------------------------------------------------

    def helper(self, h: Helper, consts: list[int], args: list[int],
               result: int | None = None, traps: bool = False, reload_heap: bool = False) -> None:
        """Call runtime helper h (C convention): (vmctx, *consts, *args)."""
        regs = [RDI, RSI, RDX, RCX, R8, R9]
        self.ins("mov", Reg(RDI), Reg(VMCTX), defs=[RDI])
        k = 1
        for c in consts:
            self.ins("mov", Reg(regs[k]), Imm(c), defs=[regs[k]])
            k += 1
        for a in args:
            self.mov(Reg(regs[k], 64), self.R(a))
            k += 1
        self.ins("@call_helper", Imm(HELPER_INDEX[h]), defs=[RAX], uses=regs[:k],
                 clobbers=CALLER_SAVED)
        if reload_heap:
            self.reload_heap()
        if traps:
            self.ins("test", Reg(RAX, 32), Reg(RAX, 32), uses=[RAX])
            self.ins("@trap_dyn", Label(name=f"{self.mf.name}_trapdyn"), uses=[RAX])
            self.traps.add(-1)
        if result is not None:
            self.mov(self.D(result), Reg(RAX, self.bits(result)))

    def reload_heap(self) -> None:
        if self.uses_heap:
            self.ins("mov", Reg(HEAP), self.vm(self.info.offsets.memory_base(0)))

    # -- traps ----------------------------------------------------------------------------------

    def r_trapz(self, inst: Inst) -> None:
        cc = self.cond(inst.args[0], inst)
        self.jcc_trap(_NEG[cc], inst.imm)

    def r_trapnz(self, inst: Inst) -> None:
        cc = self.cond(inst.args[0], inst)
        self.jcc_trap(cc, inst.imm)

    # -- calls ----------------------------------------------------------------------------------

    def store_arg(self, v: int, slot: int) -> None:
        ra = self.R(v)
        if ra.bits == 128:
            self.ins("movdqu", Mem(RSP, 8 * slot, 128), ra, uses=[ra.reg])
            return
        op = "movsd" if self.cls(v) == RegClass.FLOAT else "mov"
        self.ins(op, Mem(RSP, 8 * slot, 64), Reg(ra.reg, 64), uses=[ra.reg])

    def store_return(self, v: int, slot: int) -> None:
        ra = self.R(v)
        op = "movsd" if self.cls(v) == RegClass.FLOAT else \
            "movdqu" if self.cls(v) == RegClass.VECTOR else "mov"
        self.ins("@store_rbp", Imm(16 + 8 * slot), Reg(ra.reg, 64), op, uses=[ra.reg])

    def callee_ref(self, imm, index: int) -> int:
        m = self.table_entry(imm.table, index)
        ref = self.tmp()
        self.ins("mov", Reg(ref), m, defs=[ref], uses=_regs_of(m))
        self.ins("test", Reg(ref), Reg(ref), uses=[ref])
        self.jcc_trap("e", TrapCode.INDIRECT_CALL_TO_NULL)
        sig = self.tmp()
        self.ins("mov", Reg(sig), self.vm(self.info.offsets.sig_id(imm.type_index)), defs=[sig])
        self.ins("cmp", Reg(sig), Mem(ref, V.FUNCREF_SIG, 64), uses=[sig, ref])
        self.jcc_trap("ne", TrapCode.BAD_SIGNATURE)
        return ref

    # -- control --------------------------------------------------------------------------------

    def branch_if(self, inst: Inst, block: int) -> None:
        cc = self.cond(inst.args[0], inst)
        self.ins("j" + cc, Label(block), targets=(block,))

    def dispatch(self, ri: int, cases: list[int], default: int) -> None:
        if len(cases) >= _JUMP_TABLE_MIN:
            # bounds check, then a table of 32-bit offsets (emit: '@jtable'); the i32 index is
            # zero-extended in its register, so it indexes the table as it is
            self.ins("cmp", Reg(ri, 32), Imm(len(cases)), uses=[ri])
            self.ins("jae", Label(default), targets=(default,))
            self.ins("@jtable", Reg(ri, 64), [Label(c) for c in cases], uses=[ri],
                     targets=tuple(dict.fromkeys(cases)))
            return
        self.br_tree(ri, cases, 0, len(cases), default)

    def index_branch(self, ri: int, k: int, cond: str, block: int) -> None:
        self.ins("cmp", Reg(ri, 32), Imm(k), uses=[ri])
        self.ins("je" if cond == "eq" else "jae", Label(block), targets=(block,))


#: br_table with at least this many cases jumps through a table (fewer: compare and branch)
_JUMP_TABLE_MIN = 5

_O = Opcode
_RULES: dict[Opcode, Callable[[Lowering, Inst], None]] = {
    **common_rules(Lowering),
    **{op: Lowering.r_alu for op in _ALU},
    _O.IMUL: Lowering.r_imul,
    **{op: Lowering.r_div for op in (_O.SDIV, _O.UDIV, _O.SREM, _O.UREM)},
    **{op: Lowering.r_shift for op in _SHIFT},
    **{op: Lowering.r_falu for op in _FALU},
    _O.FMIN: Lowering.r_fminmax, _O.FMAX: Lowering.r_fminmax,
    _O.FABS: Lowering.r_fabs, _O.FNEG: Lowering.r_fneg, _O.FCOPYSIGN: Lowering.r_fcopysign,
    _O.FSQRT: Lowering.r_fsqrt, **{op: Lowering.r_fround for op in _ROUND},
    _O.FPROMOTE: Lowering.r_fpromote, _O.FDEMOTE: Lowering.r_fdemote,
    _O.MEMORY_COPY: bulk.memory_copy, _O.MEMORY_FILL: bulk.memory_fill,
    _O.MEMORY_INIT: bulk.memory_init, _O.TABLE_COPY: bulk.table_copy,
    _O.TABLE_FILL: bulk.table_fill,
    **isel_simd.rules(),
}

Lowering.set_rules(_RULES, fusable=(_O.LOAD, _O.ICMP, _O.EQZ, _O.ISHL))
