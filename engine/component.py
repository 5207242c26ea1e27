"""The component model's API names (wasmtime-py's ``wasmtime.component``), not implemented
yet: the module imports, and reaching any of its names raises UnsupportedError
("not supported yet: components"), a WasmError, rather than an ImportError or a NameError
later. ``from engine.component import Component`` and ``from engine.component import *``
both raise it."""

from __future__ import annotations

from typing import NoReturn

from .errors import UnsupportedError

#: the names wasmtime-py 50's wasmtime.component exports
__all__ = ["Component", "ExportIndex", "Linker", "LinkerInstance", "Instance", "Func",
           "ResourceType", "ResourceAny", "ResourceHost", "ComponentType", "ModuleType",
           "ComponentItem", "ComponentInstanceType", "FuncType", "ValType", "Bool", "U8", "U16",
           "U32", "U64", "S8", "S16", "S32", "S64", "F32", "F64", "Char", "String",
           "ErrorContext", "ListType", "RecordType", "TupleType", "VariantType", "EnumType",
           "OptionType", "ResultType", "FlagsType", "StreamType", "FutureType", "OwnType",
           "BorrowType", "Variant", "Record"]


def __getattr__(name: str) -> NoReturn:
    if name in __all__:
        raise UnsupportedError(f"components (engine.component.{name}; polyjit runs core "
                               f"WebAssembly modules only, the component model comes later)")
    raise AttributeError(f"module 'engine.component' has no attribute {name!r}")
