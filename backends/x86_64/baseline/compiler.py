"""The x86_64 baseline compiler: one pass over a validated function's decoded wasm body straight
to machine code (backends/x86_64/baseline/encoder.py), for lazy compilation's first tier (the
role of Wasmtime's Winch or V8's Liftoff). No IR, no register allocation, no assembler.

Code shape: every wasm local and every operand-stack slot has a fixed 8-byte home in the frame
(the stack height at each instruction is known statically). Locals, constants, arithmetic,
compares, loads and stores work on values where they are (slot, constant, local, a cache
register) and leave results in registers; everything else, and all control flow, first puts
the stack in its slots (stack.py), so every label sees one layout. The hottest locals live in
registers. i32 values are kept zero-extended (in slots as the optimising tier keeps them in
registers), so an i32 read as 64 bits is the value.

The frame and calls follow the optimising tier's conventions exactly (backends/x86_64/abi.py,
emit.py): the stack-limit check before the frame, rbp frame, vmctx in r15 (kept in [rbp - 8]
and restored after calls that change it), heap base of memory 0 in r14 (reloaded after calls),
rsp 16-aligned at call sites, outgoing stack arguments and results at [rsp + 8k], traps as
``mov esi, code; lea rdx, [rip]; jmp __trap``, epoch checks through ``__epoch_slow``. So
both tiers call each other and share the module's stubs.

The operand stack, the register cache and the locals' homes are in stack.py, the float rules
in floats.py (mixins of the one compiler class); the instructions' encodings in encoder.py.

What it does not compile (SIMD and v128 values, tail calls, fuel, memory64, and clz / ctz /
popcnt / float rounding on a CPU without LZCNT / BMI1 / POPCNT / SSE4.1) raises
`BaselineUnsupported` (before the pass for what the signature and locals show, else at the
instruction: no prescan of the body costs every function it compiles); the caller then uses
the optimising tier.
"""

from __future__ import annotations

import struct
from typing import Any

from engine.environ import vmctx as V
from engine.environ.helpers import HELPER_INDEX, Helper
from engine.environ.module_info import ModuleInfo
from engine.errors import TrapCode, UnsupportedError
from engine.wasm.opcodes import INFO, Op
from engine.wasm.types import RefType, ValType
from engine.wasm.validator import block_signature

from ...base import (EPOCH_SYMBOL, OSR_MAX_LOCALS, TIER_UP_ENTRY_WEIGHT, TIER_UP_LOOP_WEIGHT,
                     TIER_UP_SYMBOL, TRAP_SYMBOL, TargetDesc, calls_offset, func_symbol,
                     hot_symbol, osr_request)
from ...callconv import assign
from .encoder import (RAX, RBP, RCX, RDI, RDX, RSI, RSP, R8, R9, R10, R11, R14, R15, Asm,
                      Label)
from .floats import _FALU, _ROUND, FloatRules
from .stack import _CONST, _FLAGS, _LOCAL, _MEMV, _REG, ValueStack

__all__ = ["BaselineUnsupported", "compile_function", "unsupported_reason"]


class BaselineUnsupported(UnsupportedError):
    """The baseline compiler does not handle this function (yet): compile it with the
    optimising tier instead."""


_I32, _I64, _F32, _F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64
_V128 = ValType.V128
_INT_ARGS = (RDI, RSI, RDX, RCX, R8, R9)
_NONE: tuple = ()

# block kinds
_FUNC, _BLOCK, _LOOP, _IF = range(4)

_ICMP = {"eq": "e", "ne": "ne", "lt_s": "l", "lt_u": "b", "gt_s": "g", "gt_u": "a",
         "le_s": "le", "le_u": "be", "ge_s": "ge", "ge_u": "ae"}
_IALU = {"add": "add", "sub": "sub", "and": "and", "or": "or", "xor": "xor"}
_ISHIFT = {"shl": "shl", "shr_s": "sar", "shr_u": "shr", "rotl": "rol", "rotr": "ror"}


#: the moves of calls by (target name, parameter types, result types): (the number of
#: parameters, the ones passed in registers as (index, register), the ones on the stack as
#: (index, rsp offset), the outgoing stack slots the call needs, the results as (index,
#: register or None, rsp offset, whether an i32))
_CALL_PLANS: dict[tuple, tuple] = {}


def _call_plan(target: TargetDesc, params: tuple, results: tuple) -> tuple:
    key = (target.name, params, results)
    plan = _CALL_PLANS.get(key)
    if plan is None:
        locs, nstack = assign(target, params)
        rlocs, nres = assign(target, results, True)
        plan = _CALL_PLANS[key] = (
            len(params),
            tuple((j, loc.reg) for j, loc in enumerate(locs) if loc.reg is not None),
            tuple((j, 8 * loc.stack) for j, loc in enumerate(locs) if loc.stack is not None),
            max(nstack, nres),
            tuple((j, loc.reg, None if loc.stack is None else 8 * loc.stack, t is _I32)
                  for j, (t, loc) in enumerate(zip(results, rlocs))))
    return plan


class _Frame:
    __slots__ = ("kind", "height", "nparams", "nresults", "arity", "label", "else_label")

    def __init__(self, kind: int, height: int, nparams: int, nresults: int,
                 label: Label | None) -> None:
        self.kind, self.height, self.nparams, self.nresults = kind, height, nparams, nresults
        #: the number of values a branch to it takes
        self.arity = nparams if kind == _LOOP else nresults
        self.label = label
        self.else_label: Label | None = None


def unsupported_reason(wasm: Any, info: ModuleInfo, index: int) -> str | None:
    """Why function `index` cannot be compiled by the baseline tier, as far as its signature,
    locals and module tell (an instruction the tier lacks refuses it in the pass), or None."""
    if info.fuel:
        return "fuel"
    if any(m.is_64 for m in wasm.memory_types()):
        return "memory64"
    code = wasm.codes[index - info.num_imported_funcs]
    sig_vals = wasm.signature_value_types()
    if _V128 in sig_vals or any(t is _V128 for _, t in code.locals):
        return "v128 values"
    if any(type(t) is RefType for t in sig_vals) or \
            any(type(t) is RefType for _, t in code.locals):
        return "typed function references"
    return None


def compile_function(wasm: Any, info: ModuleInfo, index: int, features: frozenset[str],
                     target: TargetDesc, counted: bool = False
                     ) -> tuple[bytes, tuple[tuple[int, str], ...], tuple[int, ...]]:
    """Machine code of defined function `index` (function index space) of validated module
    `wasm` for a CPU with `features`, calling others by `target`'s convention (the x86_64
    TargetDesc); returns the code and its outside references (offset just past each rel32,
    symbol: ``funcN``, ``__trap``, ``__epoch_slow``) and the loops (body positions) its
    activations can move to optimised code from, the parts of a pieces.FunctionCode.
    `counted`: the entry and every loop header count down the function's hotness counter
    (``__hotN``) and call ``__tier_up`` when it goes below zero (tiered compilation). Raises
    BaselineUnsupported for what this tier does not do: before the pass for what the
    signature and locals tell, at the first such instruction otherwise (no prescan of the
    body: what was emitted is dropped)."""
    why = unsupported_reason(wasm, info, index)
    if why is not None:
        raise BaselineUnsupported(f"baseline compilation of {why} (function {index})")
    return _Compiler(wasm, info, index, target, counted, _table_for(features)).run()


