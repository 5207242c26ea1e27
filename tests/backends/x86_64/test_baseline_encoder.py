"""The baseline tier's x86_64 encoder (backends/x86_64/baseline/encoder.py), instruction by
instruction against Keystone's encoding of the same instruction in Intel syntax."""

from __future__ import annotations

import pytest

from backends.x86_64.baseline import encoder as E
from backends.x86_64.baseline.encoder import Asm, Label, RIP
from backends.x86_64.target import INT_NAMES8, INT_NAMES32, INT_NAMES64, INT_NAMES16

keystone = pytest.importorskip("keystone")

R64, R32 = INT_NAMES64, INT_NAMES32

#: registers exercising every REX case: low, rsp/rbp (SIB / disp quirks), r8+, r12/r13
REGS = (0, 1, 4, 5, 7, 8, 12, 13, 15)
BASES = (0, 3, 4, 5, 12, 13, 15)
DISPS = (0, 8, -8, 127, -128, 128, -4096, 0x12345678)


def _ks(text: str) -> bytes:
    from backends.keystone_asm import keystone_asm
    enc = keystone_asm(keystone.KS_ARCH_X86, keystone.KS_MODE_64, text + "\n")
    return bytes(enc)


def _mtext(m, size: str = "qword") -> str:
    base, index, scale, disp = m
    text = R64[base]
    if index is not None:
        text += f" + {R64[index]}*{scale}"
    if disp:
        text += f" + {disp}" if disp > 0 else f" - {-disp}"
    return f"{size} ptr [{text}]"


def _one(build) -> bytes:
    a = Asm()
    build(a)
    return a.finish()


MEMS = [E.mem(b, d) for b in BASES for d in DISPS] + \
       [E.mem(b, d, i, s) for b in (0, 5, 13) for i in (1, 8, 13) for s in (1, 2, 4, 8)
        for d in (0, 100, -300)]


