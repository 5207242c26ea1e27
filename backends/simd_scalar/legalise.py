"""The SIMD legalisation pass: an IR function that uses v128 -> an equivalent one without it.

Every v128 value becomes a `Pair` of i64 values (bits 0..63 and 64..127). Block parameters,
function parameters and results, edge arguments, call arguments and results and `select`
operands of type v128 become two i64 each, low half first (so do throw's payload operands and
exn_field's v128 result: an exception record holds a v128 as two words). A v128 global stays one global:
``global_get g`` gets two i64 results and ``global_set g`` two i64 operands (its 16-byte cell's
bytes 0..7 and 8..15; backends/lowering.py reads that form). Each SIMD instruction becomes the
scalar instructions of its rule (rules.py). The input function is left unchanged."""

from __future__ import annotations

from typing import Sequence

from engine.ir.ir import (I64, SIMD_OPS, V128, Block, BlockCall, Function, Inst, Opcode)
from engine.ir.passes import run_passes
from engine.ir.rewrite import replace_uses

from .emitter import Emitter, Pair
from .rules import RULES

O = Opcode

#: the passes run on the legalised function (halves nobody reads, folded constants)
CLEANUP = ("copyprop", "fold", "copyprop", "dce")


def legal_types(types: Sequence) -> tuple:
    """A signature's types with each v128 as two i64 (the legalised calling convention)."""
    out: list = []
    for t in types:
        out += (I64, I64) if t is V128 else (t,)
    return tuple(out)


def uses_v128(func: Function) -> bool:
    return V128 in func.value_types


def legalise_function(func: Function, cleanup: bool = True) -> Function:
    """A copy of `func` without v128 values or SIMD opcodes (see the module docstring)."""
    f = Function(func.name, list(legal_types(func.params)), list(legal_types(func.results)),
                 [], list(func.value_types), func.index, func.catches)
    types = f.value_types
    pairs: dict[int, Pair] = {}
    for v, t in enumerate(func.value_types):
        if t is V128:
            types[v] = I64          # unused from here on
            pairs[v] = Pair(f.new_value(I64), f.new_value(I64))
    alias: dict[int, int] = {}

    def split(values: Sequence[int]) -> list[int]:
        out: list[int] = []
        for v in values:
            p = pairs.get(v)
            out += (p.lo, p.hi) if p is not None else (v,)
        return out

    em = Emitter(f)
    for b in func.blocks:
        nb = Block(b.id, split(b.params))
        f.blocks.append(nb)
        em.reset(nb.insts)
        for inst in b.insts:
            op = inst.opcode
            if op in SIMD_OPS:
                args = [pairs.get(a, a) for a in inst.args]
                res = RULES[op](em, args, inst.imm)
                if inst.results:
                    r = inst.results[0]
                    p = pairs.get(r)
                    if p is not None:
                        alias[p.lo], alias[p.hi] = res.lo, res.hi  # type: ignore[union-attr]
                    else:
                        alias[r] = res  # type: ignore[assignment]
                continue
            if not pairs or not _touches(inst, pairs):
                nb.insts.append(inst_copy(inst))
                continue
            if op is O.SELECT and inst.results[0] in pairs:
                c, x, y = inst.args
                p, px, py = pairs[inst.results[0]], pairs[x], pairs[y]
                nb.insts.append(Inst(O.SELECT, [c, px.lo, py.lo], [p.lo]))
                nb.insts.append(Inst(O.SELECT, [c, px.hi, py.hi], [p.hi]))
                continue
            targets = None if inst.targets is None else \
                [BlockCall(bc.block, split(bc.args)) for bc in inst.targets]
            nb.insts.append(Inst(op, split(inst.args), split(inst.results), inst.imm, targets))
    replace_uses(f, alias)
    if cleanup:
        run_passes(f, CLEANUP)
    return f


def _touches(inst: Inst, pairs: dict[int, Pair]) -> bool:
    if any(a in pairs for a in inst.args) or any(r in pairs for r in inst.results):
        return True
    return bool(inst.targets) and any(a in pairs for bc in inst.targets for a in bc.args)


def inst_copy(inst: Inst) -> Inst:
    targets = None if inst.targets is None else \
        [BlockCall(bc.block, list(bc.args)) for bc in inst.targets]
    return Inst(inst.opcode, list(inst.args), list(inst.results), inst.imm, targets)
