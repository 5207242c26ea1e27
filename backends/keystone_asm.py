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
  threads take turns behind one process-wide lock (renewed in a forked child, which has no
  other threads to wait for).
"""

from __future__ import annotations

import os
import re
import threading
from typing import Iterable

_LOCK = threading.Lock()


def _fresh_lock() -> None:
    # a process forked while another thread held the lock (a compile worker started as a
    # second thread assembles) would wait for it forever: the child starts with its own
    global _LOCK
    _LOCK = threading.Lock()


os.register_at_fork(after_in_child=_fresh_lock)

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


#: the address a symbol defined outside the text is given while the text is assembled: far
#: from address 0, so every reference to it takes the long form (a 32-bit displacement the
#: caller patches once it knows where the symbol is), yet within that displacement's reach
FAR = 0x4000_0000

_ENGINES: dict[tuple[int, int, int], object] = {}


def keystone_asm_external(arch: int, mode: int, text: str,
                          external: Iterable[str]) -> bytes | None:
    """keystone_asm for text that refers to symbols it does not define: each name in
    `external` is defined as the absolute address FAR in front of the text (an assignment,
    not a symbol-resolver callback: Keystone's resolver is a ctypes callback, whose libffi
    closure would leave a writable and executable page in the process). One engine per process
    is kept for these calls (creating one costs about as much as assembling a small function)."""
    from keystone import KS_ARCH_X86, KS_OPT_SYNTAX_INTEL, KS_OPT_SYNTAX_RADIX16, Ks
    head = "".join(f"{name} = {FAR:#x}\n" for name in dict.fromkeys(external))
    text = head + explicit_radix(text)
    with _LOCK:
        key = (os.getpid(), arch, mode)
        ks = _ENGINES.get(key)
        if ks is None:
            ks = _ENGINES[key] = Ks(arch, mode)
            if arch == KS_ARCH_X86:
                ks.syntax = KS_OPT_SYNTAX_INTEL | KS_OPT_SYNTAX_RADIX16
        encoding, _ = ks.asm(text, 0, as_bytes=True)
        return encoding
