"""Keystone, the assembler of the x86_64 and aarch64 backends (and of the native call stubs),
behind one process-wide lock. ctypes releases the GIL while ks_asm runs, and Keystone does not
document itself as safe to use from several threads at once (it keeps LLVM MC state), so
engines compiling on several threads take turns here.

Keystone 0.9.2 has also been seen, in long test processes, to reject text it assembles in a
fresh process ("Unknown error", repeatably within the process: some of its global state goes
bad). A rejection is therefore retried once in a child process with a clean Keystone; only a
rejection there too is an error (a real emitter bug)."""

from __future__ import annotations

import subprocess
import sys
import threading

_LOCK = threading.Lock()

_CHILD = (
    "import sys\n"
    "from keystone import Ks\n"
    "arch, mode = int(sys.argv[1]), int(sys.argv[2])\n"
    "enc, _ = Ks(arch, mode).asm(sys.stdin.read(), 0, as_bytes=True)\n"
    "sys.stdout.buffer.write(enc or b'')\n"
)


def keystone_asm(arch: int, mode: int, text: str) -> bytes | None:
    """Assemble `text` at address 0; the encoding, or None when Keystone produced nothing.
    Raises keystone.KsError when Keystone rejects the text (here and in a fresh process)."""
    from keystone import Ks, KsError
    with _LOCK:
        try:
            encoding, _ = Ks(arch, mode).asm(text, 0, as_bytes=True)
            return encoding
        except KsError as error:
            first = error
    child = subprocess.run([sys.executable, "-c", _CHILD, str(arch), str(mode)],
                           input=text.encode(), capture_output=True, timeout=600)
    if child.returncode != 0:
        raise first
    return child.stdout or None
