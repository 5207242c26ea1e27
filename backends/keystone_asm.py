"""Keystone, the assembler of the x86_64 and aarch64 backends (and of the native call stubs),
behind one process-wide lock. ctypes releases the GIL while ks_asm runs, and Keystone does not
document itself as safe to use from several threads at once (it keeps LLVM MC state), so
engines compiling on several threads take turns here."""

from __future__ import annotations

import threading

_LOCK = threading.Lock()


def keystone_asm(arch: int, mode: int, text: str) -> bytes | None:
    """Assemble `text` at address 0; the encoding, or None when Keystone produced nothing.
    Raises keystone.KsError when Keystone rejects the text."""
    from keystone import Ks
    with _LOCK:
        encoding, _ = Ks(arch, mode).asm(text, 0, as_bytes=True)
    return encoding
