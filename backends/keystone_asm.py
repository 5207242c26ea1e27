"""Keystone, the assembler of the x86_64 and aarch64 backends (and of the native call stubs).

Two facts about Keystone 0.9.2 shape this module:

* Its default radix for numbers without a prefix is indeterminate: the field is not
  initialised, so a new engine reads whatever its heap memory held before. Usually that means
  decimal, but in long processes (and always after an engine that selected
  KS_OPT_SYNTAX_RADIX16 was freed) "16" silently assembles as 0x16: wrong displacements,
  immediates and shift amounts in valid-looking code, or a rejection ("Unknown error") when the
  hex value does not fit. Selecting a syntax on x86 sets radix 16 as well. So every number of
  two or more digits is rewritten here as an explicit hexadecimal literal (``0x...``, read the
  same in any radix; single digits are equal in both), and x86 engines select Intel syntax
  with radix 16 explicitly, so a number that somehow escaped the rewrite would be misread
  every time, not once in a while.
* ctypes releases the GIL while ks_asm runs and Keystone does not document itself as safe to
  use from several threads at once (it keeps LLVM MC state), so engines compiling on several
  threads take turns behind one process-wide lock.
"""

from __future__ import annotations

import re
import threading

_LOCK = threading.Lock()

#: a number of two or more digits standing alone (not part of r15, xmm10, .L12, func10, 0x10)
_DECIMAL = re.compile(r"\b\d\d+\b", re.ASCII)


def _hex(match: re.Match) -> str:
    return hex(int(match.group()))


def explicit_radix(text: str) -> str:
    """`text` with every decimal number of two or more digits written in hexadecimal."""
    return _DECIMAL.sub(_hex, text)


def keystone_asm(arch: int, mode: int, text: str) -> bytes | None:
    """Assemble `text` (decimal numbers, as every emitter writes them) at address 0; the
    encoding, or None when Keystone produced nothing. Raises keystone.KsError when Keystone
    rejects the text."""
    from keystone import KS_ARCH_X86, KS_OPT_SYNTAX_INTEL, KS_OPT_SYNTAX_RADIX16, Ks
    text = explicit_radix(text)
    with _LOCK:
        ks = Ks(arch, mode)
        if arch == KS_ARCH_X86:
            ks.syntax = KS_OPT_SYNTAX_INTEL | KS_OPT_SYNTAX_RADIX16
        encoding, _ = ks.asm(text, 0, as_bytes=True)
        return encoding
