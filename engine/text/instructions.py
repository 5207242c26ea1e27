"""Instruction parsing: flat and folded instructions, immediates, block types and labels.
Produces engine.wasm.module.Instr lists; index spaces and type uses come from the module parser."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..wasm.module import Instr, MemArg
from ..wasm.opcodes import BY_NAME, Catch, CatchKind, Imm, Op, OpInfo, TryTable
from ..wasm.types import ValType, ref_type
from .lexer import Kind, Token
from .numbers import parse_float, parse_int, parse_uint
from .sexpr import SList

if TYPE_CHECKING:  # pragma: no cover
    from .parser import ModuleParser

VALTYPES = {"i32": ValType.I32, "i64": ValType.I64, "f32": ValType.F32, "f64": ValType.F64,
            "v128": ValType.V128, "funcref": ValType.FUNCREF, "externref": ValType.EXTERNREF,
            "exnref": ValType.EXNREF}

#: try_table's catch clauses by their keyword
_CATCH_CLAUSES = {"catch": CatchKind.CATCH, "catch_ref": CatchKind.CATCH_REF,
                  "catch_all": CatchKind.CATCH_ALL, "catch_all_ref": CatchKind.CATCH_ALL_REF}
#: list heads that are clauses of definitions, never instructions: out-of-order declarations
#: (and catch clauses outside a try_table)
_NOT_INSTRUCTIONS = frozenset({"type", "param", "result", "local", "then", "else", "export",
                               "import", *_CATCH_CLAUSES})
_BLOCK_OPS = {"block": Op.BLOCK, "loop": Op.LOOP, "if": Op.IF, "try_table": Op.TRY_TABLE}
_TRY_TABLE = int(Op.TRY_TABLE)
_END = int(Op.END)
_ELSE = int(Op.ELSE)
_SELECT = int(Op.SELECT)
_SELECT_T = int(Op.SELECT_T)

# natural alignment (log2 of bytes) of memory instructions, from their mnemonic
_WIDTH = re.compile(r"(?:load|store)(\d+)(x\d+)?")
_TYPE_BYTES = {"i32": 4, "i64": 8, "f32": 4, "f64": 8, "v128": 16}
_LANE_SHAPES = {"i8x16": (16, 8, False), "i16x8": (8, 16, False), "i32x4": (4, 32, False),
                "i64x2": (2, 64, False), "f32x4": (4, 32, True), "f64x2": (2, 64, True)}


def natural_align(name: str) -> int:
    """log2 of the natural alignment of a load/store mnemonic."""
    ty, _, rest = name.partition(".")
    m = _WIDTH.search(rest)
    if m is None:
        size = _TYPE_BYTES[ty]
    elif m.group(2):
        size = 8
    else:
        size = int(m.group(1)) // 8
    return size.bit_length() - 1


@dataclass(slots=True)
class FuncContext:
    """What a function body's instructions can refer to: local names and the label stack."""

    locals: dict[str, int] = field(default_factory=dict)
    labels: list[str | None] = field(default_factory=list)
    label_count: int = 0
    label_names: dict[int, str] = field(default_factory=dict)


class Cursor:
    """A position in a list of items."""

    __slots__ = ("items", "i", "end")

    def __init__(self, items: list, i: int, end: int) -> None:
        self.items = items
        self.i = i
        self.end = end   # offset used for "unexpected end" errors

    def peek(self, ahead: int = 0):
        i = self.i + ahead
        return self.items[i] if i < len(self.items) else None

    def pos(self) -> int:
        item = self.peek()
        return item.pos if item is not None else self.end

    def done(self) -> bool:
        return self.i >= len(self.items)


