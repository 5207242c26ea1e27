"""The module parser of the text format: module fields, every abbreviation, symbolic
identifiers and type uses, producing a WasmModule (plus names and encoding hints) and its
binary encoding."""

from __future__ import annotations

import gc
import sys
import threading
from dataclasses import dataclass

from ..config import Features
from ..errors import MalformedError, UnsupportedError
from ..wasm.encoder import EncodeHints, NameMaps, encode_module
from ..wasm.module import (DataSegment, ElemSegment, Export, FuncBody, Global, Import, Instr,
                           SegmentMode, WasmModule)
from ..wasm.opcodes import Op
from ..wasm.types import (GC_HEAP_CODES, ExternKind, FuncType, GlobalType, HeapType, Limits,
                          MemoryType, TableType, ValType, ValueType, ref_type)
from .instructions import VALTYPES, Cursor, FuncContext, InstrParser
from .lexer import Kind, Source, Token
from .numbers import NumberError, parse_uint
from .segments import SegmentFields
from .sexpr import Item, SList, read

SPACES = ("type", "func", "table", "memory", "global", "tag", "elem", "data")
_DEF_NAMES = {"func": "function", "table": "table", "memory": "memory", "global": "global",
              "tag": "tag"}
_KINDS = {"func": ExternKind.FUNC, "table": ExternKind.TABLE, "memory": ExternKind.MEMORY,
          "global": ExternKind.GLOBAL, "tag": ExternKind.TAG}
_REFTYPES = {"funcref": ValType.FUNCREF, "externref": ValType.EXTERNREF,
             "exnref": ValType.EXNREF}
_NULL_ABBREVIATIONS = {"nullfuncref": HeapType.NOFUNC, "nullexternref": HeapType.NOEXTERN,
                       "nullexnref": HeapType.NOEXN}
_HEAPTYPES = {"func": HeapType.FUNC, "extern": HeapType.EXTERN, "exn": HeapType.EXN,
              "nofunc": HeapType.NOFUNC, "noextern": HeapType.NOEXTERN, "noexn": HeapType.NOEXN}
_END = int(Op.END)
PAGE = 65536


@dataclass(slots=True)
class ParsedModule:
    """A parsed text module: the module, its names and the encoding choices the text made.
    In this module, `Instr.offset` and `FuncBody.offset` are character offsets into the source
    text (not byte offsets of a binary); decode `encode()`'s bytes for binary offsets."""

    module: WasmModule
    names: NameMaps
    hints: EncodeHints

    def encode(self) -> bytes:
        return encode_module(self.module, self.names, self.hints)


def _is(item: Item, head: str) -> bool:
    return type(item) is SList and item.head() == head


def _is_custom(item: Item) -> bool:
    if type(item) is not SList or not item.items:
        return False
    first = item.items[0]
    return type(first) is Token and first.kind is Kind.ANNOTATION