#: the pass's (handler, argument, how) by opcode, per set of CPU features: every opcode has an
#: entry (a plain dict is the fastest lookup), the ones this tier lacks one that refuses.
#: how: 0, _FLUSHES (every value in its slot first), _AT (the handler reads its body position,
#: `pos`) or _ENDS (flushes; the code after it is unreachable)
_TABLES: dict[frozenset, dict[int, tuple]] = {}
_FLUSHES, _AT, _ENDS = 1, 2, 3          # (odd: flushes)


def _table_for(features: frozenset[str]) -> dict[int, tuple]:
    """The handlers for a CPU with `features`: clz, ctz, popcnt and float rounding only
    with LZCNT, BMI1, POPCNT and SSE4.1."""
    table = _TABLES.get(features)
    if table is None:
        table = dict(_TABLE)
        for code, info in INFO.items():
            op = info.name.partition(".")[2]
            if code not in table or (op == "clz" and "lzcnt" not in features) or \
                    (op == "ctz" and "bmi1" not in features) or \
                    (op == "popcnt" and "popcnt" not in features) or \
                    (op in _ROUND and info.name[0] == "f" and "sse4.1" not in features):
                table[code] = (_Compiler.c_refuse, info.name, 0)
        _TABLES[features] = table
    return table


def _refuse_typed(imm, index: int) -> None:
    """A typed reference (a RefType immediate, or one in a `select t`'s types) is not for
    this tier (in function `index`)."""
    if type(imm) is RefType or (type(imm) is tuple and RefType in map(type, imm)):
        raise BaselineUnsupported(f"baseline compilation of typed function references "
                                  f"(function {index})")


