"""Store: owns every runtime object (instances, functions, memories, tables, globals) created in
it, the arena their machine state lives in (arena.py), its references (refs.py), and the store
context every instance's code shares (fuel, epoch deadline, the entry/trap state;
engine.environ.vmctx)."""

from __future__ import annotations

import threading
from typing import Any

from ..compile.environment import state_of
from ..environ import vmctx as V
from ..errors import WasmError
from .arena import Arena
from .refs import Refs

_I64_MAX = (1 << 63) - 1


class Store:
    """A collection of wasm objects that can reference each other (mirrors wasmtime-py's Store).

    Threads: as in wasmtime, a Store is not shared between threads while it runs wasm. One
    thread at a time may be inside the store (running a Func, a host function it calls, or an
    instantiation); a call into the store, or any use of its objects (Func, Memory, Table,
    Global), from another thread meanwhile raises a WasmError ("... is in use by another
    thread") instead of waiting or sharing the running call's state. Re-entry from the running
    thread itself (wasm -> host -> wasm) nests as usual. Once the call returns, any thread may
    use the store; give each thread its own Store (on one Engine) to run in parallel."""

    def __init__(self, engine: Any, data: Any = None) -> None:
        self._state = state_of(engine, "Store")
        self.engine = engine
        self._data = data
        self.arena = Arena()
        self.refs = Refs(self.arena)
        #: the store context (engine.environ.vmctx: STATE_*), read and written by all code
        self.context = self.arena.alloc(V.STATE_SIZE)
        self._ctx = self.arena.i64s(self.context, V.STATE_SIZE // 8)
        self._fuel_on = self._state.settings.consume_fuel
        #: fuel above what the context's i64 holds (the store's fuel beyond 2**63-1: no run
        #: can consume 2**63 units, so code never sees the difference)
        self._fuel_reserve = 0
        #: the deadline set_epoch_deadline fixed; the context's copy may be 0 for a moment
        #: (a signal forcing the epoch check's slow path, engine.exec.native.SignalBridge)
        self._deadline = 0
        #: the executor's per-store state (its machine), created by the executor
        self.exec_data: Any = None
        #: Current wasm call depth across all instances of this store (host re-entry included).
        self.depth = 0
        #: the thread running in this store (threading.get_ident()) and its nested entries
        self._owner: int | None = None
        self._entries = 0
        self._lock = threading.Lock()

    def data(self) -> Any:
        return self._data

    def gc(self) -> None:
        """Nothing to collect: references are Python objects, freed by Python."""

    @property
    def _fuel(self) -> int | None:
        """The fuel left (negative: overdrawn since the last check); None without fuel."""
        if not self._fuel_on:
            return None
        return self._ctx[V.STATE_FUEL // 8] + self._fuel_reserve

    @_fuel.setter
    def _fuel(self, fuel: int) -> None:
        active = min(fuel, _I64_MAX)
        self._fuel_reserve = fuel - active
        self._ctx[V.STATE_FUEL // 8] = active

    @property
    def _epoch_deadline(self) -> int:
        return self._deadline

    @_epoch_deadline.setter
    def _epoch_deadline(self, deadline: int) -> None:
        d = self._deadline = deadline & 0xFFFF_FFFF_FFFF_FFFF
        self._ctx[V.STATE_EPOCH_DEADLINE // 8] = d - (1 << 64) if d >> 63 else d

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
        """`what` (an object of `owner_store`) is used with this store by the calling thread."""
        if owner_store is not self:
            raise WasmError(f"{what} belongs to a different Store")
        owner = self._owner
        if owner is not None and owner != threading.get_ident():
            raise _busy(what)

    def _enter(self, what: str) -> None:
        """The calling thread starts running in this store (a call or an instantiation);
        WasmError if another thread is running in it. Pair with _leave."""
        me = threading.get_ident()
        with self._lock:
            if self._owner is not None and self._owner != me:
                raise _busy(what)
            self._owner = me
            self._entries += 1

    def _leave(self) -> None:
        with self._lock:
            self._entries -= 1
            if self._entries == 0:
                self._owner = None


def check_use(ctx: Any, owner: Store, what: str) -> None:
    """An object of `owner` used with `ctx` (a Store, or a Caller standing for its store):
    WasmError if `ctx` is another store, not a store, or busy in another thread."""
    store = ctx
    if not isinstance(store, Store):
        context = getattr(ctx, "_context", None)
        store = context() if callable(context) else None
        if not isinstance(store, Store):
            raise WasmError(f"{what} expects a Store, got {type(ctx).__name__}")
    store._check(owner, what)


def _busy(what: str) -> WasmError:
    return WasmError(f"{what}: its Store is in use by another thread (a Store runs one thread "
                     f"at a time; give each thread its own Store)")
