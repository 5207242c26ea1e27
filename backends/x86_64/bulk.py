"""memory.copy, memory.fill, memory.init, table.copy and table.fill in machine code (no runtime-helper call): the bounds of every
range checked against its memory's current length first (MEMORY_OUT_OF_BOUNDS before any byte
moves, as the spec and runtime.libcalls say), then ``rep movsb`` / ``rep stosb`` on absolute
addresses (short ones, up to 64 bytes, by a few overlapping loads and stores instead: rep has
a start-up cost of tens of cycles). A long copy whose destination overlaps its source from
above runs backward (direction flag set for the one instruction), so overlapping copies behave
as memmove. The same code runs
natively and under Unicorn. The rules here are instruction-selection rules of
x86_64.isel.Lowering; emit.py expands the two pseudo operations."""

from __future__ import annotations

from engine.errors import TrapCode
from engine.ir.ir import Inst

from engine.environ import vmctx as V

from ..mir import Imm, Mem, Reg
from .target import RAX, RCX, RDI, RSI, XMM

#: what ``@memmove`` (rdi <- dst, rsi <- src, rcx <- n) and ``@memfill`` (rdi, al, rcx) leave
#: changed (a copy of 33-64 bytes holds it in xmm12-xmm15); the temporaries r10, r11, xmm14
#: and xmm15 are never allocated
MOVS_CLOBBERS = frozenset({RDI, RSI, RCX, XMM[12], XMM[13]})
STOS_CLOBBERS = frozenset({RDI, RCX})


def _args(lw, pairs: list[tuple[int, int]]) -> None:
    """Copy IR values into fixed registers (i32 values have zero upper halves, so the 64-bit
    registers hold them as unsigned addresses and lengths)."""
    for reg, v in pairs:
        lw.mov(Reg(reg, 64), lw.R(v))


def _check(lw, start: int, memory: int, length_at: int | None = None) -> None:
    """Trap unless start + rcx <= the memory's length, or the length in the vmctx field at
    `length_at` (no overflow: both are below 2**32)."""
    t = lw.tmp()
    lw.ins("lea", Reg(t), Mem(start, 0, 0, RCX, 1), defs=[t], uses=[start, RCX])
    at = lw.info.offsets.memory_length(memory) if length_at is None else length_at
    lw.ins("cmp", Reg(t), lw.vm(at), uses=[t])
    lw.jcc_trap("a", TrapCode.MEMORY_OUT_OF_BOUNDS)


def _absolute(lw, reg: int, memory: int) -> None:
    """reg += the memory's base address."""
    base = lw.heap_base(memory)
    lw.ins("add", Reg(reg), Reg(base), defs=[reg], uses=[reg, base])


def memory_copy(lw, inst: Inst) -> None:
    d, s, n = inst.args
    imm = inst.imm
    _args(lw, [(RDI, d), (RSI, s), (RCX, n)])
    _check(lw, RDI, imm.dst)
    _check(lw, RSI, imm.src)
    _absolute(lw, RDI, imm.dst)
    _absolute(lw, RSI, imm.src)
    lw.ins("@memmove", uses=[RDI, RSI, RCX], clobbers=MOVS_CLOBBERS)


def memory_init(lw, inst: Inst) -> None:
    """memory.init: the segment's bytes (vmctx.data_segment: the store's copy, length 0 once
    dropped) into the memory, both ranges checked first."""
    d, s, n = inst.args
    imm = inst.imm
    seg = lw.info.offsets.data_segment(imm.segment)
    _args(lw, [(RDI, d), (RSI, s), (RCX, n)])
    _check(lw, RDI, imm.target)
    _check(lw, RSI, 0, length_at=seg + 8)
    _absolute(lw, RDI, imm.target)
    lw.ins("add", Reg(RSI), lw.vm(seg), defs=[RSI], uses=[RSI])
    lw.ins("@memmove", uses=[RDI, RSI, RCX], clobbers=MOVS_CLOBBERS)