class _Compiler(ValueStack, FloatRules):
    """One function's single pass (see the module docstring)."""

    def __init__(self, wasm: Any, info: ModuleInfo, index: int, target: TargetDesc,
                 counted: bool, table: dict[int, tuple]) -> None:
        self.wasm, self.info, self.index, self.target = wasm, info, index, target
        self.table = table
        self.counted = counted
        #: (slow path, where it comes back) of the hotness checks
        self.hot_paths: list[tuple[Label, Label]] = []
        self.name = func_symbol(index)
        defined = index - info.num_imported_funcs
        self.params, self.results = info.func_sigs[index]
        self.local_types = list(self.params) + wasm.codes[defined].local_types()
        self.body = wasm.codes[defined].body
        self.a = Asm()
        self.init_stack()
        self.outgoing = 0
        self.traps: dict[int, Label] = {}
        self.epoch_paths: list[tuple[Label, Label]] = []
        self.offsets = info.offsets
        self.unchecked, self.checked_stores = info.unchecked_memories, info.checked_stores
        #: where the base of memory 0 is kept (r14 reloads it), if there is a memory
        self.heap_base = self.vm(info.offsets.memory_base(0)) if info.offsets.num_memories \
            else None

    def vm(self, off: int) -> tuple:
        return (R15, None, 1, off)

    def trap(self, code: TrapCode) -> Label:
        label = self.traps.get(int(code))
        if label is None:
            label = self.traps[int(code)] = Label()
        return label

    # -- the pass -------------------------------------------------------------------------------

    def run(self) -> tuple[bytes, tuple[tuple[int, str], ...], tuple[int, ...]]:
        a = self.a
        # the stack check (before the frame; the frame size is patched in at the end)
        a.op(b"\x8d", R11, (RSP, None, 1, -0x1000_0000), 1)        # lea r11, [rsp - size]
        size_at = a.here() - 4
        a.alu_rm("cmp", R11, self.vm(V.STACK_LIMIT))
        a.jcc("b", self.trap(TrapCode.STACK_OVERFLOW))
        a.push(RBP)
        a.mov_rr(RBP, RSP)
        a.op(b"\x81", 5, RSP, 1, imm=b"\0\0\0\0")                  # sub rsp, frame
        frame_at = a.here() - 4
        a.store((RBP, None, 1, -8), R15)
        for k, r in enumerate(self.saved):
            a.store((RBP, None, 1, -16 - 8 * k), r)
        self.lower_params()
        self.reload_heap()          # whoever called this function left r14 holding anything
        if self.info.epoch:
            self.epoch_check()
        self.hot_check(TIER_UP_ENTRY_WEIGHT)
        frames = [_Frame(_FUNC, 0, 0, len(self.results), None)]
        self.frames = frames
        table = self.table
        self.live = True
        vs = self.vs
        refuse = _Compiler.c_refuse
        local_get, i32_const = _LOCAL_GET_OP, _I32_CONST_OP
        it = enumerate(self.body)
        for pos, ins in it:
            op = ins.op
            if op == local_get:             # (c_local_get, inline: a quarter of all)
                vs.append((_LOCAL, ins.imm))
                if len(vs) > self.max_height:
                    self.max_height = len(vs)
                continue
            if op == i32_const:             # (c_const, inline)
                vs.append((_CONST, ins.imm & 0xFFFF_FFFF))
                if len(vs) > self.max_height:
                    self.max_height = len(vs)
                continue
            fn, arg, how = table[op]
            if not how:
                fn(self, ins.imm, arg)
                continue
            self.pos = pos
            if how & _FLUSHES and self.low < len(vs):
                self.flush()
            fn(self, ins.imm, arg)
            if how != _ENDS:
                continue
            # unreachable code up to the end (or else) of the current block: skipped
            dead = 0        # the nesting depth of blocks opened in it
            for pos, ins in it:
                op = ins.op
                if op == _BLOCK_OP or op == _LOOP_OP or op == _IF_OP:
                    dead += 1
                elif op == _END_OP or op == _ELSE_OP:
                    if not dead:
                        break
                    if op == _END_OP:
                        dead -= 1
                elif table[op][0] is refuse:    # (unreachable or not, the function is not
                    refuse(self, ins.imm, table[op][1])     # for this tier: try_table
                                                            # opens a block, say)
            self.pos = pos
            table[op][0](self, ins.imm, None)
        for cont, back in self.epoch_paths:
            a.bind(cont)
            a.call_sym(EPOCH_SYMBOL)
            a.test_rr(R11, R11)
            a.jcc("e", back)
            a.jmp(self.trap(TrapCode.INTERRUPT))
        transfer = Label()
        # the loops an activation can move from, numbered as the entry numbers them
        # (engine.ir.osr.osr_targets: in body order, all of them enterable)
        targets = {loop: k + 1 for k, loop in enumerate(
            sorted(loop for _, _, loop in self.hot_paths if loop is not None))}
        for slow, back, loop in self.hot_paths:
            a.bind(slow)
            a.mov_ri(R11, self.index if loop is None else osr_request(self.index, loop))
            a.call_sym(TIER_UP_SYMBOL)
            if loop is not None:    # at a loop that can move to optimised code: maybe do so
                a.test_rr(R11, R11)
                skip = Label()
                a.jcc("e", skip)
                a.mov_ri(RAX, targets[loop])            # the selector
                a.jmp(transfer)
                a.bind(skip)
            a.jmp(back)
        movable = tuple(sorted(targets))
        if movable:
            self.osr_transfer(transfer)
        for code, label in self.traps.items():
            a.bind(label)
            if code == -1:
                a.lea(RSI, (RAX, None, 1, -1), 0)                   # lea esi, [rax - 1]
            else:
                a.mov_ri(RSI, code)
            a.lea_rip(RDX)
            a.jmp_sym(TRAP_SYMBOL)
        frame = -self.local_base - 8 + 8 * len(self.local_types) + 8 * self.max_height + \
            8 * self.outgoing
        frame += -frame % 16
        struct.pack_into("<i", a.code, size_at, -(frame + 8))
        struct.pack_into("<i", a.code, frame_at, frame)
        return a.finish(), tuple(a.external), movable

    def lower_params(self) -> None:
        """Parameters to their homes (argument registers and pinned homes never overlap),
        the other locals zeroed."""
        a = self.a
        locs, _ = assign(self.target, self.params)
        for i, (t, loc) in enumerate(zip(self.params, locs)):
            h = self.homes[i]
            w = 0 if t is _I32 else 1
            src = loc.reg
            if src is None:
                a.load(RAX, (RBP, None, 1, 16 + 8 * loc.stack), w)
                src = RAX
            if src >= 16:
                if type(h) is tuple:
                    a.movs_store(h, src - 16, True)
                else:
                    a.sse("movaps", h - 16, src - 16)
            elif type(h) is tuple:
                if w == 0 and src != RAX:
                    a.mov_rr(RAX, src, 0)
                    src = RAX
                a.store(h, src)
            elif h >= 16:
                a.movq_xr(h - 16, src)
            else:
                a.mov_rr(h, src, w)
        if len(self.local_types) > len(self.params):
            a.mov_ri(RAX, 0)
            for i in range(len(self.params), len(self.local_types)):
                h = self.homes[i]
                if type(h) is tuple:
                    a.store(h, RAX)
                elif h >= 16:
                    a.sse("xorps", h - 16, h - 16)
                else:
                    a.mov_rr(h, RAX, 0)

    def epoch_check(self) -> None:
        """Trap INTERRUPT once the engine's epoch reaches the store's deadline (out of line:
        __epoch_slow decides, preserving every register; its verdict in r11)."""
        a = self.a
        a.load(R11, self.vm(V.EPOCH_PTR))
        a.load(R11, (R11, None, 1, 0))
        a.load(R10, self.vm(V.STATE))
        a.alu_rm("cmp", R11, (R10, None, 1, V.STATE_EPOCH_DEADLINE))
        slow, back = Label(), Label()
        a.jcc("ae", slow)
        a.bind(back)
        self.epoch_paths.append((slow, back))

    def hot_check(self, weight: int, loop: int | None = None) -> None:
        """Count down the hotness counter by `weight` (counted code only); out of line below
        zero: __tier_up (preserving every register but r11), then on here. `loop`: the body
        position of the loop whose header this is, when its activation can move to optimised
        code there (on-stack replacement: the operand stack is empty): __tier_up then returns
        the address of that loop's entry in r11 once there is one, and the code moves."""
        if not self.counted:
            return
        a = self.a
        a.lea_sym(R11, hot_symbol(self.index))
        if weight == TIER_UP_ENTRY_WEIGHT:      # inc dword [r11 + calls]: one more call
            a.op(b"\xff", 0, (R11, None, 1, calls_offset(len(self.wasm.funcs))), 0)
        a.op(b"\x83", 5, (R11, None, 1, 0), 0, imm=bytes((weight,)))   # sub dword [r11], w
        slow, back = Label(), Label()
        a.jcc("s", slow)
        a.bind(back)
        self.hot_paths.append((slow, back, loop))

    def osr_transfer(self, here: Label) -> None:
        """The move to optimised code (engine.ir.osr) from a loop header, the entry's address
        in r11 and the loop's number in rax: call it with every local and the number, return
        what it returns. Every such header has an empty operand stack and each local in its
        home, so one sequence serves them all."""
        a = self.a
        self.live = True
        self.height = 0
        a.bind(here)
        n = len(self.local_types)
        a.store(self.slot(0), R11)
        a.store(self.slot(n + 1), RAX)      # the selector, before the copies need rax
        for i in range(n):
            self.local_to_slot(i, self.slot(1 + i))
        self.height = n + 2
        plan = _call_plan(self.target, (*self.local_types, _I32), self.results)
        first = self.call_args(plan)
        self.save_pinned_x(False)
        a.call_r(self.slot(first - 1))
        self.call_results(first, plan, self.info.tail_calls_leave)
        self.ret()
        self.height = 0

    # -- control --------------------------------------------------------------------------------

    def c_nop(self, imm, arg) -> None:
        pass

    def c_unreachable(self, imm, arg) -> None:
        self.a.jmp(self.trap(TrapCode.UNREACHABLE))
        self.kill()

    def kill(self) -> None:
        """The rest of the current block is unreachable."""
        self.live = False
        self.height = self.frames[-1].height

    def c_block(self, imm, kind: int) -> None:
        if imm is None:
            params = results = _NONE
        else:
            _refuse_typed(imm, self.index)
            params, results = block_signature(self.wasm.types, imm)
        a = self.a
        cc = self.condition() if kind == _IF else None
        vs = self.vs
        if self.low < len(vs):
            self.flush()
        f = _Frame(kind, len(vs) - len(params), len(params), len(results), Label())
        if kind == _LOOP:
            a.bind(f.label)
            if self.info.epoch:
                self.epoch_check()
            # (no block parameters around it either: engine.ir.osr can enter it)
            movable = not params and not vs and \
                len(self.local_types) <= OSR_MAX_LOCALS and \
                not any(f.nparams for f in self.frames)
            self.hot_check(TIER_UP_LOOP_WEIGHT, self.pos if movable else None)
        elif kind == _IF:
            f.else_label = Label()
            a.jcc(_NEG[cc], f.else_label)
        self.frames.append(f)

    def condition(self) -> str:
        """Pop an i32 condition; set the flags; the condition code true when it is nonzero
        (a compare right before gives its own flags; only moves may follow before the jump)."""
        vs = self.vs                # (pop_entry, inline: a condition is never an xmm value)
        e = vs.pop()
        if self.low > len(vs):
            self.low = len(vs)
        kind = e[0]
        if kind == _REG:
            self.free_int.append(e[1])
        if kind == _FLAGS:
            return e[1]
        a = self.a
        if kind == _REG:
            a.test_rr(e[1], e[1], 0)
        elif kind == _CONST:
            a.mov_ri(RAX, e[1])
            a.test_rr(RAX, RAX, 0)
        else:
            a.alu_ri("cmp", self.operand(e, len(self.vs)), 0, 0)
        return "ne"

    def c_else(self, imm, arg) -> None:
        f = self.frames[-1]
        if self.live:
            self.a.jmp(f.label)
        self.a.bind(f.else_label)
        f.else_label = None
        self.height = f.height + f.nparams
        self.live = True

    def c_end(self, imm, arg) -> None:
        f = self.frames.pop()
        if f.kind == _FUNC:
            if self.live:
                self.ret()
            return
        a = self.a
        if f.else_label is not None:
            a.bind(f.else_label)
        if f.kind != _LOOP:
            a.bind(f.label)
        h = f.height + f.nresults
        if h != len(self.vs):
            self.height = h
        self.live = True

    def move_down(self, dst: int, k: int) -> None:
        """Copy the top k values to slots dst.. (a branch's values to its target's height)."""
        src = len(self.vs) - k
        if src == dst:
            return
        a = self.a
        for j in range(k):
            a.copy(self.slot(dst + j), self.slot(src + j), RCX)

    def branch(self, f: _Frame) -> None:
        """Jump to frame f's label with its values (a branch to the function frame returns)."""
        if f.kind == _FUNC:
            self.ret()
            return
        self.move_down(f.height, f.arity)
        self.a.jmp(f.label)

    def c_br(self, depth: int, arg) -> None:
        self.branch(self.frames[-1 - depth])
        self.kill()

    def c_br_if(self, depth: int, arg) -> None:
        a = self.a
        vs = self.vs
        e = vs[-1]
        if e[0] == _FLAGS:          # (condition, inline for a compare's flags)
            vs.pop()
            if self.low > len(vs):
                self.low = len(vs)
            cc = e[1]
        else:
            cc = self.condition()
        if self.low < len(vs):
            self.flush()
        f = self.frames[-1 - depth]
        if f.kind != _FUNC and len(vs) - f.arity == f.height:
            a.jcc(cc, f.label)
            return
        skip = Label()
        a.jcc(_NEG[cc], skip)
        self.branch(f)
        a.bind(skip)

    def c_br_table(self, imm, arg) -> None:
        labels, default = imm
        a = self.a
        self.height -= 1
        a.load(RAX, self.slot(self.height), 0)
        pads: dict[int, Label] = {}
        todo: list[tuple[Label, int]] = []

        def target(depth: int) -> Label:
            lab = pads.get(depth)
            if lab is None:
                f = self.frames[-1 - depth]
                if f.kind != _FUNC and len(self.vs) - f.arity == f.height:
                    lab = f.label
                else:
                    lab = Label()
                    todo.append((lab, depth))
                pads[depth] = lab
            return lab

        if labels:
            a.alu_ri("cmp", RAX, len(labels), 0)
            a.jcc("ae", target(default))
            table = Label()
            a.lea_rip(RCX, table)
            a.movsxd(RAX, (RCX, RAX, 4, 0))
            a.alu_rr("add", RAX, RCX)
            a.jmp_r(RAX)
            a.bind(table)
            base = a.here()
            for depth in labels:
                a.rel32(target(depth), base)
        else:
            a.jmp(target(default))
        for lab, depth in todo:
            a.bind(lab)
            self.branch(self.frames[-1 - depth])
        self.kill()

    def c_return(self, imm, arg) -> None:
        self.ret()
        self.kill()

    def ret(self) -> None:
        """Return the top len(results) values: the result registers, the rest into the
        caller's stack area ([rbp + 16 + 8k]); tear the frame down."""
        a = self.a
        k = len(self.results)
        locs, _ = assign(self.target, self.results, True)
        first = len(self.vs) - k
        for j, (t, loc) in enumerate(zip(self.results, locs)):
            s = self.slot(first + j)
            if loc.reg is None:
                a.copy((RBP, None, 1, 16 + 8 * loc.stack), s, RCX)
        for j, (t, loc) in enumerate(zip(self.results, locs)):
            s = self.slot(first + j)
            if loc.reg is not None:
                if loc.reg >= 16:
                    a.movs_load(loc.reg - 16, s, True)
                else:
                    a.load(loc.reg, s)
        for k, r in enumerate(self.saved):
            a.load(r, (RBP, None, 1, -16 - 8 * k))
        a.mov_rr(RSP, RBP)
        a.pop(RBP)
        a.ret()

    # -- calls ----------------------------------------------------------------------------------

    def call_args(self, plan: tuple) -> int:
        """Place the top values as the arguments of a call with `plan` (_call_plan; stack ones
        through r11); returns the first slot of the arguments (where the results go)."""
        a = self.a
        nparams, in_regs, on_stack, outgoing, _ = plan
        first = len(self.vs) - nparams
        if outgoing > self.outgoing:
            self.outgoing = outgoing
        base = self.stack_base - 8 * first
        for j, off in on_stack:
            a.copy((RSP, None, 1, off), (RBP, None, 1, base - 8 * j), R11)
        for j, r in in_regs:
            if r >= 16:
                a.movs_load(r - 16, (RBP, None, 1, base - 8 * j), True)
            else:
                a.load(r, (RBP, None, 1, base - 8 * j))
        return first

    def call_results(self, first: int, plan: tuple, vmctx_changed: bool) -> None:
        a = self.a
        if vmctx_changed:
            a.load(R15, (RBP, None, 1, -8))
        if self.heap_base is not None:
            a.load(R14, self.heap_base)
        if self.pinned_x:
            self.save_pinned_x(True)
        results = plan[4]
        base = self.stack_base - 8 * first
        for j, r, off, narrow in results:
            s = (RBP, None, 1, base - 8 * j)
            if r is None:
                a.copy(s, (RSP, None, 1, off), R11)
            elif r >= 16:
                a.movs_store(s, r - 16, True)
            elif narrow:
                a.mov_rr(r, r, 0)
                a.store(s, r)
            else:
                a.store(s, r)
        vs = self.vs                # (the stack is flushed: the height setter, inline)
        del vs[first:]
        vs += [_MEMV] * len(results)
        self.low = len(vs)
        if len(vs) > self.max_height:
            self.max_height = len(vs)

    def reload_heap(self) -> None:
        if self.heap_base is not None:
            self.a.load(R14, self.heap_base)

    def c_call(self, idx: int, arg) -> None:
        a = self.a
        plan = _call_plan(self.target, *self.info.func_sigs[idx])
        first = self.call_args(plan)
        imported = idx < self.info.num_imported_funcs
        if self.pinned_x:
            self.save_pinned_x(False)
        if imported:
            a.mov_rr(R11, R15)
            a.load(R15, (R11, None, 1, self.offsets.import_vmctx(idx)))
            a.call_r((R11, None, 1, self.offsets.import_code(idx)))
        else:
            a.call_sym(func_symbol(idx))
        # a callee may have tail-called another instance (ModuleInfo.tail_calls_leave)
        self.call_results(first, plan, imported or self.info.tail_calls_leave)

    def c_call_indirect(self, imm, arg) -> None:
        type_index, table = imm
        a = self.a
        self.height -= 1
        a.load(RAX, self.slot(self.height), 0)
        self.table_entry(table)                     # rax: index, rcx: entries
        a.load(R10, (RCX, RAX, 8, 0))
        a.test_rr(R10, R10)
        a.jcc("e", self.trap(TrapCode.INDIRECT_CALL_TO_NULL))
        a.load(RCX, self.vm(self.offsets.sig_id(type_index)))
        a.alu_rm("cmp", RCX, (R10, None, 1, V.FUNCREF_SIG))
        a.jcc("ne", self.trap(TrapCode.BAD_SIGNATURE))
        plan = _call_plan(self.target, *self.info.type_sigs[type_index])
        first = self.call_args(plan)
        self.save_pinned_x(False)
        a.load(R15, (R10, None, 1, V.FUNCREF_VMCTX))
        a.call_r((R10, None, 1, V.FUNCREF_CODE))
        self.call_results(first, plan, True)

    def helper(self, h: Helper, consts: list[int], nargs: int, result: ValType | None,
               traps: bool) -> None:
        """Call runtime helper h (C convention): (vmctx, *consts, *the top nargs values)."""
        a = self.a
        a.mov_rr(RDI, R15)
        k = 1
        for c in consts:
            a.mov_ri(_INT_ARGS[k], c)
            k += 1
        first = len(self.vs) - nargs
        for j in range(nargs):
            a.load(_INT_ARGS[k], self.slot(first + j))
            k += 1
        a.load(R11, self.vm(V.HELPERS))
        self.save_pinned_x(False)
        a.call_r((R11, None, 1, 8 * HELPER_INDEX[h]))
        self.save_pinned_x(True)
        if h is Helper.MEMORY_GROW:
            self.reload_heap()
        if traps:
            a.test_rr(RAX, RAX, 0)
            a.jcc("ne", self.trap(-1))
        self.height = first
        if result is not None:
            if result is _I32:
                a.mov_rr(RAX, RAX, 0)
            a.store(self.push(), RAX)

    # -- locals, globals, constants -------------------------------------------------------------

    def c_local_set(self, i: int, tee: bool) -> None:
        a = self.a
        vs = self.vs
        e = vs[-1]
        kind = e[0]
        if kind == _LOCAL and e[1] == i:
            if not tee:
                vs.pop()
                if self.low > len(vs):
                    self.low = len(vs)
            return
        if self.low < len(vs) - 1:  # (entries below the top may read local i)
            self.forget_local(i)
        if kind == _REG and e[1] < 16:      # (set_home's commonest case, inline)
            h = self.homes[i]
            if type(h) is tuple:
                a.store(h, e[1])
            else:
                a.mov_rr(h, e[1])
        else:
            self.set_home(i, e, len(vs) - 1)
        if kind == _REG and tee:    # the value stays in its register (no reload right after)
            return
        if tee:                     # (pop_entry and push_entry, inline)
            vs[-1] = (_LOCAL, i)
            if self.low >= len(vs):
                self.low = len(vs) - 1
        else:
            vs.pop()
            if self.low > len(vs):
                self.low = len(vs)
        if kind == _REG:
            r = e[1]
            (self.free_x if r >= 16 else self.free_int).append(r)

    def c_global_get(self, i: int, arg) -> None:
        a = self.a
        t = self.info.global_types[i]
        a.load(RCX, self.vm(self.offsets.global_ptr(i)))
        if t is _F32 or t is _F64:
            x = self.alloc(True)
            a.movs_load(x - 16, (RCX, None, 1, 0), t is _F64)
            self.push_entry((_REG, x))
            return
        d = self.alloc(False)
        a.load(d, (RCX, None, 1, 0), 0 if t is _I32 else 1)
        self.push_entry((_REG, d))

    def c_global_set(self, i: int, arg) -> None:
        a = self.a
        w = 0 if self.info.global_types[i] in (_I32, _F32) else 1
        a.load(RCX, self.vm(self.offsets.global_ptr(i)))
        self.height -= 1
        a.load(RAX, self.slot(self.height))
        a.store((RCX, None, 1, 0), RAX, w)

    def c_const(self, value: int, mask: int) -> None:
        """A constant (`mask`: its type's bits)."""
        vs = self.vs                        # (push_entry, inline)
        h = len(vs)
        vs.append((_CONST, value & mask))
        if h >= self.max_height:
            self.max_height = h + 1

    def c_reinterpret(self, imm, arg) -> None:
        """A reinterpretation: the bits in the slot stay (the stack is flushed: a value cached
        in a register of the other class is in its slot now)."""

    def c_bits32(self, imm, arg) -> None:
        """i32.reinterpret_f32: the f32's slot with its upper half zeroed."""
        a = self.a
        a.load(RAX, self.top(), 0)
        a.store(self.top(), RAX)

    def c_drop(self, imm, arg) -> None:
        self.pop_entry()

    def c_refuse(self, imm, name: str) -> None:
        raise BaselineUnsupported(f"baseline compilation of `{name}` (function {self.index})")

    def c_select_t(self, imm, arg) -> None:
        _refuse_typed(imm, self.index)
        self.c_select(imm, arg)

    def c_select(self, imm, arg) -> None:
        a = self.a
        a.load(RCX, self.top(1), 0)
        a.test_rr(RCX, RCX, 0)
        a.load(RAX, self.top(3))
        a.cmov("e", RAX, self.top(2))
        self.height -= 2
        a.store(self.top(), RAX)

    # -- integer --------------------------------------------------------------------------------

    def i_alu(self, imm, arg) -> None:
        name, w = arg
        a = self.a
        vs = self.vs                # (pop_entry twice and push_entry, inline: b's register
        b = vs.pop()                # is released once it is read, ea's becomes the result)
        ea = vs.pop()
        h = len(vs)
        if self.low > h:
            self.low = h
        if ea[0] == _REG:
            d = ea[1]
        else:
            free = self.free_int
            d = free.pop() if free else self.alloc(False)
            if ea[0] == _CONST:
                a.mov_ri(d, ea[1])
            else:
                a.load(d, self.operand(ea, h), w)
        if name == "mul":
            if b[0] == _CONST:
                a.mov_ri(RAX, b[1])
                a.imul_rm(d, RAX, w)
            else:
                a.imul_rm(d, self.operand(b, h + 1), w)
        elif b[0] == _CONST and not w:      # (alu_entry's commonest case, inline)
            v = b[1]
            a.alu_ri(name, d, v - (1 << 32) if v >> 31 else v, 0)
        else:
            self.alu_entry(name, d, b, h + 1, w)
        if b[0] == _REG:
            self.free_int.append(b[1])
        vs.append((_REG, d))        # (h + 1 <= max_height: two were there)

    def alu_entry(self, name: str, x: int, b: tuple, at: int, w: int) -> None:
        """ALU operation `name` of register x with entry b (at stack index `at`, popped):
        an immediate, a register or a memory operand (a wide constant through rcx)."""
        a = self.a
        kind = b[0]
        if kind == _CONST:                  # as a sign-extended imm32 when it is one
            v = b[1]
            if not w:
                a.alu_ri(name, x, v - (1 << 32) if v >> 31 else v, 0)
                return
            sv = v - (1 << 64) if v >> 63 else v
            if -(1 << 31) <= sv < 1 << 31:
                a.alu_ri(name, x, sv, w)
            else:
                a.mov_ri(RCX, v)
                a.alu_rr(name, x, RCX, w)
        elif kind == _REG:
            a.alu_rr(name, x, b[1], w)
        else:
            a.alu_rm(name, x, self.operand(b, at), w)

    def i_shift(self, imm, arg) -> None:
        name, w = arg
        a = self.a
        vs = self.vs                # (pop_entry twice, inline)
        b = vs.pop()
        ea = vs.pop()
        h = len(vs)
        if self.low > h:
            self.low = h
        free = self.free_int
        if b[0] == _REG:
            free.append(b[1])
        if ea[0] == _REG:
            free.append(ea[1])
        if b[0] == _CONST:
            d = self.into_int(ea, h, w)
            a.shift_ri(name, d, b[1] & (63 if w else 31), w)
        else:
            if b[0] == _REG:
                a.mov_rr(RCX, b[1], 0)
            else:
                a.load(RCX, self.operand(b, h + 1), 0)
            d = self.into_int(ea, h, w)
            a.shift_cl(name, d, w)
        vs.append((_REG, d))        # (h + 1 <= max_height: two were there)

    def i_div(self, imm, arg) -> None:
        kind, w = arg           # "div_s", "div_u", "rem_s", "rem_u"
        a = self.a
        a.load(RCX, self.top(1), w)
        a.load(RAX, self.top(2), w)
        a.test_rr(RCX, RCX, w)
        a.jcc("e", self.trap(TrapCode.INTEGER_DIVISION_BY_ZERO))
        done = None
        if kind == "div_s" or kind == "rem_s":
            ok = Label()
            a.alu_ri("cmp", RCX, -1, w)
            a.jcc("ne", ok, short=True)
            if kind == "div_s":
                if w:
                    a.movabs(RDX, 1 << 63)
                else:
                    a.mov_ri(RDX, 1 << 31)
                a.alu_rr("cmp", RAX, RDX, w)
                a.jcc("e", self.trap(TrapCode.INTEGER_OVERFLOW))
            else:
                done = Label()
                a.mov_ri(RDX, 0)
                a.jmp(done, short=True)
            a.bind(ok)
            a.cqo() if w else a.cdq()
            a.unary("idiv", RCX, w)
        else:
            a.mov_ri(RDX, 0)
            a.unary("div", RCX, w)
        if done is not None:
            a.bind(done)
        self.height -= 1
        a.store(self.top(), RDX if kind[0] == "r" else RAX)

    def i_cmp(self, imm, arg) -> None:
        cc, w = arg
        a = self.a
        vs = self.vs                # (pop_entry twice, inline)
        b = vs.pop()
        ea = vs.pop()
        h = len(vs)
        if self.low > h:
            self.low = h
        if b[0] == _REG:
            self.free_int.append(b[1])
        if ea[0] == _REG:
            self.free_int.append(ea[1])
            x = ea[1]
        else:
            x = RAX
            if ea[0] == _CONST:
                a.mov_ri(RAX, ea[1])
            else:
                a.load(RAX, self.operand(ea, h), w)
        self.alu_entry("cmp", x, b, h + 1, w)
        self.flag_result(cc)

    def flag_result(self, cc: str) -> None:
        """Push the result of the compare just made: kept in the flags when the next
        instruction branches on it, else 0 / 1 in a register."""
        nxt = self.body[self.pos + 1].op
        if nxt == _BR_IF_OP or nxt == _IF_OP:
            self.push_entry((_FLAGS, cc))
            return
        d = self.alloc(False)
        a = self.a
        a.setcc(cc, RAX)
        a.movzx8(d, RAX)
        self.push_entry((_REG, d))

    def set_flag(self, cc: str) -> None:
        """The top slot <- 1 if condition cc holds, else 0."""
        a = self.a
        a.setcc(cc, RAX)
        a.movzx8(RAX, RAX)
        a.store(self.top(), RAX)

    def i_eqz(self, imm, w: int) -> None:
        a = self.a
        vs = self.vs                # (pop_entry, inline)
        e = vs.pop()
        if self.low > len(vs):
            self.low = len(vs)
        if e[0] == _REG:
            self.free_int.append(e[1])
            a.test_rr(e[1], e[1], w)
        elif e[0] == _CONST:
            a.mov_ri(RAX, e[1])
            a.test_rr(RAX, RAX, w)
        else:
            a.alu_ri("cmp", self.operand(e, len(self.vs)), 0, w)
        self.flag_result("e")

    def i_bitcount(self, imm, arg) -> None:
        name, w = arg
        a = self.a
        a.bitcount(name, RAX, self.top(), w)
        a.store(self.top(), RAX)

    def i_extend(self, imm, arg) -> None:
        """Sign extensions, wrap, extend_i32_u/s (i32 values stay zero-extended)."""
        kind, w = arg
        a = self.a
        vs = self.vs                # (pop_entry, inline: a register stays the result's)
        e = vs.pop()
        h = len(vs)
        if self.low > h:
            self.low = h
        if e[0] == _CONST:
            a.mov_ri(RAX, e[1])
            src = RAX
        else:
            src = self.operand(e, h)
        if e[0] == _REG:
            d = e[1]
        else:
            d = self.alloc(False)
        if kind == 8:
            a.movsx8(d, src, w)
        elif kind == 16:
            a.movsx16(d, src, w)
        elif kind == 32:
            a.movsxd(d, src)
        elif type(src) is int:  # wrap / extend_u / i32.reinterpret_f32: zero the upper half
            a.mov_rr(d, src, 0)
        else:
            a.load(d, src, 0)
        vs.append((_REG, d))        # (push_entry: where the operand was)

    # -- memory ---------------------------------------------------------------------------------

    def address(self, m, size: int, store: bool = False) -> tuple:
        """Pop the index; bounds-check [index + offset, + size) against the memory's length
        unless the memory is guarded (for a store, and ModuleInfo.checked_stores, guarded or
        not) (rax: index, rcx: scratch; rdx: the base of a memory other than 0); the
        operand."""
        a = self.a
        vs = self.vs                            # (pop_entry, inline)
        e = vs.pop()
        if self.low > len(vs):
            self.low = len(vs)
        if e[0] == _REG:
            self.free_int.append(e[1])          # (read right here, before any allocation)
            a.mov_rr(RAX, e[1], 0)
        elif e[0] == _CONST:
            a.mov_ri(RAX, e[1])
        elif e[0] == _LOCAL:                    # (operand, inline: its home, not an xmm)
            a.load(RAX, self.homes[e[1]], 0)
        else:
            a.load(RAX, (RBP, None, 1, self.stack_base - 8 * len(vs)), 0)
        offset, memory = m.offset, m.memory
        if memory not in self.unchecked or (store and self.checked_stores):
            # (a guarded memory needs no check: an access beyond its length faults in its
            # reservation, and engine/exec/faults.py makes that the same trap)
            end = offset + size
            if end < 1 << 31:
                a.lea(RCX, (RAX, None, 1, end))
            else:
                a.mov_ri(RCX, end)
                a.alu_rr("add", RCX, RAX)
            a.alu_rm("cmp", RCX, self.vm(self.offsets.memory_length(memory)))
            a.jcc("a", self.trap(TrapCode.MEMORY_OUT_OF_BOUNDS))
        if memory == 0:
            base = R14
        else:
            base = RDX
            a.load(RDX, self.vm(self.offsets.memory_base(memory)))
        if offset < 1 << 31:
            return (base, RAX, 1, offset)
        a.mov_ri(RCX, offset)
        a.alu_rr("add", RAX, RCX)
        return (base, RAX, 1, 0)

    def m_load(self, m, arg) -> None:
        size, signed, w, fl = arg
        a = self.a
        op = self.address(m, size)
        if fl:
            x = self.alloc(True)
            a.movs_load(x - 16, op, size == 8)
            self.push_entry((_REG, x))
            return
        free = self.free_int
        d = free.pop() if free else self.alloc(False)
        if size == 4 and not signed:
            a.load(d, op, 0)
        elif size == 8:
            a.load(d, op)
        elif size == 4:
            a.movsxd(d, op)
        elif size == 2:
            (a.movsx16 if signed else a.movzx16)(d, op, w if signed else 0)
        else:
            (a.movsx8 if signed else a.movzx8)(d, op, w if signed else 0)
        self.vs.append((_REG, d))           # (push_entry: where the address was)

    def m_store(self, m, size: int) -> None:
        a = self.a
        vs = self.vs                # (pop_entry, inline: a register stays taken until stored)
        e = vs.pop()
        if self.low > len(vs):
            self.low = len(vs)
        kind = e[0]
        v = R11
        if kind == _REG:
            v = e[1]
        elif kind == _CONST:
            a.mov_ri(R11, e[1])
        elif kind == _LOCAL and type(self.homes[e[1]]) is not tuple:
            v = self.homes[e[1]]            # a local's register (it is not popped: read only)
        else:
            a.load(R11, self.operand(e, len(self.vs)))
        op = self.address(m, size, store=True)
        if v >= 16:
            a.movs_store(op, v - 16, size == 8)
        elif size == 8:
            a.store(op, v)
        elif size == 4:
            a.store(op, v, 0)
        elif size == 2:
            a.store16(op, v)
        else:
            a.store8(op, v)
        if kind == _REG:
            self.release(v)

    def m_size(self, memory: int, arg) -> None:
        a = self.a
        a.load(RAX, self.vm(self.offsets.memory_length(memory)))
        a.shift_ri("shr", RAX, 16)
        a.store(self.push(), RAX)

    def m_grow(self, memory: int, arg) -> None:
        self.helper(Helper.MEMORY_GROW, [memory], 1, _I32, False)

    def mem_base(self, reg: int, memory: int) -> None:
        """reg += the base of `memory`."""
        if memory == 0:
            self.a.alu_rr("add", reg, R14)
        else:
            self.a.alu_rm("add", reg, self.vm(self.offsets.memory_base(memory)))

    def bounds(self, reg: int, memory: int) -> None:
        """Trap unless [reg, reg + rcx) is inside `memory` (rax: scratch)."""
        a = self.a
        a.lea(RAX, (reg, RCX, 1, 0))
        a.alu_rm("cmp", RAX, self.vm(self.offsets.memory_length(memory)))
        a.jcc("a", self.trap(TrapCode.MEMORY_OUT_OF_BOUNDS))

    def m_copy(self, imm, arg) -> None:
        dst, src = imm
        a = self.a
        a.load(RDI, self.top(3), 0)
        a.load(RSI, self.top(2), 0)
        a.load(RCX, self.top(1), 0)
        self.height -= 3
        self.bounds(RDI, dst)
        self.bounds(RSI, src)
        self.mem_base(RDI, dst)
        self.mem_base(RSI, src)
        fwd, done = Label(), Label()
        a.alu_rr("cmp", RDI, RSI)
        a.jcc("be", fwd, short=True)
        a.lea(RDI, (RDI, RCX, 1, -1))
        a.lea(RSI, (RSI, RCX, 1, -1))
        a.raw(b"\xfd\xf3\xa4\xfc")          # std; rep movsb; cld
        a.jmp(done, short=True)
        a.bind(fwd)
        a.raw(b"\xf3\xa4")                  # rep movsb
        a.bind(done)

    def m_fill(self, memory: int, arg) -> None:
        a = self.a
        a.load(RDI, self.top(3), 0)
        a.load(RDX, self.top(2), 0)
        a.load(RCX, self.top(1), 0)
        self.height -= 3
        self.bounds(RDI, memory)
        self.mem_base(RDI, memory)
        a.mov_rr(RAX, RDX, 0)
        a.raw(b"\xf3\xaa")                  # rep stosb

    def m_helper(self, imm, arg) -> None:
        h, consts, nargs, result, traps = arg
        self.helper(h, consts(imm), nargs, result, traps)

    # -- tables and references ------------------------------------------------------------------

    def table_entry(self, table: int) -> None:
        """With the index in rax: bounds-check it against table `table`; rcx <- its entries."""
        a = self.a
        a.load(RCX, self.vm(self.offsets.table_def(table)))
        a.alu_rm("cmp", RAX, (RCX, None, 1, V.TABLEDEF_LENGTH))
        a.jcc("ae", self.trap(TrapCode.TABLE_OUT_OF_BOUNDS))
        a.load(RCX, (RCX, None, 1, V.TABLEDEF_BASE))

    def t_get(self, table: int, arg) -> None:
        a = self.a
        a.load(RAX, self.top(), 0)
        self.table_entry(table)
        a.load(RAX, (RCX, RAX, 8, 0))
        a.store(self.top(), RAX)

    def t_set(self, table: int, arg) -> None:
        a = self.a
        a.load(RAX, self.top(2), 0)
        a.load(RDX, self.top(1))
        self.table_entry(table)
        a.store((RCX, RAX, 8, 0), RDX)
        self.height -= 2

    def t_size(self, table: int, arg) -> None:
        a = self.a
        a.load(RCX, self.vm(self.offsets.table_def(table)))
        a.load(RAX, (RCX, None, 1, V.TABLEDEF_LENGTH), 0)
        a.store(self.push(), RAX)

    def r_null(self, imm, arg) -> None:
        _refuse_typed(imm, self.index)
        self.a.mov_mi(self.push(), 0)

    def r_is_null(self, imm, arg) -> None:
        self.a.alu_ri("cmp", self.top(), 0)
        self.set_flag("e")

    def r_func(self, idx: int, arg) -> None:
        a = self.a
        a.load(RAX, self.vm(V.FUNCREFS))
        a.alu_ri("add", RAX, V.FUNCREF_SIZE * idx)
        a.store(self.push(), RAX)



