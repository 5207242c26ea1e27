"""The machine-level representation instruction selection produces and the register allocator
consumes: blocks of target instructions over virtual and physical registers.

Registers are ints: physical registers are the target's numbers (below `FIRST_VREG`), virtual
registers are `FIRST_VREG` and up. An instruction names its register operands for the emitter
(`operands`, target-interpreted) and, separately, which registers it reads (`uses`), writes
(`defs`) and destroys (`clobbers`) for the allocator. A register that is both read and written
(x86 two-address forms) is listed in both. Fixed-register constraints are explicit moves to
and from physical registers placed by instruction selection around the instruction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from .base import RegClass

FIRST_VREG = 256

#: builds a Reg from a (reg, bits) tuple without the named tuple's Python-level __new__ (hot
#: loops: ``tuple_new(Reg, (r, bits))``)
tuple_new = tuple.__new__


class Reg(NamedTuple):
    """A register operand of `bits` width (8/16/32/64 for integers; 32/64 for scalar floats).

    Register, memory, immediate and label operands are named tuples rather than frozen
    dataclasses: they are the most numerous objects of a compilation and a tuple is made
    several times faster (they are immutable and compare by value all the same)."""

    reg: int
    bits: int = 64

    def remap(self, m: dict[int, int]) -> Reg:
        r = m.get(self.reg)
        return self if r is None else Reg(r, self.bits)


class Mem(NamedTuple):
    """A memory operand ``[base + index*scale + disp]`` accessing `bits` bits. `base`/`index`
    are registers or None."""

    base: int | None
    disp: int = 0
    bits: int = 64
    index: int | None = None
    scale: int = 1

    def remap(self, m: dict[int, int]) -> Mem:
        return Mem(m.get(self.base, self.base) if self.base is not None else None, self.disp,
                   self.bits, m.get(self.index, self.index) if self.index is not None else None,
                   self.scale)


class Imm(NamedTuple):
    """An immediate operand."""

    value: int


class Label(NamedTuple):
    """A branch target: a machine block id, or a named label of the module (`name`)."""

    block: int = -1
    name: str = ""


@dataclass(slots=True, frozen=True)
class Slot:
    """A spill slot of the current frame (index; the target decides the address)."""

    index: int


@dataclass(slots=True)
class MInst:
    """One machine instruction. `op` is the target's mnemonic (or a pseudo op the emitter knows),
    `operands` are Reg/Mem/Imm/Label/Slot in emission order. `targets` lists the machine blocks
    it may branch to. `parallel` marks a parallel copy ``defs[i] <- uses[i]`` (from block
    parameters); `is_move` a plain copy ``defs[0] <- uses[0]`` of one class."""

    op: str
    operands: list = field(default_factory=list)
    defs: list[int] = field(default_factory=list)
    uses: list[int] = field(default_factory=list)
    clobbers: frozenset[int] = frozenset()
    targets: tuple[int, ...] = ()
    is_move: bool = False
    parallel: bool = False

    def remap(self, m: dict[int, int]) -> None:
        """Rename registers by `m` (registers it does not map stay) in the operands, uses and
        defs. The operand list is replaced, not changed in place (lists may be shared)."""
        get = m.get
        self.operands = remap_operands(self.operands, m)
        self.defs = [get(r, r) for r in self.defs]
        self.uses = [get(r, r) for r in self.uses]


def remap_operands(operands: list, m: dict[int, int]) -> list:
    """A new operand list with the registers `m` maps renamed (the rest unchanged)."""
    get = m.get
    ops = []
    for o in operands:
        t = type(o)
        if t is Reg:
            r = get(o[0])
            if r is not None:
                o = tuple_new(Reg, (r, o[1]))
        elif t is Mem:
            if o.base in m or o.index in m:
                o = o.remap(m)
        elif t is not Imm and t is not Label and t is not str and hasattr(o, "remap"):
            o = o.remap(m)
        ops.append(o)
    return ops


@dataclass(slots=True)
class MBlock:
    id: int
    insts: list[MInst] = field(default_factory=list)
    loop_depth: int = 0
    #: laid out right after this block (an edge block follows the block that branches to it)
    after: int | None = None

    def successors(self) -> list[int]:
        out: list[int] = []
        for inst in self.insts:
            for t in inst.targets:
                if t not in out:
                    out.append(t)
        return out


@dataclass(slots=True)
class MFunction:
    """A function in machine form. `vreg_class[v]` is each virtual register's class. After
    register allocation: `spill_slots` (count), `used_callee_saved` (sorted)."""

    name: str
    blocks: list[MBlock] = field(default_factory=list)
    vreg_class: dict[int, RegClass] = field(default_factory=dict)
    next_vreg: int = FIRST_VREG
    spill_slots: int = 0
    used_callee_saved: list[int] = field(default_factory=list)
    #: extra frame slots reserved by the lowering (not spills), e.g. for a saved vmctx
    extra_slots: int = 0
    #: has memory accesses whose bounds are left to guard pages (a fault there is the trap)
    may_fault: bool = False
    #: has exception handlers (IR Function.catches): its calls are protected calls (a catch
    #: record in extra slots 1..vmctx.CATCH_WORDS), every register is clobbered at them and
    #: the frame saves every callee-saved register (an unwind to it restores none)
    catches: bool = False

    def new_vreg(self, cls: RegClass) -> int:
        v = self.next_vreg
        self.next_vreg += 1
        self.vreg_class[v] = cls
        return v

    def new_block(self, loop_depth: int = 0, after: int | None = None) -> MBlock:
        b = MBlock(len(self.blocks), loop_depth=loop_depth, after=after)
        self.blocks.append(b)
        return b

    def layout(self) -> list[MBlock]:
        """The blocks in code order: id order, except that a block with `after` set follows
        that block (after the ones placed there before it), so an edge block's copies sit on
        the fall-through path of the branch that takes the edge."""
        followers: dict[int, list[MBlock]] = {}
        roots = []
        for b in self.blocks:
            if b.after is None:
                roots.append(b)
            else:
                followers.setdefault(b.after, []).append(b)
        if not followers:
            return list(self.blocks)
        order: list[MBlock] = []
        stack = list(reversed(roots))
        while stack:
            b = stack.pop()
            order.append(b)
            stack.extend(reversed(followers.get(b.id, ())))
        return order


def threaded_jumps(mf: MFunction, jump_op: str) -> dict[int, int]:
    """Blocks (not the entry) that hold only an unconditional jump (`jump_op`), mapped to the
    block control finally reaches through such jumps; emitters branch there directly and
    leave the forwarding blocks out. Cycles of empty jumps are left alone."""
    direct = {}
    for b in mf.blocks[1:]:
        if len(b.insts) == 1 and b.insts[0].op == jump_op and b.insts[0].targets:
            direct[b.id] = b.insts[0].targets[0]
    # each block's final target is found once (a walk stops at a block already resolved), so
    # a chain of n forwarding blocks costs O(n), not O(n**2); None marks a chain into a cycle
    final: dict[int, int | None] = {}
    for start in direct:
        path, on_path, cur = [], set(), start
        while cur in direct and cur not in final and cur not in on_path:
            path.append(cur)
            on_path.add(cur)
            cur = direct[cur]
        if cur in final:
            end = final[cur]
        elif cur in on_path:
            end = None
        else:
            end = cur
        for b in path:
            final[b] = end
    return {b: final[b] for b in direct if final[b] is not None}
