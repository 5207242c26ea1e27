"""Linker: resolves a module's imports by (module, name) from definitions, then instantiates."""

from __future__ import annotations

from typing import Any, Callable

from ..compile.environment import state_of
from ..compile.module import Module
from ..errors import ArgumentTypeError, LinkError, Trap, WasmError
from ..wasm.types import ExternKind, FuncType
from .func import Func
from .globals import Global
from .instance import Extern, Instance
from .memory import Memory
from .store import Store, check_use
from .values import default_value
from .table import Table
from .tag import Tag


class _HostFuncDef:
    """A define_func definition: a Func is made for each store that instantiates with it."""

    __slots__ = ("ty", "func", "access_caller", "per_store")

    def __init__(self, ty: FuncType, func: Callable[..., Any], access_caller: bool) -> None:
        self.ty = ty
        self.func = func
        self.access_caller = access_caller
        self.per_store: dict[int, tuple[Store, Func]] = {}

    def in_store(self, store: Store) -> Func:
        entry = self.per_store.get(id(store))
        if entry is None or entry[0] is not store:
            entry = (store, Func(store, self.ty, self.func, self.access_caller))
            self.per_store[id(store)] = entry
        return entry[1]


def _trapping(module: str, name: str) -> Callable[..., Any]:
    def stub(*args: Any) -> Any:
        raise Trap(f"unknown import: `{module}::{name}` has not been defined")
    return stub


