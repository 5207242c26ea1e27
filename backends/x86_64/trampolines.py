"""x86_64 module-level stubs: the trap stub, the shared entry-return path, per-signature entry
trampolines (C ABI -> internal convention) and exit trampolines (internal -> host callback).

Entry trampoline, C signature ``int entry(vmctx, code, buf)``: loads the arguments from
`buf` (8 bytes per value, f32 in the low half, 16 for a v128), calls `code` with vmctx in r15,
stores the results
back into `buf` from offset 0, returns 0; a trap returns 1 with the code in ExecState.trap_code.
Frame (rbp-relative): -8..-40 rbx r12 r13 r14 r15, -48 previous ExecState.entry_sp, -56 buf,
-64 ExecState pointer, -72 previous catch record (vmctx.STATE_CATCH, 0 while this entry
runs), -80 padding. ExecState.entry_sp holds the trampoline's rbp while wasm code runs.

The trap stub takes the code in esi and the trap pc in rdx (an address inside the trapping
function's code, 0 when a host function trapped). An exception (code vmctx.EXCEPTION) with a
catch record linked goes to that record's landing instead (rsp, rbp, r15 from the record).

Exit trampoline: internal convention in, r15 = HostCtx; spills the arguments into a stack
buffer and calls helper HOST_CALL(host_ctx, buf), which returns 0 (results in buf) or a trap
code + 1 (then it unwinds through the trap stub).
"""

from __future__ import annotations

from engine.environ.helpers import HELPER_INDEX, Helper
from ..base import EPOCH_SYMBOL, TIER_UP_SYMBOL, TRAP_SYMBOL
from engine.environ import vmctx as V
from engine.errors import TrapCode
from engine.wasm.types import ValType
from . import abi
from ..callconv import buffer_offsets, reg_class, words
from .target import reg_name

#: where a function's frame keeps its caller's frame pointer and its return address, relative
#: to its frame pointer (the chain the trap's backtrace walks from ExecState.trap_fp)
FRAME_LINK = 0
FRAME_RETURN = 8

TRAP = TRAP_SYMBOL
ENTRY_RETURN = "__entry_return"


#: the epoch check's slow path: calls helper EPOCH(vmctx) preserving every register but r11,
#: which receives the verdict (0: go on, nonzero: trap INTERRUPT)
EPOCH_SLOW = EPOCH_SYMBOL

_SAVED_GPRS = ("rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10")


def _preserving_call(name: str, helper: Helper, arg: str | None, result: str | None
                     ) -> list[str]:
    """Stub `name`: calls `helper`(vmctx[, arg]) preserving every register but r11 (the
    result to `result` when given)."""
    lines = [f"{name}:", "  push rbp", "  mov rbp, rsp"]
    lines += [f"  push {r}" for r in _SAVED_GPRS]
    lines += ["  sub rsp, 256", "  and rsp, -16"]
    lines += [f"  movdqu xmmword ptr [rsp + {16 * i}], xmm{i}" for i in range(16)]
    lines += ["  mov rdi, r15"] + ([f"  mov rsi, {arg}"] if arg else [])
    lines += [f"  mov rax, qword ptr [r15 + {V.HELPERS}]",
              f"  call qword ptr [rax + {8 * HELPER_INDEX[helper]}]"]
    lines += [f"  mov {result}, rax"] if result else []
    lines += [f"  movdqu xmm{i}, xmmword ptr [rsp + {16 * i}]" for i in range(16)]
    lines += [f"  lea rsp, [rbp - {8 * len(_SAVED_GPRS)}]"]
    lines += [f"  pop {r}" for r in reversed(_SAVED_GPRS)]
    lines += ["  pop rbp", "  ret"]
    return lines


def epoch_slow_stub() -> list[str]:
    return _preserving_call(EPOCH_SLOW, Helper.EPOCH, None, "r11")


def epoch_stubs() -> list[str]:
    """What epoch checks call (only in modules compiled with them)."""
    return epoch_slow_stub()


