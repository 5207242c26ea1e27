"""riscv64 module-level stubs: the trap stub, the shared entry-return path, per-signature entry
trampolines (C ABI -> internal convention) and exit trampolines (internal -> host callback).

Entry trampoline, C signature ``int entry(vmctx, code, buf)``: saves ra, s0-s11 and fs0-fs11,
loads the arguments from `buf` (8 bytes per value, f32 in the low half), calls `code` with
vmctx in s11, stores the results back into `buf` from offset 0,
returns 0; a trap returns 1 with the code in ExecState.trap_code. Frame (s0-relative):
-8 ra, -16 s0, -24..-104 s1-s11, -112..-200 fs0-fs11, -208 previous ExecState.entry_sp,
-216 buf, -224 ExecState pointer, -232 the previous catch record (vmctx.STATE_CATCH, 0 while
this entry runs), then the outgoing stack-argument area. ExecState.entry_sp
holds the trampoline's s0 while wasm code runs; the trap stub (trap code in a1, trap pc in
a2: an address inside the trapping function's code, 0 when a host function trapped) records
both in the ExecState, reloads s0 from entry_sp and leaves through the entry-return path; an
exception (code vmctx.EXCEPTION) with a catch record linked goes to that record's landing
instead (sp, s0, s11 from the record).

Exit trampoline: internal convention in, s11 = HostCtx; spills the arguments into a stack
buffer and calls helper HOST_CALL(host_ctx, buf), which returns 0 (results in buf) or a trap
code + 1 (then it unwinds through the trap stub).
"""

from __future__ import annotations

from engine.environ import vmctx as V
from engine.wasm.types import ValType

from engine.environ.helpers import HELPER_INDEX, Helper
from ..base import TRAP_SYMBOL
from . import abi
from .asm_isa import hi_lo
from .emit import EPOCH_SLOW
from .target import reg_name

#: where a function's frame keeps its caller's frame pointer and its return address, relative
#: to its frame pointer (the chain the trap's backtrace walks from ExecState.trap_fp)
FRAME_LINK = -16
FRAME_RETURN = -8

TRAP = TRAP_SYMBOL
ENTRY_RETURN = "__entry_return"
_INT_SAVED = ["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11"]
_FLOAT_SAVED = [f"fs{i}" for i in range(12)]
_SAVE_AREA = 240


def _saved_slots() -> list[tuple[str, str, int]]:
    out = [("sd", r, -24 - 8 * i) for i, r in enumerate(_INT_SAVED)]
    out += [("fsd", r, -112 - 8 * i) for i, r in enumerate(_FLOAT_SAVED)]
    return out


#: caller-saved registers the epoch slow path keeps (t6 carries the verdict)
_SLOW_SAVED = ([("sd", "ld", r) for r in ["ra", "t0", "t1", "t2", "t3", "t4", "t5"]
                + [f"a{i}" for i in range(8)]]
               + [("fsd", "fld", r) for r in [f"ft{i}" for i in range(12)]
                  + [f"fa{i}" for i in range(8)]])


def epoch_stubs() -> list[str]:
    """What epoch checks call (only in modules compiled with them): helper EPOCH(vmctx) with
    every caller-saved register preserved (the check sits anywhere in a function), its verdict
    in t6."""
    size = 8 * len(_SLOW_SAVED)
    size += -size % 16
    lines = [f"{EPOCH_SLOW}:", f"  addi sp, sp, -{size}"]
    lines += [f"  {st} {r}, {8 * k}(sp)" for k, (st, _, r) in enumerate(_SLOW_SAVED)]
    lines += ["  mv a0, s11", f"  ld t0, {V.HELPERS}(s11)",
              f"  ld t0, {8 * HELPER_INDEX[Helper.EPOCH]}(t0)", "  jalr ra, 0(t0)", "  mv t6, a0"]
    lines += [f"  {ld} {r}, {8 * k}(sp)" for k, (_, ld, r) in enumerate(_SLOW_SAVED)]
    lines += [f"  addi sp, sp, {size}", "  ret"]
    return lines


