"""The shared register allocator on machine-level functions of a tiny test machine (4 allocatable
registers, 2 of them callee-saved), checked by running each function on a small simulator
before allocation (virtual registers) and after (physical registers and spill slots)."""

from __future__ import annotations

import itertools

import pytest

from backends.base import RegClass, TargetDesc
from backends.mir import FIRST_VREG, Imm, Label, MFunction, MInst, Reg, Slot
from backends.regalloc import Allocator, sequentialize

R0, R1, R2, R3, S0, S1 = range(6)
F0, F1, FS0, FS1 = 8, 9, 10, 11
TINY = TargetDesc(
    name="tiny", pointer_size=8, stack_align=16, reg_names={},
    allocatable={RegClass.INT: (R0, R1, R2, R3), RegClass.FLOAT: (F0, F1)},
    caller_saved=frozenset({R0, R1, S0, S1, F0, F1, FS0, FS1}),
    callee_saved=frozenset({R2, R3}),
    scratch={RegClass.INT: (S0, S1), RegClass.FLOAT: (FS0, FS1)},
    arg_regs={RegClass.INT: (R0, R1), RegClass.FLOAT: (F0,)},
    ret_regs={RegClass.INT: (R0,), RegClass.FLOAT: (F0,)},
)
CLOBBER = frozenset({R0, R1, S0, S1})


class Hooks:
    def move(self, dst, src, cls, tmp):
        if isinstance(dst, Slot) and isinstance(src, Slot):
            return [MInst("mov", [Reg(tmp), src]), MInst("mov", [dst, Reg(tmp)])]
        return [MInst("mov", [dst if isinstance(dst, Slot) else Reg(dst),
                              src if isinstance(src, Slot) else Reg(src)])]


def run(mf: MFunction, args: dict[int, int] | None = None, limit: int = 100000) -> int:
    """Execute `mf`; registers start from `args`; returns the value `ret` reads."""
    regs: dict[object, int] = dict(args or {})

    def get(o):
        if isinstance(o, Reg):
            return regs[o.reg]
        if isinstance(o, Slot):
            return regs[("slot", o.index)]
        return o.value

    def put(o, v):
        regs[("slot", o.index) if isinstance(o, Slot) else o.reg] = v

    b, k, steps = 0, 0, 0
    while True:
        steps += 1
        assert steps < limit, "runaway"
        inst = mf.blocks[b].insts[k]
        k += 1
        op, ops = inst.op, inst.operands
        if inst.parallel:
            values = [regs[u] for u in inst.uses]
            for d, v in zip(inst.defs, values):
                regs[d] = v
        elif op in ("mov", "li"):
            put(ops[0], get(ops[1]))
        elif op == "add":
            put(ops[0], get(ops[0]) + get(ops[1]))
        elif op == "dec":
            put(ops[0], get(ops[0]) - 1)
        elif op == "call":
            for r in inst.clobbers:
                regs[r] = 0xDEAD
            regs[inst.defs[0]] = 7 if inst.defs else 0
        elif op == "bnz":
            if get(ops[0]):
                b, k = ops[1].block, 0
        elif op == "jmp":
            b, k = ops[0].block, 0
        elif op == "ret":
            return get(ops[0])
        else:
            raise AssertionError(op)


def allocate(mf: MFunction) -> MFunction:
    Allocator(TINY, Hooks()).run(mf)
    for b in mf.blocks:
        for inst in b.insts:
            for r in [*inst.defs, *inst.uses]:
                assert r < FIRST_VREG, f"virtual register left in {inst}"
            for o in inst.operands:
                assert not (isinstance(o, Reg) and o.reg >= FIRST_VREG)
    return mf


def ins(mf, op, *ops, defs=(), uses=(), **kw):
    i = MInst(op, list(ops), list(defs), list(uses), **kw)
    mf.blocks[-1].insts.append(i)
    return i


