"""x86_64 instruction selection for the IR's SIMD opcodes (engine/ir/README.md, "SIMD"), on
SSE4.1 (with SSSE3 and SSE2 below it): no AVX, so the code runs under Unicorn as natively.

Every rule takes the Lowering and the instruction. Two-address SSE forms copy the first
operand into the fresh result register first (``d = a; op d, b``). Where x86 differs from
wasm the rule says how it is made exact: float min/max (NaN and -0), pmin/pmax operand order,
trunc_sat (NaN and overflow lanes), unsigned compares (through pmin/pmax), i64x2 compares and
shifts (no pcmpgtq / psraq below SSE4.2 / AVX-512), i8x16 shifts (through 16-bit shifts and a
mask), shift counts modulo the lane width, swizzle indices >= 16, q15mulr's one overflow,
i8x16.popcnt (nibble table lookup). Constants other than 0 and all ones are 16-byte entries
of the function's constant pool (`VConst` operands, RIP-relative, placed after its code by
emit.py), used straight from memory where an SSE instruction can take them.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

from engine.ir.ir import V128, Inst, Opcode
from engine.ir.simd import ACCESS_SIZE, SIMD_LOADS

from ..base import RegClass
from ..mir import Imm, Mem, Reg
from .target import HEAP, RSP, VMCTX

O = Opcode
_VEC, _INT = RegClass.VECTOR, RegClass.INT


class VConst(NamedTuple):
    """A 128-bit constant of the function's pool as a memory operand (16-byte aligned)."""

    value: int


def _splat_bits(x: int, bits: int) -> int:
    out = 0
    for i in range(0, 128, bits):
        out |= x << i
    return out


# -- primitives -------------------------------------------------------------------------------

def vt(lw) -> Reg:
    """A fresh vector temporary."""
    return Reg(lw.tmp(_VEC), 128)


def it(lw, bits: int = 64) -> Reg:
    """A fresh integer temporary of `bits` width."""
    return Reg(lw.tmp(_INT), bits)


def op2(lw, op: str, d: Reg, s, *imm: int) -> None:
    """`op d, s[, imm]` reading and writing d (`s` an int: the immediate form `op d, s`;
    a VConst: the pool entry as the memory operand)."""
    if type(s) is int:
        lw.ins(op, d, Imm(s), defs=[d.reg], uses=[d.reg])
        return
    if type(s) is VConst:
        lw.ins(op, d, s, *(Imm(i) for i in imm), defs=[d.reg], uses=[d.reg])
        return
    lw.ins(op, d, s, *(Imm(i) for i in imm), defs=[d.reg], uses=[d.reg, *_src_regs(s)])


def op1(lw, op: str, d: Reg, s, *imm: int) -> None:
    """`op d, s[, imm]` writing d from s alone."""
    lw.ins(op, d, s, *(Imm(i) for i in imm), defs=[d.reg], uses=_src_regs(s))


def _src_regs(s) -> list[int]:
    if type(s) is Reg:
        return [s.reg]
    if type(s) is VConst:
        return []
    return _mem_regs(s)


def _mem_regs(m: Mem) -> list[int]:
    """The allocatable registers a memory operand reads (not the pinned heap, vmctx, rsp)."""
    return [r for r in (m.base, m.index) if r is not None and r not in (HEAP, VMCTX, RSP)]


def copy(lw, s: Reg) -> Reg:
    """A fresh vector register holding s."""
    d = vt(lw)
    lw.mov(d, s)
    return d


def zero(lw) -> Reg:
    d = vt(lw)
    lw.ins("pxor", d, d, defs=[d.reg])
    return d


def ones(lw) -> Reg:
    d = vt(lw)
    lw.ins("pcmpeqd", d, d, defs=[d.reg])
    return d


def const(lw, value: int, d: Reg | None = None) -> Reg:
    """A vector register holding the 128-bit `value`."""
    d = d or vt(lw)
    if value == 0:
        lw.ins("pxor", d, d, defs=[d.reg])
    elif value == (1 << 128) - 1:
        lw.ins("pcmpeqd", d, d, defs=[d.reg])
    else:
        op1(lw, "movdqa", d, VConst(value))
    return d


def splat_const(lw, x: int, bits: int) -> VConst:
    """The pool entry with `x` in every `bits`-wide lane (an operand of op2)."""
    return VConst(_splat_bits(x & ((1 << bits) - 1), bits))


def plan(lw) -> None:
    """Before lowering: v128 constants become constants of the lowering (as iconst), made at
    each use (one load from the pool, or pxor / pcmpeqd) or used as a memory operand, so they
    never hold a register across code."""
    if V128 not in lw.f.value_types:
        return
    consts = lw.consts
    for v, inst in lw.defs.items():
        if inst.opcode is O.V128_CONST:
            consts[v] = inst.imm


def operand(lw, v: int):
    """The second operand of an SSE instruction for IR value v: a pool entry for a
    constant, else its register."""
    c = lw.consts.get(v)
    if c is not None and lw.ty(v) is V128:
        return VConst(c)
    return lw.R(v)


def bin_rule(op: str, commutative: bool = False) -> Callable:
    def rule(lw, inst: Inst) -> None:
        a, b = inst.args
        if commutative and a in lw.consts and b not in lw.consts:
            a, b = b, a
        d = lw.D(inst.results[0])
        sb = operand(lw, b)
        lw.mov(d, lw.R(a))
        op2(lw, op, d, sb)
    return rule