def common_stubs() -> list[str]:
    return [
        f"{ENTRY_RETURN}:",
        "  mov rcx, qword ptr [rbp - 64]",
        "  mov rdx, qword ptr [rbp - 48]",
        f"  mov qword ptr [rcx + {V.STATE_ENTRY_SP}], rdx",
        "  mov rdx, qword ptr [rbp - 72]",
        f"  mov qword ptr [rcx + {V.STATE_CATCH}], rdx",
        "  lea rsp, [rbp - 40]",
        "  pop r15", "  pop r14", "  pop r13", "  pop r12", "  pop rbx", "  pop rbp",
        "  ret",
        f"{TRAP}:",
        f"  mov rax, qword ptr [r15 + {V.STATE}]",
        f"  cmp esi, {V.EXCEPTION}",
        f"  jne {TRAP}_trap",
        f"  mov rcx, qword ptr [rax + {V.STATE_CATCH}]",
        "  test rcx, rcx",
        f"  jz {TRAP}_trap",
        f"  mov rsp, qword ptr [rcx + {V.CATCH_SP}]",
        f"  mov rbp, qword ptr [rcx + {V.CATCH_FP}]",
        f"  mov r15, qword ptr [rcx + {V.CATCH_VMCTX}]",
        f"  jmp qword ptr [rcx + {V.CATCH_PC}]",
        f"{TRAP}_trap:",
        f"  mov qword ptr [rax + {V.STATE_TRAP_CODE}], rsi",
        f"  mov qword ptr [rax + {V.STATE_TRAP_PC}], rdx",
        f"  mov qword ptr [rax + {V.STATE_TRAP_FP}], rbp",
        # a trap in wasm code (not from a host function): helper BACKTRACE reads the frames
        # now, before returning to the host reuses their stack (r15 is the code's vmctx)
        "  test rdx, rdx",
        f"  jz {TRAP}_unwind",
        "  and rsp, -16",
        "  mov rdi, r15", "  mov rsi, rbp",
        f"  mov rax, qword ptr [r15 + {V.HELPERS}]",
        f"  call qword ptr [rax + {8 * HELPER_INDEX[Helper.BACKTRACE]}]",
        f"  mov rax, qword ptr [r15 + {V.STATE}]",
        f"{TRAP}_unwind:",
        f"  mov rbp, qword ptr [rax + {V.STATE_ENTRY_SP}]",
        "  mov eax, 1",
        f"  jmp {ENTRY_RETURN}",
    ]


def _mov_in(loc_reg: int, src: str, t=None) -> str:
    if t is ValType.V128:
        return f"  movdqu {reg_name(loc_reg)}, xmmword ptr {src}"
    return f"  {'movsd' if loc_reg >= 16 else 'mov'} {reg_name(loc_reg)}, qword ptr {src}"


def _mov_out(dst: str, loc_reg: int, t=None) -> str:
    if t is ValType.V128:
        return f"  movdqu xmmword ptr {dst}, {reg_name(loc_reg)}"
    return f"  {'movsd' if loc_reg >= 16 else 'mov'} qword ptr {dst}, {reg_name(loc_reg)}"


def shape(params, results) -> tuple:
    """What a trampoline's code depends on: each value's register class (an integer or
    reference moves as 8 bytes, an f32 or f64 through movsd as 8 bytes, a v128 as 16), so
    signatures of one shape share their entry and exit trampolines."""
    return tuple(map(reg_class, params)), tuple(map(reg_class, results))


