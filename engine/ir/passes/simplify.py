"""Algebraic simplification of integer instructions with one constant operand, exact for every
input (integers are unsigned bit patterns of their width):

- identities: ``x + 0``, ``x - 0``, ``x * 1``, ``x | 0``, ``x ^ 0``, ``x & -1``, shifts and
  rotations by 0 (mod the width), ``x / 1`` become x;
- a mask that only clears bits already known to be zero (``(load16_u p) & 0xffff``,
  ``(x >>u 24) & 0xff``, a compare's 0/1 ``& 1``...) is dropped;
- strength reduction: ``x * 2^k`` -> ``x << k``, unsigned ``x / 2^k`` -> ``x >>u k`` and
  ``x % 2^k`` -> ``x & (2^k - 1)`` (the divisor is a nonzero constant, so the builder's
  division-by-zero check has already been folded away).

Known-zero bits are tracked through loads, masks, shifts right, compares, extensions and block
parameters (the union over their incoming edges; a parameter met again around a loop counts as
unknown).

A block parameter whose every use masks it with one constant, some of whose incoming values
are known to fit the mask already, gets the mask on the other edges instead (computed in the
predecessor, before its branch), and its uses then drop theirs: a loop-carried index that the
loop reloads zero-extended (``cur = prev[cur & wmask]`` with 16-bit entries, masked ``& 0xffff``
at the top of every iteration) is masked once on the way into the loop."""

from __future__ import annotations

from ..ir import I32, I64, Function, Inst, Opcode
from ..rewrite import replace_uses

O = Opcode

#: bits a result can have set, for results narrower than their type
_LOAD_BITS = {O.ULOAD8: 0xFF, O.ULOAD16: 0xFFFF, O.ULOAD32: 0xFFFF_FFFF}
_BOOLEAN = (O.ICMP, O.FCMP, O.EQZ)


def _width(func: Function, v: int) -> int:
    t = func.value_types[v]
    return 32 if t is I32 else 64 if t is I64 else 0


def simplify(func: Function) -> bool:
    """Simplify in place (see the module docstring); True if anything changed."""
    consts: dict[int, int] = {}
    defs: dict[int, Inst] = {}
    #: block parameter -> the values its incoming edges pass
    incoming: dict[int, list[int]] = {}
    _incoming(func, incoming)
    for b in func.blocks:
        for inst in b.insts:
            if inst.opcode is O.ICONST:
                consts[inst.results[0]] = inst.imm  # type: ignore[assignment]
            for r in inst.results:
                defs[r] = inst
    possible: dict[int, int] = {}

    def bits(v: int, width: int, depth: int = 0) -> int:
        """A mask of the bits value v may have set (all of them when unknown)."""
        full = (1 << width) - 1
        if v in consts:
            return consts[v]
        got = possible.get(v)
        if got is not None:
            return got
        inst = defs.get(v)
        mask = full
        if inst is None and v in incoming and depth < 8:
            possible[v] = full          # around a loop: unknown (pessimistic, so sound)
            mask = 0
            for a in incoming[v]:
                mask |= bits(a, width, depth + 1)
        elif inst is not None and depth < 8:
            op = inst.opcode
            if op in _LOAD_BITS:
                mask = _LOAD_BITS[op] & full
            elif op in _BOOLEAN:
                mask = 1
            elif op is O.BAND:
                mask = bits(inst.args[0], width, depth + 1) & bits(inst.args[1], width, depth + 1)
            elif op is O.BOR or op is O.BXOR:
                mask = bits(inst.args[0], width, depth + 1) | bits(inst.args[1], width, depth + 1)
            elif op is O.USHR and inst.args[1] in consts:
                mask = full >> (consts[inst.args[1]] % width)
            elif op is O.UEXTEND:
                mask = 0xFFFF_FFFF
        possible[v] = mask
        return mask

    changed = _mask_edges(func, consts, defs, incoming, bits)
    if changed:
        possible.clear()
    mapping: dict[int, int] = {}
    for b in func.blocks:
        for inst in list(b.insts):      # (_const inserts into b.insts)
            op = inst.opcode
            if len(inst.args) != 2 or len(inst.results) != 1:
                continue
            r = inst.results[0]
            width = _width(func, r)
            if not width:
                continue
            x, y = inst.args
            x = mapping.get(x, x)
            y = mapping.get(y, y)
            inst.args = [x, y]
            if op in (O.IADD, O.BOR, O.BXOR, O.BAND, O.IMUL) and x in consts and y not in consts:
                x, y = y, x          # commutative: the constant second
            c = consts.get(y)
            if c is None:
                continue
            full = (1 << width) - 1
            same = False
            if op in (O.IADD, O.ISUB, O.BOR, O.BXOR):
                same = c == 0
            elif op in (O.ISHL, O.USHR, O.SSHR, O.ROTL, O.ROTR):
                same = c % width == 0
            elif op in (O.IMUL, O.UDIV, O.SDIV):
                same = c == 1
            elif op is O.BAND:
                same = bits(x, width) & ~c & full == 0
            if same:
                mapping[r] = x
                changed = True
                continue
            if c > 1 and c & (c - 1) == 0 and op in (O.IMUL, O.UDIV, O.UREM):
                k = c.bit_length() - 1
                new_op, imm = {O.IMUL: (O.ISHL, k), O.UDIV: (O.USHR, k),
                               O.UREM: (O.BAND, c - 1)}[op]
                inst.opcode = new_op
                inst.args = [x, _const(func, b, inst, imm, consts, defs)]
                changed = True
    if mapping:
        replace_uses(func, mapping)
    return changed