def _build_table() -> dict[int, tuple]:
    C = _Compiler
    t: dict[int, tuple] = {
        Op.UNREACHABLE: (C.c_unreachable, None), Op.NOP: (C.c_nop, None),
        Op.BLOCK: (C.c_block, _BLOCK), Op.LOOP: (C.c_block, _LOOP), Op.IF: (C.c_block, _IF),
        Op.ELSE: (C.c_else, None), Op.END: (C.c_end, None), Op.BR: (C.c_br, None),
        Op.BR_IF: (C.c_br_if, None), Op.BR_TABLE: (C.c_br_table, None),
        Op.RETURN: (C.c_return, None), Op.CALL: (C.c_call, None),
        Op.CALL_INDIRECT: (C.c_call_indirect, None), Op.DROP: (C.c_drop, None),
        Op.SELECT: (C.c_select, None), Op.SELECT_T: (C.c_select_t, None),
        Op.LOCAL_GET: (None, None),      # (run pushes it itself)
        Op.LOCAL_SET: (C.c_local_set, False),
        Op.LOCAL_TEE: (C.c_local_set, True), Op.GLOBAL_GET: (C.c_global_get, None),
        Op.GLOBAL_SET: (C.c_global_set, None),
        Op.TABLE_GET: (C.t_get, None), Op.TABLE_SET: (C.t_set, None),
        Op.TABLE_SIZE: (C.t_size, None),
        Op.MEMORY_SIZE: (C.m_size, None), Op.MEMORY_GROW: (C.m_grow, None),
        Op.MEMORY_COPY: (C.m_copy, None), Op.MEMORY_FILL: (C.m_fill, None),
        Op.I32_CONST: (C.c_const, 0xFFFF_FFFF), Op.I64_CONST: (C.c_const, (1 << 64) - 1),
        Op.F32_CONST: (C.c_const, 0xFFFF_FFFF), Op.F64_CONST: (C.c_const, (1 << 64) - 1),
        Op.REF_NULL: (C.r_null, None), Op.REF_IS_NULL: (C.r_is_null, None),
        Op.REF_FUNC: (C.r_func, None),
        Op.I32_WRAP_I64: (C.i_extend, (0, 0)), Op.I64_EXTEND_I32_U: (C.i_extend, (0, 0)),
        Op.I32_REINTERPRET_F32: (C.c_bits32, None),
        Op.I64_EXTEND_I32_S: (C.i_extend, (32, 1)),
        Op.I32_EXTEND8_S: (C.i_extend, (8, 0)), Op.I32_EXTEND16_S: (C.i_extend, (16, 0)),
        Op.I64_EXTEND8_S: (C.i_extend, (8, 1)), Op.I64_EXTEND16_S: (C.i_extend, (16, 1)),
        Op.I64_EXTEND32_S: (C.i_extend, (32, 1)),
        Op.I64_REINTERPRET_F64: (C.c_reinterpret, None),
        Op.F32_REINTERPRET_I32: (C.c_reinterpret, None),
        Op.F64_REINTERPRET_I64: (C.c_reinterpret, None),
        Op.F32_DEMOTE_F64: (C.f_unary, ("demote", 0)),
        Op.F64_PROMOTE_F32: (C.f_unary, ("promote", 1)),
        Op.MEMORY_INIT: (C.m_helper, (Helper.MEMORY_INIT, lambda i: [i[1], i[0]], 3, None,
                                      True)),
        Op.DATA_DROP: (C.m_helper, (Helper.DATA_DROP, lambda i: [i], 0, None, False)),
        Op.TABLE_INIT: (C.m_helper, (Helper.TABLE_INIT, lambda i: [i[1], i[0]], 3, None,
                                     True)),
        Op.ELEM_DROP: (C.m_helper, (Helper.ELEM_DROP, lambda i: [i], 0, None, False)),
        Op.TABLE_COPY: (C.m_helper, (Helper.TABLE_COPY, lambda i: [i[0], i[1]], 3, None,
                                     True)),
        Op.TABLE_GROW: (C.m_helper, (Helper.TABLE_GROW, lambda i: [i], 2, _I32, False)),
        Op.TABLE_FILL: (C.m_helper, (Helper.TABLE_FILL, lambda i: [i], 3, None, True)),
    }
    loads = {"i32.load": (4, 0, 0, 0), "i64.load": (8, 0, 1, 0), "f32.load": (4, 0, 0, 1),
             "f64.load": (8, 0, 1, 1), "i32.load8_s": (1, 1, 0, 0),
             "i32.load8_u": (1, 0, 0, 0), "i32.load16_s": (2, 1, 0, 0),
             "i32.load16_u": (2, 0, 0, 0), "i64.load8_s": (1, 1, 1, 0),
             "i64.load8_u": (1, 0, 1, 0), "i64.load16_s": (2, 1, 1, 0),
             "i64.load16_u": (2, 0, 1, 0), "i64.load32_s": (4, 1, 1, 0),
             "i64.load32_u": (4, 0, 1, 0)}
    stores = {"i32.store": 4, "i64.store": 8, "f32.store": 4, "f64.store": 8,
              "i32.store8": 1, "i32.store16": 2, "i64.store8": 1, "i64.store16": 2,
              "i64.store32": 4}
    types = {"i32": _I32, "i64": _I64, "f32": _F32, "f64": _F64}
    for code, info in INFO.items():
        name = info.name
        if code >> 24 == 0xFD or code in t:
            continue
        prefix, _, op = name.partition(".")
        if name in loads:
            t[code] = (C.m_load, loads[name])
        elif name in stores:
            t[code] = (C.m_store, stores[name])
        elif prefix in ("i32", "i64"):
            w = int(prefix == "i64")
            if op in _IALU or op == "mul":
                t[code] = (C.i_alu, (_IALU.get(op, "mul"), w))
            elif op in _ISHIFT:
                t[code] = (C.i_shift, (_ISHIFT[op], w))
            elif op in ("div_s", "div_u", "rem_s", "rem_u"):
                t[code] = (C.i_div, (op, w))
            elif op in _ICMP:
                t[code] = (C.i_cmp, (_ICMP[op], w))
            elif op == "eqz":
                t[code] = (C.i_eqz, w)
            elif op in ("clz", "ctz", "popcnt"):
                t[code] = (C.i_bitcount, ({"clz": "lzcnt", "ctz": "tzcnt"}.get(op, op), w))
            elif op.startswith("trunc_sat_f"):
                t[code] = (C.f_trunc_sat, (types[prefix], types[op[10:13]], op.endswith("_s")))
            elif op.startswith("trunc_f"):
                t[code] = (C.f_trunc, (types[prefix], types[op[6:9]], op.endswith("_s")))
        elif prefix in ("f32", "f64"):
            d = int(prefix == "f64")
            if op in _FALU:
                t[code] = (C.f_alu, (_FALU[op], d))
            elif op in ("min", "max"):
                t[code] = (C.f_minmax, (op, d))
            elif op in ("abs", "neg", "copysign"):
                t[code] = (C.f_sign, (op, d))
            elif op == "sqrt" or op in _ROUND:
                t[code] = (C.f_unary, (op, d))
            elif op in ("eq", "ne", "lt", "gt", "le", "ge"):
                t[code] = (C.f_cmp, (op, d))
            elif op.startswith("convert_i"):
                t[code] = (C.f_convert, (d, types[op[8:11]], op.endswith("_s")))
    # (the fast-path handlers work on values where they are, the others on flushed stacks)
    fast = {None, C.c_block, C.c_br_if, C.c_local_set, C.c_global_get, C.c_const,
            C.c_drop, C.c_nop, C.i_alu, C.i_shift, C.i_cmp, C.i_eqz, C.i_extend, C.m_load,
            C.m_store, C.f_alu}
    at = {C.i_cmp, C.i_eqz}
    ends = {C.c_unreachable, C.c_br, C.c_br_table, C.c_return}
    table = {int(k): (fn, arg, _ENDS if fn in ends else _AT if fn in at else
                      0 if fn in fast else _FLUSHES) for k, (fn, arg) in t.items()}
    table[int(Op.LOOP)] = (C.c_block, _LOOP, _AT)
    return table


_NEG = {"e": "ne", "ne": "e", "l": "ge", "ge": "l", "le": "g", "g": "le", "b": "ae",
        "ae": "b", "be": "a", "a": "be", "p": "np", "np": "p", "s": "ns", "ns": "s"}


_TABLE = _build_table()
_LOCAL_GET_OP, _LOCAL_SET_OP = int(Op.LOCAL_GET), int(Op.LOCAL_SET)
_LOCAL_TEE_OP = int(Op.LOCAL_TEE)
_BR_IF_OP = int(Op.BR_IF)
_I32_CONST_OP = int(Op.I32_CONST)
_BLOCK_OP, _LOOP_OP, _IF_OP = int(Op.BLOCK), int(Op.LOOP), int(Op.IF)
_END_OP, _ELSE_OP = int(Op.END), int(Op.ELSE)
