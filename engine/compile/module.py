"""Module: a decoded and validated WebAssembly module of one Engine, with what compiling it
produces (its IR, built on demand, and its machine code, kept once made or loaded)."""

from __future__ import annotations

import functools
import os
import weakref
from typing import Any, Callable

from backends.base import CompiledCode
from ..environ.module_info import ModuleInfo
from ..errors import ArgumentTypeError, WasmError
from ..ir.gcpause import gc_paused, promote_to_oldest
from ..ir.ir import Function
from ..text import wat2wasm
from ..wasm.decoder import decode
from ..wasm.module import WasmModule
from ..wasm.types import ExportType, ExternKind, ImportType, TagType
from ..wasm.validator import validate
from . import artifact
from .ahead import AheadPlan, compile_order, elem_functions, entry_functions
from .driver import code_for, function_ir
from .parallel import can_fork, validate_parallel, worker_count
from .registry import backend_for
from .environment import EngineState, state_of
from .forked import ForkedStream

#: from this many functions a module's decoded objects move to the collector's oldest
#: generation at once (engine.ir.gcpause.promote_to_oldest)
_PROMOTE_MIN_FUNCTIONS = 64


def to_binary(wasm: Any) -> bytes:
    """The binary of `wasm`: text (a str, or bytes that do not start with a zero byte, as
    wasmtime-py reads them: the text format as UTF-8) is assembled, a binary kept;
    ArgumentTypeError (a TypeError) for anything else."""
    if isinstance(wasm, str):
        return wat2wasm(wasm)
    if isinstance(wasm, (bytes, bytearray, memoryview)):
        data = bytes(wasm)
        if data and data[0] != 0:
            return wat2wasm(data)
        return data
    raise ArgumentTypeError(f"expected wasm bytes or text, got {type(wasm).__name__}")


def decode_and_validate(state: EngineState, wasm: Any) -> WasmModule:
    """Bytes or text in, a validated WasmModule out; WasmError for anything wrong."""
    module = decode_module(state, wasm)
    validate_module(state, module)
    return module


def decode_module(state: EngineState, wasm: Any) -> WasmModule:
    """Bytes or text in, a decoded (not yet validated) WasmModule out; WasmError for a
    malformed module. Under Config.parallel_compilation a large module's bodies are left
    undecoded: the processes that validate them decode them (decode's `defer`)."""
    defer = state.settings.parallel_compilation and worker_count() >= 2 and can_fork()
    with gc_paused():
        module = decode(to_binary(wasm), state.features, defer)
        _promote_large(module)
    return module


def _promote_large(module: WasmModule) -> None:
    """A large module's decoded objects to the collector's oldest generation (inside
    gc_paused: enabling the collector with them young starts a collection that scans them
    all, 10-15 ms on SQLite)."""
    if len(module.codes) >= _PROMOTE_MIN_FUNCTIONS:
        promote_to_oldest()


def validate_module(state: EngineState, module: WasmModule,
                    ahead: Callable[[], tuple] | None = None) -> ForkedStream | None:
    """Validate a decoded module (WasmError for the first rule it breaks), sharing a large
    one's bodies with a forked child under Config.parallel_compilation; that child goes on
    compiling ahead as `ahead` says (engine.compile.parallel.validate_parallel), its stream
    returned. Then the module's objects move to the collector's oldest generation."""
    features = state.features
    stream = None
    with gc_paused():
        if state.settings.parallel_compilation:
            stream = validate_parallel(module, features, ahead)
        else:
            validate(module, features)
        _promote_large(module)
    return stream


