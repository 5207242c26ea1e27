"""A small x86_64 machine-code encoder for the baseline compiler: the integer, SSE2/SSE4.1
scalar and control instructions it emits, straight to bytes (no assembly text, no Keystone).

Registers are numbers: general registers 0-15 (rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8-r15,
the numbering of backends/x86_64/target.py), xmm registers 0-15 in the `x*` methods. A memory
operand is a tuple ``(base, index, scale, disp)`` (`mem` builds one; index None for none).
`w` selects the 64-bit operand size (REX.W). Branches name labels (`label` makes one, `bind`
places it); references to labels not yet placed are patched by `finish`. References outside
the function (``call funcN``, ``jmp __trap``, ``call __epoch_slow``) are recorded as
(offset just past the rel32, symbol), the fixups of backends/x86_64/pieces.FunctionCode.
"""

from __future__ import annotations

import struct

from engine.errors import InternalError

#: condition codes: the low nibble of jcc / setcc / cmovcc
CC = {"o": 0, "no": 1, "b": 2, "ae": 3, "e": 4, "ne": 5, "be": 6, "a": 7, "s": 8, "ns": 9,
      "p": 10, "np": 11, "l": 12, "ge": 13, "le": 14, "g": 15}
_JCC32 = {cc: bytes((0x0F, 0x80 | n, 0, 0, 0, 0)) for cc, n in CC.items()}   # jcc rel32 0

#: /digit of the ALU group (add r/m, imm ...): also opcode = 8 * digit + 1 (r/m, reg) or + 3
ALU = {"add": 0, "or": 1, "and": 4, "sub": 5, "xor": 6, "cmp": 7}
_ALU_MR = {name: bytes((8 * d + 1,)) for name, d in ALU.items()}     # op r/m, reg
_ALU_RM = {name: bytes((8 * d + 3,)) for name, d in ALU.items()}     # op reg, r/m
#: /digit of the shift group (D3 /n by cl, C1 /n by imm8)
SHIFT = {"rol": 0, "ror": 1, "shl": 4, "shr": 5, "sar": 7}
#: /digit of the bit-test group (0F BA /n ib)
BT = {"bt": 4, "bts": 5, "btr": 6, "btc": 7}

#: scalar SSE operations: name -> (mandatory prefix, opcode after 0F)
SSE = {
    "addss": (0xF3, 0x58), "addsd": (0xF2, 0x58), "subss": (0xF3, 0x5C), "subsd": (0xF2, 0x5C),
    "mulss": (0xF3, 0x59), "mulsd": (0xF2, 0x59), "divss": (0xF3, 0x5E), "divsd": (0xF2, 0x5E),
    "minss": (0xF3, 0x5D), "minsd": (0xF2, 0x5D), "maxss": (0xF3, 0x5F), "maxsd": (0xF2, 0x5F),
    "sqrtss": (0xF3, 0x51), "sqrtsd": (0xF2, 0x51),
    "cvtss2sd": (0xF3, 0x5A), "cvtsd2ss": (0xF2, 0x5A),
    "ucomiss": (None, 0x2E), "ucomisd": (0x66, 0x2E),
    "xorps": (None, 0x57), "andps": (None, 0x54), "orps": (None, 0x56),
    "xorpd": (0x66, 0x57), "andpd": (0x66, 0x54), "orpd": (0x66, 0x56),
    "movaps": (None, 0x28),
}

RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI = range(8)
R8, R9, R10, R11, R12, R13, R14, R15 = range(8, 16)
#: the base of a rip-relative memory operand (disp: relative to the instruction's end)
RIP = -1


def mem(base: int, disp: int = 0, index: int | None = None, scale: int = 1) -> tuple:
    """A memory operand [base + index*scale + disp]."""
    return (base, index, scale, disp)


_SCALE = {1: 0, 2: 1, 4: 2, 8: 3}
_pack_i32 = struct.Struct("<i").pack_into
#: xor r32, r32 and the opcode of mov r32, imm32, by register
_XOR_SELF = [bytes((0x45, 0x31, 0xC0 | (r & 7) * 9)) if r >= 8 else bytes((0x31, 0xC0 | r * 9))
             for r in range(16)]
