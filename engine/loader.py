"""Import .wasm and .wat files as Python modules (the counterpart of wasmtime-py's
``wasmtime.loader``): after ``import engine.loader``, ``import name`` finds ``name.wasm`` (or
``name.wat``) on the module search path, compiles and instantiates it, and makes its exports
the module's attributes: functions as Python callables, memories, tables and globals as the
objects themselves.

Imports are resolved by module name: WASI (``wasi_snapshot_preview1``) from polyjit's, any
other module name by importing it, as Python does (a Python module, or another .wasm/.wat
module found the same way), and taking its attribute named by the import: a Python callable
becomes a host function of the import's type; a function, memory, table or global exported by
another loaded module is linked directly. What cannot be resolved is an ImportError naming the
import. All loaded modules share one Store (``engine.loader.store``), with a default WASI
configuration (no arguments, environment or preopened directories; stdio inherited)."""

from __future__ import annotations

import sys
from importlib import import_module
from importlib.abc import Loader, MetaPathFinder
from importlib.machinery import ModuleSpec
from importlib.util import spec_from_file_location
from pathlib import Path
from types import ModuleType
from typing import Any, Sequence

from .api import Linker, Store
from .compile.module import Module
from .errors import WasmError
from .runtime.func import Func
from .runtime.globals import Global
from .runtime.memory import Memory
from .runtime.table import Table
from .runtime.wasi.config import WasiConfig
from .runtime.wasi.functions import MODULE as WASI_MODULE
from .wasm.types import FuncType

__all__ = ["WasmFunction", "linker", "store"]

#: file suffixes the finder looks for, in order
SUFFIXES = (".wasm", ".wat")

store = Store()
linker = Linker(store.engine)
linker.allow_shadowing = True
linker.define_wasi()
_wasi = WasiConfig()
_wasi.inherit_stdout()
_wasi.inherit_stderr()
_wasi.inherit_stdin()
store.set_wasi(_wasi)


class WasmFunction:
    """An exported wasm function as a loaded module's attribute: call it with Python values
    (no store argument); ``func`` is the Func itself."""

    __slots__ = ("func", "__name__", "__qualname__")

    def __init__(self, func: Func, name: str) -> None:
        self.func = func
        self.__name__ = self.__qualname__ = name

    def __call__(self, *args: Any) -> Any:
        return self.func(store, *args)

    def __repr__(self) -> str:
        return f"<wasm function {self.__name__} {self.func.ftype}>"


class _WasmLoader(Loader):
    def __init__(self, path: Path) -> None:
        self.path = path

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        try:
            wasm = Module.from_file(store.engine, self.path)
        except WasmError as e:
            raise ImportError(f"{self.path}: {e}", name=module.__name__, path=str(self.path)) from e
        for imp in wasm.imports:
            if imp.module != WASI_MODULE:
                _define(imp.module, imp.name, imp.type, module.__name__)
        try:
            instance = linker.instantiate(store, wasm)
        except WasmError as e:
            raise ImportError(f"{self.path}: {e}", name=module.__name__, path=str(self.path)) from e
        for name, item in instance.exports(store).items():
            setattr(module, name, WasmFunction(item, name) if isinstance(item, Func) else item)


def _define(module: str, name: str, ty: Any, importer: str) -> None:
    where = f"{importer}: import `{module}::{name}`"
    try:
        source = import_module(module)
    except ImportError as e:
        raise ImportError(f"{where}: cannot import module {module!r}: {e}",
                          name=importer) from e
    if not hasattr(source, name):
        raise ImportError(f"{where}: module {module!r} has no attribute {name!r}",
                          name=importer)
    item = getattr(source, name)
    if isinstance(item, WasmFunction):
        item = item.func
    if isinstance(item, (Func, Memory, Table, Global)):
        linker.define(store, module, name, item)
    elif callable(item) and isinstance(ty, FuncType):
        linker.define_func(module, name, ty, item)
    else:
        raise ImportError(f"{where}: {module}.{name} is a {type(item).__name__}, not something "
                          f"a wasm {type(ty).__name__} import can use", name=importer)


class _WasmFinder(MetaPathFinder):
    """Finds name.wasm / name.wat files for imports nothing else finds (it comes last)."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        name = fullname.rpartition(".")[2]
        for entry in (path if path is not None else sys.path):
            for suffix in SUFFIXES:
                candidate = Path(entry or ".") / (name + suffix)
                if candidate.is_file():
                    return spec_from_file_location(fullname, candidate,
                                                   loader=_WasmLoader(candidate))
        return None


if not any(isinstance(f, _WasmFinder) for f in sys.meta_path):
    sys.meta_path.append(_WasmFinder())
