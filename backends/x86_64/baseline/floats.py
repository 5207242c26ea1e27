"""The baseline compiler's floating-point operations (a mixin of compiler._Compiler): SSE2
arithmetic, SSE4.1 rounding, NaN-correct compares, min/max, sign operations, and the exact
wasm conversions (trapping and saturating float -> int truncation, u64 -> float)."""

from __future__ import annotations

from engine.errors import TrapCode
from engine.ir.builder import trunc_bounds
from engine.wasm.types import ValType

from .encoder import RAX, RCX, Label
from .stack import _CONST, _REG

_I32, _I64, _F32, _F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64
_F32_2_63, _F64_2_63 = 0x5F000000, 0x43E0000000000000
_F32_2_64, _F64_2_64 = 0x5F800000, 0x43F0000000000000
_FALU = {"add": "add", "sub": "sub", "mul": "mul", "div": "div"}
_ROUND = {"nearest": 0, "floor": 1, "ceil": 2, "trunc": 3}


class FloatRules:
    """The float rules of the single pass (on a ValueStack)."""

    # -- float ----------------------------------------------------------------------------------

    def f_alu(self, imm, arg) -> None:
        name, d = arg
        a = self.a
        b = self.pop_entry()
        ea = self.pop_entry()
        h = len(self.vs)
        if b[0] == _REG:
            self.free_x.remove(b[1])
        x = self.into_xmm(ea, h, d)
        if b[0] == _REG:
            self.free_x.append(b[1])
        op = name + ("sd" if d else "ss")
        if b[0] == _CONST:
            a.mov_ri(RAX, b[1])
            a.movq_xr(0, RAX, d)
            a.sse(op, x - 16, 0)
        else:
            a.sse(op, x - 16, self.operand(b, h + 1))
        self.push_entry((_REG, x))

    def f_minmax(self, imm, arg) -> None:
        name, d = arg
        a = self.a
        sfx = "sd" if d else "ss"
        p = "pd" if d else "ps"
        a.movs_load(0, self.top(2), d)
        a.movs_load(1, self.top(1), d)
        nan, ne, done = Label(), Label(), Label()
        a.sse("ucomi" + sfx, 0, 1)
        a.jcc("p", nan, short=True)
        a.jcc("ne", ne, short=True)
        # equal operands: only +0 and -0 differ; min ORs the sign bits, max ANDs them
        a.sse(("or" if name == "min" else "and") + p, 0, 1)
        a.jmp(done, short=True)
        a.bind(ne)
        a.sse(name + sfx, 0, 1)
        a.jmp(done, short=True)
        a.bind(nan)
        a.sse("add" + sfx, 0, 1)            # a quiet NaN
        a.bind(done)
        self.height -= 1
        a.movs_store(self.top(), 0, d)

    def f_sign(self, imm, arg) -> None:
        """abs / neg on the slot's bits; copysign through rax and rcx."""
        kind, d = arg
        a = self.a
        s = self.top()
        if kind == "copysign":
            a.load(RAX, self.top(2), d)
            a.load(RCX, self.top(1), d)
            bit = 63 if d else 31
            a.bt_ri("btr", RAX, bit, d)
            a.shift_ri("shr", RCX, bit, d)
            a.shift_ri("shl", RCX, bit, d)
            a.alu_rr("or", RAX, RCX, d)
            self.height -= 1
            a.store(self.top(), RAX, d)
        elif kind == "abs":
            a.bt_ri("btr", s, 63 if d else 31, d)
        else:
            a.bt_ri("btc", s, 63 if d else 31, d)

    def f_unary(self, imm, arg) -> None:
        kind, d = arg
        a = self.a
        s = self.top()
        if kind == "sqrt":
            a.sse("sqrtsd" if d else "sqrtss", 0, s)
        elif kind == "promote":
            a.sse("cvtss2sd", 0, s)
        elif kind == "demote":
            a.sse("cvtsd2ss", 0, s)
        else:
            a.rounds(0, s, d, 8 | _ROUND[kind])     # bit 3: no precision exception
        a.movs_store(s, 0, d if kind not in ("promote", "demote") else kind == "promote")

    def f_cmp(self, imm, arg) -> None:
        cc, d = arg
        a = self.a
        sfx = "sd" if d else "ss"
        x, y = (self.top(1), self.top(2)) if cc in ("lt", "le") else (self.top(2), self.top(1))
        a.movs_load(0, x, d)
        a.sse("ucomi" + sfx, 0, y)
        self.height -= 1
        if cc == "eq":
            a.setcc("e", RAX)
            a.setcc("np", RCX)
            a.alu_rr("and", RAX, RCX, 0)
        elif cc == "ne":
            a.setcc("ne", RAX)
            a.setcc("p", RCX)
            a.alu_rr("or", RAX, RCX, 0)
        else:
            a.setcc("a" if cc in ("lt", "gt") else "ae", RAX)
        a.movzx8(RAX, RAX)
        a.store(self.top(), RAX)

    def f_const_to(self, x: int, bits: int, d: int) -> None:
        """xmm x <- the float constant with bit pattern `bits` (through rcx)."""
        a = self.a
        a.mov_ri(RCX, bits)
        a.movq_xr(x, RCX, d)

    def f_trunc(self, imm, arg) -> None:
        """Trapping float -> int truncation: NaN, then the range (engine.ir.builder's bounds)."""
        rt, st, signed = arg
        a = self.a
        d = st is _F64
        w = rt is _I64
        sfx = "sd" if d else "ss"
        cc, lo, hi = trunc_bounds(rt, st, signed)
        s = self.top()
        a.movs_load(0, s, d)
        a.sse("ucomi" + sfx, 0, 0)
        a.jcc("p", self.trap(TrapCode.BAD_CONVERSION_TO_INTEGER))
        self.f_const_to(1, lo, d)
        a.sse("ucomi" + sfx, 0, 1)
        ovf = self.trap(TrapCode.INTEGER_OVERFLOW)
        a.jcc("be" if cc.name == "GT" else "b", ovf)
        self.f_const_to(1, hi, d)
        a.sse("ucomi" + sfx, 0, 1)
        a.jcc("ae", ovf)
        if signed:
            a.cvtts2si(RAX, 0, d, w)
        elif not w:
            a.cvtts2si(RAX, 0, d, 1)
            a.mov_rr(RAX, RAX, 0)
        else:
            self.to_u64(d)
        a.store(s, RAX)

    def to_u64(self, d: bool) -> None:
        """rax <- xmm0 truncated as a u64 (0 <= xmm0 < 2**64); xmm1 clobbered."""
        a = self.a
        big, done = Label(), Label()
        self.f_const_to(1, _F64_2_63 if d else _F32_2_63, d)
        a.sse("ucomisd" if d else "ucomiss", 0, 1)
        a.jcc("ae", big, short=True)
        a.cvtts2si(RAX, 0, d, 1)
        a.jmp(done, short=True)
        a.bind(big)
        a.sse("subsd" if d else "subss", 0, 1)
        a.cvtts2si(RAX, 0, d, 1)
        a.bt_ri("btc", RAX, 63)
        a.bind(done)

    def f_trunc_sat(self, imm, arg) -> None:
        """Saturating float -> int truncation: NaN to 0, out-of-range to the nearest bound."""
        rt, st, signed = arg
        a = self.a
        d = st is _F64
        w = rt is _I64
        sfx = "sd" if d else "ss"
        s = self.top()
        a.movs_load(0, s, d)
        done = Label()
        if signed:
            nan = Label()
            a.cvtts2si(RAX, 0, d, w)
            a.alu_ri("cmp", RAX, 1, w)
            a.jcc("no", done)                   # only INT_MIN (the invalid result) overflows
            a.sse("ucomi" + sfx, 0, 0)
            a.jcc("p", nan)
            a.sse("xorps", 1, 1)
            a.sse("ucomi" + sfx, 0, 1)
            a.jcc("b", done)
            if w:
                a.movabs(RAX, (1 << 63) - 1)
            else:
                a.mov_ri(RAX, (1 << 31) - 1)
            a.jmp(done)
            a.bind(nan)
            a.mov_ri(RAX, 0)
        elif not w:
            special, pos = Label(), Label()
            a.cvtts2si(RAX, 0, d, 1)
            a.test_rr(RAX, RAX)
            a.jcc("s", special)
            a.mov_ri(RCX, 0xFFFF_FFFF)
            a.alu_rr("cmp", RAX, RCX)
            a.cmov("a", RAX, RCX)
            a.jmp(done)
            a.bind(special)
            a.sse("xorps", 1, 1)
            a.sse("ucomi" + sfx, 0, 1)
            a.jcc("a", pos)
            a.mov_ri(RAX, 0)
            a.jmp(done)
            a.bind(pos)
            a.mov_ri(RAX, 0xFFFF_FFFF)
        else:
            zero, mx = Label(), Label()
            a.sse("xorps", 1, 1)
            a.sse("ucomi" + sfx, 0, 1)
            a.jcc("p", zero)
            a.jcc("be", zero)
            self.f_const_to(1, _F64_2_64 if d else _F32_2_64, d)
            a.sse("ucomi" + sfx, 0, 1)
            a.jcc("ae", mx)
            self.to_u64(d)
            a.jmp(done)
            a.bind(mx)
            a.mov_ri(RAX, (1 << 64) - 1)
            a.jmp(done)
            a.bind(zero)
            a.mov_ri(RAX, 0)
        a.bind(done)
        if not w:
            a.mov_rr(RAX, RAX, 0)
        a.store(s, RAX)

    def f_convert(self, imm, arg) -> None:
        """f32/f64.convert_i32/i64_s/u."""
        d, st, signed = arg
        a = self.a
        s = self.top()
        if st is _I32:
            a.load(RAX, s, 0)
            a.cvtsi2s(0, RAX, d, 0 if signed else 1)
        elif signed:
            a.cvtsi2s(0, s, d, 1)
        else:
            neg, done = Label(), Label()
            a.load(RAX, s)
            a.test_rr(RAX, RAX)
            a.jcc("s", neg, short=True)
            a.cvtsi2s(0, RAX, d, 1)
            a.jmp(done, short=True)
            a.bind(neg)
            # halve keeping the lost bit sticky, convert, double (one rounding)
            a.mov_rr(RCX, RAX)
            a.shift_ri("shr", RCX, 1)
            a.alu_ri("and", RAX, 1)
            a.alu_rr("or", RCX, RAX)
            a.cvtsi2s(0, RCX, d, 1)
            a.sse("addsd" if d else "addss", 0, 0)
            a.bind(done)
        a.movs_store(s, 0, d)
