"""WebAssembly types, shaped like wasmtime-py's: ValType, FuncType, Limits, memory/table/global types.

Reference types (typed function references, WebAssembly 3.0): a reference type is
(ref null? ht) with a heap type ht that is a `HeapType` (func, extern, exn and their bottoms
nofunc, noextern, noexn) or a concrete type index (an int, a function type of the module).
The abbreviations stay `ValType` members: ``ValType.FUNCREF`` is (ref null func),
``ValType.EXTERNREF`` is (ref null extern), ``ValType.EXNREF`` is (ref null exn); every other reference type is a
`RefType`. `ref_type` is the one normalising constructor, so equal types are equal objects
(``ref_type(True, HeapType.FUNC) is ValType.FUNCREF``). Both classes answer ``nullable``,
``heap`` and ``top`` (the abbreviation whose values share the representation: funcref for
every function reference, externref for extern ones, exnref for exception ones), so executors ask ``t.top`` and never
see a concrete type. Subtyping is ``engine.wasm.subtyping``'s. GC heap types (any, eq, i31,
struct, array, none) are "not supported yet: the GC proposal".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Iterable, Union

from ..errors import ArgumentTypeError, WasmError


class ValType(enum.Enum):
    """A value type. `ValType.i32()` etc. return the members, as wasmtime-py's constructors do."""

    I32 = 0x7F
    I64 = 0x7E
    F32 = 0x7D
    F64 = 0x7C
    V128 = 0x7B
    FUNCREF = 0x70
    EXTERNREF = 0x6F
    EXNREF = 0x69

    # Members are singletons compared by identity: hashing them by identity too (a C slot)
    # spares every dict keyed by signatures Enum's hash, a Python call per member.
    __hash__ = object.__hash__

    @staticmethod
    def i32() -> ValType:
        return ValType.I32

    @staticmethod
    def i64() -> ValType:
        return ValType.I64

    @staticmethod
    def f32() -> ValType:
        return ValType.F32

    @staticmethod
    def f64() -> ValType:
        return ValType.F64

    @staticmethod
    def v128() -> ValType:
        return ValType.V128

    @staticmethod
    def funcref() -> ValType:
        return ValType.FUNCREF

    @staticmethod
    def externref() -> ValType:
        return ValType.EXTERNREF

    @staticmethod
    def exnref() -> ValType:
        return ValType.EXNREF

    @property
    def is_num(self) -> bool:
        return self in (ValType.I32, ValType.I64, ValType.F32, ValType.F64)

    @property
    def is_ref(self) -> bool:
        return self in (ValType.FUNCREF, ValType.EXTERNREF, ValType.EXNREF)

    @property
    def nullable(self) -> bool:
        """Whether a reference type admits null (the abbreviations do)."""
        return self.is_ref

    @property
    def heap(self) -> HeapType | None:
        """A reference type's heap type (None for a number or vector type)."""
        return _HEAP_OF.get(self)

    @property
    def top(self) -> ValType:
        """The type whose values share this one's representation (itself)."""
        return self

    def __str__(self) -> str:
        return self.name.lower()

    def __repr__(self) -> str:
        # wasmtime-py prints a ValType as its name: [i32, i64]
        return self.name.lower()


#: Value types by their binary encoding.
VALTYPE_BY_CODE: dict[int, ValType] = {t.value: t for t in ValType if t is not ValType.EXNREF}


class HeapType(enum.Enum):
    """The abstract heap types of function references, extern and exception references, by
    their binary encoding (a concrete heap type is a type index, an int)."""

    FUNC = 0x70
    EXTERN = 0x6F
    EXN = 0x69
    NOFUNC = 0x73
    NOEXTERN = 0x72
    NOEXN = 0x74

    @property
    def top(self) -> HeapType:
        """The top of this heap type's hierarchy (func, extern or exn)."""
        return _HEAP_TOP[self]

    def __str__(self) -> str:
        return self.name.lower()

    __repr__ = __str__


#: GC heap types by their encoding (refused as "not supported yet: the GC proposal").
GC_HEAP_CODES = {0x6E: "any", 0x6D: "eq", 0x6C: "i31", 0x6B: "struct", 0x6A: "array",
                 0x71: "none"}
_HEAP_TOP = {HeapType.FUNC: HeapType.FUNC, HeapType.NOFUNC: HeapType.FUNC,
             HeapType.EXTERN: HeapType.EXTERN, HeapType.NOEXTERN: HeapType.EXTERN,
             HeapType.EXN: HeapType.EXN, HeapType.NOEXN: HeapType.EXN}
_HEAP_OF = {ValType.FUNCREF: HeapType.FUNC, ValType.EXTERNREF: HeapType.EXTERN,
            ValType.EXNREF: HeapType.EXN}
Heap = Union[HeapType, int]