def swapped_rule(op: str) -> Callable:
    """d = b; op d, a (x86's operand order reversed)."""
    def rule(lw, inst: Inst) -> None:
        a, b = inst.args
        d = lw.D(inst.results[0])
        ra = lw.R(a)
        lw.mov(d, lw.R(b))
        op2(lw, op, d, ra)
    return rule


def un_rule(op: str, *imm: int) -> Callable:
    """d = op(a) in one instruction that writes d from a."""
    def rule(lw, inst: Inst) -> None:
        op1(lw, op, lw.D(inst.results[0]), lw.R(inst.args[0]), *imm)
    return rule


def _result(lw, inst: Inst, value: Reg) -> None:
    lw.mov(lw.D(inst.results[0]), value)


# -- constants, memory ------------------------------------------------------------------------

def r_const(lw, inst: Inst) -> None:
    """Nothing in place: the value is made at each use (see plan)."""


_EXTEND_LOADS = {O.V128_LOAD8X8_S: "pmovsxbw", O.V128_LOAD8X8_U: "pmovzxbw",
                 O.V128_LOAD16X4_S: "pmovsxwd", O.V128_LOAD16X4_U: "pmovzxwd",
                 O.V128_LOAD32X2_S: "pmovsxdq", O.V128_LOAD32X2_U: "pmovzxdq"}
_LANE_INSERT = {8: "pinsrb", 16: "pinsrw", 32: "pinsrd", 64: "pinsrq"}
_LANE_EXTRACT = {8: "pextrb", 16: "pextrw", 32: "pextrd", 64: "pextrq"}


def r_load(lw, inst: Inst) -> None:
    op = inst.opcode
    size = ACCESS_SIZE[op]
    m = lw.address(inst.imm, inst.args[0], size * 8)
    d = lw.D(inst.results[0])
    if op is O.V128_LOAD:
        op1(lw, "movdqu", d, m)
    elif op in _EXTEND_LOADS:
        op1(lw, _EXTEND_LOADS[op], d, m)
    elif op is O.V128_LOAD32_ZERO:
        op1(lw, "movd", d, m)
    elif op is O.V128_LOAD64_ZERO:
        op1(lw, "movq", d, m)
    elif op is O.V128_LOAD8_SPLAT:
        t = it(lw, 32)
        lw.ins("movzx", t, m, defs=[t.reg], uses=_mem_regs(m))
        _splat_from_gpr(lw, d, t, 8)
    elif op is O.V128_LOAD16_SPLAT:
        t = it(lw, 32)
        lw.ins("movzx", t, m, defs=[t.reg], uses=_mem_regs(m))
        _splat_from_gpr(lw, d, t, 16)
    elif op is O.V128_LOAD32_SPLAT:
        op1(lw, "movd", d, m)
        op1(lw, "pshufd", d, d, 0)
    elif op is O.V128_LOAD64_SPLAT:
        op1(lw, "movq", d, m)
        op2(lw, "punpcklqdq", d, d)
    else:                                   # v128.loadN_lane
        lw.mov(d, lw.R(inst.args[1]))
        op2(lw, _LANE_INSERT[size * 8], d, m, inst.imm.lane)


def r_store(lw, inst: Inst) -> None:
    op = inst.opcode
    size = ACCESS_SIZE[op]
    v = lw.R(inst.args[1])
    m = lw.address(inst.imm, inst.args[0], size * 8)
    if op is O.V128_STORE:
        lw.ins("movdqu", m, v, uses=[*_mem_regs(m), v.reg])
    elif size == 8 and inst.imm.lane == 0:
        lw.ins("movq", m, v, uses=[*_mem_regs(m), v.reg])
    else:
        lw.ins(_LANE_EXTRACT[size * 8], m, v, Imm(inst.imm.lane), uses=[*_mem_regs(m), v.reg])


# -- splats and lanes --------------------------------------------------------------------------

def _splat_from_gpr(lw, d: Reg, g: Reg, bits: int) -> None:
    """d = the low `bits` of general register g in every lane."""
    if bits == 64:
        op1(lw, "movq", d, Reg(g.reg, 64))
        op2(lw, "punpcklqdq", d, d)
        return
    op1(lw, "movd", d, Reg(g.reg, 32))
    if bits == 8:
        z = zero(lw)
        op2(lw, "pshufb", d, z)
    elif bits == 16:
        op1(lw, "pshuflw", d, d, 0)
        op1(lw, "pshufd", d, d, 0)
    else:
        op1(lw, "pshufd", d, d, 0)


def splat_rule(bits: int, is_float: bool) -> Callable:
    def rule(lw, inst: Inst) -> None:
        d = lw.D(inst.results[0])
        a = lw.R(inst.args[0])
        if not is_float:
            _splat_from_gpr(lw, d, a, bits)
        elif bits == 32:
            op1(lw, "pshufd", d, Reg(a.reg, 128), 0)
        else:
            op1(lw, "movddup", d, Reg(a.reg, 128))
    return rule


def extract_rule(bits: int, signed: bool, is_float: bool) -> Callable:
    def rule(lw, inst: Inst) -> None:
        v = lw.R(inst.args[0])
        lane = inst.imm
        d = lw.D(inst.results[0])
        if is_float:
            dv = Reg(d.reg, 128)
            if lane == 0:
                lw.mov(dv, v)
            elif bits == 32:
                op1(lw, "pshufd", dv, v, lane)
            else:
                op1(lw, "pshufd", dv, v, 0xEE)
            return
        if bits == 64:
            if lane == 0:
                op1(lw, "movq", Reg(d.reg, 64), v)
            else:
                op1(lw, "pextrq", Reg(d.reg, 64), v, lane)
            return
        if bits == 32 and lane == 0:
            op1(lw, "movd", Reg(d.reg, 32), v)
            return
        op1(lw, _LANE_EXTRACT[bits], Reg(d.reg, 32), v, lane)
        if signed:
            lw.ins("movsx", Reg(d.reg, 32), Reg(d.reg, bits), defs=[d.reg], uses=[d.reg])
    return rule


