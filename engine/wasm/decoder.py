"""The WebAssembly 2.0 binary decoder: bytes -> WasmModule (engine/wasm/module.py).

It checks everything the binary format itself rules out (malformed modules) and leaves typing
rules to the validator. Instructions are decoded by one tight loop with a per-opcode dispatch
table; function bodies are read in order, and nothing is ever allocated from a declared count
before the bytes that back it have been seen, so decoding time and memory are linear in the
input."""

from __future__ import annotations

import gc
from typing import Any, Callable

from ..config import Features
from ..errors import MalformedError, UnsupportedError, WasmError
from .module import (CustomSection, DataSegment, ElemSegment, Export, FuncBody, Global, Import,
                     Instr, MemArg, PendingBody, SegmentMode, WasmModule)
from .names import parse_names
from .opcodes import INFO, PREFIX_MISC, PREFIX_SIMD, Catch, CatchKind, Imm, Op, TryTable
from .reader import (EOF_MODULE, EOF_SECTION, Reader, read_leb, read_s32, read_s33, read_s64,
                     read_u32)
from .types import (GC_HEAP_CODES, ExternKind, FuncType, GlobalType, HeapType, Limits,
                    MemoryType, TableType, ValType, ValueType, VALTYPE_BY_CODE, ref_type)

MAGIC = b"\x00asm"
VERSION = b"\x01\x00\x00\x00"

#: Marks the message of an error that only the last-resort handler in decode() caught.
SAFETY_NET = "decoder safety net"

#: Largest code section end (in bytes) for which the code section is read as a list of ints.
_CODE_LIST_LIMIT = 32 << 20

#: polyjit's limit on the parameters plus locals of one function (wasmtime has the same one).
MAX_LOCALS = 50_000

# Implementation limits: those of wasmparser, which wasmtime applies while parsing (checked
# against the installed wasmtime 50, same wording). A count is refused before anything it
# counts is read, so an oversized declaration is rejected at once.
MAX_TYPES = 1_000_000
MAX_FUNCTIONS = 1_000_000          # imported and defined
MAX_GLOBALS = 1_000_000            # imported and defined
MAX_TABLES = 100                   # imported and defined
MAX_MEMORIES = 100                 # imported and defined
MAX_TAGS = 1_000_000               # imported and defined
MAX_ELEMENT_SEGMENTS = 100_000
MAX_DATA_SEGMENTS = 100_000
MAX_PARAMS = 1_000                 # per function type
MAX_RESULTS = 1_000                # per function type
MAX_FUNCTION_SIZE = 7_654_321      # bytes of one function body


_REF_NULLABLE, _REF_NON_NULL = 0x63, 0x64
_ABSTRACT_HEAP = {h.value: h for h in HeapType}
#: the type section's GC forms (a function type is 0x60)
_GC_TYPE_FORMS = {0x4E: "rec", 0x50: "sub", 0x4F: "sub final", 0x5F: "struct", 0x5E: "array"}
#: first bytes of the reference types other than funcref/externref
_REF_TYPE_BYTES = frozenset((_REF_NULLABLE, _REF_NON_NULL, *_ABSTRACT_HEAP, *GC_HEAP_CODES))
SEC_TAG = 13
EXTERN_TAG = 4


def _limited(r: Reader, already: int, limit: int, what: str) -> int:
    """A section's item count, refused when it (plus `already` imported ones) exceeds `limit`."""
    at = r.pos
    n = r.count()
    if already + n > limit:
        raise MalformedError(f"{what} count exceeds limit of {limit}", at)
    return n

# Section ids and their required order (the data count section sits between element and code).
SEC_CUSTOM, SEC_TYPE, SEC_IMPORT, SEC_FUNCTION, SEC_TABLE, SEC_MEMORY, SEC_GLOBAL = range(7)
SEC_EXPORT, SEC_START, SEC_ELEMENT, SEC_CODE, SEC_DATA, SEC_DATACOUNT = range(7, 13)
_ORDER = {SEC_TYPE: 1, SEC_IMPORT: 2, SEC_FUNCTION: 3, SEC_TABLE: 4, SEC_MEMORY: 5,
          SEC_TAG: 6, SEC_GLOBAL: 7, SEC_EXPORT: 8, SEC_START: 9, SEC_ELEMENT: 10,
          SEC_DATACOUNT: 11, SEC_CODE: 12, SEC_DATA: 13}

_END = int(Op.END)
_REF_FUNC = int(Op.REF_FUNC)
#: the number types by their encoding (value types that no feature switches off)
_NUMBER_TYPES = {t.value: t for t in (ValType.I32, ValType.I64, ValType.F32, ValType.F64)}

# ---------------------------------------------------------------------------------------------
# Instruction dispatch. Each single-byte opcode maps to a small "kind" number the decode loop
# branches on; the most frequent kinds come first in the loop.

K_NONE = 0          # no immediate
K_U32 = 1           # one u32: local, global, label, function, table index
K_I32 = 2
K_MEMARG = 3
K_END = 4
K_BLOCK = 5         # block, loop, if
K_ELSE = 6
K_I64 = 7
K_F32 = 8
K_F64 = 9
K_BR_TABLE = 10
K_CALL_INDIRECT = 11
K_ZERO = 12         # memory.size / memory.grow: a zero byte
K_REFTYPE = 13
K_SELECT_T = 14
K_PREFIX_MISC = 15
K_PREFIX_SIMD = 16
K_ILLEGAL = 17
K_DISABLED = 18     # belongs to a proposal that `features` turns off
K_TRY_TABLE = 19

