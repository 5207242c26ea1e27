"""Global value numbering of pure instructions: an instruction that computes what one
dominating it already computed (same opcode, immediate, result type and operands, the
operands of commutative integer operations in either order) is replaced by that earlier
result. One walk of the dominator tree with a scoped table, so only a dominating twin is
reused and nothing moves; the instructions numbered are licm's HOISTABLE ones (exact for
every input, no trap, no state), so reusing a result never skips a trap or a side effect.
Constants are left alone: each backend decides where a constant lives (an immediate, or a
register materialised near its uses), and one shared constant value would stretch a register
across the function. The duplicate becomes dead and dce removes it."""

from __future__ import annotations

from ..cfg import CFG
from ..ir import Function, Opcode
from ..rewrite import replace_uses
from .licm import HOISTABLE

O = Opcode

#: integer operations whose operands may be swapped (float ones are left in order: a NaN
#: result's payload may depend on it)
_COMMUTATIVE = frozenset({O.IADD, O.IMUL, O.BAND, O.BOR, O.BXOR})
_NUMBERED = HOISTABLE - {O.ICONST, O.FCONST}


def gvn(func: Function) -> bool:
    """Replace the uses of redundant pure results (see the module docstring); True if any."""
    cfg = CFG(func)
    blocks = func.blocks
    types = func.value_types
    mapping: dict[int, int] = {}
    table: dict[tuple, int] = {}
    # iterative dominator-tree walk: (block, keys it added) so they leave the table after
    # its subtree
    stack: list[tuple[int, list[tuple] | None]] = [(0, None)] if blocks else []
    while stack:
        bid, added = stack.pop()
        if added is not None:
            for key in added:
                del table[key]
            continue
        mine: list[tuple] = []
        for inst in blocks[bid].insts:
            if inst.opcode not in _NUMBERED or len(inst.results) != 1:
                continue
            args = [mapping.get(a, a) for a in inst.args]
            inst.args = args
            if inst.opcode in _COMMUTATIVE and args[0] > args[1]:
                args = [args[1], args[0]]
            key = (inst.opcode, _imm_key(inst.imm), types[inst.results[0]], *args)
            prior = table.get(key)
            if prior is not None:
                mapping[inst.results[0]] = prior
            else:
                table[key] = inst.results[0]
                mine.append(key)
        stack.append((bid, mine))
        for child in reversed(cfg.dom_children[bid]):
            stack.append((child, None))
    if mapping:
        replace_uses(func, mapping)
    return bool(mapping)


def _imm_key(imm: object) -> object:
    """The immediate as a hashable key (an unhashable one keeps its identity: never shared)."""
    try:
        hash(imm)
    except TypeError:
        return ("id", id(imm))
    return (type(imm).__name__, imm)
