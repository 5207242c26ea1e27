"""Dead-code elimination: unreachable blocks, and (mark and sweep) pure instructions and block
parameters whose values never reach a side effect, a branch condition or a return."""

from __future__ import annotations

from ..cfg import CFG
from ..ir import Function


def remove_unreachable_blocks(func: Function) -> bool:
    """Drop blocks the entry cannot reach; renumber the rest. True if anything changed."""
    cfg = CFG(func)
    if len(cfg.rpo) == len(func.blocks):
        return False
    func.blocks = [b for b in func.blocks if cfg.reachable(b.id)]
    func.renumber_blocks()
    return True


def dce(func: Function) -> bool:
    """Run both parts; True if anything changed."""
    changed = remove_unreachable_blocks(func)
    blocks = func.blocks
    nvals = len(func.value_types)
    live = bytearray(nvals)
    # where each value is defined: an instruction, or (block, param index)
    def_inst: dict[int, object] = {}
    param_of: dict[int, int] = {}
    incoming: list[list] = [[] for _ in blocks]   # BlockCalls into each block
    work: list[int] = []
    for b in blocks:
        for p in b.params:
            param_of[p] = b.id
        for inst in b.insts:
            for r in inst.results:
                def_inst[r] = inst
            if inst.targets:
                for bc in inst.targets:
                    incoming[bc.block].append(bc)
            if inst.opcode.has_side_effects:
                for a in inst.args:
                    if not live[a]:
                        live[a] = 1
                        work.append(a)
    for p in blocks[0].params:          # the signature keeps entry parameters
        if not live[p]:
            live[p] = 1
            work.append(p)
    while work:
        v = work.pop()
        inst = def_inst.get(v)
        if inst is not None:
            for a in inst.args:  # type: ignore[attr-defined]
                if not live[a]:
                    live[a] = 1
                    work.append(a)
            continue
        bid = param_of.get(v)
        if bid is None or bid == 0:
            continue
        idx = blocks[bid].params.index(v)
        for bc in incoming[bid]:
            a = bc.args[idx]
            if not live[a]:
                live[a] = 1
                work.append(a)
    for b in blocks:
        if b.id != 0 and b.params:
            dead = [i for i, p in enumerate(b.params) if not live[p]]
            if dead:
                changed = True
                keep = [i for i in range(len(b.params)) if live[b.params[i]]]
                b.params = [b.params[i] for i in keep]
                for bc in incoming[b.id]:
                    bc.args = [bc.args[i] for i in keep]
        insts = b.insts
        kept = [inst for inst in insts
                if inst.opcode.has_side_effects or any(live[r] for r in inst.results)]
        if len(kept) != len(insts):
            changed = True
            b.insts = kept
    return changed