class ModuleParser(SegmentFields):
    """Parses the fields of one module."""

    def __init__(self, src: Source, fields: list[Item], name: str | None, end: int,
                 features: Features | None = None) -> None:
        self.src = src
        #: bits of limits, memarg offsets and alignments: u64 in 3.0's text format (memory64),
        #: u32 in 2.0's (where a larger one is malformed)
        self.size_bits = 64 if features is None or features.memory64 else 32
        #: whether tags (exception handling) are part of the format
        self.tags = features is None or features.exceptions
        self.fields = fields
        self.end = end
        self.ids: dict[str, dict[str, int]] = {space: {} for space in SPACES}
        self.types: list[FuncType] = []
        self._type_lookup: dict[FuncType, int] = {}
        self.module = WasmModule()
        self.names = NameMaps(module=name)
        self.hints = EncodeHints()
        self.ip = InstrParser(self)

    # -- errors and tokens ----------------------------------------------------------------------

    def err(self, pos: int, message: str) -> MalformedError:
        return self.src.error(pos, message)

    def num(self, fn, text: str, bits: int, pos: int, tok: Token | None = None) -> int:
        if tok is not None and tok.kind is not Kind.NUMBER and tok.kind is not Kind.KEYWORD:
            raise self.err(pos, f"unexpected token {tok.text}, expected a number")
        try:
            return fn(text, bits)
        except NumberError as exc:
            if not exc.syntax:
                raise self.err(pos, str(exc)) from None
            # as in the reference lexer: a malformed number is an unknown token, a keyword in
            # a number's place is an unexpected one
            if tok is not None and tok.kind is Kind.KEYWORD:
                raise self.err(pos, f"unexpected token {text}: {exc}") from None
            raise self.err(pos, f"unknown operator {text}: {exc}") from None

    def u32(self, tok: Token) -> int:
        if tok.kind is not Kind.NUMBER:
            raise self.err(tok.pos, f"unexpected token {tok.text}, expected a number")
        return self.num(parse_uint, tok.text, 32, tok.pos, tok)

    def index(self, tok: Token, space: str) -> int:
        if type(tok) is not Token:
            raise self.err(tok.pos, f"unexpected token, expected a {space} index")
        if tok.kind is Kind.ID:
            found = self.ids[space].get(tok.value)
            if found is None:
                raise self.err(tok.pos, f"unknown {space} ${tok.value}")
            return found
        if tok.kind is Kind.NUMBER:
            return self.u32(tok)
        raise self.err(tok.pos, f"unexpected token {tok.text!r}, expected a {space} index")

    def string(self, item: Item, what: str) -> bytes:
        if type(item) is not Token or item.kind is not Kind.STRING:
            pos = item.pos if item is not None else self.end
            raise self.err(pos, f"unexpected token, expected {what} (a string)")
        return item.value

    def name(self, item: Item, what: str) -> str:
        raw = self.string(item, what)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.err(item.pos, "malformed UTF-8 encoding") from None

    def bind(self, space: str, tok: Token | None, index: int) -> None:
        if tok is None:
            return
        table = self.ids[space]
        if tok.value in table:
            raise self.err(tok.pos, f"duplicate {space} ${tok.value}")
        table[tok.value] = index

    def valtype(self, tok: Item) -> ValueType:
        if type(tok) is Token and tok.kind is Kind.KEYWORD:
            t = VALTYPES.get(tok.text)
            if t is not None:
                return t
        pos = tok.pos if tok is not None else self.end
        t = self.typed_ref(tok)
        if t is not None:
            return t
        if type(tok) is Token and tok.kind is Kind.KEYWORD:
            raise self.err(pos, f"unknown operator {tok.text}: expected a value type")
        text = tok.text if type(tok) is Token else "("
        raise self.err(pos, f"unexpected token {text}, expected a value type")

    def valtypes_of(self, node: SList) -> list[ValType]:
        return [self.valtype(t) for t in node.items[1:]]

    def reftype(self, tok: Item) -> ValueType:
        if type(tok) is Token and tok.kind is Kind.KEYWORD and tok.text in _REFTYPES:
            return _REFTYPES[tok.text]
        pos = tok.pos if tok is not None else self.end
        t = self.typed_ref(tok)
        if t is not None:
            return t
        raise self.err(pos, "unexpected token, expected a reference type (funcref or externref)")

    def typed_ref(self, tok: Item) -> ValueType | None:
        """(ref null? heaptype) or an abbreviation of a null reference type (nullfuncref,
        nullexternref, nullexnref); None if `tok` is neither."""
        if type(tok) is Token and tok.kind is Kind.KEYWORD:
            heap = _NULL_ABBREVIATIONS.get(tok.text)
            if heap is not None:
                return ref_type(True, heap)
            return None
        if not (type(tok) is SList and tok.items and type(tok.items[0]) is Token
                and tok.items[0].text == "ref"):
            return None
        items = tok.items[1:]
        nullable = bool(items) and type(items[0]) is Token and items[0].text == "null"
        if nullable:
            items = items[1:]
        if len(items) != 1 or type(items[0]) is not Token:
            raise self.err(tok.pos, "expected (ref null? heaptype)")
        return ref_type(nullable, self.heaptype(items[0]))

    def heaptype(self, tok: Token) -> HeapType | int:
        """A heap type: func, extern, exn, nofunc, noextern, noexn, or a type index ($id or
        number)."""
        if tok.kind is Kind.KEYWORD:
            heap = _HEAPTYPES.get(tok.text)
            if heap is not None:
                return heap
            if tok.text in GC_HEAP_CODES.values():
                raise UnsupportedError(f"the GC proposal (heap type "
                                       f"{tok.text})")
            raise self.err(tok.pos, f"unexpected token {tok.text!r}, expected a heap type")
        return self.index(tok, "type")

    @staticmethod
    def opt_id(cur: Cursor) -> Token | None:
        item = cur.peek()
        if type(item) is Token and item.kind is Kind.ID:
            cur.i += 1
            return item
        return None

    def expect_done(self, cur: Cursor) -> None:
        if not cur.done():
            item = cur.peek()
            text = item.text if type(item) is Token else "(" + (item.head() or "")
            raise self.err(item.pos, f"unexpected token {text!r}")

    # -- types ----------------------------------------------------------------------------------

    def functype(self, node: Item) -> tuple[FuncType, dict[int, str]]:
        """A (func ...) type definition and its parameter names."""
        if not _is(node, "func"):
            if type(node) is SList and node.head() in ("sub", "struct", "array"):
                raise UnsupportedError(f"the GC proposal ({node.head()})")
            raise self.err(node.pos if node is not None else self.end, "expected (func ...) in type definition")
        cur = Cursor(node.items, 1, node.end)
        ref, params, results, names = self.typeuse_parts(cur, allow_names=True, allow_ref=False)
        self.expect_done(cur)
        return FuncType(params, results), self._param_names(names)

    def _param_names(self, names: list[tuple[Token, int]]) -> dict[int, str]:
        out: dict[int, str] = {}
        seen: set[str] = set()
        for tok, i in names:
            if tok.value in seen:
                raise self.err(tok.pos, f"duplicate local ${tok.value}")
            seen.add(tok.value)
            out[i] = tok.value
        return out

    def typeuse_parts(self, cur: Cursor, allow_names: bool, allow_ref: bool = True):
        """(type x)? (param ...)* (result ...)*: returns (type index or None, params, results,
        [(param name token, param index)])."""
        ref = None
        item = cur.peek()
        if allow_ref and _is(item, "type"):
            if len(item.items) != 2:
                raise self.err(item.pos, "expected one type index in (type ...)")
            ref = self.index(item.items[1], "type")
            cur.i += 1
            item = cur.peek()
        params: list[ValType] = []
        results: list[ValType] = []
        names: list[tuple[Token, int]] = []
        while _is(item, "param"):
            rest = item.items[1:]
            if rest and type(rest[0]) is Token and rest[0].kind is Kind.ID:
                if not allow_names:
                    raise self.err(rest[0].pos, "unexpected token: a block type or call_indirect "
                                                "cannot name its parameters")
                if len(rest) != 2:
                    raise self.err(item.pos, "a named parameter declares exactly one type")
                names.append((rest[0], len(params)))
                params.append(self.valtype(rest[1]))
            else:
                params.extend(self.valtype(t) for t in rest)
            cur.i += 1
            item = cur.peek()
        while _is(item, "result"):
            results.extend(self.valtypes_of(item))
            cur.i += 1
            item = cur.peek()
        if type(item) is SList and item.head() in ("type", "param"):
            raise self.err(item.pos, f"unexpected token ({item.head()} ...): out of order in a type use")
        return ref, params, results, names

    def resolve_typeuse(self, ref: int | None, params: list[ValType], results: list[ValType],
                        pos: int) -> int:
        """The type index of a type use; an inline-only use finds the first matching type or
        appends a new one."""
        if ref is not None:
            if params or results:
                if ref >= len(self.types):
                    raise self.err(pos, f"unknown type {ref}")
                if self.types[ref] != FuncType(params, results):
                    raise self.err(pos, "inline function type does not match the referenced type")
            return ref
        ft = FuncType(params, results)
        index = self._type_lookup.get(ft)
        if index is None:
            index = len(self.types)
            self.types.append(ft)
            self._type_lookup[ft] = index
        return index

    def typeuse(self, cur: Cursor, allow_names: bool):
        """Parse and resolve a type use: (type index, FuncType, param name tokens)."""
        pos = cur.pos()
        ref, params, results, names = self.typeuse_parts(cur, allow_names)
        index = self.resolve_typeuse(ref, params, results, pos)
        ft = self.types[index] if index < len(self.types) else FuncType()
        return index, ft, names

    # -- limits and entity types ----------------------------------------------------------------

    @staticmethod
    def address_type(cur: Cursor) -> bool:
        """An optional address type (`i32` or `i64`, memory64) before a memory's or table's
        limits; True for i64."""
        item = cur.peek()
        if type(item) is Token and item.text in ("i64", "i32") and item.kind is Kind.KEYWORD:
            cur.i += 1
            return item.text == "i64"
        return False

    def limits(self, cur: Cursor) -> Limits:
        """A minimum and optional maximum: u64s in WebAssembly 3.0's text format (memory64),
        whatever the address type (the validator bounds them by it); u32s in 2.0's."""
        item = cur.peek()
        if type(item) is not Token or item.kind is not Kind.NUMBER:
            raise self.err(cur.pos(), "expected limits (a minimum size)")
        cur.i += 1
        low = self.num(parse_uint, item.text, self.size_bits, item.pos, item)
        item = cur.peek()
        if type(item) is Token and item.kind is Kind.NUMBER:
            cur.i += 1
            return Limits(low, self.num(parse_uint, item.text, self.size_bits, item.pos, item))
        return Limits(low, None)

    def tabletype(self, cur: Cursor) -> TableType:
        is_64 = self.address_type(cur)
        limits = self.limits(cur)
        t = self.reftype(cur.peek())
        cur.i += 1
        return TableType(t, limits, is_64)

    def memtype(self, cur: Cursor) -> MemoryType:
        is_64 = self.address_type(cur)
        return MemoryType.decoded(self.limits(cur), is_64)

    def globaltype(self, cur: Cursor) -> GlobalType:
        item = cur.peek()
        cur.i += 1
        if _is(item, "mut"):
            if len(item.items) != 2:
                raise self.err(item.pos, "expected (mut <valtype>)")
            return GlobalType(self.valtype(item.items[1]), True)
        return GlobalType(self.valtype(item), False)

    # -- pass 1: identifiers ---------------------------------------------------------------------

    def _bind_types(self) -> None:
        """Bind every type's id first: a type may name itself, and a module naming a later
        type still encodes (the validator rejects it: each type is its own recursion group)."""
        index = 0
        for field in self.fields:
            if type(field) is SList and field.head() == "type":
                tok = self.opt_id(Cursor(field.items, 1, field.end))
                self.bind("type", tok, index)
                if tok is not None:
                    self.names.types[index] = tok.value
                index += 1
            elif type(field) is SList and field.head() == "rec":
                raise UnsupportedError("the GC proposal (rec)")

    def collect(self) -> None:
        self._bind_types()
        counts = dict.fromkeys(SPACES, 0)
        first_def: str | None = None
        for field in self.fields:
            if type(field) is not SList:
                raise self.err(field.pos, f"unexpected token {field.text!r}, expected a module field")
            if _is_custom(field):
                continue
            head = field.head()
            items = field.items
            if head == "type":
                cur = Cursor(items, 1, field.end)
                self.opt_id(cur)
                ft, param_names = self.functype(cur.peek())
                if param_names:
                    self.names.type_params[counts["type"]] = param_names
                cur.i += 1
                self.expect_done(cur)
                self.types.append(ft)
                self._type_lookup.setdefault(ft, counts["type"])
                counts["type"] += 1
            elif head == "tag" and not self.tags:
                raise self.err(field.pos, "unexpected token, unknown module field 'tag'")
            elif head == "import":
                if len(items) != 4 or type(items[3]) is not SList or items[3].head() not in _KINDS \
                        or (items[3].head() == "tag" and not self.tags):
                    raise self.err(field.pos, "expected (import \"module\" \"name\" (func|table|memory|global ...))")
                desc = items[3]
                kind = desc.head()
                if first_def is not None:
                    raise self.err(field.pos, f"import after {first_def}")
                tok = self.opt_id(Cursor(desc.items, 1, desc.end))
                self.bind(kind, tok, counts[kind])
                counts[kind] += 1
            elif head in _KINDS:
                cur = Cursor(items, 1, field.end)
                tok = self.opt_id(cur)
                while _is(cur.peek(), "export"):
                    cur.i += 1
                imported = _is(cur.peek(), "import")
                if imported:
                    if first_def is not None:
                        raise self.err(field.pos, f"import after {first_def}")
                elif first_def is None:
                    first_def = _DEF_NAMES[head]
                self.bind(head, tok, counts[head])
                counts[head] += 1
                if not imported:
                    if head == "table" and any(_is(it, "elem") for it in items[cur.i:]):
                        counts["elem"] += 1
                    if head == "memory" and any(_is(it, "data") for it in items[cur.i:]):
                        counts["data"] += 1
            elif head in ("elem", "data"):
                tok = self.opt_id(Cursor(items, 1, field.end))
                self.bind(head, tok, counts[head])
                counts[head] += 1
            elif head in ("export", "start"):
                pass
            else:
                pos = items[0].pos if items else field.pos
                raise self.err(pos, f"unexpected token, unknown module field {head or '('!r}")

    # -- pass 2: definitions ---------------------------------------------------------------------

    def build(self) -> ParsedModule:
        self.collect()
        self._counter = dict.fromkeys(SPACES, 0)
        handlers = {"import": self.import_field, "func": self.func_field, "table": self.table_field,
                    "memory": self.memory_field, "global": self.global_field,
                    "tag": self.tag_field, "export": self.export_field, "start": self.start_field,
                    "elem": self.elem_field, "data": self.data_field}
        for field in self.fields:
            if _is_custom(field):
                self.custom_field(field)
                continue
            head = field.head()
            if head == "type":
                continue
            handlers[head](field)
        self.module.types = self.types
        return ParsedModule(self.module, self.names, self.hints)

    def _next(self, space: str) -> int:
        index = self._counter[space]
        self._counter[space] = index + 1
        return index

    def _name(self, space: str, tok: Token | None, index: int) -> None:
        if tok is None:
            return
        target = {"func": self.names.functions, "table": self.names.tables,
                  "memory": self.names.memories, "global": self.names.globals,
                  "tag": self.names.tags, "elem": self.names.elems,
                  "data": self.names.datas}[space]
        target[index] = tok.value

    def _exports(self, cur: Cursor, kind: str, index: int) -> None:
        while _is(cur.peek(), "export"):
            node = cur.peek()
            if len(node.items) != 2:
                raise self.err(node.pos, "expected (export \"name\")")
            self.module.exports.append(Export(self.name(node.items[1], "an export name"), _KINDS[kind], index))
            cur.i += 1

    def _inline_import(self, cur: Cursor) -> tuple[str, str] | None:
        node = cur.peek()
        if not _is(node, "import"):
            return None
        if len(node.items) != 3:
            raise self.err(node.pos, "expected (import \"module\" \"name\")")
        cur.i += 1
        return self.name(node.items[1], "a module name"), self.name(node.items[2], "an import name")

    def import_field(self, field: SList) -> None:
        module = self.name(field.items[1], "a module name")
        name = self.name(field.items[2], "an import name")
        desc = field.items[3]
        kind = desc.head()
        cur = Cursor(desc.items, 1, desc.end)
        tok = self.opt_id(cur)
        index = self._next(kind)
        self._name(kind, tok, index)
        self._import_desc(kind, cur, module, name)
        self.expect_done(cur)

    def _import_desc(self, kind: str, cur: Cursor, module: str, name: str) -> None:
        if kind == "func":
            type_index, _, names = self.typeuse(cur, allow_names=True)
            desc = type_index
            if names:
                self.names.locals[self._counter["func"] - 1] = self._param_names(names)
        elif kind == "table":
            desc = self.tabletype(cur)
        elif kind == "memory":
            desc = self.memtype(cur)
        elif kind == "tag":
            desc, _, _ = self.typeuse(cur, allow_names=False)
        else:
            desc = self.globaltype(cur)
        self.module.imports.append(Import(module, name, _KINDS[kind], desc))

    def func_field(self, field: SList) -> None:
        cur = Cursor(field.items, 1, field.end)
        tok = self.opt_id(cur)
        index = self._next("func")
        self._name("func", tok, index)
        self._exports(cur, "func", index)
        imported = self._inline_import(cur)
        if imported is not None:
            self._import_desc("func", cur, *imported)
            self.expect_done(cur)
            return
        type_index, ft, param_names = self.typeuse(cur, allow_names=True)
        ctx = FuncContext()
        local_names: dict[int, str] = {}
        for name_tok, i in param_names:
            if name_tok.value in ctx.locals:
                raise self.err(name_tok.pos, f"duplicate local ${name_tok.value}")
            ctx.locals[name_tok.value] = i
            local_names[i] = name_tok.value
        next_local = len(ft.params)
        runs: list[list] = []
        while _is(cur.peek(), "local"):
            node = cur.peek()
            cur.i += 1
            rest = node.items[1:]
            if rest and type(rest[0]) is Token and rest[0].kind is Kind.ID:
                if len(rest) != 2:
                    raise self.err(node.pos, "a named local declares exactly one type")
                name_tok = rest[0]
                if name_tok.value in ctx.locals:
                    raise self.err(name_tok.pos, f"duplicate local ${name_tok.value}")
                ctx.locals[name_tok.value] = next_local
                local_names[next_local] = name_tok.value
                types = [self.valtype(rest[1])]
            else:
                types = [self.valtype(t) for t in rest]
            for t in types:
                if runs and runs[-1][1] is t:
                    runs[-1][0] += 1
                else:
                    runs.append([1, t])
                next_local += 1
        body: list[Instr] = []
        self.ip.seq(cur, body, ctx)
        body.append(Instr(_END, None, field.end))
        self.module.funcs.append(type_index)
        self.module.codes.append(FuncBody(tuple((n, t) for n, t in runs), body, field.pos))
        if local_names:
            self.names.locals[index] = local_names
        if ctx.label_names:
            self.names.labels[index] = ctx.label_names

    def const_expr(self, cur: Cursor) -> list[Instr]:
        out: list[Instr] = []
        self.ip.seq(cur, out, FuncContext())
        out.append(Instr(_END, None, cur.end))
        return out

    def table_field(self, field: SList) -> None:
        cur = Cursor(field.items, 1, field.end)
        tok = self.opt_id(cur)
        index = self._next("table")
        self._name("table", tok, index)
        self._exports(cur, "table", index)
        imported = self._inline_import(cur)
        if imported is not None:
            self._import_desc("table", cur, *imported)
            self.expect_done(cur)
            return
        start = cur.i
        is_64 = self.address_type(cur)
        item = cur.peek()
        if (type(item) is Token and item.kind is Kind.KEYWORD) or _is(item, "ref"):
            # reftype (elem ...): the table is sized to its inline segment
            t = self.reftype(item)
            cur.i += 1
            node = cur.peek()
            if not _is(node, "elem"):
                raise self.err(cur.pos(), "expected limits or (elem ...) after the table's type")
            cur.i += 1
            self.expect_done(cur)
            inner = Cursor(node.items, 1, node.end)
            first = inner.peek()
            if type(first) is SList:
                items = self._elem_exprs(inner)
                as_indices = False
            else:
                items = self._elem_indices(inner)
                as_indices = t is ValType.FUNCREF   # else written as expressions of type t
            self.module.tables.append(TableType(t, Limits(len(items), len(items)), is_64))
            self.module.table_inits.append(None)
            self._add_elem(ElemSegment(SegmentMode.ACTIVE, t, items, index,
                                       self._zero_offset(node.pos, is_64)),
                           True, as_indices, None)
            return
        cur.i = start
        tt = self.tabletype(cur)
        # typed function references: an initialiser expression gives every element's value
        init = None if cur.peek() is None else self.const_expr(cur)
        self.expect_done(cur)
        self.module.tables.append(tt)
        self.module.table_inits.append(init)

    @staticmethod
    def _zero_offset(pos: int, is_64: bool = False) -> list[Instr]:
        """The offset of an inline segment: 0 of the memory's or table's address type."""
        return [Instr(int(Op.I64_CONST if is_64 else Op.I32_CONST), 0, pos),
                Instr(_END, None, pos)]

    def memory_field(self, field: SList) -> None:
        cur = Cursor(field.items, 1, field.end)
        tok = self.opt_id(cur)
        index = self._next("memory")
        self._name("memory", tok, index)
        self._exports(cur, "memory", index)
        imported = self._inline_import(cur)
        if imported is not None:
            self._import_desc("memory", cur, *imported)
            self.expect_done(cur)
            return
        start = cur.i
        is_64 = self.address_type(cur)
        node = cur.peek()
        if _is(node, "data"):
            cur.i += 1
            self.expect_done(cur)
            data = b"".join(self.string(s, "data") for s in node.items[1:])
            pages = (len(data) + PAGE - 1) // PAGE
            self.module.mems.append(MemoryType.decoded(Limits(pages, pages), is_64))
            seg = DataSegment(SegmentMode.ACTIVE, data, index, self._zero_offset(node.pos, is_64))
            self.module.datas.append(seg)
            self._next("data")
            return
        cur.i = start
        mt = self.memtype(cur)
        self.expect_done(cur)
        self.module.mems.append(mt)

    def global_field(self, field: SList) -> None:
        cur = Cursor(field.items, 1, field.end)
        tok = self.opt_id(cur)
        index = self._next("global")
        self._name("global", tok, index)
        self._exports(cur, "global", index)
        imported = self._inline_import(cur)
        if imported is not None:
            self._import_desc("global", cur, *imported)
            self.expect_done(cur)
            return
        if cur.done():
            raise self.err(field.end, "expected a global type")
        gt = self.globaltype(cur)
        self.module.globals.append(Global(gt, self.const_expr(cur)))

    def tag_field(self, field: SList) -> None:
        """(tag $id? (export "n")* (import "m" "n")? typeuse): an exception tag."""
        cur = Cursor(field.items, 1, field.end)
        tok = self.opt_id(cur)
        index = self._next("tag")
        self._name("tag", tok, index)
        self._exports(cur, "tag", index)
        imported = self._inline_import(cur)
        if imported is not None:
            self._import_desc("tag", cur, *imported)
            self.expect_done(cur)
            return
        type_index, _, _ = self.typeuse(cur, allow_names=False)
        self.expect_done(cur)
        self.module.tags.append(type_index)

    def export_field(self, field: SList) -> None:
        items = field.items
        if len(items) != 3 or type(items[2]) is not SList or items[2].head() not in _KINDS:
            raise self.err(field.pos, "expected (export \"name\" (func|table|memory|global index))")
        name = self.name(items[1], "an export name")
        desc = items[2]
        if len(desc.items) != 2:
            raise self.err(desc.pos, "expected one index in the export descriptor")
        kind = desc.head()
        self.module.exports.append(Export(name, _KINDS[kind], self.index(desc.items[1], kind)))

    def start_field(self, field: SList) -> None:
        if self.module.start is not None:
            raise self.err(field.pos, "multiple start sections")
        if len(field.items) != 2:
            raise self.err(field.pos, "expected (start <function index>)")
        self.module.start = self.index(field.items[1], "func")