def replace_rule(bits: int, is_float: bool) -> Callable:
    def rule(lw, inst: Inst) -> None:
        v, x = inst.args
        lane = inst.imm
        d = lw.D(inst.results[0])
        rx = lw.R(x)
        lw.mov(d, lw.R(v))
        if not is_float:
            op2(lw, _LANE_INSERT[bits], d, Reg(rx.reg, 64 if bits == 64 else 32), lane)
        elif bits == 32:
            op2(lw, "insertps", d, Reg(rx.reg, 128), lane << 4)
        elif lane == 0:
            op2(lw, "movsd", d, Reg(rx.reg, 128))
        else:
            op2(lw, "unpcklpd", d, Reg(rx.reg, 128))
    return rule


def r_shuffle(lw, inst: Inst) -> None:
    a, b = inst.args
    mask = inst.imm
    d = lw.D(inst.results[0])
    from_a = [i if i < 16 else 0x80 for i in mask]
    from_b = [i - 16 if i >= 16 else 0x80 for i in mask]
    ra, rb = lw.R(a), lw.R(b)
    if all(i == 0x80 for i in from_b) or a == b:
        idx = [i & 15 for i in mask] if a == b else from_a
        lw.mov(d, ra)
        op2(lw, "pshufb", d, VConst(int.from_bytes(bytes(idx), "little")))
        return
    if all(i == 0x80 for i in from_a):
        lw.mov(d, rb)
        op2(lw, "pshufb", d, VConst(int.from_bytes(bytes(from_b), "little")))
        return
    ma = VConst(int.from_bytes(bytes(from_a), "little"))
    mb = VConst(int.from_bytes(bytes(from_b), "little"))
    t = copy(lw, rb)
    op2(lw, "pshufb", t, mb)
    lw.mov(d, ra)
    op2(lw, "pshufb", d, ma)
    op2(lw, "por", d, t)


def r_swizzle(lw, inst: Inst) -> None:
    a, s = inst.args
    d = lw.D(inst.results[0])
    # indices >= 16 must select 0: a saturating add of 0x70 sets their top bit (pshufb's
    # "zero" flag) and keeps the low four bits of the others
    t = copy(lw, lw.R(s))
    op2(lw, "paddusb", t, splat_const(lw, 0x70, 8))
    lw.mov(d, lw.R(a))
    op2(lw, "pshufb", d, t)


# -- bitwise and reductions --------------------------------------------------------------------

def r_not(lw, inst: Inst) -> None:
    d = lw.D(inst.results[0])
    m = ones(lw)
    lw.mov(d, lw.R(inst.args[0]))
    op2(lw, "pxor", d, m)


def r_bitselect(lw, inst: Inst) -> None:
    a, b, c = inst.args
    d = lw.D(inst.results[0])
    rb, rc = lw.R(b), lw.R(c)
    lw.mov(d, lw.R(a))                  # ((a ^ b) & c) ^ b
    op2(lw, "pxor", d, rb)
    op2(lw, "pand", d, rc)
    op2(lw, "pxor", d, rb)


def _setcc(lw, inst: Inst, cc: str) -> None:
    d = lw.D(inst.results[0])
    lw.setcc(d, cc)


def r_any_true(lw, inst: Inst) -> None:
    v = lw.R(inst.args[0])
    lw.ins("ptest", v, v, uses=[v.reg])
    _setcc(lw, inst, "ne")


_PCMPEQ = {8: "pcmpeqb", 16: "pcmpeqw", 32: "pcmpeqd", 64: "pcmpeqq"}


def all_true_rule(bits: int) -> Callable:
    def rule(lw, inst: Inst) -> None:
        z = zero(lw)
        op2(lw, _PCMPEQ[bits], z, lw.R(inst.args[0]))     # all ones in the zero lanes
        lw.ins("ptest", z, z, uses=[z.reg])
        _setcc(lw, inst, "e")
    return rule


def bitmask_rule(bits: int) -> Callable:
    def rule(lw, inst: Inst) -> None:
        v = lw.R(inst.args[0])
        d = lw.D(inst.results[0])
        d32 = Reg(d.reg, 32)
        if bits == 8:
            op1(lw, "pmovmskb", d32, v)
        elif bits == 16:
            t = copy(lw, v)
            op2(lw, "packsswb", t, t)
            op1(lw, "pmovmskb", d32, t)
            lw.ins("movzx", d32, Reg(d.reg, 8), defs=[d.reg], uses=[d.reg])
        else:
            op1(lw, "movmskps" if bits == 32 else "movmskpd", d32, v)
    return rule


# -- integer compares --------------------------------------------------------------------------

_PCMPGT = {8: "pcmpgtb", 16: "pcmpgtw", 32: "pcmpgtd"}
_PMINU = {8: "pminub", 16: "pminuw", 32: "pminud"}
_PMAXU = {8: "pmaxub", 16: "pmaxuw", 32: "pmaxud"}


