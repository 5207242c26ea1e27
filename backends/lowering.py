"""What every backend's instruction selection shares, written once: the lowering state and
driver (blocks, value scan, per-block parameters/epoch/fuel, rule dispatch), control flow
(edges with block arguments as parallel copies, jumps, brif, br_table as a compare tree), the
calling-convention plumbing of calls, parameters and returns, global.get/set, the runtime-helper
calls (memory.grow/fill/copy/init, data.drop, table.grow/fill/copy/init, elem.drop: one rule
over `HELPER_CALLS`) and the opcode -> rule entries common to every target (`common_rules`).

Each target's `Lowering` derives from `LoweringBase` (or `SizedRegLowering`), names its jump
mnemonic (`JUMP`), register description (`TARGET`) and call clobbers (`CALLER_SAVED`), installs
its rules with `set_rules`, provides `ins`, `cls`, `mov`-like primitives and fills in the small
per-ISA hooks below (marked "Hook"): how one value moves between a virtual register and a fixed
register, stack slot or global cell, how a constant is materialised, how a helper is called,
how a condition or an index compare branches, how call_indirect finds its callee."""

from __future__ import annotations

from typing import Callable

from engine.errors import InternalError, TrapCode, UnsupportedError
from engine.ir.cfg import CFG
from engine.ir.ir import Block, Function, Inst, Opcode
from engine.ir.passes.heapcheck import fault_covered_checks
from engine.ir.simd import SIMD_MEMORY
from engine.wasm.types import ValType

from . import callconv
from engine.environ import vmctx as V
from engine.environ.helpers import Helper
from engine.environ.module_info import ModuleInfo
from .base import RegClass, TargetDesc, func_symbol
from .mir import Imm, Label, MBlock, Mem, MFunction, Reg


def signed(x: int, bits: int) -> int:
    """Bit pattern x of width `bits` read as a two's-complement integer."""
    return x - (1 << bits) if x >> (bits - 1) & 1 else x


def _always(block: int) -> bool:
    return True


def _costly_const(cls: RegClass, bits: int) -> bool:
    """Whether materialising a constant takes more than an instruction or two on every target:
    any nonzero float (an integer move, then a move to the float register) or an integer
    outside the signed 32-bit range (movabs; a movz/movk or lui/addi/slli series)."""
    if cls is RegClass.FLOAT:
        return bits != 0
    return not (bits < (1 << 31) or bits >= (1 << 64) - (1 << 31))


