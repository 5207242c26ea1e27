"""Native fast paths for hot host functions: machine code that does the common case of a host
function itself (no exit trampoline, no Python) and tail-jumps to the ordinary host call for
everything else, so the result is always the host function's.

A fast path sits in an import slot (or FuncRef record) in place of the exit trampoline; its
"vmctx" is a FastCallCtx (8-byte fields):
  0  fallback_code  the exit trampoline of the host function (the general path)
  8  fallback_ctx   its HostCtx
 16  memory         address of the caller's memory definition (base; length at +8)
 24  fd_map         address of the descriptor map (int32 entries, see below)
 32  fd_map_len     number of entries
 40  write          address of the C library's write(2)
 48  readv          address of the C library's readv(2)

Descriptor map entry for guest fd i: -1 when the fast path must not handle it, else, in
fd_write's map, ``host_fd << 1 | is_stream`` for a host descriptor the guest may write (a
stream is written until everything is out, as the host function does for stdio), and in
fd_read's map the host descriptor the guest may read (a file's contents, not a directory).
"""

from __future__ import annotations

import enum


class FastCall(enum.Enum):
    """Host functions with a native fast path; the value is the stub's symbol suffix."""

    WASI_FD_WRITE = "wasi_fd_write"
    WASI_FD_READ = "wasi_fd_read"

    @property
    def symbol(self) -> str:
        return "__fast_" + self.value


FALLBACK_CODE = 0
FALLBACK_CTX = 8
MEMORY = 16
FD_MAP = 24
FD_MAP_LEN = 32
WRITE = 40
READV = 48
CTX_SIZE = 56

#: the most iovecs the fd_read fast path takes (more go to the host function)
READ_MAX_IOVECS = 8

#: descriptor map entry of a guest fd the fast path leaves to the host function
FD_NONE = -1