def _gt_s(lw, a: Reg, b: Reg, bits: int) -> Reg:
    """A register with each lane all ones where a > b (signed)."""
    if bits != 64:
        d = copy(lw, a)
        op2(lw, _PCMPGT[bits], d, b)
        return d
    # b - a is negative without overflow, or overflowed from a negative b - a:
    # sign of (b - a) ^ ((b ^ a) & ((b - a) ^ b)), spread over the lane
    t = copy(lw, b)
    op2(lw, "psubq", t, a)              # t = b - a
    x = copy(lw, b)
    op2(lw, "pxor", x, a)               # x = b ^ a
    y = copy(lw, t)
    op2(lw, "pxor", y, b)               # y = (b - a) ^ b
    op2(lw, "pand", x, y)
    op2(lw, "pxor", t, x)
    op2(lw, "psrad", t, 31)
    op1(lw, "pshufd", t, t, 0xF5)
    return t


def _invert(lw, r: Reg) -> Reg:
    op2(lw, "pxor", r, ones(lw))
    return r


def icmp_rule(bits: int, cc: str) -> Callable:
    def rule(lw, inst: Inst) -> None:
        a, b = lw.R(inst.args[0]), lw.R(inst.args[1])
        if cc in ("eq", "ne"):
            r = copy(lw, a)
            op2(lw, _PCMPEQ[bits], r, b)
            if cc == "ne":
                _invert(lw, r)
        elif cc in ("gt_s", "lt_s", "le_s", "ge_s"):
            x, y = (a, b) if cc in ("gt_s", "le_s") else (b, a)
            r = _gt_s(lw, x, y, bits)
            if cc in ("le_s", "ge_s"):
                _invert(lw, r)
        else:
            # unsigned: a >= b iff max_u(a, b) == a; a <= b iff min_u(a, b) == a
            use_max = cc in ("ge_u", "lt_u")
            r = copy(lw, a)
            op2(lw, (_PMAXU if use_max else _PMINU)[bits], r, b)
            op2(lw, _PCMPEQ[bits], r, a)
            if cc in ("lt_u", "gt_u"):
                _invert(lw, r)
        _result(lw, inst, r)
    return rule


_FCMP = {"eq": (0, False), "ne": (4, False), "lt": (1, False), "le": (2, False),
         "gt": (1, True), "ge": (2, True)}


def fcmp_rule(sfx: str, cc: str) -> Callable:
    pred, swap = _FCMP[cc]

    def rule(lw, inst: Inst) -> None:
        a, b = inst.args
        if swap:
            a, b = b, a
        d = lw.D(inst.results[0])
        rb = lw.R(b)
        lw.mov(d, lw.R(a))
        op2(lw, "cmp" + sfx, d, rb, pred)
    return rule


# -- integer arithmetic ------------------------------------------------------------------------

def neg_rule(bits: int) -> Callable:
    sub = {8: "psubb", 16: "psubw", 32: "psubd", 64: "psubq"}[bits]

    def rule(lw, inst: Inst) -> None:
        a = lw.R(inst.args[0])
        d = lw.D(inst.results[0])
        lw.ins("pxor", d, d, defs=[d.reg])
        op2(lw, sub, d, a)
    return rule


def r_i64x2_abs(lw, inst: Inst) -> None:
    a = lw.R(inst.args[0])
    s = copy(lw, a)
    op2(lw, "psrad", s, 31)
    op1(lw, "pshufd", s, s, 0xF5)       # the sign of each lane, spread
    d = lw.D(inst.results[0])
    lw.mov(d, a)
    op2(lw, "pxor", d, s)
    op2(lw, "psubq", d, s)


def r_i64x2_mul(lw, inst: Inst) -> None:
    a, b = lw.R(inst.args[0]), lw.R(inst.args[1])
    hi = copy(lw, a)
    op2(lw, "psrlq", hi, 32)
    op2(lw, "pmuludq", hi, b)           # hi(a) * lo(b)
    t = copy(lw, b)
    op2(lw, "psrlq", t, 32)
    op2(lw, "pmuludq", t, a)            # lo(a) * hi(b)
    op2(lw, "paddq", hi, t)
    op2(lw, "psllq", hi, 32)
    d = lw.D(inst.results[0])
    lw.mov(d, a)
    op2(lw, "pmuludq", d, b)            # lo(a) * lo(b)
    op2(lw, "paddq", d, hi)


def r_popcnt(lw, inst: Inst) -> None:
    a = lw.R(inst.args[0])
    table = int.from_bytes(bytes(bin(i).count("1") for i in range(16)), "little")
    m = splat_const(lw, 0x0F, 8)
    lo = copy(lw, a)
    op2(lw, "pand", lo, m)
    hi = copy(lw, a)
    op2(lw, "psrlw", hi, 4)
    op2(lw, "pand", hi, m)
    d = lw.D(inst.results[0])
    const(lw, table, d)
    op2(lw, "pshufb", d, lo)
    t = const(lw, table)
    op2(lw, "pshufb", t, hi)
    op2(lw, "paddb", d, t)


def _count(lw, v: int, bits: int, plus: int = 0) -> Reg | int:
    """The shift count mod `bits`, plus `plus`: an int for a constant count (the immediate
    forms), else a vector register holding it in its low 64 bits."""
    c = lw.consts.get(v)
    if c is not None:
        return (c & (bits - 1)) + plus
    t = it(lw, 32)
    lw.mov(t, lw.R(v))
    lw.ins("and", t, Imm(bits - 1), defs=[t.reg], uses=[t.reg])
    if plus:
        lw.ins("add", t, Imm(plus), defs=[t.reg], uses=[t.reg])
    x = vt(lw)
    op1(lw, "movd", x, t)
    return x


_SHIFT_OPS = {("shl", 16): "psllw", ("shl", 32): "pslld", ("shl", 64): "psllq",
              ("shr_u", 16): "psrlw", ("shr_u", 32): "psrld", ("shr_u", 64): "psrlq",
              ("shr_s", 16): "psraw", ("shr_s", 32): "psrad"}