_MOV_R32 = [bytes((0x41, 0xB8 | (r & 7))) if r >= 8 else bytes((0xB8 | r,)) for r in range(16)]


def _fits8(x: int) -> bool:
    return -128 <= x < 128


def _modrm(reg: int, rm) -> tuple[int, bytes]:
    """(REX bits X|B|R, ModRM + SIB + displacement) for register field `reg` and operand rm."""
    rex = (reg >> 1) & 4
    if type(rm) is int:
        return rex | (rm >> 3), bytes((0xC0 | (reg & 7) << 3 | (rm & 7),))
    base, index, scale, disp = rm
    r3 = (reg & 7) << 3
    if base == RIP:
        return rex, bytes((0x05 | r3,)) + disp.to_bytes(4, "little", signed=True)
    rex |= base >> 3
    if disp == 0 and base & 7 != 5:
        mod, tail = 0, b""
    elif _fits8(disp):
        mod, tail = 0x40, disp.to_bytes(1, "little", signed=True)
    else:
        mod, tail = 0x80, disp.to_bytes(4, "little", signed=True)
    if index is None and base & 7 != 4:
        return rex, bytes((mod | r3 | (base & 7),)) + tail
    if index is None:
        sib = 0x20 | (base & 7)                       # no index (100), base rsp/r12
    else:
        if index == RSP:
            raise InternalError("x86_64 encoder: rsp cannot be an index register")
        rex |= (index >> 3) << 1
        sib = _SCALE[scale] << 6 | (index & 7) << 3 | (base & 7)
    return rex, bytes((mod | r3 | 4, sib)) + tail


def _encode(opcode: bytes, reg: int, rm, w: int, prefix: int | None, byte: int) -> bytes:
    """[prefix] [REX] opcode ModRM [SIB] [disp] of one instruction (Asm.op)."""
    rex, tail = _modrm(reg, rm)
    rex |= w << 3
    out = bytearray()
    if prefix is not None:
        out.append(prefix)
    if rex or (byte and 4 <= (reg if byte == 1 else rm if type(rm) is int else 0) < 8):
        out.append(0x40 | rex)
    out += opcode
    out += tail
    return bytes(out)


#: Asm.op's encodings by operands (a function's slots repeat: encoding one costs a few
#: microseconds of Python, looking it up a fraction of one); bounded
_ENCODED: dict[tuple, bytes] = {}
_ENCODED_MAX = 1 << 18


def _encoded(key: tuple, imm: bytes) -> bytes:
    """The encoding of Asm.op's `key` (not cached yet; `imm`: the immediate that follows,
    which an opcode always or never has): made and cached."""
    opcode, reg, rm, w, prefix, byte = key
    if imm and type(rm) is tuple and rm[0] == RIP:
        raise InternalError("x86_64 encoder: rip-relative operand with an immediate")
    if len(_ENCODED) > _ENCODED_MAX:
        _ENCODED.clear()
    enc = _ENCODED[key] = _encode(opcode, reg, rm, w, prefix, byte)
    return enc


#: the commonest instructions' encodings as _ENCODED, by w, then the register field, then the
#: r/m operand (hashing the operand alone costs half as much as a key tuple holding it):
#: mov r/m, reg (Asm.store, mov_rr), mov reg, r/m (load), mov r/m, imm32 (mov_mi), test
_LOADS = [[{} for _ in range(16)] for _ in range(2)]
_STORES = [[{} for _ in range(16)] for _ in range(2)]
_MOV_MI = [{}, {}]
_TESTS = [[{} for _ in range(16)] for _ in range(2)]
#: op r/m, reg (alu_rr), op reg, r/m (alu_rm), op r/m, imm8 (alu_ri) by operation, as those
_ALU_MRS = {name: [[{} for _ in range(16)] for _ in range(2)] for name in ALU}
_ALU_RMS = {name: [[{} for _ in range(16)] for _ in range(2)] for name in ALU}
_ALU_I8S = {name: [{}, {}] for name in ALU}
#: movss / movsd xmm, r/m (movs_load) and r/m, xmm (movs_store), by double, then the xmm
_MOVS_LOADS = [[{} for _ in range(16)] for _ in range(2)]
_MOVS_STORES = [[{} for _ in range(16)] for _ in range(2)]
_CACHE_MAX = _ENCODED_MAX >> 5


