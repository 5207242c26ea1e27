"""memory.copy, memory.fill, memory.init, table.copy and table.fill in machine code (no runtime-helper call): the bounds of every
range checked against its memory's current length first (MEMORY_OUT_OF_BOUNDS before any byte
moves, as the spec and runtime.libcalls say), then a loop over absolute addresses, 8 bytes at a
time once source and destination are 8-byte aligned (misaligned accesses may trap on
hardware; addresses not congruent modulo 8 go byte by byte). A copy whose destination overlaps its source from above
runs backward, so overlapping copies behave as memmove. Instruction-selection rules of
riscv64.isel.Lowering; emit.py expands the two pseudo operations with t5/t6 (the emitter's
temporaries, never allocated)."""

from __future__ import annotations

from engine.errors import TrapCode
from engine.ir.ir import Inst

from engine.environ import vmctx as V

from ..mir import Imm, Mem
from .target import A

A0, A1, A2 = A[0], A[1], A[2]
#: what ``@memmove`` (a0 <- dst, a1 <- src, a2 <- n) and ``@memfill`` (a0, a1, a2) change
CLOBBERS = frozenset({A0, A1, A2})


def _args(lw, d: int, b: int, n: int, zext_b: bool = True) -> None:
    """a0, a1, a2 <- IR values d, b, n: i32 addresses and lengths zero-extended (b as it
    is when it is a fill's value)."""
    lw.mov(A0, lw.zext(d))
    lw.mov(A1, lw.zext(b) if zext_b else lw.vreg(b))
    lw.mov(A2, lw.zext(n))


def _check(lw, start: int, memory: int, length_at: int | None = None) -> None:
    """Trap unless start + a2 <= the memory's length, or the length in the vmctx field at
    `length_at` (no overflow: both are below 2**32)."""
    t, n = lw.tmp(), lw.tmp()
    lw.op3("add", t, start, A2)
    at = lw.info.offsets.memory_length(memory) if length_at is None else length_at
    lw.load("ld", n, lw.vm(at))
    lw.branch_trap("bltu", n, t, TrapCode.MEMORY_OUT_OF_BOUNDS)


def _absolute(lw, reg: int, memory: int) -> None:
    lw.op3("add", reg, reg, lw.heap_base(memory))


def memory_copy(lw, inst: Inst) -> None:
    d, s, n = inst.args
    _args(lw, d, s, n)
    _check(lw, A0, inst.imm.dst)
    _check(lw, A1, inst.imm.src)
    _absolute(lw, A0, inst.imm.dst)
    _absolute(lw, A1, inst.imm.src)
    lw.ins("@memmove", uses=[A0, A1, A2], clobbers=CLOBBERS)


def memory_init(lw, inst: Inst) -> None:
    """memory.init: the segment's bytes (vmctx.data_segment: the store's copy, length 0 once
    dropped) into the memory, both ranges checked first."""
    d, s, n = inst.args
    imm = inst.imm
    seg = lw.info.offsets.data_segment(imm.segment)
    _args(lw, d, s, n)
    _check(lw, A0, imm.target)
    _check(lw, A1, 0, length_at=seg + 8)
    _absolute(lw, A0, imm.target)
    t = lw.tmp()
    lw.load("ld", t, lw.vm(seg))
    lw.op3("add", A1, A1, t)
    lw.ins("@memmove", uses=[A0, A1, A2], clobbers=CLOBBERS)


def _table_range(lw, reg: int, table: int) -> None:
    """Trap TABLE_OUT_OF_BOUNDS unless reg + a2 <= the table's length (entries); then reg
    becomes the address of entry reg (8 bytes each)."""
    tdef = lw.table_def(table)
    t, n, base = lw.tmp(), lw.tmp(), lw.tmp()
    lw.op3("add", t, reg, A2)
    lw.load("ld", n, Mem(tdef, V.TABLEDEF_LENGTH))
    lw.branch_trap("bltu", n, t, TrapCode.TABLE_OUT_OF_BOUNDS)
    lw.load("ld", base, Mem(tdef, V.TABLEDEF_BASE))
    lw.op2("slli", reg, reg, Imm(3))
    lw.op3("add", reg, reg, base)


def table_copy(lw, inst: Inst) -> None:
    """table.copy: both ranges checked, then the entries' words moved as memory.copy moves
    bytes (overlap handled)."""
    d, s, n = inst.args
    _args(lw, d, s, n)
    _table_range(lw, A0, inst.imm.dst)
    _table_range(lw, A1, inst.imm.src)
    lw.op2("slli", A2, A2, Imm(3))
    lw.ins("@memmove", uses=[A0, A1, A2], clobbers=CLOBBERS)


def table_fill(lw, inst: Inst) -> None:
    """table.fill: the range checked, then the reference's word stored n times."""
    d, v, n = inst.args
    _args(lw, d, v, n, zext_b=False)
    _table_range(lw, A0, inst.imm)
    lw.ins("@wordfill", uses=[A0, A1, A2], clobbers=CLOBBERS)


