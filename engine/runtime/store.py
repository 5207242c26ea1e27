"""Store: owns every runtime object (instances, functions, memories, tables, globals) created in
it, plus the per-store execution state (fuel, epoch deadline, call depth)."""

from __future__ import annotations

from typing import Any

from ..engine import Engine
from ..errors import WasmError


class Store:
    """A collection of wasm objects that can reference each other (mirrors wasmtime-py's Store)."""

    def __init__(self, engine: Engine | None = None, data: Any = None) -> None:
        if engine is None:
            engine = Engine()
        elif not isinstance(engine, Engine):
            raise WasmError(f"Store expects an Engine, got {type(engine).__name__}")
        self.engine = engine
        self._data = data
        self._fuel: int | None = 0 if engine.settings.get("consume_fuel") else None
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
        self._epoch_deadline = self.engine._state.epoch + int(ticks_after_current)

    def set_wasi(self, config: Any) -> None:
        """Configure WASI (a WasiConfig) for the functions Linker.define_wasi gives this store."""
        from .wasi.context import configure_store
        configure_store(self, config)

    def _check(self, owner_store: Store, what: str) -> None:
        if owner_store is not self:
            raise WasmError(f"{what} belongs to a different Store")
