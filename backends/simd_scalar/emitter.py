"""The IR builder the SIMD legalisation writes with: scalar instructions appended to one block's
new instruction list, i64 shorthands, and the 128-bit value as a `Pair` of i64 halves."""

from __future__ import annotations

from dataclasses import dataclass

from engine.ir.ir import F32, F64, I32, I64, Function, Inst, IntCC, Opcode, Type

O = Opcode
M64 = (1 << 64) - 1


@dataclass(slots=True, frozen=True)
class Pair:
    """A legalised v128: the IR values of its low (lanes at bits 0..63) and high halves, i64."""

    lo: int
    hi: int

    def half(self, k: int) -> int:
        return self.hi if k else self.lo


def rep(bits: int, x: int) -> int:
    """The 64-bit word with `x` in every `bits`-wide lane."""
    return sum(x << i for i in range(0, 64, bits)) & M64


def lane_mask(bits: int) -> int:
    return (1 << bits) - 1


class Emitter:
    """Appends scalar IR instructions to `out` (the block being rebuilt). Integer constants
    are emitted once per block (`reset` starts a block)."""

    def __init__(self, func: Function) -> None:
        self.f = func
        self.out: list[Inst] = []
        self._consts: dict[tuple[Type, int], int] = {}

    def reset(self, out: list[Inst]) -> None:
        self.out = out
        self._consts = {}

    def op(self, opcode: Opcode, ty: Type | None, *args: int, imm: object = None) -> int:
        """Emit `opcode args` (result of type ty, or none) and return the result (-1 if none)."""
        r = -1 if ty is None else self.f.new_value(ty)
        self.out.append(Inst(opcode, list(args), [] if ty is None else [r], imm))
        return r

    def const(self, x: int, ty: Type = I64) -> int:
        x &= M64 if ty is I64 else 0xFFFF_FFFF
        key = (ty, x)
        v = self._consts.get(key)
        if v is None:
            v = self._consts[key] = self.op(O.ICONST, ty, imm=x)
        return v

    # -- i64 arithmetic (operands are IR values; `k*` take a Python int as the second) ---------

    def add(self, a: int, b: int) -> int:
        return self.op(O.IADD, I64, a, b)

    def sub(self, a: int, b: int) -> int:
        return self.op(O.ISUB, I64, a, b)

    def mul(self, a: int, b: int) -> int:
        return self.op(O.IMUL, I64, a, b)

    def and_(self, a: int, b: int) -> int:
        return self.op(O.BAND, I64, a, b)

    def or_(self, a: int, b: int) -> int:
        return self.op(O.BOR, I64, a, b)

    def xor(self, a: int, b: int) -> int:
        return self.op(O.BXOR, I64, a, b)

    def not_(self, a: int) -> int:
        return self.op(O.BXOR, I64, a, self.const(M64))

    def kand(self, a: int, mask: int) -> int:
        mask &= M64
        return a if mask == M64 else self.and_(a, self.const(mask))

    def kor(self, a: int, x: int) -> int:
        return self.or_(a, self.const(x))

    def kxor(self, a: int, x: int) -> int:
        return self.xor(a, self.const(x))

    def kadd(self, a: int, x: int) -> int:
        return self.add(a, self.const(x))

    def kmul(self, a: int, x: int) -> int:
        return self.mul(a, self.const(x))

    def shl(self, a: int, n: int) -> int:
        """a << n, n an IR value (i64, taken mod 64)."""
        return self.op(O.ISHL, I64, a, n)

    def ushr(self, a: int, n: int) -> int:
        return self.op(O.USHR, I64, a, n)

    def sshr(self, a: int, n: int) -> int:
        return self.op(O.SSHR, I64, a, n)

    def kshl(self, a: int, n: int) -> int:
        return a if n == 0 else self.shl(a, self.const(n))

    def kushr(self, a: int, n: int) -> int:
        return a if n == 0 else self.ushr(a, self.const(n))

    def ksshr(self, a: int, n: int) -> int:
        return a if n == 0 else self.sshr(a, self.const(n))

    def select(self, c: int, a: int, b: int, ty: Type = I64) -> int:
        return self.op(O.SELECT, ty, c, a, b)

    def icmp(self, cc: IntCC, a: int, b: int) -> int:
        """i32 0/1."""
        return self.op(O.ICMP, I32, a, b, imm=cc)

    def mask_of(self, c: int) -> int:
        """An i32 0/1 condition as an i64 of all zeros / all ones."""
        return self.sub(self.const(0), self.op(O.UEXTEND, I64, c))

    # -- conversions between i64 lanes and scalar types ---------------------------------------

    def to_i32(self, a: int) -> int:
        return self.op(O.IREDUCE, I32, a)

    def from_i32(self, a: int) -> int:
        """i32 -> i64, zero-extended."""
        return self.op(O.UEXTEND, I64, a)

    def to_f32(self, a: int) -> int:
        """The low 32 bits of i64 `a` as f32 bits."""
        return self.op(O.BITCAST, F32, self.to_i32(a))

    def to_f64(self, a: int) -> int:
        return self.op(O.BITCAST, F64, a)

    def from_float(self, x: int, ty: Type) -> int:
        """The bits of float value x (f32 or f64) as a clean i64."""
        if ty is F64:
            return self.op(O.BITCAST, I64, x)
        return self.from_i32(self.op(O.BITCAST, I32, x))
