"""backends/keystone_asm.py: numbers reach Keystone in an explicit radix, so its indeterminate
default radix (Keystone 0.9.2) cannot change what the backends' text means."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from keystone import KS_ARCH_ARM64, KS_ARCH_X86, KS_MODE_64, KS_MODE_LITTLE_ENDIAN, KsError

from backends.keystone_asm import explicit_radix, keystone_asm


@pytest.mark.parametrize("text, expected", [
    ("mov rax, qword ptr [r15 + 16]", "mov rax, qword ptr [r15 + 0x10]"),
    ("lea rsp, [rbp - 40]", "lea rsp, [rbp - 0x28]"),
    ("movabs rax, 9223372036854775807", "movabs rax, 0x7fffffffffffffff"),
    ("ldr x0, [x1, #4088]", "ldr x0, [x1, #0xff8]"),
    ("movz x0, #65535, lsl #48", "movz x0, #0xffff, lsl #0x30"),
    ("mov ecx, -100", "mov ecx, -0x64"),
])
def test_decimal_numbers_become_hexadecimal(text, expected):
    assert explicit_radix(text) == expected


@pytest.mark.parametrize("text", [
    "mov r15, r10", "movaps xmm15, xmm12", "jmp .Lfunc12_b34", "call func10",
    "ldr x30, [sp, #8]", "mov rax, 0x10", "add w10, w11, w12", "fmov d17, d31", "entry_i32__i32:",
])
def test_registers_labels_single_digits_and_hex_are_left_alone(text):
    assert explicit_radix(text) == text


def test_x86_numbers_mean_decimal():
    # keystone_asm selects radix 16 on x86, so this passes only through the rewrite
    code = keystone_asm(KS_ARCH_X86, KS_MODE_64,
                        "mov rax, qword ptr [r15 + 16]\nmov ecx, 15\nmov r8, -16\nret\n")
    assert code == bytes.fromhex("498b4710" "b90f000000" "49c7c0f0ffffff" "c3")


def test_after_a_radix16_engine_was_freed_text_still_means_decimal():
    """Keystone 0.9.2 reads its default radix from uninitialised memory: a new engine that gets
    the memory of a freed radix-16 engine misreads "16" as 0x16. Shown in a fresh process
    (deterministic heap), on a raw engine first, then through keystone_asm."""
    script = textwrap.dedent("""
        import keystone as K
        from backends.keystone_asm import keystone_asm
        poison = K.Ks(K.KS_ARCH_X86, K.KS_MODE_64)
        poison.syntax = K.KS_OPT_SYNTAX_INTEL | K.KS_OPT_SYNTAX_RADIX16
        poison.asm("nop")
        del poison
        raw = K.Ks(K.KS_ARCH_ARM64, K.KS_MODE_LITTLE_ENDIAN)
        print(raw.asm("ldr x0, [x1, #16]", 0, as_bytes=True)[0].hex())
        del raw
        print(keystone_asm(K.KS_ARCH_ARM64, K.KS_MODE_LITTLE_ENDIAN, "ldr x0, [x1, #16]").hex())
        print(keystone_asm(K.KS_ARCH_X86, K.KS_MODE_64, "mov ecx, 15").hex())
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout.split()
    ldr_16 = "200840f9"          # ldr x0, [x1, #16]
    assert out[0] != ldr_16, "precondition: the raw engine inherited radix 16"
    assert out[1] == ldr_16
    assert out[2] == "b90f000000"


def test_aarch64_immediates_and_offsets():
    code = keystone_asm(KS_ARCH_ARM64, KS_MODE_LITTLE_ENDIAN,
                        "ldr x0, [x1, #16]\nmovz x2, #4660, lsl #16\nret\n")
    assert code == bytes.fromhex("200840f9" "8246a2d2" "c0035fd6")


def test_rejected_text_raises():
    with pytest.raises(KsError):
        keystone_asm(KS_ARCH_X86, KS_MODE_64, "no_such_instruction rax\n")
