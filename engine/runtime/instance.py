"""Instance: a module instantiated in a Store. Instantiation follows the spec's order: check the
imports, allocate functions, tables, memories and globals (evaluating initialisers), then apply
the active element and data segments (trapping on bounds), then run the start function."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Iterator, Sequence

from ..compile.module import Module
from ..environ import vmctx as V
from ..errors import ArgumentTypeError, LinkError, ThrownException, Trap, TrapCode, WasmError
from ..ir import numerics as N
from ..wasm.module import Expr, SegmentMode, WasmModule
from ..wasm.opcodes import Op
from ..wasm.subtyping import Canon
from ..wasm.types import ExternKind, FuncType, GlobalType, Limits, MemoryType, TableType, \
    TagType
from .executor import executor_for
from .func import Func, FuncSpace, invoke
from .globals import Global
from .memory import Memory
from .store import Store, check_use
from .table import Table
from .tag import Tag
from .values import default_value

Extern = Func | Table | Memory | Global | Tag
#: subtyping of reference types across modules (their concrete types in canonical form)
_ABSTRACT = Canon([])

_KIND_NAMES = {ExternKind.FUNC: "func", ExternKind.TABLE: "table", ExternKind.MEMORY: "memory",
               ExternKind.GLOBAL: "global", ExternKind.TAG: "tag"}
_EXTERN_CLASS = {ExternKind.FUNC: Func, ExternKind.TABLE: Table, ExternKind.MEMORY: Memory,
                 ExternKind.GLOBAL: Global, ExternKind.TAG: Tag}


class Instance:
    """An instantiated module (mirrors wasmtime-py's Instance).

    Internal fields read by executors: ``wasm`` (the WasmModule), ``module`` (the Module),
    ``funcs``, ``tables``, ``mems``, ``globals`` (index spaces, imports first), ``types``,
    ``elems`` (per element segment: a list of references, emptied by elem.drop), ``datas``
    (per data segment: bytes, emptied by data.drop), ``executor`` and ``exec_state`` (free for
    the executor)."""

    def __init__(self, store: Store, module: Module, imports: Sequence[Extern]) -> None:
        if not isinstance(store, Store):
            raise ArgumentTypeError(f"Instance expects a Store, got {type(store).__name__}")
        if not isinstance(module, Module):
            raise ArgumentTypeError(f"Instance expects a Module, got {type(module).__name__}")
        if store._state is not module.state:
            raise WasmError("cannot instantiate a module in a store of a different engine")
        self.store = store
        self.module = module
        self.wasm: WasmModule = module.wasm_module
        self.executor = executor_for(store._state)
        self.exec_state: Any = None
        self.funcrefs = 0
        #: the module's types as they are seen outside it (canonical: engine.wasm.canonical)
        self.types: list[FuncType] = [d.functype for d in self.wasm.defined_types()]
        self.funcs: Sequence[Func] = []     # a FuncSpace once allocated
        self.tables: list[Table] = []
        self.mems: list[Memory] = []
        self.globals: list[Global] = []
        self.tags: list[Tag] = []
        self.elems: list[list[Any]] = []
        self.datas: list[bytes] = []
        self.export_map: dict[str, Extern] = {}
        self._exports: InstanceExports | None = None
        if isinstance(imports, (str, bytes)) or not hasattr(imports, "__iter__"):
            raise ArgumentTypeError(f"Instance expects a sequence of imports, got {type(imports).__name__}")
        self._link(list(imports))
        store._enter("instantiating this module")
        try:
            self._allocate()
            self.executor.prepare(self)
            self._initialise()
        finally:
            store._leave()

    def exports(self, store: Store) -> InstanceExports:
        check_use(store, self.store, "Instance.exports")
        if self._exports is None:
            self._exports = InstanceExports(self)
        return self._exports

    def __repr__(self) -> str:
        name = self.wasm.names.module
        return f"<Instance{'' if not name else ' ' + repr(name)} exports {list(self.export_map)}>"

    # -- instantiation ---------------------------------------------------------------------

    def _link(self, imports: list[Extern]) -> None:
        m = self.wasm
        if len(imports) != len(m.imports):
            raise LinkError(f"expected {len(m.imports)} imports, found {len(imports)}")
        for i, (imp, ext) in enumerate(zip(m.imports, imports)):
            where = f"import {i} `{imp.module}::{imp.name}`"
            cls = _EXTERN_CLASS[imp.kind]
            if _kind_of(ext) is None:
                raise ArgumentTypeError(f"{where}: expected a Func, Table, Memory, Global or "
                                        f"Tag, got {type(ext).__name__}")
            if not isinstance(ext, cls):
                got = _KIND_NAMES.get(_kind_of(ext), type(ext).__name__)
                raise LinkError(f"incompatible import type for {where}: expected "
                                f"{_KIND_NAMES[imp.kind]}, found {got}")
            if ext._store is not self.store:
                raise WasmError(f"{where}: the item belongs to a different Store")
            if imp.kind == ExternKind.FUNC:
                want = self.types[imp.desc]
                if ext.ftype != want:
                    raise LinkError(f"incompatible import type for {where}: expected func of "
                                    f"type {want}, found {ext.ftype}")
                self.funcs.append(ext)
            elif imp.kind == ExternKind.TABLE:
                want: TableType = m.canonical(imp.desc)
                have = ext.type(self.store)
                if (have.element != want.element or have.is_64 != want.is_64
                        or not _limits_match(have.limits, want.limits)):
                    raise LinkError(f"incompatible import type for {where}: expected table "
                                    f"{_addr(want.is_64)}{want.element} {want.limits}, found "
                                    f"{_addr(have.is_64)}{have.element} {have.limits}")
                self.tables.append(ext)
            elif imp.kind == ExternKind.MEMORY:
                want_m: MemoryType = imp.desc
                have_m = ext.type(self.store)
                if have_m.is_64 != want_m.is_64 or not _limits_match(have_m.limits,
                                                                     want_m.limits):
                    raise LinkError(f"incompatible import type for {where}: expected memory "
                                    f"{_addr(want_m.is_64)}{want_m.limits}, found "
                                    f"{_addr(have_m.is_64)}{have_m.limits}")
                self.mems.append(ext)
            elif imp.kind == ExternKind.TAG:
                want_t = TagType(self.types[imp.desc])
                if ext._type != want_t:
                    raise LinkError(f"incompatible import type for {where}: expected tag of "
                                    f"type {want_t.functype}, found {ext._type.functype}")
                self.tags.append(ext)
            else:
                want_g: GlobalType = m.canonical(imp.desc)
                have_g = ext._type
                # an immutable global matches a subtype (typed references: (ref func) for funcref)
                if have_g.mutable != want_g.mutable or not (
                        have_g.content == want_g.content
                        or not want_g.mutable and _ABSTRACT.sub(have_g.content, want_g.content)):
                    raise LinkError(f"incompatible import type for {where}: expected global "
                                    f"{_global_str(want_g)}, found {_global_str(have_g)}")
                self.globals.append(ext)

    def _allocate(self) -> None:
        m, store = self.wasm, self.store
        store.count("instances", 1)
        store.count("memories", len(m.mems))
        store.count("tables", len(m.tables))
        self.funcs = FuncSpace(self.funcs, store, self, self.types, m.funcs)
        #: the FuncRef records of the function index space (ref.func; bound by the executor)
        self.funcrefs = store.refs.block(self.funcs)
        # a table's initialiser (typed function references) sees the imported globals only
        for i, tt in enumerate(m.tables):
            init = m.table_init(i)
            self.tables.append(Table(store, m.canonical(tt),
                                     None if init is None else self.eval_const(init)))
        for mt in m.mems:
            self.mems.append(Memory(store, mt))
        for g in m.globals:
            self.globals.append(Global._internal(store, m.canonical(g.type),
                                                 self.eval_const(g.init)))
        for i, seg in enumerate(m.elems):
            # an active segment of plain function references is stored as their records
            # when applied (_initialise): nothing to evaluate, no Func to make; a
            # declarative one is dropped at once
            if seg.mode == SegmentMode.PASSIVE or (seg.mode == SegmentMode.ACTIVE and
                                                   m.segment_functions(i) is None):
                self.elems.append([self.eval_const(e) for e in seg.init])
            else:
                self.elems.append([])
        self.datas = [seg.data for seg in m.datas]
        for type_index in m.tags:
            self.tags.append(Tag(store, TagType(self.types[type_index])))
        spaces = {ExternKind.FUNC: self.funcs, ExternKind.TABLE: self.tables,
                  ExternKind.MEMORY: self.mems, ExternKind.GLOBAL: self.globals,
                  ExternKind.TAG: self.tags}
        for exp in m.exports:
            self.export_map[exp.name] = spaces[exp.kind][exp.index]

    def _initialise(self) -> None:
        m = self.wasm
        for i, seg in enumerate(m.elems):
            if seg.mode == SegmentMode.ACTIVE:
                offset = self.eval_const(seg.offset)
                table = self.tables[seg.table]
                plain = m.segment_functions(i)
                n = len(plain) if plain is not None else len(self.elems[i])
                if offset + n > table.length():
                    raise Trap(None, TrapCode.TABLE_OUT_OF_BOUNDS)
                if plain is not None:
                    table.store_words(offset, self._function_words(plain))
                else:
                    table.store_values(offset, self.elems[i])
            if seg.mode != SegmentMode.PASSIVE:
                self.elems[i] = []
        for i, seg in enumerate(m.datas):
            if seg.mode == SegmentMode.ACTIVE:
                offset = self.eval_const(seg.offset)
                mem = self.mems[seg.memory]
                if offset + len(seg.data) > mem.length:
                    raise Trap(None, TrapCode.MEMORY_OUT_OF_BOUNDS)
                mem.buf[offset:offset + len(seg.data)] = seg.data
                self.datas[i] = b""
        if m.start is not None:
            try:
                invoke(self.funcs[m.start], [], self)
            except ThrownException as e:
                # as wasmtime-py: an exception the start function leaves uncaught is an error
                # of the instantiation, not a Trap (from a call it is a Trap)
                raise WasmError("error while executing at wasm backtrace: the start function "
                                "left a thrown Wasm exception uncaught") from e

    def _function_words(self, indices: tuple[int, ...]) -> list[int]:
        """The FuncRef record words of functions `indices` of this instance (-1: null): a
        defined function's record in the instance's block, an imported one's canonical."""
        base, size, nimp = self.funcrefs, V.FUNCREF_SIZE, self.wasm.num_imported_funcs
        func_word, funcs = self.store.refs.func_word, self.funcs
        return [base + size * k if k >= nimp else (0 if k < 0 else func_word(funcs[k]))
                for k in indices]

    def eval_const(self, expr: Expr | None) -> Any:
        """Evaluate a (validated) constant expression to an internal value."""
        stack: list[Any] = []
        for ins in expr or ():
            op = ins.op
            if op == _I32_CONST:
                stack.append(ins.imm & N.M32)
            elif op == _I64_CONST:
                stack.append(ins.imm & N.M64)
            elif op == _F32_CONST or op == _F64_CONST:
                stack.append(ins.imm)
            elif op == _V128_CONST:
                stack.append(int.from_bytes(ins.imm, "little"))
            elif op == _GLOBAL_GET:
                stack.append(self.globals[ins.imm].value_)
            elif op == _REF_NULL:
                stack.append(None)
            elif op == _REF_FUNC:
                stack.append(self.funcs[ins.imm])
            elif op in _EXTENDED:
                b, a = stack.pop(), stack.pop()
                stack.append(_EXTENDED[op](a, b))
            elif op == _END:
                break
            else:
                raise WasmError(f"unsupported instruction in constant expression: opcode {op:#x}")
        if len(stack) != 1:
            raise WasmError("constant expression must produce exactly one value")
        return stack[0]


_I32_CONST = int(Op.I32_CONST)
_I64_CONST = int(Op.I64_CONST)
_F32_CONST = int(Op.F32_CONST)
_F64_CONST = int(Op.F64_CONST)
_GLOBAL_GET = int(Op.GLOBAL_GET)
_REF_NULL = int(Op.REF_NULL)
_REF_FUNC = int(Op.REF_FUNC)
_END = int(Op.END)
_V128_CONST = int(Op.V128_CONST)
#: Extended constant expressions (a later proposal; harmless to evaluate).
_EXTENDED = {int(Op.I32_ADD): N.i32_add, int(Op.I32_SUB): N.i32_sub, int(Op.I32_MUL): N.i32_mul,
             int(Op.I64_ADD): N.i64_add, int(Op.I64_SUB): N.i64_sub, int(Op.I64_MUL): N.i64_mul}


def _kind_of(ext: Any) -> ExternKind | None:
    for kind, cls in _EXTERN_CLASS.items():
        if isinstance(ext, cls):
            return kind
    return None


def _limits_match(have: Limits, want: Limits) -> bool:
    """Import subtyping of limits: at least the minimum, and a maximum within the wanted one."""
    if have.min < want.min:
        return False
    if want.max is None:
        return True
    return have.max is not None and have.max <= want.max


def _addr(is_64: bool) -> str:
    """The address type of a memory or table in a link error (i32 is left implicit)."""
    return "i64 " if is_64 else ""


def _global_str(t: GlobalType) -> str:
    return f"(mut {t.content})" if t.mutable else str(t.content)


class InstanceExports(Mapping):
    """An instance's exports: by name (``exports["f"]``), by position (``exports[0]``, or
    ``exports.by_index``)."""

    def __init__(self, instance: Instance) -> None:
        self._map = instance.export_map
        self._seq = tuple(self._map.values())

    @property
    def by_index(self) -> Sequence[Extern]:
        return self._seq

    def __getitem__(self, key: str | int) -> Extern:
        if isinstance(key, int):
            return self._seq[key]
        return self._map[key]

    def __len__(self) -> int:
        return len(self._seq)

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def __repr__(self) -> str:
        return f"<InstanceExports {list(self._map)}>"
