"""aarch64 emission: allocated machine functions -> A64 assembly text (GNU syntax), pseudo
operations expanded, prologue/epilogue added; the whole module is assembled by one Keystone call.

A module's text starts with a table of `.quad` symbol addresses (Keystone resolves every label
itself but reports no symbol table); `assemble` reads the offsets back from it.
"""

from __future__ import annotations

import re
import struct
from typing import Callable, Iterable

from engine.errors import InternalError, TrapCode, UnsupportedError
from engine.environ import vmctx as V

from ..base import EPOCH_SYMBOL, CompiledCode, RegClass
from ..emitter import EmitterBase
from ..keystone_asm import keystone_asm
from ..mir import Imm, Label, Mem, MFunction, MInst, Reg, Slot
from . import bulk
from .abi import Frame
from .isel import INVERT, ZR, VecOp
from .target import CALLEE_SAVED, reg_name

#: the epoch check's slow path stub (trampolines.epoch_stubs): calls helper EPOCH(vmctx)
#: preserving every register but x16, which receives the verdict (0: go on, else INTERRUPT)
EPOCH_SLOW = EPOCH_SYMBOL

_CBRANCH = {"cbz": "cbnz", "cbnz": "cbz", "tbz": "tbnz", "tbnz": "tbz"}
#: instructions a function may have before a tbz/tbnz could miss its target (+-32 KiB), and
#: before b.cond/cbz could (+-1 MiB); Keystone aborts the process on an out-of-range fixup,
#: so these are enforced before assembly
_TBZ_REACH = 8192 - 64
_BCOND_REACH = (1 << 18) - 64
_ASM_ATTEMPTS = 3
#: the unscaled forms of a q register load/store
_Q_ACCESS = {"ldr": "ldur", "str": "stur"}


def rname(reg: int, bits: int = 64) -> str:
    if reg == ZR:
        return "xzr" if bits == 64 else "wzr"
    return reg_name(reg, bits)


class SpillMoves:
    """The regalloc hooks: copies between registers and spill slots."""

    def move(self, dst, src, cls: RegClass, tmp: int) -> list[MInst]:
        if isinstance(dst, Slot) and isinstance(src, Slot):
            return self.move(tmp, src, cls, tmp) + self.move(dst, tmp, cls, tmp)
        bits = 128 if cls == RegClass.VECTOR else 64
        if isinstance(dst, Slot):
            return [MInst("str", [Reg(src, bits), dst])]
        if isinstance(src, Slot):
            return [MInst("ldr", [Reg(dst, bits), src])]
        if cls == RegClass.VECTOR:
            return [MInst("mov", [VecOp(dst, "16b"), VecOp(src, "16b")])]
        return [MInst("fmov" if cls == RegClass.FLOAT else "mov", [Reg(dst), Reg(src)])]


def sp_adjust(op: str, n: int) -> list[str]:
    """sub/add sp, sp, #n for n < 2**24 (split into a low and a shifted part)."""
    if n >= 1 << 24:
        raise InternalError(f"aarch64 emit: stack adjustment {n} out of range")
    out = []
    if n >> 12:
        out.append(f"{op} sp, sp, #{n >> 12}, lsl #12")
    if n & 0xFFF:
        out.append(f"{op} sp, sp, #{n & 0xFFF}")
    return out