def test_spills_under_pressure_and_keeps_values():
    def make():
        mf = MFunction("pressure")
        mf.new_block()
        vs = [mf.new_vreg(RegClass.INT) for _ in range(9)]
        for i, v in enumerate(vs):
            ins(mf, "li", Reg(v), Imm(10 ** i), defs=[v])
        acc = mf.new_vreg(RegClass.INT)
        ins(mf, "li", Reg(acc), Imm(0), defs=[acc])
        for v in vs:
            ins(mf, "add", Reg(acc), Reg(v), defs=[acc], uses=[acc, v])
        ins(mf, "ret", Reg(acc), uses=[acc])
        return mf
    want = run(make())
    mf = allocate(make())
    assert mf.spill_slots >= 9 + 1 - 4
    assert run(mf) == want == 111111111


def test_parallel_copy_cycles():
    # a loop that rotates three block parameters each iteration: (a, b, c) <- (b, c, a)
    def make(n):
        mf = MFunction("rotate")
        mf.new_block()
        a, b, c, i = (mf.new_vreg(RegClass.INT) for _ in range(4))
        x, y, z, j = (mf.new_vreg(RegClass.INT) for _ in range(4))
        for v, k in ((x, 1), (y, 20), (z, 300), (j, n)):
            ins(mf, "li", Reg(v), Imm(k), defs=[v])
        ins(mf, "@pcopy", defs=[a, b, c, i], uses=[x, y, z, j], parallel=True)
        ins(mf, "jmp", Label(1), targets=(1,))
        mf.new_block(loop_depth=1)  # block1: loop header
        ins(mf, "bnz", Reg(i), Label(2), uses=[i], targets=(2,))
        ins(mf, "jmp", Label(3), targets=(3,))
        mf.new_block(loop_depth=1)  # block2: body
        ins(mf, "dec", Reg(i), defs=[i], uses=[i])
        ins(mf, "@pcopy", defs=[a, b, c, i], uses=[b, c, a, i], parallel=True)
        ins(mf, "jmp", Label(1), targets=(1,))
        mf.new_block()  # block3: a*1 + b*... (a + b + b + c + c + c) distinguishes orders
        ins(mf, "add", Reg(b), Reg(c), defs=[b], uses=[b, c])
        ins(mf, "add", Reg(a), Reg(b), defs=[a], uses=[a, b])
        ins(mf, "add", Reg(a), Reg(b), defs=[a], uses=[a, b])
        ins(mf, "add", Reg(a), Reg(c), defs=[a], uses=[a, c])
        ins(mf, "ret", Reg(a), uses=[a])
        return mf
    results = set()
    for n in range(4):
        want = run(make(n))
        assert run(allocate(make(n))) == want
        results.add(want)
    assert len(results) == 3  # rotation period 3: n = 0 and 3 agree, the others differ


@pytest.mark.parametrize("perm", list(itertools.permutations(range(4))))
def test_sequentialize_any_permutation(perm):
    moves = [(perm[i], i, RegClass.INT) for i in range(4) if perm[i] != i]
    seq = sequentialize(moves, Hooks(), TINY)
    regs = {r: 100 + r for r in range(6)}
    for m in seq:
        dst, src = m.operands
        regs[dst.reg] = regs[src.reg]
    for i in range(4):
        assert regs[perm[i]] == 100 + i
    # one extra move per cycle at most (four registers hold at most two cycles)
    assert len(seq) <= len(moves) + 2


def test_values_live_across_calls_avoid_caller_saved():
    def make():
        mf = MFunction("calls")
        mf.new_block()
        a, b, r = (mf.new_vreg(RegClass.INT) for _ in range(3))
        ins(mf, "li", Reg(a), Imm(5), defs=[a])
        ins(mf, "li", Reg(b), Imm(6), defs=[b])
        ins(mf, "call", defs=[R0], clobbers=CLOBBER)
        ins(mf, "mov", Reg(r), Reg(R0), defs=[r], uses=[R0], is_move=True)
        ins(mf, "add", Reg(r), Reg(a), defs=[r], uses=[r, a])
        ins(mf, "call", defs=[R0], clobbers=CLOBBER)
        ins(mf, "add", Reg(r), Reg(b), defs=[r], uses=[r, b])
        ins(mf, "ret", Reg(r), uses=[r])
        return mf, a, b
    mf, a, b = make()
    want = run(mf)
    mf, a, b = make()
    assign = Allocator(TINY, Hooks()).run(mf)
    for v in (a, b):
        assert not (isinstance(assign[v], int) and assign[v] in TINY.caller_saved)
    assert set(mf.used_callee_saved) <= {R2, R3}
    assert mf.used_callee_saved  # a and b fit in the two callee-saved registers
    assert run(mf) == want == 18


