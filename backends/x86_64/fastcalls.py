"""x86_64 native fast paths (engine.environ.fastcalls): wasi fd_write of one iovec to a host
descriptor, done with write(2) directly, and fd_read of a few iovecs with readv(2).

Called with the internal convention: fd, iovs, iovs_len, nwritten in edi, esi, edx, ecx,
r15 = FastCallCtx; the errno result in eax. Anything the fast path does not handle (several
iovecs, a descriptor not in the map, a misaligned or out-of-bounds pointer, write(2) failing
before anything was written) tail-jumps to the host function's exit trampoline with the
arguments untouched, so the guest sees exactly what the host function would do. Bounds:
iovs + 8, nwritten + 4 and buf + len must lie within memory's current length, computed in
64 bits (no wrap-around); pointers 4-aligned, as the host function requires.
"""

from __future__ import annotations

from engine.environ import fastcalls as F

_FD_WRITE = F.FastCall.WASI_FD_WRITE.symbol
_FD_READ = F.FastCall.WASI_FD_READ.symbol


def _descriptor_and_memory(s: str) -> list[str]:
    """What both fast paths check first: guest fd (edi) in the map, its entry in r11; the
    memory's base in r8 and length in r9; iovs (esi, zero-extended into eax) 4-aligned."""
    return [
        "  mov eax, edi",
        f"  cmp rax, qword ptr [r15 + {F.FD_MAP_LEN}]", f"  jae {s}_slow",
        f"  mov r10, qword ptr [r15 + {F.FD_MAP}]",
        "  movsxd r11, dword ptr [r10 + 4*rax]",
        "  test r11, r11", f"  js {s}_slow",
        f"  mov r10, qword ptr [r15 + {F.MEMORY}]",
        "  mov r8, qword ptr [r10]",            # memory base
        "  mov r9, qword ptr [r10 + 8]",        # memory length in bytes
        "  mov eax, esi",                       # iovs, zero-extended
        "  test eax, 3", f"  jnz {s}_slow",
    ]


def _fallback(s: str) -> list[str]:
    """`{s}_slow`: the host function through its exit trampoline, arguments untouched."""
    return [f"{s}_slow:",
            f"  mov r10, qword ptr [r15 + {F.FALLBACK_CODE}]",
            f"  mov r15, qword ptr [r15 + {F.FALLBACK_CTX}]",
            "  jmp r10"]


def fd_write_stub() -> list[str]:
    s = _FD_WRITE
    return [
        f"{s}:",
        "  cmp edx, 1", f"  jne {s}_slow",
        *_descriptor_and_memory(s),
        "  lea r10, [rax + 8]", "  cmp r10, r9", f"  ja {s}_slow",
        "  mov r10d, ecx",                      # nwritten
        "  test r10d, 3", f"  jnz {s}_slow",
        "  add r10, 4", "  cmp r10, r9", f"  ja {s}_slow",
        "  mov r10d, dword ptr [r8 + rax]",     # iovec.buf
        "  mov eax, dword ptr [r8 + rax + 4]",  # iovec.buf_len
        "  sub r9, rax", f"  jb {s}_slow",
        "  cmp r10, r9", f"  ja {s}_slow",
        # everything checked: write(host_fd, base + buf, len), again for the rest on a stream
        "  push rbp", "  mov rbp, rsp",
        "  push rdi", "  push rsi", "  push rdx", "  push rcx",
        "  push rbx", "  push r12", "  push r13", "  push r14",
        "  sub rsp, 16", "  mov qword ptr [rsp], rax",   # [rbp - 80]: the length asked for
        "  mov ebx, ecx", "  add rbx, r8",      # host address of nwritten
        "  lea r12, [r8 + r10]",                # next byte to write
        "  mov r13, rax",                       # bytes left
        "  mov r14, r11",                       # host_fd << 1 | is_stream
        f"{s}_again:",
        "  test r13, r13", f"  jz {s}_done",
        "  mov rdi, r14", "  shr rdi, 1",
        "  mov rsi, r12", "  mov rdx, r13",
        f"  call qword ptr [r15 + {F.WRITE}]",
        "  test rax, rax", f"  js {s}_failed",
        f"  jz {s}_done",                       # nothing more taken: report what was
        "  add r12, rax", "  sub r13, rax",
        "  test r14, 1", f"  jnz {s}_again",    # a stream: write the rest
        f"{s}_done:",
        "  mov rax, qword ptr [rbp - 80]", "  sub rax, r13",
        "  mov dword ptr [rbx], eax",
        "  xor eax, eax",
        f"{s}_restore:",
        "  mov r14, qword ptr [rbp - 64]", "  mov r13, qword ptr [rbp - 56]",
        "  mov r12, qword ptr [rbp - 48]", "  mov rbx, qword ptr [rbp - 40]",
        "  leave", "  ret",
        f"{s}_failed:",
        # after part of a stream went out, report that part (as the host function does);
        # before anything did, the general path redoes the call and reports the errno
        "  cmp r13, qword ptr [rbp - 80]", f"  jne {s}_done",
        "  mov r14, qword ptr [rbp - 64]", "  mov r13, qword ptr [rbp - 56]",
        "  mov r12, qword ptr [rbp - 48]", "  mov rbx, qword ptr [rbp - 40]",
        "  mov rcx, qword ptr [rbp - 32]", "  mov rdx, qword ptr [rbp - 24]",
        "  mov rsi, qword ptr [rbp - 16]", "  mov rdi, qword ptr [rbp - 8]",
        "  leave",
        *_fallback(s),
    ]


