"""Global: one wasm global variable. Its value lives in a 16-byte cell in the store's arena, the
cell generated code reads and writes (every instance that imports the global points at the
same cell); the methods read and write that cell."""

from __future__ import annotations

from typing import Any

from ..environ import vmctx as V
from ..errors import ArgumentTypeError, WasmError
from ..wasm.types import GlobalType, ValType
from .store import Store, check_use
from .values import to_internal, to_python

_NARROW = (ValType.I32, ValType.F32)


class Global:
    """A wasm global (mirrors wasmtime-py's Global). ``value_`` is the internal value, read
    from and written to the cell (``cell``: its address)."""

    __slots__ = ("_store", "_type", "cell", "_word", "_kind", "_top", "__weakref__")

    def __init__(self, store: Store, ty: GlobalType, val: Any) -> None:
        if not isinstance(store, Store):
            raise ArgumentTypeError(f"Global expects a Store, got {type(store).__name__}")
        if not isinstance(ty, GlobalType):
            raise ArgumentTypeError(f"Global expects a GlobalType, got {type(ty).__name__}")
        self._init(store, ty)
        self.value_ = to_internal(ty.content, val, store)

    @classmethod
    def _internal(cls, store: Store, ty: GlobalType, value: Any) -> Global:
        """A global holding an already-internal value (used by instantiation)."""
        g = cls.__new__(cls)
        g._init(store, ty)
        g.value_ = value
        return g

    def _init(self, store: Store, ty: GlobalType) -> None:
        self._store = store
        self._type = ty
        self.cell = store.arena.alloc(V.GLOBAL_CELL_SIZE)
        self._word = store.arena.u64s(self.cell, 2)
        t = ty.content.top
        #: 0: a 64-bit number, 1: 32-bit, 2: funcref, 3: externref, 4: v128 (two words),
        #: 5: exnref
        self._kind = (2 if t is ValType.FUNCREF else 3 if t is ValType.EXTERNREF else
                      1 if t in _NARROW else 4 if t is ValType.V128 else
                      5 if t is ValType.EXNREF else 0)
        self._top = t
        if self._kind == 3:
            store.extern_holders.add(self)

    def extern_words(self) -> list[int]:
        """The externref handle this global holds (Store.gc)."""
        return [self._word[0]]

    @property
    def value_(self) -> Any:
        w = self._word[0]
        k = self._kind
        if k == 0:
            return w
        if k == 1:
            return w & 0xFFFF_FFFF
        if k == 4:
            return w | self._word[1] << 64
        return self._store.refs.value(self._top, w)

    @value_.setter
    def value_(self, value: Any) -> None:
        k = self._kind
        if k == 4:
            self._word[0], self._word[1] = value & 0xFFFF_FFFF_FFFF_FFFF, value >> 64
        else:
            self._word[0] = value if k < 2 else self._store.refs.word(self._top, value)

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
