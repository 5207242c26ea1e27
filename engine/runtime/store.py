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
        # wasmtime's fuel is a u64 (wasmtime-py passes it through ctypes, which wraps -1 and
        # 2**64 silently; polyjit refuses them)
        if not isinstance(fuel, int) or isinstance(fuel, bool) or not 0 <= fuel <= 0xFFFF_FFFF_FFFF_FFFF:
            raise WasmError(f"fuel must be an int in 0..2**64-1, got {fuel!r}")
        self._fuel = fuel

    def get_fuel(self) -> int:
        """The fuel left. Code charges fuel between its checks (function entry, loop headers),
        so a run can overdraw it; as in wasmtime, what is left then reads as 0."""
        if self._fuel is None:
            raise WasmError("fuel is not enabled in this store's Config (Config.consume_fuel)")
        return self._fuel if self._fuel > 0 else 0

    def set_epoch_deadline(self, ticks_after_current: int) -> None:
        self._epoch_deadline = self._state.epoch + int(ticks_after_current)

    def _check(self, owner_store: Store, what: str) -> None:
        if owner_store is not self:
            raise WasmError(f"{what} belongs to a different Store")
