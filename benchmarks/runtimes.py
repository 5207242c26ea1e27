"""Loading a program into a runtime and calling its ``run(n)``: wasmtime (the baseline) and
polyjit's configurations. A configuration that cannot run here raises NotAvailable with the
reason (polyjit's UnsupportedError, or a missing package); anything else propagates."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Protocol

from .configs import BenchConfig
from .wasi_programs import WasiRunner, WasiWorkload


class NotAvailable(Exception):
    """This runtime or configuration cannot run the program here; str() is the reason."""


@dataclass(slots=True)
class Loaded:
    """A program ready to run: ``run(n)`` returns the raw result of its export ``run``."""

    run: Callable[[int], int]
    compile_s: float
    close: Callable[[], None] = field(default=lambda: None)
    #: CPU seconds of this process (all threads) over the same span as compile_s
    compile_cpu_s: float | None = None


class Runtime(Protocol):
    name: str

    def load(self, wasm: bytes, workload: WasiWorkload | None = None,
             whole: bool = False) -> Loaded:
        """Compile and instantiate `wasm`; the time until ``run`` can be called is ``compile_s``.
        With a WASI `workload`, only compile: each ``run(n)`` instantiates and calls _start.
        `whole`: compile every function now (polyjit compiles each on its first call
        otherwise, Config.lazy_compilation; wasmtime always compiles the whole module)."""


class WasmtimeRuntime:
    """wasmtime-py with its default configuration (Cranelift)."""

    name = "wasmtime"

    def __init__(self) -> None:
        try:
            import wasmtime
        except ImportError as e:
            raise NotAvailable(f"the wasmtime package is not installed ({e})") from None
        self._wt = wasmtime
        self._engine = wasmtime.Engine()

    def load(self, wasm: bytes, workload: WasiWorkload | None = None,
             whole: bool = False) -> Loaded:
        wt = self._wt
        start, cpu = time.perf_counter(), time.process_time()
        module = wt.Module(self._engine, wasm)
        if workload is not None:
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
            runner = WasiRunner(wt, self._engine, module, workload)
            return Loaded(runner.run, elapsed, runner.close, compile_cpu_s=cpu)
        store = wt.Store(self._engine)
        instance = wt.Instance(store, module, [])
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        func = instance.exports(store)["run"]
        return Loaded(lambda n: func(store, n), elapsed, compile_cpu_s=cpu)


def _unsupported():
    from engine.errors import UnsupportedError
    return UnsupportedError


class PolyjitRuntime:
    """polyjit through its public API with ``Config(**config.settings)``. For the interpreter the
    compile time includes translating every function, which it would otherwise do on first call."""

    def __init__(self, config: BenchConfig) -> None:
        from engine import Config, Engine, WasmError
        self.name = config.name
        self.config = config
        try:
            self._engine = Engine(Config(**dict(config.settings)))
            self._whole_engine = Engine(Config(**{**dict(config.settings),
                                                  "lazy_compilation": False}))
        except WasmError as e:  # e.g. a setting this version does not know
            raise NotAvailable(str(e)) from None

    def load(self, wasm: bytes, workload: WasiWorkload | None = None,
             whole: bool = False) -> Loaded:
        import engine
        from engine import Instance, Module, Store
        engine_ = self._whole_engine if whole else self._engine
        try:
            start, cpu = time.perf_counter(), time.process_time()
            module = Module(engine_, wasm)
            if workload is not None:
                elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
                runner = WasiRunner(engine, engine_, module, workload)
                return Loaded(self._guard(runner.run), elapsed, runner.close, compile_cpu_s=cpu)
            store = Store(engine_)
            instance = Instance(store, module, [])
            if dict(self.config.settings).get("strategy") == "interpreter":
                wm = module.wasm_module
                first = wm.num_imported_funcs
                interpreter = engine_._state.executor
                for index in range(first, first + len(wm.funcs)):
                    interpreter.translation(module, index)
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        except _unsupported() as e:
            raise NotAvailable(str(e)) from None
        func = instance.exports(store)["run"]
        return Loaded(self._guard(lambda n: func(store, n)), elapsed, compile_cpu_s=cpu)

    @staticmethod
    def _guard(run: Callable[[int], int]) -> Callable[[int], int]:
        """`run` with polyjit's UnsupportedError reported as NotAvailable."""
        def guarded(n: int) -> int:
            try:
                return run(n)
            except _unsupported() as e:
                raise NotAvailable(str(e)) from None
        return guarded


def runtime_for(config: BenchConfig) -> Runtime:
    """The runtime object of a polyjit configuration (may raise NotAvailable)."""
    return PolyjitRuntime(config)
