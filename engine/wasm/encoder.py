"""The binary writer: WasmModule -> bytes, with minimal LEB128s and the section layout that
`wasm-tools parse` produces (sections in id order, data count only when the code needs it,
the extended `name` section when names are given)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import WasmError
from .module import (CustomSection, DataSegment, ElemSegment, Expr, Instr, MemArg, SegmentMode,
                     WasmModule)
from .opcodes import INFO, Imm, Op
from .types import (ExternKind, FuncType, GlobalType, HeapType, Limits, MemoryType, RefType,
                    TableType, ValType, ValueType)

MAGIC_VERSION = b"\x00asm\x01\x00\x00\x00"


def uleb(value: int) -> bytes:
    """Unsigned LEB128, minimal length."""
    if value < 0:
        raise WasmError(f"cannot encode negative value {value} as unsigned LEB128")
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def sleb(value: int) -> bytes:
    """Signed LEB128, minimal length."""
    if -64 <= value < 64:
        return bytes((value & 0x7F,))
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40):
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def name_bytes(name: str) -> bytes:
    raw = name.encode("utf-8", "surrogatepass")
    return uleb(len(raw)) + raw


def vec(items: list[bytes]) -> bytes:
    return uleb(len(items)) + b"".join(items)


@dataclass(slots=True)
class NameMaps:
    """Everything the extended name section can carry (wasm-tools' subsections 0-9).
    Indirect maps (locals, labels) go function index -> (index -> name)."""

    module: str | None = None
    functions: dict[int, str] = field(default_factory=dict)
    locals: dict[int, dict[int, str]] = field(default_factory=dict)
    labels: dict[int, dict[int, str]] = field(default_factory=dict)
    types: dict[int, str] = field(default_factory=dict)
    tables: dict[int, str] = field(default_factory=dict)
    memories: dict[int, str] = field(default_factory=dict)
    globals: dict[int, str] = field(default_factory=dict)
    elems: dict[int, str] = field(default_factory=dict)
    datas: dict[int, str] = field(default_factory=dict)
    #: tag names (wasm-tools' subsection 11)
    tags: dict[int, str] = field(default_factory=dict)
    #: parameter names of function types (wasm-tools' subsection 12: type -> param -> name)
    type_params: dict[int, dict[int, str]] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return (self.module is None and not self.functions and not any(self.locals.values())
                and not any(self.labels.values()) and not self.types and not self.tables
                and not self.memories and not self.globals and not self.elems and not self.datas
                and not self.tags and not any(self.type_params.values()))


def _name_map(names: dict[int, str]) -> bytes:
    return vec([uleb(i) + name_bytes(n) for i, n in sorted(names.items())])


def _indirect_map(names: dict[int, dict[int, str]]) -> bytes:
    return vec([uleb(i) + _name_map(inner) for i, inner in sorted(names.items()) if inner])


def encode_names(names: NameMaps) -> bytes:
    """The payload of the `name` custom section (without the section header)."""
    out = bytearray(name_bytes("name"))

    def sub(ident: int, payload: bytes) -> None:
        out.append(ident)
        out.extend(uleb(len(payload)))
        out.extend(payload)

    if names.module is not None:
        sub(0, name_bytes(names.module))
    if names.functions:
        sub(1, _name_map(names.functions))
    if any(names.locals.values()):
        sub(2, _indirect_map(names.locals))
    if any(names.labels.values()):
        sub(3, _indirect_map(names.labels))
    for ident, table in ((4, names.types), (5, names.tables), (6, names.memories),
                         (7, names.globals), (8, names.elems), (9, names.datas),
                         (11, names.tags)):
        if table:
            sub(ident, _name_map(table))
    if any(names.type_params.values()):
        sub(12, _indirect_map(names.type_params))
    return bytes(out)


# -- types ------------------------------------------------------------------------------------

def encode_valtype(t: ValueType) -> bytes:
    """A value type; a nullable abstract reference in its one-byte form (as wasm-tools)."""
    if isinstance(t, RefType):
        heap = encode_heaptype(t.heap)
        if t.nullable and isinstance(t.heap, HeapType):
            return heap
        return (b"\x63" if t.nullable else b"\x64") + heap
    return bytes((t.value,))


def encode_heaptype(heap: HeapType | int) -> bytes:
    return sleb(heap) if isinstance(heap, int) else bytes((heap.value,))


def _valtypes(types) -> bytes:
    return b"".join(map(encode_valtype, types))


def encode_functype(ft: FuncType) -> bytes:
    return (b"\x60" + uleb(len(ft.params)) + _valtypes(ft.params)
            + uleb(len(ft.results)) + _valtypes(ft.results))


def encode_limits(limits: Limits, is_64: bool = False, shared: bool = False) -> bytes:
    """Limits with their flags byte: bit 0 a maximum, bit 1 shared, bit 2 64-bit sizes."""
    flags = (1 if limits.max is not None else 0) | (2 if shared else 0) | (4 if is_64 else 0)
    out = bytes((flags,)) + uleb(limits.min)
    if limits.max is not None:
        out += uleb(limits.max)
    return out


def encode_tabletype(tt: TableType) -> bytes:
    return encode_valtype(tt.element) + encode_limits(tt.limits, tt.is_64)


def encode_memtype(mt: MemoryType) -> bytes:
    return encode_limits(mt.limits, mt.is_64, mt.shared)


def encode_globaltype(gt: GlobalType) -> bytes:
    return encode_valtype(gt.content) + bytes((1 if gt.mutable else 0,))


# -- instructions -----------------------------------------------------------------------------

def _memarg(m: MemArg) -> bytes:
    if m.memory:
        return uleb(m.align | 0x40) + uleb(m.memory) + uleb(m.offset)
    return uleb(m.align) + uleb(m.offset)


def _imm_index(imm, out: bytearray) -> None:
    out += uleb(imm)


def _imm_signed(imm, out: bytearray) -> None:
    out += sleb(imm)


def _imm_memarg(imm, out: bytearray) -> None:
    out += _memarg(imm)


def _imm_blocktype(imm, out: bytearray) -> None:
    if imm is None:
        out.append(0x40)
    elif isinstance(imm, (ValType, RefType)):
        out += encode_valtype(imm)
    else:
        out += sleb(imm)


def _imm_f32(imm, out: bytearray) -> None:
    out += imm.to_bytes(4, "little")


def _imm_f64(imm, out: bytearray) -> None:
    out += imm.to_bytes(8, "little")


def _imm_br_table(imm, out: bytearray) -> None:
    labels, default = imm
    out += uleb(len(labels))
    for label in labels:
        out += uleb(label)
    out += uleb(default)


def _imm_pair(imm, out: bytearray) -> None:
    out += uleb(imm[0])
    out += uleb(imm[1])


def _imm_reftype(imm, out: bytearray) -> None:
    out += encode_heaptype(imm.heap)


def _imm_select_t(imm, out: bytearray) -> None:
    out += uleb(len(imm))
    out += _valtypes(imm)


def _imm_bytes(imm, out: bytearray) -> None:
    out += bytes(imm)


def _imm_byte(imm, out: bytearray) -> None:
    out.append(imm)


def _imm_memarg_lane(imm, out: bytearray) -> None:
    out += _memarg(imm[0])
    out.append(imm[1])


def _imm_try_table(imm, out: bytearray) -> None:
    _imm_blocktype(imm.blocktype, out)
    out += uleb(len(imm.catches))
    for clause in imm.catches:
        out.append(clause.kind)
        if clause.tag is not None:
            out += uleb(clause.tag)
        out += uleb(clause.label)


_IMM_WRITERS = {
    Imm.NONE: None, Imm.I32: _imm_signed, Imm.I64: _imm_signed, Imm.LABEL: _imm_index,
    Imm.FUNC: _imm_index, Imm.TYPE: _imm_index, Imm.LOCAL: _imm_index, Imm.GLOBAL: _imm_index, Imm.TABLE: _imm_index,
    Imm.DATA: _imm_index, Imm.ELEM: _imm_index, Imm.MEMORY: _imm_index, Imm.MEMARG: _imm_memarg,
    Imm.BLOCKTYPE: _imm_blocktype, Imm.F32: _imm_f32, Imm.F64: _imm_f64,
    Imm.BR_TABLE: _imm_br_table, Imm.CALL_INDIRECT: _imm_pair, Imm.REFTYPE: _imm_reftype,
    Imm.SELECT_T: _imm_select_t, Imm.MEMORY_INIT: _imm_pair, Imm.TABLE_INIT: _imm_pair,
    Imm.MEMORY_COPY: _imm_pair, Imm.TABLE_COPY: _imm_pair, Imm.V128: _imm_bytes,
    Imm.SHUFFLE: _imm_bytes, Imm.LANE: _imm_byte, Imm.MEMARG_LANE: _imm_memarg_lane,
    Imm.TAG: _imm_index, Imm.TRY_TABLE: _imm_try_table,
}


def _opcode_bytes(op: int) -> bytes:
    return bytes((op,)) if op <= 0xFF else bytes((op >> 24,)) + uleb(op & 0xFFFFFF)


#: Per opcode: its encoded opcode bytes and the writer of its immediate (None: no immediate).
_ENCODING: dict[int, tuple[bytes, object]] = {
    code: (_opcode_bytes(code), _IMM_WRITERS[info.imm]) for code, info in INFO.items()}


def encode_instr(ins: Instr, out: bytearray) -> None:
    """Append one instruction's encoding to `out`."""
    entry = _ENCODING.get(ins.op)
    if entry is None:
        raise WasmError(f"cannot encode unknown opcode {ins.op:#x}")
    head, write = entry
    out += head
    if write is not None:
        write(ins.imm, out)


def encode_expr(expr: Expr) -> bytes:
    out = bytearray()
    encoding = _ENCODING
    for ins in expr:
        entry = encoding.get(ins.op)
        if entry is None:
            raise WasmError(f"cannot encode unknown opcode {ins.op:#x}")
        out += entry[0]
        write = entry[1]
        if write is not None:
            write(ins.imm, out)
    return bytes(out)


def _uses_data_count(module: WasmModule) -> bool:
    for code in module.codes:
        for ins in code.body:
            if ins.op == Op.MEMORY_INIT or ins.op == Op.DATA_DROP:
                return True
    return False


# -- segments ---------------------------------------------------------------------------------

def _is_ref_func_expr(expr: Expr) -> bool:
    return len(expr) == 2 and expr[0].op == Op.REF_FUNC and expr[1].op == Op.END


def encode_elem(seg: ElemSegment, explicit_table: bool = False, as_indices: bool | None = None) -> bytes:
    """One element segment. `as_indices` says whether the items were written as function indices
    (flags 0-3) or expressions (flags 4-7); by default indices are used when every item is a
    `ref.func` of a (ref func) segment. `explicit_table` selects the flags with a table index
    (2 and 6) for an active segment of table 0, as wasm-tools does when the text names the table."""
    if as_indices is None:
        # 3.0: the index form means (ref func); a funcref segment keeps its expressions
        as_indices = seg.type == _REF_FUNC and all(_is_ref_func_expr(e) for e in seg.init)
    out = bytearray()
    if as_indices:
        items = vec([uleb(e[0].imm) for e in seg.init])
        if seg.mode is SegmentMode.ACTIVE:
            if seg.table == 0 and not explicit_table:
                out.append(0)
                out += encode_expr(seg.offset)
            else:
                out.append(2)
                out += uleb(seg.table) + encode_expr(seg.offset) + b"\x00"
        elif seg.mode is SegmentMode.PASSIVE:
            out += b"\x01\x00"
        else:
            out += b"\x03\x00"
        return bytes(out + items)
    items = vec([encode_expr(e) for e in seg.init])
    if seg.mode is SegmentMode.ACTIVE:
        if seg.table == 0 and not explicit_table and seg.type is ValType.FUNCREF:
            out.append(4)
            out += encode_expr(seg.offset)
        else:
            out.append(6)
            out += uleb(seg.table) + encode_expr(seg.offset) + encode_valtype(seg.type)
    elif seg.mode is SegmentMode.PASSIVE:
        out.append(5)
        out += encode_valtype(seg.type)
    else:
        out.append(7)
        out += encode_valtype(seg.type)
    return bytes(out + items)


#: the type of a segment of function indices in 3.0, (ref func)
_REF_FUNC = RefType(False, HeapType.FUNC)


def encode_data(seg: DataSegment) -> bytes:
    payload = uleb(len(seg.data)) + seg.data
    if seg.mode is SegmentMode.PASSIVE:
        return b"\x01" + payload
    if seg.memory == 0:
        return b"\x00" + encode_expr(seg.offset) + payload
    return b"\x02" + uleb(seg.memory) + encode_expr(seg.offset) + payload


# -- the module -------------------------------------------------------------------------------

@dataclass(slots=True)
class EncodeHints:
    """Encoding choices the decoded module does not record: per element segment, whether the
    text named its table and whether its items were function indices."""

    elem_explicit_table: list[bool] = field(default_factory=list)
    elem_as_indices: list[bool | None] = field(default_factory=list)
    force_data_count: bool = False
    #: per custom section, its placement slot (see custom_slot), overriding CustomSection.after
    custom_slots: list[int | None] = field(default_factory=list)


#: Section ids in the order they appear in a module (data count sits before code).
SECTION_ORDER = (1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11)
SECTION_IDS = {"type": 1, "import": 2, "func": 3, "table": 4, "memory": 5, "tag": 13,
               "global": 6, "export": 7, "start": 8, "elem": 9, "datacount": 12, "code": 10,
               "data": 11}
LAST_SLOT = 3 * len(SECTION_ORDER) + 1


def custom_slot(where: str, anchor: str) -> int:
    """The placement slot of a custom section placed `where` ("before"/"after") `anchor` (a
    section name, "first" or "last"): customs and sections are emitted in slot order."""
    if anchor == "first":
        return 0
    if anchor == "last":
        return LAST_SLOT
    i = SECTION_ORDER.index(SECTION_IDS[anchor])
    return 3 * i + (1 if where == "before" else 3)


def _section(ident: int, payload: bytes) -> bytes:
    return bytes((ident,)) + uleb(len(payload)) + payload


def _custom(sec: CustomSection) -> bytes:
    return _section(0, name_bytes(sec.name) + sec.data)


def encode_module(module: WasmModule, names: NameMaps | None = None,
                  hints: EncodeHints | None = None) -> bytes:
    """Encode a module. Without `names`, a decoded module's raw `name` custom section is written
    back in place, or else the module's own `names` (module, function and local names) are
    written when present. Custom sections are placed after the section they
    followed (`CustomSection.after`)."""
    if names is None:
        if any(sec.name == "name" for sec in module.customs):
            names = NameMaps()   # the decoded raw name section is written back where it was
        else:
            names = NameMaps(module.names.module, dict(module.names.functions),
                             {k: dict(v) for k, v in module.names.locals.items()})
    hints = hints or EncodeHints()
    sections: list[tuple[int, bytes]] = []   # (ordering id, bytes)

    def add(ident: int, payload: bytes) -> None:
        sections.append((ident, _section(ident, payload)))

    if module.types:
        add(1, vec([encode_functype(t) for t in module.types]))
    if module.imports:
        entries = []
        for imp in module.imports:
            head = name_bytes(imp.module) + name_bytes(imp.name) + bytes((int(imp.kind),))
            if imp.kind == ExternKind.FUNC:
                entries.append(head + uleb(imp.desc))
            elif imp.kind == ExternKind.TABLE:
                entries.append(head + encode_tabletype(imp.desc))
            elif imp.kind == ExternKind.MEMORY:
                entries.append(head + encode_memtype(imp.desc))
            elif imp.kind == ExternKind.TAG:
                entries.append(head + b"\x00" + uleb(imp.desc))     # attribute 0: exception
            else:
                entries.append(head + encode_globaltype(imp.desc))
        add(2, vec(entries))
    if module.funcs:
        add(3, vec([uleb(t) for t in module.funcs]))
    if module.tables:
        add(4, vec([encode_tabletype(t) if module.table_init(i) is None
                    else b"\x40\x00" + encode_tabletype(t) + encode_expr(module.table_init(i))
                    for i, t in enumerate(module.tables)]))
    if module.mems:
        add(5, vec([encode_memtype(m) for m in module.mems]))
    if module.tags:
        add(13, vec([b"\x00" + uleb(t) for t in module.tags]))
    if module.globals:
        add(6, vec([encode_globaltype(g.type) + encode_expr(g.init) for g in module.globals]))
    if module.exports:
        add(7, vec([name_bytes(e.name) + bytes((int(e.kind),)) + uleb(e.index) for e in module.exports]))
    if module.start is not None:
        add(8, uleb(module.start))
    if module.elems:
        entries = []
        for i, seg in enumerate(module.elems):
            explicit = hints.elem_explicit_table[i] if i < len(hints.elem_explicit_table) else False
            as_idx = hints.elem_as_indices[i] if i < len(hints.elem_as_indices) else None
            entries.append(encode_elem(seg, explicit, as_idx))
        add(9, vec(entries))
    data_count = module.data_count
    if data_count is None and (hints.force_data_count or _uses_data_count(module)):
        data_count = len(module.datas)
    if data_count is not None:
        sections.append((12, _section(12, uleb(data_count))))
    if module.codes:
        bodies = []
        for code in module.codes:
            body = vec([uleb(n) + encode_valtype(t) for n, t in code.locals]) + encode_expr(code.body)
            bodies.append(uleb(len(body)) + body)
        add(10, vec(bodies))
    if module.datas:
        add(11, vec([encode_data(d) for d in module.datas]))

    # placement slots: "before X" = 3i+1, section X = 3i+2, "after X" = 3i+3 in canonical order
    items: list[tuple[int, int, bytes]] = []
    for seq, (ident, raw) in enumerate(sections):
        items.append((3 * SECTION_ORDER.index(ident) + 2, seq, raw))
    custom_slots = hints.custom_slots
    for seq, sec in enumerate(module.customs):
        if seq < len(custom_slots) and custom_slots[seq] is not None:
            slot = custom_slots[seq]
        elif sec.after == 0:
            slot = 0
        else:
            slot = 3 * SECTION_ORDER.index(sec.after) + 3 if sec.after in SECTION_ORDER else LAST_SLOT
        items.append((slot, len(sections) + seq, _custom(sec)))
    items.sort(key=lambda item: (item[0], item[1]))
    out = bytearray(MAGIC_VERSION)
    for _, _, raw in items:
        out += raw
    if not names.is_empty():
        out += _section(0, encode_names(names))
    return bytes(out)