def _incoming(func: Function, incoming: dict[int, list[int]]) -> None:
    """Block parameter -> the values its incoming edges pass, into `incoming`."""
    for b in func.blocks:
        term = b.terminator
        if term is not None and term.targets:
            for bc in term.targets:
                for p, a in zip(func.blocks[bc.block].params, bc.args):
                    incoming.setdefault(p, []).append(a)


def _mask_edges(func: Function, consts: dict[int, int], defs: dict[int, Inst],
                incoming: dict[int, list[int]], bits) -> bool:
    """The masks of block parameters moved onto their incoming edges (see the module
    docstring); True if any moved. `bits` is simplify's known-bits query."""
    masks: dict[int, int | None] = {}       # parameter -> the one constant all its uses mask
    for b in func.blocks:
        for inst in b.insts:
            for k, a in enumerate(inst.args):
                if a in incoming:
                    c = consts.get(inst.args[1 - k]) if inst.opcode is O.BAND else None
                    masks[a] = c if masks.get(a, c) == c else None
            if inst.targets:
                for bc in inst.targets:
                    for a in bc.args:
                        if a in incoming:
                            masks[a] = None
    moving: dict[int, int] = {}             # parameter -> its mask, to move onto edges
    for p, c in masks.items():
        width = _width(func, p)
        if c is None or not width:
            continue
        narrow = [bits(v, width) & ~c & ((1 << width) - 1) == 0 for v in incoming[p]]
        if any(narrow) and not all(narrow):     # (all: the uses drop theirs as it is)
            moving[p] = c
    for b in func.blocks:
        term = b.terminator
        if not moving or term is None or not term.targets:
            continue
        for bc in term.targets:
            for k, (p, a) in enumerate(zip(func.blocks[bc.block].params, bc.args)):
                c = moving.get(p)
                width = _width(func, p)
                if c is None or bits(a, width) & ~c & ((1 << width) - 1) == 0:
                    continue
                t = func.new_value(func.value_types[p])
                m = func.new_value(func.value_types[p])
                b.insts[-1:-1] = [Inst(O.ICONST, [], [m], c), Inst(O.BAND, [a, m], [t])]
                consts[m] = c
                defs[m], defs[t] = b.insts[-3], b.insts[-2]
                bc.args[k] = t
    if moving:                              # what the edges pass now
        incoming.clear()
        _incoming(func, incoming)
    return bool(moving)


def _const(func: Function, block, user: Inst, value: int, consts: dict[int, int],
           defs: dict[int, Inst]) -> int:
    """A new iconst of `user`'s type with `value`, placed just before `user`."""
    v = func.new_value(func.value_types[user.results[0]])
    inst = Inst(O.ICONST, [], [v], value)
    block.insts.insert(block.insts.index(user), inst)
    consts[v] = value
    defs[v] = inst
    return v
