"""riscv64 emission: allocated machine functions -> GNU-syntax assembly text, pseudo operations
expanded, prologue/epilogue added; the whole module is assembled by backends.riscv64.asm in
one call (every label is defined in the text, so no relocations remain).

Expansions use only the emitter temporaries t5, t6 and ft11 (see target.py) besides their
operands, so they never disturb allocated or scratch registers.
"""

from __future__ import annotations

from typing import Callable, Iterable

from engine.errors import InternalError, TrapCode
from engine.environ import vmctx as V

from ..base import EPOCH_SYMBOL, CompiledCode, RegClass
from ..emitter import EmitterBase
from ..mir import Imm, Label, Mem, MFunction, MInst, Reg, Slot
from . import bulk
from .abi import Frame
from .asm import AsmError, apply_relocation, assemble as rv_assemble
from .isel import NEG_BRANCH, fits12
from .target import CALLEE_SAVED, is_float, reg_name

_T5, _T6, _FT11 = "t5", "t6", "ft11"
_BRANCHES = frozenset(NEG_BRANCH)
#: the integer moves that bring a loaded bit pattern (in t6) into a value register
_FROM_BITS = {"lw": ["addiw {d}, t6, 0"], "lh": ["slli {d}, t6, 48", "srai {d}, {d}, 48"],
              "lhu": ["mv {d}, t6"], "lwu": ["mv {d}, t6"], "ld": ["mv {d}, t6"],
              "flw": ["fmv.w.x {d}, t6"], "fld": ["fmv.d.x {d}, t6"]}
_TO_BITS = {"fsw": "fmv.x.w", "fsd": "fmv.x.d"}
_M55 = 0x5555555555555555
_M33 = 0x3333333333333333
_M0F = 0x0F0F0F0F0F0F0F0F
_M01 = 0x0101010101010101


class SpillMoves:
    """The regalloc hooks: copies between registers and spill slots."""

    def move(self, dst, src, cls: RegClass, tmp: int) -> list[MInst]:
        f = cls == RegClass.FLOAT
        if isinstance(dst, Slot) and isinstance(src, Slot):
            return self.move(tmp, src, cls, tmp) + self.move(dst, tmp, cls, tmp)
        if isinstance(dst, Slot):
            return [MInst("@slot_st", [Reg(src), dst, "fsd" if f else "sd"])]
        if isinstance(src, Slot):
            return [MInst("@slot_ld", [Reg(dst), src, "fld" if f else "ld"])]
        return [MInst("fmv.d" if f else "mv", [Reg(dst), Reg(src)])]


#: the epoch check's slow path stub (trampolines.epoch_stubs): calls helper EPOCH(vmctx)
#: preserving every register but t6, which receives the verdict (0: go on, else INTERRUPT)
EPOCH_SLOW = EPOCH_SYMBOL


