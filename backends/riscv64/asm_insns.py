"""Mnemonic handlers: one function per real instruction format and per pseudo-instruction.

A handler takes the assembler state and the operand strings of one statement and either
appends finished words, defers words whose immediates need the final layout (a patch), or
adds a relaxable jump. ``HANDLERS`` maps every accepted mnemonic to its handler.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Callable

from .asm_error import AsmError
from .asm_expr import Value
from .asm_isa import (CSR_FCSR, CSR_FFLAGS, CSR_FRM, CSRS, FENCE_BITS, FREG, INSNS, RA, ROUNDING,
                      T1, XREG, ZERO, Fmt, InsnDesc, RegClass, check_signed, check_unsigned, hi_lo,
                      imm_i, imm_s, OP_AUIPC, OP_JALR, OP_LUI)
from .asm_li import li_sequence
from .asm_reloc import RelocKind

if TYPE_CHECKING:
    from .asm import _Ctx, _State

Handler = Callable[["_State", list[str]], None]

_PACK2 = struct.Struct("<II").pack
_REGFILE = {RegClass.X: XREG, RegClass.F: FREG}
_KIND_NAME = {RegClass.X: "an integer register", RegClass.F: "a float register"}


# --------------------------------------------------------------------------- operand helpers

def _arity(ops: list[str], n: int, syntax: str) -> None:
    if len(ops) != n or not all(ops):
        raise AsmError(f"expected operands '{syntax}', got {len(ops)}" if len(ops) != n
                       else f"empty operand (expected '{syntax}')")


def _bad_reg(regs: tuple[RegClass, ...], ops: list[str]) -> AsmError:
    for cls, op in zip(regs, ops):
        if op not in _REGFILE[cls]:
            return AsmError(f"expected {_KIND_NAME[cls]}, got {op!r}")
    return AsmError(f"bad register in {ops!r}")


def xreg(name: str) -> int:
    """Number of an integer register name; AsmError if it is not one."""
    try:
        return XREG[name]
    except KeyError:
        raise AsmError(f"expected an integer register, got {name!r}") from None


def freg(name: str) -> int:
    """Number of a float register name; AsmError if it is not one."""
    try:
        return FREG[name]
    except KeyError:
        raise AsmError(f"expected a float register, got {name!r}") from None


def _rm(text: str) -> int:
    try:
        return ROUNDING[text]
    except KeyError:
        raise AsmError(f"expected a rounding mode (rne, rtz, rdn, rup, rmm, dyn), got {text!r}") \
            from None


def _csr(st: _State, text: str) -> int:
    num = CSRS.get(text)
    if num is not None:
        return num
    value = st.value(text)
    if not isinstance(value, int):
        raise AsmError(f"unknown CSR {text!r}")
    return check_unsigned(value, 12, "CSR number")


def _const(st: _State, text: str, what: str) -> int:
    value = st.value(text)
    if not isinstance(value, int):
        raise AsmError(f"{what} must be a constant, got {text!r}")
    return value


def split_mem(text: str) -> tuple[str, int] | None:
    """``off(reg)`` -> (offset text, register number), or None if ``text`` is not that form."""
    if not text.endswith(")"):
        return None
    i = text.rfind("(")
    if i < 0:
        return None
    inner = text[i + 1:-1].strip()
    reg = XREG.get(inner)
    if reg is None:
        if inner[:1].isalpha():
            raise AsmError(f"expected an integer base register in {text!r}, got {inner!r}")
        return None
    return text[:i].strip() or "0", reg


_RELOC_OPS = ("hi", "lo", "pcrel_hi", "pcrel_lo")


def _percent(text: str) -> tuple[str, str]:
    """Split ``%op(inner)`` into (op, inner)."""
    i = text.find("(")
    if i < 0 or not text.endswith(")") or text[1:i].strip() not in _RELOC_OPS:
        raise AsmError(f"bad operand {text!r} (expected %hi/%lo/%pcrel_hi/%pcrel_lo(...))")
    return text[1:i].strip(), text[i + 1:-1]


def _lo12(value: int) -> int:
    return ((value & 0xFFF) ^ 0x800) - 0x800


# --------------------------------------------------------------------------- immediates


def _imm12(st: _State, word: int, text: str, store: bool) -> None:
    """Emit ``word`` with a 12-bit I- (or S-, if ``store``) immediate given as ``text``."""
    enc = imm_s if store else imm_i
    try:
        value = int(text, 0)
    except ValueError:
        pass
    else:
        if -2048 <= value < 2048:
            st.word(word | enc(value))
            return
        check_signed(value, 12, "immediate")
    if text.startswith("%"):
        op, inner = _percent(text)
        if op == "lo":
            value = st.value(inner)
            if isinstance(value, int):
                st.word(word | enc(_lo12(value)))
                return
            kind = RelocKind.LO12_S if store else RelocKind.LO12_I

            def lo_fix(ctx: _Ctx, pc: int, value: Value = value) -> bytes:
                addend, sym = ctx.resolve(value, pc)
                if sym is None:
                    return (word | enc(_lo12(addend))).to_bytes(4, "little")
                ctx.reloc(kind, pc, sym, addend)
                return word.to_bytes(4, "little")
            st.defer(4, lo_fix)
            return
        if op == "pcrel_lo":
            label = st.value(inner)
            kind = RelocKind.PCREL_LO12_S if store else RelocKind.PCREL_LO12_I

            def pcrel_lo_fix(ctx: _Ctx, pc: int, label: Value = label) -> bytes:
                hi_pc = ctx.const(label, pc) - ctx.base
                target = ctx.pcrel_hi_target(hi_pc)
                addend, sym = ctx.resolve(target, hi_pc)
                if sym is None:
                    return (word | enc(hi_lo(addend - (ctx.base + hi_pc))[1])).to_bytes(4, "little")
                ctx.reloc(kind, pc, sym, addend, hi_offset=hi_pc)
                return word.to_bytes(4, "little")
            st.defer(4, pcrel_lo_fix)
            return
        raise AsmError(f"%{op} is not allowed in a 12-bit immediate (use %lo or %pcrel_lo)")
    value = st.value(text)
    if isinstance(value, int):
        st.word(word | enc(check_signed(value, 12, "immediate")))
        return

    def expr_fix(ctx: _Ctx, pc: int, value: Value = value) -> bytes:
        return (word | enc(check_signed(ctx.const(value, pc), 12, "immediate"))).to_bytes(4, "little")
    st.defer(4, expr_fix)


def _imm20(st: _State, word: int, text: str, auipc: bool) -> None:
    """Emit a lui/auipc ``word`` with its 20-bit immediate given as ``text``."""
    if text.startswith("%"):
        op, inner = _percent(text)
        value = st.value(inner)
        if op == "hi":
            if isinstance(value, int):
                st.word(word | hi_lo(value)[0] << 12)
                return

            def hi_fix(ctx: _Ctx, pc: int, value: Value = value) -> bytes:
                addend, sym = ctx.resolve(value, pc)
                if sym is None:
                    return (word | hi_lo(addend)[0] << 12).to_bytes(4, "little")
                ctx.reloc(RelocKind.HI20, pc, sym, addend)
                return word.to_bytes(4, "little")
            st.defer(4, hi_fix)
            return
        if op == "pcrel_hi" and auipc:
            st.pcrel_hi_site(value)

            def pcrel_hi_fix(ctx: _Ctx, pc: int, value: Value = value) -> bytes:
                addend, sym = ctx.resolve(value, pc)
                if sym is None:
                    return (word | hi_lo(addend - (ctx.base + pc))[0] << 12).to_bytes(4, "little")
                ctx.reloc(RelocKind.PCREL_HI20, pc, sym, addend)
                return word.to_bytes(4, "little")
            st.defer(4, pcrel_hi_fix)
            return
        raise AsmError(f"%{op} is not allowed here (lui takes %hi, auipc %hi or %pcrel_hi)")
    value = st.value(text)
    if not isinstance(value, int):
        raise AsmError(f"20-bit immediate must be a constant or %hi/%pcrel_hi, got {text!r}")
    st.word(word | check_unsigned(value, 20, "immediate") << 12)


def pcrel_pair(st: _State, hi_word: int, lo_word: int, target: Value, form: str) -> None:
    """Emit auipc ``hi_word`` + ``lo_word`` (I-type, S-type or the jalr of a call) reaching
    ``target`` pc-relatively; for an external symbol, record relocations instead."""
    store = form == "s"

    def pair_fix(ctx: _Ctx, pc: int) -> bytes:
        addend, sym = ctx.resolve(target, pc)
        if sym is None:
            hi, lo = hi_lo(addend - (ctx.base + pc))
            return _PACK2(hi_word | hi << 12, lo_word | (imm_s(lo) if store else imm_i(lo)))
        if form == "call":
            ctx.reloc(RelocKind.CALL, pc, sym, addend)
        else:
            ctx.reloc(RelocKind.PCREL_HI20, pc, sym, addend)
            ctx.reloc(RelocKind.PCREL_LO12_S if store else RelocKind.PCREL_LO12_I, pc + 4, sym,
                      addend, hi_offset=pc)
        return _PACK2(hi_word, lo_word)
    st.defer(8, pair_fix)


def _symbol(st: _State, text: str, what: str) -> Value:
    value = st.value(text)
    if isinstance(value, int):
        raise AsmError(f"{what} needs a symbol, got the constant {text!r}")
    return value


# --------------------------------------------------------------------------- real formats

def _make(desc: InsnDesc) -> Handler:
    fmt, m, regs = desc.fmt, desc.match, desc.regs
    name = desc.mnemonic
    files = tuple(_REGFILE[c] for c in regs)
    syntax = f"{name} {fmt.value}"

    if fmt is Fmt.R:
        fd, f1, f2 = files

        def r(st: _State, ops: list[str]) -> None:
            if len(ops) != 3:
                _arity(ops, 3, syntax)
            try:
                st.word(m | fd[ops[0]] << 7 | f1[ops[1]] << 15 | f2[ops[2]] << 20)
            except KeyError:
                raise _bad_reg(regs, ops) from None
        return r

    if fmt is Fmt.R_RM:
        fd, f1, f2 = files
        default = desc.default_rm

        def r_rm(st: _State, ops: list[str]) -> None:
            n = len(ops)
            if n != 3 and n != 4:
                _arity(ops, 3, syntax)
            rm = _rm(ops[3]) if n == 4 else default
            try:
                st.word(m | fd[ops[0]] << 7 | rm << 12 | f1[ops[1]] << 15 | f2[ops[2]] << 20)
            except KeyError:
                raise _bad_reg(regs, ops) from None
        return r_rm

    if fmt is Fmt.R2 or fmt is Fmt.R2_RM:
        fd, f1 = files
        default = desc.default_rm
        with_rm = fmt is Fmt.R2_RM

        def r2(st: _State, ops: list[str]) -> None:
            n = len(ops)
            if n != 2 and not (with_rm and n == 3):
                _arity(ops, 2, syntax)
            rm = (_rm(ops[2]) if n == 3 else default) if with_rm else 0
            try:
                st.word(m | fd[ops[0]] << 7 | rm << 12 | f1[ops[1]] << 15)
            except KeyError:
                raise _bad_reg(regs, ops) from None
        return r2

    if fmt is Fmt.R4_RM:
        fd, f1, f2, f3 = files
        default = desc.default_rm

        def r4(st: _State, ops: list[str]) -> None:
            n = len(ops)
            if n != 4 and n != 5:
                _arity(ops, 4, syntax)
            rm = _rm(ops[4]) if n == 5 else default
            try:
                st.word(m | fd[ops[0]] << 7 | rm << 12 | f1[ops[1]] << 15 | f2[ops[2]] << 20
                        | f3[ops[3]] << 27)
            except KeyError:
                raise _bad_reg(regs, ops) from None
        return r4

    if fmt is Fmt.I:
        def i_type(st: _State, ops: list[str]) -> None:
            if len(ops) != 3:
                _arity(ops, 3, syntax)
            try:
                word = m | XREG[ops[0]] << 7 | XREG[ops[1]] << 15
            except KeyError:
                raise _bad_reg(regs, ops) from None
            _imm12(st, word, ops[2], False)
        return i_type

    if fmt is Fmt.SHIFT or fmt is Fmt.SHIFTW:
        bits = 6 if fmt is Fmt.SHIFT else 5

        def shift(st: _State, ops: list[str]) -> None:
            if len(ops) != 3:
                _arity(ops, 3, syntax)
            try:
                word = m | XREG[ops[0]] << 7 | XREG[ops[1]] << 15
            except KeyError:
                raise _bad_reg(regs, ops) from None
            st.word(word | check_unsigned(_const(st, ops[2], "shift amount"), bits,
                                          "shift amount") << 20)
        return shift

    if fmt is Fmt.LOAD:
        fd = files[0]
        is_float = regs[0] is RegClass.F

        def load(st: _State, ops: list[str]) -> None:
            n = len(ops)
            mem = split_mem(ops[1]) if n == 2 else None
            if mem is None:
                _load_symbol(st, ops)
                return
            try:
                word = m | fd[ops[0]] << 7 | mem[1] << 15
            except KeyError:
                raise _bad_reg(regs, ops) from None
            _imm12(st, word, mem[0], False)

        def _load_symbol(st: _State, ops: list[str]) -> None:
            # lw rd, sym  ->  auipc rd, %pcrel_hi(sym); lw rd, %pcrel_lo(sym)(rd)
            # flw fd, sym, rt  ->  auipc rt, ...; flw fd, ...(rt)
            if is_float:
                _arity(ops, 3, f"{name} rd, offset(rs1) | {name} rd, symbol, rtmp")
                tmp = xreg(ops[2])
            else:
                _arity(ops, 2, f"{name} rd, offset(rs1) | {name} rd, symbol")
                tmp = xreg(ops[0])
            rd = freg(ops[0]) if is_float else tmp
            target = _symbol(st, ops[1], name)
            pcrel_pair(st, OP_AUIPC | tmp << 7, m | rd << 7 | tmp << 15, target, "i")
        return load

    if fmt is Fmt.STORE:
        f2 = files[0]

        def store(st: _State, ops: list[str]) -> None:
            n = len(ops)
            mem = split_mem(ops[1]) if n == 2 else None
            if mem is None:
                # sw rs2, sym, rtmp  ->  auipc rtmp, %pcrel_hi(sym); sw rs2, %pcrel_lo(sym)(rtmp)
                _arity(ops, 3, f"{name} rs2, offset(rs1) | {name} rs2, symbol, rtmp")
                tmp = xreg(ops[2])
                rs2 = freg(ops[0]) if regs[0] is RegClass.F else xreg(ops[0])
                pcrel_pair(st, OP_AUIPC | tmp << 7, m | tmp << 15 | rs2 << 20,
                           _symbol(st, ops[1], name), "s")
                return
            try:
                word = m | f2[ops[0]] << 20 | mem[1] << 15
            except KeyError:
                raise _bad_reg(regs, ops) from None
            _imm12(st, word, mem[0], True)
        return store

    if fmt is Fmt.BRANCH:
        def branch(st: _State, ops: list[str]) -> None:
            if len(ops) != 3:
                _arity(ops, 3, syntax)
            try:
                word = m | XREG[ops[0]] << 15 | XREG[ops[1]] << 20
            except KeyError:
                raise _bad_reg(regs, ops) from None
            st.branch(word, ops[2])
        return branch

    if fmt is Fmt.U:
        auipc = m == OP_AUIPC

        def u_type(st: _State, ops: list[str]) -> None:
            _arity(ops, 2, syntax)
            _imm20(st, m | xreg(ops[0]) << 7, ops[1], auipc)
        return u_type

    if fmt is Fmt.JAL:
        def jal(st: _State, ops: list[str]) -> None:
            if len(ops) == 1 and ops[0]:
                st.jal(RA, ops[0])
                return
            _arity(ops, 2, syntax)
            st.jal(xreg(ops[0]), ops[1])
        return jal

    if fmt is Fmt.JALR:
        def jalr(st: _State, ops: list[str]) -> None:
            n = len(ops)
            if n == 1:  # jalr rs | jalr off(rs)
                mem = split_mem(ops[0])
                rd = RA
                rs1, off = (mem[1], mem[0]) if mem else (xreg(ops[0]), "0")
            elif n == 2:  # jalr rd, rs | jalr rd, off(rs)
                rd = xreg(ops[0])
                mem = split_mem(ops[1])
                rs1, off = (mem[1], mem[0]) if mem else (xreg(ops[1]), "0")
            else:
                _arity(ops, 3, syntax)
                rd, rs1, off = xreg(ops[0]), xreg(ops[1]), ops[2]
            _imm12(st, OP_JALR | rd << 7 | rs1 << 15, off, False)
        return jalr

    if fmt is Fmt.CSR:
        def csr(st: _State, ops: list[str]) -> None:
            _arity(ops, 3, syntax)
            st.word(m | xreg(ops[0]) << 7 | _csr(st, ops[1]) << 20 | xreg(ops[2]) << 15)
        return csr

    if fmt is Fmt.CSRI:
        def csri(st: _State, ops: list[str]) -> None:
            _arity(ops, 3, syntax)
            imm = check_unsigned(_const(st, ops[2], "CSR immediate"), 5, "CSR immediate")
            st.word(m | xreg(ops[0]) << 7 | _csr(st, ops[1]) << 20 | imm << 15)
        return csri

    if fmt is Fmt.FENCE:
        def fence(st: _State, ops: list[str]) -> None:
            if ops == [] or ops == [""]:
                st.word(m | 0xFF << 20)
                return
            _arity(ops, 2, "fence [pred, succ]")
            st.word(m | _fence_set(ops[0]) << 24 | _fence_set(ops[1]) << 20)
        return fence

    assert fmt is Fmt.NONE

    def bare(st: _State, ops: list[str]) -> None:
        if ops and ops != [""]:
            raise AsmError(f"{name} takes no operands")
        st.word(m)
    return bare


def _fence_set(text: str) -> int:
    bits = 0
    for ch in text:
        bit = FENCE_BITS.get(ch)
        if bit is None or bits & bit:
            raise AsmError(f"bad fence set {text!r} (letters from 'iorw', each at most once)")
        bits |= bit
    if not bits:
        raise AsmError("empty fence set")
    return bits


# --------------------------------------------------------------------------- pseudo-instructions

def _enc(name: str) -> int:
    return INSNS[name].match


_ADDI, _ADDIW, _SLLI, _SRLI, _SRAI = _enc("addi"), _enc("addiw"), _enc("slli"), _enc("srli"), _enc("srai")
_ANDI, _XORI, _SLTIU = _enc("andi"), _enc("xori"), _enc("sltiu")
_SUB, _SUBW, _SLT, _SLTU = _enc("sub"), _enc("subw"), _enc("slt"), _enc("sltu")
_BEQ, _BNE, _BLT, _BGE, _BLTU, _BGEU = (_enc(b) for b in ("beq", "bne", "blt", "bge", "bltu", "bgeu"))
_CSRRS, _CSRRW, _CSRRC = _enc("csrrs"), _enc("csrrw"), _enc("csrrc")
_CSRRSI, _CSRRWI, _CSRRCI = _enc("csrrsi"), _enc("csrrwi"), _enc("csrrci")


def _li(st: _State, ops: list[str]) -> None:
    _arity(ops, 2, "li rd, imm")
    rd = xreg(ops[0])
    value = _const(st, ops[1], "li immediate")
    src = ZERO
    for op, imm in li_sequence(value):
        if op == "lui":
            st.word(OP_LUI | rd << 7 | imm << 12)
        elif op == "slli":
            st.word(_SLLI | rd << 7 | rd << 15 | imm << 20)
        else:
            st.word((_ADDI if op == "addi" else _ADDIW) | rd << 7 | src << 15 | imm_i(imm))
        src = rd


def _two_reg(match: int, *, dst: int = 7, src: int = 15, other: tuple[int, int] | None = None,
             imm: int | None = None, name: str = "") -> Handler:
    """``name rd, rs`` -> a real instruction with rd at bit ``dst``, rs at bit ``src``, and
    optionally a fixed register (``other`` = (number, bit)) or I-immediate."""
    extra = (other[0] << other[1] if other else 0) | (imm_i(imm) if imm is not None else 0)

    def h(st: _State, ops: list[str]) -> None:
        if len(ops) != 2:
            _arity(ops, 2, f"{name} rd, rs")
        try:
            st.word(match | extra | XREG[ops[0]] << dst | XREG[ops[1]] << src)
        except KeyError:
            raise _bad_reg((RegClass.X, RegClass.X), ops) from None
    return h


def _shift_pair(left: int, right: int, amount: int, name: str) -> Handler:
    """``name rd, rs`` -> ``slli rd, rs, amount`` + ``srli/srai rd, rd, amount``."""
    def h(st: _State, ops: list[str]) -> None:
        _arity(ops, 2, f"{name} rd, rs")
        rd, rs = xreg(ops[0]), xreg(ops[1])
        st.word(left | rd << 7 | rs << 15 | amount << 20)
        st.word(right | rd << 7 | rd << 15 | amount << 20)
    return h


def _branch_zero(match: int, reg_first: bool, name: str) -> Handler:
    """``name rs, target`` -> a branch comparing rs with zero (rs as rs1 or rs2)."""
    def h(st: _State, ops: list[str]) -> None:
        _arity(ops, 2, f"{name} rs, target")
        rs = xreg(ops[0])
        st.branch(match | (rs << 15 if reg_first else rs << 20), ops[1])
    return h


def _branch_swap(match: int, name: str) -> Handler:
    """``name rs, rt, target`` -> the real branch with rs and rt exchanged."""
    def h(st: _State, ops: list[str]) -> None:
        _arity(ops, 3, f"{name} rs, rt, target")
        st.branch(match | xreg(ops[0]) << 20 | xreg(ops[1]) << 15, ops[2])
    return h


def _fsgnj(match: int, name: str) -> Handler:
    """``name fd, fs`` -> ``fsgnj*.fmt fd, fs, fs``."""
    def h(st: _State, ops: list[str]) -> None:
        _arity(ops, 2, f"{name} rd, rs")
        rs = freg(ops[1])
        st.word(match | freg(ops[0]) << 7 | rs << 15 | rs << 20)
    return h


def _fcmp_swap(match: int, name: str) -> Handler:
    """``fgt/fge rd, fa, fb`` -> ``flt/fle rd, fb, fa``."""
    def h(st: _State, ops: list[str]) -> None:
        _arity(ops, 3, f"{name} rd, rs1, rs2")
        st.word(match | xreg(ops[0]) << 7 | freg(ops[2]) << 15 | freg(ops[1]) << 20)
    return h


def _j(st: _State, ops: list[str]) -> None:
    _arity(ops, 1, "j target")
    st.jal(ZERO, ops[0])


def _jr(st: _State, ops: list[str]) -> None:
    if len(ops) == 2:  # jr rs, offset
        _imm12(st, OP_JALR | xreg(ops[0]) << 15, ops[1], False)
        return
    _arity(ops, 1, "jr rs")
    mem = split_mem(ops[0])
    if mem:
        _imm12(st, OP_JALR | mem[1] << 15, mem[0], False)
        return
    st.word(OP_JALR | xreg(ops[0]) << 15)


def _ret(st: _State, ops: list[str]) -> None:
    if ops and ops != [""]:
        raise AsmError("ret takes no operands")
    st.word(OP_JALR | RA << 15)


def _nop(st: _State, ops: list[str]) -> None:
    if ops and ops != [""]:
        raise AsmError("nop takes no operands")
    st.word(_ADDI)


def _call(st: _State, ops: list[str]) -> None:
    # call sym -> auipc ra + jalr ra; call rd, sym -> auipc t1 + jalr rd (as GNU as)
    if len(ops) == 2:
        rd, scratch, target = xreg(ops[0]), T1, ops[1]
    else:
        _arity(ops, 1, "call [rd,] symbol")
        rd, scratch, target = RA, RA, ops[0]
    pcrel_pair(st, OP_AUIPC | scratch << 7, OP_JALR | rd << 7 | scratch << 15, st.value(target),
               "call")


def _tail(st: _State, ops: list[str]) -> None:
    _arity(ops, 1, "tail symbol")
    pcrel_pair(st, OP_AUIPC | T1 << 7, OP_JALR | T1 << 15, st.value(ops[0]), "call")


def _la(st: _State, ops: list[str]) -> None:
    _arity(ops, 2, "la rd, symbol")
    rd = xreg(ops[0])
    pcrel_pair(st, OP_AUIPC | rd << 7, _ADDI | rd << 7 | rd << 15, _symbol(st, ops[1], "la"), "i")


def _csr_read(csr: int | None, name: str) -> Handler:
    """``csrr rd, csr`` / ``frcsr rd``-style reads: csrrs rd, csr, zero."""
    def h(st: _State, ops: list[str]) -> None:
        if csr is None:
            _arity(ops, 2, f"{name} rd, csr")
            st.word(_CSRRS | xreg(ops[0]) << 7 | _csr(st, ops[1]) << 20)
        else:
            _arity(ops, 1, f"{name} rd")
            st.word(_CSRRS | xreg(ops[0]) << 7 | csr << 20)
    return h


def _csr_write(match: int, csr: int | None, name: str) -> Handler:
    """``csrw csr, rs`` and ``fscsr [rd,] rs``-style writes (csrrw/csrrs/csrrc with rd)."""
    def h(st: _State, ops: list[str]) -> None:
        if csr is None:
            _arity(ops, 2, f"{name} csr, rs")
            st.word(match | _csr(st, ops[0]) << 20 | xreg(ops[1]) << 15)
        elif len(ops) == 2:
            st.word(match | xreg(ops[0]) << 7 | csr << 20 | xreg(ops[1]) << 15)
        else:
            _arity(ops, 1, f"{name} [rd,] rs")
            st.word(match | csr << 20 | xreg(ops[0]) << 15)
    return h


def _csr_write_imm(match: int, csr: int | None, name: str) -> Handler:
    """``csrwi csr, imm`` and ``fsrmi [rd,] imm``-style immediate writes."""
    def h(st: _State, ops: list[str]) -> None:
        rd = 0
        if csr is None:
            _arity(ops, 2, f"{name} csr, uimm5")
            num, imm_text = _csr(st, ops[0]), ops[1]
        elif len(ops) == 2:
            rd, num, imm_text = xreg(ops[0]), csr, ops[1]
        else:
            _arity(ops, 1, f"{name} [rd,] uimm5")
            num, imm_text = csr, ops[0]
        imm = check_unsigned(_const(st, imm_text, "CSR immediate"), 5, "CSR immediate")
        st.word(match | rd << 7 | num << 20 | imm << 15)
    return h


def _build() -> dict[str, Handler]:
    table: dict[str, Handler] = {name: _make(desc) for name, desc in INSNS.items()}

    def add(name: str, handler: Handler) -> None:
        assert name not in table, name
        table[name] = handler

    add("li", _li)
    add("nop", _nop)
    add("mv", _two_reg(_ADDI, name="mv"))
    add("not", _two_reg(_XORI, imm=-1, name="not"))
    add("neg", _two_reg(_SUB, src=20, name="neg"))
    add("negw", _two_reg(_SUBW, src=20, name="negw"))
    add("sext.w", _two_reg(_ADDIW, name="sext.w"))
    add("seqz", _two_reg(_SLTIU, imm=1, name="seqz"))
    add("snez", _two_reg(_SLTU, src=20, name="snez"))
    add("sltz", _two_reg(_SLT, name="sltz"))
    add("sgtz", _two_reg(_SLT, src=20, name="sgtz"))
    add("zext.b", _two_reg(_ANDI, imm=255, name="zext.b"))
    add("zext.h", _shift_pair(_SLLI, _SRLI, 48, "zext.h"))
    add("zext.w", _shift_pair(_SLLI, _SRLI, 32, "zext.w"))
    add("sext.b", _shift_pair(_SLLI, _SRAI, 56, "sext.b"))
    add("sext.h", _shift_pair(_SLLI, _SRAI, 48, "sext.h"))

    def sgt(match: int, name: str) -> Handler:
        def h(st: _State, ops: list[str]) -> None:
            _arity(ops, 3, f"{name} rd, rs, rt")
            st.word(match | xreg(ops[0]) << 7 | xreg(ops[2]) << 15 | xreg(ops[1]) << 20)
        return h
    add("sgt", sgt(_SLT, "sgt"))
    add("sgtu", sgt(_SLTU, "sgtu"))

    add("beqz", _branch_zero(_BEQ, True, "beqz"))
    add("bnez", _branch_zero(_BNE, True, "bnez"))
    add("blez", _branch_zero(_BGE, False, "blez"))
    add("bgez", _branch_zero(_BGE, True, "bgez"))
    add("bltz", _branch_zero(_BLT, True, "bltz"))
    add("bgtz", _branch_zero(_BLT, False, "bgtz"))
    add("bgt", _branch_swap(_BLT, "bgt"))
    add("ble", _branch_swap(_BGE, "ble"))
    add("bgtu", _branch_swap(_BLTU, "bgtu"))
    add("bleu", _branch_swap(_BGEU, "bleu"))
    add("j", _j)
    add("jr", _jr)
    add("ret", _ret)
    add("call", _call)
    add("tail", _tail)
    add("la", _la)
    add("lla", _la)
    for sfx in ("s", "d"):
        add(f"fmv.{sfx}", _fsgnj(_enc(f"fsgnj.{sfx}"), f"fmv.{sfx}"))
        add(f"fneg.{sfx}", _fsgnj(_enc(f"fsgnjn.{sfx}"), f"fneg.{sfx}"))
        add(f"fabs.{sfx}", _fsgnj(_enc(f"fsgnjx.{sfx}"), f"fabs.{sfx}"))
        add(f"fgt.{sfx}", _fcmp_swap(_enc(f"flt.{sfx}"), f"fgt.{sfx}"))
        add(f"fge.{sfx}", _fcmp_swap(_enc(f"fle.{sfx}"), f"fge.{sfx}"))

    add("csrr", _csr_read(None, "csrr"))
    add("csrw", _csr_write(_CSRRW, None, "csrw"))
    add("csrs", _csr_write(_CSRRS, None, "csrs"))
    add("csrc", _csr_write(_CSRRC, None, "csrc"))
    add("csrwi", _csr_write_imm(_CSRRWI, None, "csrwi"))
    add("csrsi", _csr_write_imm(_CSRRSI, None, "csrsi"))
    add("csrci", _csr_write_imm(_CSRRCI, None, "csrci"))
    for reg, csr in (("csr", CSR_FCSR), ("rm", CSR_FRM), ("flags", CSR_FFLAGS)):
        add(f"fr{reg}", _csr_read(csr, f"fr{reg}"))
        add(f"fs{reg}", _csr_write(_CSRRW, csr, f"fs{reg}"))
    add("fsrmi", _csr_write_imm(_CSRRWI, CSR_FRM, "fsrmi"))
    add("fsflagsi", _csr_write_imm(_CSRRWI, CSR_FFLAGS, "fsflagsi"))
    for counter in ("cycle", "time", "instret"):
        add(f"rd{counter}", _csr_read(CSRS[counter], f"rd{counter}"))

    def unimp(st: _State, ops: list[str]) -> None:
        if ops and ops != [""]:
            raise AsmError("unimp takes no operands")
        st.word(_CSRRW | CSRS["cycle"] << 20)  # csrrw zero, cycle, zero: the canonical unimp
    add("unimp", unimp)
    return table


#: Every accepted mnemonic (real and pseudo) -> its handler.
HANDLERS: dict[str, Handler] = _build()
