"""polyjit: a WebAssembly runtime for Python with a multi-architecture JIT.

The public API mirrors wasmtime-py: ``from engine import Engine, Store, Module, Instance, ...``.
This module only re-exports it (docs/architecture.md has the layers); nothing inside polyjit
imports it. Names are loaded on first use, so importing one layer (``engine.wasm``, a backend)
does not load the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: public name -> the module that defines it
_EXPORTS = {
    "Config": "engine.config",
    "Engine": "engine.api", "Store": "engine.api",
    "Module": "engine.compile.module",
    "WasmError": "engine.errors", "MalformedError": "engine.errors",
    "InvalidError": "engine.errors", "LinkError": "engine.errors",
    "IncompatibleArtifactError": "engine.errors", "UnsupportedError": "engine.errors",
    "InternalError": "engine.errors", "Trap": "engine.errors", "TrapCode": "engine.errors",
    "WasmtimeError": "engine.errors", "ArgumentTypeError": "engine.errors",
    "ClosedError": "engine.errors", "Frame": "engine.errors",
    "ThrownException": "engine.errors", "ExnRef": "engine.runtime.exn",
    "wat2wasm": "engine.text",
    "ExportType": "engine.wasm.types", "FuncType": "engine.wasm.types",
    "GlobalType": "engine.wasm.types", "ImportType": "engine.wasm.types",
    "Limits": "engine.wasm.types", "MemoryType": "engine.wasm.types",
    "TableType": "engine.wasm.types", "ValType": "engine.wasm.types",
    "Instance": "engine.runtime.instance", "Linker": "engine.api",
    "InstancePre": "engine.runtime.linker", "Val": "engine.runtime.values",
    "Tag": "engine.runtime.tag", "TagType": "engine.wasm.types",
    "SharedMemory": "engine.proposals",
    "Func": "engine.runtime.func", "Caller": "engine.runtime.func",
    "Memory": "engine.runtime.memory", "Table": "engine.runtime.table",
    "Global": "engine.runtime.globals",
    "ExitTrap": "engine.errors",
    "WasiConfig": "engine.runtime.wasi.config", "DirPerms": "engine.runtime.wasi.config",
    "FilePerms": "engine.runtime.wasi.config",
}

#: the public names, spelled out so that type checkers read them (tests/api/test_typing.py
#: checks that this is exactly _EXPORTS)
__all__ = [
    "Config", "Engine", "Store", "Module", "WasmError", "MalformedError", "InvalidError",
    "LinkError", "IncompatibleArtifactError", "UnsupportedError", "InternalError", "Trap",
    "TrapCode", "WasmtimeError", "ArgumentTypeError", "ClosedError", "Frame",
    "ThrownException", "ExnRef", "wat2wasm",
    "ExportType", "FuncType", "GlobalType", "ImportType", "Limits", "MemoryType", "TableType",
    "ValType", "Instance", "Linker", "InstancePre", "Val", "Tag", "TagType", "SharedMemory",
    "Func", "Caller", "Memory", "Table", "Global", "ExitTrap", "WasiConfig", "DirPerms",
    "FilePerms",
]

if TYPE_CHECKING:
    # `X as X`: explicit re-exports, for type checkers that do not re-export implicitly
    from .api import Engine as Engine, Linker as Linker, Store as Store
    from .compile.module import Module as Module
    from .config import Config as Config
    from .errors import (ArgumentTypeError as ArgumentTypeError, ClosedError as ClosedError,
                         ExitTrap as ExitTrap, Frame as Frame,
                         IncompatibleArtifactError as IncompatibleArtifactError,
                         InternalError as InternalError, InvalidError as InvalidError,
                         LinkError as LinkError, MalformedError as MalformedError,
                         ThrownException as ThrownException, Trap as Trap, TrapCode as TrapCode,
                         UnsupportedError as UnsupportedError, WasmError as WasmError,
                         WasmtimeError as WasmtimeError)
    from .proposals import SharedMemory as SharedMemory
    from .runtime.exn import ExnRef as ExnRef
    from .runtime.func import Caller as Caller, Func as Func
    from .runtime.globals import Global as Global
    from .runtime.instance import Instance as Instance
    from .runtime.linker import InstancePre as InstancePre
    from .runtime.memory import Memory as Memory
    from .runtime.table import Table as Table
    from .runtime.tag import Tag as Tag
    from .runtime.values import Val as Val
    from .runtime.wasi.config import (DirPerms as DirPerms, FilePerms as FilePerms,
                                      WasiConfig as WasiConfig)
    from .text import wat2wasm as wat2wasm
    from .wasm.types import (ExportType as ExportType, FuncType as FuncType,
                             GlobalType as GlobalType, ImportType as ImportType, Limits as Limits,
                             MemoryType as MemoryType, TableType as TableType,
                             TagType as TagType, ValType as ValType)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
