"""The decoded form of a module: what the decoder produces, the validator checks, and every later
stage (IR builder, runtime, artifact writer) reads. Plain data; no behaviour beyond index helpers."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Callable

from .canonical import DefinedType, canonical, defined_types
from .opcodes import Op
from .types import ExternKind, FuncType, GlobalType, MemoryType, TableType, ValType, top_functype


@dataclass(slots=True, frozen=True)
class MemArg:
    """The memory immediate of a load or store: alignment exponent, static offset, memory index."""

    align: int
    offset: int
    memory: int = 0


@dataclass(slots=True)
class Instr:
    """One decoded instruction. `op` is an Op number, `imm` its immediate (shape: opcodes.Imm),
    `offset` the byte offset of the opcode in the module binary (for error messages)."""

    op: int
    imm: object
    offset: int


#: A constant expression or function body: a flat instruction list ending with `end`.
Expr = list[Instr]


@dataclass(slots=True)
class Import:
    module: str
    name: str
    kind: ExternKind
    desc: int | TableType | MemoryType | GlobalType   # a type index for functions


@dataclass(slots=True)
class Export:
    name: str
    kind: ExternKind
    index: int


@dataclass(slots=True)
class Global:
    type: GlobalType
    init: Expr


class SegmentMode(enum.Enum):
    ACTIVE = "active"
    PASSIVE = "passive"
    DECLARATIVE = "declarative"   # element segments only


@dataclass(slots=True)
class ElemSegment:
    """An element segment; every item is a constant expression (function indices are decoded as
    `ref.func` expressions so later stages see one shape)."""

    mode: SegmentMode
    type: ValType
    init: list[Expr]
    table: int = 0
    offset: Expr | None = None


@dataclass(slots=True)
class DataSegment:
    mode: SegmentMode
    data: bytes
    memory: int = 0
    offset: Expr | None = None


@dataclass(slots=True)
class FuncBody:
    """A defined function's code: local declarations as (count, type) runs, the body, where its
    instructions start in the binary (`offset`) and where the body (its local declarations)
    starts (`start`, -1 when not decoded from a binary)."""

    locals: tuple[tuple[int, ValType], ...]
    body: Expr
    offset: int
    start: int = -1

    def weight(self) -> int:
        """Its instructions (an estimate from its size while they are not decoded)."""
        return len(self.body)

    def local_types(self) -> list[ValType]:
        """The declared locals, expanded (the validator has bounded their number)."""
        out: list[ValType] = []
        for count, t in self.locals:
            out.extend([t] * count)
        return out


class PendingBody(FuncBody):
    """A FuncBody whose instructions are decoded on first use of `body` (a large module's,
    left to the process that validates it: engine.wasm.decoder.decode with `defer`);
    `decode` gives them, or raises the MalformedError they hold. Decoding twice
    at once (two threads) makes equal lists, either kept."""

    __slots__ = ("decode", "size")

    def __init__(self, locals_: tuple[tuple[int, ValType], ...], offset: int, start: int,
                 decode: Callable[[PendingBody], Expr], size: int) -> None:
        FuncBody.__init__(self, locals_, None, offset, start)   # type: ignore[arg-type]
        self.decode = decode
        #: the bytes of its instructions
        self.size = size

    def weight(self) -> int:
        body = _BODY_SLOT.__get__(self)
        return len(body) if body is not None else self.size // 2

    def release(self) -> None:
        """Drop the decoded instructions (decoded again on next use): what a whole-module
        compile does with each body once its code is made."""
        _BODY_SLOT.__set__(self, None)

    @property       # type: ignore[override]
    def body(self) -> Expr:
        body = _BODY_SLOT.__get__(self)
        if body is None:
            body = self.decode(self)
            _BODY_SLOT.__set__(self, body)
        return body

    @body.setter
    def body(self, value: Expr) -> None:
        _BODY_SLOT.__set__(self, value)

    @property
    def decoded(self) -> bool:
        return _BODY_SLOT.__get__(self) is not None


_BODY_SLOT: Any = FuncBody.__dict__["body"]     # FuncBody's own storage for `body`


@dataclass(slots=True)
class CustomSection:
    name: str
    data: bytes
    after: int      # id of the last non-custom section before it (0 if none)


@dataclass(slots=True)
class Names:
    """The contents of the `name` custom section (absent entries are simply missing)."""

    module: str | None = None
    functions: dict[int, str] = field(default_factory=dict)
    locals: dict[int, dict[int, str]] = field(default_factory=dict)


@dataclass(slots=True)
class WasmModule:
    """A decoded module. Index spaces put imports first, as the spec does."""

    types: list[FuncType] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)
    funcs: list[int] = field(default_factory=list)          # type index of each defined function
    tables: list[TableType] = field(default_factory=list)   # defined tables
    #: each defined table's initialiser expression (None: null), typed function references
    table_inits: list[Expr | None] = field(default_factory=list)
    mems: list[MemoryType] = field(default_factory=list)    # defined memories
    globals: list[Global] = field(default_factory=list)     # defined globals
    tags: list[int] = field(default_factory=list)           # type index of each defined tag
    exports: list[Export] = field(default_factory=list)
    start: int | None = None
    elems: list[ElemSegment] = field(default_factory=list)
    datas: list[DataSegment] = field(default_factory=list)
    data_count: int | None = None
    codes: list[FuncBody] = field(default_factory=list)
    customs: list[CustomSection] = field(default_factory=list)
    names: Names = field(default_factory=Names)
    #: set by validation: a return_call of an import or a return_call_indirect, whose callee
    #: may be another instance's function (callers of this module's functions then find the
    #: vmctx changed when a call returns)
    tail_calls_leave: bool = False
    #: when the bodies were left undecoded (PendingBody): the first code index of the later
    #: half by bytes; else None
    pending_split: int | None = field(default=None, repr=False, compare=False)
    #: the instructions in all function bodies, when known without decoding them all (the
    #: validation of a module decoded with deferred bodies counts them)
    instructions: int | None = field(default=None, repr=False, compare=False)
    #: top_types() once made
    _top_types: list[FuncType] | None = field(default=None, repr=False, compare=False)
    #: defined_types() once made
    _defined: list[DefinedType] | None = field(default=None, repr=False, compare=False)
    #: signature_value_types() once made
    _sig_vals: frozenset | None = field(default=None, repr=False, compare=False)
    #: segment_functions() once made
    _seg_funcs: list[tuple[int, ...] | None] | None = field(default=None, repr=False,
                                                           compare=False)

    def instruction_count(self) -> int:
        """The instructions in all function bodies (without decoding deferred ones when
        validation counted them)."""
        if self.instructions is not None:
            return self.instructions
        return sum(len(c.body) for c in self.codes)

    # -- index spaces ---------------------------------------------------------------------------

    def imports_of(self, kind: ExternKind) -> list[Import]:
        return [imp for imp in self.imports if imp.kind == kind]

    @property
    def num_imported_funcs(self) -> int:
        return sum(1 for imp in self.imports if imp.kind == ExternKind.FUNC)

    def func_type_indices(self) -> list[int]:
        """Type index of every function in the function index space."""
        return [imp.desc for imp in self.imports_of(ExternKind.FUNC)] + list(self.funcs)

    def func_types(self) -> list[FuncType]:
        return [self.types[i] for i in self.func_type_indices()]

    def signature_value_types(self) -> frozenset:
        """Every value type in the module's function types (parameters and results) and its
        globals' types, imported ones included (made once: code generators ask per function)."""
        if self._sig_vals is None:
            vals = {t for ft in self.types for t in ft.param_types + ft.result_types}
            vals.update(g.content for g in self.global_types())
            self._sig_vals = frozenset(vals)
        return self._sig_vals

    def table_init(self, defined: int) -> Expr | None:
        """The initialiser expression of defined table `defined` (None: its elements are null)."""
        inits = self.table_inits
        return inits[defined] if defined < len(inits) else None

    def segment_functions(self, segment: int) -> tuple[int, ...] | None:
        """The function indices element segment `segment` holds, -1 for a null, when each
        of its items is a plain `ref.func` or `ref.null` (what instantiation can store as
        FuncRef records without evaluating anything); else None. Made once."""
        if self._seg_funcs is None:
            self._seg_funcs = [_plain_functions(seg.init) for seg in self.elems]
        return self._seg_funcs[segment]

    def top_types(self) -> list[FuncType]:
        """The module's types with every reference type as its representation's (funcref or
        externref: ValueType.top), what the IR and the executors see."""
        if self._top_types is None:
            self._top_types = [top_functype(ft) for ft in self.types]
        return self._top_types

    def defined_types(self) -> list[DefinedType]:
        """The canonical type of each type index (engine.wasm.canonical), made once."""
        if self._defined is None:
            self._defined = defined_types(self.types)
        return self._defined

    def canonical(self, ty):
        """A type of this module (value, function, table, global or tag type) as it is seen
        outside it: each type index replaced by its canonical type (engine.wasm.canonical)."""
        return canonical(ty, self.defined_types())

    def tag_type_indices(self) -> list[int]:
        """Type index of every tag in the tag index space (imports first)."""
        return [imp.desc for imp in self.imports_of(ExternKind.TAG)] + list(self.tags)

    def table_types(self) -> list[TableType]:
        return [imp.desc for imp in self.imports_of(ExternKind.TABLE)] + list(self.tables)

    def memory_types(self) -> list[MemoryType]:
        return [imp.desc for imp in self.imports_of(ExternKind.MEMORY)] + list(self.mems)

    def global_types(self) -> list[GlobalType]:
        return [imp.desc for imp in self.imports_of(ExternKind.GLOBAL)] + [g.type for g in self.globals]

    def func_name(self, index: int) -> str:
        """A readable name for a function: from the name section, an export, or its index."""
        name = self.names.functions.get(index)
        if name is not None:
            return name
        for exp in self.exports:
            if exp.kind == ExternKind.FUNC and exp.index == index:
                return exp.name
        return f"<wasm function {index}>"


_REF_FUNC, _REF_NULL, _END = int(Op.REF_FUNC), int(Op.REF_NULL), int(Op.END)


def _plain_functions(init: list[Expr]) -> tuple[int, ...] | None:
    """WasmModule.segment_functions of one segment's items."""
    out = []
    for expr in init:
        if len(expr) != 2 or expr[1].op != _END:
            return None
        ins = expr[0]
        if ins.op == _REF_FUNC:
            out.append(ins.imm)
        elif ins.op == _REF_NULL:
            out.append(-1)
        else:
            return None
    return tuple(out)
