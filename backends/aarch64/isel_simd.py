"""aarch64 instruction selection of the SIMD opcodes (engine/ir/README.md, "SIMD") with NEON.

A v128 lives in a whole v register (`VecOp` operands name an arrangement: ``vN.4s``, a lane
``vN.s[1]`` or a scalar view ``qN``/``dN``). Most wasm operators are one NEON instruction; the
rest, where NEON differs from wasm:

- shifts take the count modulo the lane width (``and`` first; a right shift by a register is
  ``sshl``/``ushl`` by the negated count, broadcast with ``dup``);
- ``i8x16.swizzle`` is ``tbl``, whose out-of-range indices give 0 as wasm's do; ``shuffle`` is
  one permute where its mask is one (mov, dup, rev16/32/64, ext, zip/uzp/trn 1/2 at any lane
  width, either operand order), else ``tbl`` from the first operand and ``tbx`` from the
  second with the indices moved by 16;
- ``i64x2.mul`` has no NEON form: 32-bit partial products (``rev64``, ``mul``, ``addp``,
  ``shll``, ``umlal``);
- ``bitmask`` shifts each lane's top bit to bit i of its lane (``ushr``, ``ushl`` by a constant)
  and adds the lanes (``addv``/``addp``); ``all_true`` is ``uminv`` (i64x2: ``cmeq #0`` and
  ``addp``), ``any_true`` ``umaxv``, tested by cbz/cbnz when a branch or trap is their user;
- ``q15mulr_sat_s`` is ``sqrdmulh`` (the same rounding and saturation); ``dot`` is ``smull``,
  ``smull2`` and ``addp``; narrowing ``sqxtn``/``sqxtun`` (+``2``); ``trunc_sat`` ``fcvtz[su]``
  (saturating, NaN -> 0), the f64x2 forms then ``sqxtn``/``uqxtn``;
- float min/max are ``fmin``/``fmax`` (NaN propagating, -0 < +0: wasm's rules); ``pmin``/``pmax``
  are a compare and ``bsl``.

Constants that ``movi`` cannot make are loaded pc-relative from a per-function literal pool
(``@vconst``, laid out by emit.py after the trap stubs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from engine.ir.ir import Inst, Opcode
from engine.ir.simd import ACCESS_SIZE, shape_of
from engine.wasm.types import ValType

from ..mir import Imm, Mem, Reg
from . import abi

O = Opcode
#: the register class of v128 values
VEC = abi.reg_class(ValType.V128)
#: the lane tests a conditional branch (brif, trapz, trapnz) absorbs (`lane_test`)
LANE_TESTS = frozenset(op for op in O if op.value.endswith(("any_true", "all_true")))
_ARR = {8: "16b", 16: "8h", 32: "4s", 64: "2d"}
_HALF = {8: "8b", 16: "4h", 32: "2s"}
_ELEM = {8: "b", 16: "h", 32: "s", 64: "d"}


@dataclass(slots=True, frozen=True)
class VecOp:
    """A SIMD register operand: `form` "16b"/"4s"/... renders vN.16b, "s[1]" renders vN.s[1],
    "q"/"d"/"s"/"h"/"b" render the scalar view qN/dN/..., "{16b}" a one-register table list
    {vN.16b} (register N - 32)."""

    reg: int
    form: str

    def remap(self, m: dict[int, int]) -> VecOp:
        return VecOp(m.get(self.reg, self.reg), self.form)

    def render(self, n: int) -> str:
        f = self.form
        if f[0] == "{":
            return f"{{v{n}.{f[1:-1]}}}"
        if f[0].isdigit() or "[" in f:
            return f"v{n}.{f}"
        return f"{f}{n}"


def _bits(op: Opcode) -> int:
    return shape_of(op).bits  # type: ignore[union-attr]


def _narrow_bits(op: Opcode) -> int:
    """Lane bits of the source shape a conversion names second (i16x8.extend_low_i8x16_s: 8)."""
    src = op.value.split("_i", 1)[1] if "_i" in op.value else op.value.split("_f", 1)[1]
    return int(src.split("x", 1)[0])


class SimdLowering:
    """The SIMD rules, mixed into the aarch64 Lowering (which provides ins/op/R/D/tmp/...)."""

    # -- operands -------------------------------------------------------------------------------

    def vv(self, v: int, form: str = "16b") -> VecOp:
        """IR value v's register as a vector operand."""
        return VecOp(self.vreg(v), form)

    def vdst(self, v: int, form: str = "16b") -> VecOp:
        return VecOp(self.dst(v), form)

    def vtmp(self, form: str = "16b") -> VecOp:
        return VecOp(self.tmp(VEC), form)

    def vcopy(self, d: VecOp, s: VecOp) -> None:
        """d <- s (whole register)."""
        self.ins("mov", VecOp(d.reg, "16b"), VecOp(s.reg, "16b"), defs=[d.reg], uses=[s.reg],
                 is_move=True)

    def vins(self, op: str, d: VecOp, *srcs, keep: bool = False) -> None:
        """d <- op(srcs); `keep`: the instruction also reads d (ins, bsl, sqxtn2, tbx...)."""
        uses = [d.reg] if keep else []
        for s in srcs:
            uses += self.regs_of(s)
        self.ins(op, d, *srcs, defs=[d.reg], uses=uses)

    def vconst(self, d: VecOp, value: int) -> None:
        """d <- the 128-bit constant `value`: movi where it encodes, else the literal pool."""
        lo, hi = value & (1 << 64) - 1, value >> 64
        b = value.to_bytes(16, "little")
        if lo == hi and all(x in (0, 0xFF) for x in b):
            self.ins("movi", VecOp(d.reg, "2d"), Imm(lo), defs=[d.reg])
        elif len(set(b)) == 1:
            self.ins("movi", VecOp(d.reg, "16b"), Imm(b[0]), defs=[d.reg])
        else:
            self.ins("@vconst", VecOp(d.reg, "q"), Imm(value), defs=[d.reg])

    # -- constants, lanes, shuffles ---------------------------------------------------------------

    def r_v128_const(self, inst: Inst) -> None:
        self.vconst(self.vdst(inst.results[0]), inst.imm)

    def r_splat(self, inst: Inst) -> None:
        bits = _bits(inst.opcode)
        d = self.vdst(inst.results[0], _ARR[bits])
        x = inst.args[0]
        c = self.consts.get(x)
        if c is not None:
            # a constant splat is a constant (movi or the literal pool)
            self.vconst(d, sum((c & (1 << bits) - 1) << i for i in range(0, 128, bits)))
            return
        if shape_of(inst.opcode).is_float:
            self.vins("dup", d, self.vv(x, f"{_ELEM[bits]}[0]"))
        else:
            self.vins("dup", d, self.R(x, 64 if bits == 64 else 32))

    def r_extract_lane(self, inst: Inst) -> None:
        op = inst.opcode
        bits = _bits(op)
        lane = f"{_ELEM[bits]}[{inst.imm}]"
        a = self.vv(inst.args[0], lane)
        r = inst.results[0]
        if shape_of(op).is_float:
            self.vins("mov", self.vdst(r, _ELEM[bits]), a)
        elif op.value.endswith("_s"):
            self.op("smov", self.D(r), a)
        else:
            self.op("umov", self.D(r), a)

    def r_replace_lane(self, inst: Inst) -> None:
        bits = _bits(inst.opcode)
        v, x = inst.args
        d = self.vdst(inst.results[0], f"{_ELEM[bits]}[{inst.imm}]")
        self.vcopy(d, self.vv(v))
        if shape_of(inst.opcode).is_float:
            self.vins("mov", d, self.vv(x, f"{_ELEM[bits]}[0]"), keep=True)
        else:
            self.vins("mov", d, self.R(x, 64 if bits == 64 else 32), keep=True)

    def r_swizzle(self, inst: Inst) -> None:
        a, s = inst.args
        self.vins("tbl", self.vdst(inst.results[0]), self.vv(a, "{16b}"), self.vv(s))

    def r_shuffle(self, inst: Inst) -> None:
        a, b = inst.args
        mask = inst.imm
        d = self.vdst(inst.results[0])
        if a == b:
            mask = tuple(i & 15 for i in mask)
        perm = _PERMUTES.get(mask)
        if perm is not None:
            mn, form, x, y, k = perm
            ops = [self.vv((a, b)[x], form), self.vv((a, b)[y], form)]
            if mn == "mov":
                self.vcopy(d, ops[0])
            elif mn == "dup":
                self.vins("dup", VecOp(d.reg, form), self.vv((a, b)[x], f"{_ELEM_OF[form]}[{k}]"))
            elif mn.startswith("rev"):
                self.vins(mn, VecOp(d.reg, form), ops[0])
            elif mn == "ext":
                self.vins("ext", VecOp(d.reg, form), *ops, Imm(k))
            else:
                self.vins(mn, VecOp(d.reg, form), *ops)
            return
        if all(i < 16 for i in mask) or all(i >= 16 for i in mask):
            src = a if mask[0] < 16 else b
            k = self.vtmp()
            self.vconst(k, sum((i & 15) << (8 * n) for n, i in enumerate(mask)))
            self.vins("tbl", d, self.vv(src, "{16b}"), k)
            return
        k1, k2 = self.vtmp(), self.vtmp()
        self.vconst(k1, sum(i << (8 * n) for n, i in enumerate(mask)))
        self.vconst(k2, sum((i ^ 16) << (8 * n) for n, i in enumerate(mask)))
        t = self.three_reg(inst)
        self.vins("tbl", t, self.vv(a, "{16b}"), k1)
        self.vins("tbx", t, self.vv(b, "{16b}"), k2, keep=True)
        self.done(inst, t)

    # -- bitwise ----------------------------------------------------------------------------------

    def r_vbinary(self, inst: Inst) -> None:
        """One NEON instruction d <- op(a, b) in the arrangement of the opcode's shape."""
        op, form, swap = _BINARY[inst.opcode]
        a, b = inst.args
        if swap:
            a, b = b, a
        self.vins(op, self.vdst(inst.results[0], form), self.vv(a, form), self.vv(b, form))

    def r_vunary(self, inst: Inst) -> None:
        op, form = _UNARY[inst.opcode]
        src = _UNARY_SRC.get(inst.opcode, form)
        self.vins(op, self.vdst(inst.results[0], form), self.vv(inst.args[0], src))

    def r_vne(self, inst: Inst) -> None:
        form = _ARR[_bits(inst.opcode)]
        op = "fcmeq" if shape_of(inst.opcode).is_float else "cmeq"
        d = self.vdst(inst.results[0], form)
        self.vins(op, d, self.vv(inst.args[0], form), self.vv(inst.args[1], form))
        self.vins("mvn", VecOp(d.reg, "16b"), VecOp(d.reg, "16b"))

    def three_reg(self, inst: Inst) -> VecOp:
        """The destination of an instruction that reads it and two other vectors (bsl, tbx,
        umlal): a fresh short-lived register, copied to the result by `done` (the copy is
        coalesced away when the result gets a register). Were the result itself spilled, with
        both other operands, the instruction would need three scratch registers."""
        return self.vtmp()

    def done(self, inst: Inst, t: VecOp) -> None:
        self.vcopy(self.vdst(inst.results[0]), t)

    def r_bitselect(self, inst: Inst) -> None:
        a, b, c = inst.args
        d = self.three_reg(inst)
        self.vcopy(d, self.vv(c))
        self.vins("bsl", d, self.vv(a), self.vv(b), keep=True)
        self.done(inst, d)

    def reduce_lanes(self, inst: Inst) -> tuple[VecOp, str]:
        """The reduction of any_true/all_true `inst` into a scalar register (its other bits
        zero) and the condition, compared with 0, under which the result is 1."""
        a = inst.args[0]
        if inst.opcode is O.V128_ANY_TRUE:
            t = self.vtmp("s")
            self.vins("umaxv", t, self.vv(a, "4s"))
            return t, "ne"
        bits = _bits(inst.opcode)
        if bits == 64:
            t = self.vtmp("2d")
            self.vins("cmeq", t, self.vv(a, "2d"), Imm(0))
            self.vins("addp", VecOp(t.reg, "d"), VecOp(t.reg, "2d"))
            return VecOp(t.reg, "d"), "eq"
        t = self.vtmp(_ELEM[bits])
        self.vins("uminv", t, self.vv(a, _ARR[bits]))
        return VecOp(t.reg, "s"), "ne"

    def lane_test(self, inst: Inst) -> tuple[Reg, bool]:
        """any_true/all_true `inst` fused into its conditional branch: a register to compare
        with zero and whether a true result means it is zero (the zero_test shape)."""
        t, cc = self.reduce_lanes(inst)
        g = Reg(self.tmp(), 64 if t.form == "d" else 32)
        self.op("fmov", g, t)
        return g, cc == "eq"

    def r_any_true(self, inst: Inst) -> None:
        t, cc = self.reduce_lanes(inst)
        self.test_lane0(t, inst.results[0], cc)

    r_all_true = r_any_true

    def test_lane0(self, t: VecOp, result: int, cc: str) -> None:
        """result <- (the scalar t, its other bits zero) compared with 0 by `cc` (1 or 0)."""
        bits = 64 if t.form == "d" else 32
        g = self.tmp()
        self.op("fmov", Reg(g, bits), t)
        self.ins("cmp", Reg(g, bits), Imm(0), uses=[g])
        d = self.D(result)
        self.ins("cset", Reg(d.reg, 32), cc, defs=[d.reg])

    def r_bitmask(self, inst: Inst) -> None:
        bits = _bits(inst.opcode)
        form = _ARR[bits]
        n = 128 // bits
        t = self.vtmp(form)
        self.vins("ushr", t, self.vv(inst.args[0], form), Imm(bits - 1))
        k = self.vtmp(form)
        self.vconst(k, sum((i % 8) << (bits * i) for i in range(n)))
        self.vins("ushl", t, t, k)
        d = self.D(inst.results[0])
        if bits == 8:
            hi = self.vtmp()
            self.vins("ext", hi, VecOp(t.reg, "16b"), VecOp(t.reg, "16b"), Imm(8))
            self.vins("zip1", VecOp(t.reg, "16b"), VecOp(t.reg, "16b"), hi)
            self.vins("addv", VecOp(t.reg, "h"), VecOp(t.reg, "8h"))
            self.op("fmov", Reg(d.reg, 32), VecOp(t.reg, "s"))
        elif bits == 64:
            self.vins("addp", VecOp(t.reg, "d"), VecOp(t.reg, "2d"))
            self.op("fmov", Reg(d.reg, 32), VecOp(t.reg, "s"))
        else:
            self.vins("addv", VecOp(t.reg, _ELEM[bits]), t)
            self.op("fmov", Reg(d.reg, 32), VecOp(t.reg, "s"))

    # -- integer lanes ----------------------------------------------------------------------------

    def r_vshift(self, inst: Inst) -> None:
        op = inst.opcode
        bits = _bits(op)
        form = _ARR[bits]
        a, n = inst.args
        d = self.vdst(inst.results[0], form)
        kind = op.value.split(".")[1]
        c = self.const_of(n)
        if c is not None:
            k = c & (bits - 1)
            if k == 0:
                self.vcopy(d, self.vv(a))
            else:
                mn = {"shl": "shl", "shr_s": "sshr", "shr_u": "ushr"}[kind]
                self.vins(mn, d, self.vv(a, form), Imm(k))
            return
        g = self.tmp()
        self.op("and", Reg(g, 32), self.R(n, 32), Imm(bits - 1))
        if kind != "shl":
            self.op("neg", Reg(g, 32), Reg(g, 32))
        t = self.vtmp(form)
        self.vins("dup", t, Reg(g, 64 if bits == 64 else 32))
        self.vins("sshl" if kind == "shr_s" else "ushl", d, self.vv(a, form), t)

    def r_i64x2_mul(self, inst: Inst) -> None:
        a, b = inst.args
        d = VecOp(self.three_reg(inst).reg, "2d")
        cross = self.vtmp("4s")
        self.vins("rev64", cross, self.vv(b, "4s"))
        self.vins("mul", cross, cross, self.vv(a, "4s"))
        alo, blo = self.vtmp("2s"), self.vtmp("2s")
        self.vins("xtn", alo, self.vv(a, "2d"))
        self.vins("xtn", blo, self.vv(b, "2d"))
        self.vins("addp", cross, cross, cross)
        self.vins("shll", d, VecOp(cross.reg, "2s"), Imm(32))
        self.vins("umlal", d, alo, blo, keep=True)
        self.done(inst, d)

    def r_dot(self, inst: Inst) -> None:
        a, b = inst.args
        lo, hi = self.vtmp("4s"), self.vtmp("4s")
        self.vins("smull", lo, self.vv(a, "4h"), self.vv(b, "4h"))
        self.vins("smull2", hi, self.vv(a, "8h"), self.vv(b, "8h"))
        self.vins("addp", self.vdst(inst.results[0], "4s"), lo, hi)

    def r_narrow(self, inst: Inst) -> None:
        op = inst.opcode
        bits = _bits(op)          # the result's lane width
        mn = "sqxtn" if op.value.endswith("_s") else "sqxtun"
        a, b = inst.args
        wide = _ARR[2 * bits]
        d = self.vdst(inst.results[0], _HALF[bits])
        self.vins(mn, d, self.vv(a, wide))
        self.vins(mn + "2", VecOp(d.reg, _ARR[bits]), self.vv(b, wide), keep=True)

    def r_extend(self, inst: Inst) -> None:
        op = inst.opcode
        src = _narrow_bits(op)
        signed = op.value.endswith("_s")
        high = "_high_" in op.value
        mn = ("sxtl" if signed else "uxtl") + ("2" if high else "")
        self.vins(mn, self.vdst(inst.results[0], _ARR[2 * src]),
                  self.vv(inst.args[0], _ARR[src] if high else _HALF[src]))

    def r_extmul(self, inst: Inst) -> None:
        op = inst.opcode
        src = _narrow_bits(op)
        high = "_high_" in op.value
        mn = ("smull" if op.value.endswith("_s") else "umull") + ("2" if high else "")
        form = _ARR[src] if high else _HALF[src]
        a, b = inst.args
        self.vins(mn, self.vdst(inst.results[0], _ARR[2 * src]), self.vv(a, form),
                  self.vv(b, form))

    def r_extadd(self, inst: Inst) -> None:
        op = inst.opcode
        src = _narrow_bits(op)
        mn = "saddlp" if op.value.endswith("_s") else "uaddlp"
        self.vins(mn, self.vdst(inst.results[0], _ARR[2 * src]), self.vv(inst.args[0], _ARR[src]))

    # -- floats -----------------------------------------------------------------------------------

    def r_pminmax(self, inst: Inst) -> None:
        form = _ARR[_bits(inst.opcode)]
        a, b = inst.args
        d = VecOp(self.three_reg(inst).reg, form)
        # pmin: b < a ? b : a (a > b); pmax: a < b ? b : a (b > a)
        x, y = (a, b) if inst.opcode.value.endswith("pmin") else (b, a)
        self.vins("fcmgt", d, self.vv(x, form), self.vv(y, form))
        self.vins("bsl", VecOp(d.reg, "16b"), self.vv(b), self.vv(a), keep=True)
        self.done(inst, d)

    def r_trunc_sat_zero(self, inst: Inst) -> None:
        signed = inst.opcode is O.I32X4_TRUNC_SAT_F64X2_S_ZERO
        t = self.vtmp("2d")
        self.vins("fcvtzs" if signed else "fcvtzu", t, self.vv(inst.args[0], "2d"))
        self.vins("sqxtn" if signed else "uqxtn", self.vdst(inst.results[0], "2s"), t)

    def r_convert_low(self, inst: Inst) -> None:
        signed = inst.opcode is O.F64X2_CONVERT_LOW_I32X4_S
        t = self.vtmp("2d")
        self.vins("sxtl" if signed else "uxtl", t, self.vv(inst.args[0], "2s"))
        self.vins("scvtf" if signed else "ucvtf", self.vdst(inst.results[0], "2d"), t)

    # -- memory -----------------------------------------------------------------------------------

    def simd_address(self, inst: Inst, bits: int) -> Mem:
        # (plan() has counted SIMD accesses of memory 0 in uses_heap)
        return self.address(inst.imm, inst.args[0], bits)

    def r_vload(self, inst: Inst) -> None:
        op = inst.opcode
        size = ACCESS_SIZE[op]
        d = inst.results[0]
        m = self.simd_address(inst, 8 * size)
        name = op.value
        if op is O.V128_LOAD or name.endswith("_zero"):
            self.ins("ldr", self.vdst(d, _SCALAR[size]), m, defs=[self.dst(d)],
                     uses=self.regs_of(m))
            return
        t = self.vtmp(_SCALAR[size])
        self.ins("ldr", t, m, defs=[t.reg], uses=self.regs_of(m))
        if name.endswith("_splat"):
            self.vins("dup", self.vdst(d, _ARR[8 * size]), VecOp(t.reg, f"{_ELEM[8 * size]}[0]"))
            return
        if name.endswith("_lane"):
            bits = 8 * size
            dv = self.vdst(d, f"{_ELEM[bits]}[{inst.imm.lane}]")
            self.vcopy(dv, self.vv(inst.args[1]))
            self.vins("mov", dv, VecOp(t.reg, f"{_ELEM[bits]}[0]"), keep=True)
            return
        # load8x8 / load16x4 / load32x2 _s/_u: 64 bits, each lane widened
        src = int(name.split("load", 1)[1].split("x", 1)[0])
        self.vins("sxtl" if name.endswith("_s") else "uxtl", self.vdst(d, _ARR[2 * src]),
                  VecOp(t.reg, _HALF[src]))

    def r_vstore(self, inst: Inst) -> None:
        op = inst.opcode
        size = ACCESS_SIZE[op]
        v = inst.args[1]
        m = self.simd_address(inst, 8 * size)
        if op is O.V128_STORE:
            s = self.vv(v, "q")
        else:
            lane = inst.imm.lane
            if lane == 0:
                s = self.vv(v, _SCALAR[size])
            else:
                s = self.vtmp(_SCALAR[size])
                self.vins("mov", s, self.vv(v, f"{_ELEM[8 * size]}[{lane}]"))
        self.ins("str", s, m, uses=[s.reg, *self.regs_of(m)])


