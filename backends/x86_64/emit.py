"""x86_64 emission: allocated machine functions -> Intel-syntax assembly text, pseudo operations
expanded, prologue/epilogue added; the whole module is assembled by one Keystone call.

A module's text starts with a table of `.quad` symbol addresses (Keystone resolves every label
itself but reports no symbol table); `assemble` reads the offsets back from it.
"""

from __future__ import annotations

import re

import struct
from typing import Iterable

from engine.errors import InternalError, TrapCode
from engine.environ import vmctx as V

from ..base import CompiledCode, RegClass
from ..emitter import EmitterBase
from ..keystone_asm import keystone_asm
from .textasm import assemble_text
from ..mir import Imm, Label, Mem, MFunction, MInst, Reg, Slot
from . import bulk
from .abi import Frame
from .isel_simd import VConst
from .target import CALLEE_SAVED, REG_NAMES, reg_name
from .trampolines import EPOCH_SLOW

_SIZE = {8: "byte ptr ", 16: "word ptr ", 32: "dword ptr ", 64: "qword ptr ",
         128: "xmmword ptr ", 0: ""}
_F32_2_63 = 0x5F000000
_F64_2_63 = 0x43E0000000000000
_F32_2_64 = 0x5F800000
_F64_2_64 = 0x43F0000000000000


_INVERT = {"e": "ne", "ne": "e", "l": "ge", "ge": "l", "le": "g", "g": "le", "b": "ae",
           "ae": "b", "be": "a", "a": "be", "p": "np", "np": "p", "s": "ns", "ns": "s"}


#: pseudo operations that need the frame: rbp-relative stack arguments/results and calls
#: (a call also needs rsp 16-aligned at the call site, which the frame provides)
_FRAME_OPS = frozenset({"@load_rbp", "@store_rbp", "@call", "@call_import", "@call_ref",
                        "@call_helper", "@tail_call", "@tail_call_ref", "@tail_call_import",
                        "@restore_vmctx", "@call_pair"})


def _frameless(mf, fr) -> bool:
    """A leaf that keeps everything in caller-saved registers needs no frame: no push of rbp,
    no epilogue but ret. Its trap paths make one (trap_stub); a leaf with accesses left to
    guard pages keeps its frame, since their faults enter the trap stub directly."""
    if fr.callee_saved or fr.locals_size or mf.may_fault:
        return False
    return not any(i.op in _FRAME_OPS for b in mf.blocks for i in b.insts)


class SpillMoves:
    """The regalloc hooks: copies between registers and spill slots."""

    def move(self, dst, src, cls: RegClass, tmp: int) -> list[MInst]:
        f = cls == RegClass.FLOAT
        if isinstance(dst, Slot) and isinstance(src, Slot):
            return self.move(tmp, src, cls, tmp) + self.move(dst, tmp, cls, tmp)
        if cls == RegClass.VECTOR:
            if isinstance(dst, Slot):
                return [MInst("@vspill", [dst, Reg(src, 128)])]
            if isinstance(src, Slot):
                return [MInst("@vreload", [Reg(dst, 128), src])]
            return [MInst("movaps", [Reg(dst), Reg(src)])]
        if isinstance(dst, Slot):
            return [MInst("movsd" if f else "mov", [dst, Reg(src)])]
        if isinstance(src, Slot):
            return [MInst("movsd" if f else "mov", [Reg(dst), src])]
        return [MInst("movaps" if f else "mov", [Reg(dst), Reg(src)])]