class Module:
    """A compiled WebAssembly module (mirrors wasmtime-py's Module)."""

    def __init__(self, engine: Any, wasm: Any) -> None:
        self._state = state_of(engine, "Module")
        self.engine = engine
        self._binary = to_binary(wasm)
        self._module = decode_module(self._state, self._binary)
        self._ir: dict[int, Function] = {}
        #: the machine code, once compiled or loaded from an artifact (engine.compile.driver)
        self.code: CompiledCode | None = None
        #: first-tier code compiled ahead of need by the child that validated half of a large
        #: module (engine.compile.ahead), until the module's LazyCode takes it (`take_ahead`)
        self._ahead: tuple[AheadPlan, ForkedStream] | None = None
        plan = self._ahead_plan()
        wasm = self._module
        stream = validate_module(self._state, wasm, None if plan is None else lambda: (
            plan.job(wasm, lambda: self.info), entry_functions(wasm), elem_functions(wasm),
            functools.partial(compile_order, wasm)))
        if stream is not None and plan is not None:
            self._ahead = (plan, stream)
            # (the stream's reader thread keeps it alive: its child ends with the module)
            weakref.finalize(self, stream.close)

    def _ahead_plan(self) -> AheadPlan | None:
        """How this module's first-tier code would be compiled ahead of need, when its
        engine compiles lazily with a baseline tier, in parallel and without a cache."""
        s = self._state.settings
        if not (s.lazy_compilation and s.parallel_compilation and s.cache is None
                and (s.baseline_compilation or s.tiered_compilation)):
            return None
        backend = backend_for(s)
        if not backend.has_baseline_tier:
            return None
        return AheadPlan(backend, baseline=True,
                         counted=s.tiered_compilation and not s.baseline_compilation,
                         fuel=s.consume_fuel)

    def take_ahead(self, backend: Any) -> ForkedStream | None:
        """The stream of first-tier code compiled ahead for `backend`, once (None if there is
        none, or it is code for another backend: then it is let go)."""
        ahead, self._ahead = self._ahead, None
        if ahead is None:
            return None
        plan, stream = ahead
        if plan.fits(backend):
            return stream
        stream.close()
        return None

    @classmethod
    def _from_parts(cls, engine: Any, binary: bytes, module: WasmModule,
                    code: CompiledCode | None = None) -> Module:
        """A Module around an already decoded and validated module (for deserialize)."""
        self = object.__new__(cls)
        self._state = state_of(engine, "Module")
        self.engine = engine
        self._binary = binary
        self._module = module
        self._ir = {}
        self.code = code
        self._ahead = None
        return self

    def close(self) -> None:
        """Nothing to release early (wasmtime-py's Module.close; for ``with Module(...)``):
        the code is freed with the last reference to the module."""

    def __enter__(self) -> Module:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        name = self._module.names.module
        label = f" {name!r}" if name else ""
        return (f"<Module{label}: {len(self._module.imports)} imports, "
                f"{len(self._module.exports)} exports>")

    @property
    def binary(self) -> bytes:
        """The module's binary encoding (text input is assembled first)."""
        return self._binary

    @property
    def state(self) -> EngineState:
        """The shared state of the Engine this module belongs to."""
        return self._state

    def serialize(self) -> bytes:
        """This module as a precompiled artifact (docs/artifact-format.md) for its engine's
        target: the machine code it runs with (compiled now if it was not yet)."""
        return self.precompiled(None)

    def precompiled(self, progress: Callable[[int, int], None] | None) -> bytes:
        """Module.serialize, calling `progress(done, total)` as functions are compiled."""
        settings = self._state.settings
        artifact.require_compiler(settings, "Module.serialize")
        code = code_for(self, backend_for(settings), progress)
        return artifact.encode(settings, self._binary, code)

    @classmethod
    def deserialize(cls, engine: Any, data: Any) -> Module:
        """A Module from an artifact made by Engine.precompile_module or Module.serialize.
        Every field is checked against `engine` first; IncompatibleArtifactError (a WasmError)
        names a mismatch or damage."""
        state = state_of(engine, "Module.deserialize")
        binary, wasm, code = artifact.load(state, data)
        return cls._from_parts(engine, binary, wasm, code)

    @classmethod
    def deserialize_file(cls, engine: Any, path: str | os.PathLike) -> Module:
        """Module.deserialize on the contents of the file at `path`."""
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise WasmError(f"{path}: cannot read artifact: {e.strerror or e}") from None
        return cls.deserialize(engine, data)

    @classmethod
    def from_file(cls, engine: Any, path: str | bytes | os.PathLike) -> Module:
        """A Module from the file at `path`: binary, or the text format (any file whose
        first byte is not zero, whatever its name)."""
        with open(path, "rb") as f:
            data = f.read()
        return cls(engine, data)

    @staticmethod
    def validate(engine: Any, wasm: Any) -> None:
        """Raise WasmError if `wasm` is not a valid module for this engine."""
        decode_and_validate(state_of(engine, "Module.validate"), wasm)

    @property
    def wasm_module(self) -> WasmModule:
        """The decoded module (for polyjit's own stages and tools)."""
        return self._module

    @functools.cached_property
    def info(self) -> ModuleInfo:
        """What code generation needs to know about this module, under its engine's settings
        (built once)."""
        s = self._state.settings
        return ModuleInfo.for_module(self._module, epoch=s.epoch_interruption,
                                     fuel=s.consume_fuel, guard_pages=s.signals_based_traps,
                                     emulated=s.emulate)

    def ir_function(self, index: int) -> Function:
        """The SSA IR of defined function `index` (function index space) after the IR pipeline
        (engine.compile.driver.function_ir), built on first use."""
        fn = self._ir.get(index)
        if fn is None:
            fn = self._ir[index] = function_ir(self._module, index,
                                               self._state.settings.consume_fuel)
        return fn

    def take_ir(self, index: int) -> Function:
        """ir_function(index) without keeping it: the compile driver frees each function's IR
        as soon as its code is made."""
        fn = self._ir.pop(index, None)
        if fn is None:
            fn = function_ir(self._module, index, self._state.settings.consume_fuel)
        return fn

    @property
    def imports(self) -> list[ImportType]:
        m = self._module
        out = []
        for imp in m.imports:
            ty = m.types[imp.desc] if imp.kind == ExternKind.FUNC else \
                TagType(m.types[imp.desc]) if imp.kind == ExternKind.TAG else imp.desc
            out.append(ImportType(imp.module, imp.name, m.canonical(ty)))
        return out

    @property
    def exports(self) -> list[ExportType]:
        m = self._module
        spaces = {ExternKind.FUNC: m.func_types(), ExternKind.TABLE: m.table_types(),
                  ExternKind.MEMORY: m.memory_types(), ExternKind.GLOBAL: m.global_types(),
                  ExternKind.TAG: [TagType(m.types[t]) for t in m.tag_type_indices()]}
        return [ExportType(e.name, m.canonical(spaces[e.kind][e.index])) for e in m.exports]