def fd_read_stub() -> list[str]:
    """wasi fd_read of 1 .. READ_MAX_IOVECS iovecs from a host descriptor with one readv(2),
    as the host function does with one read(2) scattered over them (same bytes, same count);
    same registers and fallback as fd_write's."""
    s = _FD_READ
    return [
        f"{s}:",
        "  cmp edx, 1", f"  jb {s}_slow",
        f"  cmp edx, {F.READ_MAX_IOVECS}", f"  ja {s}_slow",
        *_descriptor_and_memory(s),
        "  mov r10d, edx", "  shl r10, 3", "  add r10, rax",
        "  cmp r10, r9", f"  ja {s}_slow",
        "  mov r10d, ecx",                      # nread
        "  test r10d, 3", f"  jnz {s}_slow",
        "  add r10, 4", "  cmp r10, r9", f"  ja {s}_slow",
        "  push rbp", "  mov rbp, rsp",
        "  push rdi", "  push rsi", "  push rdx", "  push rcx",    # [rbp - 8 .. - 32]
        "  push rbx", "  push r12",                                 # [rbp - 40], [rbp - 48]
        f"  sub rsp, {16 * F.READ_MAX_IOVECS}",                     # the host's iovecs
        "  mov ebx, ecx", "  add rbx, r8",      # host address of nread
        "  xor r10d, r10d",
        f"{s}_iovec:",                          # each buf + buf_len within memory, 64-bit
        "  mov r12d, dword ptr [r8 + rax]",     # iovec.buf
        "  mov ecx, dword ptr [r8 + rax + 4]",  # iovec.buf_len
        "  lea rsi, [r12 + rcx]", "  cmp rsi, r9", f"  ja {s}_back",
        "  lea rsi, [r8 + r12]",
        "  mov qword ptr [rsp + r10], rsi", "  mov qword ptr [rsp + r10 + 8], rcx",
        "  add r10, 16", "  add rax, 8",
        "  dec edx", f"  jnz {s}_iovec",
        "  mov edi, r11d", "  mov rsi, rsp", "  mov edx, dword ptr [rbp - 24]",
        f"  call qword ptr [r15 + {F.READV}]",
        "  test rax, rax", f"  js {s}_back",    # the general path redoes it for its errno
        "  mov dword ptr [rbx], eax",
        "  xor eax, eax",
        "  mov r12, qword ptr [rbp - 48]", "  mov rbx, qword ptr [rbp - 40]",
        "  leave", "  ret",
        f"{s}_back:",
        "  mov r12, qword ptr [rbp - 48]", "  mov rbx, qword ptr [rbp - 40]",
        "  mov rcx, qword ptr [rbp - 32]", "  mov rdx, qword ptr [rbp - 24]",
        "  mov rsi, qword ptr [rbp - 16]", "  mov rdi, qword ptr [rbp - 8]",
        "  leave",
        *_fallback(s),
    ]


def fast_call_stubs() -> list[str]:
    """Every fast path of this target (symbols: FastCall.symbol)."""
    return fd_write_stub() + fd_read_stub()
