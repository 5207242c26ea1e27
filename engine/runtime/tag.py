"""Exception tags (the exception-handling proposal): a Store object with a TagType and an
identity of its own, as wasmtime-py's Tag. Modules define, import and export them; `definition` is the tag's identity as machine code
sees it (an address in the store's arena: an exception record's EXN_TAG)."""

from __future__ import annotations

from ..errors import ArgumentTypeError
from ..wasm.types import TagType
from .store import Store, check_use


class Tag:
    """A tag: what identifies an exception's kind and its payload's types."""

    __slots__ = ("_store", "_type", "definition", "__weakref__")

    def __init__(self, store: Store, ty: TagType) -> None:
        if not isinstance(ty, TagType):
            raise ArgumentTypeError(f"Tag expects a TagType, got {type(ty).__name__}")
        if not isinstance(store, Store):
            raise ArgumentTypeError(f"Tag expects a Store, got {type(store).__name__}")
        self._store = store
        self._type = ty
        self.definition = store.arena.alloc(8)

    def type(self, store: Store) -> TagType:
        """This tag's type."""
        check_use(store, self._store, "Tag.type")
        return self._type

    def eq(self, store: Store, other: Tag) -> bool:
        """Whether `other` is this very tag (two tags of one type are different tags)."""
        check_use(store, self._store, "Tag.eq")
        return other is self

    def __repr__(self) -> str:
        return f"<Tag {self._type.functype}>"