def test_callee_saved_untouched_without_pressure():
    mf = MFunction("leaf")
    mf.new_block()
    a, b = mf.new_vreg(RegClass.INT), mf.new_vreg(RegClass.INT)
    ins(mf, "li", Reg(a), Imm(2), defs=[a])
    ins(mf, "li", Reg(b), Imm(3), defs=[b])
    ins(mf, "add", Reg(a), Reg(b), defs=[a], uses=[a, b])
    ins(mf, "ret", Reg(a), uses=[a])
    allocate(mf)
    assert mf.used_callee_saved == []
    assert mf.spill_slots == 0
    assert run(mf) == 5


def test_spilled_values_split_between_calls():
    # three values live across a call (two callee-saved registers), each then read four times
    def make():
        mf = MFunction("split")
        mf.new_block()
        vs = [mf.new_vreg(RegClass.INT) for _ in range(3)]
        for i, v in enumerate(vs):
            ins(mf, "li", Reg(v), Imm(i + 1), defs=[v])
        ins(mf, "call", defs=[R0], clobbers=CLOBBER)
        acc = mf.new_vreg(RegClass.INT)
        ins(mf, "li", Reg(acc), Imm(0), defs=[acc])
        for _ in range(4):
            for v in vs:
                ins(mf, "add", Reg(acc), Reg(v), defs=[acc], uses=[acc, v])
        ins(mf, "ret", Reg(acc), uses=[acc])
        return mf
    want = run(make())
    mf = allocate(make())
    assert run(mf) == want == 24
    assert mf.spill_slots == 1
    reloads = [i for i in mf.blocks[0].insts
               if i.op == "mov" and isinstance(i.operands[1], Slot)]
    # without splitting each of the spilled value's 4 reads reloads it; split, the piece after
    # the call holds it in a caller-saved register and reloads once
    assert len(reloads) == 1


def test_vector_spills_take_an_even_pair_of_slots():
    # scalar and vector values spilled in one function: every vector's pair (i, i + 1) starts
    # at an even slot (aarch64's 16-byte ldr/str q) and overlaps no other value's slot
    target = TargetDesc(
        name="tinyvec", pointer_size=8, stack_align=16, reg_names={},
        allocatable={**TINY.allocatable, RegClass.VECTOR: (F0, F1)},
        caller_saved=TINY.caller_saved, callee_saved=TINY.callee_saved,
        scratch={**TINY.scratch, RegClass.VECTOR: (FS0, FS1)},
        arg_regs=TINY.arg_regs, ret_regs=TINY.ret_regs)
    mf = MFunction("mixed")
    mf.new_block()
    values = []
    for k in range(12):
        # five integers first (one spilled to slot 0), then vectors and integers alternating
        cls = RegClass.VECTOR if k >= 5 and k % 2 else RegClass.INT
        v = mf.new_vreg(cls)
        values.append(v)
        ins(mf, "li", Reg(v), Imm(k), defs=[v])
    for v in values:
        ins(mf, "use", Reg(v), uses=[v])
    assign = Allocator(target, Hooks()).run(mf)
    taken: dict[int, int] = {}
    vector_spills = 0
    for v in values:
        loc = assign[v]
        if not isinstance(loc, Slot):
            continue
        slots = [loc.index]
        if mf.vreg_class[v] is RegClass.VECTOR:
            assert loc.index % 2 == 0, loc
            slots.append(loc.index + 1)
            vector_spills += 1
        for s in slots:
            assert s not in taken, (v, taken[s])
            taken[s] = v
    assert vector_spills >= 2 and mf.spill_slots >= max(taken) + 1


