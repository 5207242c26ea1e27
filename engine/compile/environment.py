"""EngineState: what every copy of one Engine shares (its Settings, epoch counter and executor),
as compile/, runtime/ and exec/ see it. The Engine handle itself is an API object
(engine.api); the layers below it take the handle and read its state through `state_of`."""

from __future__ import annotations

import threading
from typing import Any, Callable, Protocol

from ..config import Features, Settings
from ..errors import ArgumentTypeError, WasmError


class EpochCell(Protocol):
    """The engine's epoch counter: a u64 at a fixed address that generated code reads."""

    address: int

    @property
    def page(self) -> tuple[int, int]: ...

    @property
    def value(self) -> int: ...

    def increment(self) -> None: ...


class EngineState:
    """Settings, epoch counter and the (lazily made) executor of one engine."""

    __slots__ = ("settings", "epoch_counter", "lock", "background", "_executor",
                 "_make_executor")

    def __init__(self, settings: Settings, epoch_counter: EpochCell,
                 make_executor: Callable[[EngineState], Any]) -> None:
        self.settings = settings
        self.epoch_counter = epoch_counter
        self.lock = threading.RLock()
        self._executor: Any = None
        self._make_executor = make_executor
        #: the engine's background compiler of hot functions (engine.exec.tierup), made by
        #: the executor on the first tier-up
        self.background: Any = None

    @property
    def target(self) -> str:
        return self.settings.target

    @property
    def emulate(self) -> bool:
        return self.settings.emulate

    @property
    def features(self) -> Features:
        return self.settings.features

    @property
    def epoch(self) -> int:
        """The current epoch (read by the interpreter and at store boundaries)."""
        return self.epoch_counter.value

    @property
    def executor(self) -> Any:
        """The executor Config.strategy selects, made on first use and shared by every store
        and instance of the engine (engine.runtime.executor.Executor)."""
        ex = self._executor
        if ex is None:
            with self.lock:
                ex = self._executor
                if ex is None:
                    ex = self._executor = self._make_executor(self)
        return ex

    @executor.setter
    def executor(self, ex: Any) -> None:
        self._executor = ex


def state_of(engine: Any, what: str) -> EngineState:
    """The EngineState of an Engine handle; WasmError naming `what` for anything else."""
    state = getattr(engine, "_state", None)
    if not isinstance(state, EngineState):
        raise ArgumentTypeError(f"{what} expects an Engine, got {type(engine).__name__}")
    return state
