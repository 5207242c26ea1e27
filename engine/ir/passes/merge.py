"""Block merging: a block whose only incoming edge is an unconditional ``jump`` from its
predecessor is appended to that predecessor (its parameters become the jump's arguments).
Chains of such blocks collapse in one pass; blocks are renumbered afterwards."""

from __future__ import annotations

from ..ir import Function, Opcode
from ..rewrite import replace_uses


def merge_blocks(func: Function) -> bool:
    """True if any block was merged."""
    blocks = func.blocks
    n_in = [0] * len(blocks)
    for b in blocks:
        term = b.terminator
        if term is not None and term.targets:
            for bc in term.targets:
                n_in[bc.block] += 1
    mapping: dict[int, int] = {}
    removed: set[int] = set()
    for b in blocks:
        if b.id in removed:
            continue
        while True:
            term = b.insts[-1]
            if term.opcode is not Opcode.JUMP:
                break
            edge = term.targets[0]  # type: ignore[index]
            t = edge.block
            if t == 0 or t == b.id or n_in[t] != 1 or t in removed:
                break
            target = blocks[t]
            for p, a in zip(target.params, edge.args):
                mapping[p] = a
            b.insts.pop()
            b.insts.extend(target.insts)
            target.insts = []
            removed.add(t)
    if not removed:
        return False
    func.blocks = [b for b in blocks if b.id not in removed]
    func.renumber_blocks()
    replace_uses(func, mapping)
    return True