def shift_rule(bits: int, kind: str) -> Callable:
    def rule(lw, inst: Inst) -> None:
        a = lw.R(inst.args[0])
        d = lw.D(inst.results[0])
        if bits == 8:
            _shift8(lw, inst, kind, a, d)
            return
        n = _count(lw, inst.args[1], bits)
        if bits == 64 and kind == "shr_s":
            s = copy(lw, a)             # (a ^ sign) >> n ^ sign: arithmetic from logical
            op2(lw, "psrad", s, 31)
            op1(lw, "pshufd", s, s, 0xF5)
            lw.mov(d, a)
            op2(lw, "pxor", d, s)
            op2(lw, "psrlq", d, n)
            op2(lw, "pxor", d, s)
            return
        lw.mov(d, a)
        op2(lw, _SHIFT_OPS[(kind, bits)], d, n)
    return rule


def _shift8(lw, inst: Inst, kind: str, a: Reg, d: Reg) -> None:
    if kind == "shr_s":
        # each byte into the high half of a 16-bit lane, shifted by n + 8, packed back
        n = _count(lw, inst.args[1], 8, plus=8)
        lo = copy(lw, a)
        op2(lw, "punpcklbw", lo, a)
        op2(lw, "psraw", lo, n)
        hi = copy(lw, a)
        op2(lw, "punpckhbw", hi, a)
        op2(lw, "psraw", hi, n)
        op2(lw, "packsswb", lo, hi)
        lw.mov(d, lo)
        return
    n = _count(lw, inst.args[1], 8)
    if type(n) is int:
        lw.mov(d, a)
        op2(lw, "psllw" if kind == "shl" else "psrlw", d, n)
        mask = (0xFF << n) & 0xFF if kind == "shl" else 0xFF >> n
        op2(lw, "pand", d, splat_const(lw, mask, 8))
        return
    m = ones(lw)
    if kind == "shl":
        op2(lw, "psllw", m, n)          # low byte of each word: 0xff << n
        op2(lw, "pshufb", m, zero(lw))  # ... in every byte
        lw.mov(d, a)
        op2(lw, "psllw", d, n)
    else:
        op2(lw, "psrlw", m, n)
        op2(lw, "psrlw", m, 8)          # each word: 0xff >> n
        op2(lw, "packuswb", m, m)
        lw.mov(d, a)
        op2(lw, "psrlw", d, n)
    op2(lw, "pand", d, m)


def r_q15mulr(lw, inst: Inst) -> None:
    d = lw.D(inst.results[0])
    rb = lw.R(inst.args[1])
    lw.mov(d, lw.R(inst.args[0]))
    op2(lw, "pmulhrsw", d, rb)
    # only -32768 * -32768 overflows, to 0x8000: make it 0x7fff
    t = copy(lw, d)
    op2(lw, "pcmpeqw", t, splat_const(lw, 0x8000, 16))
    op2(lw, "pxor", d, t)


def _extend_op(to_bits: int, signed: bool) -> str:
    return {16: "pmov%sxbw", 32: "pmov%sxwd", 64: "pmov%sxdq"}[to_bits] % ("s" if signed else "z")


