"""Register allocation shared by every backend: liveness over the machine CFG, live intervals
with holes, coalescing of block parameters with the arguments loop edges pass them (where
their intervals do not meet: the copy, and a back edge's copy block, disappear), linear-scan
assignment in order of interval start with eviction by spill weight
(loop depth weighs uses), splitting of spilled values into call-free pieces that live in a
register (reloaded once from the slot): a whole call-free loop where a register is free there
or held by a value the loop does not touch (saved on the way in, restored at the exits), else
a stretch of one block; spill code through reserved scratch registers, and parallel-move
sequentialisation (cycles broken through a scratch register).

Input: an `MFunction` whose block parameters are already parallel copies (`MInst.parallel`),
with fixed-register constraints expressed as copies to/from physical registers and calls
listing the registers they clobber. Output: the same function rewritten to physical registers
only, with spill slots counted and the callee-saved registers it writes listed.

Positions: instruction k of the linear order has position 2k (where it reads) and 2k+1 (where
it writes). Ranges are half-open. A value read by k and dead afterwards ends at 2k+1, so it may
share a register with a value k defines; a value live across a call overlaps the call's clobber
range [2k+1, 2k+2) and therefore never lands in a caller-saved register.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Protocol

from engine.errors import InternalError

from .base import RegClass, TargetDesc
from .mir import FIRST_VREG, MFunction, MInst, Slot, remap_operands

Loc = int | Slot

#: every physical register number mapped to itself
_IDENTITY = {r: r for r in range(FIRST_VREG)}


class SpillHooks(Protocol):
    """The target's spill and copy instructions."""

    def move(self, dst: Loc, src: Loc, cls: RegClass, tmp: int) -> list[MInst]:
        """Copy src to dst (each a physical register or a Slot); `tmp` is a free scratch register
        of the class for memory-to-memory copies."""


class RegAllocError(InternalError):
    """Instruction selection produced something the allocator cannot satisfy."""


@dataclass(slots=True)
class Interval:
    """A register's live ranges (half-open, sorted, disjoint) and its spill weight."""

    reg: int
    ranges: list[tuple[int, int]] = field(default_factory=list)  # sorted, disjoint
    weight: float = 0.0
    #: extent [lo, hi) of the ranges, set once they are final (a cheap first overlap test)
    lo: int = 0
    hi: int = 0

    def seal(self) -> Interval:
        self.lo, self.hi = self.ranges[0][0], self.ranges[-1][1]
        return self

    @property
    def start(self) -> int:
        return self.ranges[0][0]


def _end(r: tuple[int, int]) -> int:
    return r[1]


def _lo(x: Interval) -> int:
    return x.lo


