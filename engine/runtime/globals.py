"""Global: one wasm global variable. The value lives in the object in the runtime's internal form
(a later native backend may move the storage into an instance's vmctx behind the same methods)."""

from __future__ import annotations

from typing import Any

from ..errors import ArgumentTypeError, WasmError
from ..wasm.types import GlobalType
from .store import Store, check_use
from .values import to_internal, to_python


class Global:
    """A wasm global (mirrors wasmtime-py's Global). ``value_`` holds the internal value."""

    __slots__ = ("_store", "_type", "value_", "__weakref__")

    def __init__(self, store: Store, ty: GlobalType, val: Any) -> None:
        if not isinstance(store, Store):
            raise ArgumentTypeError(f"Global expects a Store, got {type(store).__name__}")
        if not isinstance(ty, GlobalType):
            raise ArgumentTypeError(f"Global expects a GlobalType, got {type(ty).__name__}")
        self._store = store
        self._type = ty
        self.value_ = to_internal(ty.content, val, store)

    @classmethod
    def _internal(cls, store: Store, ty: GlobalType, value: Any) -> Global:
        """A global holding an already-internal value (used by instantiation)."""
        g = cls.__new__(cls)
        g._store = store
        g._type = ty
        g.value_ = value
        return g

    def type(self, store: Store) -> GlobalType:
        check_use(store, self._store, "Global.type")
        return self._type

    def value(self, store: Store) -> Any:
        check_use(store, self._store, "Global.value")
        return to_python(self._type.content, self.value_)

    def __repr__(self) -> str:
        kind = f"(mut {self._type.content})" if self._type.mutable else str(self._type.content)
        return f"<Global {kind} = {to_python(self._type.content, self.value_)!r:.60}>"

    def set_value(self, store: Store, val: Any) -> None:
        check_use(store, self._store, "Global.set_value")
        if not self._type.mutable:
            raise WasmError("cannot set the value of an immutable global")
        self.value_ = to_internal(self._type.content, val, self._store)
