"""What every target's function emitter shares: block layout with jump threading (forwarding
blocks left out, a jump to the next block dropped, "branch to next; jump elsewhere" turned into
one inverted branch), local labels and the per-function trap stubs' layout. Each target's
`FunctionEmitter` derives from `EmitterBase`, names its jump mnemonic in `JUMP` and fills in
the hooks: `inst`, `invertible`/`inverted` and `trap_stub`."""

from __future__ import annotations

from .mir import Label, MFunction, MInst, threaded_jumps


class EmitterBase:
    """Renders one allocated MFunction as assembly text lines (see the module docstring)."""

    #: the target's unconditional jump mnemonic
    JUMP = ""
    #: a directive placed before each loop header (a block some later block branches back
    #: to), or "" for none
    LOOP_ALIGN = ""

    def __init__(self, mf: MFunction, frame, traps: set[int], offsets) -> None:
        self.mf = mf
        #: forwarding blocks (only a jump) -> the block control finally reaches
        self.forward = threaded_jumps(mf, self.JUMP)
        self.frame = frame
        #: trap codes the function branches to (-1: a helper's dynamic code); stubs follow it
        self.traps = traps
        self.offsets = offsets
        self.lines: list[str] = []
        self.counter = 0

    def out(self, text: str) -> None:
        self.lines.append("  " + text)

    def place(self, label: str) -> None:
        self.lines.append(f"{label}:")

    def label(self) -> str:
        """A fresh local label."""
        self.counter += 1
        return f"{self.mf.name}_l{self.counter}"

    def block_label(self, o: Label) -> str:
        """The text of a label operand: a named one, or a block's (after threading)."""
        return o.name if o.name else f"{self.mf.name}_b{self.forward.get(o.block, o.block)}"

    def _dest(self, inst: MInst) -> int | None:
        """The block a branch finally reaches (through forwarding blocks)."""
        if not inst.targets:
            return None
        t = inst.targets[0]
        return self.forward.get(t, t)

    # -- protected calls (a function with exception handlers: MFunction.catches) ------------
    # Before the call the target links the catch record (extra slots 1..vmctx.CATCH_WORDS,
    # vmctx.CATCH_*) into the store context's chain; the landing pc is just after the call,
    # where a normal return and an exception's unwind (the trap stub restores sp, the frame
    # pointer and vmctx from the record) both unlink it.

    def call(self, emit_call) -> None:
        """emit_call() (the call's instructions), protected when the function catches."""
        if not self.mf.catches:
            emit_call()
            return
        landing = self.label()
        self.catch_link(landing)
        emit_call()
        self.place(landing)
        self.catch_unlink()

    def p_call_import(self, i: MInst) -> None:
        idx = i.operands[0].value
        self.call_pair(self.offsets.import_code(idx), self.offsets.import_vmctx(idx))

    def p_call_pair(self, i: MInst) -> None:
        """A call through a (code, ctx) pair of the vmctx (a tag's thrower, the rethrower)."""
        off = i.operands[0].value
        self.call_pair(off, off + 8)

    def call_pair(self, code: int, ctx: int) -> None:
        """Hook: call through the vmctx fields at `code` and `ctx` (the callee's code and
        vmctx), then restore this function's vmctx."""
        raise NotImplementedError

    def catch_link(self, landing: str) -> None:
        """Hook: link the catch record (landing pc `landing`) into the chain."""
        raise NotImplementedError

    def catch_unlink(self) -> None:
        """Hook: unlink the catch record (the chain's head becomes its `prev`)."""
        raise NotImplementedError

    # -- hooks ----------------------------------------------------------------------------------

    def inst(self, i: MInst) -> None:
        """Hook: emit one machine instruction (or expand a pseudo one)."""
        raise NotImplementedError

    def invertible(self, inst: MInst) -> bool:
        """Hook: whether `inst` is a conditional branch `inverted` can turn around."""
        raise NotImplementedError

    def inverted(self, inst: MInst, other: Label) -> str:
        """Hook: conditional branch `inst` with its condition inverted, going to `other`."""
        raise NotImplementedError

    def trap_stub(self, code: int, label: str) -> None:
        """Hook: the body of the stub at `label` that enters the trap stub with trap `code`
        (-1: the code a helper returned, plus one, is in the return register)."""
        raise NotImplementedError

    # -- layout ---------------------------------------------------------------------------------

    def body(self) -> None:
        """The function's blocks in order without the forwarding ones (see the module
        docstring)."""
        name = self.mf.name
        jump = self.JUMP
        order = [b for b in self.mf.layout() if b.id not in self.forward]
        headers = self._back_edge_targets(order) if self.LOOP_ALIGN else ()
        for pos, b in enumerate(order):
            if b.id in headers:
                self.lines.append(self.LOOP_ALIGN)
            self.place(f"{name}_b{b.id}")
            nxt = order[pos + 1].id if pos + 1 < len(order) else None
            insts = b.insts
            n = len(insts)
            for k, inst in enumerate(insts):
                if inst.targets:
                    if k == n - 1 and inst.op == jump and self._dest(inst) == nxt:
                        continue
                    if (k == n - 2 and insts[-1].op == jump and self._dest(inst) == nxt
                            and self.invertible(inst)):
                        self.out(self.inverted(inst, insts[-1].operands[0]))
                        break
                self.inst(inst)

    def _back_edge_targets(self, order) -> set[int]:
        pos = {b.id: k for k, b in enumerate(order)}
        out: set[int] = set()
        for k, b in enumerate(order):
            for inst in b.insts:
                for t in inst.targets:
                    t = self.forward.get(t, t)
                    if pos.get(t, k + 1) <= k:
                        out.add(t)
        return out

    def trap_stubs(self) -> None:
        """One stub per trap code the function uses, in code order."""
        name = self.mf.name
        for code in sorted(self.traps):
            label = f"{name}_trapdyn" if code == -1 else f"{name}_trap{code}"
            self.place(label)
            self.trap_stub(code, label)
