"""Store: owns every runtime object (instances, functions, memories, tables, globals) created in
it, the arena their machine state lives in (arena.py), its references (refs.py), and the store
context every instance's code shares (fuel, epoch deadline, the entry/trap state;
engine.environ.vmctx)."""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any

from ..compile.environment import state_of
from ..environ import vmctx as V
from ..errors import ArgumentTypeError, ClosedError, WasmError
from .arena import Arena
from .refs import Refs

_I64_MAX = (1 << 63) - 1


@dataclass(slots=True)
class StoreLimits:
    """What Store.set_limits bounds (None: no bound), enforced where memories and tables are
    made and grown and where instances are made, whatever the executor: the byte size of each
    linear memory, the element count of each table, and the number of instances, and of
    memories and tables defined by instances, in the store. As in wasmtime, a memory.grow or
    table.grow past a bound gives -1 in wasm and a WasmError from the host API."""

    memory_size: int | None = None
    table_elements: int | None = None
    instances: int = 10_000
    tables: int = 10_000
    memories: int = 10_000


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
        self.limits = StoreLimits()
        #: instances made in this store, and the memories and tables they defined
        self.counts = {"instances": 0, "memories": 0, "tables": 0}
        #: the store's externref globals and tables (what Store.gc looks in for live handles)
        self.extern_holders: weakref.WeakSet = weakref.WeakSet()
        self._closed = False

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return f"<Store{state} of {self.engine!r}>"

    def data(self) -> Any:
        self._open()
        return self._data

    def gc(self) -> None:
        """Release the references wasm code no longer holds: an externref passed to wasm is
        freed (by Python) once no global, table or running call holds it. Called from a host
        function (a call is running), it does nothing."""
        self._open()
        if self._entries:
            return      # a running call may hold handles in its frames
        live: set[int] = set()
        for holder in list(self.extern_holders):
            live.update(holder.extern_words())
        self.refs.release_externs(live)

    def set_limits(self, memory_size: int = -1, table_elements: int = -1, instances: int = -1,
                   tables: int = -1, memories: int = -1) -> None:
        """Bound what this store may hold (see StoreLimits); a negative value leaves that
        bound as it is (wasmtime-py's signature)."""
        self._open()
        values = {"memory_size": memory_size, "table_elements": table_elements,
                  "instances": instances, "tables": tables, "memories": memories}
        for name, value in values.items():
            if not isinstance(value, int) or isinstance(value, bool):
                raise ArgumentTypeError(f"Store.set_limits: {name} must be an int, "
                                        f"got {type(value).__name__}")
            if value >= 0:
                setattr(self.limits, name, value)

    def count(self, what: str, n: int) -> None:
        """Count `n` more of `what` ("instances", "memories" or "tables", made by an
        instantiation); WasmError when that passes the store's limit."""
        total = self.counts[what] + n
        limit = getattr(self.limits, what)
        if n and total > limit:
            raise WasmError(f"resource limit exceeded: {_SINGULAR[what]} count too high "
                            f"at {total}")
        self.counts[what] = total

    def close(self) -> None:
        """Make the store unusable (ClosedError, a ValueError, on any later use); its objects
        are freed once Python holds no reference to them. Closing twice is allowed."""
        self._closed = True

    def __enter__(self) -> Store:
        self._open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open(self) -> None:
        if self._closed:
            raise ClosedError("this Store is closed")

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
        self._open()
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
        self._open()
        if self._fuel is None:
            raise WasmError("fuel is not enabled in this store's Config (Config.consume_fuel)")
        return self._fuel if self._fuel > 0 else 0

    def set_epoch_deadline(self, ticks_after_current: int) -> None:
        self._open()
        if not isinstance(ticks_after_current, int):
            raise ArgumentTypeError(f"Store.set_epoch_deadline expects an int, "
                                    f"got {type(ticks_after_current).__name__}")
        self._epoch_deadline = self._state.epoch + int(ticks_after_current)

    def _check(self, owner_store: Store, what: str) -> None:
        """`what` (an object of `owner_store`) is used with this store by the calling thread."""
        if self._closed:
            raise ClosedError(f"{what}: its Store is closed")
        if owner_store is not self:
            raise WasmError(f"{what} belongs to a different Store")
        owner = self._owner
        if owner is not None and owner != threading.get_ident():
            raise _busy(what)

    def _enter(self, what: str) -> None:
        """The calling thread starts running in this store (a call or an instantiation);
        WasmError if another thread is running in it. Pair with _leave."""
        me = threading.get_ident()
        self._open()
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


def store_of(ctx: Any, what: str) -> Store:
    """The Store `ctx` stands for: a Store, or a Caller during its host call (ClosedError
    after); ArgumentTypeError for anything else."""
    if isinstance(ctx, Store):
        return ctx
    context = getattr(ctx, "_context", None)
    store = context() if callable(context) else None
    if not isinstance(store, Store):
        raise ArgumentTypeError(f"{what} expects a Store, got {type(ctx).__name__}")
    return store


def check_use(ctx: Any, owner: Store, what: str) -> None:
    """An object of `owner` used with `ctx` (a Store, or a Caller standing for its store):
    WasmError if `ctx` is another store, not a store, or busy in another thread."""
    store_of(ctx, what)._check(owner, what)


_SINGULAR = {"instances": "instance", "memories": "memory", "tables": "table"}


def _busy(what: str) -> WasmError:
    return WasmError(f"{what}: its Store is in use by another thread (a Store runs one thread "
                     f"at a time; give each thread its own Store)")