def entry_trampoline(name: str, params, results) -> list[str]:
    plocs, pstack = abi.assign(params)
    rlocs, rstack = abi.assign(results, results=True)
    poff, roff = buffer_offsets(params), buffer_offsets(results)
    out_bytes = 8 * max(pstack, rstack)
    out_bytes += out_bytes % 16
    lines = [f"{name}:", "  push rbp", "  mov rbp, rsp",
             "  push rbx", "  push r12", "  push r13", "  push r14", "  push r15",
             "  mov r15, rdi",
             f"  mov rax, qword ptr [r15 + {V.STATE}]",
             f"  push qword ptr [rax + {V.STATE_ENTRY_SP}]",
             "  push rdx", "  push rax",
             f"  push qword ptr [rax + {V.STATE_CATCH}]", "  push rax",
             f"  mov qword ptr [rax + {V.STATE_CATCH}], 0"]
    if out_bytes:
        lines.append(f"  sub rsp, {out_bytes}")
    lines.append(f"  mov qword ptr [rax + {V.STATE_ENTRY_SP}], rbp")
    lines += ["  mov r11, rsi", "  mov r10, rdx"]
    for i, loc in enumerate(plocs):
        if loc.stack is not None:
            for w in words(params[i]):
                lines += [f"  mov rax, qword ptr [r10 + {poff[i] + 8 * w}]",
                          f"  mov qword ptr [rsp + {8 * (loc.stack + w)}], rax"]
    for i, loc in enumerate(plocs):
        if loc.reg is not None:
            lines.append(_mov_in(loc.reg, f"[r10 + {poff[i]}]", params[i]))
    lines += ["  call r11", "  mov r10, qword ptr [rbp - 56]"]
    for i, loc in enumerate(rlocs):
        if loc.reg is not None:
            lines.append(_mov_out(f"[r10 + {roff[i]}]", loc.reg, results[i]))
        else:
            for w in words(results[i]):
                lines += [f"  mov r11, qword ptr [rsp + {8 * (loc.stack + w)}]",
                          f"  mov qword ptr [r10 + {roff[i] + 8 * w}], r11"]
    lines += ["  xor eax, eax", f"  jmp {ENTRY_RETURN}"]
    return lines


def exit_trampoline(name: str, params, results) -> list[str]:
    plocs, _ = abi.assign(params)
    rlocs, _ = abi.assign(results, results=True)
    poff, roff = buffer_offsets(params), buffer_offsets(results)
    n = max(sum(map(len, map(words, params))), sum(map(len, map(words, results))), 1)
    size = 8 * n + (8 * n) % 16
    lines = [f"{name}:", "  push rbp", "  mov rbp, rsp", f"  sub rsp, {size}"]
    for i, loc in enumerate(plocs):
        if loc.reg is not None:
            lines.append(_mov_out(f"[rsp + {poff[i]}]", loc.reg, params[i]))
        else:
            for w in words(params[i]):
                lines += [f"  mov r11, qword ptr [rbp + {16 + 8 * (loc.stack + w)}]",
                          f"  mov qword ptr [rsp + {poff[i] + 8 * w}], r11"]
    lines += ["  mov rdi, r15", "  mov rsi, rsp",
              f"  mov rax, qword ptr [r15 + {V.HOSTCTX_HELPERS}]",
              f"  call qword ptr [rax + {8 * HELPER_INDEX[Helper.HOST_CALL]}]",
              "  test eax, eax", f"  jne {name}_trap"]
    for i, loc in enumerate(rlocs):
        if loc.stack is not None:
            for w in words(results[i]):
                lines += [f"  mov r11, qword ptr [rsp + {roff[i] + 8 * w}]",
                          f"  mov qword ptr [rbp + {16 + 8 * (loc.stack + w)}], r11"]
    for i, loc in enumerate(rlocs):
        if loc.reg is not None:
            lines.append(_mov_in(loc.reg, f"[rsp + {roff[i]}]", results[i]))
    lines += ["  leave", "  ret", f"{name}_trap:", "  lea esi, [rax - 1]", "  xor edx, edx",
              f"  jmp {TRAP}"]
    return lines


# -- lazy compilation -----------------------------------------------------------------------------