@dataclass(slots=True, frozen=True)
class RefType:
    """A reference type other than funcref/externref: (ref null? heap). Build with `ref_type`."""

    nullable: bool
    heap: Heap

    @property
    def is_num(self) -> bool:
        return False

    @property
    def is_ref(self) -> bool:
        return True

    @property
    def top(self) -> ValType:
        """funcref for a function reference, externref for an extern reference, exnref for
        an exception reference."""
        h = self.heap
        if isinstance(h, int) or h.top is HeapType.FUNC:
            return ValType.FUNCREF
        if h.top is HeapType.EXTERN:
            return ValType.EXTERNREF
        return ValType.EXNREF

    def __str__(self) -> str:
        return f"(ref {'null ' if self.nullable else ''}{self.heap})"

    __repr__ = __str__


#: A value type: a ValType member or a RefType.
ValueType = Union[ValType, RefType]


def ref_type(nullable: bool, heap: Heap) -> ValueType:
    """The reference type (ref null? heap), as the abbreviation where one exists."""
    if nullable and heap is HeapType.FUNC:
        return ValType.FUNCREF
    if nullable and heap is HeapType.EXTERN:
        return ValType.EXTERNREF
    if nullable and heap is HeapType.EXN:
        return ValType.EXNREF
    return RefType(bool(nullable), heap)


def top_functype(ft: FuncType) -> FuncType:
    """`ft` with each reference type replaced by its ``top`` (ft itself when that is no change)."""
    if not any(isinstance(t, RefType) for t in ft.param_types + ft.result_types):
        return ft
    return FuncType([t.top for t in ft.param_types], [t.top for t in ft.result_types])


def is_valtype(t: object) -> bool:
    """Whether `t` is a value type (a ValType or a RefType)."""
    return isinstance(t, (ValType, RefType))


class FuncType:
    """A function signature. ``params`` and ``results`` are lists (a fresh copy on each read,
    as in wasmtime-py); ``param_types`` and ``result_types`` the tuples behind them. Equal
    signatures compare equal and hash alike."""

    __slots__ = ("param_types", "result_types", "__weakref__")

    def __init__(self, params: Iterable[ValType] = (), results: Iterable[ValType] = ()) -> None:
        p, r = tuple(params), tuple(results)
        for t in p + r:
            if not isinstance(t, (ValType, RefType)):
                raise ArgumentTypeError(f"FuncType expects ValTypes, got {type(t).__name__}")
        object.__setattr__(self, "param_types", p)
        object.__setattr__(self, "result_types", r)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("FuncType is immutable")

    @property
    def params(self) -> list[ValType]:
        return list(self.param_types)

    @property
    def results(self) -> list[ValType]:
        return list(self.result_types)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FuncType):
            return NotImplemented
        return self.param_types == other.param_types and self.result_types == other.result_types

    def __hash__(self) -> int:
        return hash((self.param_types, self.result_types))

    def __reduce__(self):
        return (FuncType, (self.param_types, self.result_types))

    def __str__(self) -> str:
        return (f"[{' '.join(map(str, self.param_types))}] -> "
                f"[{' '.join(map(str, self.result_types))}]")

    def __repr__(self) -> str:
        return f"FuncType({list(self.param_types)}, {list(self.result_types)})"


@dataclass(slots=True, frozen=True)
class Limits:
    """Size limits of a memory (in pages) or table (in elements)."""

    min: int
    max: int | None = None

    def __post_init__(self) -> None:
        for v in (self.min, self.max):
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                raise ArgumentTypeError(f"Limits expects non-negative ints, got {v!r}")

    def __str__(self) -> str:
        return f"{self.min}" if self.max is None else f"{self.min}..{self.max}"


@dataclass(slots=True, frozen=True, init=False)
class MemoryType:
    """A linear memory's type: limits in pages of ``page_size`` bytes (64 KiB unless the
    custom-page-sizes proposal's ``page_size_log2=0``), 32- or 64-bit indices, shared or not.
    The constructor checks what wasmtime checks (WasmError): the limits fit the index type
    (2**16 pages of 64 KiB for 32-bit memories, 2**48 for 64-bit ones), a shared memory has a
    maximum, the page size is 2**16 or 2**0. Decoded modules use ``MemoryType.decoded`` (the
    validator reports their limits)."""

    limits: Limits
    is_64: bool
    shared: bool
    page_size_log2: int

    def __init__(self, limits: Limits, is_64: bool = False, shared: bool = False,
                 page_size_log2: int = 16) -> None:
        if not isinstance(limits, Limits):
            raise ArgumentTypeError(f"MemoryType expects Limits, got {type(limits).__name__}")
        if page_size_log2 not in (0, 16):
            raise WasmError(f"page size must be 2**16 or 2**0, but was given "
                            f"2**{page_size_log2}")
        bits = (64 if is_64 else 32) - page_size_log2
        most = 1 << bits
        if limits.min > most:
            raise WasmError("minimum size is too large for this memory type's index type "
                            f"(at most {most} pages)")
        if limits.max is not None and limits.max > most:
            raise WasmError("maximum size is too large for this memory type's index type "
                            f"(at most {most} pages)")
        if limits.max is not None and limits.max < limits.min:
            raise WasmError("memory size minimum must not be greater than maximum")
        if shared and limits.max is None:
            raise WasmError("shared memories must have a maximum size")
        self._set(limits, bool(is_64), bool(shared), page_size_log2)

    @classmethod
    def decoded(cls, limits: Limits, is_64: bool = False, shared: bool = False) -> MemoryType:
        """The type of a memory a module declares, unchecked (the validator checks it)."""
        self = object.__new__(cls)
        self._set(limits, is_64, shared, 16)
        return self

    def _set(self, limits: Limits, is_64: bool, shared: bool, page_size_log2: int) -> None:
        object.__setattr__(self, "limits", limits)
        object.__setattr__(self, "is_64", is_64)
        object.__setattr__(self, "shared", shared)
        object.__setattr__(self, "page_size_log2", page_size_log2)

    @property
    def is_shared(self) -> bool:
        return self.shared

    @property
    def address_type(self) -> ValType:
        """The type of the memory's addresses: i64 for a 64-bit memory, else i32."""
        return ValType.I64 if self.is_64 else ValType.I32

    @property
    def page_size(self) -> int:
        return 1 << self.page_size_log2

    def __repr__(self) -> str:
        extra = "".join([", is_64=True" if self.is_64 else "",
                         ", shared=True" if self.shared else "",
                         "" if self.page_size_log2 == 16 else
                         f", page_size_log2={self.page_size_log2}"])
        return f"MemoryType({self.limits!r}{extra})"


