"""Table: a growable vector of references (funcref: Func or None; externref: any object or None)."""

from __future__ import annotations

from typing import Any

from ..errors import ArgumentTypeError, WasmError
from ..wasm.types import MAX_TABLE_SIZE, Limits, TableType
from .store import Store, check_use
from .values import to_internal

#: Tables larger than this many elements are refused (a Python list per table).
TABLE_ELEMENT_LIMIT = 10_000_000


class Table:
    """A wasm table (mirrors wasmtime-py's Table).

    Internal fields read by executors: ``elements`` (a list; its length is the table size),
    ``max`` (maximum size), ``element`` (the element ValType)."""

    __slots__ = ("_store", "_type", "elements", "max", "element", "__weakref__")

    def __init__(self, store: Store, ty: TableType, init: Any) -> None:
        if not isinstance(store, Store):
            raise ArgumentTypeError(f"Table expects a Store, got {type(store).__name__}")
        if not isinstance(ty, TableType):
            raise ArgumentTypeError(f"Table expects a TableType, got {type(ty).__name__}")
        if ty.limits.max is not None and ty.limits.max < ty.limits.min:
            raise WasmError("table size minimum must not be greater than maximum")
        if ty.limits.min > TABLE_ELEMENT_LIMIT:
            raise WasmError(f"table of {ty.limits.min} elements is larger than the "
                            f"implementation limit ({TABLE_ELEMENT_LIMIT})")
        bound = store.limits.table_elements
        if bound is not None and ty.limits.min > bound:
            raise WasmError(f"table minimum size of {ty.limits.min} elements exceeds table "
                            f"limits (Store.set_limits table_elements={bound})")
        value = to_internal(ty.element, init, store)
        self._store = store
        self._type = ty
        self.element = ty.element
        self.max = MAX_TABLE_SIZE if ty.limits.max is None else ty.limits.max
        self.elements: list[Any] = [value] * ty.limits.min

    def type(self, store: Store) -> TableType:
        """The table's type, with its current size as the minimum."""
        check_use(store, self._store, "Table.type")
        return TableType(self.element, Limits(len(self.elements), self._type.limits.max))

    def size(self, store: Store) -> int:
        check_use(store, self._store, "Table.size")
        return len(self.elements)

    def grow(self, store: Store, amt: int, init: Any) -> int:
        """Grow by `amt` elements set to `init`; return the previous size. WasmError on failure."""
        check_use(store, self._store, "Table.grow")
        if not isinstance(amt, int) or isinstance(amt, bool):
            raise ArgumentTypeError(f"Table.grow expects an int, got {type(amt).__name__}")
        if amt < 0:
            raise WasmError("cannot grow a table by a negative amount")
        old = self.grow_elements(amt, to_internal(self.element, init, self._store))
        if old < 0:
            raise WasmError(f"failed to grow table by `{amt}` "
                            f"(size {len(self.elements)}, maximum {self.max})")
        return old

    def get(self, store: Store, idx: int) -> Any:
        """The element at `idx` (None for null, or when `idx` is out of bounds, as wasmtime-py)."""
        check_use(store, self._store, "Table.get")
        if not isinstance(idx, int) or not 0 <= idx < len(self.elements):
            return None
        return self.elements[idx]

    def set(self, store: Store, idx: int, val: Any) -> None:
        check_use(store, self._store, "Table.set")
        value = to_internal(self.element, val, self._store)
        if not isinstance(idx, int) or not 0 <= idx < len(self.elements):
            raise WasmError(f"table index {idx} out of bounds (size {len(self.elements)})")
        self.elements[idx] = value

    def __repr__(self) -> str:
        limit = "" if self._type.limits.max is None else f", max {self._type.limits.max}"
        return f"<Table {self.element} {len(self.elements)} elements{limit}>"

    # -- runtime internals ------------------------------------------------------------------

    def grow_elements(self, delta: int, value: Any) -> int:
        """table.grow: the old size, or -1 when the table cannot grow by `delta`."""
        old = len(self.elements)
        new = old + delta
        if new > self.max or new > TABLE_ELEMENT_LIMIT:
            return -1
        bound = self._store.limits.table_elements
        if bound is not None and new > bound:
            return -1
        self.elements.extend([value] * delta)
        return old
