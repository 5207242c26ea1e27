"""Executors: how the harness compiles, instantiates and calls modules.

`Executor` is the interface the runner drives. `ApiExecutor` implements it on top of any API
namespace with wasmtime-py's shapes (Engine, Store, Module, Linker, Func, Global, Table,
Memory, their types, Trap, and an error class): `wasmtime_api()` gives wasmtime-py itself
(the reference that validates this harness), `polyjit_api()` gives polyjit's `engine`.
Missing pieces of an API (polyjit grows over time) are reported, not guessed at: the runner
counts what needs them as "not yet run".
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable, Protocol

from .values import ConversionError, f32_from_bits, f32_to_bits, from_python, to_python
from .wast import Value, ValueKind


# ------------------------------------------------------------------------------ outcomes

class Rejected(Exception):
    """The API refused a module (or a text module) with its error type."""


class Trapped(Exception):
    """A wasm trap; `code` is the trap code's name (e.g. "UNREACHABLE") when the API gives one."""

    def __init__(self, message: str, code: str | None) -> None:
        super().__init__(message)
        self.code = code


class Unsupported(Exception):
    """The API refused a module as something it does not implement yet ("not supported yet"):
    never a pass, not even where the module must be refused."""


class Thrown(Exception):
    """A wasm exception (the exception-handling proposal) left the called function."""


class LinkFailed(Exception):
    """Instantiation failed with the API's error type (not a trap)."""


class HarnessError(Exception):
    """The script asks for something that is not there (unknown module, export of wrong kind)."""


# ----------------------------------------------------------------------------- interface

class Executor(Protocol):
    """What the runner needs from an engine under test. Methods raise the outcomes above."""

    name: str

    def frontend_missing(self) -> str | None:
        """Why modules cannot be decoded/validated yet, or None."""

    def text_missing(self) -> str | None:
        """Why text modules cannot be parsed yet, or None."""

    def runtime_missing(self) -> str | None:
        """Why modules cannot be instantiated and run yet, or None."""

    def reset(self) -> None:
        """Start a new script: a fresh store with the spectest module and no named modules."""

    def compile(self, wasm: bytes) -> Any: ...

    def compile_text(self, text: str) -> Any: ...

    def wat2wasm(self, text: str) -> bytes:
        """The binary the engine's text parser makes of a `(module ...)` text."""

    def instantiate(self, module: Any, name: str | None, *, current: bool = True) -> None:
        """Instantiate. With `current`, the new instance becomes the current module (and
        `name`, if given), and a failure leaves no current module; without (the module of
        an assertion), the current module is not touched."""

    def forget_current(self) -> None:
        """A module command failed: later actions without a module name must not reach the
        module before it."""

    def register(self, name: str | None, as_name: str) -> None: ...

    def invoke(self, module: str | None, field: str, args: tuple[Value, ...]) -> list[Value]: ...

    def get(self, module: str | None, field: str) -> Value: ...


# --------------------------------------------------------------------------- API namespaces

@dataclass(slots=True)
class ApiNamespace:
    """An API with wasmtime-py's shapes, and how to make an Engine of it."""

    name: str
    api: ModuleType
    error: type[BaseException]
    make_engine: Callable[[], Any]
    #: Modules (importlib names) the front end / text parser need; absent ones mean "not yet".
    frontend_modules: tuple[str, ...] = ()
    text_modules: tuple[str, ...] = ()
    #: Given an Engine, why it cannot execute code yet (None: it can).
    runtime_probe: Callable[[Any], str | None] = lambda engine: None


#: What instantiating and running needs from an API namespace.
RUNTIME_NAMES = ("Store", "Linker", "Func", "FuncType", "Global", "GlobalType", "Table",
                 "TableType", "Memory", "MemoryType", "Limits", "ValType", "Trap")


def wasmtime_api() -> ApiNamespace:
    """wasmtime-py with its default configuration: the reference the harness is checked with."""
    import wasmtime
    return ApiNamespace("wasmtime", wasmtime, wasmtime.WasmtimeError,
                        lambda: wasmtime.Engine())


def polyjit_api(settings: dict | None = None) -> ApiNamespace:
    """polyjit's public API (`import engine`), with an Engine built from Config(**settings)."""
    import engine
    settings = dict(settings or {})
    return ApiNamespace(
        "polyjit", engine, engine.WasmError,
        lambda: engine.Engine(engine.Config(**settings)),
        frontend_modules=("engine.wasm.decoder", "engine.wasm.validator"),
        text_modules=("engine.text.parser",),
        runtime_probe=_polyjit_runtime_probe)


def _polyjit_runtime_probe(eng: Any) -> str | None:
    """Ask polyjit for the executor its Config selects; its refusal says why not yet."""
    try:
        from engine.runtime.executor import executor_for
    except ImportError as e:
        return f"polyjit has no runtime executor yet ({e})"
    from engine.errors import UnsupportedError
    try:
        executor_for(eng._state)
    except UnsupportedError as e:
        return str(e)
    except ImportError as e:
        return f"polyjit cannot load its executor yet ({e})"
    return None