_SCALAR = {1: "b", 2: "h", 4: "s", 8: "d", 16: "q"}

#: opcode -> (mnemonic, arrangement, operands swapped): one three-register NEON instruction
_BINARY: dict[Opcode, tuple[str, str, bool]] = {
    O.V128_AND: ("and", "16b", False), O.V128_OR: ("orr", "16b", False),
    O.V128_XOR: ("eor", "16b", False), O.V128_ANDNOT: ("bic", "16b", False),
}
#: opcode -> (mnemonic, arrangement): one two-register NEON instruction
_UNARY: dict[Opcode, tuple[str, str]] = {
    O.V128_NOT: ("mvn", "16b"), O.I8X16_POPCNT: ("cnt", "16b"),
    O.F32X4_CONVERT_I32X4_S: ("scvtf", "4s"), O.F32X4_CONVERT_I32X4_U: ("ucvtf", "4s"),
    O.I32X4_TRUNC_SAT_F32X4_S: ("fcvtzs", "4s"), O.I32X4_TRUNC_SAT_F32X4_U: ("fcvtzu", "4s"),
    O.F32X4_DEMOTE_F64X2_ZERO: ("fcvtn", "2s"),
}
_CMP = {"eq": ("cmeq", False), "gt_s": ("cmgt", False), "lt_s": ("cmgt", True),
        "ge_s": ("cmge", False), "le_s": ("cmge", True), "gt_u": ("cmhi", False),
        "lt_u": ("cmhi", True), "ge_u": ("cmhs", False), "le_u": ("cmhs", True)}
