"""Constant folding: instructions whose operands are all constants become constants, computed
with the exact wasm semantics of engine/ir/numerics.py (integers and floats, on bit patterns).

Never folds what it cannot fold exactly: an operation whose IR precondition fails (a division
by zero, a float-to-int truncation out of range) is left alone, since it only runs behind a
trap. Also: ``select`` with a constant condition (or equal operands) is replaced by its operand,
``trapz``/``trapnz`` on a constant either disappears or becomes an unconditional ``trap`` (never
the other way), and ``brif``/``br_table`` on a constant become ``jump``. Blocks that become
unreachable are removed. A block parameter that receives one constant on every edge counts as
that constant."""

from __future__ import annotations

from typing import Callable

from ...errors import Trap
from .. import numerics as nm
from ..cfg import CFG
from ..ir import (F32, I32, I64, FloatCC, Function, Inst, IntCC, Opcode, TYPE_NAMES,
                  ValType)
from ..rewrite import replace_uses
from .dce import remove_unreachable_blocks

O = Opcode

_INT_BIN = {O.IADD: "add", O.ISUB: "sub", O.IMUL: "mul", O.SDIV: "div_s", O.UDIV: "div_u",
            O.SREM: "rem_s", O.UREM: "rem_u", O.BAND: "and", O.BOR: "or", O.BXOR: "xor",
            O.ISHL: "shl", O.SSHR: "shr_s", O.USHR: "shr_u", O.ROTL: "rotl", O.ROTR: "rotr"}
_INT_UN = {O.CLZ: "clz", O.CTZ: "ctz", O.POPCNT: "popcnt", O.SEXT8: "extend8_s",
           O.SEXT16: "extend16_s", O.SEXT32: "extend32_s", O.EQZ: "eqz"}
_ICC = {IntCC.EQ: "eq", IntCC.NE: "ne", IntCC.SLT: "lt_s", IntCC.SLE: "le_s", IntCC.SGT: "gt_s",
        IntCC.SGE: "ge_s", IntCC.ULT: "lt_u", IntCC.ULE: "le_u", IntCC.UGT: "gt_u",
        IntCC.UGE: "ge_u"}
_FL_BIN = {O.FADD: "add", O.FSUB: "sub", O.FMUL: "mul", O.FDIV: "div", O.FMIN: "min",
           O.FMAX: "max", O.FCOPYSIGN: "copysign"}
_FL_UN = {O.FABS: "abs", O.FNEG: "neg", O.FSQRT: "sqrt", O.FCEIL: "ceil", O.FFLOOR: "floor",
          O.FTRUNC: "trunc", O.FNEAREST: "nearest"}
_CONV = {O.FCVT_TO_SINT: "{r}.trunc_{a}_s", O.FCVT_TO_UINT: "{r}.trunc_{a}_u",
         O.FCVT_TO_SINT_SAT: "{r}.trunc_sat_{a}_s", O.FCVT_TO_UINT_SAT: "{r}.trunc_sat_{a}_u",
         O.FCVT_FROM_SINT: "{r}.convert_{a}_s", O.FCVT_FROM_UINT: "{r}.convert_{a}_u",
         O.IREDUCE: "i32.wrap_i64", O.UEXTEND: "i64.extend_i32_u",
         O.SEXTEND: "i64.extend_i32_s", O.FPROMOTE: "f64.promote_f32",
         O.FDEMOTE: "f32.demote_f64"}


def _is_nan(t: ValType, bits: int) -> bool:
    return nm.f32_is_nan(bits) if t is F32 else nm.f64_is_nan(bits)


def _evaluator(op: Opcode, rt: ValType, at: ValType, imm: object) -> Callable | None:
    """A function of the operand bit patterns giving the result's, or None if op is not
    foldable. It raises Trap where the wasm operation would trap (then: do not fold)."""
    a = TYPE_NAMES[at]
    if op in _INT_BIN:
        return nm.BINARY[f"{a}.{_INT_BIN[op]}"]
    if op in _INT_UN:
        return nm.UNARY[f"{a}.{_INT_UN[op]}"]
    if op is O.ICMP:
        return nm.BINARY[f"{a}.{_ICC[imm]}"]  # type: ignore[index]
    if op in _FL_BIN:
        return nm.BINARY[f"{a}.{_FL_BIN[op]}"]
    if op in _FL_UN:
        return nm.UNARY[f"{a}.{_FL_UN[op]}"]
    if op is O.FCMP:
        if imm is FloatCC.UNO:
            return lambda x, y: int(_is_nan(at, x) or _is_nan(at, y))
        if imm is FloatCC.ORD:
            return lambda x, y: int(not (_is_nan(at, x) or _is_nan(at, y)))
        return nm.BINARY[f"{a}.{imm.value}"]  # type: ignore[union-attr]
    if op in _CONV:
        return nm.UNARY[_CONV[op].format(r=TYPE_NAMES[rt], a=a)]
    if op is O.BITCAST:
        return lambda x: x
    return None