class InstrParser:
    """Parses instruction sequences for one module (shares its index spaces and type uses)."""

    def __init__(self, mp: ModuleParser) -> None:
        self.mp = mp
        self.err = mp.err
        self._natural: dict[str, int] = {}

    # -- sequences ------------------------------------------------------------------------------

    def seq(self, cur: Cursor, out: list[Instr], ctx: FuncContext, in_block: bool = False) -> str | None:
        """Parse instructions until the cursor ends or, inside a flat block, an `end`/`else`
        keyword (consumed, and returned)."""
        items = cur.items
        n = len(items)
        while cur.i < n:
            item = items[cur.i]
            if type(item) is SList:
                cur.i += 1
                self.folded(item, out, ctx)
                continue
            if item.kind is not Kind.KEYWORD:
                raise self.err(item.pos, f"unexpected token {item.text!r}, expected an instruction")
            word = item.text
            cur.i += 1
            if word == "end" or word == "else":
                if in_block:
                    return word
                raise self.err(item.pos, f"unexpected token {word!r}")
            block_op = _BLOCK_OPS.get(word)
            if block_op is not None:
                self.flat_block(block_op, item, cur, out, ctx)
                continue
            self.plain(word, item.pos, cur, out, ctx)
        return None

    def plain(self, word: str, pos: int, cur: Cursor, out: list[Instr], ctx: FuncContext) -> None:
        info = BY_NAME.get(word)
        if info is None:
            raise self.err(pos, f"unknown operator {word}")
        kind = info.imm
        if info.code == _SELECT:
            types = self.select_results(cur)
            if types is None:
                out.append(Instr(_SELECT, None, pos))
            else:
                out.append(Instr(_SELECT_T, types, pos))
            return
        if kind is Imm.NONE:
            out.append(Instr(info.code, None, pos))
            return
        out.append(Instr(info.code, self.immediate(info, cur, ctx), pos))

    def flat_block(self, op: int, tok: Token, cur: Cursor, out: list[Instr], ctx: FuncContext) -> None:
        label = self.opt_id(cur)
        bt = self.blocktype(cur)
        if op == _TRY_TABLE:
            bt = TryTable(bt, self.catches(cur, ctx))
        out.append(Instr(op, bt, tok.pos))
        self.push_label(ctx, label)
        stop = self.seq(cur, out, ctx, in_block=True)
        if stop == "else":
            if op != Op.IF:
                raise self.err(cur.items[cur.i - 1].pos, "unexpected token 'else'")
            else_pos = cur.items[cur.i - 1].pos
            self.check_end_label(cur, label)
            out.append(Instr(_ELSE, None, else_pos))
            stop = self.seq(cur, out, ctx, in_block=True)
            if stop == "else":
                raise self.err(cur.items[cur.i - 1].pos, "unexpected token 'else'")
        if stop != "end":
            raise self.err(cur.end, f"expected 'end' for the {tok.text!r} at {self.mp.src.where(tok.pos)}")
        end_pos = cur.items[cur.i - 1].pos
        self.check_end_label(cur, label)
        ctx.labels.pop()
        out.append(Instr(_END, None, end_pos))

    def check_end_label(self, cur: Cursor, label: str | None) -> None:
        item = cur.peek()
        if type(item) is Token and item.kind is Kind.ID:
            if item.value != label:
                raise self.err(item.pos, f"mismatching label ${item.value}")
            cur.i += 1

    def push_label(self, ctx: FuncContext, label: str | None) -> None:
        if label is not None:
            ctx.label_names[ctx.label_count] = label
        ctx.label_count += 1
        ctx.labels.append(label)

    def folded(self, node: SList, out: list[Instr], ctx: FuncContext) -> None:
        items = node.items
        head = items[0] if items else None
        if type(head) is not Token or head.kind is not Kind.KEYWORD:
            raise self.err(node.pos if head is None else head.pos, "unexpected token, expected an instruction")
        word = head.text
        if word in _NOT_INSTRUCTIONS:
            raise self.err(head.pos, f"unexpected token ({word} ...) in place of an instruction")
        cur = Cursor(items, 1, node.end)
        block_op = _BLOCK_OPS.get(word)
        if block_op is None:
            if word in ("end", "else", "then"):
                raise self.err(head.pos, f"unexpected token {word!r}")
            pending: list[Instr] = []
            self.plain(word, head.pos, cur, pending, ctx)
            n = len(items)
            while cur.i < n:
                arg = items[cur.i]
                if type(arg) is not SList:
                    raise self.err(arg.pos, f"unexpected token {arg.text!r}")
                cur.i += 1
                self.folded(arg, out, ctx)
            out.extend(pending)
            return
        label = self.opt_id(cur)
        bt = self.blocktype(cur)
        if block_op == _TRY_TABLE:
            bt = TryTable(bt, self.catches(cur, ctx))
        if block_op != Op.IF:
            out.append(Instr(block_op, bt, head.pos))
            self.push_label(ctx, label)
            self.seq(cur, out, ctx)
            ctx.labels.pop()
            out.append(Instr(_END, None, node.end))
            return
        # (if label bt folded-condition* (then instr*) (else instr*)?)
        n = len(items)
        while cur.i < n:
            arg = items[cur.i]
            if type(arg) is SList and arg.head() == "then":
                break
            if type(arg) is not SList:
                raise self.err(arg.pos, f"unexpected token {arg.text!r}, expected (then ...)")
            cur.i += 1
            self.folded(arg, out, ctx)
        if cur.i >= n:
            raise self.err(node.end, "expected (then ...) in folded if")
        then = items[cur.i]
        cur.i += 1
        out.append(Instr(Op.IF, bt, head.pos))
        self.push_label(ctx, label)
        self.seq(Cursor(then.items, 1, then.end), out, ctx)
        if cur.i < n:
            other = items[cur.i]
            if type(other) is not SList or other.head() != "else":
                raise self.err(other.pos, "unexpected token, expected (else ...)")
            cur.i += 1
            out.append(Instr(_ELSE, None, other.pos))
            self.seq(Cursor(other.items, 1, other.end), out, ctx)
        if cur.i < n:
            raise self.err(items[cur.i].pos, "unexpected token after (else ...)")
        ctx.labels.pop()
        out.append(Instr(_END, None, node.end))

    # -- pieces ---------------------------------------------------------------------------------

    def opt_id(self, cur: Cursor) -> str | None:
        item = cur.peek()
        if type(item) is Token and item.kind is Kind.ID:
            cur.i += 1
            return item.value
        return None

    def blocktype(self, cur: Cursor):
        """None (no results), a ValType (one result), or a type index."""
        item = cur.peek()
        if type(item) is not SList or item.head() not in ("type", "param", "result"):
            return None
        pos = item.pos
        ref, params, results, _ = self.mp.typeuse_parts(cur, allow_names=False)
        if ref is None and not params and len(results) <= 1:
            return results[0] if results else None
        return self.mp.resolve_typeuse(ref, params, results, pos)

    def catches(self, cur: Cursor, ctx: FuncContext) -> tuple[Catch, ...]:
        """try_table's clauses: (catch x l) (catch_ref x l) (catch_all l) (catch_all_ref l).
        Their labels are resolved outside the try_table (its own label is not in scope; see
        opcodes.Catch), so this runs before the try_table's label is pushed."""
        out: list[Catch] = []
        while True:
            item = cur.peek()
            kind = _CATCH_CLAUSES.get(item.head()) if type(item) is SList else None
            if kind is None:
                return tuple(out)
            cur.i += 1
            args = item.items[1:]
            if len(args) != (2 if kind.has_tag else 1) or any(type(a) is not Token for a in args):
                form = "a tag and a label" if kind.has_tag else "a label"
                raise self.err(item.pos, f"unexpected token: ({item.head()} ...) takes {form}")
            tag = self.mp.index(args[0], "tag") if kind.has_tag else None
            out.append(Catch(kind, tag, self.label_of(args[-1], ctx)))

    def select_results(self, cur: Cursor) -> tuple[ValType, ...] | None:
        types: list[ValType] | None = None
        while True:
            item = cur.peek()
            if type(item) is SList and item.head() == "result":
                cur.i += 1
                if types is None:
                    types = []
                types.extend(self.mp.valtypes_of(item))
            else:
                return tuple(types) if types is not None else None

    def token(self, cur: Cursor, what: str) -> Token:
        item = cur.peek()
        if type(item) is not Token:
            raise self.err(cur.pos(), f"unexpected token, expected {what}")
        cur.i += 1
        return item

    def opt_index_token(self, cur: Cursor) -> Token | None:
        item = cur.peek()
        if type(item) is Token and (item.kind is Kind.ID or item.kind is Kind.NUMBER):
            cur.i += 1
            return item
        return None

    def label(self, cur: Cursor, ctx: FuncContext) -> int:
        tok = self.token(cur, "a label")
        return self.label_of(tok, ctx)

    def label_of(self, tok: Token, ctx: FuncContext) -> int:
        if tok.kind is Kind.ID:
            labels = ctx.labels
            for depth in range(len(labels) - 1, -1, -1):
                if labels[depth] == tok.value:
                    return len(labels) - 1 - depth
            raise self.err(tok.pos, f"unknown label ${tok.value}")
        if tok.kind is Kind.NUMBER:
            return self.mp.u32(tok)
        raise self.err(tok.pos, f"unexpected token {tok.text!r}, expected a label")

    def memarg(self, cur: Cursor, name: str, lane: bool = False) -> MemArg:
        """`memidx? offset=? align=?`; with `lane`, a lone index after it is the lane's, not
        the memory's."""
        offset = 0
        align = self._natural.get(name)
        if align is None:
            align = self._natural[name] = natural_align(name)
        memory = 0
        item = cur.peek()
        lone_lane = lane and type(item) is Token and item.kind is Kind.NUMBER and not (
            type(nxt := cur.peek(1)) is Token and (nxt.kind is Kind.NUMBER or
                                                  nxt.text.startswith(("offset=", "align="))))
        tok = None if lone_lane else self.opt_index_token(cur)
        if tok is not None:                 # multi-memory: the memory, by index or $name
            memory = self.mp.index(tok, "memory")
        item = cur.peek()
        if type(item) is Token and item.kind is Kind.KEYWORD and item.text.startswith("offset="):
            cur.i += 1
            # a u64 in WebAssembly 3.0's text format (memory64; the validator bounds it by the
            # memory's address type), a u32 in 2.0's (a larger one is malformed there)
            offset = self.mp.num(parse_uint, item.text[7:], self.mp.size_bits, item.pos)
            item = cur.peek()
        if type(item) is Token and item.kind is Kind.KEYWORD and item.text.startswith("align="):
            cur.i += 1
            value = self.mp.num(parse_uint, item.text[6:], self.mp.size_bits, item.pos)
            if value == 0 or value & (value - 1):
                raise self.err(item.pos, "alignment must be a power of two")
            align = value.bit_length() - 1
        return MemArg(align, offset, memory)

    def immediate(self, info: OpInfo, cur: Cursor, ctx: FuncContext):
        kind = info.imm
        mp = self.mp
        if kind is Imm.I32:
            tok = self.token(cur, "an i32 literal")
            return mp.num(parse_int, tok.text, 32, tok.pos, tok)
        if kind is Imm.I64:
            tok = self.token(cur, "an i64 literal")
            return mp.num(parse_int, tok.text, 64, tok.pos, tok)
        if kind is Imm.F32:
            tok = self.token(cur, "an f32 literal")
            return mp.num(parse_float, tok.text, 32, tok.pos, tok)
        if kind is Imm.F64:
            tok = self.token(cur, "an f64 literal")
            return mp.num(parse_float, tok.text, 64, tok.pos, tok)
        if kind is Imm.LOCAL:
            tok = self.token(cur, "a local index")
            if tok.kind is Kind.ID:
                index = ctx.locals.get(tok.value)
                if index is None:
                    raise self.err(tok.pos, f"unknown local ${tok.value}")
                return index
            return mp.u32(tok)
        if kind is Imm.MEMARG:
            return self.memarg(cur, info.name)
        if kind is Imm.LABEL:
            return self.label(cur, ctx)
        if kind is Imm.FUNC:
            return mp.index(self.token(cur, "a function index"), "func")
        if kind is Imm.TYPE:
            return mp.index(self.token(cur, "a type index"), "type")
        if kind is Imm.GLOBAL:
            return mp.index(self.token(cur, "a global index"), "global")
        if kind is Imm.TAG:
            return mp.index(self.token(cur, "a tag index"), "tag")
        if kind is Imm.BLOCKTYPE:  # pragma: no cover - handled by the block parsers
            return self.blocktype(cur)
        if kind is Imm.BR_TABLE:
            labels = []
            while True:
                item = cur.peek()
                if type(item) is Token and (item.kind is Kind.ID or item.kind is Kind.NUMBER):
                    cur.i += 1
                    labels.append(self.label_of(item, ctx))
                else:
                    break
            if not labels:
                raise self.err(cur.pos(), "expected a label")
            return tuple(labels[:-1]), labels[-1]
        if kind is Imm.CALL_INDIRECT:
            tok = self.opt_index_token(cur)
            table = mp.index(tok, "table") if tok is not None else 0
            pos = cur.pos()
            ref, params, results, _ = mp.typeuse_parts(cur, allow_names=False)
            return mp.resolve_typeuse(ref, params, results, pos), table
        if kind is Imm.TABLE:
            tok = self.opt_index_token(cur)
            return mp.index(tok, "table") if tok is not None else 0
        if kind is Imm.MEMORY:
            tok = self.opt_index_token(cur)
            return mp.index(tok, "memory") if tok is not None else 0
        if kind is Imm.REFTYPE:
            return ref_type(True, mp.heaptype(self.token(cur, "a heap type")))
        if kind is Imm.DATA:
            return mp.index(self.token(cur, "a data index"), "data")
        if kind is Imm.ELEM:
            return mp.index(self.token(cur, "an elem index"), "elem")
        if kind is Imm.MEMORY_INIT or kind is Imm.TABLE_INIT:
            first = self.opt_index_token(cur)
            second = self.opt_index_token(cur)
            space, other = ("data", "memory") if kind is Imm.MEMORY_INIT else ("elem", "table")
            if first is None:
                raise self.err(cur.pos(), f"expected a {space} index")
            if second is None:
                return mp.index(first, space), 0
            return mp.index(second, space), mp.index(first, other)
        if kind is Imm.MEMORY_COPY or kind is Imm.TABLE_COPY:
            space = "memory" if kind is Imm.MEMORY_COPY else "table"
            first = self.opt_index_token(cur)
            if first is None:
                return 0, 0
            second = self.opt_index_token(cur)
            if second is None:
                raise self.err(cur.pos(), f"expected a second {space} index")
            return mp.index(first, space), mp.index(second, space)
        if kind is Imm.V128:
            return self.v128_const(cur)
        if kind is Imm.SHUFFLE:
            lanes = bytearray()
            for _ in range(16):
                tok = self.token(cur, "a lane index")
                lanes.append(mp.num(parse_uint, tok.text, 8, tok.pos, tok))
            return bytes(lanes)
        if kind is Imm.LANE:
            tok = self.token(cur, "a lane index")
            return mp.num(parse_uint, tok.text, 8, tok.pos, tok)
        if kind is Imm.MEMARG_LANE:
            memarg = self.memarg(cur, info.name, lane=True)
            tok = self.token(cur, "a lane index")
            return memarg, mp.num(parse_uint, tok.text, 8, tok.pos, tok)
        raise self.err(cur.pos(), f"unsupported immediate kind {kind.value}")  # pragma: no cover

    def v128_const(self, cur: Cursor) -> bytes:
        shape_tok = self.token(cur, "a v128 lane shape")
        shape = _LANE_SHAPES.get(shape_tok.text)
        if shape is None:
            raise self.err(shape_tok.pos, f"unexpected token {shape_tok.text!r}, expected a lane shape")
        count, width, is_float = shape
        out = bytearray()
        for _ in range(count):
            tok = self.token(cur, f"a {shape_tok.text} lane value")
            if is_float:
                bits = self.mp.num(parse_float, tok.text, width, tok.pos, tok)
            else:
                bits = self.mp.num(parse_int, tok.text, width, tok.pos, tok) & ((1 << width) - 1)
            out += bits.to_bytes(width // 8, "little")
        return bytes(out)
