"""Subtyping of value types (WebAssembly 3.0 validation, the typed function references part).

(ref ht) <: (ref null ht); a concrete function type <: func; nofunc <: every function heap
type, noextern <: extern, noexn <: exn. Concrete types are equivalent when their function
types are structurally equal once the type indices inside them are canonical (`Canon`); there
are no rec groups (GC), so a type refers only to earlier types.
"""

from __future__ import annotations

from typing import Sequence

from .types import FuncType, HeapType, RefType, ValueType, ref_type

_BOTTOM = {HeapType.NOFUNC: HeapType.FUNC, HeapType.NOEXTERN: HeapType.EXTERN,
           HeapType.NOEXN: HeapType.EXN}


class Canon:
    """The canonical index of each type of a module: the first index of an equivalent type."""

    __slots__ = ("types", "index")

    def __init__(self, types: Sequence[FuncType]) -> None:
        self.types = types
        first: dict[FuncType, int] = {}
        self.index: list[int] = []
        for i, ft in enumerate(types):
            key = FuncType([self._canon(t) for t in ft.param_types],
                           [self._canon(t) for t in ft.result_types])
            self.index.append(first.setdefault(key, i))

    def _canon(self, t: ValueType) -> ValueType:
        if isinstance(t, RefType) and isinstance(t.heap, int) and t.heap < len(self.index):
            return ref_type(t.nullable, self.index[t.heap])
        return t

    def heap_sub(self, a: HeapType | int, b: HeapType | int) -> bool:
        """Whether heap type `a` is a subtype of heap type `b`."""
        if a == b:
            return True
        a_int, b_int = isinstance(a, int), isinstance(b, int)
        if a_int and b_int:
            idx = self.index
            return a < len(idx) and b < len(idx) and idx[a] == idx[b]
        if a_int:
            return b is HeapType.FUNC
        if a in _BOTTOM:
            return b_int and _BOTTOM[a] is HeapType.FUNC or (not b_int and b.top is _BOTTOM[a])
        return False

    def sub(self, a: ValueType, b: ValueType) -> bool:
        """Whether value type `a` is a subtype of (matches) value type `b`."""
        if a is b or a == b:
            return True
        if not a.is_ref or not b.is_ref:
            return False
        if a.nullable and not b.nullable:
            return False
        return self.heap_sub(a.heap, b.heap)

    def func_sub(self, a: FuncType, b: FuncType) -> bool:
        """Whether function type `a` matches `b` (parameters contravariant, results covariant)."""
        return (len(a.param_types) == len(b.param_types)
                and len(a.result_types) == len(b.result_types)
                and all(self.sub(y, x) for x, y in zip(a.param_types, b.param_types))
                and all(self.sub(x, y) for x, y in zip(a.result_types, b.result_types)))


def defaultable(t: ValueType) -> bool:
    """Whether a local of type `t` has a default value (every type but a non-null reference)."""
    return not (isinstance(t, RefType) and not t.nullable)