def fold(func: Function) -> bool:
    """Fold constants in place; True if anything changed."""
    vt = func.value_types
    consts: dict[int, int] = {}
    mapping: dict[int, int] = {}
    cache: dict[tuple, Callable | None] = {}
    changed = False
    cfg = CFG(func)
    incoming: list[list] = [[] for _ in func.blocks]
    for b in func.blocks:
        term = b.terminator
        if term is not None and term.targets:
            for bc in term.targets:
                incoming[bc.block].append(bc)
    for bid in cfg.rpo:
        block = func.blocks[bid]
        insts = block.insts
        if bid and block.params:
            # a parameter is a constant when every edge passes one constant (edges from blocks
            # not visited yet pass values that are not in `consts`: conservatively unknown)
            for k, p in enumerate(block.params):
                value = None
                for bc in incoming[bid]:
                    a = bc.args[k]
                    a = mapping.get(a, a)
                    bits = consts.get(a)
                    if bits is None or (value is not None and bits != value):
                        value = None
                        break
                    value = bits
                if value is not None:
                    consts[p] = value
        j = 0
        while j < len(insts):
            inst = insts[j]
            j += 1
            args = inst.args
            if mapping:
                for k, a in enumerate(args):
                    if a in mapping:
                        args[k] = mapping[a]
                if inst.targets:
                    for bc in inst.targets:
                        for k, a in enumerate(bc.args):
                            if a in mapping:
                                bc.args[k] = mapping[a]
            op = inst.opcode
            if op is O.ICONST or op is O.FCONST:
                consts[inst.results[0]] = inst.imm  # type: ignore[assignment]
                continue
            if op is O.SELECT:
                c, x, y = args
                if c in consts or x == y:
                    mapping[inst.results[0]] = x if (x == y or consts[c]) else y
                    changed = True
                    j -= 1
                    del insts[j]        # every use is rewritten to the chosen operand
                continue
            if op is O.TRAPZ or op is O.TRAPNZ:
                c = args[0]
                if c in consts:
                    traps = (consts[c] == 0) == (op is O.TRAPZ)
                    changed = True
                    if traps:
                        del insts[j - 1:]
                        insts.append(Inst(O.TRAP, [], [], inst.imm))
                        break
                    j -= 1
                    del insts[j]
                continue
            if op is O.BRIF:
                c = args[0]
                if c in consts:
                    target = inst.targets[0 if consts[c] else 1]  # type: ignore[index]
                    insts[j - 1] = Inst(O.JUMP, [], [], None, [target])
                    changed = True
                continue
            if op is O.BR_TABLE:
                c = args[0]
                if c in consts:
                    t = inst.targets
                    target = t[consts[c]] if consts[c] < len(t) - 1 else t[-1]  # type: ignore
                    insts[j - 1] = Inst(O.JUMP, [], [], None, [target])
                    changed = True
                continue
            if not args or len(inst.results) != 1 or op.has_side_effects:
                continue
            for a in args:
                if a not in consts:
                    break
            else:
                r = inst.results[0]
                rt = vt[r]
                key = (op, rt, vt[args[0]], inst.imm)
                fn = cache.get(key, cache)
                if fn is cache:
                    fn = cache[key] = _evaluator(op, rt, vt[args[0]], inst.imm)
                if fn is None:
                    continue
                try:
                    bits = fn(*[consts[a] for a in args])
                except Trap:
                    continue
                inst.opcode = O.ICONST if rt in (I32, I64) else O.FCONST
                inst.args = []
                inst.imm = bits
                consts[r] = bits
                changed = True
    if mapping:
        # uses in blocks not visited yet in this order (there are none in valid SSA, but edge
        # arguments of back edges were visited) - a last sweep keeps it simple and safe
        replace_uses(func, mapping)
    if remove_unreachable_blocks(func):
        changed = True
    return changed