def _table_range(lw, reg: int, table: int) -> None:
    """Trap TABLE_OUT_OF_BOUNDS unless reg + rcx <= the table's length (entries); then reg
    becomes the address of entry reg (8 bytes each)."""
    tdef = lw.table_def(table)
    t = lw.tmp()
    lw.ins("lea", Reg(t), Mem(reg, 0, 0, RCX, 1), defs=[t], uses=[reg, RCX])
    lw.ins("cmp", Reg(t), Mem(tdef, V.TABLEDEF_LENGTH, 64), uses=[t, tdef])
    lw.jcc_trap("a", TrapCode.TABLE_OUT_OF_BOUNDS)
    base = lw.tmp()
    lw.ins("mov", Reg(base), Mem(tdef, V.TABLEDEF_BASE, 64), defs=[base], uses=[tdef])
    lw.ins("lea", Reg(reg), Mem(base, 0, 0, reg, 8), defs=[reg], uses=[base, reg])


def table_copy(lw, inst: Inst) -> None:
    """table.copy: both ranges checked, then the entries' words moved as memory.copy moves
    bytes (overlap handled)."""
    d, s, n = inst.args
    _args(lw, [(RDI, d), (RSI, s), (RCX, n)])
    _table_range(lw, RDI, inst.imm.dst)
    _table_range(lw, RSI, inst.imm.src)
    lw.ins("shl", Reg(RCX), Imm(3), defs=[RCX], uses=[RCX])
    lw.ins("@memmove", uses=[RDI, RSI, RCX], clobbers=MOVS_CLOBBERS)


def table_fill(lw, inst: Inst) -> None:
    """table.fill: the range checked, then the reference's word stored n times."""
    d, v, n = inst.args
    _args(lw, [(RDI, d), (RAX, v), (RCX, n)])
    _table_range(lw, RDI, inst.imm)
    lw.ins("@wordfill", uses=[RDI, RAX, RCX], clobbers=STOS_CLOBBERS)


def memory_fill(lw, inst: Inst) -> None:
    d, v, n = inst.args
    _args(lw, [(RDI, d), (RAX, v), (RCX, n)])
    _check(lw, RDI, inst.imm)
    _absolute(lw, RDI, inst.imm)
    lw.ins("@memfill", uses=[RDI, RAX, RCX], clobbers=STOS_CLOBBERS)


def p_memmove(em) -> None:
    """The copy of ``@memmove`` (rdi, rsi absolute, rcx the length). Up to 64 bytes: two or
    four loads that cover the range (overlapping in the middle), then the stores, so every byte
    is read before any is written and overlap in either direction is harmless; beyond that
    rep movsb,
    backward when dst lies inside (src, src + n). Temporaries: r10, r11, xmm14, xmm15 (never
    allocated)."""
    big, lt16, lt8, lt4, lt2, done = (em.label() for _ in range(6))
    out = em.out
    out("cmp rcx, 16")
    out(f"ja {big}")
    out("cmp ecx, 8")
    out(f"jb {lt8}")
    _pair(em, "r10", "r11", 8, done)
    em.place(lt8)
    out("cmp ecx, 4")
    out(f"jb {lt4}")
    _pair(em, "r10d", "r11d", 4, done)
    em.place(lt4)
    out("cmp ecx, 2")
    out(f"jb {lt2}")
    out("movzx r10d, word ptr [rsi]")
    out("movzx r11d, word ptr [rsi + rcx - 2]")
    out("mov word ptr [rdi], r10w")
    out("mov word ptr [rdi + rcx - 2], r11w")
    out(f"jmp {done}")
    em.place(lt2)
    out("test ecx, ecx")
    out(f"jz {done}")
    out("movzx r10d, byte ptr [rsi]")
    out("mov byte ptr [rdi], r10b")
    out(f"jmp {done}")
    em.place(big)
    le64 = em.label()
    out("cmp rcx, 32")
    out(f"ja {le64}")
    out("movups xmm14, xmmword ptr [rsi]")
    out("movups xmm15, xmmword ptr [rsi + rcx - 16]")
    out("movups xmmword ptr [rdi], xmm14")
    out("movups xmmword ptr [rdi + rcx - 16], xmm15")
    out(f"jmp {done}")
    em.place(le64)
    out("cmp rcx, 64")
    out(f"ja {lt16}")
    out("movups xmm12, xmmword ptr [rsi]")
    out("movups xmm13, xmmword ptr [rsi + 16]")
    out("movups xmm14, xmmword ptr [rsi + rcx - 32]")
    out("movups xmm15, xmmword ptr [rsi + rcx - 16]")
    out("movups xmmword ptr [rdi], xmm12")
    out("movups xmmword ptr [rdi + 16], xmm13")
    out("movups xmmword ptr [rdi + rcx - 32], xmm14")
    out("movups xmmword ptr [rdi + rcx - 16], xmm15")
    out(f"jmp {done}")
    em.place(lt16)
    fwd = em.label()
    out("cmp rdi, rsi")
    out(f"jbe {fwd}")
    out("lea r11, [rsi + rcx]")
    out("cmp rdi, r11")
    out(f"jae {fwd}")
    out("lea rsi, [rsi + rcx - 1]")
    out("lea rdi, [rdi + rcx - 1]")
    out("std")
    out("rep movsb")
    out("cld")
    out(f"jmp {done}")
    em.place(fwd)
    out("rep movsb")
    em.place(done)