class Linker:
    """Mirrors wasmtime-py's Linker."""

    def __init__(self, engine: Any) -> None:
        state_of(engine, "Linker")
        self.engine = engine
        self._defs: dict[tuple[str, str], Extern | _HostFuncDef] = {}
        self._allow_shadowing = False

    @property
    def allow_shadowing(self) -> bool:
        return self._allow_shadowing

    @allow_shadowing.setter
    def allow_shadowing(self, allow: bool) -> None:
        self._allow_shadowing = bool(allow)

    def _insert(self, module: str, name: str, item: Extern | _HostFuncDef) -> None:
        if not isinstance(module, str) or not isinstance(name, str):
            raise ArgumentTypeError("Linker names must be strings")
        key = (module, name)
        if key in self._defs and not self._allow_shadowing:
            raise WasmError(f"import of `{module}::{name}` defined twice")
        self._defs[key] = item

    def define(self, store: Store, module: str, name: str, item: Extern) -> None:
        if not isinstance(item, (Func, Table, Memory, Global, Tag)):
            raise ArgumentTypeError(f"Linker.define expects a Func, Table, Memory, Global or "
                                    f"Tag, got {type(item).__name__}")
        if item._store is not store:
            raise WasmError("Linker.define: the item belongs to a different Store")
        self._insert(module, name, item)

    def define_func(self, module: str, name: str, ty: FuncType, func: Callable[..., Any],
                    access_caller: bool = False) -> None:
        if not isinstance(ty, FuncType):
            raise ArgumentTypeError(f"Linker.define_func expects a FuncType, got {type(ty).__name__}")
        if not callable(func):
            raise ArgumentTypeError(f"Linker.define_func expects a callable, got {type(func).__name__}")
        self._insert(module, name, _HostFuncDef(ty, func, access_caller))

    def define_instance(self, store: Store, name: str, instance: Instance) -> None:
        if not isinstance(instance, Instance):
            raise ArgumentTypeError(f"Linker.define_instance expects an Instance, got "
                            f"{type(instance).__name__}")
        if instance.store is not store:
            raise WasmError("Linker.define_instance: the instance belongs to a different Store")
        for export_name, item in instance.export_map.items():
            self._insert(name, export_name, item)

    def define_module(self, store: Store, name: str, module: Module) -> None:
        """Instantiate `module` with this linker and define its exports under `name`."""
        self.define_instance(store, name, self.instantiate(store, module))

    def define_unknown_imports_as_traps(self, module: Module) -> None:
        """Define every function import of `module` not defined yet as a function that traps
        when called."""
        _require_module(module, "Linker.define_unknown_imports_as_traps")
        m = module.wasm_module
        for imp in m.imports:
            if imp.kind == ExternKind.FUNC and (imp.module, imp.name) not in self._defs:
                self._insert(imp.module, imp.name,
                             _HostFuncDef(m.canonical(m.types[imp.desc]),
                                          _trapping(imp.module, imp.name), False))

    def define_unknown_imports_as_default_values(self, store: Store, module: Module) -> None:
        """Define every function import of `module` not defined yet as a function that ignores
        its arguments and returns the zero (or null) value of each result type."""
        _require_module(module, "Linker.define_unknown_imports_as_default_values")
        check_use(store, store, "Linker.define_unknown_imports_as_default_values")
        m = module.wasm_module
        for imp in m.imports:
            if imp.kind == ExternKind.FUNC and (imp.module, imp.name) not in self._defs:
                ty = m.canonical(m.types[imp.desc])
                self._insert(imp.module, imp.name, _HostFuncDef(ty, _defaults(ty), False))

    def get_default(self, store: Store, name: str) -> Func:
        """The default export of the module defined under `name`: its export "" or
        "_start" function, or else a function of type [] -> [] that does nothing
        (wasmtime's Linker::get_default)."""
        check_use(store, store, "Linker.get_default")
        if not isinstance(name, str):
            raise ArgumentTypeError(f"Linker.get_default expects a str, got {type(name).__name__}")
        for export in ("", "_start"):
            item = self._defs.get((name, export))
            if item is not None:
                found = item.in_store(store) if isinstance(item, _HostFuncDef) else item
                if not isinstance(found, Func):
                    raise WasmError(f"default export `{name}::{export}` is not a function")
                return found
        return Func(store, FuncType([], []), _nothing)

    def instantiate_pre(self, module: Module) -> InstancePre:
        """Resolve `module`'s imports now (LinkError for one not defined) and return an
        InstancePre that instantiates it in any store without looking them up again."""
        _require_module(module, "Linker.instantiate_pre")
        items = []
        for imp in module.wasm_module.imports:
            item = self._defs.get((imp.module, imp.name))
            if item is None:
                raise LinkError(f"unknown import: `{imp.module}::{imp.name}` has not been defined")
            items.append(item)
        return InstancePre(module, items)

    def get(self, store: Store, module: str, name: str) -> Extern:
        item = self._defs.get((module, name))
        if item is None:
            raise WasmError(f"no item named `{module}::{name}` in the linker")
        return item.in_store(store) if isinstance(item, _HostFuncDef) else item

    def instantiate(self, store: Store, module: Module) -> Instance:
        return self.instantiate_pre(module).instantiate(store)

    def close(self) -> None:
        """Drop every definition (wasmtime-py's Linker.close; for ``with Linker(e) as l``)."""
        self._defs = {}

    def __enter__(self) -> Linker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Linker of {len(self._defs)} definitions>"


class InstancePre:
    """A module with its imports resolved by a Linker (wasmtime-py's InstancePre): each
    ``instantiate(store)`` makes a new Instance (host functions defined with define_func get
    a Func in that store; items defined with a store must be used in that store)."""

    __slots__ = ("module", "_items")

    def __init__(self, module: Module, items: list[Extern | _HostFuncDef]) -> None:
        self.module = module
        self._items = items

    def instantiate(self, store: Store) -> Instance:
        check_use(store, store, "InstancePre.instantiate")
        externs = [item.in_store(store) if isinstance(item, _HostFuncDef) else item
                   for item in self._items]
        return Instance(store, self.module, externs)

    def __repr__(self) -> str:
        return f"<InstancePre of a module with {len(self._items)} imports>"


def _require_module(module: Any, what: str) -> None:
    if not isinstance(module, Module):
        raise ArgumentTypeError(f"{what} expects a Module, got {type(module).__name__}")


def _nothing() -> None:
    return None


def _defaults(ty: FuncType) -> Callable[..., Any]:
    values = [default_value(t) for t in ty.results]

    def stub(*args: Any) -> Any:
        if not values:
            return None
        return values[0] if len(values) == 1 else list(values)
    return stub
