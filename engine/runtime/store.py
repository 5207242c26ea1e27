"""Store: owns every runtime object (instances, functions, memories, tables, globals) created in
it, plus the per-store execution state (fuel, epoch deadline, call depth)."""

from __future__ import annotations

from typing import Any

from ..compile.environment import state_of
from ..errors import WasmError


class Store:
    """A collection of wasm objects that can reference each other (mirrors wasmtime-py's Store)."""

    def __init__(self, engine: Any, data: Any = None) -> None:
        self._state = state_of(engine, "Store")
        self.engine = engine
        self._data = data
        self._fuel: int | None = 0 if self._state.settings.consume_fuel else None
        self._epoch_deadline = 0
        #: Current wasm call depth across all instances of this store (host re-entry included).
        self.depth = 0

    def data(self) -> Any:
        return self._data

    def gc(self) -> None:
        """Nothing to collect: references are Python objects, freed by Python."""

    def set_fuel(self, fuel: int) -> None:
        if self._fuel is None:
            raise WasmError("fuel is not enabled in this store's Config (Config.consume_fuel)")
        if not isinstance(fuel, int) or fuel < 0:
            raise WasmError(f"fuel must be a non-negative int, got {fuel!r}")
        self._fuel = fuel

    def get_fuel(self) -> int:
        if self._fuel is None:
            raise WasmError("fuel is not enabled in this store's Config (Config.consume_fuel)")
        return self._fuel

    def set_epoch_deadline(self, ticks_after_current: int) -> None:
        self._epoch_deadline = self._state.epoch + int(ticks_after_current)

    def _check(self, owner_store: Store, what: str) -> None:
        if owner_store is not self:
            raise WasmError(f"{what} belongs to a different Store")