class FunctionEmitter(EmitterBase):
    """Renders one allocated MFunction."""

    JUMP = "jmp"
    LOOP_ALIGN = ".p2align 4"

    def op(self, o) -> str:
        t = type(o)
        if t is Reg:
            name = REG_NAMES.get(o)
            return name if name is not None else reg_name(o.reg, o.bits)
        if t is Imm:
            return str(o.value)
        if t is Mem:
            base, disp, bits, index, scale = o
            if base is not None:
                text = REG_NAMES.get((base, 64)) or reg_name(base, 64)
                if index is not None:
                    text = f"{text} + {reg_name(index, 64)}*{scale}"
            elif index is not None:
                text = f"{reg_name(index, 64)}*{scale}"
            else:
                text = "0"
            if disp:
                text += f" + {disp}" if disp > 0 else f" - {-disp}"
            return f"{_SIZE[bits]}[{text}]"
        if t is Label:
            return self.block_label(o)
        if isinstance(o, Slot):
            off = self.frame.spill_offset(o.index)
            return f"qword ptr [rbp - {-off}]"
        if t is VConst:
            return f"xmmword ptr [rip + {self.pool_label(o.value)}]"
        return str(o)

    def pool_label(self, value: int) -> str:
        """The label of a 128-bit constant in this function's pool (added on first use)."""
        pool = self.pool
        label = pool.get(value)
        if label is None:
            label = pool[value] = f"{self.mf.name}_vc{len(pool)}"
        return label

    def pool_lines(self) -> list[str]:
        """The constant pool after the function's code: 16-byte aligned entries."""
        pool = self.pool
        if not pool:
            return []
        lines = [".p2align 4"]
        for value, label in pool.items():
            lines += [f"{label}:", f".quad {value & 0xFFFFFFFFFFFFFFFF:#x}", f".quad {value >> 64:#x}"]
        return lines

    def render(self) -> list[str]:
        mf, fr = self.mf, self.frame
        name = mf.name
        # functions start on 16 bytes, as compilers align them: calls into code placed across
        # a fetch boundary measurably cost more (callind: 1.64x wasmtime unaligned, 1.05x)
        self.lines.append(".p2align 4")
        self.lines.append(f"{name}:")
        self.frameless = _frameless(mf, fr)
        #: the function's 128-bit constants (value -> label), placed after its code
        self.pool: dict[int, str] = {}
        # the stack check compares the rsp the whole frame will leave (saved rbp, callee-saved
        # registers, locals) with the limit, before the frame's first store: a frame larger
        # than the room below the limit traps instead of writing past it. r11 is scratch and
        # free at entry (callers use it only for the call target).
        size = 0 if self.frameless else 8 * (1 + len(fr.callee_saved)) + fr.locals_size
        if size:
            self.out(f"lea r11, [rsp - {size}]")
            self.out("cmp r11, qword ptr [r15 + %d]" % V.STACK_LIMIT)
        else:
            self.out("cmp rsp, qword ptr [r15 + %d]" % V.STACK_LIMIT)
        self.out(f"jb {name}_trap{int(TrapCode.STACK_OVERFLOW)}")
        self.traps.add(int(TrapCode.STACK_OVERFLOW))
        if not self.frameless:
            self.out("push rbp")
            self.out("mov rbp, rsp")
            for r in fr.callee_saved:
                self.out(f"push {reg_name(r)}")
            if fr.locals_size:
                self.out(f"sub rsp, {fr.locals_size}")
            if fr.extra_slots:
                self.out(f"mov qword ptr [rbp - {-fr.extra_offset(0)}], r15")
        self.epoch_paths: list[str] = []
        self.body()
        self.trap_stubs()
        self.lines += self.epoch_paths
        self.lines += self.pool_lines()
        return self.lines

    def p_epoch_slow(self, i: MInst) -> None:
        """After the epoch compare: jae to an out-of-line path calling the register-preserving
        stub of helper EPOCH (its verdict in r11), which comes back here or traps INTERRUPT."""
        name = self.mf.name
        k = len(self.epoch_paths) // 5
        slow, back = f"{name}_epoch{k}", f"{name}_epochback{k}"
        self.out(f"jae {slow}")
        self.place(back)
        trap = int(TrapCode.INTERRUPT)
        self.traps.add(trap)
        self.epoch_paths += [f"{slow}:", f"  call {EPOCH_SLOW}", "  test r11, r11",
                             f"  jz {back}", f"  jmp {name}_trap{trap}"]

    def invertible(self, inst: MInst) -> bool:
        return inst.op[0] == "j" and inst.op != "jmp" and inst.op[1:] in _INVERT

    def inverted(self, inst: MInst, other: Label) -> str:
        # jcc next; jmp other  ->  j!cc other
        return f"j{_INVERT[inst.op[1:]]} {self.op(other)}"

    def trap_stub(self, code: int, label: str) -> None:
        if self.frameless or code == int(TrapCode.STACK_OVERFLOW):
            # no frame here yet (a leaf, or the entry's stack check): make one, so the trap
            # stub finds every trapping function's frame in rbp (trampolines.FRAME_*)
            self.out("push rbp")
            self.out("mov rbp, rsp")
        self.out("lea esi, [rax - 1]" if code == -1 else f"mov esi, {code}")
        self.out("lea rdx, [rip]")      # the trap pc: inside this function's code
        self.out("jmp __trap")

    def inst(self, i: MInst) -> None:
        op = i.op
        if op[0] != "@":
            ops = i.operands
            if i.is_move and type(ops[0]) is Reg and type(ops[1]) is Reg \
                    and ops[0].reg == ops[1].reg:
                return
            if not ops:
                self.lines.append("  " + op)
                return
            texts = []
            for o in ops:
                t = type(o)
                if t is Reg:
                    name = REG_NAMES.get(o)     # a Reg is a (reg, bits) tuple
                    texts.append(name if name is not None else reg_name(o.reg, o.bits))
                elif t is Imm:
                    texts.append(str(o.value))
                else:
                    texts.append(self.op(o))
            self.lines.append(f"  {op} {', '.join(texts)}")
            return
        getattr(self, "p_" + op[1:])(i)

    # -- pseudo operations ----------------------------------------------------------------------

    def p_pcopy(self, i: MInst) -> None:
        raise InternalError("x86_64 emit: unresolved parallel copy")

    def p_jtable(self, i: MInst) -> None:
        """Jump through a table of 32-bit offsets from the table's start (the index, a 64-bit
        register, is known to be in range); r10 and r11 are scratch."""
        idx, labels = i.operands
        table = self.label()
        index = reg_name(idx.reg, 64)
        # a spilled index is reloaded into a scratch register: keep it until it is read
        base, entry = ("r10", "r11") if index == "r11" else ("r11", "r10")
        self.out(f"lea {base}, [rip + {table}]")
        self.out(f"movsxd {entry}, dword ptr [{base} + {index}*4]")
        self.out(f"add {base}, {entry}")
        self.out(f"jmp {base}")
        self.place(table)
        for lab in labels:
            self.out(f".long {self.block_label(lab)} - {table}")

    def p_ret(self, i: MInst) -> None:
        if not self.frameless:
            self.epilogue()
        self.out("ret")

    def epilogue(self) -> None:
        """Tear the frame down: callee-saved registers, rsp and rbp as at entry."""
        fr = self.frame
        if fr.callee_saved:
            self.out(f"lea rsp, [rbp - {8 * len(fr.callee_saved)}]")
            for r in reversed(fr.callee_saved):
                self.out(f"pop {reg_name(r)}")
        else:
            self.out("mov rsp, rbp")
        self.out("pop rbp")

    def p_tail_call(self, i: MInst) -> None:
        self.epilogue()
        self.out(f"jmp {self.op(i.operands[0])}")

    def p_tail_call_ref(self, i: MInst) -> None:
        # r11 is free here (not an argument register) and the epilogue leaves it and r15 alone
        ref = reg_name(i.operands[0].reg)
        self.out(f"mov r11, qword ptr [{ref} + {V.FUNCREF_CODE}]")
        self.out(f"mov r15, qword ptr [{ref} + {V.FUNCREF_VMCTX}]")
        self.epilogue()
        self.out("jmp r11")

    def p_tail_call_import(self, i: MInst) -> None:
        self.load_import(i.operands[0].value)
        self.out(f"mov r11, qword ptr [r11 + {self.offsets.import_code(i.operands[0].value)}]")
        self.epilogue()
        self.out("jmp r11")

    def p_load_rbp(self, i: MInst) -> None:
        d, off = i.operands
        if d.bits == 128:
            self.out(f"movdqu {reg_name(d.reg)}, xmmword ptr [rbp + {off.value}]")
            return
        mv = "movsd" if d.reg >= 16 else "mov"
        self.out(f"{mv} {reg_name(d.reg, 64)}, qword ptr [rbp + {off.value}]")

    def p_store_rbp(self, i: MInst) -> None:
        off, v, mv = i.operands
        size = "xmmword" if mv == "movdqu" else "qword"
        self.out(f"{mv} {size} ptr [rbp + {off.value}], {reg_name(v.reg, 64)}")

    def vslot(self, slot: Slot) -> str:
        """A vector spill slot: slots i and i + 1, addressed from the lower one."""
        return f"xmmword ptr [rbp - {-self.frame.spill_offset(slot.index + 1)}]"

    def p_vspill(self, i: MInst) -> None:
        slot, v = i.operands
        self.out(f"movdqu {self.vslot(slot)}, {reg_name(v.reg)}")

    def p_vreload(self, i: MInst) -> None:
        d, slot = i.operands
        self.out(f"movdqu {reg_name(d.reg)}, {self.vslot(slot)}")

    # -- protected calls: EmitterBase.call; r10 and r11 are scratch (never allocated; the call
    # target is never in them before call_pair sets r11)

    def catch_record(self) -> int:
        """rbp-relative offset of the catch record's first word (its words go up from it)."""
        return self.frame.extra_offset(V.CATCH_WORDS)

    def catch_link(self, landing: str) -> None:
        b = self.catch_record()
        self.out(f"mov r11, qword ptr [r15 + {V.STATE}]")
        self.out(f"mov r10, qword ptr [r11 + {V.STATE_CATCH}]")
        self.out(f"mov qword ptr [rbp - {-b - V.CATCH_PREV}], r10")
        self.out(f"lea r10, [rbp - {-b}]")
        self.out(f"mov qword ptr [r11 + {V.STATE_CATCH}], r10")
        self.out(f"mov qword ptr [rbp - {-b - V.CATCH_SP}], rsp")
        self.out(f"mov qword ptr [rbp - {-b - V.CATCH_FP}], rbp")
        self.out(f"lea r10, [rip + {landing}]")
        self.out(f"mov qword ptr [rbp - {-b - V.CATCH_PC}], r10")
        self.out(f"mov qword ptr [rbp - {-b - V.CATCH_VMCTX}], r15")

    def catch_unlink(self) -> None:
        self.out(f"mov r11, qword ptr [r15 + {V.STATE}]")
        self.out(f"mov r10, qword ptr [rbp - {-self.catch_record() - V.CATCH_PREV}]")
        self.out(f"mov qword ptr [r11 + {V.STATE_CATCH}], r10")

    def p_call(self, i: MInst) -> None:
        self.call(lambda: self.out(f"call {self.op(i.operands[0])}"))

    def restore_vmctx(self) -> None:
        self.out(f"mov r15, qword ptr [rbp - {-self.frame.extra_offset(0)}]")

    def p_restore_vmctx(self, i: MInst) -> None:
        self.restore_vmctx()

    def load_import(self, idx: int) -> None:
        """r15: import `idx`'s vmctx; r11: this function's."""
        self.out("mov r11, r15")
        self.out(f"mov r15, qword ptr [r11 + {self.offsets.import_vmctx(idx)}]")

    def call_pair(self, code: int, ctx: int) -> None:
        def emit_call() -> None:
            self.out("mov r11, r15")
            self.out(f"mov r15, qword ptr [r11 + {ctx}]")
            self.out(f"call qword ptr [r11 + {code}]")
        self.call(emit_call)
        self.restore_vmctx()

    def p_call_ref(self, i: MInst) -> None:
        ref = reg_name(i.operands[0].reg)

        def emit_call() -> None:
            self.out(f"mov r15, qword ptr [{ref} + {V.FUNCREF_VMCTX}]")
            self.out(f"call qword ptr [{ref} + {V.FUNCREF_CODE}]")
        self.call(emit_call)
        self.restore_vmctx()

    def p_call_helper(self, i: MInst) -> None:
        idx = i.operands[0].value
        self.out(f"mov r11, qword ptr [r15 + {V.HELPERS}]")
        self.out(f"call qword ptr [r11 + {8 * idx}]")

    def p_memmove(self, i: MInst) -> None:
        bulk.p_memmove(self)

    def p_memfill(self, i: MInst) -> None:
        bulk.p_memfill(self)

    def p_wordfill(self, i: MInst) -> None:
        bulk.p_wordfill(self)

    def p_trap_dyn(self, i: MInst) -> None:
        self.out(f"jne {i.operands[0].name}")

    def p_fsel(self, i: MInst) -> None:
        d, a, c = i.operands
        skip = self.label()
        self.out(f"test {reg_name(c.reg, 32)}, {reg_name(c.reg, 32)}")
        self.out(f"je {skip}")
        if d.reg != a.reg:
            self.out(f"movaps {reg_name(d.reg)}, {reg_name(a.reg)}")
        self.lines.append(f"{skip}:")

    def p_fminmax(self, i: MInst) -> None:
        d, b, kind = i.operands
        sfx = kind[3:]
        is_min = kind.startswith("min")
        dn, bn = reg_name(d.reg), reg_name(b.reg)
        nan, ne, done = self.label(), self.label(), self.label()
        p = "ps" if sfx == "ss" else "pd"
        self.out(f"ucomi{sfx} {dn}, {bn}")
        self.out(f"jp {nan}")
        self.out(f"jne {ne}")
        # equal operands: only +0/-0 differ; min ORs the sign bits, max ANDs them
        self.out(f"{'or' if is_min else 'and'}{p} {dn}, {bn}")
        self.out(f"jmp {done}")
        self.lines.append(f"{ne}:")
        self.out(f"{kind} {dn}, {bn}")
        self.out(f"jmp {done}")
        self.lines.append(f"{nan}:")
        self.out(f"add{sfx} {dn}, {bn}")
        self.lines.append(f"{done}:")

    def p_cvt_to_int(self, i: MInst) -> None:
        d, a, t, u, kind = i.operands
        kind, sfx = kind.split("_")
        f32 = sfx == "ss"
        an, tn = reg_name(a.reg), reg_name(t.reg)
        d64, d32, u64, u32 = reg_name(d.reg, 64), reg_name(d.reg, 32), reg_name(u.reg, 64), \
            reg_name(u.reg, 32)
        mvx = "movd" if f32 else "movq"
        ux = u32 if f32 else u64
        cvt = f"cvtt{sfx}2si"
        done = self.label()

        def const(bits32: int, bits64: int) -> None:
            self.out(f"movabs {u64}, {bits32 if f32 else bits64}")
            self.out(f"{mvx} {tn}, {ux}")

        def big_path() -> None:
            # a >= 2**63 (t holds 2**63): convert 2**63 - a exactly, negate, add 2**63
            self.out(f"sub{sfx} {tn}, {an}")
            self.out(f"{cvt} {d64}, {tn}")
            self.out(f"neg {d64}")
            self.out(f"btc {d64}, 63")

        if kind in ("s32sat", "s64sat"):
            dd = d32 if kind == "s32sat" else d64
            nan = self.label()
            self.out(f"{cvt} {dd}, {an}")
            self.out(f"cmp {dd}, 1")
            self.out(f"jno {done}")
            self.out(f"ucomi{sfx} {an}, {an}")
            self.out(f"jp {nan}")
            self.out(f"xorps {tn}, {tn}")
            self.out(f"ucomi{sfx} {an}, {tn}")
            self.out(f"jb {done}")
            if kind == "s32sat":
                self.out(f"mov {d32}, 2147483647")
            else:
                self.out(f"movabs {d64}, 9223372036854775807")
            self.out(f"jmp {done}")
            self.lines.append(f"{nan}:")
            self.out(f"xor {d32}, {d32}")
        elif kind == "u32sat":
            special, pos = self.label(), self.label()
            self.out(f"{cvt} {d64}, {an}")
            self.out(f"test {d64}, {d64}")
            self.out(f"js {special}")
            self.out(f"mov {u32}, 4294967295")
            self.out(f"cmp {d64}, {u64}")
            self.out(f"cmova {d64}, {u64}")
            self.out(f"jmp {done}")
            self.lines.append(f"{special}:")
            self.out(f"xorps {tn}, {tn}")
            self.out(f"ucomi{sfx} {an}, {tn}")
            self.out(f"ja {pos}")
            self.out(f"xor {d32}, {d32}")
            self.out(f"jmp {done}")
            self.lines.append(f"{pos}:")
            self.out(f"mov {d32}, 4294967295")
        elif kind == "u64":
            big = self.label()
            const(_F32_2_63, _F64_2_63)
            self.out(f"ucomi{sfx} {an}, {tn}")
            self.out(f"jae {big}")
            self.out(f"{cvt} {d64}, {an}")
            self.out(f"jmp {done}")
            self.lines.append(f"{big}:")
            big_path()
        elif kind == "u64sat":
            zero, mx, big = self.label(), self.label(), self.label()
            self.out(f"xorps {tn}, {tn}")
            self.out(f"ucomi{sfx} {an}, {tn}")
            self.out(f"jp {zero}")
            self.out(f"jbe {zero}")
            const(_F32_2_64, _F64_2_64)
            self.out(f"ucomi{sfx} {an}, {tn}")
            self.out(f"jae {mx}")
            const(_F32_2_63, _F64_2_63)
            self.out(f"ucomi{sfx} {an}, {tn}")
            self.out(f"jae {big}")
            self.out(f"{cvt} {d64}, {an}")
            self.out(f"jmp {done}")
            self.lines.append(f"{big}:")
            big_path()
            self.out(f"jmp {done}")
            self.lines.append(f"{mx}:")
            self.out(f"mov {d64}, -1")
            self.out(f"jmp {done}")
            self.lines.append(f"{zero}:")
            self.out(f"xor {d32}, {d32}")
        else:
            raise InternalError(f"x86_64 emit: unknown conversion {kind}")
        self.lines.append(f"{done}:")

    def p_popcnt_sw(self, i: MInst) -> None:
        """Population count without POPCNT (the bit-parallel sum; i32 inputs are zero-extended)."""
        d, a, t, u = (reg_name(o.reg, 64) for o in i.operands)
        for line in (f"mov {d}, {a}", f"mov {t}, {d}", f"shr {t}, 1",
                     f"movabs {u}, 0x5555555555555555", f"and {t}, {u}", f"sub {d}, {t}",
                     f"mov {t}, {d}", f"shr {t}, 2", f"movabs {u}, 0x3333333333333333",
                     f"and {t}, {u}", f"and {d}, {u}", f"add {d}, {t}",
                     f"mov {t}, {d}", f"shr {t}, 4", f"add {d}, {t}",
                     f"movabs {u}, 0x0f0f0f0f0f0f0f0f", f"and {d}, {u}",
                     f"movabs {u}, 0x0101010101010101", f"imul {d}, {u}", f"shr {d}, 56"):
            self.out(line)

    def p_fround_sw(self, i: MInst) -> None:
        """roundss/roundsd without SSE4.1: round |a| to nearest-even by adding and subtracting
        2**52 (2**23), adjust toward floor/ceil/zero in the absolute domain, then put a's sign
        back (which also yields -0.0 where the result is a negative zero)."""
        d, a, t, u, mode, sfx = i.operands
        f32 = sfx == "ss"
        dn, an, tn = reg_name(d.reg), reg_name(a.reg), reg_name(t.reg)
        un = reg_name(u.reg, 64)
        mv = "movd" if f32 else "movq"
        ux = reg_name(u.reg, 32) if f32 else un
        p = "ps" if f32 else "pd"
        absmask = 0x7FFFFFFF if f32 else 0x7FFFFFFFFFFFFFFF
        signmask = 0x80000000 if f32 else 0x8000000000000000
        big = 0x4B000000 if f32 else 0x4330000000000000      # 2**23 / 2**52
        one = 0x3F800000 if f32 else 0x3FF0000000000000
        special, done, skip = self.label(), self.label(), self.label()
        self.out(f"movabs {un}, {absmask}")
        self.out(f"{mv} {tn}, {ux}")
        self.out(f"and{p} {tn}, {an}")                # t = |a|
        self.out(f"movabs {un}, {big}")
        self.out(f"{mv} {dn}, {ux}")
        self.out(f"ucomi{sfx} {tn}, {dn}")
        self.out(f"jp {special}")
        self.out(f"jae {special}")
        self.out(f"add{sfx} {dn}, {tn}")
        self.out(f"movabs {un}, {big}")
        self.out(f"{mv} {tn}, {ux}")
        self.out(f"sub{sfx} {dn}, {tn}")               # d = nearest(|a|)
        self.out(f"movabs {un}, {absmask}")
        self.out(f"{mv} {tn}, {ux}")
        self.out(f"and{p} {tn}, {an}")                # t = |a| again
        if mode != 0:
            # 1 floor, 2 ceil, 3 trunc; in the absolute domain: trunc and floor of a positive
            # a are floor(|a|); floor of a negative a and ceil of a positive a are ceil(|a|)
            down, up = self.label(), self.label()
            if mode in (1, 2):
                self.out(f"movmsk{p} {reg_name(u.reg, 32)}, {an}")
                self.out(f"test {reg_name(u.reg, 32)}, 1")
                self.out(f"{'jnz' if mode == 1 else 'jz'} {up}")
            self.lines.append(f"{down}:")
            self.out(f"ucomi{sfx} {dn}, {tn}")
            self.out(f"jbe {skip}")
            self.out(f"movabs {un}, {one}")
            self.out(f"{mv} {tn}, {ux}")
            self.out(f"sub{sfx} {dn}, {tn}")
            self.out(f"jmp {skip}")
            if mode in (1, 2):
                self.lines.append(f"{up}:")
                self.out(f"ucomi{sfx} {dn}, {tn}")
                self.out(f"jae {skip}")
                self.out(f"movabs {un}, {one}")
                self.out(f"{mv} {tn}, {ux}")
                self.out(f"add{sfx} {dn}, {tn}")
        self.lines.append(f"{skip}:")
        self.out(f"movabs {un}, {signmask}")
        self.out(f"{mv} {tn}, {ux}")
        self.out(f"and{p} {tn}, {an}")
        self.out(f"or{p} {dn}, {tn}")
        self.out(f"jmp {done}")
        self.lines.append(f"{special}:")                 # NaN (quieted) or already integral
        self.out(f"movaps {dn}, {an}")
        self.out(f"ucomi{sfx} {an}, {an}")
        self.out(f"jnp {done}")
        self.out(f"add{sfx} {dn}, {dn}")
        self.lines.append(f"{done}:")

    def p_cvt_from_u64(self, i: MInst) -> None:
        d, a, t, sfx = i.operands
        dn, an, tn = reg_name(d.reg), reg_name(a.reg, 64), reg_name(t.reg, 64)
        neg, odd, done = self.label(), self.label(), self.label()
        self.out(f"test {an}, {an}")
        self.out(f"js {neg}")
        self.out(f"cvtsi2{sfx} {dn}, {an}")
        self.out(f"jmp {done}")
        self.lines.append(f"{neg}:")
        # halve keeping the lost bit sticky, convert, double (one rounding)
        self.out(f"mov {tn}, {an}")
        self.out(f"shr {tn}, 1")
        self.out(f"jnc {odd}")
        self.out(f"or {tn}, 1")
        self.lines.append(f"{odd}:")
        self.out(f"cvtsi2{sfx} {dn}, {tn}")
        self.out(f"add{sfx} {dn}, {dn}")
        self.lines.append(f"{done}:")


