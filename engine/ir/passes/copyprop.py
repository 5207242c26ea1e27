"""Copy propagation over block parameters: a parameter that receives one value on every edge
(or itself, around a loop) is that value; replace it and drop the parameter and its arguments.
Repeats until nothing changes (removing one parameter can make another redundant)."""

from __future__ import annotations

from ..ir import BlockCall, Function
from ..rewrite import replace_uses


def copyprop(func: Function) -> bool:
    """True if any parameter was removed."""
    blocks = func.blocks
    incoming: list[list[BlockCall]] = [[] for _ in blocks]
    for b in blocks:
        term = b.terminator
        if term is not None and term.targets:
            for bc in term.targets:
                incoming[bc.block].append(bc)
    mapping: dict[int, int] = {}

    def resolve(v: int) -> int:
        while v in mapping:
            v = mapping[v]
        return v

    any_change = False
    changed = True
    while changed:
        changed = False
        for b in blocks[1:]:
            if not b.params or not incoming[b.id]:
                continue
            i = 0
            while i < len(b.params):
                p = b.params[i]
                same = -1
                trivial = True
                for bc in incoming[b.id]:
                    a = resolve(bc.args[i])
                    if a == p or a == same:
                        continue
                    if same != -1:
                        trivial = False
                        break
                    same = a
                if trivial and same != -1:
                    mapping[p] = same
                    del b.params[i]
                    for bc in incoming[b.id]:
                        del bc.args[i]
                    changed = any_change = True
                else:
                    i += 1
    replace_uses(func, mapping)
    return any_change