def _cases():
    """(assembly text, encoder call) pairs."""
    out = []
    for m in MEMS:
        out.append((f"mov rax, {_mtext(m)}", lambda a, m=m: a.load(E.RAX, m)))
        out.append((f"mov r9d, {_mtext(m, 'dword')}", lambda a, m=m: a.load(E.R9, m, 0)))
        out.append((f"mov {_mtext(m)}, r11", lambda a, m=m: a.store(m, E.R11)))
        out.append((f"lea rcx, {_mtext(m)}".replace("qword ptr ", ""),
                    lambda a, m=m: a.lea(E.RCX, m)))
    m = E.mem(E.RBP, -24)
    mt = _mtext(m)
    for r in REGS:
        for w, names in ((1, R64), (0, R32)):
            n = names[r]
            for op in ("add", "or", "and", "sub", "xor", "cmp"):
                out.append((f"{op} {n}, {names[2]}", lambda a, r=r, w=w, op=op:
                            a.alu_rr(op, r, E.RDX, w)))
                out.append((f"{op} {n}, {_mtext(m, 'qword' if w else 'dword')}",
                            lambda a, r=r, w=w, op=op: a.alu_rm(op, r, m, w)))
                for imm in (1, -1, 127, 128, -129, 0x7FFFFFFF):
                    out.append((f"{op} {n}, {imm}", lambda a, r=r, w=w, op=op, imm=imm:
                                a.alu_ri(op, r, imm, w)))
            out.append((f"mov {n}, {names[13]}", lambda a, r=r, w=w: a.mov_rr(r, 13, w)))
            out.append((f"test {n}, {names[9]}", lambda a, r=r, w=w: a.test_rr(r, 9, w)))
            out.append((f"imul {n}, {_mtext(m, 'qword' if w else 'dword')}",
                        lambda a, r=r, w=w: a.imul_rm(r, m, w)))
            for op in ("shl", "shr", "sar", "rol", "ror"):
                out.append((f"{op} {n}, cl", lambda a, r=r, w=w, op=op: a.shift_cl(op, r, w)))
                out.append((f"{op} {n}, 5", lambda a, r=r, w=w, op=op: a.shift_ri(op, r, 5, w)))
            for op in ("not", "neg", "div", "idiv"):
                out.append((f"{op} {n}", lambda a, r=r, w=w, op=op: a.unary(op, r, w)))
            for op in ("lzcnt", "tzcnt", "popcnt", "bsr", "bsf"):
                out.append((f"{op} {n}, {_mtext(m, 'qword' if w else 'dword')}",
                            lambda a, r=r, w=w, op=op: a.bitcount(op, r, m, w)))
            for op in ("bt", "bts", "btr", "btc"):
                out.append((f"{op} {n}, 7", lambda a, r=r, w=w, op=op: a.bt_ri(op, r, 7, w)))
            for cc in ("e", "ne", "a", "b", "l", "ge", "p", "np"):
                out.append((f"cmov{cc} {n}, {_mtext(m, 'qword' if w else 'dword')}",
                            lambda a, r=r, w=w, cc=cc: a.cmov(cc, r, m, w)))
        out.append((f"movzx {R32[r]}, {INT_NAMES8[3]}", lambda a, r=r: a.movzx8(r, 3)))
        out.append((f"movzx {R32[r]}, {INT_NAMES8[6]}", lambda a, r=r: a.movzx8(r, 6)))
        out.append((f"movsx {R64[r]}, byte ptr [rbp - 24]",
                    lambda a, r=r: a.movsx8(r, m, 1)))
        out.append((f"movsx {R32[r]}, word ptr [rbp - 24]", lambda a, r=r: a.movsx16(r, m)))
        out.append((f"movzx {R32[r]}, word ptr [rbp - 24]", lambda a, r=r: a.movzx16(r, m)))
        out.append((f"movsxd {R64[r]}, dword ptr [rbp - 24]", lambda a, r=r: a.movsxd(r, m)))
        out.append((f"mov byte ptr [rbp - 24], {INT_NAMES8[r]}", lambda a, r=r: a.store8(m, r)))
        out.append((f"mov word ptr [rbp - 24], {INT_NAMES16[r]}",
                    lambda a, r=r: a.store16(m, r)))
        out.append((f"set{'e'} {INT_NAMES8[r]}", lambda a, r=r: a.setcc("e", r)))
        out.append((f"push {R64[r]}", lambda a, r=r: a.push(r)))
        out.append((f"pop {R64[r]}", lambda a, r=r: a.pop(r)))
        out.append((f"call qword ptr [{R64[r]} + 16]", lambda a, r=r: a.call_r(E.mem(r, 16))))
        out.append((f"jmp {R64[r]}", lambda a, r=r: a.jmp_r(r)))
        for imm in (0, 1, 0x7FFFFFFF, 0xFFFFFFFF, -1, 1 << 40, -(1 << 40)):
            text = f"mov {R32[r]}, {imm}" if 0 <= imm < 1 << 32 else \
                f"mov {R64[r]}, {imm}" if -(1 << 31) <= imm < 0 else f"movabs {R64[r]}, {imm}"
            if imm == 0:
                text = f"xor {R32[r]}, {R32[r]}"
            out.append((text, lambda a, r=r, imm=imm: a.mov_ri(r, imm)))
    out.append(("mov qword ptr [rbp - 24], -5", lambda a: a.mov_mi(m, -5)))
    out.append(("mov dword ptr [rbp - 24], 0x80000000", lambda a: a.mov_mi(m, 0x80000000, 0)))
    out.append(("cmp qword ptr [rbp - 24], 0", lambda a: a.alu_ri("cmp", m, 0)))
    out.append(("btc qword ptr [rbp - 24], 63", lambda a: a.bt_ri("btc", m, 63)))
    out.append(("btr dword ptr [rbp - 24], 31", lambda a: a.bt_ri("btr", m, 31, 0)))
    out.append(("cdq", lambda a: a.cdq()))
    out.append(("cqo", lambda a: a.cqo()))
    out.append(("ret", lambda a: a.ret()))
    out.append(("lea rdx, [rip]", lambda a: a.lea_rip(E.RDX)))
    for x in (0, 1, 7, 8, 15):
        xn = f"xmm{x}"
        for name in E.SSE:
            if name.startswith("cvt") or name.startswith("ucomi") or name[-2:] in ("ss", "sd"):
                size = "dword" if (name.endswith("ss") and name != "cvtsd2ss") or name == "cvtss2sd" \
                    else "qword"
                out.append((f"{name} {xn}, {size} ptr [rbp - 24]",
                            lambda a, x=x, name=name: a.sse(name, x, m)))
            out.append((f"{name} {xn}, xmm9", lambda a, x=x, name=name: a.sse(name, x, 9)))
        for d, s, size in ((0, "ss", "dword"), (1, "sd", "qword")):
            out.append((f"mov{s} {xn}, {size} ptr [r13 + 8]",
                        lambda a, x=x, d=d: a.movs_load(x, E.mem(13, 8), d)))
            out.append((f"mov{s} {size} ptr [rsp + 8], {xn}",
                        lambda a, x=x, d=d: a.movs_store(E.mem(4, 8), x, d)))
            out.append((f"cvtsi2{s} {xn}, r10", lambda a, x=x, d=d: a.cvtsi2s(x, 10, d)))
            out.append((f"cvtsi2{s} {xn}, eax", lambda a, x=x, d=d: a.cvtsi2s(x, 0, d, 0)))
            out.append((f"cvtt{s}2si r12, {xn}", lambda a, x=x, d=d: a.cvtts2si(12, x, d)))
            out.append((f"cvtt{s}2si eax, {xn}", lambda a, x=x, d=d: a.cvtts2si(0, x, d, 0)))
            out.append((f"round{s} {xn}, {size} ptr [rbp - 24], 9",
                        lambda a, x=x, d=d: a.rounds(x, m, d, 9)))
            out.append((f"movmskp{s[1]} ecx, {xn}", lambda a, x=x, d=d: a.movmsk(1, x, d)))
        out.append((f"movq {xn}, rcx", lambda a, x=x: a.movq_xr(x, 1)))
        out.append((f"movd {xn}, r9d", lambda a, x=x: a.movq_xr(x, 9, 0)))
        out.append((f"movq r8, {xn}", lambda a, x=x: a.movq_rx(8, x)))
        out.append((f"movd eax, {xn}", lambda a, x=x: a.movq_rx(0, x, 0)))
    return out


