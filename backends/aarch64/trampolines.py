"""aarch64 module-level stubs: the trap stub, the shared entry-return path, per-signature entry
trampolines (AAPCS64 -> internal convention) and exit trampolines (internal -> host callback).

Entry trampoline, C signature ``int entry(vmctx, code, buf)``: loads the arguments from `buf`
(8 bytes per value, f32 in the low half, 16 for a v128, low half first), calls `code` with
vmctx in x28, stores the results back into `buf` from offset 0, returns 0; a trap returns 1
with the code in ExecState.trap_code.
Frame (192 bytes, x29 = sp at its base): [0] x29, x30; [16..80) x19-x26; [80] x27, x28;
[96..160) d8-d15; [160] previous ExecState.entry_sp; [168] buf; [176] ExecState pointer.
All callee-saved registers are saved here because a trap unwinds past the wasm frames without
running their epilogues. ExecState.entry_sp holds the trampoline's x29 while wasm code runs.

Trap stub: entered by a branch with the trap code in x1, the trap pc in x2 (an address inside
the trapping function's code, 0 when a host function trapped) and x28 a vmctx or HostCtx (both
hold the ExecState pointer at offset 0); it records both in the ExecState.

Exit trampoline: internal convention in, x28 = HostCtx; spills the arguments into a stack
buffer and calls helper HOST_CALL(host_ctx, buf), which returns 0 (results in buf) or a trap
code + 1 (then it unwinds through the trap stub).
"""

from __future__ import annotations

from engine.environ import vmctx as V

from engine.environ.helpers import HELPER_INDEX, Helper
from engine.wasm.types import ValType
from ..base import TRAP_SYMBOL
from . import abi
from ..callconv import buffer_offsets, words
from .emit import sp_adjust
from .target import reg_name

TRAP = TRAP_SYMBOL
ENTRY_RETURN = "__entry_return"
_ENTRY_FRAME = 192
_PAIRS = [("x19", "x20", 16), ("x21", "x22", 32), ("x23", "x24", 48), ("x25", "x26", 64),
          ("x27", "x28", 80), ("d8", "d9", 96), ("d10", "d11", 112), ("d12", "d13", 128),
          ("d14", "d15", 144)]


def common_stubs() -> list[str]:
    return [
        f"{ENTRY_RETURN}:",
        "  ldr x9, [x29, #176]",
        "  ldr x10, [x29, #160]",
        f"  str x10, [x9, #{V.STATE_ENTRY_SP}]",
        "  mov sp, x29",
        *(f"  ldp {a}, {b}, [sp, #{off}]" for a, b, off in _PAIRS),
        f"  ldp x29, x30, [sp], #{_ENTRY_FRAME}",
        "  ret",
        f"{TRAP}:",
        f"  ldr x9, [x28, #{V.STATE}]",
        f"  str x1, [x9, #{V.STATE_TRAP_CODE}]",
        f"  str x2, [x9, #{V.STATE_TRAP_PC}]",
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
             "  str x9, [x29, #176]"]
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