def extend_high(lw, d: Reg, a: Reg, to_bits: int, signed: bool) -> None:
    """d = the high half of a's lanes, each widened to `to_bits`: interleaved with zeros
    (unsigned), or with themselves and shifted down with the sign (signed 16 and 32 bits):
    one shuffle, where moving the half down first (pshufd) and extending it is two."""
    unpack = {16: "punpckhbw", 32: "punpckhwd", 64: "punpckhdq"}[to_bits]
    if not signed:
        lw.mov(d, a)
        op2(lw, unpack, d, zero(lw))
    elif to_bits < 64:
        lw.mov(d, a)
        op2(lw, unpack, d, d)
        op2(lw, "psraw" if to_bits == 16 else "psrad", d, to_bits // 2)
    else:                               # (no 64-bit arithmetic shift before AVX-512)
        t = vt(lw)
        op1(lw, "pshufd", t, a, 0xEE)
        op1(lw, _extend_op(to_bits, signed), d, t)


def extend_rule(to_bits: int, high: bool, signed: bool) -> Callable:
    op = _extend_op(to_bits, signed)

    def rule(lw, inst: Inst) -> None:
        a = lw.R(inst.args[0])
        d = lw.D(inst.results[0])
        if high:
            extend_high(lw, d, a, to_bits, signed)
        else:
            op1(lw, op, d, a)
    return rule


def extmul_rule(to_bits: int, high: bool, signed: bool) -> Callable:
    def rule(lw, inst: Inst) -> None:
        a, b = lw.R(inst.args[0]), lw.R(inst.args[1])
        d = lw.D(inst.results[0])
        if to_bits == 16:
            ext = _extend_op(16, signed)
            x, y = vt(lw), vt(lw)
            if high:
                extend_high(lw, x, a, 16, signed)
                extend_high(lw, y, b, 16, signed)
            else:
                op1(lw, ext, x, a)
                op1(lw, ext, y, b)
            lw.mov(d, x)
            op2(lw, "pmullw", d, y)
        elif to_bits == 32:
            lo = copy(lw, a)
            op2(lw, "pmullw", lo, b)
            hi = copy(lw, a)
            op2(lw, "pmulhw" if signed else "pmulhuw", hi, b)
            lw.mov(d, lo)
            op2(lw, "punpckhwd" if high else "punpcklwd", d, hi)
        else:
            sel = 0xFA if high else 0x50        # lanes (2, 2, 3, 3) or (0, 0, 1, 1)
            x, y = vt(lw), vt(lw)
            op1(lw, "pshufd", x, a, sel)
            op1(lw, "pshufd", y, b, sel)
            lw.mov(d, x)
            op2(lw, "pmuldq" if signed else "pmuludq", d, y)
    return rule


def extadd_rule(to_bits: int, signed: bool) -> Callable:
    def rule(lw, inst: Inst) -> None:
        a = lw.R(inst.args[0])
        d = lw.D(inst.results[0])
        if to_bits == 16:
            one = splat_const(lw, 1, 8)
            if signed:                   # pmaddubsw: unsigned first operand, signed second
                lw.mov(d, one)
                op2(lw, "pmaddubsw", d, a)
            else:
                lw.mov(d, a)
                op2(lw, "pmaddubsw", d, one)
        elif signed:
            lw.mov(d, a)
            op2(lw, "pmaddwd", d, splat_const(lw, 1, 16))
        else:
            # bias to signed, add pairwise, unbias: (x - 2**15) + (y - 2**15) + 2**16
            lw.mov(d, a)
            op2(lw, "pxor", d, splat_const(lw, 0x8000, 16))
            op2(lw, "pmaddwd", d, splat_const(lw, 1, 16))
            op2(lw, "paddd", d, splat_const(lw, 0x10000, 32))
    return rule


# -- floats ------------------------------------------------------------------------------------

def _sign_mask(lw, bits: int, keep: bool) -> Reg:
    """All lanes 0x7ff...f (keep: every bit but the sign) or 0x800...0."""
    m = ones(lw)
    if keep:
        op2(lw, "psrld" if bits == 32 else "psrlq", m, 1)
    else:
        op2(lw, "pslld" if bits == 32 else "psllq", m, bits - 1)
    return m


def fabs_rule(bits: int) -> Callable:
    def rule(lw, inst: Inst) -> None:
        m = _sign_mask(lw, bits, True)
        d = lw.D(inst.results[0])
        lw.mov(d, lw.R(inst.args[0]))
        op2(lw, "andps", d, m)
    return rule


def fneg_rule(bits: int) -> Callable:
    def rule(lw, inst: Inst) -> None:
        m = _sign_mask(lw, bits, False)
        d = lw.D(inst.results[0])
        lw.mov(d, lw.R(inst.args[0]))
        op2(lw, "xorps", d, m)
    return rule


def fminmax_rule(sfx: str, is_min: bool) -> Callable:
    """wasm min/max: NaN if either lane is NaN (made canonical), -0 < +0. minps/maxps return
    the second operand for NaN or equal operands, so both orders are computed and merged."""
    bits = 32 if sfx == "ps" else 64
    shift_op, shift = ("psrld", 10) if bits == 32 else ("psrlq", 13)

    def rule(lw, inst: Inst) -> None:
        a, b = lw.R(inst.args[0]), lw.R(inst.args[1])
        op = ("min" if is_min else "max") + sfx
        s = copy(lw, b)
        op2(lw, op, s, a)               # s = op(b, a)
        d = lw.D(inst.results[0])
        lw.mov(d, a)
        op2(lw, op, d, b)               # d = op(a, b)
        if is_min:
            op2(lw, "or" + sfx, s, d)           # -0 and NaN propagate
            op2(lw, "cmpunord" + sfx, d, s)     # d: NaN lanes
            op2(lw, "or" + sfx, s, d)
        else:
            op2(lw, "xor" + sfx, d, s)          # d: where the orders disagree
            op2(lw, "or" + sfx, s, d)           # NaN propagates
            op2(lw, "sub" + sfx, s, d)          # +0 wins over -0, NaN stays NaN
            op2(lw, "cmpunord" + sfx, d, s)     # d: NaN lanes
        op2(lw, shift_op, d, shift)             # the payload bits below the quiet bit
        op2(lw, "andn" + sfx, d, s)             # canonical NaN there, s elsewhere
    return rule


def pminmax_rule(sfx: str, is_min: bool) -> Callable:
    # pmin(a, b) = b < a ? b : a = minps with b first; pmax(a, b) = a < b ? b : a likewise
    return swapped_rule(("min" if is_min else "max") + sfx)


def round_rule(sfx: str, mode: int) -> Callable:
    return un_rule("round" + sfx, 8 | mode)


def r_trunc_sat_f32x4_s(lw, inst: Inst) -> None:
    d = lw.D(inst.results[0])
    lw.mov(d, lw.R(inst.args[0]))
    s = copy(lw, d)
    op2(lw, "cmpeqps", s, s)            # not-NaN lanes
    op2(lw, "pand", d, s)               # NaN -> 0
    op2(lw, "pxor", s, d)               # top bit: the lane is >= 0
    op1(lw, "cvttps2dq", d, d)          # out of range -> 0x80000000
    op2(lw, "pand", s, d)
    op2(lw, "psrad", s, 31)             # positive lanes that overflowed
    op2(lw, "pxor", d, s)               # -> 0x7fffffff


def r_trunc_sat_f32x4_u(lw, inst: Inst) -> None:
    d = lw.D(inst.results[0])
    lw.mov(d, lw.R(inst.args[0]))
    op2(lw, "maxps", d, zero(lw))       # NaN and negative lanes -> 0
    k = ones(lw)
    op2(lw, "psrld", k, 1)
    op1(lw, "cvtdq2ps", k, k)           # 2**31 as f32
    t = copy(lw, d)
    op2(lw, "subps", t, k)              # lane - 2**31
    op2(lw, "cmpleps", k, t)            # lanes >= 2**32 (their t converts to 0x80000000)
    op1(lw, "cvttps2dq", t, t)
    op2(lw, "pxor", t, k)
    op2(lw, "pmaxsd", t, zero(lw))      # the part above 2**31 (0 below)
    op1(lw, "cvttps2dq", d, d)          # lanes >= 2**31 -> 0x80000000
    op2(lw, "paddd", d, t)


_F64_I32_MAX = 0x41DFFFFFFFC00000       # 2147483647.0
_F64_U32_MAX = 0x41EFFFFFFFE00000       # 4294967295.0
_F64_2_52 = 0x4330000000000000


def r_trunc_sat_f64x2_s_zero(lw, inst: Inst) -> None:
    d = lw.D(inst.results[0])
    lw.mov(d, lw.R(inst.args[0]))
    s = copy(lw, d)
    op2(lw, "cmpeqpd", s, d)            # not-NaN lanes
    op2(lw, "andpd", s, splat_const(lw, _F64_I32_MAX, 64))
    op2(lw, "minpd", d, s)              # clamp above; NaN -> 0
    op1(lw, "cvttpd2dq", d, d)          # below -2**31 -> 0x80000000; lanes 2, 3 = 0


def r_trunc_sat_f64x2_u_zero(lw, inst: Inst) -> None:
    d = lw.D(inst.results[0])
    z = zero(lw)
    lw.mov(d, lw.R(inst.args[0]))
    op2(lw, "maxpd", d, z)              # NaN and negative -> 0
    op2(lw, "minpd", d, splat_const(lw, _F64_U32_MAX, 64))
    op1(lw, "roundpd", d, d, 11)        # toward zero
    op2(lw, "addpd", d, splat_const(lw, _F64_2_52, 64))   # the integer in the low bits
    op2(lw, "shufps", d, z, 0x88)       # lanes 0, 2 of d, then zeros


def r_convert_i32x4_u(lw, inst: Inst) -> None:
    a = lw.R(inst.args[0])
    lo = copy(lw, a)
    op2(lw, "pslld", lo, 16)
    op2(lw, "psrld", lo, 16)            # low 16 bits (exact as f32)
    d = lw.D(inst.results[0])
    lw.mov(d, a)
    op2(lw, "psubd", d, lo)             # high 16 bits
    op1(lw, "cvtdq2ps", lo, lo)
    op2(lw, "psrld", d, 1)              # halved to fit the signed conversion (exact)
    op1(lw, "cvtdq2ps", d, d)
    op2(lw, "addps", d, d)
    op2(lw, "addps", d, lo)             # one rounding


def r_convert_low_i32x4_u(lw, inst: Inst) -> None:
    d = lw.D(inst.results[0])
    lw.mov(d, lw.R(inst.args[0]))
    k = splat_const(lw, 0x43300000, 32)
    op2(lw, "unpcklps", d, k)           # 2**52 + x as f64
    op2(lw, "subpd", d, splat_const(lw, _F64_2_52, 64))


# -- the table ---------------------------------------------------------------------------------

def rules() -> dict[Opcode, Callable]:
    t: dict[Opcode, Callable] = {O.V128_CONST: r_const, O.I8X16_SHUFFLE: r_shuffle,
                                 O.I8X16_SWIZZLE: r_swizzle}
    for op in SIMD_LOADS:
        t[op] = r_load
    for op in (O.V128_STORE, O.V128_STORE8_LANE, O.V128_STORE16_LANE, O.V128_STORE32_LANE,
               O.V128_STORE64_LANE):
        t[op] = r_store
    shapes = {"i8x16": 8, "i16x8": 16, "i32x4": 32, "i64x2": 64}
    for p, bits in shapes.items():
        t[O(f"{p}.splat")] = splat_rule(bits, False)
        t[O(f"{p}.replace_lane")] = replace_rule(bits, False)
        if bits <= 16:
            t[O(f"{p}.extract_lane_s")] = extract_rule(bits, True, False)
            t[O(f"{p}.extract_lane_u")] = extract_rule(bits, False, False)
        else:
            t[O(f"{p}.extract_lane")] = extract_rule(bits, False, False)
        for cc in ("eq", "ne", "lt_s", "gt_s", "le_s", "ge_s", "lt_u", "gt_u", "le_u", "ge_u"):
            op = Opcode.__members__.get(f"{p}_{cc}".upper())
            if op is not None:
                t[op] = icmp_rule(bits, cc)
        t[O(f"{p}.neg")] = neg_rule(bits)
        t[O(f"{p}.all_true")] = all_true_rule(bits)
        t[O(f"{p}.bitmask")] = bitmask_rule(bits)
        for kind in ("shl", "shr_s", "shr_u"):
            t[O(f"{p}.{kind}")] = shift_rule(bits, kind)
        sfx = "bwdq"[(8, 16, 32, 64).index(bits)]
        t[O(f"{p}.add")] = bin_rule("padd" + sfx, True)
        t[O(f"{p}.sub")] = bin_rule("psub" + sfx)
    for p, sfx in (("f32x4", "ps"), ("f64x2", "pd")):
        bits = 32 if sfx == "ps" else 64
        t[O(f"{p}.splat")] = splat_rule(bits, True)
        t[O(f"{p}.extract_lane")] = extract_rule(bits, False, True)
        t[O(f"{p}.replace_lane")] = replace_rule(bits, True)
        for cc in _FCMP:
            t[O(f"{p}.{cc}")] = fcmp_rule(sfx, cc)
        for name in ("add", "sub", "mul", "div"):
            t[O(f"{p}.{name}")] = bin_rule(name + sfx)
        t[O(f"{p}.sqrt")] = un_rule("sqrt" + sfx)
        t[O(f"{p}.abs")] = fabs_rule(bits)
        t[O(f"{p}.neg")] = fneg_rule(bits)
        t[O(f"{p}.min")] = fminmax_rule(sfx, True)
        t[O(f"{p}.max")] = fminmax_rule(sfx, False)
        t[O(f"{p}.pmin")] = pminmax_rule(sfx, True)
        t[O(f"{p}.pmax")] = pminmax_rule(sfx, False)
        for name, mode in (("nearest", 0), ("floor", 1), ("ceil", 2), ("trunc", 3)):
            t[O(f"{p}.{name}")] = round_rule(sfx, mode)
    t.update({
        O.V128_NOT: r_not, O.V128_AND: bin_rule("pand", True), O.V128_OR: bin_rule("por", True),
        O.V128_XOR: bin_rule("pxor", True), O.V128_ANDNOT: swapped_rule("pandn"),
        O.V128_BITSELECT: r_bitselect, O.V128_ANY_TRUE: r_any_true,
        O.I8X16_ABS: un_rule("pabsb"), O.I16X8_ABS: un_rule("pabsw"),
        O.I32X4_ABS: un_rule("pabsd"), O.I64X2_ABS: r_i64x2_abs,
        O.I8X16_POPCNT: r_popcnt,
        O.I16X8_MUL: bin_rule("pmullw", True), O.I32X4_MUL: bin_rule("pmulld", True),
        O.I64X2_MUL: r_i64x2_mul,
        O.I8X16_ADD_SAT_S: bin_rule("paddsb", True), O.I8X16_ADD_SAT_U: bin_rule("paddusb", True),
        O.I8X16_SUB_SAT_S: bin_rule("psubsb"), O.I8X16_SUB_SAT_U: bin_rule("psubusb"),
        O.I16X8_ADD_SAT_S: bin_rule("paddsw", True), O.I16X8_ADD_SAT_U: bin_rule("paddusw", True),
        O.I16X8_SUB_SAT_S: bin_rule("psubsw"), O.I16X8_SUB_SAT_U: bin_rule("psubusw"),
        O.I8X16_MIN_S: bin_rule("pminsb", True), O.I8X16_MIN_U: bin_rule("pminub", True),
        O.I8X16_MAX_S: bin_rule("pmaxsb", True), O.I8X16_MAX_U: bin_rule("pmaxub", True),
        O.I16X8_MIN_S: bin_rule("pminsw", True), O.I16X8_MIN_U: bin_rule("pminuw", True),
        O.I16X8_MAX_S: bin_rule("pmaxsw", True), O.I16X8_MAX_U: bin_rule("pmaxuw", True),
        O.I32X4_MIN_S: bin_rule("pminsd", True), O.I32X4_MIN_U: bin_rule("pminud", True),
        O.I32X4_MAX_S: bin_rule("pmaxsd", True), O.I32X4_MAX_U: bin_rule("pmaxud", True),
        O.I8X16_AVGR_U: bin_rule("pavgb", True), O.I16X8_AVGR_U: bin_rule("pavgw", True),
        O.I8X16_NARROW_I16X8_S: bin_rule("packsswb"),
        O.I8X16_NARROW_I16X8_U: bin_rule("packuswb"),
        O.I16X8_NARROW_I32X4_S: bin_rule("packssdw"),
        O.I16X8_NARROW_I32X4_U: bin_rule("packusdw"),
        O.I16X8_Q15MULR_SAT_S: r_q15mulr, O.I32X4_DOT_I16X8_S: bin_rule("pmaddwd", True),
        O.I32X4_TRUNC_SAT_F32X4_S: r_trunc_sat_f32x4_s,
        O.I32X4_TRUNC_SAT_F32X4_U: r_trunc_sat_f32x4_u,
        O.I32X4_TRUNC_SAT_F64X2_S_ZERO: r_trunc_sat_f64x2_s_zero,
        O.I32X4_TRUNC_SAT_F64X2_U_ZERO: r_trunc_sat_f64x2_u_zero,
        O.F32X4_CONVERT_I32X4_S: un_rule("cvtdq2ps"),
        O.F32X4_CONVERT_I32X4_U: r_convert_i32x4_u,
        O.F64X2_CONVERT_LOW_I32X4_S: un_rule("cvtdq2pd"),
        O.F64X2_CONVERT_LOW_I32X4_U: r_convert_low_i32x4_u,
        O.F32X4_DEMOTE_F64X2_ZERO: un_rule("cvtpd2ps"),
        O.F64X2_PROMOTE_LOW_F32X4: un_rule("cvtps2pd"),
    })
    for wide, narrow in (("i16x8", "i8x16"), ("i32x4", "i16x8"), ("i64x2", "i32x4")):
        to_bits = {"i16x8": 16, "i32x4": 32, "i64x2": 64}[wide]
        for sign in ("s", "u"):
            signed = sign == "s"
            t[O(f"{wide}.extend_low_{narrow}_{sign}")] = extend_rule(to_bits, False, signed)
            t[O(f"{wide}.extend_high_{narrow}_{sign}")] = extend_rule(to_bits, True, signed)
            t[O(f"{wide}.extmul_low_{narrow}_{sign}")] = extmul_rule(to_bits, False, signed)
            t[O(f"{wide}.extmul_high_{narrow}_{sign}")] = extmul_rule(to_bits, True, signed)
            if wide != "i64x2":
                t[O(f"{wide}.extadd_pairwise_{narrow}_{sign}")] = extadd_rule(to_bits, signed)
    return t
