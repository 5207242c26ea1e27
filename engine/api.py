"""The API objects that drive the layers below: Engine (a cheap, shareable handle on one
compilation environment, following wasmtime's Engine), and the Store and Linker of wasmtime-py's
signatures: the runtime's own with what needs the top (a default Engine; WASI, whose host
functions are built on the runtime). Everything else the public API names is defined in its
layer and re-exported by engine/__init__.

An Engine's shared state (engine.compile.environment.EngineState) holds its frozen Settings,
its epoch counter (engine.exec.epoch) and its executor, chosen here from Config.strategy and
made on first use: the IR interpreter, or machine code natively or under Unicorn."""

from __future__ import annotations

from typing import Any

from .compile import artifact
from .compile.environment import EngineState
from .compile.module import Module
from .config import Config, Features, Settings
from .errors import ArgumentTypeError, WasmError
from .exec.compiled import CompiledExecutor
from .exec.epoch import EpochCounter
from .exec.interp import Interpreter
from .runtime import linker as _linker
from .runtime import store as _store
from .runtime.executor import Executor
from .runtime.wasi.config import WasiConfig
from .runtime.wasi.context import configure_store
from .runtime.wasi.linking import define_wasi


def _make_executor(state: EngineState) -> Executor:
    if state.settings.strategy == "interpreter":
        return Interpreter(state)
    return CompiledExecutor(state)


class Engine:
    """A compilation environment. Copies share it: ``Engine.same(copy.copy(e), e)`` is true.

    The Engine's target is ``Config.target`` or the host; code for a foreign target always runs
    under Unicorn (``Engine.emulated`` is then true)."""

    __slots__ = ("_state",)

    def __init__(self, config: Config | None = None) -> None:
        config = config if config is not None else Config()
        if not isinstance(config, Config):
            raise ArgumentTypeError(f"Engine expects a Config, got {type(config).__name__}")
        self._state = EngineState(config.settings(), EpochCounter(), _make_executor)
        config.close()              # an Engine consumes its Config, as in wasmtime-py

    def close(self) -> None:
        """Nothing to release early: the engine's state lives while a Module, Store or copy
        uses it (wasmtime-py's Engine.close; kept for ``with Engine() as e``)."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def is_pulley(self) -> bool:
        """False: polyjit runs machine code or its own IR interpreter, never Pulley."""
        return False

    def __copy__(self) -> Engine:
        other = object.__new__(Engine)
        other._state = self._state
        return other

    def __deepcopy__(self, memo: Any) -> Engine:
        return self.__copy__()

    def __repr__(self) -> str:
        s = self._state
        return (f"Engine(strategy={s.settings.strategy!r}, target={s.target!r}, "
                f"emulate={s.emulate})")

    @staticmethod
    def same(a: Engine, b: Engine) -> bool:
        """True when both handles refer to the same engine."""
        if not isinstance(a, Engine) or not isinstance(b, Engine):
            raise ArgumentTypeError("Engine.same expects two Engines")
        return a._state is b._state

    @property
    def features(self) -> Features:
        return self._state.features

    @property
    def settings(self) -> Settings:
        """The engine's checked, frozen settings."""
        return self._state.settings

    @property
    def target(self) -> str:
        """The architecture this engine compiles for."""
        return self._state.target

    @property
    def emulated(self) -> bool:
        """True when this engine's machine code runs under Unicorn."""
        return self._state.emulate

    def code_settings(self) -> dict[str, bool]:
        """The settings that change generated code (what an artifact fingerprints)."""
        return self._state.settings.code_settings()

    # -- epochs ---------------------------------------------------------------------------------

    def increment_epoch(self) -> None:
        """Advance the epoch by one: a single atomic increment of the counter generated code
        reads (signal-safe: no lock, no allocation, no system call)."""
        self._state.epoch_counter.increment()

    @property
    def epoch_address(self) -> int:
        """Address of the engine's u64 epoch counter (what a vmctx's epoch pointer holds)."""
        return self._state.epoch_counter.address

    # -- compilation ----------------------------------------------------------------------------

    def precompile_module(self, wasm: Any) -> bytes:
        """Compile `wasm` (binary or text) for this engine's target and return the artifact
        bytes (docs/artifact-format.md); no emulator is needed, whatever the host."""
        artifact.require_compiler(self._state.settings, "precompile_module")
        return Module(self, wasm).serialize()

    def tls_eager_initialize(self) -> None:
        """Do now, on the calling thread, the set-up the first wasm call on this thread would
        otherwise pay: create the engine's executor and let it initialise its per-thread state
        (natively, the call-depth record of engine.exec.native)."""
        self._state.executor.tls_initialize()


class Store(_store.Store):
    """A collection of wasm objects that can reference each other (mirrors wasmtime-py's Store;
    ``Store()`` makes a default Engine)."""

    def __init__(self, engine: Engine | None = None, data: Any = None) -> None:
        super().__init__(Engine() if engine is None else engine, data)

    def set_wasi(self, config: WasiConfig) -> None:
        """Configure WASI (a WasiConfig) for the functions Linker.define_wasi gives this store."""
        configure_store(self, config)


class Linker(_linker.Linker):
    """Resolves a module's imports by (module, name) (mirrors wasmtime-py's Linker)."""

    def define_wasi(self) -> None:
        """Define every wasi_snapshot_preview1 function (configured per store by set_wasi)."""
        define_wasi(self)