_FCMP = {"eq": ("fcmeq", False), "gt": ("fcmgt", False), "lt": ("fcmgt", True),
         "ge": ("fcmge", False), "le": ("fcmge", True)}
_IARITH = {"add": "add", "sub": "sub", "mul": "mul", "add_sat_s": "sqadd",
           "add_sat_u": "uqadd", "sub_sat_s": "sqsub", "sub_sat_u": "uqsub", "min_s": "smin",
           "min_u": "umin", "max_s": "smax", "max_u": "umax", "avgr_u": "urhadd",
           "q15mulr_sat_s": "sqrdmulh"}
_FARITH = {"add": "fadd", "sub": "fsub", "mul": "fmul", "div": "fdiv", "min": "fmin",
           "max": "fmax"}
_IUNARY = {"neg": "neg", "abs": "abs"}
_FUNARY = {"neg": "fneg", "abs": "fabs", "sqrt": "fsqrt", "ceil": "frintp",
           "floor": "frintm", "trunc": "frintz", "nearest": "frintn"}
for _op in O:
    _name = _op.value
    if "." not in _name or _name.startswith("v128"):
        continue
    _prefix, _rest = _name.split(".", 1)
    _form = _ARR[int(_prefix[1:].split("x")[0])]
    if _prefix[0] == "f":
        if _rest in _FCMP:
            _BINARY[_op] = (_FCMP[_rest][0], _form, _FCMP[_rest][1])
        elif _rest in _FARITH:
            _BINARY[_op] = (_FARITH[_rest], _form, False)
        elif _rest in _FUNARY:
            _UNARY[_op] = (_FUNARY[_rest], _form)
    else:
        if _rest in _CMP:
            _BINARY[_op] = (_CMP[_rest][0], _form, _CMP[_rest][1])
        elif _rest in _IARITH and _op is not O.I64X2_MUL:
            _BINARY[_op] = (_IARITH[_rest], _form, False)
        elif _rest in _IUNARY:
            _UNARY[_op] = (_IUNARY[_rest], _form)
