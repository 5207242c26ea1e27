"""Small rewriting utilities the passes share: use counts and replacing uses of values."""

from __future__ import annotations

from .ir import Function


def resolve_map(mapping: dict[int, int]) -> dict[int, int]:
    """Close a replacement map under itself (v -> w, w -> x becomes v -> x, w -> x)."""
    out: dict[int, int] = {}
    for v in mapping:
        seen = [v]
        w = mapping[v]
        while w in mapping and w not in seen:
            seen.append(w)
            w = mapping[w]
        out[v] = w
    return out


def replace_uses(func: Function, mapping: dict[int, int]) -> None:
    """Rewrite every operand and edge argument through `mapping` (values not in it stay)."""
    if not mapping:
        return
    m = resolve_map(mapping)
    get = m.get
    for b in func.blocks:
        for inst in b.insts:
            args = inst.args
            for j, a in enumerate(args):
                r = get(a)
                if r is not None:
                    args[j] = r
            if inst.targets:
                for bc in inst.targets:
                    bargs = bc.args
                    for j, a in enumerate(bargs):
                        r = get(a)
                        if r is not None:
                            bargs[j] = r


def use_counts(func: Function) -> list[int]:
    """How often each value is used (operands and edge arguments)."""
    counts = [0] * len(func.value_types)
    for b in func.blocks:
        for inst in b.insts:
            for a in inst.args:
                counts[a] += 1
            if inst.targets:
                for bc in inst.targets:
                    for a in bc.args:
                        counts[a] += 1
    return counts
