"""Module: a decoded, validated (and, for the compiler strategy, compiled) WebAssembly module."""

from __future__ import annotations

import os

from .engine import Engine
from .errors import WasmError
from .wasm.module import WasmModule
from .wasm.types import ExportType, ExternKind, ImportType


def _to_binary(wasm) -> bytes:
    if isinstance(wasm, str):
        from .text import wat2wasm
        return wat2wasm(wasm)
    if isinstance(wasm, (bytes, bytearray, memoryview)):
        return bytes(wasm)
    raise WasmError(f"expected wasm bytes or text, got {type(wasm).__name__}")


def decode_and_validate(engine: Engine, wasm) -> WasmModule:
    """Bytes or text in, a validated WasmModule out; WasmError for anything wrong."""
    from .wasm.decoder import decode
    from .wasm.validator import validate
    data = _to_binary(wasm)
    module = decode(data, engine.features)
    validate(module, engine.features)
    return module


class Module:
    """A compiled WebAssembly module (mirrors wasmtime-py's Module)."""

    def __init__(self, engine: Engine, wasm) -> None:
        if not isinstance(engine, Engine):
            raise WasmError(f"Module expects an Engine, got {type(engine).__name__}")
        self.engine = engine
        self._binary = _to_binary(wasm)
        self._module = decode_and_validate(engine, self._binary)
        self._ir: dict[int, object] = {}
        self._compiled: dict[int, object] = {}
        self._precompiled = None

    @classmethod
    def _from_parts(cls, engine: Engine, binary: bytes, module: WasmModule) -> Module:
        """A Module around an already decoded and validated module (for deserialize)."""
        self = object.__new__(cls)
        self.engine = engine
        self._binary = binary
        self._module = module
        self._ir = {}
        self._compiled = {}
        self._precompiled = None
        return self

    @property
    def binary(self) -> bytes:
        """The module's binary encoding (text input is assembled first)."""
        return self._binary

    def serialize(self) -> bytes:
        """This module as a precompiled artifact (docs/artifact-format.md) for its engine's
        target: the machine code it runs with (compiled now if it was not yet)."""
        from .artifact import serialize
        return serialize(self)

    @classmethod
    def deserialize(cls, engine: Engine, data) -> Module:
        """A Module from an artifact made by Engine.precompile_module or Module.serialize.
        Every field is checked against `engine` first; IncompatibleArtifactError (a WasmError)
        names a mismatch or damage. For a native engine the machine-code executor is installed
        on the engine and given the artifact's code."""
        if not isinstance(engine, Engine):
            raise WasmError(f"Module.deserialize expects an Engine, got {type(engine).__name__}")
        from .artifact import deserialize
        return deserialize(engine, data)

    @classmethod
    def deserialize_file(cls, engine: Engine, path: str | os.PathLike) -> Module:
        """Module.deserialize on the contents of the file at `path`."""
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise WasmError(f"{path}: cannot read artifact: {e.strerror or e}") from None
        return cls.deserialize(engine, data)

    @classmethod
    def from_file(cls, engine: Engine, path: str | os.PathLike) -> Module:
        with open(path, "rb") as f:
            data = f.read()
        if str(path).endswith(".wat") or str(path).endswith(".wast"):
            try:
                data = data.decode("utf-8")
            except UnicodeDecodeError as e:
                raise WasmError(f"{path}: text module is not valid UTF-8: {e}") from None
        return cls(engine, data)

    @staticmethod
    def validate(engine: Engine, wasm) -> None:
        """Raise WasmError if `wasm` is not a valid module for this engine."""
        decode_and_validate(engine, wasm)

    @property
    def wasm_module(self) -> WasmModule:
        """The decoded module (for polyjit's own stages and tools)."""
        return self._module

    def ir_function(self, index: int):
        """The SSA IR of defined function `index` (function index space), built on first use
        and then cleaned by the IR pipeline every strategy shares (redundant heap checks
        removed: engine.ir.passes.heapcheck)."""
        cache = self.__dict__.setdefault("_ir", {})     # also for Modules made without __init__
        fn = cache.get(index)
        if fn is None:
            from .ir.builder import build_function
            from .ir.passes.heapcheck import eliminate_heap_checks
            fn = build_function(self._module, index,
                                fuel=bool(self.engine.settings.get("consume_fuel")))
            eliminate_heap_checks(fn)
            cache[index] = fn
        return fn

    def compiled_function(self, index: int):
        """The IR interpreter's translation of function `index`, made on first use."""
        cache = self.__dict__.setdefault("_compiled", {})
        compiled = cache.get(index)
        if compiled is None:
            from .ir.interp import compile_function
            settings = self.engine.settings
            compiled = cache[index] = compile_function(
                self.ir_function(index), fuel=bool(settings.get("consume_fuel")),
                epoch=bool(settings.get("epoch_interruption")))
        return compiled

    @property
    def imports(self) -> list[ImportType]:
        m = self._module
        out = []
        for imp in m.imports:
            ty = m.types[imp.desc] if imp.kind == ExternKind.FUNC else imp.desc
            out.append(ImportType(imp.module, imp.name, ty))
        return out

    @property
    def exports(self) -> list[ExportType]:
        m = self._module
        spaces = {ExternKind.FUNC: m.func_types(), ExternKind.TABLE: m.table_types(),
                  ExternKind.MEMORY: m.memory_types(), ExternKind.GLOBAL: m.global_types()}
        return [ExportType(e.name, spaces[e.kind][e.index]) for e in m.exports]