def _pair(em, a: str, b: str, size: int, done: str) -> None:
    """Copy rcx bytes, size <= rcx <= 2 * size, as two overlapping size-byte accesses."""
    ptr = {8: "qword", 4: "dword"}[size]
    em.out(f"mov {a}, {ptr} ptr [rsi]")
    em.out(f"mov {b}, {ptr} ptr [rsi + rcx - {size}]")
    em.out(f"mov {ptr} ptr [rdi], {a}")
    em.out(f"mov {ptr} ptr [rdi + rcx - {size}], {b}")
    em.out(f"jmp {done}")


def p_wordfill(em) -> None:
    """``@wordfill``: rcx 8-byte words of rax from rdi."""
    em.out("rep stosq")


def p_memfill(em) -> None:
    """The fill of ``@memfill`` (rdi absolute, al the byte, rcx the length): up to 64 bytes by
    overlapping stores of the byte repeated (r10, xmm14), beyond that rep stosb."""
    big, lt8, lt4, lt2, done = (em.label() for _ in range(5))
    out = em.out
    out("movzx r10d, al")
    out("movabs r11, 0x0101010101010101")
    out("imul r10, r11")
    out("cmp rcx, 16")
    out(f"ja {big}")
    out("cmp ecx, 8")
    out(f"jb {lt8}")
    out("mov qword ptr [rdi], r10")
    out("mov qword ptr [rdi + rcx - 8], r10")
    out(f"jmp {done}")
    em.place(lt8)
    out("cmp ecx, 4")
    out(f"jb {lt4}")
    out("mov dword ptr [rdi], r10d")
    out("mov dword ptr [rdi + rcx - 4], r10d")
    out(f"jmp {done}")
    em.place(lt4)
    out("cmp ecx, 2")
    out(f"jb {lt2}")
    out("mov word ptr [rdi], r10w")
    out("mov word ptr [rdi + rcx - 2], r10w")
    out(f"jmp {done}")
    em.place(lt2)
    out("test ecx, ecx")
    out(f"jz {done}")
    out("mov byte ptr [rdi], r10b")
    out(f"jmp {done}")
    em.place(big)
    rep, le64 = em.label(), em.label()
    out("movq xmm14, r10")
    out("punpcklqdq xmm14, xmm14")
    out("cmp rcx, 32")
    out(f"ja {le64}")
    out("movups xmmword ptr [rdi], xmm14")
    out("movups xmmword ptr [rdi + rcx - 16], xmm14")
    out(f"jmp {done}")
    em.place(le64)
    out("cmp rcx, 64")
    out(f"ja {rep}")
    out("movups xmmword ptr [rdi], xmm14")
    out("movups xmmword ptr [rdi + 16], xmm14")
    out("movups xmmword ptr [rdi + rcx - 32], xmm14")
    out("movups xmmword ptr [rdi + rcx - 16], xmm14")
    out(f"jmp {done}")
    em.place(rep)
    out("rep stosb")
    em.place(done)