class FunctionEmitter(EmitterBase):
    """Renders one allocated MFunction."""

    JUMP = "j"

    def __init__(self, mf: MFunction, frame: Frame, traps: set[int], offsets) -> None:
        super().__init__(mf, frame, traps, offsets)
        #: out-of-line code (misaligned-access paths), placed after the function's body
        self.cold: list[str] = []
        #: a leaf without a frame: no calls, stack arguments/results, spills or saved
        #: registers, and no access left to guard pages (its fault enters the trap stub with
        #: the function's own frame)
        self.frameless = frame.size == 16 and not mf.may_fault and not any(
            i.clobbers or i.op in ("@load_fp", "@store_fp") for b in mf.blocks for i in b.insts)

    def op(self, o) -> str:
        if isinstance(o, Reg):
            return reg_name(o.reg)
        if isinstance(o, Mem):
            return f"{o.disp}({reg_name(o.base)})"
        if isinstance(o, Imm):
            return str(o.value)
        if isinstance(o, Label):
            return self.block_label(o)
        return str(o)

    def mem(self, op: str, reg: str, base: str, off: int) -> None:
        """`op reg, off(base)` for any offset (t6 carries an address beyond 12 bits)."""
        if fits12(off):
            self.out(f"{op} {reg}, {off}({base})")
        else:
            self.out(f"li t6, {off}")
            self.out(f"add t6, t6, {base}")
            self.out(f"{op} {reg}, 0(t6)")

    def add_sp(self, delta: int) -> None:
        if fits12(delta):
            self.out(f"addi sp, sp, {delta}")
        else:
            self.out(f"li t6, {delta}")
            self.out("add sp, sp, t6")

    # -- function -------------------------------------------------------------------------------

    def render(self) -> list[str]:
        mf = self.mf
        name = mf.name
        self.place(name)
        if not self.frameless:
            self.prologue()
        self.body()
        self.trap_stubs()
        self.lines += self.cold
        return self.lines

    def prologue(self) -> None:
        fr, name = self.frame, self.mf.name
        # the stack pointer after the whole frame is allocated must stay above the limit
        self.out(f"ld t5, {V.STACK_LIMIT}(s11)")
        if fits12(-fr.size):
            self.out(f"addi t6, sp, {-fr.size}")
        else:
            self.out(f"li t6, {fr.size}")
            self.out("sub t6, sp, t6")
        self.out(f"bltu t6, t5, {name}_trap{int(TrapCode.STACK_OVERFLOW)}")
        self.traps.add(int(TrapCode.STACK_OVERFLOW))
        self.out("addi sp, sp, -16")
        self.out("sd ra, 8(sp)")
        self.out("sd s0, 0(sp)")
        self.out("addi s0, sp, 16")
        if fr.size > 16:
            self.add_sp(-(fr.size - 16))
        for i, r in enumerate(fr.callee_saved):
            self.mem("fsd" if is_float(r) else "sd", reg_name(r), "s0", fr.saved_offset(i))
        if fr.extra_slots:
            self.mem("sd", "s11", "s0", fr.extra_offset(0))

    def invertible(self, inst: MInst) -> bool:
        return inst.op in _BRANCHES

    def inverted(self, inst: MInst, other: Label) -> str:
        # bcc next; j other  ->  b!cc other
        a, b, _ = inst.operands
        return f"{NEG_BRANCH[inst.op]} {self.op(a)}, {self.op(b)}, {self.op(other)}"

    def trap_stub(self, code: int, label: str) -> None:
        if self.frameless or code == int(TrapCode.STACK_OVERFLOW):
            # no frame here yet (a leaf, or the prologue's stack check): make one, so the trap
            # stub finds every trapping function's frame in s0 (trampolines.FRAME_*)
            self.out("addi sp, sp, -16")
            self.out("sd ra, 8(sp)")
            self.out("sd s0, 0(sp)")
            self.out("addi s0, sp, 16")
        self.out("addi a1, a0, -1" if code == -1 else f"li a1, {code}")
        self.out("auipc a2, 0")  # the trap pc: inside this function's code
        self.out("j __trap")

    def inst(self, i: MInst) -> None:
        op = i.op
        if not op.startswith("@"):
            if i.is_move and i.operands[0] == i.operands[1]:
                return
            ops = ", ".join(self.op(o) for o in i.operands)
            self.out(f"{op} {ops}" if ops else op)
            return
        getattr(self, "p_" + op[1:])(i)

    # -- pseudo operations ----------------------------------------------------------------------

    def p_pcopy(self, i: MInst) -> None:
        raise InternalError("riscv64 emit: unresolved parallel copy")

    def p_slot_ld(self, i: MInst) -> None:
        d, slot, op = i.operands
        self.mem(op, reg_name(d.reg), "s0", self.frame.spill_offset(slot.index))

    def p_slot_st(self, i: MInst) -> None:
        s, slot, op = i.operands
        self.mem(op, reg_name(s.reg), "s0", self.frame.spill_offset(slot.index))

    def p_load_fp(self, i: MInst) -> None:
        d, off, op = i.operands
        self.mem(op, reg_name(d.reg), "s0", off.value)

    def p_store_fp(self, i: MInst) -> None:
        v, off, op = i.operands
        self.mem(op, reg_name(v.reg), "s0", off.value)

    def p_ret(self, i: MInst) -> None:
        self.epilogue()
        self.out("ret")

    def epilogue(self) -> None:
        """Tear the frame down (if there is one): callee-saved registers, ra, s0 and sp as at
        entry. Uses t5 and t6."""
        fr = self.frame
        if self.frameless:
            return
        for k, r in enumerate(fr.callee_saved):
            self.mem("fld" if is_float(r) else "ld", reg_name(r), "s0", fr.saved_offset(k))
        self.out("ld ra, -8(s0)")
        self.out("mv t5, s0")
        self.out("ld s0, -16(s0)")
        self.out("mv sp, t5")

    def p_tail_call(self, i: MInst) -> None:
        self.epilogue()
        self.out(f"jal zero, {self.op(i.operands[0])}")

    def p_tail_call_ref(self, i: MInst) -> None:
        # t0 is scratch (no spill reload sits inside this expansion); the epilogue uses t5, t6
        ref = reg_name(i.operands[0].reg)
        self.out(f"ld t0, {V.FUNCREF_CODE}({ref})")
        self.out(f"ld s11, {V.FUNCREF_VMCTX}({ref})")
        self.epilogue()
        self.out("jalr zero, 0(t0)")

    def p_tail_call_import(self, i: MInst) -> None:
        self.load_import(i.operands[0].value, "t0")
        self.epilogue()
        self.out("jalr zero, 0(t0)")

    # -- protected calls: EmitterBase.call; t0 and t5 are free here (the call target goes in
    # t5 after the link)

    def catch_record(self) -> int:
        """s0-relative offset of the catch record's first word (its words go up from it)."""
        return self.frame.extra_offset(V.CATCH_WORDS)

    def catch_link(self, landing: str) -> None:
        b = self.catch_record()
        self.out(f"ld t5, {V.STATE}(s11)")
        self.out(f"ld t0, {V.STATE_CATCH}(t5)")
        self.mem("sd", "t0", "s0", b + V.CATCH_PREV)
        if fits12(b):
            self.out(f"addi t0, s0, {b}")
        else:
            self.out(f"li t0, {b}")
            self.out("add t0, t0, s0")
        self.out(f"sd t0, {V.STATE_CATCH}(t5)")
        self.mem("sd", "sp", "s0", b + V.CATCH_SP)
        self.mem("sd", "s0", "s0", b + V.CATCH_FP)
        self.out(f"lla t0, {landing}")
        self.mem("sd", "t0", "s0", b + V.CATCH_PC)
        self.mem("sd", "s11", "s0", b + V.CATCH_VMCTX)

    def catch_unlink(self) -> None:
        self.out(f"ld t5, {V.STATE}(s11)")
        self.mem("ld", "t0", "s0", self.catch_record() + V.CATCH_PREV)
        self.out(f"sd t0, {V.STATE_CATCH}(t5)")

    def p_call(self, i: MInst) -> None:
        self.call(lambda: self.out(f"jal ra, {self.op(i.operands[0])}"))

    def restore_vmctx(self) -> None:
        self.mem("ld", "s11", "s0", self.frame.extra_offset(0))

    def p_restore_vmctx(self, i: MInst) -> None:
        self.restore_vmctx()

    def load_import(self, idx: int, code: str) -> None:
        """s11: import `idx`'s vmctx; register `code`: its code (t6 may be clobbered)."""
        self.load_pair(self.offsets.import_code(idx), self.offsets.import_vmctx(idx), code)

    def load_pair(self, code_off: int, ctx_off: int, code: str) -> None:
        """s11 and register `code` from the vmctx pair (code, ctx) at those offsets."""
        self.out(f"mv {code}, s11")
        self.mem("ld", "s11", code, ctx_off)
        self.mem("ld", code, code, code_off)

    def call_pair(self, code_off: int, ctx_off: int) -> None:
        def emit_call() -> None:
            self.load_pair(code_off, ctx_off, "t5")
            self.out("jalr ra, 0(t5)")
        self.call(emit_call)
        self.restore_vmctx()

    def p_call_ref(self, i: MInst) -> None:
        ref = reg_name(i.operands[0].reg)

        def emit_call() -> None:
            self.out(f"ld t5, {V.FUNCREF_CODE}({ref})")
            self.out(f"ld s11, {V.FUNCREF_VMCTX}({ref})")
            self.out("jalr ra, 0(t5)")
        self.call(emit_call)
        self.restore_vmctx()

    def p_memmove(self, i: MInst) -> None:
        bulk.p_memmove(self)

    def p_memfill(self, i: MInst) -> None:
        bulk.p_memfill(self)

    def p_wordfill(self, i: MInst) -> None:
        bulk.p_wordfill(self)

    def p_epoch_slow(self, i: MInst) -> None:
        """epoch >= deadline: an out-of-line path calling the register-preserving stub of
        helper EPOCH (its verdict in t6), which comes back here or traps INTERRUPT. ra is kept
        around the call (a frameless leaf has it live); every branch out of line is a `j`."""
        name = self.mf.name
        k = sum(1 for line in self.cold if line.startswith(f"{name}_epoch"))
        slow, back = f"{name}_epoch{k}", f"{name}_epochback{k}"
        epoch, deadline = (reg_name(o.reg) for o in i.operands[:2])
        self.out(f"bltu {epoch}, {deadline}, {back}")
        self.out(f"j {slow}")
        self.place(back)
        trap = f"{name}_trap{int(TrapCode.INTERRUPT)}"
        self.cold += [f"{slow}:", "  addi sp, sp, -16", "  sd ra, 0(sp)",
                      f"  jal ra, {EPOCH_SLOW}", "  ld ra, 0(sp)", "  addi sp, sp, 16",
                      f"  bnez t6, {slow}_trap", f"  j {back}", f"{slow}_trap:", f"  j {trap}"]

    def p_call_helper(self, i: MInst) -> None:
        idx = i.operands[0].value
        self.out(f"ld t5, {V.HELPERS}(s11)")
        self.mem("ld", "t5", "t5", 8 * idx)
        self.out("jalr ra, 0(t5)")

    def p_trap_dyn(self, i: MInst) -> None:
        self.out(f"bnez a0, {i.operands[0].name}")

    def p_jtable(self, i: MInst) -> None:
        """Jump through a table of 32-bit offsets, each relative to its own entry (the index
        is known to be in range)."""
        idx, labels = i.operands
        table = self.label()
        self.out(f"lla t6, {table}")
        self.out(f"slli t5, {reg_name(idx.reg)}, 2")
        self.out("add t6, t6, t5")
        self.out("lw t5, 0(t6)")
        self.out("add t6, t6, t5")
        self.out("jr t6")
        self.place(table)
        for k, lab in enumerate(labels):
            self.out(f".word {self.op(lab)} - {table} - {4 * k}")

    def p_csel_br(self, i: MInst) -> None:
        d, a, x, y, skip_op = i.operands
        skip = self.label()
        self.out(f"{skip_op} {reg_name(x.reg)}, {reg_name(y.reg)}, {skip}")
        if d.reg != a.reg:
            mv = "fmv.d" if is_float(d.reg) else "mv"
            self.out(f"{mv} {reg_name(d.reg)}, {reg_name(a.reg)}")
        self.place(skip)

    def p_csel(self, i: MInst) -> None:
        d, a, c = i.operands
        skip = self.label()
        self.out(f"beqz {reg_name(c.reg)}, {skip}")
        if d.reg != a.reg:
            mv = "fmv.d" if is_float(d.reg) else "mv"
            self.out(f"{mv} {reg_name(d.reg)}, {reg_name(a.reg)}")
        self.place(skip)

    def p_fminmax(self, i: MInst) -> None:
        d, a, b, op = i.operands
        s = op[-1]
        dn, an, bn = reg_name(d.reg), reg_name(a.reg), reg_name(b.reg)
        nan, done = self.label(), self.label()
        # fmin/fmax return the other operand for one NaN; wasm wants NaN
        self.out(f"feq.{s} t5, {an}, {an}")
        self.out(f"feq.{s} t6, {bn}, {bn}")
        self.out("and t5, t5, t6")
        self.out(f"beqz t5, {nan}")
        self.out(f"{op} {dn}, {an}, {bn}")
        self.out(f"j {done}")
        self.place(nan)
        self.out(f"fadd.{s} {dn}, {an}, {bn}, rne")
        self.place(done)

    def p_fround(self, i: MInst) -> None:
        d, a, rm, s = i.operands
        dn, an = reg_name(d.reg), reg_name(a.reg)
        special, nan, done = self.label(), self.label(), self.label()
        # |a| >= 2**52 (2**23 for f32), inf and NaN are already integral: test the exponent
        if s == "d":
            self.out(f"fmv.x.d t5, {an}")
            self.out("slli t5, t5, 1")
            self.out("srli t5, t5, 53")
            self.out("li t6, 1075")
            cvt_int, cvt_back = "fcvt.l.d", "fcvt.d.l"
        else:
            self.out(f"fmv.x.w t5, {an}")
            self.out("slli t5, t5, 33")
            self.out("srli t5, t5, 56")
            self.out("li t6, 150")
            cvt_int, cvt_back = "fcvt.w.s", "fcvt.s.w"
        self.out(f"bgeu t5, t6, {special}")
        self.out(f"{cvt_int} t5, {an}, {rm}")
        self.out(f"{cvt_back} ft11, t5, {rm}")
        # the integer conversion loses the sign of a zero result: take a's sign
        self.out(f"fsgnj.{s} {dn}, ft11, {an}")
        self.out(f"j {done}")
        self.place(special)
        self.out(f"feq.{s} t5, {an}, {an}")
        self.out(f"beqz t5, {nan}")
        self.out(f"fsgnj.{s} {dn}, {an}, {an}")
        self.out(f"j {done}")
        self.place(nan)
        self.out(f"fadd.{s} {dn}, {an}, {an}, rne")
        self.place(done)

    def _popcnt(self, x: str, d: str) -> None:
        """d <- popcount of the 64 bits of x (x may be d), through t5/t6."""
        self.out(f"srli t5, {x}, 1")
        self.out(f"li t6, {_M55}")
        self.out("and t5, t5, t6")
        self.out(f"sub {d}, {x}, t5")
        self.out(f"li t6, {_M33}")
        self.out(f"srli t5, {d}, 2")
        self.out("and t5, t5, t6")
        self.out(f"and {d}, {d}, t6")
        self.out(f"add {d}, {d}, t5")
        self.out(f"srli t5, {d}, 4")
        self.out(f"add {d}, {d}, t5")
        self.out(f"li t6, {_M0F}")
        self.out(f"and {d}, {d}, t6")
        self.out(f"li t6, {_M01}")
        self.out(f"mul {d}, {d}, t6")
        self.out(f"srli {d}, {d}, 56")

    def p_bitcount(self, i: MInst) -> None:
        d, a, kind = i.operands
        dn, an = reg_name(d.reg), reg_name(a.reg)
        op, bits = kind[:-2], int(kind[-2:])
        if op == "popcnt":
            if bits == 32:
                self.out(f"slli {dn}, {an}, 32")
                self.out(f"srli {dn}, {dn}, 32")
                self._popcnt(dn, dn)
            else:
                self._popcnt(an, dn)
        elif op == "ctz":
            # popcount of the bits below the lowest set bit (all of them for zero)
            self.out(f"sub t5, zero, {an}")
            self.out(f"and {dn}, {an}, t5")
            self.out(f"addi {dn}, {dn}, -1")
            if bits == 32:
                self.out(f"slli {dn}, {dn}, 32")
                self.out(f"srli {dn}, {dn}, 32")
            self._popcnt(dn, dn)
        else:
            # smear the highest set bit right, count the zeros left above it
            src = an
            if bits == 32:
                self.out(f"slli {dn}, {an}, 32")
                self.out(f"srli {dn}, {dn}, 32")
                src = dn
            for k in (1, 2, 4, 8, 16, 32)[: 5 if bits == 32 else 6]:
                self.out(f"srli t5, {src}, {k}")
                self.out(f"or {dn}, {src}, t5")
                src = dn
            self.out(f"not {dn}, {dn}")
            self._popcnt(dn, dn)
            if bits == 32:
                self.out(f"addi {dn}, {dn}, -32")

    def _align_check(self, base: str, disp: int, size: int, slow: str) -> None:
        if disp % size == 0:
            self.out(f"andi t5, {base}, {size - 1}")
        else:
            self.out(f"addi t5, {base}, {disp}")
            self.out(f"andi t5, t5, {size - 1}")
        self.out(f"bnez t5, {slow}")

    def p_load(self, i: MInst) -> None:
        d, m, op, size = i.operands
        dn, base = reg_name(d.reg), reg_name(m.base)
        if size == 1:
            self.out(f"{op} {dn}, {m.disp}({base})")
            return
        slow, done = self.label(), self.label()
        self._align_check(base, m.disp, size, slow)
        self.out(f"{op} {dn}, {m.disp}({base})")
        self.place(done)
        cold = [f"{slow}:", f"  lbu t6, {m.disp + size - 1}({base})"]
        for k in range(size - 2, -1, -1):
            cold += ["  slli t6, t6, 8", f"  lbu t5, {m.disp + k}({base})", "  or t6, t6, t5"]
        cold += ["  " + line.format(d=dn) for line in _FROM_BITS[op]]
        self.cold += cold + [f"  j {done}"]

    def p_store(self, i: MInst) -> None:
        v, m, op, size = i.operands
        vn, base = reg_name(v.reg), reg_name(m.base)
        if size == 1:
            self.out(f"{op} {vn}, {m.disp}({base})")
            return
        slow, done = self.label(), self.label()
        self._align_check(base, m.disp, size, slow)
        self.out(f"{op} {vn}, {m.disp}({base})")
        self.place(done)
        cold = [f"{slow}:", f"  {_TO_BITS.get(op, 'mv')} t6, {vn}"]
        for k in range(size):
            cold.append(f"  sb t6, {m.disp + k}({base})")
            if k < size - 1:
                cold.append("  srli t6, t6, 8")
        self.cold += cold + [f"  j {done}"]