class FunctionEmitter(EmitterBase):
    """Renders one allocated MFunction."""

    JUMP = "b"

    def __init__(self, mf: MFunction, frame: Frame, traps: set[int], offsets) -> None:
        super().__init__(mf, frame, traps, offsets)
        #: the literal pool: 128-bit constants (`@vconst`), laid out after the trap stubs
        self.pool: dict[int, str] = {}

    def op(self, o) -> str:
        if isinstance(o, Reg):
            return rname(o.reg, o.bits)
        if isinstance(o, Mem):
            base = rname(o.base, 64)
            if o.index is not None:
                if o.disp:
                    raise InternalError("aarch64 emit: a memory operand with an index and an offset")
                shift = {1: "", 8: ", lsl #3", 4: ", lsl #2", 2: ", lsl #1"}[o.scale]
                return f"[{base}, {rname(o.index, 64)}{shift}]"
            return f"[{base}, #{o.disp}]" if o.disp else f"[{base}]"
        if isinstance(o, Imm):
            return f"#{o.value}"
        if isinstance(o, Label):
            return self.block_label(o)
        if isinstance(o, Slot):
            return f"[sp, #{self.frame.spill_offset(o.index)}]"
        if isinstance(o, VecOp):
            return o.render(o.reg - 32)
        return str(o)

    def _saved(self) -> list[tuple[int, int]]:
        return [(r, self.frame.saved_offset(i)) for i, r in enumerate(self.frame.callee_saved)]

    def _save_restore(self, single: str, pair: str) -> None:
        """Store (or load) the used callee-saved registers: stp/ldp for neighbours of one class
        within the pair instructions' reach (offsets up to 504), str/ldr otherwise."""
        saved = self._saved()
        k = 0
        while k < len(saved):
            r, off = saved[k]
            if k + 1 < len(saved) and off <= 504 and (r >= 32) == (saved[k + 1][0] >= 32):
                self.out(f"{pair} {reg_name(r)}, {reg_name(saved[k + 1][0])}, [sp, #{off}]")
                k += 2
            else:
                self.out(f"{single} {reg_name(r)}, [sp, #{off}]")
                k += 1

    def render(self) -> list[str]:
        mf, fr = self.mf, self.frame
        name = mf.name
        so = int(TrapCode.STACK_OVERFLOW)
        self.traps.add(so)
        self.lines.append(f"{name}:")
        # the stack check compares the sp the whole frame will leave with the limit
        self.out(f"ldr x16, [x28, #{V.STACK_LIMIT}]")
        self.out("mov x17, sp")
        for line in sp_adjust("sub", 16 + fr.locals_size):
            self.out(line.replace("sp, sp", "x17, x17"))
        self.out("cmp x17, x16")
        self.out(f"b.lo {name}_trap{so}")
        self.out("stp x29, x30, [sp, #-16]!")
        self.out("mov x29, sp")
        for line in sp_adjust("sub", fr.locals_size):
            self.out(line)
        self._save_restore("str", "stp")
        if fr.extra_slots:
            self.out(f"str x28, [sp, #{fr.extra_offset(0)}]")
        self.epoch_paths: list[str] = []
        self.body()
        self.trap_stubs()
        self.lines += self.epoch_paths
        for value, label in self.pool.items():
            self.place(label)
            self.out(f".quad {value & 0xFFFFFFFFFFFFFFFF}")
            self.out(f".quad {value >> 64}")
        return self._within_reach(self.lines)

    def _within_reach(self, lines: list[str]) -> list[str]:
        """Relax tbz/tbnz to tst + b.eq/b.ne in a function too long for their reach; refuse a
        function too long for conditional branches (and pc-relative literal loads) at all."""
        # in 4-byte words: a literal-pool .quad is two (ldr q of the pool has b.cond's reach)
        count = sum(2 if line.startswith("  .quad") else 1 for line in lines
                    if line.startswith("  "))
        if count >= _TBZ_REACH:
            relaxed = []
            for line in lines:
                op, _, rest = line.strip().partition(" ")
                if op in ("tbz", "tbnz"):
                    reg, bit, label = (x.strip() for x in rest.split(","))
                    relaxed += [f"  tst {reg}, #{1 << int(bit[1:])}",
                                f"  b.{'eq' if op == 'tbz' else 'ne'} {label}"]
                    count += 1
                else:
                    relaxed.append(line)
            lines = relaxed
        if count >= _BCOND_REACH:
            raise UnsupportedError(f"aarch64: function {self.mf.name} is too large "
                                   f"({count} instructions; conditional branches reach 1 MiB)")
        return lines

    def invertible(self, inst: MInst) -> bool:
        return inst.op in _CBRANCH or (inst.op.startswith("b.") and inst.op[2:] in INVERT)

    def inverted(self, inst: MInst, other: Label) -> str:
        """The conditional branch `inst` with its condition inverted, to `other`."""
        if inst.op in _CBRANCH:
            ops = [self.op(o) for o in inst.operands[:-1]] + [self.op(other)]
            return f"{_CBRANCH[inst.op]} {', '.join(ops)}"
        return f"b.{INVERT[inst.op[2:]]} {self.op(other)}"

    def trap_stub(self, code: int, label: str) -> None:
        if code == int(TrapCode.STACK_OVERFLOW):
            # the entry's stack check runs before the frame record is pushed: push it, so the
            # trap stub finds every trapping function's frame in x29 (trampolines.FRAME_*)
            self.out("stp x29, x30, [sp, #-16]!")
            self.out("mov x29, sp")
        self.out("sub w1, w0, #1" if code == -1 else f"mov w1, #{code}")
        self.out(f"adr x2, {label}")  # the trap pc: inside this function's code
        self.out("b __trap")

    def inst(self, i: MInst) -> None:
        op = i.op
        if not op.startswith("@"):
            if i.is_move and isinstance(i.operands[0], Reg) and isinstance(i.operands[1], Reg) \
                    and i.operands[0].reg == i.operands[1].reg:
                return
            ops = ", ".join(self.op(o) for o in i.operands)
            if op in _Q_ACCESS and len(i.operands) == 2:
                op = self.q_access(op, i.operands)
            self.out(f"{op} {ops}" if ops else op)
            return
        getattr(self, "p_" + op[1:])(i)

    def q_access(self, op: str, operands: list) -> str:
        """ldr/str of a q register at an sp/base offset that the scaled form cannot encode
        (not a multiple of 16) becomes ldur/stur (9-bit signed offset)."""
        r, m = operands
        if not (isinstance(r, Reg) and r.bits == 128 and isinstance(m, Mem)) \
                or m.index is not None or m.disp % 16 == 0:
            return op
        if not -256 <= m.disp < 256:
            raise InternalError(f"aarch64 emit: q access at offset {m.disp}")
        return _Q_ACCESS[op]

    # -- pseudo operations ----------------------------------------------------------------------

    def p_vconst(self, i: MInst) -> None:
        d, value = i.operands
        label = self.pool.get(value.value)
        if label is None:
            label = self.pool[value.value] = f"{self.mf.name}_k{len(self.pool)}"
        self.out(f"ldr {self.op(d)}, {label}")

    def p_pcopy(self, i: MInst) -> None:
        raise InternalError("aarch64 emit: unresolved parallel copy")

    def p_ret(self, i: MInst) -> None:
        self.epilogue()
        self.out("ret")

    def epilogue(self) -> None:
        """Tear the frame down: callee-saved registers, sp, x29 and x30 as at entry."""
        self._save_restore("ldr", "ldp")
        self.out("mov sp, x29")
        self.out("ldp x29, x30, [sp], #16")

    def p_tail_call(self, i: MInst) -> None:
        self.epilogue()
        self.out(f"b {self.op(i.operands[0])}")

    def p_tail_call_ref(self, i: MInst) -> None:
        # x16 is scratch, never allocated, and the epilogue leaves it and x28 alone
        ref = rname(i.operands[0].reg)
        self.out(f"ldr x16, [{ref}, #{V.FUNCREF_CODE}]")
        self.out(f"ldr x28, [{ref}, #{V.FUNCREF_VMCTX}]")
        self.epilogue()
        self.out("br x16")

    def p_tail_call_import(self, i: MInst) -> None:
        self.load_import(i.operands[0].value)
        self.epilogue()
        self.out("br x16")

    def p_load_fp(self, i: MInst) -> None:
        d, off = i.operands
        self.fp_access("ldr", Reg(d.reg, 128 if d.bits == 128 else 64), off.value)

    def p_store_fp(self, i: MInst) -> None:
        off, v = i.operands
        self.fp_access("str", Reg(v.reg, 128 if v.bits == 128 else 64), off.value)

    def fp_access(self, op: str, r: Reg, off: int) -> None:
        """ldr/str of r at [x29, #off] (a stack argument or result of this function); a q
        register at an offset that is not a multiple of 16 uses ldur/stur or, beyond their
        reach, x16 (free here: these pseudo ops read or write no integer register)."""
        name = rname(r.reg, r.bits)
        if r.bits == 128 and off % 16:
            if off < 256:
                self.out(f"{_Q_ACCESS[op]} {name}, [x29, #{off}]")
                return
            self.out(f"add x16, x29, #{off}")
            self.out(f"{op} {name}, [x16]")
            return
        self.out(f"{op} {name}, [x29, #{off}]")

    # -- protected calls: EmitterBase.call; x16 and x17 are scratch (the call target goes in
    # x16 after the link)

    def catch_record(self) -> int:
        """sp-relative offset of the catch record's first word (its words go up from it)."""
        return self.frame.extra_offset(1)

    def catch_link(self, landing: str) -> None:
        b = self.catch_record()
        self.out(f"ldr x16, [x28, #{V.STATE}]")
        self.out(f"ldr x17, [x16, #{V.STATE_CATCH}]")
        self.out(f"str x17, [sp, #{b + V.CATCH_PREV}]")
        if b < 4096:
            self.out(f"add x17, sp, #{b}")
        else:
            self.out(f"mov x17, #{b}")
            self.out("add x17, sp, x17")
        self.out(f"str x17, [x16, #{V.STATE_CATCH}]")
        self.out("mov x17, sp")
        self.out(f"str x17, [sp, #{b + V.CATCH_SP}]")
        self.out(f"str x29, [sp, #{b + V.CATCH_FP}]")
        self.out(f"adr x17, {landing}")
        self.out(f"str x17, [sp, #{b + V.CATCH_PC}]")
        self.out(f"str x28, [sp, #{b + V.CATCH_VMCTX}]")

    def catch_unlink(self) -> None:
        self.out(f"ldr x16, [x28, #{V.STATE}]")
        self.out(f"ldr x17, [sp, #{self.catch_record() + V.CATCH_PREV}]")
        self.out(f"str x17, [x16, #{V.STATE_CATCH}]")

    def p_call(self, i: MInst) -> None:
        self.call(lambda: self.out(f"bl {self.op(i.operands[0])}"))

    def restore_vmctx(self) -> None:
        self.out(f"ldr x28, [sp, #{self.frame.extra_offset(0)}]")

    def p_restore_vmctx(self, i: MInst) -> None:
        self.restore_vmctx()

    def load_import(self, idx: int) -> None:
        """x28: import `idx`'s vmctx; x16: its code."""
        self.load_pair(self.offsets.import_code(idx), self.offsets.import_vmctx(idx))

    def load_pair(self, code: int, ctx: int) -> None:
        """x28 and x16 from the vmctx pair (code, ctx) at those offsets."""
        if max(code, ctx) > 32760:
            raise InternalError("aarch64 emit: import slot beyond the vmctx offset range")
        self.out("mov x16, x28")
        self.out(f"ldr x28, [x16, #{ctx}]")
        self.out(f"ldr x16, [x16, #{code}]")

    def call_pair(self, code: int, ctx: int) -> None:
        def emit_call() -> None:
            self.load_pair(code, ctx)
            self.out("blr x16")
        self.call(emit_call)
        self.restore_vmctx()

    def p_call_ref(self, i: MInst) -> None:
        ref = rname(i.operands[0].reg)

        def emit_call() -> None:
            self.out(f"ldr x28, [{ref}, #{V.FUNCREF_VMCTX}]")
            self.out(f"ldr x16, [{ref}, #{V.FUNCREF_CODE}]")
            self.out("blr x16")
        self.call(emit_call)
        self.restore_vmctx()

    def p_memmove(self, i: MInst) -> None:
        bulk.p_memmove(self)

    def p_memfill(self, i: MInst) -> None:
        bulk.p_memfill(self)

    def p_wordfill(self, i: MInst) -> None:
        bulk.p_wordfill(self)

    def p_epoch_slow(self, i: MInst) -> None:
        """After the epoch compare: b.hs to an out-of-line path calling the register-preserving
        stub of helper EPOCH (its verdict in x16), which comes back here or traps INTERRUPT.
        x30 is kept around the call (bl clobbers it)."""
        name = self.mf.name
        k = len(self.epoch_paths) // 6
        slow, back = f"{name}_epoch{k}", f"{name}_epochback{k}"
        self.out(f"b.hs {slow}")
        self.place(back)
        self.epoch_paths += [f"{slow}:", "  str x30, [sp, #-16]!", f"  bl {EPOCH_SLOW}",
                             "  ldr x30, [sp], #16", f"  cbz x16, {back}",
                             f"  b {name}_trap{int(TrapCode.INTERRUPT)}"]

    def p_call_helper(self, i: MInst) -> None:
        idx = i.operands[0].value
        self.out(f"ldr x16, [x28, #{V.HELPERS}]")
        self.out(f"ldr x16, [x16, #{8 * idx}]")
        self.out("blr x16")


