"""The stubs' own assembler (backends/x86_64/textasm.py): for every stub text the backend
writes, the bytes Keystone makes for it; each form it knows, against Keystone one line at a
time; anything else is left to Keystone (None)."""

from __future__ import annotations

import itertools

import pytest

from backends.x86_64 import emit, fastcalls, textasm, trampolines as T
from backends.x86_64.textasm import assemble_text
from engine.wasm.types import ValType

keystone = pytest.importorskip("keystone")

I32, I64, F32, F64, V128 = ValType.I32, ValType.I64, ValType.F32, ValType.F64, ValType.V128
REF = ValType.FUNCREF


def _ks(lines: list[str]) -> bytes:
    from backends.keystone_asm import keystone_asm
    return bytes(keystone_asm(keystone.KS_ARCH_X86, keystone.KS_MODE_64,
                              "\n".join(lines) + "\n"))


def _same(lines: list[str]) -> None:
    textasm._DONE.clear()           # (encoded afresh, then from the cache: both as Keystone)
    assert assemble_text(lines) == _ks(lines)
    assert assemble_text(lines) == _ks(lines)


#: signatures of every shape the trampolines move: none, register and stack arguments and
#: results of each class, v128s
SIGNATURES = [((), ()), ((I32,), (I32,)), ((I64, F32, F64), (F64,)), ((REF, I32), (REF,)),
              ((V128, I32, V128), (V128,)), ((I32,) * 10 + (F64,) * 10, (I64, I32)),
              ((F32,) * 12, (F32, I64, F64)), ((I64,) * 7, (I32,) * 3 + (F64,) * 9)]


@pytest.mark.parametrize("params, results", SIGNATURES)
def test_entry_and_exit_trampolines_assemble_as_with_keystone(params, results):
    _same(T.entry_trampoline("e", params, results) + [f"{T.ENTRY_RETURN}:", "ret"])
    _same(T.exit_trampoline("x", params, results) + [f"{T.TRAP}:", "ret"])


def test_the_module_stubs_assemble_as_with_keystone():
    _same(T.common_stubs())
    _same(T.lazy_entry() + T.common_stubs())
    _same(T.epoch_stubs())
    _same(fastcalls.fast_call_stubs())
    _same([f".quad {s}" for s in (T.LAZY, T.TRAP, T.EPOCH_SLOW)] + T.lazy_entry()
          + T.common_stubs() + T.epoch_stubs())


FORMS = [
    "mov rax, rbx", "mov r9d, eax", "mov r12, qword ptr [rsp]", "mov rax, qword ptr [rbp]",
    "mov eax, dword ptr [r13 + 4*rcx - 8]", "mov qword ptr [r12 + 8], r15",
    "mov dword ptr [rdi], eax", "mov qword ptr [rax + 4096], 0", "mov dword ptr [rsp], -1",
    "mov eax, 1", "mov r11d, 4000000000", "mov rax, -5", "mov r10, 2147483647",
    "mov rax, 81985529216486895", "movsxd r11, dword ptr [r10 + 4*rax]", "movsxd rax, ecx",
    "lea rsp, [rbp - 48]", "lea esi, [rax - 1]", "lea rdx, [rip]", "lea r8, [r9 + r10*8]",
    "add rsp, 8", "sub rsp, 256", "and rsp, -16", "cmp rax, 256", "cmp eax, 300",
    "cmp esi, 5", "xor eax, eax", "or r8, r9", "cmp rsp, qword ptr [r15 + 8]",
    "add qword ptr [rax], rcx", "sub dword ptr [rsp + 4], 1000", "cmp qword ptr [rbx], 7",
    "test rcx, rcx", "test eax, 3", "test r10d, 65536", "test rax, 1",
    "shl rax, 1", "shr r9, 3", "sar eax, cl", "shl dword ptr [rsp], 2",
    "dec rax", "inc r12d", "neg rcx", "not eax",
    "push rbp", "push r15", "pop r12", "push qword ptr [rax + 200]", "pop qword ptr [rsp]",
    "push 1", "push 1000", "ret", "leave", "nop", "int3", "ud2", "cld", "std", "cqo", "cdq",
    "call r11", "call qword ptr [rax + 88]", "jmp rax", "jmp qword ptr [rcx + 24]",
    "movdqu xmmword ptr [rsp + 16], xmm1", "movdqu xmm14, xmmword ptr [rsp + 224]",
    "movsd xmm0, qword ptr [r10 + 8]", "movsd qword ptr [rsp], xmm9", "movsd xmm1, xmm2",
    "movss xmm3, dword ptr [rax]", "movaps xmm4, xmm12", "movups xmm0, xmmword ptr [rdi]",
    "movq xmm0, rax", "movq r9, xmm15", "movd xmm1, ecx", "movd eax, xmm2",
]


@pytest.mark.parametrize("line", FORMS)
def test_each_form_assembles_as_with_keystone(line):
    _same([line])


JUMPS = ["jmp", "je", "jne", "jz", "jnz", "jb", "jae", "ja", "jbe", "jl", "jge", "jg", "jle",
         "js", "jns", "jo", "jno", "jp", "jnp", "jc", "jnc", "jnae", "jnb", "jna", "jnbe",
         "jnge", "jnl", "jng", "jnle", "jpe", "jpo", "call"]


@pytest.mark.parametrize("jump", JUMPS)
@pytest.mark.parametrize("gap", [0, 30, 125, 126, 127, 128, 129, 4000])
def test_jumps_take_the_short_form_where_it_reaches_as_with_keystone(jump, gap):
    pad = ["nop"] * gap
    _same([f"{jump} ahead", *pad, "ahead:", "ret"])            # forward
    _same(["back:", *pad, f"{jump} back", "ret"])               # backward


def test_relaxing_one_jump_can_take_another_out_of_reach():
    # each long jump lengthens the code another jump spans: LLVM's relaxation grows them
    # until none is out of reach
    for n in range(118, 126):
        lines = ["jmp far", *["je far"] * 4, *["nop"] * n, "far:", "ret"]
        _same(lines)


def test_symbol_tables_hold_the_labels_offsets():
    lines = [".quad b", ".quad a", "a:", "push rbp", "b:", "pop rbp", "ret"]
    code = assemble_text(lines)
    assert code[:16] == (17).to_bytes(8, "little") + (16).to_bytes(8, "little")
    _same(lines)


@pytest.mark.parametrize("lines", [
    ["paddd xmm0, xmm1"], ["mov ax, bx"], ["jmp nowhere"], ["mov rax, qword ptr [rip + x]"],
    ["lea rax, [rbx - rcx]"], ["a:", "a:", "ret"], ["mov rax, [rbx + rcx + rdx]"],
    ["mov eax, rbx"], ["je rax"], ["mov qword ptr [rax], 4294967296"], [".quad 12"]])
def test_lines_it_does_not_know_are_left_to_keystone(lines):
    assert assemble_text(lines) is None


def test_the_backend_s_assemble_gives_keystone_s_code_and_symbols():
    parts = T.lazy_entry() + T.common_stubs() + list(itertools.chain.from_iterable(
        T.exit_trampoline(f"exit_{k}", p, r) for k, (p, r) in enumerate(SIGNATURES)))
    symbols = [T.LAZY, T.TIER_UP, T.TRAP] + [f"exit_{k}" for k in range(len(SIGNATURES))]
    code = emit.assemble(parts, symbols)
    assert code.code == _ks([f".quad {s}" for s in symbols] + parts)
    assert code.symbols[T.TRAP] == int.from_bytes(code.code[16:24], "little") > 0
