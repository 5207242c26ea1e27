"""Redundant bounds-check elimination for ``heap_check``.

A check ``heap_check v (memory m, offset o, size s)`` passes iff ``v + o + s <= length(m)``.
Linear memories never shrink, so once a check on (m, v) with end ``e = o + s`` has passed,
every later check on (m, v) with an end ``<= e`` passes too. Two rewrites follow:

- removal: a check dominated by a check on the same (memory, value) with an end at least as
  large is dropped (walk of the dominator tree with the ends known on entry to each block);
- widening: inside one block, when a later check on the same (memory, value) has a larger end
  and every instruction between the two can neither trap nor have an effect (loads after their
  own check, pure arithmetic, other heap checks: same trap code), the first check takes the
  larger end and the later one is dropped. The trap, if any, is the same one and nothing
  observable happens between the two points.
"""

from __future__ import annotations

from ..cfg import CFG
from ..ir import (LOADS, OPCODE_BY_NAME, SIMD_STORES, STORES, Function, HeapImm, Inst, MemImm,
                  Opcode)
from ..simd import ACCESS_SIZE as SIMD_ACCESS_SIZE

#: Opcodes that may stand between a check and the one it absorbs: no effect and no trap.
_QUIET_NAMES = (
    "iconst", "fconst", "iadd", "isub", "imul", "band", "bor", "bxor", "ishl", "sshr", "ushr",
    "rotl", "rotr", "icmp", "eqz", "clz", "ctz", "popcnt", "sextend", "uextend", "ireduce",
    "extend8_s", "extend16_s", "extend32_s", "fadd", "fsub", "fmul", "fdiv", "fmin", "fmax",
    "fcmp", "fabs", "fneg", "fsqrt", "fcopysign", "select", "bitcast", "global_get", "copy")
_QUIET: frozenset[Opcode] = frozenset(
    {OPCODE_BY_NAME[n] for n in _QUIET_NAMES if n in OPCODE_BY_NAME} | set(LOADS))


def eliminate_heap_checks(func: Function) -> bool:
    """Drop and merge redundant heap checks (see the module docstring). True if it changed
    anything."""
    check = Opcode.HEAP_CHECK
    if sum(1 for b in func.blocks for i in b.insts if i.opcode is check) < 2:
        return False    # one check (or none) is never redundant
    cfg = CFG(func)
    changed = False
    # iterative preorder walk of the dominator tree; each block starts from its idom's facts
    stack: list[tuple[int, dict[tuple[int, int], int]]] = [(0, {})]
    while stack:
        bid, known = stack.pop()
        facts = dict(known)
        if _block(func.blocks[bid].insts, facts, func.blocks[bid]):
            changed = True
        for child in cfg.dom_children[bid]:
            stack.append((child, facts))
    return changed


def _block(insts: list[Inst], facts: dict[tuple[int, int], int], block) -> bool:
    """Rewrite one block's checks; `facts` maps (memory, value) to the largest end proven."""
    window: dict[tuple[int, int], Inst] = {}   # checks that may still absorb a later one
    dropped: set[int] = set()
    for inst in insts:
        op = inst.opcode
        if op is Opcode.HEAP_CHECK:
            imm: HeapImm = inst.imm  # type: ignore[assignment]
            key = (imm.memory, inst.args[0])
            end = imm.offset + imm.size
            if facts.get(key, -1) >= end:
                dropped.add(id(inst))
                continue
            first = window.get(key)
            if first is not None:
                f: HeapImm = first.imm  # type: ignore[assignment]
                # same size, later offset: the first check now covers this one's end
                first.imm = HeapImm(f.memory, end - f.size, f.size)
                dropped.add(id(inst))
            else:
                window[key] = inst
            facts[key] = end
        elif op not in _QUIET:
            window.clear()
    if dropped:
        block.insts = [i for i in insts if id(i) not in dropped]
        return True
    return False


_ACCESSES = LOADS | STORES | frozenset(SIMD_ACCESS_SIZE)
_ALL_STORES = STORES | SIMD_STORES


def fault_covered_checks(func: Function, memories: frozenset[int],
                         stores: bool = True) -> set[int]:
    """ids of the heap checks on `memories` that an access itself can stand in for when
    out-of-bounds accesses fault (guard pages): the check is followed, past instructions with
    no effect and no trap of their own (loads included: within a check's range they fault only
    when it would trap), by a load or store on the same (memory, index) whose end (offset +
    access size) is the check's end, so that access faults exactly when the check would trap
    and nothing observable happens in between. A check whose access was removed (an unused
    load) or that is followed by a store it does not match stays an explicit check. SIMD
    loads and stores count with their access size (every backend reads or writes exactly
    those bytes). Without `stores`, only loads stand in for their checks (ModuleInfo
    .checked_stores: a store straddling the memory's end may write its in-bounds bytes before
    it faults)."""
    covered: set[int] = set()
    if not memories:
        return covered
    check = Opcode.HEAP_CHECK
    for b in func.blocks:
        insts = b.insts
        for k, inst in enumerate(insts):
            if inst.opcode is not check or inst.imm.memory not in memories:
                continue
            imm: HeapImm = inst.imm  # type: ignore[assignment]
            end, index = imm.offset + imm.size, inst.args[0]
            for nxt in insts[k + 1:]:
                op = nxt.opcode
                if op in _ACCESSES:
                    m: MemImm = nxt.imm  # type: ignore[assignment]
                    size = (op.info.access_size or SIMD_ACCESS_SIZE.get(op)
                            or _width(func, nxt))
                    if m.memory == imm.memory and nxt.args[0] == index and \
                            m.offset + size == end and (stores or op not in _ALL_STORES):
                        covered.add(id(inst))
                        break
                if op not in _QUIET and op is not check:
                    break
    return covered


def _width(func: Function, access: Inst) -> int:
    """Bytes of a full-width load (its result's type) or store (its value's type)."""
    v = access.results[0] if access.opcode in LOADS else access.args[1]
    return _WIDTHS.get(func.value_types[v].name, 0)


_WIDTHS = {"I32": 4, "F32": 4, "I64": 8, "F64": 8, "V128": 16}