def _cached(cache: dict, opcode: bytes, reg: int, rm, w: int, imm: bool = False,
            prefix: int | None = None) -> bytes:
    """The encoding of [`prefix`] `opcode` `reg`, `rm` (not in `cache`, by rm, yet; `imm`: an
    immediate follows): made and cached."""
    if imm and type(rm) is tuple and rm[0] == RIP:
        raise InternalError("x86_64 encoder: rip-relative operand with an immediate")
    if len(cache) > _CACHE_MAX:
        cache.clear()
    enc = cache[rm] = _encode(opcode, reg, rm, w, prefix, 0)
    return enc


class Label:
    """A code position, placed once by `Asm.bind`."""

    pos = -1        # (until placed: a class attribute, so making one runs no __init__)


class Asm:
    """Machine code being written: `code` (bytes so far), label references to patch, and the
    references outside the function (`external`)."""

    def __init__(self) -> None:
        self.code = bytearray()
        #: (position of a 4-byte field, label, position the value is relative to)
        self._refs32: list[tuple[int, Label, int]] = []
        #: (position of a 1-byte field, label): rel8 branches
        self._refs8: list[tuple[int, Label]] = []
        #: (offset just past a rel32, symbol) of references outside the function
        self.external: list[tuple[int, str]] = []

    # -- plumbing -------------------------------------------------------------------------------

    def op(self, opcode: bytes, reg: int, rm, w: int = 0, prefix: int | None = None,
           imm: bytes = b"", byte: int = 0) -> None:
        """Emit one ModRM-form instruction: [prefix] [REX] opcode ModRM [SIB] [disp] [imm].
        `byte`: which register operand is an 8-bit one (1: reg, 2: rm), since spl, bpl, sil
        and dil need a REX prefix."""
        key = (opcode, reg, rm, w, prefix, byte)
        enc = _ENCODED.get(key)
        if enc is None:
            enc = _encoded(key, imm)
        out = self.code
        out += enc
        if imm:
            out += imm

    def label(self) -> Label:
        return Label()

    def bind(self, label: Label) -> None:
        label.pos = len(self.code)

    def here(self) -> int:
        return len(self.code)

    def rel32(self, label: Label, base: int | None = None) -> None:
        """A 4-byte field holding label - base (base: the field's end, by default)."""
        pos = len(self.code)
        self.code += b"\0\0\0\0"
        self._refs32.append((pos, label, pos + 4 if base is None else base))

    def finish(self) -> bytes:
        """The code with every label reference patched (InternalError for an unplaced label
        or a short branch out of reach)."""
        code = self.code
        for pos, label, base in self._refs32:
            if label.pos < 0:
                raise InternalError("x86_64 encoder: branch to a label never placed")
            _pack_i32(code, pos, label.pos - base)
        for pos, label in self._refs8:
            d = label.pos - (pos + 1)
            if label.pos < 0 or not _fits8(d):
                raise InternalError("x86_64 encoder: short branch out of reach")
            code[pos] = d & 0xFF
        return bytes(code)

    # -- moves ----------------------------------------------------------------------------------

    # (the commonest instructions look their encodings up themselves: one call less each)

    def mov_rr(self, dst: int, src: int, w: int = 1) -> None:
        cache = _STORES[w][src]
        enc = cache.get(dst)
        if enc is None:
            enc = _cached(cache, b"\x89", src, dst, w)
        self.code += enc

    def load(self, dst: int, m: tuple, w: int = 1) -> None:
        """mov dst, [m] (32 bits zero-extend)."""
        cache = _LOADS[w][dst]
        enc = cache.get(m)
        if enc is None:
            enc = _cached(cache, b"\x8b", dst, m, w)
        self.code += enc

    def store(self, m: tuple, src: int, w: int = 1) -> None:
        """mov [m], src (64 or 32 bits)."""
        cache = _STORES[w][src]
        enc = cache.get(m)
        if enc is None:
            enc = _cached(cache, b"\x89", src, m, w)
        self.code += enc

    def copy(self, m: tuple, src: tuple, via: int) -> None:
        """mov via, [src]; mov [m], via (64 bits)."""
        cache = _LOADS[1][via]
        enc = cache.get(src)
        if enc is None:
            enc = _cached(cache, b"\x8b", via, src, 1)
        code = self.code
        code += enc
        cache = _STORES[1][via]
        enc = cache.get(m)
        if enc is None:
            enc = _cached(cache, b"\x89", via, m, 1)
        code += enc

    def store16(self, m: tuple, src: int) -> None:
        self.op(b"\x89", src, m, 0, prefix=0x66)

    def store8(self, m: tuple, src: int) -> None:
        self.op(b"\x88", src, m, 0, byte=1)

    def mov_mi(self, m, imm: int, w: int = 1) -> None:
        """mov r/m, imm32 (sign-extended to 64 bits when w)."""
        cache = _MOV_MI[w]
        enc = cache.get(m)
        if enc is None:
            enc = _cached(cache, b"\xc7", 0, m, w, True)
        code = self.code
        code += enc
        code += imm.to_bytes(4, "little", signed=imm < 0)

    def mov_ri(self, dst: int, imm: int) -> None:
        """dst <- a 64-bit constant in the shortest form (zero-extended imm32, sign-extended
        imm32, movabs)."""
        imm &= 0xFFFF_FFFF_FFFF_FFFF
        if imm == 0:
            self.code += _XOR_SELF[dst]
        elif imm < 1 << 32:
            code = self.code
            code += _MOV_R32[dst]
            code += imm.to_bytes(4, "little")
        elif imm >= (1 << 64) - (1 << 31):
            self.mov_mi(dst, imm - (1 << 64))
        else:
            self.movabs(dst, imm)

    def movabs(self, dst: int, imm: int) -> None:
        self.code.append(0x48 | (dst >> 3))
        self.code.append(0xB8 | (dst & 7))
        self.code += (imm & 0xFFFF_FFFF_FFFF_FFFF).to_bytes(8, "little")

    def movzx8(self, dst: int, rm, w: int = 0) -> None:
        self.op(b"\x0f\xb6", dst, rm, w, byte=2)

    def movzx16(self, dst: int, rm, w: int = 0) -> None:
        self.op(b"\x0f\xb7", dst, rm, w)

    def movsx8(self, dst: int, rm, w: int = 0) -> None:
        self.op(b"\x0f\xbe", dst, rm, w, byte=2)

    def movsx16(self, dst: int, rm, w: int = 0) -> None:
        self.op(b"\x0f\xbf", dst, rm, w)

    def movsxd(self, dst: int, rm) -> None:
        self.op(b"\x63", dst, rm, 1)

    def lea(self, dst: int, m: tuple, w: int = 1) -> None:
        self.op(b"\x8d", dst, m, w)

    def lea_rip(self, dst: int, label: Label | None = None) -> None:
        """lea dst, [rip + label] (label None: the address just past this instruction)."""
        self.op(b"\x8d", dst, (RIP, None, 1, 0), 1)
        if label is not None:
            del self.code[-4:]
            self.rel32(label)

    # -- integer arithmetic ---------------------------------------------------------------------

    def alu_rr(self, name: str, dst: int, src: int, w: int = 1) -> None:
        cache = _ALU_MRS[name][w][src]
        enc = cache.get(dst)
        if enc is None:
            enc = _cached(cache, _ALU_MR[name], src, dst, w)
        self.code += enc

    def alu_rm(self, name: str, dst: int, m: tuple, w: int = 1) -> None:
        """op dst, [m]."""
        cache = _ALU_RMS[name][w][dst]
        enc = cache.get(m)
        if enc is None:
            enc = _cached(cache, _ALU_RM[name], dst, m, w)
        self.code += enc

    def alu_mr(self, name: str, m: tuple, src: int, w: int = 1) -> None:
        """op [m], src."""
        self.op(_ALU_MR[name], src, m, w)

    def alu_ri(self, name: str, rm, imm: int, w: int = 1) -> None:
        """op r/m, imm (imm8 form when it fits, else imm32; sign-extended)."""
        if -128 <= imm < 128:
            cache = _ALU_I8S[name][w]
            enc = cache.get(rm)
            if enc is None:
                enc = _cached(cache, b"\x83", ALU[name], rm, w, True)
            code = self.code
            code += enc
            code.append(imm & 0xFF)
        elif rm == RAX:                                 # the short accumulator form
            if w:
                self.code.append(0x48)
            self.code.append(8 * ALU[name] + 5)
            self.code += imm.to_bytes(4, "little", signed=imm < 0)
        else:
            self.op(b"\x81", ALU[name], rm, w, imm=imm.to_bytes(4, "little", signed=imm < 0))

    def test_rr(self, a: int, b: int, w: int = 1) -> None:
        cache = _TESTS[w][b]
        enc = cache.get(a)
        if enc is None:
            enc = _cached(cache, b"\x85", b, a, w)
        self.code += enc

    def test_ri(self, rm, imm: int, w: int = 1) -> None:
        if rm == RAX:
            if w:
                self.code.append(0x48)
            self.code.append(0xA9)
            self.code += imm.to_bytes(4, "little", signed=imm < 0)
            return
        self.op(b"\xf7", 0, rm, w, imm=imm.to_bytes(4, "little", signed=imm < 0))

    def imul_rm(self, dst: int, rm, w: int = 1) -> None:
        self.op(b"\x0f\xaf", dst, rm, w)

    def unary(self, name: str, rm, w: int = 1) -> None:
        """not / neg / mul / imul / div / idiv of r/m (F7 /n): the one-operand group."""
        digit = {"not": 2, "neg": 3, "mul": 4, "imul1": 5, "div": 6, "idiv": 7}[name]
        self.op(b"\xf7", digit, rm, w)

    def cdq(self) -> None:
        self.code.append(0x99)

    def cqo(self) -> None:
        self.code += b"\x48\x99"

    def shift_cl(self, name: str, rm, w: int = 1) -> None:
        self.op(b"\xd3", SHIFT[name], rm, w)

    def shift_ri(self, name: str, rm, imm: int, w: int = 1) -> None:
        self.op(b"\xc1", SHIFT[name], rm, w, imm=bytes((imm & 0xFF,)))

    def bt_ri(self, name: str, rm, bit: int, w: int = 1) -> None:
        """bt / bts / btr / btc r/m, imm8."""
        self.op(b"\x0f\xba", BT[name], rm, w, imm=bytes((bit,)))

    def bitcount(self, name: str, dst: int, rm, w: int = 1) -> None:
        """lzcnt / tzcnt / popcnt (F3-prefixed) or bsr / bsf."""
        opc = {"lzcnt": 0xBD, "tzcnt": 0xBC, "popcnt": 0xB8, "bsr": 0xBD, "bsf": 0xBC}[name]
        self.op(bytes((0x0F, opc)), dst, rm, w, prefix=None if name[0] == "b" else 0xF3)

    def setcc(self, cc: str, dst: int) -> None:
        self.op(bytes((0x0F, 0x90 | CC[cc])), 0, dst, 0, byte=2)

    def cmov(self, cc: str, dst: int, rm, w: int = 1) -> None:
        self.op(bytes((0x0F, 0x40 | CC[cc])), dst, rm, w)

    # -- stack and control ----------------------------------------------------------------------

    def push(self, r: int) -> None:
        if r >= 8:
            self.code.append(0x41)
        self.code.append(0x50 | (r & 7))

    def pop(self, r: int) -> None:
        if r >= 8:
            self.code.append(0x41)
        self.code.append(0x58 | (r & 7))

    def ret(self) -> None:
        self.code.append(0xC3)

    def jcc(self, cc: str, label: Label, short: bool = False) -> None:
        """jcc label: rel8 when `short` (the target must be within reach), else rel32."""
        code = self.code
        if short:
            code += bytes((0x70 | CC[cc], 0))
            self._refs8.append((len(code) - 1, label))
        else:
            code += _JCC32[cc]                  # (rel32, inline)
            end = len(code)
            self._refs32.append((end - 4, label, end))

    def jmp(self, label: Label, short: bool = False) -> None:
        code = self.code
        if short:
            code += b"\xeb\0"
            self._refs8.append((len(code) - 1, label))
        else:
            code += b"\xe9\0\0\0\0"
            end = len(code)
            self._refs32.append((end - 4, label, end))

    def jmp_r(self, rm) -> None:
        """jmp r/m64."""
        self.op(b"\xff", 4, rm, 0)

    def call_r(self, rm) -> None:
        """call r/m64."""
        self.op(b"\xff", 2, rm, 0)

    def _external(self, opcode: bytes, symbol: str) -> None:
        self.code += opcode
        self.code += b"\0\0\0\0"
        self.external.append((len(self.code), symbol))

    def call_sym(self, symbol: str) -> None:
        """call symbol (outside the function; patched at placement)."""
        self._external(b"\xe8", symbol)

    def lea_sym(self, dst: int, symbol: str) -> None:
        """lea dst, [rip + symbol] (outside the function; patched at placement)."""
        self._external(bytes((0x48 | (dst >> 3) << 2, 0x8D, 0x05 | (dst & 7) << 3)), symbol)

    def jmp_sym(self, symbol: str) -> None:
        self._external(b"\xe9", symbol)

    def jcc_sym(self, cc: str, symbol: str) -> None:
        self._external(bytes((0x0F, 0x80 | CC[cc])), symbol)

    def raw(self, data: bytes) -> None:
        """Bytes as they are (cld, std, rep movsb ...)."""
        self.code += data

    # -- SSE scalar -----------------------------------------------------------------------------

    def sse(self, name: str, x: int, rm) -> None:
        """An SSE operation `name` xmm x, xmm/mem (the SSE table)."""
        prefix, opc = SSE[name]
        self.op(bytes((0x0F, opc)), x, rm, 0, prefix=prefix)

    def movs_load(self, x: int, m: tuple, double: bool) -> None:
        """movss / movsd xmm, [m]."""
        cache = _MOVS_LOADS[double][x]
        enc = cache.get(m)
        if enc is None:
            enc = _cached(cache, b"\x0f\x10", x, m, 0, prefix=0xF2 if double else 0xF3)
        self.code += enc

    def movs_store(self, m: tuple, x: int, double: bool) -> None:
        """movss / movsd [m], xmm."""
        cache = _MOVS_STORES[double][x]
        enc = cache.get(m)
        if enc is None:
            enc = _cached(cache, b"\x0f\x11", x, m, 0, prefix=0xF2 if double else 0xF3)
        self.code += enc

    def movq_xr(self, x: int, rm, w: int = 1) -> None:
        """movq xmm, r/m64 (w) / movd xmm, r/m32."""
        self.op(b"\x0f\x6e", x, rm, w, prefix=0x66)

    def movq_rx(self, rm, x: int, w: int = 1) -> None:
        """movq r/m64, xmm (w) / movd r/m32, xmm."""
        self.op(b"\x0f\x7e", x, rm, w, prefix=0x66)

    def cvtsi2s(self, x: int, rm, double: bool, w: int = 1) -> None:
        """cvtsi2ss / cvtsi2sd xmm, r/m (64-bit source when w)."""
        self.op(b"\x0f\x2a", x, rm, w, prefix=0xF2 if double else 0xF3)

    def cvtts2si(self, dst: int, rm, double: bool, w: int = 1) -> None:
        """cvttss2si / cvttsd2si r, xmm/m (64-bit result when w)."""
        self.op(b"\x0f\x2c", dst, rm, w, prefix=0xF2 if double else 0xF3)

    def rounds(self, x: int, rm, double: bool, mode: int) -> None:
        """roundss / roundsd xmm, xmm/m, imm8 (SSE4.1)."""
        self.op(bytes((0x0F, 0x3A, 0x0B if double else 0x0A)), x, rm, 0, prefix=0x66,
                imm=bytes((mode,)))

    def movmsk(self, dst: int, x: int, double: bool) -> None:
        """movmskps / movmskpd r32, xmm."""
        self.op(b"\x0f\x50", dst, x, 0, prefix=0x66 if double else None)