def test_classes_sharing_scratch_registers_take_different_ones():
    # FLOAT and VECTOR share the physical scratch registers (as on x86_64 and aarch64): an
    # instruction with a spilled float and a spilled vector operand gets two different ones
    target = TargetDesc(
        name="tinyshared", pointer_size=8, stack_align=16, reg_names={},
        allocatable={**TINY.allocatable, RegClass.VECTOR: (F0, F1)},
        caller_saved=TINY.caller_saved, callee_saved=TINY.callee_saved,
        scratch={**TINY.scratch, RegClass.VECTOR: (FS0, FS1)},
        arg_regs=TINY.arg_regs, ret_regs=TINY.ret_regs)
    mf = MFunction("shared")
    mf.new_block()
    f, v = mf.new_vreg(RegClass.FLOAT), mf.new_vreg(RegClass.VECTOR)
    ins(mf, "li", Reg(f), Imm(1), defs=[f])
    ins(mf, "li", Reg(v), Imm(2), defs=[v])
    # both live across a call that clobbers every float/vector register: both spilled
    ins(mf, "call", defs=[], uses=[], clobbers=frozenset({F0, F1, FS0, FS1}))
    ins(mf, "insert", Reg(v), Reg(f), defs=[v], uses=[v, f])
    ins(mf, "ret", Reg(v), uses=[v])
    assign = Allocator(target, Hooks()).run(mf)
    assert isinstance(assign[f], Slot) and isinstance(assign[v], Slot)
    insert = next(i for i in mf.blocks[0].insts if i.op == "insert")
    dst, src = insert.operands
    assert {dst.reg, src.reg} <= {FS0, FS1} and dst.reg != src.reg


def _counting_loop(n: int, overlap: bool) -> MFunction:
    """p <- p + c + 1 while i counts down from n; the back edge's copy p <- q sits in an edge
    block of its own, as lowering places the copies of a conditional branch's edge. t (a copy
    of p, hinted to p's register) is allocated before q; with `overlap`, p is read again after
    q is defined, so p and q cannot share a register."""
    mf = MFunction("count")
    mf.new_block()
    p, i, c, t, q = (mf.new_vreg(RegClass.INT) for _ in range(5))
    ins(mf, "li", Reg(c), Imm(10), defs=[c])
    ins(mf, "li", Reg(p), Imm(0), defs=[p])
    ins(mf, "li", Reg(i), Imm(n), defs=[i])
    ins(mf, "jmp", Label(1), targets=(1,))
    mf.new_block(loop_depth=1)  # block1: header
    ins(mf, "bnz", Reg(i), Label(2), uses=[i], targets=(2,))
    ins(mf, "jmp", Label(3), targets=(3,))
    mf.new_block(loop_depth=1)  # block2: body
    ins(mf, "mov", Reg(t), Reg(p), defs=[t], uses=[p], is_move=True)
    ins(mf, "add", Reg(t), Reg(c), defs=[t], uses=[t, c])
    ins(mf, "li", Reg(q), Imm(1), defs=[q])
    ins(mf, "add", Reg(q), Reg(t), defs=[q], uses=[q, t])
    if overlap:
        ins(mf, "add", Reg(q), Reg(p), defs=[q], uses=[q, p])
    ins(mf, "dec", Reg(i), defs=[i], uses=[i])
    ins(mf, "jmp", Label(4), targets=(4,))
    mf.new_block()  # block3: exit
    ins(mf, "ret", Reg(p), uses=[p])
    mf.new_block(loop_depth=1)  # block4: the back edge's copy
    ins(mf, "@pcopy", defs=[p], uses=[q], parallel=True)
    ins(mf, "jmp", Label(1), targets=(1,))
    return mf


@pytest.mark.parametrize("n", [0, 1, 5])
def test_back_edge_argument_coalesced_with_its_parameter(n):
    want = run(_counting_loop(n, overlap=False))
    assert want == 11 * n
    mf = allocate(_counting_loop(n, overlap=False))
    assert run(mf) == want
    # p and q got one register: the edge block copies nothing (emission threads the jump)
    assert [i.op for i in mf.blocks[4].insts] == ["jmp"]