def frame_for(mf: MFunction, outgoing: int) -> Frame:
    return Frame.of(mf, outgoing, CALLEE_SAVED)


def _keystone(text: str, what: str) -> bytes:
    """Keystone's encoding of aarch64 `text` (assembled at address 0)."""
    from keystone import KS_ARCH_ARM64, KS_MODE_LITTLE_ENDIAN, KsError

    # Keystone 0.9.2 now and then rejects text it assembles on the next try (measured: about
    # one call in ten thousand fails with "Unknown error"); a rejection that repeats is an
    # emitter bug
    for attempt in range(_ASM_ATTEMPTS):
        try:
            encoding = keystone_asm(KS_ARCH_ARM64, KS_MODE_LITTLE_ENDIAN, text)
            break
        except KsError as e:
            if attempt == _ASM_ATTEMPTS - 1:
                raise InternalError(f"aarch64 assembler rejected generated code{what}: {e}") \
                    from e
    if encoding is None:
        raise InternalError(f"aarch64 assembler produced no code{what}")
    return bytes(encoding)


def assemble(parts: Iterable[str], symbols: list[str]) -> CompiledCode:
    """Assemble module text (without the symbol table) with one Keystone call; `symbols` are
    the labels whose offsets the CompiledCode should record."""
    header = [f".quad {s}" for s in symbols]
    code = _keystone("\n".join([*header, *parts]) + "\n", "")
    offsets = struct.unpack_from(f"<{len(symbols)}Q", code, 0) if symbols else ()
    return CompiledCode(target="aarch64", code=code, symbols=dict(zip(symbols, offsets)))


#: a reference from a function to a symbol of its module's unit
_OUTSIDE = re.compile(r"\b(func\d+|__trap|__epoch_slow)\b")


def assemble_function(text: str, name: str, resolve: Callable[[str], int]) -> bytes:
    """Position-independent code of one function's text (FunctionEmitter.render's lines,
    joined) that reaches the symbols outside it at the absolute addresses `resolve` gives:
    each goes through a veneer at the end of the function (a literal load of the address into
    x16, the call-target scratch register, and a branch), so the code may sit at any distance
    from them."""
    outside = sorted({m for m in _OUTSIDE.findall(text) if m != name})
    if outside:
        text = _OUTSIDE.sub(lambda m: m.group(1) if m.group(1) == name else m.group(1) + "_v",
                            text)
    veneers = [".balign 8"]
    for symbol in outside:
        veneers += [f"{symbol}_v:", f"  ldr x16, {symbol}_a", "  br x16", f"{symbol}_a:",
                    f"  .quad {resolve(symbol):#x}"]
    return _keystone(text + "\n" + "\n".join(veneers) + "\n", f" of {name}")