# -- entry points ---------------------------------------------------------------------------------

def module_form(src: Source, node: SList):
    """Split a `(module ...)` list into (name, kind, payload): kind is "fields", "binary" or
    "quote"."""
    cur = Cursor(node.items, 1, node.end)
    name_tok = ModuleParser.opt_id(cur)
    item = cur.peek()
    if type(item) is Token and item.kind is Kind.KEYWORD and item.text in ("binary", "quote"):
        parts = []
        for s in node.items[cur.i + 1:]:
            if type(s) is not Token or s.kind is not Kind.STRING:
                raise src.error(s.pos, f"unexpected token, expected a string in (module {item.text} ...)")
            parts.append(s.value)
        return name_tok, item.text, b"".join(parts)
    return name_tok, "fields", node.items[cur.i:]


def parse_module_items(src: Source, items: list[Item], end: int,
                       features: Features | None = None) -> ParsedModule | bytes:
    """Parse the top-level items of a text module: one `(module ...)` or bare fields. Returns
    the parsed module, or raw bytes for a `(module binary ...)`. `features` picks the text
    format's version where they differ (see ModuleParser.size_bits; None: 3.0's)."""
    if len(items) == 1 and type(items[0]) is SList and items[0].head() == "module":
        return parse_module_node(src, items[0], features)
    for item in items:
        if type(item) is SList and item.head() == "module":
            raise src.error(item.pos, "unexpected token: a module inside a module or more than one module")
    return ModuleParser(src, items, None, end, features).build()