def common_stubs() -> list[str]:
    lines = [f"{ENTRY_RETURN}:",
             "  ld t0, -224(s0)",
             "  ld t1, -208(s0)",
             f"  sd t1, {V.STATE_ENTRY_SP}(t0)",
             "  ld t1, -232(s0)",
             f"  sd t1, {V.STATE_CATCH}(t0)"]
    for op, r, off in _saved_slots():
        lines.append(f"  {'ld' if op == 'sd' else 'fld'} {r}, {off}(s0)")
    lines += ["  ld ra, -8(s0)", "  mv t0, s0", "  ld s0, -16(s0)", "  mv sp, t0", "  ret",
              f"{TRAP}:",
              f"  ld t0, {V.STATE}(s11)",
              f"  li t1, {V.EXCEPTION}",
              f"  bne a1, t1, {TRAP}_trap",
              f"  ld t1, {V.STATE_CATCH}(t0)",
              f"  beqz t1, {TRAP}_trap",
              f"  ld t2, {V.CATCH_SP}(t1)",
              "  mv sp, t2",
              f"  ld s0, {V.CATCH_FP}(t1)",
              f"  ld s11, {V.CATCH_VMCTX}(t1)",
              f"  ld t2, {V.CATCH_PC}(t1)",
              "  jr t2",
              f"{TRAP}_trap:",
              f"  sd a1, {V.STATE_TRAP_CODE}(t0)",
              f"  sd a2, {V.STATE_TRAP_PC}(t0)",
              f"  sd s0, {V.STATE_TRAP_FP}(t0)",
              f"  ld s0, {V.STATE_ENTRY_SP}(t0)",
              "  li a0, 1",
              f"  j {ENTRY_RETURN}"]
    return lines


def _at(op: str, reg: str, base: str, off: int) -> list[str]:
    """`op reg, off(base)` for any offset (t2 carries the address beyond 12 bits; `reg` is
    never t2 when the offset is that large)."""
    if -2048 <= off < 2048:
        return [f"  {op} {reg}, {off}({base})"]
    return [f"  li t2, {off}", f"  add t2, t2, {base}", f"  {op} {reg}, 0(t2)"]


def _copy(src_base: str, src_off: int, dst_base: str, dst_off: int) -> list[str]:
    """An 8-byte copy through t3 (free in trampolines: never an argument register)."""
    return _at("ld", "t3", src_base, src_off) + _at("sd", "t3", dst_base, dst_off)


def entry_trampoline(name: str, params, results) -> list[str]:
    plocs, pstack = abi.assign(params)
    rlocs, rstack = abi.assign(results, results=True)
    out_bytes = 8 * max(pstack, rstack)
    out_bytes += out_bytes % 16
    lines = [f"{name}:", f"  addi sp, sp, -{_SAVE_AREA}",
             f"  sd ra, {_SAVE_AREA - 8}(sp)", f"  sd s0, {_SAVE_AREA - 16}(sp)",
             f"  addi s0, sp, {_SAVE_AREA}"]
    lines += [f"  {op} {r}, {off}(s0)" for op, r, off in _saved_slots()]
    lines += ["  mv s11, a0",
              f"  ld t0, {V.STATE}(s11)",
              f"  ld t1, {V.STATE_ENTRY_SP}(t0)",
              "  sd t1, -208(s0)", "  sd a2, -216(s0)", "  sd t0, -224(s0)",
              f"  ld t1, {V.STATE_CATCH}(t0)", "  sd t1, -232(s0)",
              f"  sd zero, {V.STATE_CATCH}(t0)"]
    if out_bytes:
        lines += [f"  li t1, {out_bytes}", "  sub sp, sp, t1"]
    lines.append(f"  sd s0, {V.STATE_ENTRY_SP}(t0)")
    lines += ["  mv t0, a2", "  mv t1, a1"]
    for i, loc in enumerate(plocs):
        if loc.stack is not None:
            lines += _copy("t0", 8 * i, "sp", 8 * loc.stack)
    for i, (t, loc) in enumerate(zip(params, plocs)):
        if loc.reg is not None:
            lines += _at(abi.load_op(t), reg_name(loc.reg), "t0", 8 * i)
    lines += ["  jalr ra, 0(t1)", "  ld t0, -216(s0)"]
    for i, (t, loc) in enumerate(zip(results, rlocs)):
        if loc.reg is not None:
            op = "fsd" if t in (ValType.F32, ValType.F64) else "sd"
            lines += _at(op, reg_name(loc.reg), "t0", 8 * i)
        else:
            lines += _copy("sp", 8 * loc.stack, "t0", 8 * i)
    lines += ["  li a0, 0", f"  j {ENTRY_RETURN}"]
    return lines


