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
    "wat2wasm": "engine.text",
    "ExportType": "engine.wasm.types", "FuncType": "engine.wasm.types",
    "GlobalType": "engine.wasm.types", "ImportType": "engine.wasm.types",
    "Limits": "engine.wasm.types", "MemoryType": "engine.wasm.types",
    "TableType": "engine.wasm.types", "ValType": "engine.wasm.types",
    "Instance": "engine.runtime.instance", "Linker": "engine.api",
    "InstancePre": "engine.runtime.linker", "Val": "engine.runtime.values",
    "Tag": "engine.proposals", "TagType": "engine.proposals", "SharedMemory": "engine.proposals",
    "Func": "engine.runtime.func", "Caller": "engine.runtime.func",
    "Memory": "engine.runtime.memory", "Table": "engine.runtime.table",
    "Global": "engine.runtime.globals",
    "ExitTrap": "engine.errors",
    "WasiConfig": "engine.runtime.wasi.config", "DirPerms": "engine.runtime.wasi.config",
    "FilePerms": "engine.runtime.wasi.config",
}

__all__ = list(_EXPORTS)

if TYPE_CHECKING:
    from .api import Engine, Linker, Store
    from .compile.module import Module
    from .config import Config
    from .errors import (ArgumentTypeError, ClosedError, ExitTrap, Frame,
                         IncompatibleArtifactError, InternalError, InvalidError, LinkError,
                         MalformedError, Trap, TrapCode, UnsupportedError, WasmError,
                         WasmtimeError)
    from .proposals import SharedMemory, Tag, TagType
    from .runtime.linker import InstancePre
    from .runtime.values import Val
    from .runtime.func import Caller, Func
    from .runtime.globals import Global
    from .runtime.instance import Instance
    from .runtime.wasi.config import DirPerms, FilePerms, WasiConfig
    from .runtime.memory import Memory
    from .runtime.table import Table
    from .text import wat2wasm
    from .wasm.types import (ExportType, FuncType, GlobalType, ImportType, Limits, MemoryType,
                             TableType, ValType)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
