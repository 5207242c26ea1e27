"""aarch64 module-level stubs: the trap stub, the shared entry-return path, per-signature entry
trampolines (AAPCS64 -> internal convention) and exit trampolines (internal -> host callback).

Entry trampoline, C signature ``int entry(vmctx, code, buf)``: loads the arguments from `buf`
(8 bytes per value, f32 in the low half, 16 for a v128, low half first), calls `code` with
vmctx in x28, stores the results back into `buf` from offset 0, returns 0; a trap returns 1
with the code in ExecState.trap_code.
Frame (192 bytes, x29 = sp at its base): [0] x29, x30; [16..80) x19-x26; [80] x27, x28;
[96..160) d8-d15; [160] previous ExecState.entry_sp; [168] buf; [176] ExecState pointer;
[184] the previous catch record (vmctx.STATE_CATCH, 0 while this entry runs).
All callee-saved registers are saved here because a trap unwinds past the wasm frames without
running their epilogues. ExecState.entry_sp holds the trampoline's x29 while wasm code runs.

Trap stub: entered by a branch with the trap code in x1, the trap pc in x2 (an address inside
the trapping function's code, 0 when a host function trapped) and x28 a vmctx or HostCtx (both
hold the ExecState pointer at offset 0); it records both in the ExecState. An exception (code
vmctx.EXCEPTION) with a catch record linked goes to that record's landing instead (sp, x29,
x28 from the record).

Exit trampoline: internal convention in, x28 = HostCtx; spills the arguments into a stack
buffer and calls helper HOST_CALL(host_ctx, buf), which returns 0 (results in buf) or a trap
code + 1 (then it unwinds through the trap stub).
"""

from __future__ import annotations

from engine.environ import vmctx as V

from engine.environ.helpers import HELPER_INDEX, Helper
from engine.errors import InternalError
from engine.wasm.types import ValType
from ..base import TRAP_SYMBOL
from . import abi
from ..callconv import buffer_offsets, words
from .emit import EPOCH_SLOW, sp_adjust
from .target import reg_name

#: where a function's frame keeps its caller's frame pointer and its return address, relative
#: to its frame pointer (the chain the trap's backtrace walks from ExecState.trap_fp)
FRAME_LINK = 0
FRAME_RETURN = 8

TRAP = TRAP_SYMBOL
ENTRY_RETURN = "__entry_return"
_ENTRY_FRAME = 192
_PAIRS = [("x19", "x20", 16), ("x21", "x22", 32), ("x23", "x24", 48), ("x25", "x26", 64),
          ("x27", "x28", 80), ("d8", "d9", 96), ("d10", "d11", 112), ("d12", "d13", 128),
          ("d14", "d15", 144)]


#: caller-saved registers the epoch slow path keeps (x16 carries the verdict, x30 its caller)
_SLOW_GPRS = [f"x{i}" for i in range(16)] + ["x17", "x18"]
_SLOW_VECS = [f"q{i}" for i in list(range(8)) + list(range(16, 32))]


def epoch_stubs() -> list[str]:
    """What epoch checks call (only in modules compiled with them): helper EPOCH(vmctx) with
    every caller-saved register preserved (the check sits anywhere in a function), its verdict
    in x16."""
    size = 8 * len(_SLOW_GPRS) + 16 * len(_SLOW_VECS)
    lines = [f"{EPOCH_SLOW}:", "  stp x29, x30, [sp, #-16]!", "  mov x29, sp",
             f"  sub sp, sp, #{size}"]
    pairs = [(a, b, 16 * k) for k, (a, b) in enumerate(zip(_SLOW_GPRS[::2], _SLOW_GPRS[1::2]))]
    base = 8 * len(_SLOW_GPRS)
    pairs += [(a, b, base + 32 * k)
              for k, (a, b) in enumerate(zip(_SLOW_VECS[::2], _SLOW_VECS[1::2]))]
    saves = [(f"stp {a}, {b}, [sp, #{off}]", f"ldp {a}, {b}, [sp, #{off}]")
             for a, b, off in pairs]
    lines += [f"  {st}" for st, _ in saves]
    lines += ["  mov x0, x28", f"  ldr x16, [x28, #{V.HELPERS}]",
              f"  ldr x16, [x16, #{8 * HELPER_INDEX[Helper.EPOCH]}]", "  blr x16",
              "  mov x16, x0"]
    lines += [f"  {ld}" for _, ld in saves]
    lines += ["  mov sp, x29", "  ldp x29, x30, [sp], #16", "  ret"]
    return lines


