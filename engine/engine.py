"""Engine: a cheap, shareable handle on one compilation environment (settings, target, caches)."""

from __future__ import annotations

import copy
import threading

from .config import STRATEGIES, TARGETS, Config, Features
from .errors import WasmError


class _EngineState:
    """What every copy of one Engine shares."""

    def __init__(self, config: Config) -> None:
        self.settings = config.snapshot()
        self.features: Features = config.features()
        self.epoch = 0
        self.lock = threading.Lock()


class Engine:
    """A compilation environment. Copies share it: ``Engine.same(copy.copy(e), e)`` is true."""

    __slots__ = ("_state",)

    def __init__(self, config: Config | None = None) -> None:
        config = config if config is not None else Config()
        if not isinstance(config, Config):
            raise WasmError(f"Engine expects a Config, got {type(config).__name__}")
        _check_config(config)
        self._state = _EngineState(config)

    def __copy__(self) -> Engine:
        other = object.__new__(Engine)
        other._state = self._state
        return other

    def __deepcopy__(self, memo) -> Engine:
        return self.__copy__()

    @staticmethod
    def same(a: Engine, b: Engine) -> bool:
        """True when both handles refer to the same engine."""
        return a._state is b._state

    @property
    def features(self) -> Features:
        return self._state.features

    @property
    def settings(self) -> dict:
        return self._state.settings

    def increment_epoch(self) -> None:
        self._state.epoch += 1


def _check_config(config: Config) -> None:
    if config.strategy not in STRATEGIES:
        raise WasmError(f"Config.strategy must be one of {', '.join(STRATEGIES)}, "
                        f"not {config.strategy!r}")
    if config.target is not None and config.target not in TARGETS:
        raise WasmError(f"Config.target {config.target!r} is not a known target "
                        f"(known: {', '.join(TARGETS)})")
    for name in ("wasm_threads", "wasm_tail_call", "wasm_multi_memory", "wasm_memory64",
                 "wasm_relaxed_simd", "wasm_gc", "wasm_function_references", "wasm_exceptions"):
        if getattr(config, name):
            raise WasmError(f"Config.{name}: not supported yet by polyjit")
    if config.wasm_reference_types and not config.wasm_bulk_memory:
        raise WasmError("Config.wasm_reference_types requires Config.wasm_bulk_memory")
