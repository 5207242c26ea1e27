"""On-stack replacement entries: a function body rewritten so that it starts at one of its
loops, for tiered compilation (engine.exec.lazy) to move an activation that is hot in its
baseline code, at that loop's header, into optimised code.

The entry is an ordinary wasm function body: its parameters are every local of the original
function (its parameters, then its declared locals) with their values at the loop header, it
returns what the original returns, and it declares one more local, a flag, 1 on entry. Every
run of instructions that leads from the start of an enclosing construct (or of the function)
to the next construct on the way to the loop is guarded by the flag,

    local.get $flag
    if            ;; [] -> [] (or [] -> [i32] when the next construct is an `if`)
      i32.const 1 ;; only before an `if`: its arm that holds the loop (1 then, 0 else)
    else
      ...the run, its branch depths past the guard one deeper...
    end

and the loop's body clears the flag first. So the entry runs no instruction before the loop,
and every later pass through an enclosing loop's body runs that body as before. Nothing else
changes: the structure, and so every branch out of the loop, is the original's.

This needs an empty operand stack at the loop and no block parameters in the constructs
around it (what C compilers produce); `osr_body` returns None otherwise."""

from __future__ import annotations

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


class _Open:
    """A construct open at some point: where it starts, and whether its `else` was seen."""

    __slots__ = ("pos", "in_else")

    def __init__(self, pos: int) -> None:
        self.pos = pos
        self.in_else = False


def enclosing(body: list[Instr], loop: int) -> list[_Open] | None:
    """The constructs open at position `loop` (outermost first), or None if it is not a
    `loop` instruction."""
    if not 0 <= loop < len(body) or body[loop].op != _LOOP:
        return None
    stack: list[_Open] = []
    for pos in range(loop):
        op = body[pos].op
        if op in _OPENS:
            stack.append(_Open(pos))
        elif op == _ELSE:
            stack[-1].in_else = True
        elif op == _END:
            stack.pop()
    return stack


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


def _guarded(run: list[Instr], flag: int, cond: int | None, offset: int) -> list[Instr]:
    """`run` behind the flag (see the module docstring); `cond`: the `if` condition the
    entry takes instead of the run's last value, None when no `if` follows."""
    out = [Instr(int(Op.LOCAL_GET), flag, offset),
           Instr(_IF, None if cond is None else ValType.I32, offset)]
    if cond is not None:
        out.append(Instr(int(Op.I32_CONST), cond, offset))
    out.append(Instr(_ELSE, None, offset))
    nesting = 0
    for ins in run:
        out.append(_deeper(ins, nesting))
        if ins.op in _OPENS:
            nesting += 1
        elif ins.op == _END:
            nesting -= 1
    out.append(Instr(_END, None, offset))
    return out


def osr_body(body: list[Instr], loop: int, flag: int, types: Sequence[FuncType]
             ) -> list[Instr] | None:
    """The entry at the loop at position `loop` of `body` (see the module docstring), the
    flag being local `flag` (one past the original's locals), or None when the loop or a
    construct around it has block parameters (`types`: the module's, for block types). The caller guarantees the operand stack is
    empty at the loop (the baseline tier knows its height there)."""
    opens = enclosing(body, loop)
    if opens is None:
        return None
    for o in (*opens, _Open(loop)):
        imm = body[o.pos].imm
        blocktype = imm.blocktype if body[o.pos].op == _TRY_TABLE else imm  # type: ignore
        if block_signature(types, blocktype)[0]:
            return None
    offset = body[loop].offset
    out = [Instr(int(Op.I32_CONST), 1, offset), Instr(int(Op.LOCAL_SET), flag, offset)]
    start = 0
    for k, o in enumerate((*opens, _Open(loop))):
        # the run before construct o: from the start of the enclosing one (or its else)
        run_start = start
        if k:
            parent = opens[k - 1]
            if parent.in_else:
                run_start = _else_of(body, parent.pos, o.pos) + 1
        out.extend(body[start:run_start])       # the enclosing one's then-arm, kept as is
        run = body[run_start:o.pos]
        if body[o.pos].op == _IF:
            cond = 0 if o.in_else else 1
            out.extend(_guarded(run, flag, cond, offset))
        elif run:
            out.extend(_guarded(run, flag, None, offset))
        out.append(body[o.pos])
        start = o.pos + 1
    out += [Instr(int(Op.I32_CONST), 0, offset), Instr(int(Op.LOCAL_SET), flag, offset)]
    out.extend(body[start:])
    return out


def _else_of(body: list[Instr], if_pos: int, before: int) -> int:
    """The position of the `else` of the `if` at `if_pos` (it comes before `before`)."""
    depth = 0
    for pos in range(if_pos + 1, before):
        op = body[pos].op
        if op in _OPENS:
            depth += 1
        elif op == _END:
            depth -= 1
        elif op == _ELSE and depth == 0:
            return pos
    raise ValueError(f"no else of the if at {if_pos} before {before}")