def common_stubs() -> list[str]:
    return [
        f"{ENTRY_RETURN}:",
        "  ldr x9, [x29, #176]",
        "  ldr x10, [x29, #160]",
        f"  str x10, [x9, #{V.STATE_ENTRY_SP}]",
        "  ldr x10, [x29, #184]",
        f"  str x10, [x9, #{V.STATE_CATCH}]",
        "  mov sp, x29",
        *(f"  ldp {a}, {b}, [sp, #{off}]" for a, b, off in _PAIRS),
        f"  ldp x29, x30, [sp], #{_ENTRY_FRAME}",
        "  ret",
        f"{TRAP}:",
        f"  ldr x9, [x28, #{V.STATE}]",
        f"  cmp x1, #{V.EXCEPTION}",
        f"  b.ne {TRAP}_trap",
        f"  ldr x10, [x9, #{V.STATE_CATCH}]",
        f"  cbz x10, {TRAP}_trap",
        f"  ldr x11, [x10, #{V.CATCH_SP}]",
        "  mov sp, x11",
        f"  ldr x29, [x10, #{V.CATCH_FP}]",
        f"  ldr x28, [x10, #{V.CATCH_VMCTX}]",
        f"  ldr x11, [x10, #{V.CATCH_PC}]",
        "  br x11",
        f"{TRAP}_trap:",
        f"  str x1, [x9, #{V.STATE_TRAP_CODE}]",
        f"  str x2, [x9, #{V.STATE_TRAP_PC}]",
        f"  str x29, [x9, #{V.STATE_TRAP_FP}]",
        f"  ldr x29, [x9, #{V.STATE_ENTRY_SP}]",
        "  mov w0, #1",
        f"  b {ENTRY_RETURN}",
    ]


def _sized(n: int) -> int:
    return (n + 15) & ~15


def _access(op: str, reg: int, t, base: str, off: int) -> list[str]:
    """ldr/str of register `reg` holding a value of type t at [base, #off] (a q register at
    an offset the scaled form cannot encode through x9)."""
    if t is not ValType.V128:
        return [f"  {op} {reg_name(reg)}, [{base}, #{off}]"]
    q = reg_name(reg, 128)
    if off % 16 == 0:
        return [f"  {op} {q}, [{base}, #{off}]"]
    if off < 256:
        return [f"  {'ldur' if op == 'ldr' else 'stur'} {q}, [{base}, #{off}]"]
    return [f"  add x9, {base}, #{off}", f"  {op} {q}, [x9]"]


def entry_trampoline(name: str, params, results) -> list[str]:
    plocs, pstack = abi.assign(params)
    rlocs, rstack = abi.assign(results, results=True)
    poff, roff = buffer_offsets(params), buffer_offsets(results)
    out_bytes = _sized(8 * max(pstack, rstack))
    lines = [f"{name}:", f"  stp x29, x30, [sp, #-{_ENTRY_FRAME}]!", "  mov x29, sp",
             *(f"  stp {a}, {b}, [sp, #{off}]" for a, b, off in _PAIRS),
             "  mov x28, x0",
             f"  ldr x9, [x28, #{V.STATE}]",
             f"  ldr x10, [x9, #{V.STATE_ENTRY_SP}]",
             "  stp x10, x2, [x29, #160]",
             f"  ldr x10, [x9, #{V.STATE_CATCH}]",
             "  stp x9, x10, [x29, #176]",
             f"  str xzr, [x9, #{V.STATE_CATCH}]"]
    lines += [f"  {line}" for line in sp_adjust("sub", out_bytes)]
    lines += [f"  str x29, [x9, #{V.STATE_ENTRY_SP}]", "  mov x17, x1", "  mov x16, x2"]
    for i, loc in enumerate(plocs):
        if loc.stack is not None:
            for w in words(params[i]):
                lines += [f"  ldr x9, [x16, #{poff[i] + 8 * w}]",
                          f"  str x9, [sp, #{8 * (loc.stack + w)}]"]
    for i, loc in enumerate(plocs):
        if loc.reg is not None:
            lines += _access("ldr", loc.reg, params[i], "x16", poff[i])
    lines += ["  blr x17", "  ldr x16, [x29, #168]"]
    for i, loc in enumerate(rlocs):
        if loc.reg is not None:
            lines += _access("str", loc.reg, results[i], "x16", roff[i])
        else:
            for w in words(results[i]):
                lines += [f"  ldr x9, [sp, #{8 * (loc.stack + w)}]",
                          f"  str x9, [x16, #{roff[i] + 8 * w}]"]
    lines += ["  mov w0, #0", f"  b {ENTRY_RETURN}"]
    return lines