def _missing_modules(names: tuple[str, ...]) -> list[str]:
    missing = []
    for name in names:
        try:
            if importlib.util.find_spec(name) is None:
                missing.append(name)
        except ModuleNotFoundError:
            missing.append(name)
    return missing


# ----------------------------------------------------------------------------- ApiExecutor

_UNKNOWN = object()

_SPECTEST_FUNCS = {
    "print": (),
    "print_i32": ("i32",),
    "print_i64": ("i64",),
    "print_f32": ("f32",),
    "print_f64": ("f64",),
    "print_i32_f32": ("i32", "f32"),
    "print_f64_f64": ("f64", "f64"),
}


def _spectest_prints(*args) -> None:
    """The spectest print functions: the suite only checks that they can be called."""
    return None


@dataclass(slots=True)
class ApiExecutor:
    """Runs scripts through an API namespace: one Engine, one Store and Linker per script."""

    ns: ApiNamespace
    name: str = ""
    engine: Any = None
    store: Any = None
    linker: Any = None
    current: Any = None
    instances: dict[str, Any] = field(default_factory=dict)
    _kinds: list = field(default_factory=list)
    _runtime_reason: Any = None

    def __post_init__(self) -> None:
        self.name = self.name or self.ns.name
        self._runtime_reason = _UNKNOWN

    # -- availability

    def frontend_missing(self) -> str | None:
        missing = _missing_modules(self.ns.frontend_modules)
        return f"{self.ns.name} has no {', '.join(missing)} yet" if missing else None

    def text_missing(self) -> str | None:
        if not hasattr(self.ns.api, "wat2wasm"):
            return f"{self.ns.name} has no wat2wasm"
        missing = _missing_modules(self.ns.text_modules)
        return f"{self.ns.name} has no {', '.join(missing)} yet" if missing else None

    def runtime_missing(self) -> str | None:
        reason = self.frontend_missing()
        if reason:
            return reason
        missing = [n for n in RUNTIME_NAMES if not hasattr(self.ns.api, n)]
        if missing:
            return f"{self.ns.name} has no {', '.join(missing)} yet"
        if self._runtime_reason is _UNKNOWN:
            self._runtime_reason = self.ns.runtime_probe(self._engine())
        return self._runtime_reason

    # -- per script

    def _engine(self) -> Any:
        if self.engine is None:
            self.engine = self.ns.make_engine()
        return self.engine

    def reset(self) -> None:
        self.current = None
        self.instances = {}
        self.store = self.linker = None
        self._engine()
        if self.runtime_missing() is not None:
            return
        api = self.ns.api
        self.store = api.Store(self.engine)
        self.linker = api.Linker(self.engine)
        try:
            self.linker.allow_shadowing = True
        except (AttributeError, TypeError):
            pass
        vt = api.ValType
        self._kinds = [(vt.i32(), ValueKind.I32), (vt.i64(), ValueKind.I64),
                       (vt.f32(), ValueKind.F32), (vt.f64(), ValueKind.F64),
                       (vt.funcref(), ValueKind.FUNCREF), (vt.externref(), ValueKind.EXTERNREF)]
        if hasattr(vt, "v128"):
            self._kinds.append((vt.v128(), ValueKind.V128))
        self._define_spectest()

    def _define_spectest(self) -> None:
        api, store, define = self.ns.api, self.store, self.linker.define
        vt = api.ValType
        by_name = {"i32": vt.i32(), "i64": vt.i64(), "f32": vt.f32(), "f64": vt.f64()}
        for name, params in _SPECTEST_FUNCS.items():
            ty = api.FuncType([by_name[p] for p in params], [])
            define(store, "spectest", name, api.Func(store, ty, _spectest_prints))
        f32_666_6 = f32_from_bits(f32_to_bits(666.6))
        for name, ty, value in (("global_i32", vt.i32(), 666), ("global_i64", vt.i64(), 666),
                                ("global_f32", vt.f32(), f32_666_6),
                                ("global_f64", vt.f64(), 666.6)):
            define(store, "spectest", name, api.Global(store, api.GlobalType(ty, False), value))
        table = api.Table(store, api.TableType(vt.funcref(), api.Limits(10, 20)), None)
        define(store, "spectest", "table", table)
        try:    # the 3.0 spectest's 64-bit table (wasmtime-py's TableType cannot make one)
            table64_type = api.TableType(vt.funcref(), api.Limits(10, 20), is_64=True)
        except TypeError:
            table64_type = None
        if table64_type is not None:
            define(store, "spectest", "table64", api.Table(store, table64_type, None))
        define(store, "spectest", "memory", api.Memory(store, api.MemoryType(api.Limits(1, 2))))

    # -- modules

    def compile(self, wasm: bytes) -> Any:
        try:
            return self.ns.api.Module(self._engine(), wasm)
        except self.ns.error as e:
            raise _rejected(e, "") from None

    def wat2wasm(self, text: str) -> bytes:
        try:
            return bytes(self.ns.api.wat2wasm(text))
        except self.ns.error as e:
            raise _rejected(e, "text rejected: ") from None

    def compile_text(self, text: str) -> Any:
        return self.compile(self.wat2wasm(text))

    def instantiate(self, module: Any, name: str | None, *, current: bool = True) -> None:
        if current:
            self.current = None
        try:
            instance = self.linker.instantiate(self.store, module)
        except self.ns.api.Trap as e:
            raise Trapped(_trap_message(e), _trap_code(e)) from None
        except self.ns.error as e:
            raise LinkFailed(str(e)) from None
        if current:
            self.current = instance
        if name is not None:
            self.instances[name] = instance

    def forget_current(self) -> None:
        self.current = None

    def register(self, name: str | None, as_name: str) -> None:
        instance = self._instance(name)
        self.linker.define_instance(self.store, as_name, instance)

    def _instance(self, name: str | None) -> Any:
        if name is None:
            if self.current is None:
                raise HarnessError("no current module (the last module failed or none defined)")
            return self.current
        try:
            return self.instances[name]
        except KeyError:
            raise HarnessError(f"no module named {name}") from None

    def _export(self, module: str | None, field_name: str) -> Any:
        exports = self._instance(module).exports(self.store)
        try:
            return exports[field_name]
        except KeyError:
            raise HarnessError(f"no export named {field_name!r}") from None

    # -- actions

    def _kind(self, valtype: Any) -> ValueKind:
        for vt, kind in self._kinds:
            if vt == valtype:
                return kind
        top = getattr(valtype, "top", None)     # polyjit's typed reference: (ref $t) etc.
        if top is not None and top is not valtype:
            return self._kind(top)
        raise HarnessError(f"unknown value type {valtype!r}")

    def _is_func(self, obj: Any) -> bool:
        return isinstance(obj, self.ns.api.Func)

    def invoke(self, module: str | None, field_name: str, args: tuple[Value, ...]) -> list[Value]:
        func = self._export(module, field_name)
        if not isinstance(func, self.ns.api.Func):
            raise HarnessError(f"export {field_name!r} is a {type(func).__name__}, not a Func")
        result_kinds = [self._kind(t) for t in func.type(self.store).results]
        try:
            py_args = [to_python(a) for a in args]
        except ConversionError as e:
            raise HarnessError(str(e)) from None
        try:
            raw = func(self.store, *py_args)
        except getattr(self.ns.api, "ThrownException", ()) as e:
            raise Thrown(str(e)) from None
        except self.ns.api.Trap as e:
            if _is_uncaught_exception(e):
                raise Thrown(_trap_message(e)) from None
            raise Trapped(_trap_message(e), _trap_code(e)) from None
        if len(result_kinds) == 0:
            if raw is not None:
                raise ConversionError(f"function without results returned {raw!r}")
            return []
        if len(result_kinds) == 1:
            raw = [raw]
        elif not isinstance(raw, (list, tuple)) or len(raw) != len(result_kinds):
            raise ConversionError(f"expected {len(result_kinds)} results, got {raw!r}")
        return [from_python(k, v, self._is_func) for k, v in zip(result_kinds, raw)]

    def get(self, module: str | None, field_name: str) -> Value:
        glob = self._export(module, field_name)
        if not isinstance(glob, self.ns.api.Global):
            raise HarnessError(f"export {field_name!r} is a {type(glob).__name__}, not a Global")
        kind = self._kind(glob.type(self.store).content)
        return from_python(kind, glob.value(self.store), self._is_func)


def _trap_message(e: BaseException) -> str:
    message = getattr(e, "message", None)
    return str(message if message is not None else e)


def _rejected(e: BaseException, prefix: str) -> Exception:
    message = f"{prefix}{e}"
    return Unsupported(message) if "not supported yet" in message else Rejected(message)


def _is_uncaught_exception(e: BaseException) -> bool:
    """A trap that is a wasm exception nothing caught (wasmtime-py 50 gives no trap code for
    it, only the message)."""
    return (_trap_code(e) == "UNCAUGHT_EXCEPTION"
            or "thrown Wasm exception" in _trap_message(e))


def _trap_code(e: BaseException) -> str | None:
    code = getattr(e, "trap_code", None)
    return getattr(code, "name", None) if code is not None else None


def make_executor(api: str, settings: dict | None = None) -> ApiExecutor:
    """An executor by API name: "polyjit" (with Config settings) or "wasmtime"."""
    if api == "wasmtime":
        return ApiExecutor(wasmtime_api())
    if api == "polyjit":
        return ApiExecutor(polyjit_api(settings))
    raise ValueError(f"unknown API {api!r} (known: polyjit, wasmtime)")
