"""Segment and custom-section fields of the text format: `elem` (every element-list form and
table use), `data` (memory use, offset shorthands), the inline segments of `table`/`memory`,
and `(@custom ...)`. A mixin of ModuleParser, which supplies tokens, indices and expressions."""

from __future__ import annotations

from ..wasm.encoder import LAST_SLOT, SECTION_IDS, custom_slot
from ..wasm.module import CustomSection, DataSegment, ElemSegment, Instr, SegmentMode
from ..wasm.opcodes import Op
from ..wasm.types import HeapType, ValType, ref_type
from .instructions import Cursor, FuncContext
from .lexer import Kind, Token
from .sexpr import SList

#: the type of a segment of function indices (3.0: non-null references, as the decoder reads it)
FUNC_INDICES = ref_type(False, HeapType.FUNC)

_END = int(Op.END)


def _is(item, head: str) -> bool:
    return type(item) is SList and item.head() == head


class SegmentFields:
    """elem, data and custom fields (mixed into ModuleParser)."""

    def custom_field(self, field: SList) -> None:
        """(@custom "name" (before|after section|first|last)? "data"*)"""
        items = field.items
        if len(items) < 2:
            raise self.err(field.pos, "expected a custom section name")
        name = self.name(items[1], "a custom section name")
        i = 2
        slot = LAST_SLOT
        if i < len(items) and type(items[i]) is SList:
            place = items[i]
            where = place.head()
            anchor = place.items[1] if len(place.items) == 2 else None
            if (where not in ("before", "after") or type(anchor) is not Token
                    or (anchor.text not in SECTION_IDS and anchor.text not in ("first", "last"))
                    or anchor.text == "datacount"):
                raise self.err(place.pos, "expected (before|after <section name>) placement")
            slot = custom_slot(where, anchor.text)
            i += 1
        data = b"".join(self.string(s, "custom section data") for s in items[i:])
        self.module.customs.append(CustomSection(name, data, 0))
        self.hints.custom_slots.append(slot)

    def _offset(self, node: SList) -> list[Instr]:
        if node.head() == "offset":
            return self.const_expr(Cursor(node.items, 1, node.end))
        out: list[Instr] = []
        self.ip.folded(node, out, FuncContext())
        out.append(Instr(_END, None, node.end))
        return out

    def _elem_indices(self, cur: Cursor) -> list[list[Instr]]:
        items = []
        while not cur.done():
            tok = cur.peek()
            if type(tok) is not Token:
                raise self.err(tok.pos, "unexpected token, expected a function index")
            cur.i += 1
            index = self.index(tok, "func")
            items.append([Instr(int(Op.REF_FUNC), index, tok.pos), Instr(_END, None, tok.pos)])
        return items

    def _elem_exprs(self, cur: Cursor) -> list[list[Instr]]:
        items = []
        while not cur.done():
            node = cur.peek()
            if type(node) is not SList:
                raise self.err(node.pos, f"unexpected token {node.text!r}, expected an element expression")
            cur.i += 1
            if node.head() == "item":
                items.append(self.const_expr(Cursor(node.items, 1, node.end)))
            else:
                out: list[Instr] = []
                self.ip.folded(node, out, FuncContext())
                out.append(Instr(_END, None, node.end))
                items.append(out)
        return items

    def _add_elem(self, seg: ElemSegment, explicit: bool, as_indices: bool, tok: Token | None) -> None:
        index = self._next("elem")
        self._name("elem", tok, index)
        self.module.elems.append(seg)
        self.hints.elem_explicit_table.append(explicit)
        self.hints.elem_as_indices.append(as_indices)

    def _target_and_offset(self, cur: Cursor, kind: str) -> tuple[int, bool, list[Instr] | None]:
        """An active segment's optional target, `(table x)` / `(memory x)` or a bare index,
        and its offset expression: (index, whether it was written, offset or None)."""
        index, explicit, offset = 0, False, None
        item = cur.peek()
        if _is(item, kind):
            if len(item.items) != 2:
                raise self.err(item.pos, f"expected ({kind} <index>)")
            index = self.index(item.items[1], kind)
            explicit = True
            cur.i += 1
        elif type(item) is Token and item.kind in (Kind.NUMBER, Kind.ID):
            index = self.index(item, kind)
            explicit = True
            cur.i += 1
        item = cur.peek()
        if type(item) is SList and not (kind == "table" and _is(item, "ref")):
            offset = self._offset(item)
            cur.i += 1
        elif explicit:
            raise self.err(cur.pos(), f"expected an offset expression after the {kind}")
        return index, explicit, offset

    def elem_field(self, field: SList) -> None:
        cur = Cursor(field.items, 1, field.end)
        tok = self.opt_id(cur)
        mode = SegmentMode.PASSIVE
        table = 0
        explicit = False
        offset = None
        item = cur.peek()
        if type(item) is Token and item.kind is Kind.KEYWORD and item.text == "declare":
            mode = SegmentMode.DECLARATIVE
            cur.i += 1
        else:
            table, explicit, offset = self._target_and_offset(cur, "table")
            if offset is not None:
                mode = SegmentMode.ACTIVE
        item = cur.peek()
        typed = type(item) is SList and item.head() == "ref"     # (ref null? ht)
        if (type(item) is Token and item.kind is Kind.KEYWORD) or typed:
            cur.i += 1
            if not typed and item.text == "func":
                items = self._elem_indices(cur)
                self._add_elem(ElemSegment(mode, FUNC_INDICES, items, table, offset), explicit, True, tok)
                return
            t = self.reftype(item)
            items = self._elem_exprs(cur)
            self._add_elem(ElemSegment(mode, t, items, table, offset), explicit, False, tok)
            return
        if mode is not SegmentMode.ACTIVE:
            raise self.err(cur.pos(), "unexpected token, expected 'func' or a reference type in the element segment")
        items = self._elem_indices(cur)
        self._add_elem(ElemSegment(mode, FUNC_INDICES, items, table, offset), explicit, True, tok)

    def data_field(self, field: SList) -> None:
        cur = Cursor(field.items, 1, field.end)
        tok = self.opt_id(cur)
        memory, _, offset = self._target_and_offset(cur, "memory")
        data = b"".join(self.string(s, "data") for s in cur.items[cur.i:])
        mode = SegmentMode.ACTIVE if offset is not None else SegmentMode.PASSIVE
        index = self._next("data")
        self._name("data", tok, index)
        self.module.datas.append(DataSegment(mode, data, memory, offset))