def test_overlapping_ends_keep_their_copy():
    from backends.regalloc import coalesce_block_args
    mf = _counting_loop(3, overlap=True)
    intervals, _, _ = Allocator(TINY, Hooks()).build_intervals(mf)
    assert coalesce_block_args(mf, intervals) == {}
    want = run(_counting_loop(3, overlap=True))
    mf = allocate(_counting_loop(3, overlap=True))
    assert run(mf) == want == 77       # p <- 2p + 11, three times
    assert [i.op for i in mf.blocks[4].insts] == ["mov", "jmp"]


def test_coalesced_group_is_one_interval():
    from backends.regalloc import coalesce_block_args
    mf = _counting_loop(3, overlap=False)
    intervals, _, _ = Allocator(TINY, Hooks()).build_intervals(mf)
    groups = coalesce_block_args(mf, intervals)
    assert len(groups) == 1
    (group,) = groups.values()
    p, q = FIRST_VREG, FIRST_VREG + 4
    assert sorted(group.regs) == [p, q]
    x = group.interval
    assert all(a < b for a, b in x.ranges)
    assert all(x.ranges[k][1] < x.ranges[k + 1][0] for k in range(len(x.ranges) - 1))
    covered = sum(b - a for a, b in x.ranges)
    assert covered == sum(b - a for v in (p, q) for a, b in intervals[v].ranges)


def test_copy_of_a_spilled_value_is_one_reload():
    # six values live at once on a four-register machine: some are spilled; copies of each
    # (t = v, then t consumed) read a spilled one straight from its slot into t's register,
    # not through a scratch register and a second move
    def make():
        mf = MFunction("copies")
        mf.new_block()
        vs = [mf.new_vreg(RegClass.INT) for _ in range(6)]
        for i, v in enumerate(vs):
            ins(mf, "li", Reg(v), Imm(3 ** i), defs=[v])
        acc = mf.new_vreg(RegClass.INT)
        ins(mf, "li", Reg(acc), Imm(0), defs=[acc])
        for v in vs:
            t = mf.new_vreg(RegClass.INT)
            ins(mf, "mov", Reg(t), Reg(v), defs=[t], uses=[v], is_move=True)
            ins(mf, "add", Reg(acc), Reg(t), defs=[acc], uses=[acc, t])
        for v in vs:
            ins(mf, "add", Reg(acc), Reg(v), defs=[acc], uses=[acc, v])
        ins(mf, "ret", Reg(acc), uses=[acc])
        return mf
    want = run(make())
    mf = allocate(make())
    assert run(mf) == want == 2 * sum(3 ** i for i in range(6))
    insts = mf.blocks[0].insts
    scratch = {S0, S1}
    direct = [i for i in insts if i.op == "mov" and isinstance(i.operands[1], Slot)
              and isinstance(i.operands[0], Reg) and i.operands[0].reg not in scratch]
    assert direct, "no copy read a slot directly"
    for a, b in zip(insts, insts[1:]):
        reload = (a.op == "mov" and isinstance(a.operands[1], Slot)
                  and a.operands[0].reg in scratch)
        assert not (reload and b.is_move and b.operands[1] == a.operands[0]), (a, b)


