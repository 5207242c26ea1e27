"""Subtyping of value types (WebAssembly 3.0 validation, the typed function references part).

(ref ht) <: (ref null ht); a concrete function type <: func; nofunc <: every function heap
type, noextern <: extern, noexn <: exn. Concrete types are equivalent when their canonical
forms are one (`engine.wasm.canonical`: iso-recursive equivalence, each type its own recursion
group); there are no declared subtypes (GC), so a concrete type matches only an equivalent one.
"""

from __future__ import annotations

from typing import Sequence

from .canonical import defined_types
from .types import FuncType, HeapType, RefType, ValueType

_BOTTOM = {HeapType.NOFUNC: HeapType.FUNC, HeapType.NOEXTERN: HeapType.EXTERN,
           HeapType.NOEXN: HeapType.EXN}


class Canon:
    """Subtyping in the context of a module's `types`: a type index stands for its canonical
    type (`defined`). Types already in canonical form (DefinedType heaps, as the runtime has
    them) need no context: ``Canon([])``."""

    __slots__ = ("types", "defined")

    def __init__(self, types: Sequence[FuncType]) -> None:
        self.types = types
        self.defined = defined_types(types)

    def heap_sub(self, a: object, b: object) -> bool:
        """Whether heap type `a` is a subtype of heap type `b`."""
        if a == b:
            return True
        defined = self.defined
        if isinstance(a, int) and 0 <= a < len(defined):
            a = defined[a]
        if isinstance(b, int) and 0 <= b < len(defined):
            b = defined[b]
        if a is b:
            return True
        if not isinstance(a, HeapType):          # a concrete type
            return b is HeapType.FUNC
        if a in _BOTTOM:
            if isinstance(b, HeapType):
                return b.top is _BOTTOM[a]
            return _BOTTOM[a] is HeapType.FUNC
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



