"""backends/keystone_asm.py: one lock around Keystone, and a retry in a fresh process when the
in-process Keystone rejects text."""

from __future__ import annotations

import keystone
import pytest
from keystone import KS_ARCH_X86, KS_MODE_64, KsError

from backends.keystone_asm import keystone_asm

TEXT = "mov rax, 1\nret\n"


def test_assembles():
    assert keystone_asm(KS_ARCH_X86, KS_MODE_64, TEXT) == bytes.fromhex("48c7c001000000c3")


def test_rejection_in_process_is_retried_in_a_fresh_one(monkeypatch):
    class Rejecting:
        def __init__(self, *args):
            pass

        def asm(self, *args, **kwargs):
            raise KsError(keystone.KS_ERR_ASM)

    monkeypatch.setattr(keystone, "Ks", Rejecting)
    assert keystone_asm(KS_ARCH_X86, KS_MODE_64, TEXT) == bytes.fromhex("48c7c001000000c3")


def test_text_rejected_everywhere_raises():
    with pytest.raises(KsError):
        keystone_asm(KS_ARCH_X86, KS_MODE_64, "no_such_instruction rax\n")