@dataclass(slots=True, frozen=True, repr=False)
class TableType:
    """A table's type: its element reference type, limits, and whether it is indexed by i64
    (table64, WebAssembly 3.0; wasmtime-py's constructor has no such argument, so it is a
    keyword that defaults to a 32-bit table)."""

    element: ValType
    limits: Limits
    is_64: bool

    def __init__(self, valtype: ValType, limits: Limits, is_64: bool = False) -> None:
        if not isinstance(valtype, (ValType, RefType)) or not isinstance(limits, Limits):
            raise ArgumentTypeError(f"TableType expects a ValType and Limits, got "
                                    f"{type(valtype).__name__} and {type(limits).__name__}")
        object.__setattr__(self, "element", valtype)
        object.__setattr__(self, "limits", limits)
        object.__setattr__(self, "is_64", bool(is_64))

    @property
    def address_type(self) -> ValType:
        """The type of the table's indices: i64 for a 64-bit table, else i32."""
        return ValType.I64 if self.is_64 else ValType.I32

    def __repr__(self) -> str:
        extra = ", is_64=True" if self.is_64 else ""
        return f"TableType(element={self.element!r}, limits={self.limits!r}{extra})"


@dataclass(slots=True, frozen=True)
class GlobalType:
    """A global's type: its value type and mutability."""

    content: ValType
    mutable: bool

    def __init__(self, valtype: ValType, mutable: bool) -> None:
        if not isinstance(valtype, (ValType, RefType)):
            raise ArgumentTypeError(f"GlobalType expects a ValType, got {type(valtype).__name__}")
        object.__setattr__(self, "content", valtype)
        object.__setattr__(self, "mutable", bool(mutable))


class TagType:
    """An exception tag's type (exception handling): the payload, as a function type without
    results (wasmtime-py's TagType, with its ``functype``)."""

    __slots__ = ("functype", "__weakref__")

    def __init__(self, functype: FuncType) -> None:
        if not isinstance(functype, FuncType):
            raise ArgumentTypeError(f"TagType expects a FuncType, got {type(functype).__name__}")
        object.__setattr__(self, "functype", functype)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("TagType is immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TagType) and other.functype == self.functype

    def __hash__(self) -> int:
        return hash(("tag", self.functype))

    def __repr__(self) -> str:
        return f"TagType({self.functype!r})"


ExternType = Union[FuncType, TableType, MemoryType, GlobalType, TagType]


def buffer_offsets(types) -> list[int]:
    """Byte offset of each value of `types` laid out as machine words: 8 bytes each, 16 for
    a v128 (trampoline argument/result buffers, an exception record's payload)."""
    out, pos = [], 0
    for t in types:
        out.append(pos)
        pos += 16 if t is ValType.V128 else 8
    return out


@dataclass(slots=True, frozen=True)
class ImportType:
    """One import of a module."""

    module: str
    name: str
    type: ExternType


@dataclass(slots=True, frozen=True)
class ExportType:
    """One export of a module."""

    name: str
    type: ExternType


class ExternKind(enum.IntEnum):
    """The kinds of import and export descriptors, by their binary encoding."""

    FUNC = 0
    TABLE = 1
    MEMORY = 2
    GLOBAL = 3
    TAG = 4


#: The largest number of 64 KiB pages a 32-bit memory may have.
MAX_PAGES = 65536
PAGE_SIZE = 65536
#: The largest number of 64 KiB pages a 64-bit memory may declare (2**48: 2**64 bytes).
MAX_PAGES_64 = 1 << 48
#: Table sizes are u32 (u64 for a 64-bit table).
MAX_TABLE_SIZE = 0xFFFF_FFFF
MAX_TABLE_SIZE_64 = 0xFFFF_FFFF_FFFF_FFFF