def _loop_over_spilled(n: int, redefine: bool, through: bool = False) -> MFunction:
    """a, b and c live across a call (two callee-saved registers: a, the one of least weight,
    is spilled); after the call b and c die, and a loop of two blocks reads a once in each
    (with `redefine`, the body also adds one to it); the exit adds a to the sum. With
    `through`, b and c live on through the loop, untouched in it, to the exit, which adds
    them too: no register is free in the loop."""
    mf = MFunction("loop")
    mf.new_block()
    a, b, c, acc, i = (mf.new_vreg(RegClass.INT) for _ in range(5))
    for v, x in ((a, 1), (b, 2), (c, 3)):
        ins(mf, "li", Reg(v), Imm(x), defs=[v])
    if through:
        t = mf.new_vreg(RegClass.INT)
        ins(mf, "li", Reg(t), Imm(0), defs=[t])
        for _ in range(4):
            ins(mf, "add", Reg(t), Reg(b), defs=[t], uses=[t, b])
            ins(mf, "add", Reg(t), Reg(c), defs=[t], uses=[t, c])
    ins(mf, "call", defs=[R0], clobbers=CLOBBER)
    ins(mf, "li", Reg(acc), Imm(0), defs=[acc])
    for _ in range(4):
        ins(mf, "add", Reg(acc), Reg(b), defs=[acc], uses=[acc, b])
        ins(mf, "add", Reg(acc), Reg(c), defs=[acc], uses=[acc, c])
    ins(mf, "li", Reg(i), Imm(n), defs=[i])
    ins(mf, "jmp", Label(1), targets=(1,))
    mf.new_block()  # block1: header
    ins(mf, "add", Reg(acc), Reg(a), defs=[acc], uses=[acc, a])
    ins(mf, "bnz", Reg(i), Label(2), uses=[i], targets=(2,))
    ins(mf, "jmp", Label(3), targets=(3,))
    mf.new_block()  # block2: body
    ins(mf, "add", Reg(acc), Reg(a), defs=[acc], uses=[acc, a])
    if redefine:
        one = mf.new_vreg(RegClass.INT)
        ins(mf, "li", Reg(one), Imm(1), defs=[one])
        ins(mf, "add", Reg(a), Reg(one), defs=[a], uses=[a, one])
    ins(mf, "dec", Reg(i), defs=[i], uses=[i])
    ins(mf, "jmp", Label(1), targets=(1,))
    mf.new_block()  # block3: exit
    ins(mf, "add", Reg(acc), Reg(a), defs=[acc], uses=[acc, a])
    if through:
        ins(mf, "add", Reg(acc), Reg(b), defs=[acc], uses=[acc, b])
        ins(mf, "add", Reg(acc), Reg(c), defs=[acc], uses=[acc, c])
    ins(mf, "ret", Reg(acc), uses=[acc])
    return mf


@pytest.mark.parametrize("redefine", [False, True])
@pytest.mark.parametrize("n", [0, 1, 4])
def test_spilled_value_keeps_a_register_through_a_loop(n, redefine):
    want = run(_loop_over_spilled(n, redefine))
    assert want == 20 + (2 * n + 2 if not redefine else n * (n + 1) + n + 2 + n)
    mf = allocate(_loop_over_spilled(n, redefine))
    assert run(mf) == want
    assert mf.spill_slots == 1

    def reloads(b):
        return [i for i in mf.blocks[b].insts if i.op == "mov" and isinstance(i.operands[1], Slot)]
    # one reload on the way into the loop, right before the jump; none inside
    assert len(reloads(0)) == 1 and mf.blocks[0].insts[-2] is reloads(0)[0]
    assert reloads(1) == reloads(2) == []


@pytest.mark.parametrize("redefine", [False, True])
@pytest.mark.parametrize("n", [0, 1, 4])
def test_value_untouched_in_a_loop_gives_way_to_a_spilled_one(n, redefine):
    want = run(_loop_over_spilled(n, redefine, through=True))
    assert want == run(_loop_over_spilled(n, redefine)) + 5
    mf = allocate(_loop_over_spilled(n, redefine, through=True))
    assert run(mf) == want
    # a stays spilled (with `redefine`, so does the body's constant); b or c moves to a slot
    # of its own for the loop
    assert mf.spill_slots == 2 + redefine

    def slot_moves(b, load):
        return [i for i in mf.blocks[b].insts if i.op == "mov"
                and isinstance(i.operands[1 if load else 0], Slot)]
    # saved and a reloaded before the jump in, nothing inside, restored at the exit's start
    assert mf.blocks[0].insts[-3:-1] == slot_moves(0, False)[-1:] + slot_moves(0, True)[-1:]
    assert slot_moves(1, True) == slot_moves(2, True) == []
    assert mf.blocks[3].insts[0] is slot_moves(3, True)[0]