class LoweringBase:
    """Target-independent lowering rules (see the module docstring)."""

    #: the target's unconditional jump mnemonic
    JUMP = ""
    #: the target's registers and internal calling convention
    TARGET: TargetDesc
    #: registers a call clobbers
    CALLER_SAVED: frozenset[int] = frozenset()
    #: the register holding the vmctx, and the largest vmctx offset its loads and stores
    #: reach without an address computation
    VMCTX: int = -1
    DIRECT_VM_LIMIT: int = 0
    #: the target's rules keyed by the identity of the (singleton) opcode member (enum
    #: hashing runs Python code); set by `set_rules`
    RULES_BY_ID: dict[int, Callable] = {}
    #: identities of the opcodes `try_fuse` may fold into the next instruction
    FUSABLE_IDS: frozenset[int] = frozenset()

    @classmethod
    def set_rules(cls, rules: dict[Opcode, Callable], fusable: tuple[Opcode, ...] = ()) -> None:
        """Install the target's opcode -> rule table and the opcodes its `try_fuse` handles."""
        cls.RULES_BY_ID = {id(op): rule for op, rule in rules.items()}
        cls.FUSABLE_IDS = frozenset(id(op) for op in fusable)

    def init_state(self, func: Function, info: ModuleInfo) -> None:
        """The state every target's lowering keeps (call from __init__)."""
        self.f = func
        self.info = info
        self.mf = MFunction(func_symbol(func.index) if func.index >= 0 else func.name)
        self.vmap: dict[int, int] = {}
        self.consts: dict[int, int] = {}
        self.defs: dict[int, Inst] = {}
        self.uses: dict[int, int] = {}
        self.cur: MBlock | None = None
        #: trap codes the function branches to (-1: a helper's dynamic trap code)
        self.traps: set[int] = set()
        #: outgoing stack slots (arguments or results) the largest call needs
        self.outgoing = 0
        #: whether a call may change vmctx (the frame keeps a copy)
        self.saves_vmctx = False
        #: whether the function uses memory 0: it then loads the heap base register (on
        #: targets that keep one) on entry and after every call, since a caller of another
        #: instance, a trampoline or a callee leaves it holding anything (scan_values)
        self.uses_heap = False
        #: ids of instructions emitted at their (single) user instead of in place
        self.fused: set[int] = set()
        #: float constants materialised once in the entry block (hoisted_const)
        self.hoisted: dict[tuple, int] = {}
        self.entry_mark = 0
        #: ids of heap checks left to the access's own fault (guarded memories)
        self.fault_covered = fault_covered_checks(func, info.unchecked_memories,
                                                  stores=not info.checked_stores)
        #: what a call clobbers: in a function with exception handlers every allocatable
        #: register (its calls are protected: an exception unwinding to one restores no
        #: register; MFunction.catches), else the caller-saved ones
        self.call_clobbers = self.CALLER_SAVED
        if func.catches:
            self.mf.catches = True
            self.saves_vmctx = True
            self.call_clobbers = frozenset(
                self.CALLER_SAVED | {r for regs in self.TARGET.allocatable.values() for r in regs})

    # -- the driver -----------------------------------------------------------------------------

    def run(self) -> MFunction:
        """Lower the whole function; the result is the machine function (the lowering keeps
        what emission needs besides: `traps`, `outgoing`)."""
        reachable, headers = self.new_blocks()
        self.scan_values()
        self.plan(reachable)
        fused = self.fused
        rules = self.RULES_BY_ID
        fusable = self.FUSABLE_IDS
        iconst, fconst = Opcode.ICONST, Opcode.FCONST
        for b in self.f.blocks:
            if not reachable(b.id):
                continue
            self.begin_block(b, headers)
            insts = [i for i in b.insts if i.opcode is not iconst and i.opcode is not fconst]
            last = len(insts) - 1
            for k, inst in enumerate(insts):
                if fused and id(inst) in fused:
                    continue
                if id(inst.opcode) in fusable and self.try_fuse(
                        inst, insts[k + 1] if k < last else None):
                    continue
                rule = rules.get(id(inst.opcode))
                if rule is None:
                    raise UnsupportedError(
                        f"{self.TARGET.name} lowering of {inst.opcode.value}")
                rule(self, inst)
        return self.finish()

    def plan(self, reachable: Callable[[int], bool]) -> None:
        """Hook: look over the function before lowering (values are scanned by then); a target
        that folds instructions ahead of time marks them in `fused` here."""

    def try_fuse(self, inst: Inst, nxt: Inst | None) -> bool:
        """Hook: whether `inst` (of an opcode in FUSABLE_IDS) is left for `nxt`, its next
        instruction, to absorb (then it is not lowered in place)."""
        return False

    def new_blocks(self) -> tuple[Callable[[int], bool], frozenset[int] | set[int]]:
        """One machine block per IR block, with its loop depth; returns the reachability test
        and the loop headers. Raises UnsupportedError for a branch to the entry block."""
        f, mf = self.f, self.mf
        if len(f.blocks) == 1 and not f.blocks[0].successors():
            # straight-line code: no loops, nothing unreachable (the CFG would say so slowly)
            mf.new_block(0)
            return _always, frozenset()
        cfg = CFG(f)
        if cfg.preds[0]:
            raise UnsupportedError(f"{self.TARGET.name} lowering of a branch to the entry block")
        depth = cfg.loop_depth
        reachable = cfg.reachable
        for b in f.blocks:
            mf.new_block(depth[b.id] if reachable(b.id) else 0)
        return reachable, cfg.loop_headers

    def scan_values(self) -> None:
        """Record every IR value's defining instruction (`defs`), use count (`uses`, block
        arguments included) and constant value (`consts`)."""
        defs, uses, consts = self.defs, self.uses, self.consts
        iconst, fconst = Opcode.ICONST, Opcode.FCONST
        uses_heap = False
        for b in self.f.blocks:
            for inst in b.insts:
                if not uses_heap and inst.opcode in _HEAP_USERS:
                    uses_heap = uses_memory0(inst)
                for r in inst.results:
                    defs[r] = inst
                for a in inst.args:
                    uses[a] = uses.get(a, 0) + 1
                if inst.targets:
                    for bc in inst.targets:
                        for a in bc.args:
                            uses[a] = uses.get(a, 0) + 1
                if inst.opcode is iconst or inst.opcode is fconst:
                    consts[inst.results[0]] = inst.imm
        self.uses_heap = uses_heap

    def begin_block(self, b: Block, headers) -> None:
        """Start lowering IR block b into its machine block: the parameters in the entry
        block, then the epoch check (entry and loop headers) when the module is compiled with
        it. (Fuel is charged and checked by the IR's own fuel / fuel_check instructions.)"""
        self.cur = self.mf.blocks[b.id]
        if b.id == 0:
            self.lower_params()
            self.reload_heap()
            self.entry_mark = len(self.cur.insts)
        if self.info.epoch and (b.id == 0 or b.id in headers):
            self.epoch_check()

    def finish(self) -> MFunction:
        """The machine function, once every block is lowered."""
        self.mf.extra_slots = (1 + V.CATCH_WORDS if self.mf.catches else
                               1 if self.saves_vmctx else 0)
        return self.mf

    def epoch_check(self) -> None:
        """Hook: trap INTERRUPT once the engine's epoch reaches the deadline."""
        raise NotImplementedError

    def fuel_charge(self, v: int) -> None:
        """Hook: subtract IR value v (i64) from the vmctx's fuel (no check)."""
        raise NotImplementedError

    def fuel_check(self, v: int) -> None:
        """Hook: trap OUT_OF_FUEL when the vmctx's fuel minus IR value v (i64) is <= 0."""
        raise NotImplementedError

    def r_fuel(self, inst: Inst) -> None:
        self.fuel_charge(inst.args[0])

    def heap_check(self, inst: Inst) -> None:
        """The target's bounds check (r_heap_check), unless the memory is guarded: then an
        out-of-bounds access faults in its reservation and the fault handler traps."""
        if id(inst) not in self.fault_covered:
            self.r_heap_check(inst)

    def r_fuel_check(self, inst: Inst) -> None:
        self.fuel_check(inst.args[0])

    # -- values ---------------------------------------------------------------------------------

    def ty(self, v: int):
        return self.f.value_types[v]

    def vreg(self, v: int) -> int:
        """The register holding IR value v (constants are materialised afresh here, except
        costly ones used in a loop: nonzero floats and integers beyond a signed 32-bit
        immediate, materialised once in the entry block)."""
        if v in self.consts:
            cls = self.cls(v)
            if self.cur.loop_depth and _costly_const(cls, self.consts[v]):
                return self.hoisted_const(v, cls)
            r = self.mf.new_vreg(cls)
            self.materialize(r, self.ty(v), self.consts[v])
            return r
        r = self.vmap.get(v)
        if r is None:
            r = self.vmap[v] = self.mf.new_vreg(self.cls(v))
        return r

    def hoisted_const(self, v: int, cls: RegClass) -> int:
        """The register that holds constant v from the entry block on (materialised there
        after the parameters on first use): a float constant costs two instructions or a
        load each time, which a loop would repeat every iteration."""
        key = (self.ty(v), self.consts[v])
        r = self.hoisted.get(key)
        if r is None:
            r = self.hoisted[key] = self.mf.new_vreg(cls)
            saved = self.cur
            self.cur = scratch = MBlock(-1)
            self.materialize(r, self.ty(v), self.consts[v])
            self.cur = saved
            entry = self.mf.blocks[0].insts
            entry[self.entry_mark:self.entry_mark] = scratch.insts
            self.entry_mark += len(scratch.insts)
        return r

    def materialize(self, r: int, ty, value: int) -> None:
        """Hook: register r <- the constant bit pattern `value` of IR type ty."""
        raise NotImplementedError

    def dst(self, v: int) -> int:
        """The virtual register IR value v is defined into."""
        r = self.vmap.get(v)
        if r is None:
            r = self.vmap[v] = self.mf.new_vreg(self.cls(v))
        return r

    def tmp(self, cls: RegClass = RegClass.INT) -> int:
        """A fresh virtual register (integer unless `cls` says otherwise)."""
        return self.mf.new_vreg(cls)

    def trap_label(self, code: TrapCode | int) -> Label:
        self.traps.add(int(code))
        return Label(name=f"{self.mf.name}_trap{int(code)}")

    def assign(self, values: list[int], results: bool = False):
        """Where IR values travel as call arguments (or results): backends/callconv.py's rule."""
        return callconv.assign(self.TARGET, [self.ty(v) for v in values], results)

    # -- control --------------------------------------------------------------------------------

    def edge(self, bc) -> int:
        """The machine block to branch to for edge bc: the target itself when it has no
        parameters, else a new block holding the parallel copy and a jump."""
        target = self.f.blocks[bc.block]
        if not target.params:
            return bc.block
        saved = self.cur
        # a back edge's copies go right after the branch (its jump back is then the only taken
        # branch of an iteration); forward edges' blocks go at the end
        eb = self.mf.new_block(self.mf.blocks[bc.block].loop_depth,
                               after=saved.id if bc.block <= saved.id else None)
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

    def r_brif(self, inst: Inst) -> None:
        t, e = inst.targets
        tb, eb = self.edge(t), self.edge(e)
        self.branch_if(inst, tb)
        self.ins(self.JUMP, Label(eb), targets=(eb,))

    def branch_if(self, inst: Inst, block: int) -> None:
        """Hook: branch to machine block `block` when brif `inst`'s condition is nonzero."""
        raise NotImplementedError

    def r_br_table(self, inst: Inst) -> None:
        targets = [self.edge(bc) for bc in inst.targets]
        ri = self.vreg(inst.args[0])
        self.dispatch(ri, targets[:-1], targets[-1])

    def dispatch(self, ri: int, cases: list[int], default: int) -> None:
        """Branch to cases[index in register ri], or to `default` when out of range (a target
        with a cheaper form for many cases overrides this)."""
        self.br_tree(ri, cases, 0, len(cases), default)

    def br_tree(self, ri: int, cases: list[int], lo: int, hi: int, default: int) -> None:
        """Binary search over case indices [lo, hi): a compare-and-branch tree."""
        if hi - lo <= 3:
            for k in range(lo, hi):
                self.index_branch(ri, k, "eq", cases[k])
            self.ins(self.JUMP, Label(default), targets=(default,))
            return
        mid = (lo + hi) // 2
        upper = self.mf.new_block(self.cur.loop_depth)
        self.index_branch(ri, mid, "hs", upper.id)
        self.br_tree(ri, cases, lo, mid, default)
        saved = self.cur
        self.cur = upper
        self.br_tree(ri, cases, mid, hi, default)
        self.cur = saved

    def index_branch(self, ri: int, k: int, cond: str, block: int) -> None:
        """Hook: branch to machine block `block` when the i32 index in register ri is equal to
        k (cond "eq") or, unsigned, at least k (cond "hs")."""
        raise NotImplementedError

    def r_trap(self, inst: Inst) -> None:
        self.ins(self.JUMP, self.trap_label(inst.imm))

    # -- parameters, calls and returns -------------------------------------------------------------

    def value_from_reg(self, v: int, reg: int) -> None:
        """Hook: define IR value v from fixed register `reg` (a parameter or call result)."""
        raise NotImplementedError

    def load_param(self, v: int, slot: int) -> None:
        """Hook: define parameter v from incoming stack slot `slot`."""
        raise NotImplementedError

    def lower_params(self) -> None:
        params = self.f.entry.params
        locs, _ = self.assign(params)
        for p, loc in zip(params, locs):
            if loc.reg is not None:
                self.value_from_reg(p, loc.reg)
            else:
                self.load_param(p, loc.stack)

    def value_to_reg(self, reg: int, v: int) -> None:
        """Hook: move IR value v into fixed register `reg` (a call argument or returned value)."""
        raise NotImplementedError

    def store_arg(self, v: int, slot: int) -> None:
        """Hook: store call argument v into outgoing stack slot `slot`."""
        raise NotImplementedError

    def place(self, values: list[int], locs, store: Callable[[int, int], None]) -> list[int]:
        """Move values to their locations: the stack ones first (`store(value, slot)`; they may
        need scratch registers), then the register ones; returns the registers used."""
        fixed: list[int] = []
        for v, loc in zip(values, locs):
            if loc.stack is not None:
                store(v, loc.stack)
        for v, loc in zip(values, locs):
            if loc.reg is not None:
                self.value_to_reg(loc.reg, v)
                fixed.append(loc.reg)
        return fixed

    def call_args(self, args: list[int]) -> tuple[list[int], int]:
        """Place call arguments; returns the registers they occupy and the stack slots used."""
        locs, nstack = self.assign(args)
        return self.place(args, locs, self.store_arg), nstack

    def call_results(self, results: list[int]) -> tuple[list[int], int]:
        locs, nstack = self.assign(results, results=True)
        return [loc.reg for loc in locs if loc.reg is not None], nstack

    def load_result(self, v: int, slot: int) -> None:
        """Hook: define call result v from outgoing stack slot `slot` after the call."""
        raise NotImplementedError

    def finish_call(self, results: list[int]) -> None:
        """After a call: reload the heap base (the callee may grow memory), take the results."""
        locs, _ = self.assign(results, results=True)
        self.reload_heap()
        for r, loc in zip(results, locs):
            if loc.reg is not None:
                self.value_from_reg(r, loc.reg)
            else:
                self.load_result(r, loc.stack)

    def r_call(self, inst: Inst) -> None:
        fixed, nargs = self.call_args(inst.args)
        rets, nres = self.call_results(inst.results)
        self.outgoing = max(self.outgoing, nargs, nres)
        idx = inst.imm
        if idx < self.info.num_imported_funcs:
            self.saves_vmctx = True
            self.ins("@call_import", Imm(idx), defs=rets, uses=fixed,
                     clobbers=self.call_clobbers)
        else:
            self.ins("@call", Label(name=func_symbol(idx)), defs=rets, uses=fixed,
                     clobbers=self.call_clobbers)
            if self.info.tail_calls_leave:
                # the callee may have tail-called another instance, whose vmctx is now set
                self.saves_vmctx = True
                self.ins("@restore_vmctx")
        self.finish_call(inst.results)

    def callee_ref(self, imm, index: int) -> int:
        """Hook: a register holding the funcref at `index` of table imm.table, after the bounds,
        null and signature (imm.type_index) checks of call_indirect."""
        raise NotImplementedError

    def r_call_indirect(self, inst: Inst) -> None:
        ref = self.callee_ref(inst.imm, inst.args[0])
        self.call_ref(ref, inst.args[1:], inst.results)

    def r_call_ref(self, inst: Inst) -> None:
        """call_ref: the IR checked the funcref is not null; no table, no signature check."""
        self.call_ref(self.vreg(inst.args[0]), inst.args[1:], inst.results)

    def call_ref(self, ref: int, args: list[int], results: list[int]) -> None:
        """Call the funcref in register `ref` (checked already) with IR values `args`."""
        fixed, nargs = self.call_args(args)
        rets, nres = self.call_results(results)
        self.outgoing = max(self.outgoing, nargs, nres)
        self.saves_vmctx = True
        self.ins("@call_ref", Reg(ref), defs=rets, uses=[*fixed, ref],
                 clobbers=self.call_clobbers)
        self.finish_call(results)

    # -- tail calls -----------------------------------------------------------------------------
    # A tail call places its arguments as a call does, except that stack arguments go to this
    # function's own incoming area (where its caller put this function's arguments and expects
    # its stack results), then tears the frame down and jumps (`@tail_call`, `@tail_call_ref`).
    # A tail call to an import or through a funcref sets the callee's vmctx before it jumps:
    # the callee (a host function's exit trampoline, or another instance's function) returns
    # to this function's caller with the vmctx changed, so in a module with such tail calls
    # (ModuleInfo.tail_calls_leave) every direct call restores the vmctx it had. It stays an
    # ordinary call followed by a return (the frame is kept) where its stack arguments need
    # more room than the incoming area has.

    def tail_room(self) -> int:
        """Stack slots of the incoming area: max(stack parameters, stack results)."""
        _, nparams = self.assign(self.f.entry.params)
        _, nresults = callconv.assign(self.TARGET, self.f.results, True)
        return max(nparams, nresults)

    def tail_args(self, args: list[int]) -> list[int] | None:
        """Place a tail call's arguments (None, placing nothing, if they do not fit)."""
        locs, nstack = self.assign(args)
        if nstack > self.tail_room():
            return None
        return self.place(args, locs, self.store_return)

    def call_and_return(self, inst: Inst, ref: int | None = None) -> None:
        """A tail call as a call and a return of its results (this frame stays)."""
        results = [self.f.new_value(t) for t in self.f.results]
        if ref is None:
            self.r_call(Inst(Opcode.CALL, list(inst.args), results, inst.imm))
        else:
            self.call_ref(ref, inst.args[1:], results)
        self.r_return(Inst(Opcode.RETURN, results))

    def r_return_call(self, inst: Inst) -> None:
        idx = inst.imm
        fixed = self.tail_args(inst.args)
        if fixed is None:
            self.call_and_return(inst)
        elif idx < self.info.num_imported_funcs:
            self.leaving_tail_call()
            self.ins("@tail_call_import", Imm(idx), uses=fixed)
        else:
            self.ins("@tail_call", Label(name=func_symbol(idx)), uses=fixed)

    def r_return_call_indirect(self, inst: Inst) -> None:
        self.tail_call_ref(inst, self.callee_ref(inst.imm, inst.args[0]))

    def r_return_call_ref(self, inst: Inst) -> None:
        self.tail_call_ref(inst, self.vreg(inst.args[0]))

    def tail_call_ref(self, inst: Inst, ref: int) -> None:
        """A tail call through the (checked) funcref in register `ref`; args after the first."""
        args = inst.args[1:]
        _, nstack = self.assign(args)
        if nstack > self.tail_room():
            self.call_and_return(inst, ref)
            return
        self.leaving_tail_call()
        fixed = self.tail_args(args)
        self.ins("@tail_call_ref", Reg(ref), uses=[*fixed, ref])

    def leaving_tail_call(self) -> None:
        if not self.info.tail_calls_leave:
            raise InternalError(f"{self.f.name}: a tail call that may change the vmctx in a "
                                f"module whose ModuleInfo.tail_calls_leave is not set")

    def store_return(self, v: int, slot: int) -> None:
        """Hook: store returned value v into this function's stack result slot `slot`."""
        raise NotImplementedError

    def r_return(self, inst: Inst) -> None:
        locs, _ = self.assign(inst.args, results=True)
        fixed = self.place(inst.args, locs, self.store_return)
        self.ins("@ret", uses=fixed)

    # -- globals --------------------------------------------------------------------------------

    def load_vm(self, reg: int, m) -> None:
        """Hook: load the 64-bit vmctx field `m` (from `vm(offset)`) into register reg."""
        raise NotImplementedError

    def load_cell(self, v: int, cell: int, offset: int = 0) -> None:
        """Hook: define IR value v from the global cell register `cell` points to (at byte
        `offset`: the high half of a legalised v128 global)."""
        raise NotImplementedError

    def store_cell(self, v: int, cell: int, offset: int = 0) -> None:
        """Hook: store IR value v into the global cell register `cell` points to (at byte
        `offset`)."""
        raise NotImplementedError

    def global_cell(self, index: int) -> tuple[int, int]:
        """(register, offset) of global `index`'s cell: a defined global's is in the vmctx
        (when the target's loads reach its offset directly), an imported one's where the
        vmctx's pointer says."""
        off = self.info.offsets
        if index >= off.num_imported_globals:
            at = off.global_cell(index)
            if at + 8 <= self.DIRECT_VM_LIMIT:
                return self.VMCTX, at
        t = self.tmp()
        self.load_vm(t, self.vm(off.global_ptr(index)))
        return t, 0

    def table_def(self, index: int) -> int:
        """A register holding the address of table `index`'s TableDefinition (owned by the
        Table: base and length at vmctx.TABLEDEF_BASE / TABLEDEF_LENGTH)."""
        t = self.tmp()
        self.load_vm(t, self.vm(self.info.offsets.table_def(index)))
        return t

    def store_ctx(self) -> int:
        """A register holding the address of the store context (fuel, epoch deadline: state
        every instance of the store shares; vmctx.STATE_*)."""
        t = self.tmp()
        self.load_vm(t, self.vm(V.STATE))
        return t

    def r_global_get(self, inst: Inst) -> None:
        # a v128 global legalised to two i64 halves (backends/simd_scalar): cell bytes 0..15
        cell, at = self.global_cell(inst.imm)
        for k, r in enumerate(inst.results):
            self.load_cell(r, cell, at + 8 * k)

    def r_global_set(self, inst: Inst) -> None:
        cell, at = self.global_cell(inst.imm)
        for k, a in enumerate(inst.args):
            self.store_cell(a, cell, at + 8 * k)

    # -- exceptions -----------------------------------------------------------------------------
    # throw and throw_ref call the thrower of the tag (or the rethrower) through its vmctx
    # pair (code, ctx), as a call of an import: an exit trampoline whose host function raises
    # the exception, which then unwinds through the trap stub (vmctx.EXCEPTION). In a function
    # with handlers that call is protected as every call is (the target's `@call*` emission
    # links the catch record); the IR reads the pending exception after it.

    def r_throw(self, inst: Inst) -> None:
        off = self.info.offsets
        pair = off.tag_thrower(inst.imm) if inst.opcode is Opcode.THROW else off.rethrower
        fixed, nargs = self.call_args(inst.args)
        self.outgoing = max(self.outgoing, nargs)
        self.saves_vmctx = True
        self.ins("@call_pair", Imm(pair), uses=fixed, clobbers=self.call_clobbers)
        self.finish_call([])

    def r_exn_pending(self, inst: Inst) -> None:
        self.load_cell(inst.results[0], self.store_ctx(), V.STATE_EXN)

    def r_exn_set(self, inst: Inst) -> None:
        self.store_cell(inst.args[0], self.store_ctx(), V.STATE_EXN)

    def r_exn_tag(self, inst: Inst) -> None:
        self.load_cell(inst.results[0], self.vreg(inst.args[0]), V.EXN_TAG)

    def r_exn_field(self, inst: Inst) -> None:
        # a legalised v128 field (backends/simd_scalar) is two results, its two words
        rec = self.vreg(inst.args[0])
        for k, r in enumerate(inst.results):
            self.load_cell(r, rec, V.EXN_FIELDS + inst.imm.offset + 8 * k)

    def r_tag_id(self, inst: Inst) -> None:
        t = self.tmp()
        self.load_vm(t, self.vm(self.info.offsets.tag_def(inst.imm)))
        self.value_from_reg(inst.results[0], t)

    def r_unwind(self, inst: Inst) -> None:
        """Leave with the pending exception: through the trap stub with code EXCEPTION (this
        frame's catch record is unlinked by now, so it goes on to the caller's)."""
        self.store_cell(inst.args[0], self.store_ctx(), V.STATE_EXN)
        self.ins(self.JUMP, self.trap_label(V.EXCEPTION))

    # -- runtime helpers ------------------------------------------------------------------------

    def helper(self, h: Helper, consts: list[int], args: list[int], result: int | None = None,
               traps: bool = False, reload_heap: bool = False) -> None:
        """Hook: call runtime helper h (C convention) with (vmctx, *consts, *args); branch to
        the dynamic trap when `traps` and it returns nonzero; define `result` from its return
        value; reload the heap base when `reload_heap` (memory may have moved)."""
        raise NotImplementedError

    def reload_heap(self) -> None:
        """Hook: reload the heap base register of memory 0 from vmctx (if the target keeps one
        and the function needs it)."""
        raise NotImplementedError

    def r_helper_call(self, inst: Inst) -> None:
        """memory.grow/fill/copy/init, data.drop and their table counterparts: a call of the
        runtime helper `HELPER_CALLS` names, with the instruction's immediates first."""
        h, consts, traps = HELPER_CALLS[inst.opcode]
        self.helper(h, consts(inst.imm), inst.args, inst.results[0] if inst.results else None,
                    traps=traps, reload_heap=h is Helper.MEMORY_GROW)