#: The catch clauses of try_table by their encoding.
_CATCH_KINDS = tuple(CatchKind)

_IMM_KIND = {Imm.NONE: K_NONE, Imm.LABEL: K_U32, Imm.FUNC: K_U32, Imm.LOCAL: K_U32,
             Imm.GLOBAL: K_U32, Imm.TABLE: K_U32, Imm.TYPE: K_U32, Imm.I32: K_I32, Imm.I64: K_I64,
             Imm.F32: K_F32, Imm.F64: K_F64, Imm.MEMARG: K_MEMARG, Imm.BLOCKTYPE: K_BLOCK,
             Imm.BR_TABLE: K_BR_TABLE, Imm.CALL_INDIRECT: K_CALL_INDIRECT, Imm.MEMORY: K_ZERO,
             Imm.REFTYPE: K_REFTYPE, Imm.SELECT_T: K_SELECT_T, Imm.TAG: K_U32,
             Imm.TRY_TABLE: K_TRY_TABLE}

#: The proposal each single-byte opcode belongs to (opcodes not listed are MVP).
_BYTE_FEATURE: dict[int, str] = {
    **{op: "sign_extension" for op in range(0xC0, 0xC5)},
    0x1C: "reference_types", 0x25: "reference_types", 0x26: "reference_types",
    0xD0: "reference_types", 0xD1: "reference_types", 0xD2: "reference_types",
    0x12: "tail_call", 0x13: "tail_call",
}
#: Opcodes that are illegal (as in 2.0) unless their proposal is enabled. (The legacy
#: exception opcodes try, catch, rethrow, delegate, catch_all, 0x06 0x07 0x09 0x18 0x19, are
#: illegal always: the legacy exception encoding is not needed.)
_BYTE_ILLEGAL_WITHOUT: dict[int, str] = {0x08: "exceptions", 0x0A: "exceptions",
                                         0x1F: "exceptions", 0xD4: "function_references",
                                         0x14: "function_references",
                                         0x15: "function_references",
                                         0xD5: "function_references",
                                         0xD6: "function_references"}


def _misc_feature(sub: int) -> str:
    if sub <= 7:
        return "saturating_float_to_int"
    if sub <= 14:
        return "bulk_memory"
    return "reference_types"


_KIND_CACHE: dict[Features, list[int]] = {}


def _kind_table(features: Features) -> list[int]:
    """The opcode-byte -> kind table for a feature set (opcodes of disabled proposals map to
    K_DISABLED so the hot loop pays nothing for feature checks)."""
    table = _KIND_CACHE.get(features)
    if table is not None:
        return table
    table = [K_ILLEGAL] * 256
    for code, info in INFO.items():
        if code <= 0xFF:
            table[code] = _IMM_KIND[info.imm]
    table[_END] = K_END
    table[int(Op.ELSE)] = K_ELSE
    table[PREFIX_MISC] = K_PREFIX_MISC
    table[PREFIX_SIMD] = K_PREFIX_SIMD if features.simd else K_DISABLED
    for op, feature in _BYTE_FEATURE.items():
        if not getattr(features, feature):
            table[op] = K_DISABLED
    for op, feature in _BYTE_ILLEGAL_WITHOUT.items():
        if not getattr(features, feature):
            table[op] = K_ILLEGAL
    _KIND_CACHE[features] = table
    return table


def _feature_of_byte(op: int) -> str:
    return "simd" if op == PREFIX_SIMD else _BYTE_FEATURE[op]


# Immediate kinds of the prefixed instructions, by sub-opcode.
_MISC_IMM: dict[int, Imm] = {code & 0xFFFFFF: info.imm for code, info in INFO.items()
                             if code >> 24 == PREFIX_MISC}
_SIMD_IMM: dict[int, Imm] = {code & 0xFFFFFF: info.imm for code, info in INFO.items()
                             if code >> 24 == PREFIX_SIMD}
_MISC_BASE = PREFIX_MISC << 24
_SIMD_BASE = PREFIX_SIMD << 24
_MISC_DATA_COUNT_USERS = {8, 9}    # memory.init, data.drop


#: a code section at least this large has its bodies left undecoded under `defer`
DEFER_MIN_BYTES = 64 << 10


def decode(data: bytes | bytearray | memoryview, features: Features | None = None,
           defer: bool = False) -> WasmModule:
    """Decode a binary module. Raises MalformedError (or FeatureDisabledError for a proposal
    `features` disables); no other exception escapes for any input. With `defer`, a large
    code section's bodies are left undecoded: PendingBody objects that decode on first use
    and raise then what a malformed one holds (decode_pending checks them all), the later
    half by bytes from code index `pending_split` of the module (so that two processes can
    decode and validate a half each); the rest of the module is checked as always, and an
    error found in it is raised only after every pending body is found well-formed (so the
    error is the one a whole decode raises)."""
    if features is None:
        features = Features()
    decoder = _Decoder(bytes(data), features, defer)
    try:
        return _guarded(decoder.module)
    except WasmError:
        if decoder.m.pending_split is not None:
            decode_pending(decoder.m)
        raise


def decode_pending(module: WasmModule) -> None:
    """Decode every body `decode` left pending, in order: the first malformed one raises."""
    if module.pending_split is not None:
        for code in module.codes:
            code.body                   # noqa: B018 - decodes it if pending