_COPY = re.compile(r"\s*movaps (xmm\d+), (xmm\d+)$")
_VEX_OPS = re.compile(r"\s*((?:add|sub|mul|div|min|max)(?:ss|sd|ps|pd)|(?:and|andn|or|xor)(?:ps|pd)"
                      r"|punpck[lh](?:bw|wd|dq|qdq))"
                      r" (xmm\d+), (.+)$")


def vex_forms(lines: list[str]) -> list[str]:
    """`lines` with each register copy that only feeds the next instruction's destination
    folded into that instruction's three-operand AVX form (CPUs with AVX; float arithmetic
    and logic, and the unpacks): ``movaps x3, x2`` then ``mulsd x3, [m]`` is
    ``vmulsd x3, x2, [m]``. The copy is the two-operand SSE form's price for keeping its
    source; without it gemm's inner loop ran in 0.55x the time (an AMD EPYC). A VEX.128 form
    leaves bits 255:128 zero, which no code of ours reads."""
    out: list[str] = []
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        copy = _COPY.match(line) if i + 1 < n else None
        if copy is not None:
            op = _VEX_OPS.match(lines[i + 1])
            dst, src = copy.groups()
            if op is not None and op.group(2) == dst:
                other = op.group(3)
                if other == dst:            # (x3 = x2 first: the operand is x2 too)
                    other = src
                out.append(f"  v{op.group(1)} {dst}, {src}, {other}")
                i += 2
                continue
        out.append(line)
        i += 1
    return out