def exit_trampoline(name: str, params, results) -> list[str]:
    plocs, _ = abi.assign(params)
    rlocs, _ = abi.assign(results, results=True)
    poff, roff = buffer_offsets(params), buffer_offsets(results)
    nwords = max(sum(len(words(t)) for t in params), sum(len(words(t)) for t in results), 1)
    size = _sized(8 * nwords)
    lines = [f"{name}:", "  stp x29, x30, [sp, #-16]!", "  mov x29, sp",
             *(f"  {line}" for line in sp_adjust("sub", size))]
    for i, loc in enumerate(plocs):
        if loc.reg is not None:
            lines += _access("str", loc.reg, params[i], "sp", poff[i])
        else:
            for w in words(params[i]):
                lines += [f"  ldr x9, [x29, #{16 + 8 * (loc.stack + w)}]",
                          f"  str x9, [sp, #{poff[i] + 8 * w}]"]
    lines += ["  mov x0, x28", "  mov x1, sp",
              f"  ldr x16, [x28, #{V.HOSTCTX_HELPERS}]",
              f"  ldr x16, [x16, #{8 * HELPER_INDEX[Helper.HOST_CALL]}]",
              "  blr x16", f"  cbnz w0, {name}_trap"]
    for i, loc in enumerate(rlocs):
        if loc.stack is not None:
            for w in words(results[i]):
                lines += [f"  ldr x9, [sp, #{roff[i] + 8 * w}]",
                          f"  str x9, [x29, #{16 + 8 * (loc.stack + w)}]"]
    for i, loc in enumerate(rlocs):
        if loc.reg is not None:
            lines += _access("ldr", loc.reg, results[i], "sp", roff[i])
    lines += ["  mov sp, x29", "  ldp x29, x30, [sp], #16", "  ret",
              f"{name}_trap:", "  sub w1, w0, #1", "  mov x2, xzr", f"  b {TRAP}"]
    return lines


# -- lazy compilation -----------------------------------------------------------------------------

#: where every uncompiled function's thunk goes: helper LAZY_COMPILE(vmctx, index in x17)
LAZY = "__lazy"
#: bytes of each function's stub (they come first in a lazy unit, in defined-function order)
LAZY_STUB_SIZE = 8


def lazy_stub(name: str, k: int, distance: int) -> list[str]:
    """Function stub `name`, the k-th of a lazy unit (8 bytes each): loads slot k of the
    table, whose slot 0 is `distance` bytes before the first stub, into x16 (a pc-relative
    literal load with the same offset in every stub, encoded here: Keystone reads an
    immediate operand as an absolute address) and branches there."""
    if distance % 4 or distance > 1 << 20:
        raise InternalError(f"aarch64: a lazy slot {distance} bytes away is out of reach")
    ldr = 0x58000000 | ((-distance >> 2) & 0x7FFFF) << 5 | 16      # ldr x16, <pc - distance>
    return [f"{name}:", f"  .long {ldr:#x}", "  br x16"]


def lazy_thunk(name: str, index: int) -> list[str]:
    """What slot `index` holds until the function is compiled."""
    return [f"{name}:", f"  movz x17, #{index & 0xFFFF:#x}",
            f"  movk x17, #{index >> 16:#x}, lsl #16", f"  b {LAZY}"]


def lazy_entry() -> list[str]:
    """Calls helper LAZY_COMPILE(vmctx, index) with the callee's arguments (x0-x7, q0-q7) and
    return address kept, then branches to the code it returns; a result below 256 is a trap
    code + 1."""
    lines = [f"{LAZY}:", "  stp x29, x30, [sp, #-16]!", "  mov x29, sp", "  sub sp, sp, #192"]
    lines += [f"  stp x{2 * k}, x{2 * k + 1}, [sp, #{16 * k}]" for k in range(4)]
    lines += [f"  stp q{2 * k}, q{2 * k + 1}, [sp, #{64 + 32 * k}]" for k in range(4)]
    lines += ["  mov x0, x28", "  mov x1, x17", f"  ldr x16, [x28, #{V.HELPERS}]",
              f"  ldr x16, [x16, #{8 * HELPER_INDEX[Helper.LAZY_COMPILE]}]", "  blr x16",
              "  mov x16, x0"]
    lines += [f"  ldp x{2 * k}, x{2 * k + 1}, [sp, #{16 * k}]" for k in range(4)]
    lines += [f"  ldp q{2 * k}, q{2 * k + 1}, [sp, #{64 + 32 * k}]" for k in range(4)]
    lines += ["  mov sp, x29", "  ldp x29, x30, [sp], #16", "  cmp x16, #256",
              f"  b.lo {LAZY}_fail", "  br x16",
              f"{LAZY}_fail:", "  sub w1, w16, #1", "  mov x2, xzr", f"  b {TRAP}"]
    return lines