class SizedRegLowering(LoweringBase):
    """LoweringBase for targets whose operands are width-tagged registers (``Reg(r, bits)``)
    and whose `mov(d, s)` copies a register or loads from memory (aarch64, x86_64): the value
    moves of parameters, results and globals are the same there. Such a target names its
    stack pointer (`SP`) and the pseudo operation that loads an incoming stack argument
    (`LOAD_PARAM`); incoming stack slots start 16 bytes above its frame pointer (the saved
    frame pointer and return address sit below them)."""

    SP: int
    LOAD_PARAM = ""

    def value_from_reg(self, v: int, reg: int) -> None:
        d = self.D(v)
        self.mov(d, Reg(reg, d.bits))

    def value_to_reg(self, reg: int, v: int) -> None:
        self.mov(Reg(reg, self.bits(v)), self.R(v))

    def load_param(self, v: int, slot: int) -> None:
        self.ins(self.LOAD_PARAM, self.D(v), Imm(16 + 8 * slot), defs=[self.dst(v)])

    def load_result(self, v: int, slot: int) -> None:
        b = 128 if self.ty(v) is ValType.V128 else 64
        self.mov(Reg(self.dst(v), b), Mem(self.SP, 8 * slot, b))

    def load_cell(self, v: int, cell: int, offset: int = 0) -> None:
        d = self.D(v)
        self.mov(d, Mem(cell, offset, d.bits))


