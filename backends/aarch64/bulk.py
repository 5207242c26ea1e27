"""memory.copy, memory.fill, memory.init, table.copy and table.fill in machine code (no runtime-helper call): the bounds of every
range checked against its memory's current length first (MEMORY_OUT_OF_BOUNDS before any byte
moves, as the spec and runtime.libcalls say), then a loop over absolute addresses, 8 bytes at a
time and the rest byte by byte. A copy whose destination overlaps its source from above runs
backward, so overlapping copies behave as memmove. Instruction-selection rules of
aarch64.isel.Lowering; emit.py expands the two pseudo operations with x16/x17 (never
allocated) as temporaries."""

from __future__ import annotations

from engine.errors import TrapCode
from engine.ir.ir import Inst, Opcode

from engine.environ import vmctx as V

from ..mir import Imm, Mem, Reg

X0, X1, X2 = 0, 1, 2
#: what ``@memmove`` (x0 <- dst, x1 <- src, x2 <- n) and ``@memfill`` (x0, w1, x2) change
CLOBBERS = frozenset({X0, X1, X2})


def _args(lw, pairs: list[tuple[int, int]]) -> None:
    # i32 values have the upper halves of their x registers zero (the backend's invariant)
    for reg, v in pairs:
        lw.mov(Reg(reg), lw.R(v, 64))


def _check(lw, start: int, memory: int, length_at: int | None = None) -> None:
    """Trap unless start + x2 <= the memory's length, or the length in the vmctx field at
    `length_at` (no overflow: both are below 2**32)."""
    t, n = lw.tmp(), lw.tmp()
    lw.ins("add", Reg(t), Reg(start), Reg(X2), defs=[t], uses=[start, X2])
    at = lw.info.offsets.memory_length(memory) if length_at is None else length_at
    lw.ins("ldr", Reg(n), lw.vm(at), defs=[n])
    lw.ins("cmp", Reg(t), Reg(n), uses=[t, n])
    lw.bcc_trap("hi", TrapCode.MEMORY_OUT_OF_BOUNDS)


def _absolute(lw, reg: int, memory: int) -> None:
    base = lw.heap_base(memory)
    lw.ins("add", Reg(reg), Reg(reg), Reg(base), defs=[reg], uses=[reg, base])


def memory_copy(lw, inst: Inst) -> None:
    d, s, n = inst.args
    _args(lw, [(X0, d), (X1, s), (X2, n)])
    _check(lw, X0, inst.imm.dst)
    _check(lw, X1, inst.imm.src)
    _absolute(lw, X0, inst.imm.dst)
    _absolute(lw, X1, inst.imm.src)
    lw.ins("@memmove", uses=[X0, X1, X2], clobbers=CLOBBERS)


def memory_init(lw, inst: Inst) -> None:
    """memory.init: the segment's bytes (vmctx.data_segment: the store's copy, length 0 once
    dropped) into the memory, both ranges checked first."""
    d, s, n = inst.args
    imm = inst.imm
    seg = lw.info.offsets.data_segment(imm.segment)
    _args(lw, [(X0, d), (X1, s), (X2, n)])
    _check(lw, X0, imm.target)
    _check(lw, X1, 0, length_at=seg + 8)
    _absolute(lw, X0, imm.target)
    t = lw.tmp()
    lw.ins("ldr", Reg(t), lw.vm(seg), defs=[t])
    lw.ins("add", Reg(X1), Reg(X1), Reg(t), defs=[X1], uses=[X1, t])
    lw.ins("@memmove", uses=[X0, X1, X2], clobbers=CLOBBERS)


def _table_range(lw, reg: int, table: int) -> None:
    """Trap TABLE_OUT_OF_BOUNDS unless reg + x2 <= the table's length (entries); then reg
    becomes the address of entry reg (8 bytes each)."""
    tdef = lw.table_def(table)
    t, n, base = lw.tmp(), lw.tmp(), lw.tmp()
    lw.ins("add", Reg(t), Reg(reg), Reg(X2), defs=[t], uses=[reg, X2])
    lw.ins("ldr", Reg(n), Mem(tdef, V.TABLEDEF_LENGTH, 64), defs=[n], uses=[tdef])
    lw.ins("cmp", Reg(t), Reg(n), uses=[t, n])
    lw.bcc_trap("hi", TrapCode.TABLE_OUT_OF_BOUNDS)
    lw.ins("ldr", Reg(base), Mem(tdef, V.TABLEDEF_BASE, 64), defs=[base], uses=[tdef])
    lw.ins("lsl", Reg(reg), Reg(reg), Imm(3), defs=[reg], uses=[reg])
    lw.ins("add", Reg(reg), Reg(reg), Reg(base), defs=[reg], uses=[reg, base])