_UNARY[O.F64X2_PROMOTE_LOW_F32X4] = ("fcvtl", "2d")
#: the source arrangement of the unary instructions whose source differs from the result's
_UNARY_SRC = {O.F64X2_PROMOTE_LOW_F32X4: "2s", O.F32X4_DEMOTE_F64X2_ZERO: "2d"}


_ELEM_OF = {"16b": "b", "8h": "h", "4s": "s", "2d": "d"}


def _permutes() -> dict[tuple[int, ...], tuple[str, str, int, int, int]]:
    """Shuffle masks that one NEON permute computes: mask -> (mnemonic, arrangement, first
    operand, second operand (0: a, 1: b), immediate). Masks that read only a (indices < 16)
    also stand for the same permute with b in place of a (indices + 16); the first entry made
    for a mask wins (cheapest first)."""
    table: dict[tuple[int, ...], tuple[str, str, int, int, int]] = {}

    def add(mask, entry) -> None:
        table.setdefault(tuple(mask), entry)
        if all(i < 16 for i in mask):
            mn, form, x, y, k = entry
            table.setdefault(tuple(i + 16 for i in mask), (mn, form, 1 - x, 1 - y, k))

    add(range(16), ("mov", "16b", 0, 0, 0))
    for size in (1, 2, 4, 8):
        n, form = 16 // size, _ARR[8 * size]
        for e in range(n):
            add([e * size + t for _ in range(n) for t in range(size)], ("dup", form, 0, 0, e))
    for container in (2, 4, 8):
        for size in (1, 2, 4):
            if size < container:
                add([(i // container) * container
                     + (container // size - 1 - (i % container) // size) * size + i % size
                     for i in range(16)], (f"rev{8 * container}", _ARR[8 * size], 0, 0, 0))
    for k in range(1, 16):
        add([k + i for i in range(16)], ("ext", "16b", 0, 1, k))
        add([(16 + k + i) % 32 for i in range(16)], ("ext", "16b", 1, 0, k))
        add([(k + i) % 16 for i in range(16)], ("ext", "16b", 0, 0, k))
    for size in (8, 4, 2, 1):
        n, form = 16 // size, _ARR[8 * size]
        half = n // 2
        elements = {
            "zip1": [e for i in range(half) for e in (i, n + i)],
            "zip2": [e for i in range(half, n) for e in (i, n + i)],
            "uzp1": list(range(0, 2 * n, 2)), "uzp2": list(range(1, 2 * n, 2)),
            "trn1": [e for i in range(0, n, 2) for e in (i, n + i)],
            "trn2": [e for i in range(1, n, 2) for e in (i, n + i)],
        }
        for mn, els in elements.items():
            for x in (0, 1):
                # with the operands swapped, element e of (b, a) is element e +- n of (a, b)
                mask = [((e + n * x) % (2 * n)) * size + t for e in els for t in range(size)]
                add(mask, (mn, form, x, 1 - x, 0))
                add([i & 15 for i in mask], (mn, form, 0, 0, 0))
    return table


#: shuffle masks computed by one permute instruction (see _permutes)
_PERMUTES = _permutes()


def simd_rules(cls: type) -> dict[Opcode, Callable]:
    """The opcode -> rule entries of every SIMD opcode."""
    rules: dict[Opcode, Callable] = {
        **{op: cls.r_vbinary for op in _BINARY},
        **{op: cls.r_vunary for op in _UNARY},
        O.V128_CONST: cls.r_v128_const,
        O.I8X16_SWIZZLE: cls.r_swizzle, O.I8X16_SHUFFLE: cls.r_shuffle,
        O.V128_BITSELECT: cls.r_bitselect, O.V128_ANY_TRUE: cls.r_any_true,
        O.I64X2_MUL: cls.r_i64x2_mul, O.I32X4_DOT_I16X8_S: cls.r_dot,
        O.I32X4_TRUNC_SAT_F64X2_S_ZERO: cls.r_trunc_sat_zero,
        O.I32X4_TRUNC_SAT_F64X2_U_ZERO: cls.r_trunc_sat_zero,
        O.F64X2_CONVERT_LOW_I32X4_S: cls.r_convert_low,
        O.F64X2_CONVERT_LOW_I32X4_U: cls.r_convert_low,
    }
    for op in O:
        name = op.value
        if "." not in name:
            continue
        rest = name.split(".", 1)[1]
        if rest == "splat":
            rules[op] = cls.r_splat
        elif rest.startswith("extract_lane"):
            rules[op] = cls.r_extract_lane
        elif rest == "replace_lane":
            rules[op] = cls.r_replace_lane
        elif rest == "ne":
            rules[op] = cls.r_vne
        elif rest == "all_true":
            rules[op] = cls.r_all_true
        elif rest == "bitmask":
            rules[op] = cls.r_bitmask
        elif rest in ("shl", "shr_s", "shr_u"):
            rules[op] = cls.r_vshift
        elif rest.startswith("narrow_"):
            rules[op] = cls.r_narrow
        elif rest.startswith("extend_"):
            rules[op] = cls.r_extend
        elif rest.startswith("extmul_"):
            rules[op] = cls.r_extmul
        elif rest.startswith("extadd_pairwise"):
            rules[op] = cls.r_extadd
        elif rest in ("pmin", "pmax"):
            rules[op] = cls.r_pminmax
        elif name.startswith("v128.load"):
            rules[op] = cls.r_vload
        elif name.startswith("v128.store"):
            rules[op] = cls.r_vstore
    return rules