_O = Opcode
#: loads and stores of every width (all go to the target's r_load / r_store)
LOADS = (_O.LOAD, _O.ULOAD8, _O.SLOAD8, _O.ULOAD16, _O.SLOAD16, _O.ULOAD32, _O.SLOAD32)
STORES = (_O.STORE, _O.ISTORE8, _O.ISTORE16, _O.ISTORE32)
#: the instructions that may address a memory through its base
_HEAP_USERS = frozenset((*LOADS, *STORES, *SIMD_MEMORY, _O.MEMORY_COPY, _O.MEMORY_FILL,
                         _O.MEMORY_INIT))


def uses_memory0(inst: Inst) -> bool:
    """Whether `inst` (one of _HEAP_USERS) addresses memory 0 through its base."""
    if inst.opcode is _O.MEMORY_COPY:
        return inst.imm.dst == 0 or inst.imm.src == 0
    if inst.opcode is _O.MEMORY_FILL:
        return inst.imm == 0
    if inst.opcode is _O.MEMORY_INIT:
        return inst.imm.target == 0
    return inst.imm.memory == 0


def _index(imm) -> list[int]:
    return [imm]


def _dst_src(imm) -> list[int]:
    return [imm.dst, imm.src]


def _target_segment(imm) -> list[int]:
    return [imm.target, imm.segment]