def frame_for(mf: MFunction, outgoing: int) -> Frame:
    return Frame.of(mf, outgoing, CALLEE_SAVED)


def assemble(parts: Iterable[str], symbols: list[str], features: frozenset[str] = frozenset()
             ) -> CompiledCode:
    """Assemble module text with the riscv64 assembler; `symbols` are the labels whose
    offsets the CompiledCode should record."""
    text = "\n".join(parts) + "\n"
    try:
        asm = rv_assemble(text, 0)
    except AsmError as e:  # an emitter bug; name it clearly
        raise InternalError(f"riscv64 assembler rejected generated code: {e}") from e
    if asm.relocations:
        raise InternalError(f"riscv64 emit: undefined symbols {[r.symbol for r in asm.relocations]}")
    return CompiledCode(target="riscv64", code=asm.code,
                        symbols={s: asm.symbols[s] for s in symbols}, features=features)


def relocatable_function(text: str, name: str, resolve: Callable[[str], int]
                         ) -> tuple[int, Callable[[int], bytes]]:
    """One function's text (FunctionEmitter.render's lines, joined) assembled once; its size
    and its code at a given address, the references outside it (long-form calls and jumps,
    which reach +-2 GiB) resolved to the absolute addresses `resolve` gives. The code has no
    absolute references of its own, so one assembly serves any address."""
    try:
        asm = rv_assemble(text + "\n", 0)
    except AsmError as e:  # an emitter bug; name it clearly
        raise InternalError(f"riscv64 assembler rejected generated code of {name}: {e}") from e

    def at(address: int) -> bytes:
        code = bytearray(asm.code)
        for reloc in asm.relocations:
            try:
                apply_relocation(code, address, reloc, resolve(reloc.symbol))
            except AsmError as e:
                raise InternalError(f"riscv64: {reloc.symbol} is out of reach of {name} at "
                                    f"{address:#x}: {e}") from e
        return bytes(code)
    return len(asm.code), at


__all__ = ["FunctionEmitter", "SpillMoves", "assemble", "frame_for", "relocatable_function"]
