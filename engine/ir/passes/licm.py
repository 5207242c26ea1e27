"""Loop-invariant code motion: a pure instruction that cannot trap, inside a natural loop, whose
operands are all defined outside the loop (or by instructions hoisted before it) moves to the
end of the loop's preheader, the one block outside the loop that branches to its header.

Only instructions that are exact for every input move (integer and float arithmetic without
a precondition, compares, extensions, conversions that never trap, select, constants an
moved instruction needs): loads, divisions, trapping conversions, global reads and anything
with a side effect stay where they are, so executing a moved instruction on a path that would
not have reached it changes nothing but time. Only blocks that run on every iteration (they
dominate each back edge) give up instructions: an invariant in one arm of a branch (one case
of an interpreter's dispatch loop) stays, as hoisting it would charge every loop entry and
hold its result across the whole loop. Inner loops go first, so an expression invariant in a
whole nest climbs out of it one loop at a time. A loop whose header has no single outside
predecessor (or is the entry block) is left alone."""

from __future__ import annotations

from ..cfg import CFG
from ..ir import Function, Inst, Opcode

O = Opcode

#: opcodes that compute a result from their operands alone, exactly, and never trap
HOISTABLE = frozenset({
    O.ICONST, O.FCONST,
    O.IADD, O.ISUB, O.IMUL, O.BAND, O.BOR, O.BXOR, O.ISHL, O.SSHR, O.USHR, O.ROTL, O.ROTR,
    O.CLZ, O.CTZ, O.POPCNT, O.SEXT8, O.SEXT16, O.SEXT32, O.EQZ, O.ICMP,
    O.FADD, O.FSUB, O.FMUL, O.FDIV, O.FMIN, O.FMAX, O.FCOPYSIGN, O.FABS, O.FNEG, O.FSQRT,
    O.FCEIL, O.FFLOOR, O.FTRUNC, O.FNEAREST, O.FCMP,
    O.IREDUCE, O.UEXTEND, O.SEXTEND, O.FCVT_TO_SINT_SAT, O.FCVT_TO_UINT_SAT,
    O.FCVT_FROM_SINT, O.FCVT_FROM_UINT, O.FPROMOTE, O.FDEMOTE, O.BITCAST, O.SELECT,
})

#: constants move only with an instruction that uses them (the backends place constants
#: themselves; a constant alone gains nothing from moving)
_CONSTANTS = frozenset({O.ICONST, O.FCONST})


def licm(func: Function) -> bool:
    """Hoist loop-invariant instructions in place (see the module docstring); True if any
    moved."""
    cfg = CFG(func)
    bodies = cfg.loop_bodies
    if not bodies:
        return False
    blocks = func.blocks
    #: value -> the block defining it (block parameters: their block)
    def_block: dict[int, int] = {}
    for b in blocks:
        for p in b.params:
            def_block[p] = b.id
        for inst in b.insts:
            for r in inst.results:
                def_block[r] = b.id
    rpo_index = cfg.rpo_index
    changed = False
    for header in sorted(bodies, key=lambda h: len(bodies[h])):
        body = bodies[header]
        outside = [p for p in cfg.preds[header] if p not in body]
        if header == 0 or len(outside) != 1:
            continue
        pre = outside[0]
        # only blocks every iteration runs (they dominate each back edge's tail): moving an
        # instruction out of one arm of a branch would make every entry of the loop pay for
        # it and keep its result in a register (or a slot) across the whole loop
        tails = [p for p in cfg.preds[header] if p in body]
        every = [b for b in body if all(cfg.dominates(b, t) for t in tails)]
        moved = _hoist(func, body, sorted(every, key=lambda b: rpo_index[b]), def_block)
        if not moved:
            continue
        insts = blocks[pre].insts
        insts[-1:-1] = moved
        for inst in moved:
            for r in inst.results:
                def_block[r] = pre
        changed = True
    return changed


def _hoist(func: Function, body: set[int], order: list[int],
           def_block: dict[int, int]) -> list[Inst]:
    """Take the invariant instructions out of the loop's blocks (visited in reverse postorder,
    so an operand's definition is seen before its uses); returns them in a valid order."""
    moved: list[Inst] = []
    hoisted: set[int] = set()       # values the moved instructions define
    consts: dict[int, tuple[int, Inst]] = {}   # constant in the loop -> (block, its inst)
    for bid in order:
        block = func.blocks[bid]
        keep: list[Inst] = []
        for inst in block.insts:
            op = inst.opcode
            if op in _CONSTANTS:
                consts[inst.results[0]] = (bid, inst)
                keep.append(inst)
                continue
            if op not in HOISTABLE or not inst.results:
                keep.append(inst)
                continue
            ok = True
            for a in inst.args:
                if a in hoisted or a in consts or def_block.get(a, -1) not in body:
                    continue
                ok = False
                break
            if not ok:
                keep.append(inst)
                continue
            for a in inst.args:
                c = consts.pop(a, None)
                if c is not None:
                    # the constant moves first (its other users in the loop see it from the
                    # preheader, which dominates them)
                    cb, ci = c
                    target = keep if cb == bid else func.blocks[cb].insts
                    del target[next(i for i, x in enumerate(target) if x is ci)]
                    moved.append(ci)
                    hoisted.add(a)
            moved.append(inst)
            hoisted.update(inst.results)
        block.insts = keep
    return moved