def frame_for(mf: MFunction, outgoing: int) -> Frame:
    return Frame.of(mf, outgoing, CALLEE_SAVED)


def assemble(parts: Iterable[str], symbols: list[str], target: str = "x86_64",
             features: frozenset[str] = frozenset()) -> CompiledCode:
    """Assemble module text (without the symbol table): `symbols` are the labels whose
    offsets the CompiledCode should record. The stubs' text is encoded by textasm (the bytes
    Keystone makes, without its cost); other text with one Keystone call."""
    header = [f".quad {s}" for s in symbols]
    text = "\n".join([*header, *parts]) + "\n"
    code = assemble_text(text.splitlines())
    if code is None:
        from keystone import KS_ARCH_X86, KS_MODE_64, KsError
        try:
            encoding = keystone_asm(KS_ARCH_X86, KS_MODE_64, text)
        except KsError as e:  # an emitter bug; name it clearly
            raise InternalError(f"x86_64 assembler rejected generated code: {e}") from e
        if encoding is None:
            raise InternalError("x86_64 assembler produced no code")
        code = bytes(encoding)
    offsets = struct.unpack_from(f"<{len(symbols)}Q", code, 0) if symbols else ()
    return CompiledCode(target=target, code=code, symbols=dict(zip(symbols, offsets)),
                        features=features)
