"""On-stack replacement entries: a function body rewritten so that it can start at any of
some of its loops, for tiered compilation (engine.exec.lazy) to move an activation that is hot
in its baseline code, at one of those loops' headers, into optimised code.

The entry is an ordinary wasm function body. Its parameters are every local of the original
function (its parameters, then its declared locals) with their values at the loop header,
then a selector: the loop's number (the targets are numbered 1, 2, ... in body order). It
returns what the original returns, and declares one more local (a condition, below). At every
level of nesting, the runs of instructions that come before a construct holding a target are
guarded by the selector,

    local.get $sel  i32.const lo  i32.ge_u   ;; lo: the first target after the run
    if
      ;; before an `if` holding targets: the arm to take, into $cond
    else
      ...the run (its branch depths past the guard one deeper; before such an `if`, its
         condition into $cond)...
    end

so the entry runs no instruction on the way to the selected loop, and clears the selector
just before that loop (each target loop is preceded by that clearing, run once per entry
into the loop, not per iteration), after which every guard runs what it guards: later passes through the
enclosing loops run their bodies as before. Nothing else changes: the structure, and so every
branch, is the original's.

A target needs an empty operand stack at its loop (the caller, the baseline tier, knows the
height there) and no block parameters in the constructs around it; `osr_body` leaves out the
targets that have them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..wasm.module import Instr
from ..wasm.opcodes import INFO, Imm, Op, TryTable
from ..wasm.types import FuncType, ValType
from ..wasm.validator import block_signature

_BLOCK, _LOOP, _IF, _TRY_TABLE = int(Op.BLOCK), int(Op.LOOP), int(Op.IF), int(Op.TRY_TABLE)
_OPENS = frozenset({_BLOCK, _LOOP, _IF, _TRY_TABLE})
_ELSE, _END = int(Op.ELSE), int(Op.END)
_BR_TABLE = int(Op.BR_TABLE)
_LABEL_OPS = frozenset(code for code, info in INFO.items() if info.imm is Imm.LABEL)
_LOCAL_GET, _LOCAL_SET = int(Op.LOCAL_GET), int(Op.LOCAL_SET)
_I32_CONST, _I32_GE_U, _I32_LE_U = int(Op.I32_CONST), int(Op.I32_GE_U), int(Op.I32_LE_U)
_I32_EQ, _SELECT = int(Op.I32_EQ), int(Op.SELECT)


@dataclass(slots=True, frozen=True)
class OsrBody:
    """An entry: its body, and the number (the selector's value) of each loop it can start
    at, by the loop's body position."""

    body: list[Instr]
    targets: dict[int, int]


class _Shape:
    """Where each construct of a body ends (and where an `if` has its `else`)."""

    def __init__(self, body: list[Instr]) -> None:
        self.end: dict[int, int] = {}
        self.else_: dict[int, int] = {}
        self.parent: dict[int, int] = {}        # construct -> the one around it (-1: none)
        stack: list[int] = []
        for pos, ins in enumerate(body):
            op = ins.op
            if op in _OPENS:
                self.parent[pos] = stack[-1] if stack else -1
                stack.append(pos)
            elif op == _ELSE:
                self.else_[stack[-1]] = pos
            elif op == _END and stack:
                self.end[stack.pop()] = pos


def osr_targets(body: list[Instr], loops: Sequence[int], types: Sequence[FuncType]
                ) -> dict[int, int]:
    """The loops among `loops` (body positions) an entry can start at, each with its number
    (the selector's value); `types`: the module's, for block types."""
    shape = _Shape(body)
    ok = [p for p in sorted(set(loops)) if _enterable(body, shape, p, types)]
    return {p: k + 1 for k, p in enumerate(ok)}


def osr_body(body: list[Instr], loops: Sequence[int], nlocals: int,
             types: Sequence[FuncType]) -> OsrBody | None:
    """The entry that can start at the loops at body positions `loops` (see the module
    docstring) of a function with `nlocals` locals, or None when none of them can be one
    (block parameters around each; `types`: the module's, for block types)."""
    targets = osr_targets(body, loops, types)
    if not targets:
        return None
    rw = _Rewriter(body, _Shape(body), targets, nlocals, nlocals + 1)
    out = rw.seq(0, len(body) - 1)          # the body, but its final `end`
    out.append(body[-1])
    return OsrBody(out, targets)


def _enterable(body: list[Instr], shape: _Shape, loop: int, types: Sequence[FuncType]) -> bool:
    if not 0 <= loop < len(body) or body[loop].op != _LOOP or loop not in shape.end:
        return False
    pos = loop
    while pos >= 0:                         # the loop and every construct around it
        imm = body[pos].imm
        blocktype = imm.blocktype if body[pos].op == _TRY_TABLE else imm  # type: ignore
        if block_signature(types, blocktype)[0]:
            return False
        pos = shape.parent[pos]
    return True


class _Rewriter:
    def __init__(self, body: list[Instr], shape: _Shape, targets: dict[int, int],
                 sel: int, cond: int) -> None:
        self.body, self.shape, self.targets = body, shape, targets
        self.sel, self.cond = sel, cond
        self.ordered = sorted(targets)
        self.offset = body[0].offset if body else 0

    def _inside(self, start: int, end: int) -> list[int]:
        """The target numbers at positions in [start, end]."""
        return [self.targets[p] for p in self.ordered if start <= p <= end]

    def seq(self, start: int, stop: int) -> list[Instr]:
        """Body positions [start, stop) (a run of whole items at one level), rewritten."""
        body, shape = self.body, self.shape
        holders: list[int] = []             # the constructs among the items that hold targets
        pos = start
        while pos < stop:
            if body[pos].op in _OPENS:
                end = shape.end[pos]
                if self._inside(pos, end):
                    holders.append(pos)
                pos = end + 1
            else:
                pos += 1
        if not holders:
            return body[start:stop]
        out: list[Instr] = []
        run_start = start
        previous_if = False                 # the last holder is an `if`: $cond opens it
        for k, holder in enumerate(holders):
            lo = self._inside(holder, self.shape.end[holder])[0]
            group = self._holder(holders[k - 1]) if k else []
            if previous_if:
                group = [self._get(self.cond), *group]
            group += body[run_start:holder]
            is_if = body[holder].op == _IF
            if is_if:                       # the run's last value is the `if`'s condition
                group.append(self._set(self.cond))
            out += self._guard(group, lo, self._arm(holder) if is_if else None)
            previous_if = is_if
            run_start = self.shape.end[holder] + 1
        tail = self._holder(holders[-1])
        if previous_if:
            tail = [self._get(self.cond), *tail]
        return out + tail + body[run_start:stop]

    def _holder(self, pos: int) -> list[Instr]:
        """The construct at `pos` (it holds targets), rewritten; the entry clears the
        selector as it arrives at a target loop, before the loop (not in it: its iterations
        run nothing more than the original's)."""
        body, end = self.body, self.shape.end[pos]
        out = []
        if pos in self.targets:
            t = self.targets[pos]
            out += [self._const(0), self._get(self.sel), self._get(self.sel), self._const(t),
                    Instr(_I32_EQ, None, self.offset), Instr(_SELECT, None, self.offset),
                    self._set(self.sel)]
        out.append(body[pos])
        if body[pos].op == _IF and pos in self.shape.else_:
            middle = self.shape.else_[pos]
            out += self.seq(pos + 1, middle)
            out.append(body[middle])
            out += self.seq(middle + 1, end)
        else:
            out += self.seq(pos + 1, end)
        out.append(body[end])
        return out

    def _arm(self, pos: int) -> int:
        """For the `if` at `pos`: the highest target number in its then-arm (a selector at
        most that takes it), 0 when there is none there."""
        middle = self.shape.else_.get(pos, self.shape.end[pos])
        then = self._inside(pos, middle)
        return then[-1] if then else 0

    def _guard(self, group: list[Instr], lo: int, then_max: int | None) -> list[Instr]:
        """`group` run unless the selector is `lo` or more (see the module docstring);
        `then_max` given: the selector chooses the next `if`'s arm into $cond meanwhile."""
        if not group:
            return []
        out = [self._get(self.sel), self._const(lo), Instr(_I32_GE_U, None, self.offset),
               Instr(_IF, None, self.offset)]
        if then_max is not None:
            out += [self._get(self.sel), self._const(then_max),
                    Instr(_I32_LE_U, None, self.offset), self._set(self.cond)]
        out.append(Instr(_ELSE, None, self.offset))
        nesting = 0
        for ins in group:
            out.append(_deeper(ins, nesting))
            if ins.op in _OPENS:
                nesting += 1
            elif ins.op == _END:
                nesting -= 1
        out.append(Instr(_END, None, self.offset))
        return out

    def _get(self, local: int) -> Instr:
        return Instr(_LOCAL_GET, local, self.offset)

    def _set(self, local: int) -> Instr:
        return Instr(_LOCAL_SET, local, self.offset)

    def _const(self, value: int) -> Instr:
        return Instr(_I32_CONST, value, self.offset)


def _deeper(ins: Instr, nesting: int) -> Instr:
    """`ins` with every branch depth that leaves a run nested `nesting` deep inside it one
    deeper (the run is wrapped in one more construct)."""
    op, imm = ins.op, ins.imm
    if op in _LABEL_OPS:
        return Instr(op, imm + 1 if imm >= nesting else imm, ins.offset)   # type: ignore
    if op == _BR_TABLE:
        labels, default = imm                                               # type: ignore
        return Instr(op, (tuple(d + 1 if d >= nesting else d for d in labels),
                          default + 1 if default >= nesting else default), ins.offset)
    if op == _TRY_TABLE:        # catch labels are resolved outside the try_table itself
        catches = tuple(type(c)(c.kind, c.tag, c.label + 1) if c.label >= nesting else c
                        for c in imm.catches)                              # type: ignore
        return Instr(op, TryTable(imm.blocktype, catches), ins.offset)      # type: ignore
    return ins


#: the selector's and the condition's type
SELECTOR_TYPE = ValType.I32
