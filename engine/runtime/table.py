"""Table: a growable vector of references (funcref: Func or None; externref: any object or None).

The elements live in the store's arena as machine words (engine.runtime.refs), in an array the
table's TableDefinition (base, length; engine.environ.vmctx) points at: generated code of every
instance that uses the table reads and writes them there, and so do these methods. Growth past
the array's capacity moves the entries to a larger array and updates the definition."""

from __future__ import annotations

import ctypes
from typing import Any, Iterable

from ..environ import vmctx as V
from ..errors import ArgumentTypeError, InternalError, WasmError
from ..wasm.types import MAX_TABLE_SIZE, Limits, TableType, ValType
from .store import Store, check_use
from .values import to_internal

#: Tables larger than this many elements are refused. Below 2**32, so that a 64-bit table's
#: i64 indices narrow to the IR's i32 ones (engine/ir/addr64.py).
TABLE_ELEMENT_LIMIT = 10_000_000


class Table:
    """A wasm table (mirrors wasmtime-py's Table).

    Internal fields read by executors: ``elements`` (a sequence view of the references, see
    TableElements), ``tdef`` (the TableDefinition's address), ``max`` (maximum size),
    ``element`` (the element ValType)."""

    __slots__ = ("_store", "_type", "max", "element", "tdef", "_def", "_words", "_cap",
                 "_top", "__weakref__")

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
        self._top = ty.element.top
        self.max = MAX_TABLE_SIZE if ty.limits.max is None else ty.limits.max
        self.tdef = store.arena.alloc(V.TABLEDEF_SIZE)
        self._def = store.arena.u64s(self.tdef, 2)
        self._cap = 0
        self._words: ctypes.Array = (ctypes.c_uint64 * 0)()
        self._reserve(ty.limits.min)
        self._def[1] = ty.limits.min
        self._fill_words(0, ty.limits.min, self.word_of(value))
        if self._top is ValType.EXTERNREF:
            store.extern_holders.add(self)

    # -- wasmtime-py API --------------------------------------------------------------------

    def type(self, store: Store) -> TableType:
        """The table's type, with its current size as the minimum."""
        check_use(store, self._store, "Table.type")
        return TableType(self.element, Limits(self._def[1], self._type.limits.max),
                         self._type.is_64)

    def size(self, store: Store) -> int:
        check_use(store, self._store, "Table.size")
        return self._def[1]

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
                            f"(size {self._def[1]}, maximum {self.max})")
        return old

    def get(self, store: Store, idx: int) -> Any:
        """The element at `idx` (None for null, or when `idx` is out of bounds, as wasmtime-py)."""
        check_use(store, self._store, "Table.get")
        if not isinstance(idx, int) or not 0 <= idx < self._def[1]:
            return None
        return self.value_of(self._words[idx])

    def set(self, store: Store, idx: int, val: Any) -> None:
        check_use(store, self._store, "Table.set")
        value = to_internal(self.element, val, self._store)
        if not isinstance(idx, int) or not 0 <= idx < self._def[1]:
            raise WasmError(f"table index {idx} out of bounds (size {self._def[1]})")
        self._words[idx] = self.word_of(value)

    def __repr__(self) -> str:
        limit = "" if self._type.limits.max is None else f", max {self._type.limits.max}"
        return f"<Table {self.element} {self._def[1]} elements{limit}>"

    # -- runtime internals ------------------------------------------------------------------

    @property
    def elements(self) -> TableElements:
        return TableElements(self)

    def length(self) -> int:
        return self._def[1]

    def word_of(self, value: Any) -> int:
        return self._store.refs.word(self._top, value)

    def value_of(self, word: int) -> Any:
        return self._store.refs.value(self._top, word)

    def extern_words(self) -> list[int]:
        """The externref handles this table holds (Store.gc)."""
        return list(self._words[:self._def[1]])

    def word_at(self, i: int) -> int:
        return self._words[i]

    def _reserve(self, n: int) -> None:
        """Make room for `n` entries (moving them to a larger array when needed)."""
        if n <= self._cap and self._def[0]:
            return
        cap = max(n, 2 * self._cap, 4)
        base = self._store.arena.alloc(8 * cap, 8)
        size = self._def[1]
        if size:
            ctypes.memmove(base, self._def[0], 8 * size)
        self._words = (ctypes.c_uint64 * cap).from_address(base)
        self._cap = cap
        self._def[0] = base

    def _fill_words(self, start: int, n: int, word: int) -> None:
        if n == 0:
            return
        if word == 0:
            ctypes.memset(self._def[0] + 8 * start, 0, 8 * n)
        else:
            self._words[start:start + n] = [word] * n

    def grow_elements(self, delta: int, value: Any) -> int:
        """table.grow: the old size, or -1 when the table cannot grow by `delta`."""
        old = self._def[1]
        new = old + delta
        if new > self.max or new > TABLE_ELEMENT_LIMIT:
            return -1
        bound = self._store.limits.table_elements
        if bound is not None and new > bound:
            return -1
        word = self.word_of(value)
        self._reserve(new)
        self._fill_words(old, delta, word)
        self._def[1] = new
        return old

    def fill(self, dst: int, value: Any, n: int) -> None:
        """Set entries [dst, dst + n) (in bounds) to `value`."""
        self._fill_words(dst, n, self.word_of(value))

    def copy_from(self, src: Table, dst: int, start: int, n: int) -> None:
        """Entries [dst, dst + n) = src's [start, start + n) (in bounds; may overlap)."""
        if n:
            ctypes.memmove(self._def[0] + 8 * dst, src._def[0] + 8 * start, 8 * n)

    def store_values(self, dst: int, values: Iterable[Any]) -> None:
        """Entries from `dst` on = `values` (in bounds)."""
        self.store_words(dst, [self.word_of(v) for v in values])

    def store_words(self, dst: int, words: list[int]) -> None:
        """Entries from `dst` on = the reference words `words` (in bounds)."""
        self._words[dst:dst + len(words)] = words


class TableElements:
    """A table's references as a sequence (len, index, slice; assignment of one element or of a
    slice of the same length), read from and written to the machine words."""

    __slots__ = ("_t",)

    def __init__(self, table: Table) -> None:
        self._t = table

    def __len__(self) -> int:
        return self._t._def[1]

    def __getitem__(self, i: int | slice) -> Any:
        t = self._t
        n = t._def[1]
        if isinstance(i, slice):
            return [t.value_of(w) for w in t._words[:n][i]]
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("table index out of range")
        return t.value_of(t._words[i])

    def __setitem__(self, i: int | slice, value: Any) -> None:
        t = self._t
        n = t._def[1]
        if isinstance(i, slice):
            start, stop, step = i.indices(n)
            values = list(value)
            if step != 1 or len(values) != max(stop - start, 0):
                raise InternalError("a table slice is assigned values of the same length")
            t.store_values(start, values)
            return
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("table index out of range")
        t._words[i] = t.word_of(value)

    def __iter__(self):
        t = self._t
        return iter([t.value_of(w) for w in t._words[:t._def[1]]])
