"""What every backend's instruction selection shares: control-flow edges with block arguments
(parallel copies into the target's parameters) and unconditional jumps. Each target's
`Lowering` derives from `LoweringBase` and names its jump mnemonic in `JUMP`; it provides
`ins`, `vreg`, `dst`, `f` (the IR function), `mf` (the machine function) and `cur`."""

from __future__ import annotations

from engine.ir.ir import Inst

from .mir import Label


class LoweringBase:
    """Target-independent lowering rules (see the module docstring)."""

    #: the target's unconditional jump mnemonic
    JUMP = ""

    def edge(self, bc) -> int:
        """The machine block to branch to for edge bc: the target itself when it has no
        parameters, else a new block holding the parallel copy and a jump."""
        target = self.f.blocks[bc.block]
        if not target.params:
            return bc.block
        saved = self.cur
        eb = self.mf.new_block(self.mf.blocks[bc.block].loop_depth)
        self.cur = eb
        self.pcopy(target.params, bc.args)
        self.ins(self.JUMP, Label(bc.block), targets=(bc.block,))
        self.cur = saved
        return eb.id

    def pcopy(self, params: list[int], args: list[int]) -> None:
        uses = [self.vreg(a) for a in args]
        defs = [self.dst(p) for p in params]
        self.ins("@pcopy", defs=defs, uses=uses, parallel=True)

    def r_jump(self, inst: Inst) -> None:
        bc = inst.targets[0]
        target = self.f.blocks[bc.block]
        if target.params:
            self.pcopy(target.params, bc.args)
        self.ins(self.JUMP, Label(bc.block), targets=(bc.block,))