def parse_module_node(src: Source, node: SList,
                      features: Features | None = None) -> ParsedModule | bytes:
    name_tok, kind, payload = module_form(src, node)
    if kind == "binary":
        return payload
    if kind == "quote":
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise src.error(node.pos, "malformed UTF-8 encoding in quoted module") from None
        return parse_text(text, features)
    return ModuleParser(src, payload, name_tok.value if name_tok is not None else None, node.end,
                        features).build()


def parse_text(text: str | bytes, features: Features | None = None) -> ParsedModule | bytes:
    """Parse a text module (a string, or UTF-8 bytes)."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedError(f"malformed UTF-8 encoding at byte {exc.start}") from None
    src = Source(text)
    return guarded_parse(lambda: parse_module_items(src, read(src), len(text), features))


def guarded_parse(fn):
    """Run a parsing function with the cyclic GC paused (parsing allocates many small acyclic
    objects, and the collector would rescan the growing tree again and again: a third of the
    time), retrying on a big-stack thread if deeply nested code exhausts the recursion limit."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        try:
            return fn()
        except RecursionError:
            pass
        return _with_deep_stack(fn)
    finally:
        if gc_was_enabled:
            gc.enable()


#: Nesting the deep-stack retry supports (each nested instruction takes a few Python frames).
DEEP_RECURSION_LIMIT = 200_000
_DEEP_STACK_BYTES = 512 << 20


def _with_deep_stack(fn, *args):
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = fn(*args)
        except RecursionError:
            outcome["error"] = MalformedError("text nested too deeply to parse")
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    old_limit = sys.getrecursionlimit()
    old_size = threading.stack_size()
    try:
        threading.stack_size(_DEEP_STACK_BYTES)
        sys.setrecursionlimit(max(old_limit, DEEP_RECURSION_LIMIT))
        worker = threading.Thread(target=run, name="polyjit-wat-deep")
        worker.start()
        worker.join()
    finally:
        threading.stack_size(old_size)
        sys.setrecursionlimit(old_limit)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def parse_module_text(text: str | bytes, features: Features | None = None) -> bytes:
    """Parse a text module and return its binary encoding (`features`: see
    parse_module_items)."""
    parsed = parse_text(text, features)
    if isinstance(parsed, bytes):
        return parsed
    return parsed.encode()


__all__ = ["ModuleParser", "ParsedModule", "guarded_parse", "parse_module_text", "parse_text"]
