"""Oracles: the implementations a case runs on. Every polyjit oracle goes through the public
API (`engine.Engine(Config(...))`, Store, Module, Instance, Func), so a target plugs in as soon
as its Config works; one whose Engine or Instance raises UnsupportedError is *unavailable*.
wasmtime (the `wasmtime` package) is the outside reference.

`run_case` runs one case in the current process and returns an `Outcome`: the status of the
module, then one `Event` per step (instantiation, then each call) with its results or trap and
the exported state after it (globals, memory size and hash, table sizes and null patterns)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable

from .case import Case
from .values import crosses_python, is_null, normalise

#: Oracle name -> (implementation, Config settings). Order is the display order.
ORACLES: dict[str, tuple[str, dict]] = {
    "interp": ("polyjit", {"strategy": "interpreter"}),
    "x86_64": ("polyjit", {"strategy": "compiler", "target": "x86_64"}),
    "emu-x86_64": ("polyjit", {"strategy": "compiler", "target": "x86_64", "emulate": True}),
    "baseline": ("polyjit", {"strategy": "compiler", "target": "x86_64",
                             "baseline_compilation": True}),
    "aarch64": ("polyjit", {"strategy": "compiler", "target": "aarch64"}),
    "riscv64": ("polyjit", {"strategy": "compiler", "target": "riscv64"}),
    "wasmtime": ("wasmtime", {}),
}
#: Oracles whose machine code runs in the fuzzer's own address space (a crash is a finding).
NATIVE = ("x86_64", "baseline")
#: Preferred references, best first: the divergent side of a disagreement is the one that
#: differs from the first reference that ran the case.
REFERENCES = ("wasmtime", "interp")
#: Tables longer than this have only their first entries' null pattern compared.
TABLE_PATTERN_LIMIT = 256

PROBE_WAT = '(module (func (export "f") (param i32) (result i32) local.get 0 i32.const 1 i32.add))'

# Status of a whole outcome
RAN = "ran"                  # module accepted; events recorded
REJECTED = "rejected"        # decoding/validation refused the module (WasmError)
UNSUPPORTED = "unsupported"  # UnsupportedError for this module
UNAVAILABLE = "unavailable"  # the oracle does not work at all (Engine/Instance unsupported)
CRASH = "crash"              # the worker process died (signal) while running the case
TIMEOUT = "timeout"          # the worker did not answer in time
INTERNAL = "internal"        # a Python exception that is not a WasmError/Trap (a bug)


@dataclass(slots=True)
class Event:
    """One step: kind "ok" (results), "trap" (code name) or "error" (message)."""

    step: str                       # "instantiate" or the export name
    kind: str
    results: tuple = ()
    code: str | None = None
    message: str = ""
    state: tuple = ()

    def brief(self) -> str:
        from .values import render
        if self.kind == "ok":
            return "ok [" + ", ".join(render(r) for r in self.results) + "]"
        if self.kind == "trap":
            return f"trap {self.code}"
        return f"error {self.message[:120]}"

    def to_json(self) -> dict:
        return {"step": self.step, "kind": self.kind, "results": [list(r) for r in self.results],
                "code": self.code, "message": self.message,
                "state": [list(s) for s in self.state]}

    @classmethod
    def from_json(cls, d: dict) -> Event:
        return cls(d["step"], d["kind"], tuple(tuple(r) for r in d["results"]), d["code"],
                   d.get("message", ""), tuple(tuple(s) for s in d["state"]))


@dataclass(slots=True)
class Outcome:
    oracle: str
    status: str
    detail: str = ""
    events: list[Event] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {"oracle": self.oracle, "status": self.status, "detail": self.detail,
                "events": [e.to_json() for e in self.events]}

    @classmethod
    def from_json(cls, d: dict) -> Outcome:
        return cls(d["oracle"], d["status"], d.get("detail", ""),
                   [Event.from_json(e) for e in d["events"]])


class _Api:
    """The handful of differences between polyjit's and wasmtime-py's APIs."""

    def __init__(self, oracle: str) -> None:
        impl, settings = ORACLES[oracle]
        self.oracle = oracle
        if impl == "wasmtime":
            import wasmtime as api
            self.api = api
            config = api.Config()
            config.wasm_exceptions = True      # as polyjit's default (wasmtime 50's)
            self.engine = api.Engine(config)
            self.trap = api.Trap
            self.error = api.WasmtimeError
            self.unsupported: tuple = ()
        else:
            import engine as api
            self.api = api
            self.engine = api.Engine(api.Config(**settings))
            self.trap = api.Trap
            self.error = api.WasmError
            self.unsupported = (api.UnsupportedError,)

    def module(self, wasm: bytes):
        return self.api.Module(self.engine, wasm)


def _code(e: BaseException) -> str | None:
    code = getattr(e, "trap_code", None)
    return getattr(code, "name", None)


def unreadable_exports(wasm: bytes) -> frozenset[str]:
    """Names of the exported globals and tables whose values do not cross wasmtime-py's API
    (v128 globals, exnref globals and tables: values.crosses_python), so no oracle compares
    them; their effect shows in memory and results."""
    from engine.wasm.decoder import decode
    from engine.wasm.types import ExternKind
    try:
        m = decode(wasm)
    except Exception:       # noqa: BLE001 - a module the oracles reject has no state
        return frozenset()
    globals_, tables = m.global_types(), m.table_types()
    return frozenset(
        e.name for e in m.exports
        if (e.kind is ExternKind.GLOBAL and not crosses_python(globals_[e.index].content))
        or (e.kind is ExternKind.TABLE and not crosses_python(tables[e.index].element)))


def _state(api: _Api, store, exports, skip: frozenset[str] = frozenset()) -> tuple:
    out = []
    for name, item in exports.items():
        if name in skip:
            continue
        if isinstance(item, api.api.Global):
            ty = str(item.type(store).content)
            out.append(("global", name) + normalise(ty, item.value(store)))
        elif isinstance(item, api.api.Memory):
            data = bytes(item.read(store, 0, item.data_len(store)))
            out.append(("memory", name, len(data), hashlib.blake2b(data, digest_size=12).hexdigest()))
        elif isinstance(item, api.api.Table):
            size = item.size(store)
            pattern = "".join("0" if is_null(item.get(store, i)) else "1"
                              for i in range(min(size, TABLE_PATTERN_LIMIT)))
            out.append(("table", name, size, pattern))
    return tuple(out)


def _results(ty, raw: Any) -> tuple:
    types = [str(t) for t in ty.results]
    if not types:
        values = []
    elif len(types) == 1:
        values = [raw]
    else:
        values = list(raw)
    return tuple(normalise(t, v) for t, v in zip(types, values))


def run_case(api: _Api, case: Case, on_step: Callable[[], None] | None = None) -> Outcome:
    """Run `case` on one oracle in this process (see the module docstring)."""
    import time
    start = time.perf_counter()
    out = Outcome(api.oracle, RAN)
    try:
        _run(api, case, out, on_step)
    except api.unsupported as e:
        out.status, out.detail = UNSUPPORTED, str(e)
    except Exception as e:                                   # noqa: BLE001 - classified here
        out.status, out.detail = INTERNAL, f"{type(e).__name__}: {e}"
    out.seconds = time.perf_counter() - start
    return out


def _instantiate(api: _Api, out: Outcome, step: str, make: Callable[[], Any]) -> Any:
    """The instance `make` returns, or None with its trap or error recorded as event `step`."""
    try:
        return make()
    except api.trap as e:
        out.events.append(Event(step, "trap", code=_code(e)))
    except api.unsupported:
        raise
    except api.error as e:
        out.events.append(Event(step, "error", message=str(e).splitlines()[0]))
    return None


def _run(api: _Api, case: Case, out: Outcome, on_step) -> None:
    a = api.api
    try:
        module = api.module(case.wasm)
    except api.unsupported:
        raise
    except api.error as e:
        out.status, out.detail = REJECTED, str(e).splitlines()[0] if str(e) else type(e).__name__
        return
    store = a.Store(api.engine)
    from .host import imports_for
    provided: dict | None = None
    pstate: Callable[[], tuple] = tuple
    if case.provider is not None:
        pinst = _instantiate(api, out, "provider",
                             lambda: a.Instance(store, api.module(case.provider), []))
        if pinst is None:
            return
        provided = pinst.exports(store)
        pskip = unreadable_exports(case.provider)

        def pstate() -> tuple:
            # the provider's exported state is compared too: a call into it must change its
            # own memory and globals, never the importer's, and the other way round
            return tuple(("p",) + s for s in _state(api, store, provided, pskip))
    try:
        imports = imports_for(api, store, module, provided)
    except LookupError as e:
        out.events.append(Event("instantiate", "error", message=str(e)))
        return
    instance = _instantiate(api, out, "instantiate", lambda: a.Instance(store, module, imports))
    if instance is None:
        return
    exports = instance.exports(store)
    skip = unreadable_exports(case.wasm)
    out.events.append(Event("instantiate", "ok",
                            state=_state(api, store, exports, skip) + pstate()))
    for call in case.calls:
        if on_step is not None:
            on_step()
        func = exports[call.name] if call.name in exports else None
        if func is None or not isinstance(func, a.Func):
            out.events.append(Event(call.name, "error", message="no such exported function"))
            continue
        ty = func.type(store)
        try:
            raw = func(store, *[v.to_python() for v in call.args])
        except api.trap as e:
            ev = Event(call.name, "trap", code=_code(e))
        except api.unsupported:
            raise
        except api.error as e:
            ev = Event(call.name, "error", message=str(e).splitlines()[0])
        else:
            ev = Event(call.name, "ok", results=_results(ty, raw))
        ev.state = _state(api, store, exports, skip) + pstate()
        out.events.append(ev)


def describe(api: _Api) -> str:
    """What actually runs the oracle's code (executor and backend classes), for the summary:
    a Config may select a different executor than its name suggests while wiring is in flux."""
    if api.api.__name__ == "wasmtime":
        return "wasmtime-py"
    ex = api.engine._state.executor
    parts = [type(ex).__name__]
    backend = getattr(ex, "backend", None)
    if backend is not None:
        parts.append(type(backend).__name__)
    if api.engine.emulated:
        parts.append("emulated")
    return "/".join(parts)


def probe(oracle: str) -> tuple[_Api | None, str]:
    """(api, "") when the oracle works, (None, reason) when it is unavailable."""
    try:
        api = _Api(oracle)
    except ImportError as e:
        return None, f"not installed: {e}"
    except Exception as e:                                   # noqa: BLE001
        return None, f"{type(e).__name__}: {e}"
    from .values import Value
    from .case import Call
    try:
        import wasmtime
        wasm = wasmtime.wat2wasm(PROBE_WAT)
    except ImportError:
        import engine
        wasm = engine.wat2wasm(PROBE_WAT)
    out = run_case(api, Case(bytes(wasm), [Call("f", (Value("i32", 41),))]))
    if out.status != RAN:
        return None, f"{out.status}: {out.detail}"
    ev = out.events[-1]
    if ev.kind != "ok" or ev.results != (("i32", 42),):
        return None, f"probe module gave {ev.brief()} instead of 42"
    return api, ""