def _overlaps(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> bool:
    la, lb = len(a), len(b)
    if la == 1 and lb == 1:     # the common case: two single ranges
        return b[0][0] < a[0][1] and a[0][0] < b[0][1]
    i = j = 0
    # long lists (fixed registers across many calls): skip the ranges ending before the other
    # list starts (ends are sorted, as the ranges are disjoint and sorted)
    if la > 8:
        i = bisect.bisect_right(a, b[0][0], key=_end)
    if lb > 8:
        j = bisect.bisect_right(b, a[0][0], key=_end)
    while i < la and j < lb:
        if a[i][1] <= b[j][0]:
            i += 1
        elif b[j][1] <= a[i][0]:
            j += 1
        else:
            return True
    return False


class _Cover:
    """The union of some intervals' ranges as sorted disjoint half-open segments: an overlap
    query is a binary search (scanning the intervals made piece placement O(pieces**2))."""

    __slots__ = ("starts", "ends")

    def __init__(self, intervals) -> None:
        segs = sorted(r for x in intervals for r in x.ranges)
        starts: list[int] = []
        ends: list[int] = []
        for a, b in segs:
            if ends and a < ends[-1]:          # overlapping ranges merge (touching ones need not)
                if b > ends[-1]:
                    ends[-1] = b
            else:
                starts.append(a)
                ends.append(b)
        self.starts, self.ends = starts, ends

    def overlaps(self, lo: int, hi: int) -> bool:
        """Whether [lo, hi) meets a segment."""
        i = bisect.bisect_right(self.starts, lo) - 1
        if i >= 0 and self.ends[i] > lo:
            return True
        i += 1
        return i < len(self.starts) and self.starts[i] < hi

    def add(self, lo: int, hi: int) -> None:
        """Add [lo, hi), which overlaps no segment."""
        i = bisect.bisect_right(self.starts, lo)
        self.starts.insert(i, lo)
        self.ends.insert(i, hi)


class _Busy:
    """The positions a physical register is taken at: its fixed ranges and the ranges of the
    intervals assigned to it, as sorted lists of starts and ends of disjoint half-open segments
    (one per range, never merged, so an evicted interval's ranges come out again). Whether an
    interval fits is a binary search per range of it, not a walk over every interval the
    register holds."""

    __slots__ = ("starts", "ends")

    def __init__(self, ranges=()) -> None:
        self.starts = [a for a, _ in ranges]
        self.ends = [b for _, b in ranges]

    def meets(self, x: Interval) -> bool:
        """Whether a range of `x` overlaps a segment."""
        starts, ends = self.starts, self.ends
        if not starts or x.hi <= starts[0] or x.lo >= ends[-1]:
            return False
        right = bisect.bisect_right
        n = len(starts)
        for lo, hi in x.ranges:
            i = right(starts, lo)
            if i and ends[i - 1] > lo:
                return True
            if i < n and starts[i] < hi:
                return True
        return False

    def add(self, ranges) -> None:
        starts, ends = self.starts, self.ends
        for lo, hi in ranges:
            i = bisect.bisect_right(starts, lo)
            starts.insert(i, lo)
            ends.insert(i, hi)

    def remove(self, ranges) -> None:
        starts, ends = self.starts, self.ends
        for lo, _ in ranges:
            i = bisect.bisect_left(starts, lo)
            del starts[i], ends[i]


def liveness(func: MFunction, tracked=None, *,
             phys: frozenset[int] = frozenset()) -> tuple[list[set[int]], list[set[int]]]:
    """Live-in and live-out register sets per block (iterated to a fixpoint, so values live
    around loops stay live through the whole loop). Tracked registers: those `tracked(r)`
    accepts, or (without `tracked`) every virtual register and the physical ones in `phys`."""
    n = len(func.blocks)
    gen: list[set[int]] = []
    kill: list[set[int]] = []
    succs: list[list[int]] = []
    inline = tracked is None
    for b in func.blocks:
        g: set[int] = set()
        k: set[int] = set()
        out: list[int] = []       # successors in order of first appearance (MBlock.successors)
        for inst in b.insts:
            if inst.targets:
                for t in inst.targets:
                    if t not in out:
                        out.append(t)
            if inline:
                for u in inst.uses:
                    if u not in k and (u >= FIRST_VREG or u in phys):
                        g.add(u)
                for d in inst.defs:
                    if d >= FIRST_VREG or d in phys:
                        k.add(d)
                continue
            for u in inst.uses:
                if u not in k and tracked(u):
                    g.add(u)
            for d in inst.defs:
                if d not in k and tracked(d):
                    k.add(d)
        gen.append(g)
        kill.append(k)
        succs.append(out)
    live_in: list[set[int]] = [set() for _ in range(n)]
    live_out: list[set[int]] = [set() for _ in range(n)]
    changed = True
    while changed:
        changed = False
        for i in range(n - 1, -1, -1):
            out_set: set[int] = set()
            for s in succs[i]:
                out_set |= live_in[s]
            inn = gen[i] | (out_set - kill[i])
            if out_set != live_out[i] or inn != live_in[i]:
                live_out[i], live_in[i] = out_set, inn
                changed = True
    return live_in, live_out


def _add_front(rs: list[tuple[int, int]], start: int, end: int) -> None:
    """Add the range [start, end) to an interval's ranges, merging it with any it touches or
    overlaps. The list is kept in *descending* order while build_intervals walks backward:
    new ranges arrive at the front of the interval, which is then the list's cheap end."""
    if start >= end:
        return
    if not rs:
        rs.append((start, end))
        return
    s0, e0 = rs[-1]
    if end >= s0 and start <= e0:
        if start < s0:
            s0 = start
        if end > e0:
            e0 = end
        # merge forward if the widened range swallowed followers
        while len(rs) > 1 and e0 >= rs[-2][0]:
            if rs[-2][1] > e0:
                e0 = rs[-2][1]
            del rs[-2]
        rs[-1] = (s0, e0)
        return
    if end < s0:
        rs.append((start, end))
        return
    fwd = rs[::-1]
    fwd.insert(bisect.bisect_left(fwd, (start, end)), (start, end))
    merged: list[tuple[int, int]] = []
    for s, e in fwd:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    merged.reverse()
    rs[:] = merged


@dataclass(slots=True)
class _TargetTables:
    """Per-target facts the allocator reads for every function (computed once per target)."""

    alloc_set: frozenset[int]
    #: class id -> (allocatable registers, candidates with the caller-saved ones first)
    seq_of: dict[int, tuple[tuple[int, ...], list[int]]]
    #: whether two classes name the same physical scratch register
    shared_scratch: bool = False


_TABLES: dict[int, tuple[TargetDesc, _TargetTables]] = {}


def _tables(target: TargetDesc) -> _TargetTables:
    hit = _TABLES.get(id(target))
    if hit is not None and hit[0] is target:
        return hit[1]
    alloc: set[int] = set()
    for regs in target.allocatable.values():
        alloc.update(regs)
    caller_saved = target.caller_saved
    # candidates per class: caller-saved registers first (no save/restore in the frame);
    # keyed by the identity of the class object (enum hashing is slow in Python)
    seq_of = {id(cls): (regs, [p for p in regs if p in caller_saved] +
                        [p for p in regs if p not in caller_saved])
              for cls, regs in target.allocatable.items()}
    scratch = [r for regs in target.scratch.values() for r in regs]
    tables = _TargetTables(frozenset(alloc), seq_of, len(scratch) != len(set(scratch)))
    _TABLES[id(target)] = (target, tables)    # the target is kept alive: its id stays unique
    return tables


@dataclass(slots=True)
class _Group:
    """Virtual registers coalesced into one interval (a block parameter and the arguments its
    edges pass, where their live ranges do not meet)."""

    regs: list[int]
    interval: Interval
    #: the sum of the members' use frequencies (the interval's weight times its length)
    uses: float


def _length(ranges: list[tuple[int, int]]) -> int:
    return sum(e - s for s, e in ranges)


def _covers(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> bool:
    """Whether every range of `b` lies inside one range of `a` (both sorted, disjoint)."""
    for lo, hi in b:
        i = bisect.bisect_right(a, (lo, float("inf"))) - 1
        if i < 0 or a[i][1] < hi:
            return False
    return True


def _merge_ranges(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The union of two disjoint sorted range lists, touching ranges joined."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(a + b):
        if out and out[-1][1] == s:
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def coalesce_block_args(func: MFunction, intervals: dict[int, Interval]) -> dict[int, _Group]:
    """Coalesce the two ends of block-argument copies (the parallel copies of edges inside
    loops, most frequent first) whose live intervals do not overlap and whose classes agree,
    so that both ends get one location and the copy disappears (a loop's back edge then needs
    no copy block and its branch goes straight to the header). Returns representative ->
    group for every group of two or more registers; `intervals` is left as it is."""
    pairs: list[tuple[float, int, int]] = []
    for b in func.blocks:
        if not b.loop_depth:
            continue
        freq = 10.0 ** min(b.loop_depth, 6)
        for inst in b.insts:
            if inst.parallel:
                for d, u in zip(inst.defs, inst.uses):
                    if d >= FIRST_VREG and u >= FIRST_VREG and d != u:
                        pairs.append((freq, d, u))
    if not pairs:
        return {}
    pairs.sort(key=lambda p: -p[0])
    vreg_class = func.vreg_class
    rep_of: dict[int, int] = {}
    groups: dict[int, _Group] = {}

    def group_of(v: int) -> _Group | None:
        r = rep_of.get(v, v)
        g = groups.get(r)
        if g is None:
            x = intervals.get(v)
            if x is None or not x.ranges:
                return None
            g = groups[r] = _Group([v], Interval(v, list(x.ranges)).seal(),
                                   x.weight * _length(x.ranges))
            rep_of[v] = v
        return g

    for _, d, u in pairs:
        if vreg_class.get(d) is not vreg_class.get(u):
            continue
        gd, gu = group_of(d), group_of(u)
        if gd is None or gu is None or gd is gu:
            continue
        a, b = gd.interval, gu.interval
        if a.lo < b.hi and b.lo < a.hi and _overlaps(a.ranges, b.ranges):
            continue
        ranges = _merge_ranges(a.ranges, b.ranges)
        a.ranges = ranges
        a.seal()
        gd.uses += gu.uses
        a.weight = gd.uses / (_length(ranges) or 1)
        for m in gu.regs:
            rep_of[m] = a.reg
        gd.regs.extend(gu.regs)
        del groups[b.reg]
    return {r: g for r, g in groups.items() if len(g.regs) > 1}


@dataclass(slots=True)
class LoopRegion:
    """A natural loop that a spilled value may spend in one register: no call inside, one
    entry edge, from block `entry` whose only instruction with targets is its final jump to
    the header. `ranges`: the positions of the body's blocks and of that jump (sorted,
    disjoint); `parallel_defs`: the registers block-parameter copies inside define."""

    entry: int
    body: frozenset[int]
    ranges: list[tuple[int, int]]
    parallel_defs: frozenset[int]
    #: every register an instruction of the body reads or writes
    mentioned: frozenset[int]
    #: the blocks outside the body that it branches to -> their first position, when every
    #: predecessor of each is in the body (then code at their start runs only on loop exit);
    #: None otherwise
    exits: dict[int, int] | None


def loop_regions(func: MFunction) -> list[LoopRegion]:
    """The function's call-free, single-entry natural loops, largest first (an outer loop
    before the loops nested in it). Back edges are the retreating edges of a depth-first
    walk; a loop whose body reaches the function's entry other than through its header (an
    irreducible one) is left out."""
    blocks = func.blocks
    if len(blocks) < 2:
        return []
    by_id = {b.id: b for b in blocks}
    succs = {b.id: b.successors() for b in blocks}
    preds: dict[int, list[int]] = {b.id: [] for b in blocks}
    for b in blocks:
        for t in succs[b.id]:
            preds[t].append(b.id)
    # retreating edges: latch -> header, header on the walk's stack
    latches: dict[int, list[int]] = {}
    entry = blocks[0].id
    state = {entry: 1}           # 1 on the stack, 2 finished
    stack = [(entry, iter(succs[entry]))]
    while stack:
        b, it = stack[-1]
        for t in it:
            st = state.get(t)
            if st is None:
                state[t] = 1
                stack.append((t, iter(succs[t])))
                break
            if st == 1:
                latches.setdefault(t, []).append(b)
        else:
            state[b] = 2
            stack.pop()
    if not latches:
        return []
    pos: dict[int, tuple[int, int]] = {}
    k = 0
    for b in blocks:
        pos[b.id] = (2 * k, 2 * (k + len(b.insts)))
        k += len(b.insts)
    out = []
    for h, ls in latches.items():
        body = {h}
        work = list(ls)
        while work:
            x = work.pop()
            if x not in body:
                body.add(x)
                work.extend(preds[x])
        outside = [p for p in preds[h] if p not in body]
        if entry in body or len(outside) != 1:
            continue
        if any(p not in body for x in body if x != h for p in preds[x]):
            continue
        e = outside[0]
        einsts = by_id[e].insts
        if (succs[e] != [h] or not einsts or einsts[-1].parallel
                or any(i.targets for i in einsts[:-1]) or not einsts[-1].targets):
            continue
        if any(i.clobbers for x in body for i in by_id[x].insts):
            continue
        segs = sorted([pos[x] for x in body] + [(pos[e][1] - 2, pos[e][1])])
        ranges: list[tuple[int, int]] = []
        for lo, hi in segs:
            if ranges and lo <= ranges[-1][1]:
                ranges[-1] = (ranges[-1][0], max(hi, ranges[-1][1]))
            else:
                ranges.append((lo, hi))
        pdefs = frozenset(d for x in body for i in by_id[x].insts if i.parallel for d in i.defs)
        mentioned = frozenset(r for x in body for i in by_id[x].insts for r in (*i.uses, *i.defs))
        exits: dict[int, int] | None = {}
        for x in body:
            for t in succs[x]:
                if t not in body:
                    if any(q not in body for q in preds[t]):
                        exits = None
                        break
                    exits[t] = pos[t][0]
            if exits is None:
                break
        out.append(LoopRegion(e, frozenset(body), ranges, pdefs, mentioned, exits))
    out.sort(key=lambda r: -len(r.body))
    return out


class Allocator:
    """Allocates one MFunction for `target` (see the module docstring)."""

    def __init__(self, target: TargetDesc, hooks: SpillHooks) -> None:
        self.t = target
        self.hooks = hooks
        self.pieces: dict[tuple[int, int], int] = {}
        self.reload_at: dict[tuple[int, int], bool] = {}
        self.tables = _tables(target)
        self.alloc_set = self.tables.alloc_set

    def _tracked(self, r: int) -> bool:
        return r >= FIRST_VREG or r in self.alloc_set

    # -- intervals ------------------------------------------------------------------------------

    def build_intervals(self, func: MFunction
                        ) -> tuple[dict[int, Interval], dict[int, list], list[MInst]]:
        """Live intervals of the virtual registers (with their spill weight), the ranges of
        the allocatable physical registers (fixed uses, clobbers), and the copies (moves and
        parallel copies, in program order) that give the allocator its register hints. One
        backward walk over the linear order; every interval's ranges are built in descending
        order (the walk adds at the front) and reversed at the end."""
        alloc_set = self.alloc_set
        blocks = func.blocks
        if len(blocks) == 1 and not any(inst.targets for inst in blocks[0].insts):
            live_out: list[set[int]] = [set()]      # straight-line code: nothing lives out
        else:
            _, live_out = liveness(func, phys=alloc_set)
        intervals: dict[int, Interval] = {}
        fixed: dict[int, Interval] = {}
        copies: list[MInst] = []     # backward order until the end
        # clobber sets (calls share one frozenset) -> their allocatable registers
        clobber_cache: dict[int, tuple[frozenset[int], tuple[int, ...]]] = {}
        # linear numbering
        starts = []
        k = 0
        for b in blocks:
            starts.append(k)
            k += len(b.insts)
        for bi in range(len(blocks) - 1, -1, -1):
            b = blocks[bi]
            insts = b.insts
            base = starts[bi]
            bstart = 2 * base
            bend = 2 * (base + len(insts))
            freq = 10.0 ** min(b.loop_depth, 6)
            live = set(live_out[bi])
            for r in live:
                table = intervals if r >= FIRST_VREG else fixed
                x = table.get(r)
                if x is None:
                    x = table[r] = Interval(r)
                _add_front(x.ranges, bstart, bend)
            # instruction k reads at 2k and writes at w = 2k + 1
            w = 2 * (base + len(insts)) + 1
            for inst in reversed(insts):
                w -= 2
                if inst.is_move or inst.parallel:
                    copies.append(inst)
                for d in inst.defs:
                    if d >= FIRST_VREG:
                        x = intervals.get(d)
                        if x is None:
                            x = intervals[d] = Interval(d)
                        x.weight += freq
                    elif d in alloc_set:
                        x = fixed.get(d)
                        if x is None:
                            x = fixed[d] = Interval(d)
                    else:
                        continue
                    rs = x.ranges
                    if d in live:
                        # the definition starts the front range
                        if rs:
                            e = rs[-1][1]
                            rs[-1] = (w, e) if w < e else (w, w + 1)
                        else:
                            rs.append((w, w + 1))
                        live.discard(d)
                    elif not rs or w + 1 < rs[-1][0]:
                        rs.append((w, w + 1))
                    else:
                        _add_front(rs, w, w + 1)
                if inst.clobbers:
                    clobbered = clobber_cache.get(id(inst.clobbers))
                    if clobbered is None or clobbered[0] is not inst.clobbers:
                        clobbered = (inst.clobbers,
                                     tuple(c for c in inst.clobbers if c in alloc_set))
                        clobber_cache[id(inst.clobbers)] = clobbered
                    r1 = (w, w + 1)
                    for c in clobbered[1]:
                        x = fixed.get(c)
                        if x is None:
                            x = fixed[c] = Interval(c)
                        rs = x.ranges
                        if not rs or w + 1 < rs[-1][0]:
                            rs.append(r1)
                        else:
                            _add_front(rs, w, w + 1)
                for u in inst.uses:
                    if u >= FIRST_VREG:
                        x = intervals.get(u)
                        if x is None:
                            x = intervals[u] = Interval(u)
                        x.weight += freq
                    elif u in alloc_set:
                        x = fixed.get(u)
                        if x is None:
                            x = fixed[u] = Interval(u)
                    else:
                        continue
                    if u not in live:
                        rs = x.ranges
                        if not rs or w < rs[-1][0]:
                            rs.append((bstart, w))
                        else:
                            _add_front(rs, bstart, w)
                        live.add(u)
        for x in intervals.values():
            rs = x.ranges
            if rs:
                rs.reverse()
                length = 0
                for s, e in rs:
                    length += e - s
                x.weight = x.weight / (length or 1)
                x.lo, x.hi = rs[0][0], rs[-1][1]
            else:
                x.weight = x.weight / 1
        out_fixed = {}
        for r, x in fixed.items():
            x.ranges.reverse()
            out_fixed[r] = x.ranges
        copies.reverse()
        return intervals, out_fixed, copies

    # -- assignment -----------------------------------------------------------------------------

    def allocate(self, func: MFunction) -> dict[int, Loc]:
        intervals, fixed, copies = self.build_intervals(func)
        hints: dict[int, list[int]] = {}
        for inst in copies:
            for d, u in zip(inst.defs, inst.uses):
                h = hints.get(d)
                if h is None:
                    hints[d] = [u]
                else:
                    h.append(u)
                h = hints.get(u)
                if h is None:
                    hints[u] = [d]
                else:
                    h.append(d)
        members = coalesce_block_args(func, intervals)
        # a coalesced group is allocated as one interval, its representative's
        alloc_units = dict(intervals)
        for rep, group in members.items():
            alloc_units[rep] = group.interval
            for m in group.regs:
                if m != rep:
                    del alloc_units[m]
        # occupied[p]: the intervals assigned to p (a register nothing got has no entry)
        occupied: dict[int, list[Interval]] = {}
        assign: dict[int, Loc] = {}
        order = sorted((x for x in alloc_units.values() if x.ranges), key=_lo)

        # active[p]: the intervals of occupied[p] that have not ended yet (intervals arrive in
        # order of start, so one that ended before x starts can conflict with no later one)
        active: dict[int, list[Interval]] = {}

        def conflicts(p: int, x: Interval) -> list[Interval] | None:
            """Intervals in p that overlap x; None if a fixed use of p overlaps x."""
            xr = x.ranges
            fr = fixed.get(p)
            if fr and fr[-1][1] > x.lo and fr[0][0] < x.hi and _overlaps(fr, xr):
                return None
            act = active.get(p)
            if not act:
                return []
            start = x.lo
            for o in act:
                if o.hi <= start:
                    act[:] = [o for o in act if o.hi > start]
                    break
            return [o for o in act if _overlaps(o.ranges, xr)]

        # busy[p]: what p is taken by (its fixed ranges, then the intervals assigned to it)
        busy: dict[int, _Busy] = {p: _Busy(fr) for p, fr in fixed.items()}

        def is_free(p: int, x: Interval) -> bool:
            """conflicts(p, x) == [] (without building the list)."""
            b = busy.get(p)
            return b is None or not b.meets(x)

        spill_count = 0

        vector = RegClass.VECTOR

        def place(x: Interval, loc: Loc) -> None:
            group = members.get(x.reg)
            if group is None:
                assign[x.reg] = loc
            else:
                for m in group.regs:
                    assign[m] = loc

        def spill(x: Interval) -> None:
            nonlocal spill_count
            if vreg_class[x.reg] is vector:
                # a vector takes slots i and i + 1 (the target addresses the pair), i even:
                # 16-byte aligned when the target's spill area is (aarch64's ldr/str q
                # scale their offset by 16)
                spill_count += spill_count & 1
                place(x, Slot(spill_count))
                spill_count += 2
                return
            place(x, Slot(spill_count))
            spill_count += 1

        seq_of = self.tables.seq_of
        vreg_class = func.vreg_class
        for x in order:
            cands, seq = seq_of[id(vreg_class[x.reg])]
            chosen = None
            group = members.get(x.reg)
            if group is None:
                hs = hints.get(x.reg)
            else:
                hs = [h for m in group.regs for h in hints.get(m, ())]
            preferred: list[int] = []
            if hs:
                for h in hs:
                    p = assign.get(h, h if h < FIRST_VREG else None)
                    if type(p) is int and p in cands and p not in preferred:
                        preferred.append(p)
                for p in preferred:
                    if is_free(p, x):
                        chosen = p
                        break
            if chosen is None:
                for p in seq:
                    if p not in preferred and is_free(p, x):
                        chosen = p
                        break
            if chosen is None:
                best, best_cost, best_victims = None, x.weight, None
                for p in cands:
                    c = conflicts(p, x)
                    if c is None:
                        continue
                    cost = sum(o.weight for o in c)
                    if cost < best_cost:
                        best, best_cost, best_victims = p, cost, c
                if best is None:
                    spill(x)
                    continue
                for o in best_victims:
                    occupied[best].remove(o)
                    active[best].remove(o)
                    busy[best].remove(o.ranges)
                    spill(o)
                chosen = best
            place(x, chosen)
            b = busy.get(chosen)
            if b is None:
                busy[chosen] = _Busy(x.ranges)
            else:
                b.add(x.ranges)
            occ = occupied.get(chosen)
            if occ is None:
                occupied[chosen] = [x]
                active[chosen] = [x]
            else:
                occ.append(x)
                active[chosen].append(x)
        func.spill_slots = spill_count
        self._members = members
        self._slot_of = assign
        self.pieces = self.split_spilled(func, assign, intervals, occupied, fixed)
        used = {p for p in assign.values() if type(p) is int}
        used.update(p for p in self.pieces.values())
        func.used_callee_saved = sorted(self.t.callee_saved if func.catches
                                        else used & self.t.callee_saved)
        return assign

    # -- splitting ------------------------------------------------------------------------------

    def split_spilled(self, func: MFunction, assign: dict[int, Loc],
                      intervals: dict[int, Interval], occupied: dict[int, list[Interval]],
                      fixed: dict[int, list]) -> dict[tuple[int, int], int]:
        """Give spilled values registers between calls: each spilled value's accesses are cut
        into pieces (one basic block, no call inside); a piece that finds a free register keeps
        the value there, reloading it once from its slot at the piece's first use. Definitions
        still store to the slot, so every piece may start from it. Returns
        {(vreg, instruction index): register} for each access inside a piece."""
        spilled = {v for v, loc in assign.items() if type(loc) is not int}
        if not spilled:
            return {}
        events: dict[int, list[tuple[int, int, bool]]] = {}  # vreg -> (block, k, is_def_only)
        calls: list[int] = []
        k = 0
        for b in func.blocks:
            for inst in b.insts:
                if inst.clobbers:
                    calls.append(k)
                if not inst.parallel:
                    for v in dict.fromkeys([*inst.uses, *inst.defs]):
                        if v in spilled and isinstance(assign.get(v), Slot):
                            events.setdefault(v, []).append((b.id, k, v not in inst.uses))
                k += 1
        out: dict[tuple[int, int], int] = {}
        # cover[p]: the positions p is busy at (its intervals, then the pieces given to it)
        cover: dict[int, _Cover] = {}

        def free_over(p: int, ranges: list[tuple[int, int]]) -> bool:
            """Whether p is free at every position of `ranges` (then they are given to it)."""
            fr = fixed.get(p)
            if fr and _overlaps(fr, ranges):
                return False
            cov = cover.get(p)
            if cov is None:
                cov = cover[p] = _Cover(occupied.get(p, ()))
            if any(cov.overlaps(lo, hi) for lo, hi in ranges):
                return False
            for lo, hi in ranges:
                cov.add(lo, hi)
            given.setdefault(p, []).extend(ranges)
            return True

        # given[p]: the ranges of the pieces given to p
        given: dict[int, list[tuple[int, int]]] = {}

        order = sorted(events, key=lambda v: -intervals[v].weight if v in intervals else 0)
        loops = loop_regions(func)
        for v in order:
            evs = events[v]
            cls = func.vreg_class[v]
            if loops:
                evs = self._loop_pieces(func, v, evs, cls, loops, free_over, out,
                                        occupied, fixed, given)
            groups: list[list[tuple[int, int, bool]]] = []
            for ev in evs:
                g = groups[-1] if groups else None
                if g and g[-1][0] == ev[0]:
                    # a call at position c with g[-1][1] <= c < ev[1] cuts the piece (calls
                    # are in increasing order: the first call at or after g[-1][1] decides)
                    i = bisect.bisect_left(calls, g[-1][1])
                    if i == len(calls) or calls[i] >= ev[1]:
                        g.append(ev)
                        continue
                groups.append([ev])
            for g in groups:
                if len(g) < 2:
                    continue  # a single access gains nothing over the scratch register
                first_b, first_k, first_def = g[0]
                last_k = g[-1][1]
                start = 2 * first_k + 1 if first_def else 2 * first_k - 1
                # through the slot store after a last definition
                end = 2 * last_k + 2
                ranges = [(max(start, 0), end)]
                for p in self.t.allocatable[cls]:
                    if not free_over(p, ranges):
                        continue
                    for _, kk, _ in g:
                        out[(v, kk)] = p
                    self.reload_at[(v, first_k)] = not first_def
                    break
        return out

    def _loop_pieces(self, func: MFunction, v: int, evs: list[tuple[int, int, bool]],
                     cls: RegClass, loops: list[LoopRegion], free_over,
                     out: dict[tuple[int, int], int], occupied: dict[int, list[Interval]],
                     fixed: dict[int, list], given: dict[int, list[tuple[int, int]]]
                     ) -> list[tuple[int, int, bool]]:
        """Give spilled `v` a register through whole loops (outermost first) that access it
        and leave a register free throughout, or whose register holds one value the loop
        does not touch (that value is saved to a slot of its own on the way in and reloaded
        at the loop's exits): `v` is reloaded once on the loop's entry edge, its accesses
        inside use the register (definitions still store to the slot). Returns the accesses
        left for per-block pieces."""
        taken: set[int] = set()       # body blocks of the loops v got
        slot = self._slot_of[v]
        for loop in loops:
            inside = [ev for ev in evs if ev[0] in loop.body]
            if not inside or v in loop.parallel_defs or not taken.isdisjoint(loop.body):
                continue
            entry = self.entry_moves.setdefault(loop.entry, [])
            got = None
            for p in self.t.allocatable[cls]:
                if free_over(p, loop.ranges):
                    got = p
                    break
            if got is None and loop.exits is not None and cls is not RegClass.VECTOR:
                got = self._evict_through(func, loop, cls, occupied, fixed, given, entry)
            if got is None:
                continue
            for _, k, _ in inside:
                out[(v, k)] = got
            entry.append((got, slot, cls))
            taken |= loop.body
        if not taken:
            return evs
        return [ev for ev in evs if ev[0] not in taken]

    def _evict_through(self, func: MFunction, loop: LoopRegion, cls: RegClass,
                       occupied: dict[int, list[Interval]], fixed: dict[int, list],
                       given: dict[int, list[tuple[int, int]]],
                       entry: list[tuple[Loc, Loc, RegClass]]) -> int | None:
        """A register of `cls` that only one value holds through `loop`, a value no
        instruction of the loop touches: it moves to a new slot on the way in (appended to
        `entry`) and back at every exit where it is live; the register is then the loop's."""
        ranges = loop.ranges
        for p in self.t.allocatable[cls]:
            fr = fixed.get(p)
            if fr and _overlaps(fr, ranges):
                continue
            gv = given.get(p)
            if gv and _overlaps(sorted(gv), ranges):
                continue
            held = [x for x in occupied.get(p, ()) if _overlaps(x.ranges, ranges)]
            if len(held) != 1:
                continue
            x = held[0]
            group = self._members.get(x.reg)
            regs = group.regs if group is not None else [x.reg]
            if any(r in loop.mentioned for r in regs) or func.vreg_class[x.reg] is not cls:
                continue
            # live through the whole body (live at the header and untouched inside)
            if not _covers(_merge_ranges(x.ranges, []), ranges):
                continue
            save = Slot(func.spill_slots)
            func.spill_slots += 1
            entry.append((save, p, cls))
            for t, start in loop.exits.items():
                if _overlaps(x.ranges, [(start, start + 1)]):
                    self.exit_moves.setdefault(t, []).append((p, save, cls))
            given.setdefault(p, []).extend(ranges)
            return p
        return None

    # -- rewriting ------------------------------------------------------------------------------

    def run(self, func: MFunction) -> dict[int, Loc]:
        self.reload_at: dict[tuple[int, int], bool] = {}
        #: entry block of a loop -> moves (dst, src, class) before its jump into the loop
        self.entry_moves: dict[int, list[tuple[Loc, Loc, RegClass]]] = {}
        #: exit block of a loop -> moves at its start (a value evicted for the loop returns)
        self.exit_moves: dict[int, list[tuple[Loc, Loc, RegClass]]] = {}
        assign = self.allocate(func)
        # every register that stays in one register throughout: the physical ones (as
        # themselves) and the virtual ones that got a register
        reg_of = dict(_IDENTITY)
        in_reg = {v: loc for v, loc in assign.items() if type(loc) is int}
        reg_of.update(in_reg)
        k = 0
        for b in func.blocks:
            out: list[MInst] = []
            for inst in b.insts:
                if inst.parallel:
                    out.extend(self._parallel(func, inst, assign))
                    k += 1
                    continue
                # fast path (most instructions): every virtual operand got a register
                # (the short lists spelled out: a comprehension costs a call on Python 3.11)
                try:
                    regs = inst.uses
                    n = len(regs)
                    if n == 1:
                        uses = [reg_of[regs[0]]]
                    elif n == 2:
                        uses = [reg_of[regs[0]], reg_of[regs[1]]]
                    else:
                        uses = [reg_of[r] for r in regs]
                    regs = inst.defs
                    n = len(regs)
                    if n == 1:
                        defs = [reg_of[regs[0]]]
                    elif n == 0:
                        defs = []
                    else:
                        defs = [reg_of[r] for r in regs]
                except KeyError:
                    out.extend(self._rewrite_spilled(func, inst, assign, k))
                    k += 1
                    continue
                if inst.is_move and defs[0] == uses[0]:
                    k += 1
                    continue        # coalesced: both ends got the same register
                if inst.operands:
                    inst.operands = remap_operands(inst.operands, in_reg)
                inst.uses = uses
                inst.defs = defs
                out.append(inst)
                k += 1
            moves = self.entry_moves.get(b.id)
            if moves:
                # before the block's final jump (loads and stores change no flags)
                out[-1:-1] = self._moves(moves)
            moves = self.exit_moves.get(b.id)
            if moves:
                out[:0] = self._moves(moves)
            b.insts = out
        return assign

    def _moves(self, moves: list[tuple[Loc, Loc, RegClass]]) -> list[MInst]:
        """Register <-> slot moves (one end always a register: it is the move's temporary)."""
        return [m for dst, src, cls in moves
                for m in self.hooks.move(dst, src, cls, dst if type(dst) is int else src)]

    def _rewrite_spilled(self, func: MFunction, inst: MInst, assign: dict[int, Loc],
                         k: int) -> list[MInst]:
        if inst.is_move and len(inst.defs) == 1 and len(inst.uses) == 1:
            direct = self._direct_move(func, inst, assign, k)
            if direct is not None:
                return direct
        m: dict[int, int] = {}
        before: list[MInst] = []
        after: list[MInst] = []
        free = {cls: list(regs) for cls, regs in self.t.scratch.items()}
        # scratch registers holding operands the instruction only reads: a real instruction
        # (not a pseudo op, which may expand to several) reads them before it writes, so a
        # spilled result may share one when no scratch register is left (three-address forms
        # such as csel d, a, b with all three spilled)
        read_only: dict[RegClass, list[int]] = {cls: [] for cls in self.t.scratch}
        shared_scratch = self.tables.shared_scratch
        regs = list(dict.fromkeys([*inst.uses, *inst.defs]))
        for v in regs:
            if v < FIRST_VREG:
                continue
            loc = assign.get(v)
            if loc is None:
                # defined but never live (dead def): give it a scratch register
                loc = Slot(-1)
            if isinstance(loc, int):
                m[v] = loc
                continue
            cls = func.vreg_class[v]
            piece = self.pieces.get((v, k))
            if piece is not None:
                m[v] = piece
                if self.reload_at.get((v, k)):
                    before.extend(self.hooks.move(piece, loc, cls, piece))
                if v in inst.defs:
                    after.extend(self.hooks.move(loc, piece, cls, piece))
                continue
            if free[cls]:
                s = free[cls].pop(0)
                if v not in inst.defs:
                    read_only[cls].append(s)
            elif v not in inst.uses and read_only[cls] and not inst.op.startswith("@"):
                s = read_only[cls].pop(0)
            else:
                raise RegAllocError(f"{func.name}: too many spilled operands in {inst.op}")
            if shared_scratch:
                # classes that share physical registers (FLOAT and VECTOR on x86_64 and
                # aarch64) share their scratch registers too: taken for one, taken for all
                for c in free:
                    if c is not cls and s in free[c]:
                        free[c].remove(s)
            m[v] = s
            if loc.index >= 0:
                if v in inst.uses:
                    before.extend(self.hooks.move(s, loc, cls, s))
                if v in inst.defs:
                    after.extend(self.hooks.move(loc, s, cls, s))
        inst.remap(m)
        if inst.is_move and inst.defs[0] == inst.uses[0] and not before and not after:
            return []
        return before + [inst] + after

    def _direct_move(self, func: MFunction, inst: MInst, assign: dict[int, Loc],
                     k: int) -> list[MInst] | None:
        """A copy with a spilled end as one reload or spill (``r <- [slot]`` rather than a
        reload into a scratch register and a copy), or None when an end lives in a piece here
        (or is a dead definition): then the general rewrite applies. A copy moves the whole
        value (an i32 is kept zero-extended), so the target's full-width spill move is exact."""
        (d,), (u,) = inst.defs, inst.uses
        if d >= FIRST_VREG and (d, k) in self.pieces or u >= FIRST_VREG and (u, k) in self.pieces:
            return None
        dl = assign.get(d) if d >= FIRST_VREG else d
        ul = assign.get(u) if u >= FIRST_VREG else u
        if dl is None or ul is None:
            return None
        if dl == ul:
            return []           # both ends coalesced into one slot
        if type(dl) is not int and dl.index < 0 or type(ul) is not int and ul.index < 0:
            return None
        cls = func.vreg_class[d] if d >= FIRST_VREG else func.vreg_class[u]
        return self.hooks.move(dl, ul, cls, self.t.scratch[cls][0])

    def _parallel(self, func: MFunction, inst: MInst, assign: dict[int, Loc]) -> list[MInst]:
        moves: list[tuple[Loc, Loc, RegClass]] = []
        for d, u in zip(inst.defs, inst.uses):
            dl = assign.get(d) if d >= FIRST_VREG else d
            if dl is None:
                continue  # parameter never used
            ul = assign.get(u) if u >= FIRST_VREG else u
            if ul is None:
                raise RegAllocError(f"{func.name}: copy from an unallocated value v{u}")
            if dl != ul:
                moves.append((dl, ul, func.vreg_class.get(d) or self.t.reg_class(d)))
        return sequentialize(moves, self.hooks, self.t)


def sequentialize(moves: list[tuple[Loc, Loc, RegClass]], hooks: SpillHooks,
                  target: TargetDesc) -> list[MInst]:
    """Order a parallel copy (dst, src, class) into sequential moves; cycles are broken by
    copying one source to the class's first scratch register (the second serves memory-to-
    memory moves)."""
    out: list[MInst] = []
    pending = [list(m) for m in moves if m[0] != m[1]]
    while pending:
        progressed = False
        for m in list(pending):
            dst = m[0]
            if not any(o is not m and o[1] == dst for o in pending):
                out.extend(hooks.move(m[0], m[1], m[2], target.scratch[m[2]][1]))
                pending.remove(m)
                progressed = True
        if progressed:
            continue
        # every pending destination is still read: a cycle. Save one source in a scratch.
        m = pending[0]
        src, cls = m[1], m[2]
        tmp = target.scratch[cls][0]
        out.extend(hooks.move(tmp, src, cls, target.scratch[cls][1]))
        for o in pending:
            if o[1] == src:
                o[1] = tmp
    return out
