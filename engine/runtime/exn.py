"""Exception objects (exception handling): an exception is a tag and a payload, made by a
`throw` in wasm code or by the host (wasmtime's ExnRef). Each lives in its store: a record in
the store's arena (engine.environ.vmctx: EXN_TAG, then the payload as machine words), which
is what an exnref value is in machine code; `Refs` maps the record back to the object."""

from __future__ import annotations

import ctypes
from typing import Any, Sequence

from ..environ import vmctx as V
from ..errors import ArgumentTypeError, ThrownException, WasmError
from ..wasm.types import ValType, buffer_offsets
from .store import Store, check_use
from .tag import Tag
from .values import ExnObject, to_internal, to_python

_U64 = ctypes.c_uint64
_M64 = 0xFFFF_FFFF_FFFF_FFFF


def thrown_exn(e: ThrownException, context: int) -> ExnRef:
    """The exception object a ThrownException raised into wasm carries, checked: an ExnRef
    of the store whose context is `context`, or a WasmError saying it is not."""
    exn = e.exn
    if isinstance(exn, ExnRef) and exn._store.context == context:
        return exn
    raise WasmError(f"a host function threw an exception that is not an ExnRef of this "
                    f"Store: {exn!r}")


class ExnRef(ExnObject):
    """An exception: its tag and payload values (the tag's parameter types), as wasmtime's
    ExnRef. ``ExnRef(store, tag, [values])`` makes one for a host function to throw
    (``raise ThrownException(exn)``); a wasm exception that reaches Python is one."""

    __slots__ = ("_store", "_tag", "_fields", "record", "__weakref__")

    def __init__(self, store: Store, tag: Tag, fields: Sequence[Any] = ()) -> None:
        if not isinstance(store, Store):
            raise ArgumentTypeError(f"ExnRef expects a Store, got {type(store).__name__}")
        if not isinstance(tag, Tag):
            raise ArgumentTypeError(f"ExnRef expects a Tag, got {type(tag).__name__}")
        check_use(store, tag._store, "ExnRef")
        types = tag._type.functype.param_types
        fields = list(fields)
        if len(fields) != len(types):
            raise WasmError(f"an exception of tag {tag._type.functype} takes {len(types)} "
                            f"values, got {len(fields)}")
        self._init(store, tag, [to_internal(t, v, store) for t, v in zip(types, fields)])

    @classmethod
    def _new(cls, store: Store, tag: Tag, fields: list[Any]) -> ExnRef:
        """An exception from internal values (a wasm throw)."""
        exn = cls.__new__(cls)
        exn._init(store, tag, fields)
        return exn

    def _init(self, store: Store, tag: Tag, fields: list[Any]) -> None:
        self._store = store
        self._tag = tag
        self._fields = fields
        types = [t.top for t in tag._type.functype.param_types]
        offsets = buffer_offsets(types)
        size = V.EXN_FIELDS + (offsets[-1] + (16 if types[-1] is ValType.V128 else 8)
                               if types else 0)
        self.record = rec = store.arena.alloc(size)
        refs = store.refs
        _U64.from_address(rec + V.EXN_TAG).value = tag.definition
        for t, off, v in zip(types, offsets, fields):
            at = rec + V.EXN_FIELDS + off
            if t.is_ref:
                v = refs.word(t, v)
            _U64.from_address(at).value = v & _M64
            if t is ValType.V128:
                _U64.from_address(at + 8).value = v >> 64
        refs.exns[rec] = self

    def tag(self, store: Store) -> Tag:
        """The exception's tag."""
        check_use(store, self._store, "ExnRef.tag")
        return self._tag

    def fields(self, store: Store) -> list[Any]:
        """The payload values, as the Python API shows them."""
        check_use(store, self._store, "ExnRef.fields")
        types = self._tag._type.functype.param_types
        return [to_python(t.top, v) for t, v in zip(types, self._fields)]

    def field(self, store: Store, index: int) -> Any:
        """Payload value `index`."""
        values = self.fields(store)
        if not 0 <= index < len(values):
            raise WasmError(f"exception field index {index} out of range "
                            f"(it has {len(values)})")
        return values[index]

    def __repr__(self) -> str:
        return f"<ExnRef of tag {self._tag._type.functype}>"
