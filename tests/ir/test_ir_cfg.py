"""CFG facts: reverse postorder, Cooper-Harvey-Kennedy dominators (checked against the textbook
set-based data-flow definition on random graphs), dominance queries, loops."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.ir import I32, Block, BlockCall, Function, Inst, Opcode
from engine.ir.cfg import CFG
from engine.ir.parser import parse_function


def _graph(edges: list[list[int]]) -> Function:
    """A function whose block i branches to edges[i] (return when empty; brif/br_table for more)."""
    f = Function("g", [], [])
    cond = None
    for i, succ in enumerate(edges):
        b = Block(i)
        if i == 0:
            cond = f.new_value(I32)
            b.insts.append(Inst(Opcode.ICONST, [], [cond], 0))
        if not succ:
            b.insts.append(Inst(Opcode.RETURN))
        elif len(succ) == 1:
            b.insts.append(Inst(Opcode.JUMP, [], [], None, [BlockCall(succ[0])]))
        elif len(succ) == 2:
            b.insts.append(Inst(Opcode.BRIF, [cond], [], None, [BlockCall(s) for s in succ]))
        else:
            b.insts.append(Inst(Opcode.BR_TABLE, [cond], [], None, [BlockCall(s) for s in succ]))
        f.blocks.append(b)
    return f


def _naive_dominators(edges: list[list[int]]) -> dict[int, set[int]]:
    """Dom(n) = {n} | intersection of Dom(p) over predecessors p, over reachable nodes."""
    n = len(edges)
    reach = {0}
    work = [0]
    while work:
        x = work.pop()
        for s in edges[x]:
            if s not in reach:
                reach.add(s)
                work.append(s)
    preds = {x: [p for p in reach if x in edges[p]] for x in reach}
    dom = {x: set(reach) for x in reach}
    dom[0] = {0}
    changed = True
    while changed:
        changed = False
        for x in reach - {0}:
            new = set(reach)
            for p in preds[x]:
                new &= dom[p]
            new |= {x}
            if new != dom[x]:
                dom[x] = new
                changed = True
    return dom


@st.composite
def graphs(draw):
    n = draw(st.integers(1, 14))
    edges = []
    for i in range(n):
        k = draw(st.integers(0, 3))
        # never branch to the entry block (the IR forbids it)
        edges.append([draw(st.integers(1, n - 1)) for _ in range(k)] if n > 1 else [])
    return edges


@settings(max_examples=300, deadline=None)
@given(graphs())
def test_dominators_match_the_data_flow_definition(edges):
    cfg = CFG(_graph(edges))
    dom = _naive_dominators(edges)
    assert set(cfg.rpo) == set(dom)
    for b in range(len(edges)):
        assert cfg.reachable(b) == (b in dom)
    for x in dom:
        for y in range(len(edges)):
            assert cfg.dominates(y, x) == (y in dom[x]), (y, x)
        if x != 0:
            # the immediate dominator is the strict dominator dominated by all others
            strict = dom[x] - {x}
            idom = cfg.idom[x]
            assert idom in strict
            assert all(d in dom[idom] for d in strict)
    # reverse postorder: the entry first, every dominator before what it dominates, and an edge
    # x -> s that goes backwards in the order only into a block s that reaches x
    assert cfg.rpo[0] == 0
    for x in dom:
        for d in dom[x] - {x}:
            assert cfg.rpo_index[d] < cfg.rpo_index[x]
        for s in edges[x]:
            if cfg.rpo_index[s] <= cfg.rpo_index[x]:
                seen, work = {s}, [s]
                while work:
                    y = work.pop()
                    for z in edges[y]:
                        if z not in seen:
                            seen.add(z)
                            work.append(z)
                assert x in seen


def test_diamond_and_loop():
    f = parse_function("""function "f"(i32) -> () {
block0(v0:i32):
    jump block1
block1:
    brif v0, block2, block3
block2:
    jump block4
block3:
    jump block4
block4:
    brif v0, block1, block5
block5:
    return
}""")
    cfg = CFG(f)
    assert cfg.idom == [0, 0, 1, 1, 1, 4]
    assert cfg.preds[4] == [3, 2] or cfg.preds[4] == [2, 3]
    assert cfg.succs[4] == [1, 5]
    assert cfg.back_edges == [(4, 1)]
    assert cfg.loop_headers == {1}
    assert cfg.loop_depth == [0, 1, 1, 1, 1, 0]
    assert cfg.loop_bodies == {1: {1, 2, 3, 4}}
    assert sorted(cfg.dom_children[1]) == [2, 3, 4]
    assert cfg.dominates(1, 5) and not cfg.dominates(2, 4)


def test_nested_loops_depth():
    f = parse_function("""function "f"(i32) -> () {
block0(v0:i32):
    jump block1
block1:
    jump block2
block2:
    brif v0, block2, block3
block3:
    brif v0, block1, block4
block4:
    return
}""")
    cfg = CFG(f)
    assert sorted(cfg.back_edges) == [(2, 2), (3, 1)]
    assert cfg.loop_depth == [0, 1, 2, 1, 0]
    assert cfg.loop_bodies == {1: {1, 2, 3}, 2: {2}}


def test_unreachable_blocks_have_no_dominator():
    f = _graph([[1], [], [1]])
    cfg = CFG(f)
    assert cfg.rpo == [0, 1]
    assert cfg.idom[2] == -1
    assert not cfg.dominates(2, 1) and not cfg.dominates(0, 2)
    assert cfg.preds[1] == [0]          # only reachable predecessors are listed


def test_long_chain_is_not_recursive():
    n = 20000
    f = _graph([[i + 1] for i in range(n - 1)] + [[]])
    cfg = CFG(f)
    assert cfg.rpo == list(range(n))
    assert cfg.idom[n - 1] == n - 2
    assert cfg.dominates(0, n - 1)