#: where every uncompiled function's thunk goes: helper LAZY_COMPILE(vmctx, index in r11)
LAZY = "__lazy"
#: bytes of each function's stub (they come first in a lazy unit, in defined-function order)
LAZY_STUB_SIZE = 8
_LAZY_ARGS = ("rdi", "rsi", "rdx", "rcx", "r8", "r9")


#: a thunk's size when encoded by lazy_thunks: mov r11d, imm32 (6 bytes), jmp rel32 (5)
LAZY_THUNK_SIZE = 11


def lazy_stubs(count: int, distance: int) -> bytes:
    """The machine code of a lazy unit's `count` function stubs (LAZY_STUB_SIZE bytes each),
    the first at the start of the unit's code: stub k jumps through slot k of the table,
    whose slot 0 is `distance` bytes before the first stub (so every stub has the same
    displacement): jmp qword ptr [rip - (distance + 6)], int3, int3. A lazy unit has one per
    function: encoded here, not assembled, they cost nothing to instantiate."""
    return (b"\xff\x25" + (-(distance + 6)).to_bytes(4, "little", signed=True)
            + b"\xcc\xcc") * count


def lazy_thunks(first: int, count: int, at: int, entry: int) -> bytes:
    """The machine code of the thunks (what a slot holds until its function is compiled) of
    functions first .. first + count - 1, the first at offset `at` of the unit and LAZY at
    offset `entry`, LAZY_THUNK_SIZE bytes each: mov r11d, index; jmp rel32 LAZY."""
    out = bytearray()
    for k in range(count):
        end = at + LAZY_THUNK_SIZE * (k + 1)
        out += b"\x41\xbb" + (first + k).to_bytes(4, "little") + b"\xe9" + \
            (entry - end).to_bytes(4, "little", signed=True)
    return bytes(out)


#: what a hot function's counted baseline code calls: helper TIER_UP(vmctx, what r11 holds:
#: backends.base.osr_request), its result in r11, every other register preserved
TIER_UP = TIER_UP_SYMBOL
#: the lazy unit's symbols besides the stubs and thunks (ModuleCompiler.lazy_unit)
LAZY_SYMBOLS = (LAZY, TIER_UP)


def lazy_entry() -> list[str]:
    """Calls helper LAZY_COMPILE(vmctx, index) with the callee's arguments kept (registers
    saved, stack arguments untouched above the return address), then jumps to the code it
    returns; a result below 256 is a trap code + 1. The helper runs Python on this stack, so
    a caller already at the stack limit traps first, as the callee's own check would."""
    lines = [f"{LAZY}:", f"  cmp rsp, qword ptr [r15 + {V.STACK_LIMIT}]",
             f"  jb {LAZY}_overflow", "  push rbp", "  mov rbp, rsp"]
    lines += [f"  push {r}" for r in _LAZY_ARGS]
    lines += ["  sub rsp, 128"]
    lines += [f"  movdqu xmmword ptr [rsp + {16 * i}], xmm{i}" for i in range(8)]
    lines += ["  mov rdi, r15", "  mov rsi, r11", f"  mov rax, qword ptr [r15 + {V.HELPERS}]",
              f"  call qword ptr [rax + {8 * HELPER_INDEX[Helper.LAZY_COMPILE]}]"]
    lines += [f"  movdqu xmm{i}, xmmword ptr [rsp + {16 * i}]" for i in range(8)]
    lines += [f"  lea rsp, [rbp - {8 * len(_LAZY_ARGS)}]"]
    lines += [f"  pop {r}" for r in reversed(_LAZY_ARGS)]
    lines += ["  pop rbp", "  cmp rax, 256", f"  jb {LAZY}_fail", "  jmp rax",
              f"{LAZY}_fail:", "  lea esi, [rax - 1]", "  xor edx, edx", f"  jmp {TRAP}",
              f"{LAZY}_overflow:", f"  mov esi, {int(TrapCode.STACK_OVERFLOW)}",
              "  xor edx, edx", f"  jmp {TRAP}"]
    return lines + _preserving_call(TIER_UP, Helper.TIER_UP, "r11", "r11")
