"""Linker: resolves a module's imports by (module, name) from definitions, then instantiates."""

from __future__ import annotations

from typing import Any, Callable

from ..engine import Engine
from ..errors import LinkError, Trap, WasmError
from ..module import Module
from ..wasm.types import ExternKind, FuncType
from .func import Func
from .globals import Global
from .instance import Extern, Instance
from .memory import Memory
from .store import Store
from .table import Table


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

    def __init__(self, engine: Engine) -> None:
        if not isinstance(engine, Engine):
            raise WasmError(f"Linker expects an Engine, got {type(engine).__name__}")
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
            raise WasmError("Linker names must be strings")
        key = (module, name)
        if key in self._defs and not self._allow_shadowing:
            raise WasmError(f"import of `{module}::{name}` defined twice")
        self._defs[key] = item

    def define(self, store: Store, module: str, name: str, item: Extern) -> None:
        if not isinstance(item, (Func, Table, Memory, Global)):
            raise WasmError(f"Linker.define expects a Func, Table, Memory or Global, "
                            f"got {type(item).__name__}")
        if item._store is not store:
            raise WasmError("Linker.define: the item belongs to a different Store")
        self._insert(module, name, item)

    def define_func(self, module: str, name: str, ty: FuncType, func: Callable[..., Any],
                    access_caller: bool = False) -> None:
        if not isinstance(ty, FuncType):
            raise WasmError(f"Linker.define_func expects a FuncType, got {type(ty).__name__}")
        if not callable(func):
            raise WasmError(f"Linker.define_func expects a callable, got {type(func).__name__}")
        self._insert(module, name, _HostFuncDef(ty, func, access_caller))

    def define_instance(self, store: Store, name: str, instance: Instance) -> None:
        if not isinstance(instance, Instance):
            raise WasmError(f"Linker.define_instance expects an Instance, got "
                            f"{type(instance).__name__}")
        if instance.store is not store:
            raise WasmError("Linker.define_instance: the instance belongs to a different Store")
        for export_name, item in instance.export_map.items():
            self._insert(name, export_name, item)

    def define_module(self, store: Store, name: str, module: Module) -> None:
        """Instantiate `module` with this linker and define its exports under `name`."""
        self.define_instance(store, name, self.instantiate(store, module))

    def define_wasi(self) -> None:
        """Define every wasi_snapshot_preview1 function (configured per store by set_wasi)."""
        from .wasi.linking import define_wasi
        define_wasi(self)

    def define_unknown_imports_as_traps(self, module: Module) -> None:
        """Define every function import of `module` not defined yet as a function that traps
        when called."""
        m = module.wasm_module
        for imp in m.imports:
            if imp.kind == ExternKind.FUNC and (imp.module, imp.name) not in self._defs:
                self._insert(imp.module, imp.name,
                             _HostFuncDef(m.types[imp.desc], _trapping(imp.module, imp.name), False))

    def get(self, store: Store, module: str, name: str) -> Extern:
        item = self._defs.get((module, name))
        if item is None:
            raise WasmError(f"no item named `{module}::{name}` in the linker")
        return item.in_store(store) if isinstance(item, _HostFuncDef) else item

    def instantiate(self, store: Store, module: Module) -> Instance:
        if not isinstance(module, Module):
            raise WasmError(f"Linker.instantiate expects a Module, got {type(module).__name__}")
        externs = []
        for imp in module.wasm_module.imports:
            item = self._defs.get((imp.module, imp.name))
            if item is None:
                raise LinkError(f"unknown import: `{imp.module}::{imp.name}` has not been defined")
            externs.append(item.in_store(store) if isinstance(item, _HostFuncDef) else item)
        return Instance(store, module, externs)
