"""WebAssembly types, shaped like wasmtime-py's: ValType, FuncType, Limits, memory/table/global types."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Union


class ValType(enum.Enum):
    """A value type. `ValType.i32()` etc. return the members, as wasmtime-py's constructors do."""

    I32 = 0x7F
    I64 = 0x7E
    F32 = 0x7D
    F64 = 0x7C
    V128 = 0x7B
    FUNCREF = 0x70
    EXTERNREF = 0x6F

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

    @property
    def is_num(self) -> bool:
        return self in (ValType.I32, ValType.I64, ValType.F32, ValType.F64)

    @property
    def is_ref(self) -> bool:
        return self in (ValType.FUNCREF, ValType.EXTERNREF)

    def __str__(self) -> str:
        return self.name.lower()

    def __repr__(self) -> str:
        return f"ValType.{self.name.lower()}()"


#: Value types by their binary encoding.
VALTYPE_BY_CODE: dict[int, ValType] = {t.value: t for t in ValType}


@dataclass(slots=True, frozen=True)
class FuncType:
    """A function signature."""

    params: tuple[ValType, ...]
    results: tuple[ValType, ...]

    def __init__(self, params=(), results=()) -> None:
        object.__setattr__(self, "params", tuple(params))
        object.__setattr__(self, "results", tuple(results))

    def __str__(self) -> str:
        return f"[{' '.join(map(str, self.params))}] -> [{' '.join(map(str, self.results))}]"


@dataclass(slots=True, frozen=True)
class Limits:
    """Size limits of a memory (in pages) or table (in elements)."""

    min: int
    max: int | None = None

    def __str__(self) -> str:
        return f"{self.min}" if self.max is None else f"{self.min}..{self.max}"


@dataclass(slots=True, frozen=True)
class MemoryType:
    """A linear memory's type. Sizes are in 64 KiB pages."""

    limits: Limits
    is_64: bool = False
    shared: bool = False

    @property
    def is_shared(self) -> bool:
        return self.shared

    @property
    def page_size(self) -> int:
        return 65536

    @property
    def page_size_log2(self) -> int:
        return 16


@dataclass(slots=True, frozen=True)
class TableType:
    """A table's type: its element reference type and limits."""

    element: ValType
    limits: Limits

    def __init__(self, valtype: ValType, limits: Limits) -> None:
        object.__setattr__(self, "element", valtype)
        object.__setattr__(self, "limits", limits)


@dataclass(slots=True, frozen=True)
class GlobalType:
    """A global's type: its value type and mutability."""

    content: ValType
    mutable: bool

    def __init__(self, valtype: ValType, mutable: bool) -> None:
        object.__setattr__(self, "content", valtype)
        object.__setattr__(self, "mutable", bool(mutable))


ExternType = Union[FuncType, TableType, MemoryType, GlobalType]


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


#: The largest number of 64 KiB pages a 32-bit memory may have.
MAX_PAGES = 65536
PAGE_SIZE = 65536
#: Table sizes are u32.
MAX_TABLE_SIZE = 0xFFFF_FFFF