def _guarded(fn: Callable[[], Any]) -> Any:
    """fn(), the collector paused, every malformation a MalformedError."""
    # Decoding allocates millions of small acyclic objects; the cyclic collector would rescan
    # them again and again (making large modules quadratic), so it is paused meanwhile.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return fn()
    except WasmError:
        raise
    except (IndexError, ValueError, OverflowError, RecursionError, MemoryError,
            UnicodeDecodeError) as e:        # pragma: no cover - a safety net, not a code path
        # Every malformation has its own check; reaching this means one is missing (the
        # mutation tests look for SAFETY_NET in messages).
        raise MalformedError(f"malformed module ({SAFETY_NET}: {type(e).__name__}: {e})") \
            from None
    finally:
        if gc_was_enabled:
            gc.enable()


class _Decoder:
    """One decoding run over one binary."""

    def __init__(self, data: bytes, features: Features, defer: bool = False) -> None:
        self.data = data
        #: leave a large code section's bodies undecoded (`decode`)
        self.defer = defer
        #: End of the section being decoded (its declared size).
        self.section_end = 0
        self.features = features
        self.kinds = _kind_table(features)
        self.m = WasmModule()
        #: MemArg objects are immutable and shared; keyed by offset << 5 | align
        self.memargs: dict[int, MemArg] = {}
        #: (lowest data index, its offset) used by memory.init / data.drop without a data count
        #: section; checked once the data section is known (see finish)
        self.data_use: tuple[int, int] | None = None

    # -- top level -------------------------------------------------------------------------------

    def module(self) -> WasmModule:
        data = self.data
        if data[:4] != MAGIC:
            if len(data) < 4:
                raise MalformedError(EOF_MODULE, len(data))
            raise MalformedError("magic header not detected", 0)
        if data[4:8] != VERSION:
            if len(data) < 8:
                raise MalformedError(EOF_MODULE, len(data))
            raise MalformedError("unknown binary version", 4)
        r = Reader(data, 8, len(data), EOF_MODULE)
        last_order = 0
        last_id = 0
        while not r.at_end():
            at = r.pos
            sec_id = r.byte()
            size = r.length()
            start = r.pos
            if size > r.end - start:
                raise MalformedError(EOF_MODULE, r.end)
            end = start + size
            r.pos = end
            if sec_id == SEC_CUSTOM:
                self.custom(start, end, last_id)
                continue
            order = _ORDER.get(sec_id)
            if sec_id == SEC_TAG and not self.features.exceptions:
                order = None        # 2.0 has no tag section
            if order is None:
                raise MalformedError("malformed section id", at)
            if order <= last_order:
                raise MalformedError("unexpected content after last section", at)
            last_order = order
            last_id = sec_id
            # Like the reference decoder, a section's contents are read with only the end of the
            # binary as bound, and then must end exactly where the section's size said.
            sr = Reader(data, start, len(data), EOF_SECTION)
            self.section_end = end
            getattr(self, _SECTION_METHODS[sec_id])(sr)
            if sr.pos != end:
                raise MalformedError("section size mismatch", min(sr.pos, end))
        self.finish()
        return self.m

    def finish(self) -> None:
        m = self.m
        if len(m.funcs) != len(m.codes):
            raise MalformedError("function and code section have inconsistent lengths",
                                 len(self.data))
        if m.data_count is not None and m.data_count != len(m.datas):
            raise MalformedError("data count and data section have inconsistent lengths",
                                 len(self.data))
        if self.data_use is not None and self.data_use[0] < len(m.datas):
            # Code may name a data segment only when a data count section is present. (An index
            # that names no segment at all is left to the validator: "unknown data segment",
            # which is also what a module assembled from text without the section expects.)
            raise MalformedError("data count section required", self.data_use[1])
        if not self.features.mutable_globals:
            types = m.global_types()
            for exp in m.exports:
                if exp.kind == ExternKind.GLOBAL and exp.index < len(types) \
                        and types[exp.index].mutable:
                    self.features.require("mutable_globals")

    def custom(self, start: int, end: int, after: int) -> None:
        r = Reader(self.data, start, end, EOF_MODULE)
        name = r.name()
        payload = self.data[r.pos:end]
        self.m.customs.append(CustomSection(name, payload, after))
        if name == "name":
            self.m.names = parse_names(self.data, r.pos, end)

    # -- types -----------------------------------------------------------------------------------

    def valtype(self, r: Reader) -> ValueType:
        if r.pos >= r.end:
            raise MalformedError(r.eof, r.pos)
        t, r.pos = self.valtype_at(self.data, r.pos, r.end)
        return t

    def valtype_at(self, data, pos: int, end: int) -> tuple[ValueType, int]:
        """The value type encoded at `pos` and the position after it."""
        if pos >= end:
            raise MalformedError(EOF_SECTION, pos)
        b = data[pos]
        t = VALTYPE_BY_CODE.get(b)
        if t is None:
            return self.reftype_at(data, pos, end, "malformed value type")
        if t is ValType.V128:
            self.features.require("simd", pos)
        elif t is ValType.EXTERNREF or t is ValType.FUNCREF:
            self.features.require("reference_types", pos)
        return t, pos + 1

    def reftype(self, r: Reader) -> ValueType:
        if r.pos >= r.end:
            raise MalformedError(r.eof, r.pos)
        t, r.pos = self.reftype_at(self.data, r.pos, r.end)
        return t

    def reftype_at(self, data, pos: int, end: int,
                   malformed: str = "malformed reference type") -> tuple[ValueType, int]:
        """The reference type at `pos`: funcref/externref, or (ref null? ht) with
        function references enabled; and the position after it."""
        if pos >= end:
            raise MalformedError(EOF_SECTION, pos)
        b = data[pos]
        if b == 0x70:
            return ValType.FUNCREF, pos + 1
        if b in (0x6F, 0x69, 0x74, 0x73, 0x72) or b in GC_HEAP_CODES:
            if b == 0x6F:
                self.features.require("reference_types", pos)
            heap, after = self.heap_type_at(data, pos, end, malformed)
            return ref_type(True, heap), after
        if (b == _REF_NULLABLE or b == _REF_NON_NULL) and self.features.function_references:
            heap, after = self.heap_type_at(data, pos + 1, end, malformed)
            return ref_type(b == _REF_NULLABLE, heap), after
        raise MalformedError(malformed, pos)

    def heap_type_at(self, data, pos: int, end: int,
                     malformed: str = "malformed heap type") -> tuple[HeapType | int, int]:
        """A heap type (an abstract one's byte, or a type index as s33) and the position after."""
        if pos >= end:
            raise MalformedError(EOF_SECTION, pos)
        b = data[pos]
        heap = _ABSTRACT_HEAP.get(b)
        if heap is not None:
            if heap.top is HeapType.EXN and not self.features.exceptions:
                raise MalformedError(malformed, pos)
            if heap is not HeapType.FUNC and heap is not HeapType.EXTERN \
                    and heap is not HeapType.EXN:
                if not self.features.function_references:
                    raise MalformedError(malformed, pos)
            return heap, pos + 1
        if b in GC_HEAP_CODES:
            if self.features.function_references:
                raise UnsupportedError(f"the GC proposal (heap type "
                                       f"{GC_HEAP_CODES[b]})")
            raise MalformedError(malformed, pos)
        if not self.features.function_references:
            raise MalformedError(malformed, pos)
        index, after = read_s33(data, pos, end, EOF_SECTION)
        if index < 0:
            raise MalformedError(malformed, pos)
        return index, after

    def limits(self, r: Reader) -> tuple[Limits, bool]:
        """Limits and whether they are 64-bit (flag 0x04, memory64: sizes are u64)."""
        at = r.pos
        flags = r.byte()       # a 1-bit LEB128 in 2.0, as the reference decoder reads it
        # sizes are u64 in 3.0 (memory64) whatever the address type: the validator bounds them
        size = r.u64 if self.features.memory64 else r.u32
        if flags == 0x00:
            return Limits(size()), False
        if flags == 0x01:
            lo = size()
            return Limits(lo, size()), False
        if flags in (0x02, 0x03, 0x06, 0x07):
            raise MalformedError("integer too large: limits flag 0x02 (shared) needs the threads "
                                 "proposal, which polyjit does not support", at)
        if flags & 0x80:
            raise MalformedError("integer representation too long: malformed limits flags", at)
        if flags in (0x04, 0x05) and self.features.memory64:
            lo = size()
            return Limits(lo, size() if flags == 0x05 else None), True
        raise MalformedError(f"integer too large: malformed limits flags {flags:#04x}", at)

    def table_type(self, r: Reader) -> TableType:
        element = self.reftype(r)
        limits, is_64 = self.limits(r)
        return TableType(element, limits, is_64)

    def memory_type(self, r: Reader) -> MemoryType:
        limits, is_64 = self.limits(r)
        return MemoryType.decoded(limits, is_64)

    def global_type(self, r: Reader) -> GlobalType:
        t = self.valtype(r)
        at = r.pos
        mut = r.byte()
        if mut > 1:
            raise MalformedError("malformed mutability", at)
        return GlobalType(t, mut == 1)

    # -- sections --------------------------------------------------------------------------------

    def sec_type(self, r: Reader) -> None:
        types = self.m.types
        for _ in range(_limited(r, 0, MAX_TYPES, "types")):
            at = r.pos
            form = r.byte()
            if form != 0x60:
                if form in _GC_TYPE_FORMS and self.features.function_references:
                    raise UnsupportedError(f"the GC proposal "
                                           f"({_GC_TYPE_FORMS[form]})")
                raise MalformedError("integer representation too long: malformed function type "
                                     "(expected 0x60)", at)
            params = [self.valtype(r) for _ in range(_limited(r, 0, MAX_PARAMS, "function params"))]
            results = [self.valtype(r)
                       for _ in range(_limited(r, 0, MAX_RESULTS, "function results"))]
            if len(results) > 1:
                self.features.require("multi_value", at)
            types.append(FuncType(params, results))

    def sec_import(self, r: Reader) -> None:
        imports = self.m.imports
        counts = [0, 0, 0, 0, 0]
        limits = ((MAX_FUNCTIONS, "functions"), (MAX_TABLES, "tables"), (MAX_MEMORIES, "memories"),
                  (MAX_GLOBALS, "globals"), (MAX_TAGS, "tags"))
        for _ in range(r.count()):
            module = r.name()
            name = r.name()
            at = r.pos
            kind = r.byte()
            if kind == ExternKind.FUNC:
                desc = r.u32()
            elif kind == ExternKind.TABLE:
                desc = self.table_type(r)
            elif kind == ExternKind.MEMORY:
                desc = self.memory_type(r)
            elif kind == ExternKind.GLOBAL:
                desc = self.global_type(r)
                if desc.mutable:
                    self.features.require("mutable_globals", at)
            elif kind == EXTERN_TAG and self.features.exceptions:
                desc = self.tag_type(r)
            else:
                raise MalformedError("malformed import kind", at)
            imports.append(Import(module, name, ExternKind(kind), desc))
            counts[kind] += 1
            if counts[kind] > limits[kind][0]:
                raise MalformedError(f"{limits[kind][1]} count exceeds limit of {limits[kind][0]}", at)

    def _imported(self, kind: ExternKind) -> int:
        return sum(1 for imp in self.m.imports if imp.kind == kind)

    def sec_function(self, r: Reader) -> None:
        n = _limited(r, self._imported(ExternKind.FUNC), MAX_FUNCTIONS, "functions")
        self.m.funcs = [r.u32() for _ in range(n)]

    def sec_table(self, r: Reader) -> None:
        n = _limited(r, self._imported(ExternKind.TABLE), MAX_TABLES, "tables")
        tables = []
        inits: list[list[Instr] | None] = []
        for _ in range(n):
            init = None
            if (self.features.function_references and r.pos + 1 < r.end
                    and self.data[r.pos] == 0x40 and self.data[r.pos + 1] == 0):
                r.pos += 2                       # a table type with an initialiser expression
                tables.append(self.table_type(r))
                init = self.expr(r)
            else:
                tables.append(self.table_type(r))
            inits.append(init)
        self.m.tables = tables
        self.m.table_inits = inits

    def sec_memory(self, r: Reader) -> None:
        n = _limited(r, self._imported(ExternKind.MEMORY), MAX_MEMORIES, "memories")
        self.m.mems = [self.memory_type(r) for _ in range(n)]

    def tag_type(self, r: Reader) -> int:
        """A tag's type: its attribute (0: an exception) and its function type's index."""
        at = r.pos
        if r.byte() != 0:
            raise MalformedError("malformed tag attribute", at)
        return r.u32()

    def sec_tag(self, r: Reader) -> None:
        n = _limited(r, self._imported(ExternKind.TAG), MAX_TAGS, "tags")
        self.m.tags = [self.tag_type(r) for _ in range(n)]

    def sec_global(self, r: Reader) -> None:
        out = self.m.globals
        for _ in range(_limited(r, self._imported(ExternKind.GLOBAL), MAX_GLOBALS, "globals")):
            gt = self.global_type(r)
            out.append(Global(gt, self.expr(r)))

    def sec_export(self, r: Reader) -> None:
        out = self.m.exports
        for _ in range(r.count()):
            name = r.name()
            at = r.pos
            kind = r.byte()
            if kind > 3 and not (kind == EXTERN_TAG and self.features.exceptions):
                raise MalformedError("malformed export kind", at)
            out.append(Export(name, ExternKind(kind), r.u32()))

    def sec_start(self, r: Reader) -> None:
        self.m.start = r.u32()

    def sec_element(self, r: Reader) -> None:
        out = self.m.elems
        for _ in range(_limited(r, 0, MAX_ELEMENT_SEGMENTS, "element segments")):
            at = r.pos
            flags = r.u32()
            if flags > 7:
                raise MalformedError("malformed elements segment kind", at)
            if flags in (1, 5):
                self.features.require("bulk_memory", at)
            elif flags != 0:
                self.features.require("reference_types", at)
            table = 0
            offset = None
            if flags & 1:
                mode = SegmentMode.DECLARATIVE if flags & 2 else SegmentMode.PASSIVE
            else:
                mode = SegmentMode.ACTIVE
                if flags & 2:
                    table = r.u32()
                offset = self.expr(r)
            if flags & 4:                       # expressions
                etype = self.reftype(r) if flags & 3 else ValType.FUNCREF
                init = [self.expr(r) for _ in range(r.count())]
            else:                               # function indices
                if flags & 3:
                    kind_at = r.pos
                    if r.byte() != 0x00:
                        raise MalformedError("malformed element kind", kind_at)
                # 3.0: a segment of function indices holds non-null references, (ref func)
                etype = (ref_type(False, HeapType.FUNC) if self.features.function_references
                         else ValType.FUNCREF)
                init = []
                for _ in range(r.count()):
                    iat = r.pos
                    index = r.u32()
                    init.append([Instr(_REF_FUNC, index, iat), Instr(_END, None, r.pos)])
            out.append(ElemSegment(mode, etype, init, table, offset))

    def sec_datacount(self, r: Reader) -> None:
        self.m.data_count = r.u32()

    def sec_code(self, r: Reader) -> None:
        codes = self.m.codes
        base = r.pos
        end = self.section_end
        # a large code section's bodies are left to whoever uses them (`decode`'s `defer`)
        pending = self.defer and end - base >= DEFER_MIN_BYTES
        if pending:
            code_list = self.data
        elif base <= end - base and end <= _CODE_LIST_LIMIT:
            # The code section as a list of ints: indexing a list is much faster than indexing
            # bytes in CPython's specialising interpreter, and the instruction loop does little
            # else. Positions stay absolute: the list is padded with what precedes the code
            # section (as long as that is no bigger than the code itself; otherwise, or for a
            # huge module, the bytes are read as they are: a list costs 8 bytes of memory per
            # byte).
            code_list = [0] * base
            code_list += self.data[base:end]
        else:
            code_list = self.data
        half = base + (end - base) // 2
        funcs = self.m.funcs
        types = self.m.types
        for index in range(r.count()):
            size_at = r.pos
            size = r.length()
            if size > MAX_FUNCTION_SIZE:
                raise MalformedError(f"function body size count exceeds limit of {MAX_FUNCTION_SIZE}",
                                     size_at)
            body_end = r.pos + size
            # parameters count towards the limit too (as in wasmtime); an unknown type index is
            # left for the validator to report
            nparams = 0
            if index < len(funcs) and funcs[index] < len(types):
                nparams = len(types[funcs[index]].param_types)
            start = r.pos
            locals_ = self.locals(r, nparams)
            code_at = r.pos
            if pending and body_end <= end:
                if self.m.pending_split is None and (start >= half and index):
                    self.m.pending_split = index
                codes.append(PendingBody(locals_, code_at, start, self._pending(body_end),
                                         body_end - code_at))
                r.pos = body_end
                continue
            codes.append(FuncBody(locals_, self.body(code_at, body_end, code_list), code_at,
                                  start))
            r.pos = body_end
        if pending and self.m.pending_split is None:
            self.m.pending_split = max(len(codes) - 1, 0)

    def body(self, pos: int, body_end: int, data) -> list[Instr]:
        """The instructions of a function body from `pos`, which must end at `body_end` (its
        declared size); `data` as `instrs` takes it."""
        body, end = self.instrs(pos, data)
        if end != body_end:
            raise MalformedError("section size mismatch: function body size does not match "
                                 "its contents", min(end, body_end))
        return body

    def _pending(self, body_end: int) -> Callable[[PendingBody], list[Instr]]:
        """How a PendingBody ending at `body_end` decodes: as sec_code would have, and with
        the data count rule finish() applies to the bodies decoded at once."""
        def decode_body(pending: PendingBody) -> list[Instr]:
            def run() -> list[Instr]:
                before = self.data_use
                body = self.body(pending.offset, body_end, self.data)
                use = self.data_use
                if use is not before and use is not None and use[0] < len(self.m.datas):
                    raise MalformedError("data count section required", use[1])
                return body
            return _guarded(run)
        return decode_body

    def locals(self, r: Reader, nparams: int) -> tuple[tuple[int, ValType], ...]:
        """Local declarations: "too many locals" beyond 2^32 - 1 (the spec's limit), and a
        clear error beyond MAX_LOCALS parameters plus locals (polyjit's own limit)."""
        data = self.data
        end = r.end
        out = []
        total = 0
        for _ in range(r.count()):
            at = r.pos
            n, pos = read_u32(data, at, end, r.eof)
            total += n
            if total > 0xFFFF_FFFF:
                raise MalformedError("too many locals", at)
            t = _NUMBER_TYPES.get(data[pos]) if pos < end else None
            if t is None:           # not a number type: the general reader
                r.pos = pos
                t = self.valtype(r)
            else:
                r.pos = pos + 1
            if n:
                out.append((n, t))
        if total + nparams > MAX_LOCALS:
            raise MalformedError(f"too many locals: {total} locals and {nparams} parameters, "
                                 f"polyjit allows at most {MAX_LOCALS} per function", r.pos)
        return tuple(out)

    def sec_data(self, r: Reader) -> None:
        n = _limited(r, 0, MAX_DATA_SEGMENTS, "data segments")
        out = self.m.datas
        for _ in range(n):
            fat = r.pos
            flags = r.u32()
            if flags == 0:
                offset = self.expr(r)
                out.append(DataSegment(SegmentMode.ACTIVE, r.byte_vec(), 0, offset))
            elif flags == 1:
                self.features.require("bulk_memory", fat)
                out.append(DataSegment(SegmentMode.PASSIVE, r.byte_vec()))
            elif flags == 2:
                memory = r.u32()
                offset = self.expr(r)
                out.append(DataSegment(SegmentMode.ACTIVE, r.byte_vec(), memory, offset))
            else:
                raise MalformedError("malformed data segment kind", fat)

    # -- expressions -----------------------------------------------------------------------------

    def expr(self, r: Reader) -> list[Instr]:
        """A constant expression inside a section (read like a body; the validator checks that
        it is constant)."""
        body, r.pos = self.instrs(r.pos, self.data)
        return body

    def memarg(self, data, pos: int, end: int) -> tuple[MemArg, int]:
        """Alignment flags, memory index (multi-memory: flag bit 6) and offset (u64 with
        memory64; the validator bounds it by the memory's address type)."""
        at = pos
        flags, pos = read_u32(data, pos, end)
        memory = 0
        features = self.features
        if features.multi_memory:
            if flags >= 0x80:
                raise MalformedError("malformed memop flags", at)
            if flags & 0x40:
                memory, pos = read_u32(data, pos, end)
                flags &= 0x3F
        elif flags >= 32:
            raise MalformedError("malformed memop flags", at)
        if features.memory64:
            offset, pos = read_leb(data, pos, end, 64, False)
        else:
            offset, pos = read_u32(data, pos, end)
        if memory:
            return MemArg(flags, offset, memory), pos
        key = offset << 5 | flags
        ma = self.memargs.get(key)
        if ma is None:
            ma = self.memargs[key] = MemArg(flags, offset)
        return ma, pos

    def memory_index(self, data, pos: int) -> tuple[int, int]:
        """The memory index of memory.size/grow/fill/copy/init: a u32 with multi-memory, else
        the zero byte."""
        if self.features.multi_memory:
            return read_u32(data, pos, len(data))
        return 0, self.zero_byte(data, pos)

    def instrs(self, pos: int, data) -> tuple[list[Instr], int]:
        """Decode instructions from `pos` up to and including the `end` that closes the
        expression; returns (instructions, position after). `data` is the binary, or a list of
        its ints up to the end of the code section. Like the reference decoder, reading is
        bounded by `data`, not by the function's or section's declared size: callers compare the
        end position with that size afterwards (so a missing `end` reports the opcode found
        instead)."""
        try:
            return self._instrs(data, pos)
        except IndexError:
            if data is not self.data and len(data) < len(self.data):
                # Ran past the code section (a malformed body): finish reading in the whole
                # binary, as the reference decoder does, so the error is the one it reports.
                return self.instrs(pos, self.data)
            raise MalformedError(EOF_SECTION, len(data)) from None

    def _instrs(self, data, pos: int) -> tuple[list[Instr], int]:
        kinds = self.kinds
        memargs = self.memargs
        out: list[Instr] = []
        ctl: list[int] = []          # open blocks: 0 block/loop, 1 if, 2 if after its else
        n = len(data)
        # Hot loop: names bound locally, kinds compared as literals (see the K_* constants).
        # Each branch leaves the immediate in `b` for the one Instr made at the bottom.
        Instr_ = Instr
        new = object.__new__
        append = out.append
        raw = self.data
        valtypes = VALTYPE_BY_CODE
        u32 = read_u32
        while True:
            start = pos
            op = data[pos]
            pos += 1
            k = kinds[op]
            if k == 1:   # K_U32
                b = data[pos]
                if b < 0x80:
                    pos += 1
                elif data[pos + 1] < 0x80:                  # two bytes
                    b = (b & 0x7F) | data[pos + 1] << 7
                    pos += 2
                else:
                    b, pos = u32(data, pos, n)
            elif k == 0:   # K_NONE
                b = None
            elif k == 2:   # K_I32
                b = data[pos]
                if b < 0x40:
                    pos += 1
                elif b < 0x80:
                    b -= 0x80
                    pos += 1
                elif data[pos + 1] < 0x80:                  # two bytes
                    b = (b & 0x7F) | data[pos + 1] << 7
                    if b & 0x2000:
                        b -= 0x4000
                    pos += 2
                else:
                    b, pos = read_s32(data, pos, n)
            elif k == 3:   # K_MEMARG
                align = data[pos]
                offset = data[pos + 1]
                if align < 32 and (offset < 0x80 or pos + 2 < n and data[pos + 2] < 0x80):
                    if offset < 0x80:
                        pos += 2
                    else:                                   # a two-byte offset
                        offset = (offset & 0x7F) | data[pos + 2] << 7
                        pos += 3
                    key = offset << 5 | align
                    b = memargs.get(key)
                    if b is None:
                        b = memargs[key] = MemArg(align, offset)
                else:
                    b, pos = self.memarg(data, pos, n)
            elif k == 4:   # K_END
                b = None
                if not ctl:
                    append(Instr_(op, None, start))
                    return out, pos
                ctl.pop()
            elif k == 5:   # K_BLOCK
                c = data[pos]
                if c == 0x40:
                    b = None
                    pos += 1
                else:
                    b = valtypes.get(c)
                    if b is not None and c >= 0x6F:
                        pos += 1
                        if b is ValType.V128 and not self.features.simd:
                            self.features.require("simd", pos - 1)
                        elif b.is_ref and not self.features.reference_types:
                            self.features.require("reference_types", pos - 1)
                    elif c in _REF_TYPE_BYTES:   # another reference type
                        b, pos = self.reftype_at(data, pos, n, "malformed value type")
                    else:
                        b, pos = self.block_type_index(data, pos)
                ctl.append(1 if op == 0x04 else 0)
            elif k == 6:   # K_ELSE
                if not ctl or ctl[-1] != 1:
                    raise MalformedError("END opcode expected (else outside an if block)", start)
                ctl[-1] = 2
                b = None
            elif k == 7:   # K_I64
                b = data[pos]
                if b < 0x40:
                    pos += 1
                elif b < 0x80:
                    b -= 0x80
                    pos += 1
                else:
                    b, pos = read_s64(data, pos, n)
            elif k == 8:   # K_F32
                if pos + 4 > n:
                    raise IndexError
                b = int.from_bytes(raw[pos:pos + 4], "little")
                pos += 4
            elif k == 9:   # K_F64
                if pos + 8 > n:
                    raise IndexError
                b = int.from_bytes(raw[pos:pos + 8], "little")
                pos += 8
            elif k == 10:   # K_BR_TABLE
                count_at = pos
                count, pos = u32(data, pos, n)
                if count > n - count_at:
                    raise MalformedError("length out of bounds", count_at)
                labels = []
                for _ in range(count):
                    b = data[pos]
                    if b < 0x80:
                        pos += 1
                    else:
                        b, pos = u32(data, pos, n)
                    labels.append(b)
                default, pos = u32(data, pos, n)
                b = (tuple(labels), default)
            elif k == 11:   # K_CALL_INDIRECT
                type_index, pos = u32(data, pos, n)
                table_at = pos
                table, pos = u32(data, pos, n)
                if table != 0 or pos - table_at != 1:
                    self.features.require("reference_types", table_at)
                b = (type_index, table)
            elif k == 12:   # K_ZERO
                if data[pos] == 0:
                    pos += 1
                    b = 0
                else:
                    b, pos = self.memory_index(data, pos)
            elif k == 13:   # K_REFTYPE (ref.null's heap type)
                c = data[pos]
                if c == 0x70:
                    b = ValType.FUNCREF
                    pos += 1
                elif c == 0x6F:
                    b = ValType.EXTERNREF
                    pos += 1
                else:
                    heap, pos = self.heap_type_at(data, pos, n, "malformed reference type")
                    b = ref_type(True, heap)
            elif k == 14:   # K_SELECT_T
                count_at = pos
                count, pos = u32(data, pos, n)
                if count > n - count_at:
                    raise MalformedError("length out of bounds", count_at)
                types = []
                for _ in range(count):
                    t, pos = self.valtype_at(data, pos, n)
                    types.append(t)
                b = tuple(types)
            elif k == 15:   # K_PREFIX_MISC
                pos = self.misc(data, pos, start, append)
                continue
            elif k == 16:   # K_PREFIX_SIMD
                pos = self.simd(data, pos, start, append)
                continue
            elif k == 19:   # K_TRY_TABLE
                b, pos = self.try_table(data, pos, n)
                ctl.append(0)
            elif k == 18:   # K_DISABLED
                self.features.require(_feature_of_byte(op), start)
                raise AssertionError("unreachable")  # pragma: no cover
            else:
                raise MalformedError(f"illegal opcode {op:#04x}", start)
            # Instr's fields set directly: much cheaper than calling its (Python) __init__
            ins = new(Instr_)
            ins.op = op
            ins.imm = b
            ins.offset = start
            append(ins)

    def try_table(self, data, pos: int, n: int) -> tuple[TryTable, int]:
        """try_table's immediate: a block type, then a vector of catch clauses (a kind byte,
        a tag index for catch / catch_ref, a label)."""
        if data[pos] == 0x40:
            bt = None
            pos += 1
        elif data[pos] in _REF_TYPE_BYTES or data[pos] in VALTYPE_BY_CODE:
            bt, pos = self.valtype_at(data, pos, n)
        else:
            bt, pos = self.block_type_index(data, pos)
        count_at = pos
        count, pos = read_u32(data, pos, n)
        if count > n - count_at:
            raise MalformedError("length out of bounds", count_at)
        catches = []
        for _ in range(count):
            kind_at = pos
            kind = data[pos]
            pos += 1
            if kind > 3:
                raise MalformedError(f"malformed catch clause kind {kind:#04x}", kind_at)
            tag = None
            if kind <= 1:
                tag, pos = read_u32(data, pos, n)
            label, pos = read_u32(data, pos, n)
            catches.append(Catch(_CATCH_KINDS[kind], tag, label))
        return TryTable(bt, tuple(catches)), pos

    def block_type_index(self, data: bytes, pos: int) -> tuple[int, int]:
        at = pos
        index, pos = read_s33(data, pos, len(data))
        if index < 0:
            raise MalformedError("malformed block type (not a value type or type index)", at)
        self.features.require("multi_value", at)
        return index, pos

    def misc(self, data: bytes, pos: int, start: int, append) -> int:
        """A 0xFC-prefixed instruction."""
        n = len(data)
        sub, pos = read_u32(data, pos, n)
        imm_kind = _MISC_IMM.get(sub)
        if imm_kind is None:
            raise MalformedError(f"illegal opcode 0xfc {sub}", start)
        self.features.require(_misc_feature(sub), start)
        if imm_kind is Imm.NONE:
            imm = None
        elif imm_kind is Imm.MEMORY_INIT:
            index, pos = read_u32(data, pos, n)
            memory, pos = self.memory_index(data, pos)
            imm = (index, memory)
        elif imm_kind is Imm.MEMORY_COPY:
            dst, pos = self.memory_index(data, pos)
            src, pos = self.memory_index(data, pos)
            imm = (dst, src)
        elif imm_kind is Imm.MEMORY:
            imm, pos = self.memory_index(data, pos)
        elif imm_kind is Imm.TABLE_INIT or imm_kind is Imm.TABLE_COPY:
            a, pos = read_u32(data, pos, n)
            b, pos = read_u32(data, pos, n)
            imm = (a, b)
        else:                           # DATA, ELEM, TABLE: one index
            imm, pos = read_u32(data, pos, n)
        if sub in _MISC_DATA_COUNT_USERS and self.m.data_count is None:
            index = imm[0] if sub == 8 else imm
            if self.data_use is None or index < self.data_use[0]:
                self.data_use = (index, start)
        append(Instr(_MISC_BASE | sub, imm, start))
        return pos

    @staticmethod
    def zero_byte(data: bytes, pos: int) -> int:
        if data[pos] != 0:
            raise MalformedError("zero byte expected", pos)
        return pos + 1

    def simd(self, data: bytes, pos: int, start: int, append) -> int:
        """A 0xFD-prefixed instruction (the kind table already checked the simd feature)."""
        n = len(data)
        sub, pos = read_u32(data, pos, n)
        imm_kind = _SIMD_IMM.get(sub)
        if imm_kind is None:
            raise MalformedError(f"illegal opcode 0xfd {sub}", start)
        if imm_kind is Imm.NONE:
            imm = None
        elif imm_kind is Imm.MEMARG:
            imm, pos = self.memarg(data, pos, n)
        elif imm_kind is Imm.V128 or imm_kind is Imm.SHUFFLE:
            if pos + 16 > n:
                raise IndexError
            imm = self.data[pos:pos + 16]
            pos += 16
        elif imm_kind is Imm.LANE:
            imm = data[pos]
            pos += 1
        else:                           # MEMARG_LANE
            ma, pos = self.memarg(data, pos, n)
            imm = (ma, data[pos])
            pos += 1
        append(Instr(_SIMD_BASE | sub, imm, start))
        return pos


_SECTION_METHODS = {SEC_TYPE: "sec_type", SEC_IMPORT: "sec_import", SEC_FUNCTION: "sec_function",
                    SEC_TABLE: "sec_table", SEC_MEMORY: "sec_memory", SEC_TAG: "sec_tag",
                    SEC_GLOBAL: "sec_global",
                    SEC_EXPORT: "sec_export", SEC_START: "sec_start",
                    SEC_ELEMENT: "sec_element", SEC_DATACOUNT: "sec_datacount",
                    SEC_CODE: "sec_code", SEC_DATA: "sec_data"}
