"""polyjit: a WebAssembly runtime for Python with a multi-architecture JIT.

The public API mirrors wasmtime-py: ``from engine import Engine, Store, Module, Instance, ...``.
"""

from .config import Config
from .engine import Engine
from .errors import (ExitTrap, IncompatibleArtifactError, InvalidError, LinkError, MalformedError,
                     Trap, TrapCode, UnsupportedError, WasmError)
from .module import Module
from .runtime import Caller, Func, Global, Instance, Linker, Memory, Store, Table
from .runtime.wasi import DirPerms, FilePerms, WasiConfig
from .text import wat2wasm
from .wasm.types import (ExportType, FuncType, GlobalType, ImportType, Limits, MemoryType,
                         TableType, ValType)

__all__ = [
    "Config", "Engine", "Module", "WasmError", "MalformedError", "InvalidError", "LinkError",
    "IncompatibleArtifactError", "UnsupportedError", "Trap", "TrapCode", "wat2wasm",
    "ExportType", "FuncType", "GlobalType", "ImportType", "Limits", "MemoryType", "TableType",
    "ValType", "Store", "Instance", "Linker", "Func", "Caller", "Memory", "Table", "Global",
    "ExitTrap", "WasiConfig", "DirPerms", "FilePerms",
]