CASES = _cases()


@pytest.mark.parametrize("text,build", CASES, ids=[c[0] for c in CASES])
def test_instruction_matches_keystone(text, build):
    assert _one(build).hex() == _ks(text).hex(), text


def test_branches_and_labels():
    """rel32 and rel8 branches to labels placed before and after, a table entry relative to
    its table, and an outside reference recorded as (end of the rel32, symbol)."""
    a = Asm()
    top = Label()
    a.bind(top)
    a.alu_ri("sub", E.RAX, 1)
    fwd, near = Label(), Label()
    a.jcc("ne", fwd)
    a.jcc("e", near, short=True)
    a.jmp(top, short=True)
    a.bind(near)
    a.jmp(top)
    a.call_sym("func3")
    a.bind(fwd)
    a.ret()
    table = Label()
    a.lea_rip(E.RCX, table)
    a.bind(table)
    a.rel32(fwd, a.here())
    code = a.finish()
    import capstone
    cs = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    got = [(i.address, i.size, i.mnemonic, i.op_str) for i in cs.disasm(code[:-4], 0)]
    ret_at = code.index(b"\xc3")
    assert [(g[1], g[2]) for g in got] == [(4, "sub"), (6, "jne"), (2, "je"), (2, "jmp"),
                                          (5, "jmp"), (5, "call"), (1, "ret"), (7, "lea")]
    assert got[1][3] == hex(ret_at) and got[3][3] == "0" and got[4][3] == "0"
    assert got[2][3] == hex(got[4][0])
    assert got[7][3] == "rcx, [rip]"
    # the table entry: fwd - table
    assert int.from_bytes(code[-4:], "little", signed=True) == ret_at - (len(code) - 4)
    assert a.external == [(got[5][0] + 5, "func3")]


def test_short_branch_out_of_reach_is_an_internal_error():
    from engine.errors import InternalError
    a = Asm()
    far = Label()
    a.jmp(far, short=True)
    a.raw(b"\x90" * 200)
    a.bind(far)
    with pytest.raises(InternalError):
        a.finish()


def test_register_numbers_are_the_backends():
    """The encoder numbers registers as backends/x86_64/target.py does (it cannot import it:
    the x86_64 package imports the baseline tier)."""
    from backends.x86_64 import target as T
    names = ("RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI", "R8", "R9", "R10", "R11",
             "R12", "R13", "R14", "R15")
    assert [getattr(E, n) for n in names] == [getattr(T, n) for n in names] == list(range(16))
    assert RIP == -1
