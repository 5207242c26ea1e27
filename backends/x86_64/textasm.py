"""An assembler for the Intel-syntax x86_64 text of the module-level stubs (trampolines.py,
fastcalls.py: entry and exit trampolines, the trap stub, the lazy unit's entry, the fast
host calls): the bytes Keystone makes for that text (tests/backends/x86_64/test_textasm.py
compares them over every stub), encoded by the baseline tier's encoder. A line's first
encoding costs about what Keystone's does; each is encoded once per process (`_DONE`), and
every module's stubs repeat the same lines, so a module's stubs after the first cost a
fraction of a Keystone call.

It knows the instructions those stubs are written in, with Keystone's (LLVM's) choice of
encoding for each: general-register moves, loads and stores, lea, the ALU group, test,
shifts, inc / dec / neg / not, push / pop, calls and jumps (to a label: rel8 where it reaches,
else rel32, relaxed as LLVM does, starting short), ret / leave, movdqu / movsd / movss /
movq / movaps, labels and ``.quad label``. `assemble_text` returns None for text with any
other line: the caller assembles that with Keystone.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Iterable

from .baseline.encoder import ALU, CC, RIP, SHIFT, Asm

_GPR64 = ("rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi")
_GPR32 = ("eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi")
_GPR16 = ("ax", "cx", "dx", "bx", "sp", "bp", "si", "di")
_GPR8 = ("al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil")

#: register name -> (number, size in bytes); xmm registers have size 16
_REGS: dict[str, tuple[int, int]] = {}
for _k in range(8):
    _REGS[_GPR64[_k]], _REGS[_GPR32[_k]] = (_k, 8), (_k, 4)
    _REGS[_GPR16[_k]], _REGS[_GPR8[_k]] = (_k, 2), (_k, 1)
for _k in range(8, 16):
    _REGS[f"r{_k}"], _REGS[f"r{_k}d"] = (_k, 8), (_k, 4)
    _REGS[f"r{_k}w"], _REGS[f"r{_k}b"] = (_k, 2), (_k, 1)
for _k in range(16):
    _REGS[f"xmm{_k}"] = (_k, 16)

_SIZES = {"byte": 1, "word": 2, "dword": 4, "qword": 8, "xmmword": 16}

#: jcc mnemonics (aliases included) -> condition code
_JCC = {"j" + cc: code for cc, code in CC.items()}
_JCC.update({"jz": CC["e"], "jnz": CC["ne"], "jc": CC["b"], "jnc": CC["ae"],
             "jnae": CC["b"], "jnb": CC["ae"], "jna": CC["be"], "jnbe": CC["a"],
             "jnge": CC["l"], "jnl": CC["ge"], "jng": CC["le"], "jnle": CC["g"],
             "jpe": CC["p"], "jpo": CC["np"]})

_LABEL = re.compile(r"^[A-Za-z_.$][\w.$]*$")
_UNARY = {"inc": (0xFF, 0), "dec": (0xFF, 1), "not": (0xF7, 2), "neg": (0xF7, 3)}
_PLAIN = {"ret": b"\xc3", "leave": b"\xc9", "nop": b"\x90", "int3": b"\xcc",
          "ud2": b"\x0f\x0b", "cld": b"\xfc", "std": b"\xfd", "cqo": b"\x48\x99",
          "cdq": b"\x99"}
#: SSE moves: mnemonic -> (prefix, load opcode, store opcode)
_SSE_MOVES = {"movdqu": (0xF3, 0x6F, 0x7F), "movsd": (0xF2, 0x10, 0x11),
              "movss": (0xF3, 0x10, 0x11), "movaps": (None, 0x28, 0x29),
              "movups": (None, 0x10, 0x11), "movdqa": (0x66, 0x6F, 0x7F)}


#: each line's encoding (bytes, or a label reference's (kind, cc, label)) once made: the
#: stubs of every module repeat the same lines (a process assembles a few thousand at most)
_DONE: dict[str, bytes | tuple] = {}
_DONE_MAX = 1 << 16


class Unsupported(Exception):
    """A line outside what this assembler knows (the caller uses Keystone)."""


@dataclass(slots=True)
class _Jump:
    """A reference to a label: a jmp (cc None) or jcc, rel8 or rel32; a call (rel32); or a
    ``.quad`` (the label's offset)."""

    kind: str          # "jmp", "call", "quad"
    cc: int | None
    label: str
    long: bool = False

    def size(self) -> int:
        if self.kind == "quad":
            return 8
        if self.kind == "call":
            return 5
        if not self.long:
            return 2
        return 5 if self.cc is None else 6


def _operand(text: str):
    """('r', number, size) | ('i', value) | ('m', (base, index, scale, disp), size | None) |
    ('l', name)."""
    text = text.strip()
    reg = _REGS.get(text)
    if reg is not None:
        return ("r", *reg)
    size = None
    if text.endswith("]"):
        head, _, inner = text[:-1].partition("[")
        words = head.split()
        if words:
            if len(words) != 2 or words[1] != "ptr" or words[0] not in _SIZES:
                raise Unsupported(text)
            size = _SIZES[words[0]]
        return ("m", _address(inner), size)
    try:
        return ("i", int(text, 0))
    except ValueError:
        pass
    if _LABEL.match(text):
        return ("l", text)
    raise Unsupported(text)


def _address(inner: str) -> tuple:
    base = index = None
    scale, disp = 1, 0
    for term in inner.replace(" ", "").replace("-", "+-").split("+"):
        if not term:
            continue
        if "*" in term:
            a, b = (t.strip() for t in term.split("*"))
            if a in _REGS:
                a, b = b, a
            if index is not None or _REGS.get(b, (0, 0))[1] != 8:
                raise Unsupported(inner)
            index, scale = _REGS[b][0], int(a, 0)
        elif term == "rip":
            base = RIP
        elif term in _REGS:
            if _REGS[term][1] != 8:
                raise Unsupported(inner)
            if base is None:
                base = _REGS[term][0]
            elif index is None:
                index = _REGS[term][0]
            else:
                raise Unsupported(inner)
        else:
            try:
                disp += int(term, 0)
            except ValueError:
                raise Unsupported(inner) from None
    if base is None or (base == RIP and index is not None):
        raise Unsupported(inner)
    return (base, index, scale, disp)


def _imm(value: int, size: int) -> bytes:
    return (value & ((1 << 8 * size) - 1)).to_bytes(size, "little")


def _fits8(x: int) -> bool:
    return -128 <= x < 128


class _Encoder:
    """One instruction's bytes (a scratch Asm, emptied after each)."""

    def __init__(self) -> None:
        self.a = Asm()

    def take(self) -> bytes:
        out = bytes(self.a.code)
        self.a.code.clear()
        return out

    def instruction(self, mnemonic: str, ops: list) -> bytes | _Jump:
        a = self.a
        if mnemonic in _PLAIN and not ops:
            return _PLAIN[mnemonic]
        if mnemonic == "jmp" or mnemonic in _JCC or mnemonic == "call":
            (op,) = ops
            if op[0] == "l":
                return _Jump("call" if mnemonic == "call" else "jmp", _JCC.get(mnemonic),
                             op[1])
            if mnemonic in _JCC:
                raise Unsupported(mnemonic)
            rm = self._rm(op, 8)
            a.op(b"\xff", 4 if mnemonic == "jmp" else 2, rm, 0)
            return self.take()
        if mnemonic == "push" or mnemonic == "pop":
            (op,) = ops
            if op[0] == "r" and op[2] == 8:
                (a.push if mnemonic == "push" else a.pop)(op[1])
            elif op[0] == "m" and op[2] in (8, None):
                a.op(b"\xff" if mnemonic == "push" else b"\x8f",
                     6 if mnemonic == "push" else 0, op[1], 0)
            elif op[0] == "i" and mnemonic == "push":
                v = op[1]
                return b"\x6a" + _imm(v, 1) if _fits8(v) else b"\x68" + _imm(v, 4)
            else:
                raise Unsupported(mnemonic)
            return self.take()
        if mnemonic == "mov":
            return self._mov(*ops)
        if mnemonic in ALU:
            return self._alu(mnemonic, *ops)
        if mnemonic == "test":
            return self._test(*ops)
        if mnemonic == "lea":
            dst, src = ops
            if dst[0] != "r" or dst[2] not in (4, 8) or src[0] != "m":
                raise Unsupported(mnemonic)
            a.op(b"\x8d", dst[1], src[1], dst[2] == 8)
            return self.take()
        if mnemonic == "movsxd":
            dst, src = ops
            if dst[0] != "r" or dst[2] != 8 or src[0] not in "rm" or \
                    (src[0] == "r" and src[2] != 4) or (src[0] == "m" and src[2] not in (4,
                                                                                      None)):
                raise Unsupported(mnemonic)
            a.op(b"\x63", dst[1], src[1], 1)
            return self.take()
        if mnemonic in SHIFT:
            return self._shift(mnemonic, *ops)
        if mnemonic in _UNARY:
            (op,) = ops
            opcode, digit = _UNARY[mnemonic]
            size = self._size(op)
            if size not in (4, 8):
                raise Unsupported(mnemonic)
            a.op(bytes((opcode,)), digit, self._rm(op, size), size == 8)
            return self.take()
        if mnemonic in _SSE_MOVES:
            return self._sse_move(mnemonic, *ops)
        if mnemonic in ("movq", "movd"):
            return self._movq(mnemonic, *ops)
        raise Unsupported(mnemonic)

    # -- operand helpers ------------------------------------------------------------------------

    @staticmethod
    def _size(op) -> int | None:
        return op[2] if op[0] in "rm" else None

    @staticmethod
    def _rm(op, size: int | None):
        """The r/m of a general register or memory operand (of `size` bytes if known)."""
        if op[0] == "r":
            if op[2] == 16 or (size is not None and op[2] != size):
                raise Unsupported("operand size")
            return op[1]
        if op[0] == "m":
            if size is not None and op[2] is not None and op[2] != size:
                raise Unsupported("operand size")
            return op[1]
        raise Unsupported("operand")

    # -- the instruction families ---------------------------------------------------------------

    def _mov(self, dst, src) -> bytes:
        a = self.a
        if dst[0] == "r" and dst[2] in (4, 8):
            w = dst[2] == 8
            if src[0] == "r" and src[2] == dst[2]:
                a.op(b"\x89", src[1], dst[1], w)
            elif src[0] == "m" and src[2] in (dst[2], None):
                a.op(b"\x8b", dst[1], src[1], w)
            elif src[0] == "i":
                v = src[1]
                if not w:
                    out = bytearray(b"\x41" if dst[1] >= 8 else b"")
                    out.append(0xB8 | dst[1] & 7)
                    return bytes(out) + _imm(v, 4)
                if -(1 << 31) <= v < 1 << 31:
                    a.op(b"\xc7", 0, dst[1], 1, imm=_imm(v, 4))
                else:
                    a.movabs(dst[1], v)
            else:
                raise Unsupported("mov")
        elif dst[0] == "m" and src[0] == "r" and src[2] in (4, 8) and \
                dst[2] in (src[2], None):
            a.op(b"\x89", src[1], dst[1], src[2] == 8)
        elif dst[0] == "m" and src[0] == "i" and dst[2] in (4, 8):
            if dst[2] == 8 and not -(1 << 31) <= src[1] < 1 << 31:
                raise Unsupported("mov")
            a.op(b"\xc7", 0, dst[1], dst[2] == 8, imm=_imm(src[1], 4))
        else:
            raise Unsupported("mov")
        return self.take()

    def _alu(self, name: str, dst, src) -> bytes:
        a = self.a
        digit = ALU[name]
        size = self._size(dst) or self._size(src)
        if size not in (4, 8):
            raise Unsupported(name)
        w = size == 8
        if src[0] == "i":
            v = src[1]
            rm = self._rm(dst, size)
            if _fits8(v):
                a.op(b"\x83", digit, rm, w, imm=_imm(v, 1))
            elif rm == 0 and dst[0] == "r":
                return (b"\x48" if w else b"") + bytes((8 * digit + 5,)) + _imm(v, 4)
            else:
                a.op(b"\x81", digit, rm, w, imm=_imm(v, 4))
        elif src[0] == "r" and src[2] == size:
            a.op(bytes((8 * digit + 1,)), src[1], self._rm(dst, size), w)
        elif src[0] == "m" and dst[0] == "r" and src[2] in (size, None):
            a.op(bytes((8 * digit + 3,)), dst[1], src[1], w)
        else:
            raise Unsupported(name)
        return self.take()

    def _test(self, dst, src) -> bytes:
        a = self.a
        size = self._size(dst)
        if size not in (4, 8):
            raise Unsupported("test")
        w = size == 8
        if src[0] == "r" and src[2] == size:
            a.op(b"\x85", src[1], self._rm(dst, size), w)
        elif src[0] == "i":
            if dst[0] == "r" and dst[1] == 0:
                return (b"\x48" if w else b"") + b"\xa9" + _imm(src[1], 4)
            a.op(b"\xf7", 0, self._rm(dst, size), w, imm=_imm(src[1], 4))
        else:
            raise Unsupported("test")
        return self.take()

    def _shift(self, name: str, dst, count) -> bytes:
        a = self.a
        size = self._size(dst)
        if size not in (4, 8):
            raise Unsupported(name)
        rm, w, digit = self._rm(dst, size), size == 8, SHIFT[name]
        if count[0] == "i" and count[1] == 1:
            a.op(b"\xd1", digit, rm, w)
        elif count[0] == "i":
            a.op(b"\xc1", digit, rm, w, imm=_imm(count[1], 1))
        elif count[0] == "r" and count[1:] == (1, 1):            # cl
            a.op(b"\xd3", digit, rm, w)
        else:
            raise Unsupported(name)
        return self.take()

    def _sse_move(self, name: str, dst, src) -> bytes:
        a = self.a
        prefix, load, store = _SSE_MOVES[name]
        if dst[0] == "r" and dst[2] == 16 and (src[0] == "r" and src[2] == 16 or
                                               src[0] == "m"):
            a.op(bytes((0x0F, load)), dst[1], src[1], 0, prefix=prefix)
        elif dst[0] == "m" and src[0] == "r" and src[2] == 16:
            a.op(bytes((0x0F, store)), src[1], dst[1], 0, prefix=prefix)
        else:
            raise Unsupported(name)
        return self.take()

    def _movq(self, name: str, dst, src) -> bytes:
        a = self.a
        w = name == "movq"
        if dst[0] == "r" and dst[2] == 16 and src[0] in "rm" and src[2] != 16:
            a.op(b"\x0f\x6e", dst[1], self._rm(src, 8 if w else 4), w, prefix=0x66)
        elif src[0] == "r" and src[2] == 16 and dst[0] in "rm" and dst[2] != 16:
            a.op(b"\x0f\x7e", src[1], self._rm(dst, 8 if w else 4), w, prefix=0x66)
        else:
            raise Unsupported(name)
        return self.take()


def _split(operands: str) -> list[str]:
    return [o for o in (p.strip() for p in operands.split(",")) if o] if operands else []


def assemble_text(lines: Iterable[str]) -> bytes | None:
    """The machine code of `lines` (labels, ``.quad label`` and instructions of the subset
    above, assembled at address 0), or None when a line is outside the subset."""
    enc = _Encoder()
    frags: list[bytes | _Jump] = []
    labels: dict[str, int] = {}          # label -> index of the fragment it precedes
    try:
        for line in lines:
            line = line.strip()
            if not line:
                continue
            if line.endswith(":"):
                name = line[:-1]
                if not _LABEL.match(name) or name in labels:
                    return None
                labels[name] = len(frags)
                continue
            done = _DONE.get(line)
            if done is None:
                mnemonic, _, rest = line.partition(" ")
                if mnemonic == ".quad":
                    target = rest.strip()
                    if not _LABEL.match(target):
                        return None
                    done = ("quad", None, target)
                else:
                    done = enc.instruction(mnemonic, [_operand(o) for o in _split(rest)])
                    if type(done) is _Jump:
                        done = (done.kind, done.cc, done.label)
                if len(_DONE) < _DONE_MAX:
                    _DONE[line] = done
            frags.append(done if type(done) is bytes else _Jump(*done))
    except (Unsupported, ValueError, TypeError):
        return None
    jumps = [(k, f) for k, f in enumerate(frags) if type(f) is _Jump]
    if any(f.label not in labels for _, f in jumps):
        return None
    sizes = [len(f) if type(f) is bytes else f.size() for f in frags]
    branches = [(k, f) for k, f in jumps if f.kind == "jmp"]
    # lay out with every jump short, lengthen the ones out of reach, again until none is
    # (LLVM's relaxation: a jump only ever grows)
    while True:
        starts = list(itertools.accumulate(sizes, initial=0))
        at = {name: starts[k] for name, k in labels.items()}
        grown = False
        for k, f in branches:
            if not f.long and not -128 <= at[f.label] - starts[k] - 2 < 128:
                f.long = grown = True
                sizes[k] = f.size()
        if not grown:
            break
    for k, f in jumps:
        target = at[f.label]
        end = starts[k + 1]
        if f.kind == "quad":
            frags[k] = target.to_bytes(8, "little")
        elif f.kind == "call":
            frags[k] = b"\xe8" + _imm(target - end, 4)
        elif not f.long:
            frags[k] = bytes((0xEB if f.cc is None else 0x70 | f.cc,)) + _imm(target - end, 1)
        elif f.cc is None:
            frags[k] = b"\xe9" + _imm(target - end, 4)
        else:
            frags[k] = bytes((0x0F, 0x80 | f.cc)) + _imm(target - end, 4)
    return b"".join(frags)     # type: ignore[arg-type]
