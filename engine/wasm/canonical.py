"""Canonical function types: type equivalence across modules (WebAssembly 3.0).

Without GC's `rec` groups each type definition is a recursion group of its own: it may refer to
itself and to earlier types only. Its canonical form replaces each reference to an earlier type
by that type's canonical form and a reference to itself by `SELF` ("rec.0"), so two types are
equivalent (iso-recursively) exactly when their forms are equal, whatever module and index they
come from. `DefinedType` interns the forms process-wide: equivalent types are one object, which
serves as the heap type of a `RefType` outside its module. A module's types in that shape
(`canonical`) compare, hash and give signature ids as type equivalence says; the runtime uses
them for every check between modules and the host (imports, call_indirect, FuncRef ids).
"""

from __future__ import annotations

import threading
from typing import Callable, Sequence

from .types import FuncType, GlobalType, HeapType, RefType, TableType, TagType, ValueType


class _Self:
    """The type being defined, inside its own canonical form (the spec's rec.0)."""

    __slots__ = ()
    top = HeapType.FUNC

    def __repr__(self) -> str:
        return "rec.0"

    def __reduce__(self) -> str:
        return "SELF"


#: a type's reference to itself, in its canonical form
SELF = _Self()


class DefinedType:
    """A function type in canonical form, as a heap type: one object per equivalence class.
    ``form`` has `SELF` where the type refers to itself; ``functype`` is the type as values
    of it are typed (`SELF` replaced by this object)."""

    __slots__ = ("form", "functype")
    #: the top of a concrete function type's hierarchy
    top = HeapType.FUNC

    def __init__(self, form: FuncType) -> None:
        self.form = form
        self.functype = _map_functype(form, lambda h: self if h is SELF else h)

    def __repr__(self) -> str:
        return f"(func {self.form})"

    def __reduce__(self):
        return (_intern, (self.form,))      # one object per class, in this process too


_LOCK = threading.Lock()
_BY_FORM: dict[FuncType, DefinedType] = {}


def _intern(form: FuncType) -> DefinedType:
    found = _BY_FORM.get(form)         # a dict read needs no lock; only a new type does
    if found is None:
        with _LOCK:
            found = _BY_FORM.get(form)
            if found is None:
                found = _BY_FORM[form] = DefinedType(form)
    return found


def _map_valtype(t: ValueType, heap: Callable[[object], object]) -> ValueType:
    if t.__class__ is RefType and not isinstance(t.heap, HeapType):
        h = heap(t.heap)
        if h is not t.heap:
            return RefType(t.nullable, h)
    return t


def _map_functype(ft: FuncType, heap: Callable[[object], object]) -> FuncType:
    return FuncType([_map_valtype(t, heap) for t in ft.param_types],
                    [_map_valtype(t, heap) for t in ft.result_types])


def defined_types(types: Sequence[FuncType]) -> list[DefinedType]:
    """The canonical type of each of a module's types. A forward or unknown index (invalid,
    which the validator reports) stays a plain int, equivalent to nothing but itself."""
    out: list[DefinedType] = []
    for i, ft in enumerate(types):
        def heap(h: object, i: int = i) -> object:
            if isinstance(h, int):
                if h == i:
                    return SELF
                if h < i:
                    return out[h]
            return h
        out.append(_intern(_map_functype(ft, heap)))
    return out


def canonical(ty, defined: Sequence[DefinedType]):
    """`ty`, a value, function, table, global or tag type of a module whose `defined_types`
    are `defined`, with each type index replaced by its DefinedType (other types unchanged)."""

    def heap(h: object) -> object:
        return defined[h] if isinstance(h, int) and 0 <= h < len(defined) else h

    if isinstance(ty, FuncType):
        return _map_functype(ty, heap)
    if isinstance(ty, TableType):
        element = _map_valtype(ty.element, heap)
        return ty if element is ty.element else TableType(element, ty.limits, ty.is_64)
    if isinstance(ty, GlobalType):
        content = _map_valtype(ty.content, heap)
        return ty if content is ty.content else GlobalType(content, ty.mutable)
    if isinstance(ty, TagType):
        return TagType(_map_functype(ty.functype, heap))
    if isinstance(ty, RefType):
        return _map_valtype(ty, heap)
    return ty


__all__ = ["SELF", "DefinedType", "canonical", "defined_types"]