def exit_trampoline(name: str, params, results) -> list[str]:
    plocs, _ = abi.assign(params)
    rlocs, _ = abi.assign(results, results=True)
    n = max(len(params), len(results), 1)
    size = 16 + 8 * n
    size += -size % 16
    lines = [f"{name}:", f"  li t0, {size}", "  sub sp, sp, t0", "  add t0, t0, sp",
             "  sd ra, -8(t0)", "  sd s0, -16(t0)", "  mv s0, t0"]
    for i, (t, loc) in enumerate(zip(params, plocs)):
        if loc.reg is not None:
            op = "fsd" if t in (ValType.F32, ValType.F64) else "sd"
            lines += _at(op, reg_name(loc.reg), "sp", 8 * i)
        else:
            lines += _copy("s0", 8 * loc.stack, "sp", 8 * i)
    lines += ["  mv a0, s11", "  mv a1, sp",
              f"  ld t0, {V.HOSTCTX_HELPERS}(s11)",
              f"  ld t0, {8 * HELPER_INDEX[Helper.HOST_CALL]}(t0)",
              "  jalr ra, 0(t0)",
              f"  bnez a0, {name}_trap"]
    for i, loc in enumerate(rlocs):
        if loc.stack is not None:
            lines += _copy("sp", 8 * i, "s0", 8 * loc.stack)
    for i, (t, loc) in enumerate(zip(results, rlocs)):
        if loc.reg is not None:
            lines += _at(abi.load_op(t), reg_name(loc.reg), "sp", 8 * i)
    lines += ["  ld ra, -8(s0)", "  mv t0, s0", "  ld s0, -16(s0)", "  mv sp, t0", "  ret",
              f"{name}_trap:", "  addi a1, a0, -1", "  li a2, 0", f"  j {TRAP}"]
    return lines


# -- lazy compilation -----------------------------------------------------------------------------

#: where every uncompiled function's thunk goes: helper LAZY_COMPILE(vmctx, index in t1)
LAZY = "__lazy"
#: bytes of each function's stub (they come first in a lazy unit, in defined-function order)
LAZY_STUB_SIZE = 16
_LAZY_SAVED = ([("sd", "ld", "ra")] + [("sd", "ld", f"a{i}") for i in range(8)]
               + [("fsd", "fld", f"fa{i}") for i in range(8)])


def lazy_stub(name: str, k: int, distance: int) -> list[str]:
    """Function stub `name`, the k-th of a lazy unit (16 bytes each): loads slot k of the
    table, whose slot 0 is `distance` bytes before the first stub, into t0 and jumps there."""
    hi, lo = hi_lo(-distance + 8 * k - 16 * k)
    return [f"{name}:", f"  auipc t0, {hi:#x}", f"  ld t0, {lo}(t0)", "  jr t0", "  nop"]


def lazy_thunk(name: str, index: int) -> list[str]:
    """What slot `index` holds until the function is compiled."""
    return [f"{name}:", f"  li t1, {index}", f"  j {LAZY}"]


def lazy_entry() -> list[str]:
    """Calls helper LAZY_COMPILE(vmctx, index) with the callee's arguments (a0-a7, fa0-fa7)
    and ra kept, then jumps to the code it returns; a result below 256 is a trap code + 1."""
    size = 8 * len(_LAZY_SAVED)
    size += -size % 16
    lines = [f"{LAZY}:", f"  addi sp, sp, -{size}"]
    lines += [f"  {st} {r}, {8 * k}(sp)" for k, (st, _, r) in enumerate(_LAZY_SAVED)]
    lines += ["  mv a0, s11", "  mv a1, t1", f"  ld t0, {V.HELPERS}(s11)",
              f"  ld t0, {8 * HELPER_INDEX[Helper.LAZY_COMPILE]}(t0)", "  jalr ra, 0(t0)",
              "  mv t0, a0"]
    lines += [f"  {ld} {r}, {8 * k}(sp)" for k, (_, ld, r) in enumerate(_LAZY_SAVED)]
    lines += [f"  addi sp, sp, {size}", "  li t1, 256", f"  bltu t0, t1, {LAZY}_fail",
              "  jr t0", f"{LAZY}_fail:", "  addi a1, t0, -1", "  li a2, 0", f"  j {TRAP}"]
    return lines