def table_copy(lw, inst: Inst) -> None:
    """table.copy: both ranges checked, then the entries' words moved as memory.copy moves
    bytes (overlap handled)."""
    d, s, n = inst.args
    _args(lw, [(X0, d), (X1, s), (X2, n)])
    _table_range(lw, X0, inst.imm.dst)
    _table_range(lw, X1, inst.imm.src)
    lw.ins("lsl", Reg(X2), Reg(X2), Imm(3), defs=[X2], uses=[X2])
    lw.ins("@memmove", uses=[X0, X1, X2], clobbers=CLOBBERS)


def table_fill(lw, inst: Inst) -> None:
    """table.fill: the range checked, then the reference's word stored n times."""
    d, v, n = inst.args
    _args(lw, [(X0, d), (X1, v), (X2, n)])
    _table_range(lw, X0, inst.imm)
    lw.ins("@wordfill", uses=[X0, X1, X2], clobbers=CLOBBERS)


def p_wordfill(em) -> None:
    """``@wordfill``: x2 8-byte words of x1 from x0."""
    loop, done = em.label(), em.label()
    em.out(f"cbz x2, {done}")
    em.place(loop)
    em.out("str x1, [x0], #8")
    em.out("subs x2, x2, #1")
    em.out(f"b.ne {loop}")
    em.place(done)


def memory_fill(lw, inst: Inst) -> None:
    d, v, n = inst.args
    _args(lw, [(X0, d), (X1, v), (X2, n)])
    _check(lw, X0, inst.imm)
    _absolute(lw, X0, inst.imm)
    lw.ins("@memfill", uses=[X0, X1, X2], clobbers=CLOBBERS)


def p_memmove(em) -> None:
    """Forward unless dst lies inside (src, src + n); 8-byte steps are safe in the chosen
    direction (each step reads its bytes before it writes any the next step reads)."""
    fwd, f8, f1, back, b1, done = (em.label() for _ in range(6))
    out = em.out
    out("cmp x0, x1")
    out(f"b.ls {fwd}")
    out("add x16, x1, x2")
    out("cmp x0, x16")
    out(f"b.hs {fwd}")
    em.place(back)                      # backward: x2 counts down from the end
    out("cmp x2, #8")
    out(f"b.lo {b1}")
    out("sub x2, x2, #8")
    out("ldr x16, [x1, x2]")
    out("str x16, [x0, x2]")
    out(f"b {back}")
    em.place(b1)
    out(f"cbz x2, {done}")
    out("sub x2, x2, #1")
    out("ldrb w16, [x1, x2]")
    out("strb w16, [x0, x2]")
    out(f"b {b1}")
    em.place(fwd)
    out("cmp x2, #8")
    out(f"b.lo {f1}")
    em.place(f8)
    out("ldr x16, [x1], #8")
    out("str x16, [x0], #8")
    out("sub x2, x2, #8")
    out("cmp x2, #8")
    out(f"b.hs {f8}")
    em.place(f1)
    out(f"cbz x2, {done}")
    out("ldrb w16, [x1], #1")
    out("strb w16, [x0], #1")
    out("sub x2, x2, #1")
    out(f"b {f1}")
    em.place(done)


def p_memfill(em) -> None:
    """The byte (low 8 bits of w1) repeated in x16, stored 8 bytes at a time, then the rest."""
    f8, f1, done = (em.label() for _ in range(3))
    out = em.out
    out("and x16, x1, #0xff")
    out("orr x16, x16, x16, lsl #8")
    out("orr x16, x16, x16, lsl #16")
    out("orr x16, x16, x16, lsl #32")
    out("cmp x2, #8")
    out(f"b.lo {f1}")
    em.place(f8)
    out("str x16, [x0], #8")
    out("sub x2, x2, #8")
    out("cmp x2, #8")
    out(f"b.hs {f8}")
    em.place(f1)
    out(f"cbz x2, {done}")
    out("strb w16, [x0], #1")
    out("sub x2, x2, #1")
    out(f"b {f1}")
    em.place(done)