def p_wordfill(em) -> None:
    """``@wordfill``: a2 8-byte words of a1 from a0 (8-byte aligned: table entries)."""
    loop, done = em.label(), em.label()
    em.out(f"beqz a2, {done}")
    em.place(loop)
    em.out("sd a1, 0(a0)")
    em.out("addi a0, a0, 8")
    em.out("addi a2, a2, -1")
    em.out(f"bnez a2, {loop}")
    em.place(done)


def memory_fill(lw, inst: Inst) -> None:
    d, v, n = inst.args
    _args(lw, d, v, n, zext_b=False)
    _check(lw, A0, inst.imm)
    _absolute(lw, A0, inst.imm)
    lw.ins("@memfill", uses=[A0, A1, A2], clobbers=CLOBBERS)


def p_memmove(em) -> None:
    """Forward unless dst lies inside (src, src + n). When dst and src are congruent modulo 8,
    single bytes until they are aligned, then 8-byte steps (each reads its bytes before it
    writes any the next step reads), then single bytes; otherwise byte by byte."""
    fwd, fhead, f8, f1, bhead, b8, b1, done = (em.label() for _ in range(8))
    out = em.out
    out(f"bgeu a1, a0, {fwd}")          # dst <= src
    out("add t6, a1, a2")
    out(f"bgeu a0, t6, {fwd}")          # dst >= src + n
    # backward: a2 counts down; the ends a0 + a2 and a1 + a2 move together
    out("xor t5, a0, a1")
    out("andi t5, t5, 7")
    out(f"bnez t5, {b1}")
    em.place(bhead)
    out(f"beqz a2, {done}")
    out("add t5, a0, a2")
    out("andi t5, t5, 7")
    out(f"beqz t5, {b8}")
    _back_byte(out)
    out(f"j {bhead}")
    em.place(b8)
    out("li t5, 8")
    out(f"bltu a2, t5, {b1}")
    out("addi a2, a2, -8")
    out("add t5, a1, a2")
    out("ld t6, 0(t5)")
    out("add t5, a0, a2")
    out("sd t6, 0(t5)")
    out(f"j {b8}")
    em.place(b1)
    out(f"beqz a2, {done}")
    _back_byte(out)
    out(f"j {b1}")
    em.place(fwd)
    out("xor t5, a0, a1")
    out("andi t5, t5, 7")
    out(f"bnez t5, {f1}")
    em.place(fhead)
    out(f"beqz a2, {done}")
    out("andi t5, a0, 7")
    out(f"beqz t5, {f8}")
    _fwd_byte(out)
    out(f"j {fhead}")
    em.place(f8)
    out("li t5, 8")
    out(f"bltu a2, t5, {f1}")
    out("ld t6, 0(a1)")
    out("sd t6, 0(a0)")
    out("addi a1, a1, 8")
    out("addi a0, a0, 8")
    out("addi a2, a2, -8")
    out(f"j {f8}")
    em.place(f1)
    out(f"beqz a2, {done}")
    _fwd_byte(out)
    out(f"j {f1}")
    em.place(done)


def _back_byte(out) -> None:
    out("addi a2, a2, -1")
    out("add t5, a1, a2")
    out("lbu t6, 0(t5)")
    out("add t5, a0, a2")
    out("sb t6, 0(t5)")


def _fwd_byte(out) -> None:
    out("lbu t6, 0(a1)")
    out("sb t6, 0(a0)")
    out("addi a1, a1, 1")
    out("addi a0, a0, 1")
    out("addi a2, a2, -1")


def p_memfill(em) -> None:
    """Single bytes until dst is 8-byte aligned, then the byte repeated 8 at a time, then the
    rest."""
    head, wide, w8, tail, done = (em.label() for _ in range(5))
    out = em.out
    out("andi a1, a1, 255")
    em.place(head)
    out(f"beqz a2, {done}")
    out("andi t5, a0, 7")
    out(f"beqz t5, {wide}")
    _fill_byte(out)
    out(f"j {head}")
    em.place(wide)
    out("slli t6, a1, 8")
    out("or t6, t6, a1")
    out("slli t5, t6, 16")
    out("or t6, t6, t5")
    out("slli t5, t6, 32")
    out("or t6, t6, t5")
    em.place(w8)
    out("li t5, 8")
    out(f"bltu a2, t5, {tail}")
    out("sd t6, 0(a0)")
    out("addi a0, a0, 8")
    out("addi a2, a2, -8")
    out(f"j {w8}")
    em.place(tail)
    out(f"beqz a2, {done}")
    _fill_byte(out)
    out(f"j {tail}")
    em.place(done)


def _fill_byte(out) -> None:
    out("sb a1, 0(a0)")
    out("addi a0, a0, 1")
    out("addi a2, a2, -1")
