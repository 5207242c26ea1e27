"""Control-flow graph facts of an IR function: predecessors/successors, reverse postorder,
dominators (Cooper, Harvey and Kennedy, "A Simple, Fast Dominance Algorithm"), constant-time
dominance queries, and natural loops (headers, back edges, nesting depth). The verifier, the
passes and the backends (loop alignment, liveness, register allocation) share it."""

from __future__ import annotations

from .gcpause import gc_paused
from .ir import Function


class CFG:
    """The CFG of `func` as it is now (rebuild it after changing edges).

    - ``succs[b]`` / ``preds[b]``: distinct successor / predecessor block ids, in edge order
      (a block branching twice to one target appears once); ``preds`` lists only reachable
      predecessors.
    - ``rpo``: reachable blocks in reverse postorder; ``rpo_index[b]`` is b's position or -1.
    - ``idom[b]``: immediate dominator (the entry's is itself; -1 for unreachable blocks).
    - ``dom_children[b]``: children in the dominator tree, in reverse postorder.
    - ``back_edges``: edges (tail, header) whose header dominates the tail;
      ``loop_headers``; ``loop_depth[b]``: how many natural loops contain b;
      ``loop_bodies``: header -> the blocks of its natural loop (all its back edges').
    """

    __slots__ = ("func", "n", "succs", "preds", "rpo", "rpo_index", "idom", "dom_children",
                 "_pre", "_post", "_loops", "_bodies")

    def __init__(self, func: Function) -> None:
        with gc_paused():
            self._build(func)

    def _build(self, func: Function) -> None:
        self.func = func
        n = self.n = len(func.blocks)
        succs: list[list[int]] = []
        preds: list[list[int]] = [[] for _ in range(n)]
        for b in func.blocks:
            term = b.terminator
            out: list[int] = []
            if term is not None and term.targets:
                seen = set()
                for bc in term.targets:
                    t = bc.block
                    if t not in seen:
                        seen.add(t)
                        out.append(t)
            succs.append(out)
        self.succs = succs
        self._compute_rpo()
        for b in self.rpo:
            for s in succs[b]:
                preds[s].append(b)
        self.preds = preds
        self._compute_dominators()
        self._loops: tuple[list[tuple[int, int]], list[int]] | None = None
        self._bodies: dict[int, set[int]] = {}

    # -- order ----------------------------------------------------------------------------------

    def _compute_rpo(self) -> None:
        n, succs = self.n, self.succs
        visited = [False] * n
        post: list[int] = []
        if n:
            visited[0] = True
            stack = [(0, iter(succs[0]))]
            while stack:
                node, it = stack[-1]
                for s in it:
                    if not visited[s]:
                        visited[s] = True
                        stack.append((s, iter(succs[s])))
                        break
                else:
                    stack.pop()
                    post.append(node)
        post.reverse()
        self.rpo = post
        index = [-1] * n
        for i, b in enumerate(post):
            index[b] = i
        self.rpo_index = index

    def reachable(self, block: int) -> bool:
        return self.rpo_index[block] >= 0

    # -- dominators -----------------------------------------------------------------------------

    def _compute_dominators(self) -> None:
        n, rpo, order, preds = self.n, self.rpo, self.rpo_index, self.preds
        idom = [-1] * n
        if n:
            idom[0] = 0
        changed = True
        while changed:
            changed = False
            for b in rpo[1:]:
                new = -1
                for p in preds[b]:
                    if idom[p] == -1:
                        continue
                    if new == -1:
                        new = p
                        continue
                    a, c = p, new
                    while a != c:
                        while order[a] > order[c]:
                            a = idom[a]
                        while order[c] > order[a]:
                            c = idom[c]
                    new = a
                if new != idom[b]:
                    idom[b] = new
                    changed = True
        self.idom = idom
        children: list[list[int]] = [[] for _ in range(n)]
        for b in rpo[1:]:
            children[idom[b]].append(b)
        self.dom_children = children
        # pre/post numbering of the dominator tree for O(1) dominance queries
        pre = [-1] * n
        post = [-1] * n
        if n:
            counter = 0
            stack = [(0, iter(children[0]))]
            pre[0] = counter
            counter += 1
            while stack:
                node, it = stack[-1]
                for c in it:
                    pre[c] = counter
                    counter += 1
                    stack.append((c, iter(children[c])))
                    break
                else:
                    stack.pop()
                    post[node] = counter
                    counter += 1
        self._pre, self._post = pre, post

    def dominates(self, a: int, b: int) -> bool:
        """True if block a dominates block b (every block dominates itself). False when either
        is unreachable."""
        pa, pb = self._pre[a], self._pre[b]
        if pa < 0 or pb < 0:
            return False
        return pa <= pb and self._post[b] <= self._post[a]

    # -- loops ----------------------------------------------------------------------------------

    def _compute_loops(self) -> tuple[list[tuple[int, int]], list[int]]:
        if self._loops is not None:
            return self._loops
        back: list[tuple[int, int]] = []
        depth = [0] * self.n
        bodies: dict[int, set[int]] = {}
        for b in self.rpo:
            for s in self.succs[b]:
                if self.dominates(s, b):
                    back.append((b, s))
                    body = bodies.setdefault(s, {s})
                    work = [b]
                    while work:
                        x = work.pop()
                        if x in body:
                            continue
                        body.add(x)
                        work.extend(self.preds[x])
        for body in bodies.values():
            for x in body:
                depth[x] += 1
        self._bodies = bodies
        self._loops = (back, depth)
        return self._loops

    @property
    def back_edges(self) -> list[tuple[int, int]]:
        return self._compute_loops()[0]

    @property
    def loop_headers(self) -> set[int]:
        return {h for _, h in self._compute_loops()[0]}

    @property
    def loop_depth(self) -> list[int]:
        return self._compute_loops()[1]

    @property
    def loop_bodies(self) -> dict[int, set[int]]:
        """Loop header -> the blocks of its natural loop (the header included)."""
        self._compute_loops()
        return self._bodies