#: opcodes lowered to a runtime-helper call: (helper, its constant arguments from the
#: immediate, whether it returns a trap code); memory.grow reloads the heap base after it
HELPER_CALLS: dict[Opcode, tuple[Helper, Callable[[object], list[int]], bool]] = {
    _O.MEMORY_GROW: (Helper.MEMORY_GROW, _index, False),
    _O.MEMORY_INIT: (Helper.MEMORY_INIT, _target_segment, True),
    _O.DATA_DROP: (Helper.DATA_DROP, _index, False),
    _O.TABLE_GROW: (Helper.TABLE_GROW, _index, False),
    _O.TABLE_FILL: (Helper.TABLE_FILL, _index, True),
    _O.TABLE_COPY: (Helper.TABLE_COPY, _dst_src, True),
    _O.TABLE_INIT: (Helper.TABLE_INIT, _target_segment, True),
    _O.ELEM_DROP: (Helper.ELEM_DROP, _index, False),
}


def common_rules(cls: type) -> dict[Opcode, Callable]:
    """The opcode -> rule entries that name the same rule on every target (integer and float
    arithmetic, whose rule split differs per ISA, are left to each target's table)."""
    return {
        **{op: cls.r_bitcount for op in (_O.CLZ, _O.CTZ, _O.POPCNT)},
        **{op: cls.r_sext for op in (_O.SEXT8, _O.SEXT16, _O.SEXT32)},
        _O.ICMP: cls.r_icmp, _O.EQZ: cls.r_eqz, _O.FCMP: cls.r_fcmp, _O.SELECT: cls.r_select,
        _O.IREDUCE: cls.r_ireduce, _O.UEXTEND: cls.r_uextend, _O.SEXTEND: cls.r_sextend,
        **{op: cls.r_fcvt_to_int for op in (_O.FCVT_TO_SINT, _O.FCVT_TO_UINT,
                                            _O.FCVT_TO_SINT_SAT, _O.FCVT_TO_UINT_SAT)},
        _O.FCVT_FROM_SINT: cls.r_fcvt_from_int, _O.FCVT_FROM_UINT: cls.r_fcvt_from_int,
        _O.BITCAST: cls.r_bitcast,
        _O.HEAP_CHECK: cls.heap_check,
        _O.FUEL: cls.r_fuel, _O.FUEL_CHECK: cls.r_fuel_check,
        **{op: cls.r_load for op in LOADS},
        **{op: cls.r_store for op in STORES},
        _O.MEMORY_SIZE: cls.r_memory_size,
        **{op: cls.r_helper_call for op in HELPER_CALLS},
        _O.GLOBAL_GET: cls.r_global_get, _O.GLOBAL_SET: cls.r_global_set,
        _O.REF_NULL: cls.r_ref_null, _O.REF_IS_NULL: cls.r_ref_is_null,
        _O.REF_FUNC: cls.r_ref_func,
        _O.TABLE_GET: cls.r_table_get, _O.TABLE_SET: cls.r_table_set,
        _O.TABLE_SIZE: cls.r_table_size,
        _O.TRAP: cls.r_trap, _O.TRAPZ: cls.r_trapz, _O.TRAPNZ: cls.r_trapnz,
        _O.CALL: cls.r_call, _O.CALL_INDIRECT: cls.r_call_indirect,
        _O.RETURN_CALL: cls.r_return_call, _O.RETURN_CALL_INDIRECT: cls.r_return_call_indirect,
        _O.CALL_REF: cls.r_call_ref, _O.RETURN_CALL_REF: cls.r_return_call_ref,
        _O.JUMP: cls.r_jump, _O.BRIF: cls.r_brif, _O.BR_TABLE: cls.r_br_table,
        _O.RETURN: cls.r_return,
        _O.THROW: cls.r_throw, _O.THROW_REF: cls.r_throw, _O.EXN_PENDING: cls.r_exn_pending,
        _O.EXN_SET: cls.r_exn_set, _O.EXN_TAG: cls.r_exn_tag, _O.EXN_FIELD: cls.r_exn_field,
        _O.TAG_ID: cls.r_tag_id, _O.UNWIND: cls.r_unwind,
    }
