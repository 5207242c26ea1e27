"""References as machine words, store-wide: what a global cell or a table entry holds for a
funcref (the address of a FuncRef record, engine.environ.vmctx, 0 for null), an externref
(a handle, 1-based, 0 for null) or an exnref (an exception record's address, 0 for null). Every executor of the store reads and writes these words, so
a reference stored by wasm code, the host or another instance is the same reference to all.

A FuncRef record's code and ctx are the executor's business: it fills a record when it is
created (`Executor.bind_funcref`); the records of an instance's own functions are one block
(the vmctx's FUNCREFS), bound when the executor prepares the instance."""

from __future__ import annotations

import bisect
from typing import Any

from ..environ import vmctx as V
from ..errors import InternalError
from ..wasm.types import ValType
from .arena import Arena

_FUNCREF = ValType.FUNCREF
_EXNREF = ValType.EXNREF


class Refs:
    """A store's FuncRef records and externref handles (see the module docstring)."""

    __slots__ = ("arena", "binder", "funcs", "record_of", "_block_starts", "_blocks",
                 "externs", "extern_of", "exns")

    def __init__(self, arena: Arena) -> None:
        self.arena = arena
        #: fills a new record: binder(func, record address); None until an executor needs it
        self.binder: Any = None
        self.funcs: dict[int, Any] = {}         # record address -> Func (not a block's own)
        self.record_of: dict[int, int] = {}     # id(host Func) -> its canonical record
        #: the first defined function's record of each block, ascending, and per block
        #: (its first record, its length, its FuncSpace)
        self._block_starts: list[int] = []
        self._blocks: list[tuple[int, int, Any]] = []
        self.externs: list[Any] = []            # handle - 1 -> object
        self.extern_of: dict[int, int] = {}     # id(object) -> handle
        self.exns: dict[int, Any] = {}          # exception record address -> ExnRef

    def block(self, funcs: Any) -> int:
        """Records for a function index space (a func.FuncSpace), one after the other (not
        bound yet). The records of its defined functions are found by address range, their
        Funcs made only when asked for (func_at); an imported function's record is noted."""
        n = len(funcs)
        base = self.arena.alloc(V.FUNCREF_SIZE * max(n, 1))
        imported = funcs.imported
        for i, f in enumerate(imported):
            rec = base + V.FUNCREF_SIZE * i
            self.funcs[rec] = f
            if f.instance is None:      # (a wasm function's own record is its instance's)
                self.record_of.setdefault(id(f), rec)
        if n > len(imported):
            k = bisect.bisect(self._block_starts, base)
            self._block_starts.insert(k, base + V.FUNCREF_SIZE * len(imported))
            self._blocks.insert(k, (base, n, funcs))
        return base

    def func_word(self, func: Any) -> int:
        """The word for funcref `func` (None: 0): a wasm function's record in its instance's
        block, a host function's first record."""
        if func is None:
            return 0
        inst = func.instance
        if inst is not None:
            return inst.funcrefs + V.FUNCREF_SIZE * func.index
        rec = self.record_of.get(id(func))
        if rec is not None:
            return rec
        rec = self.arena.alloc(V.FUNCREF_SIZE)
        self.funcs[rec] = func
        self.record_of[id(func)] = rec
        if self.binder is not None:
            self.binder(func, rec)
        return rec

    def func_at(self, word: int) -> Any:
        if word == 0:
            return None
        f = self.funcs.get(word)
        if f is None:
            k = bisect.bisect(self._block_starts, word) - 1
            if k >= 0:
                base, n, funcs = self._blocks[k]
                i, off = divmod(word - base, V.FUNCREF_SIZE)
                if i < n and off == 0:
                    return funcs[i]
            raise InternalError(f"funcref word {word:#x} is no FuncRef record of this store")
        return f

    def extern_word(self, obj: Any) -> int:
        if obj is None:
            return 0
        h = self.extern_of.get(id(obj))
        if h is None or self.externs[h - 1] is not obj:
            self.externs.append(obj)
            h = self.extern_of[id(obj)] = len(self.externs)
        return h

    def release_externs(self, live: set[int]) -> None:
        """Forget every externref whose handle is not in `live` (Store.gc, no call running):
        the object is freed once Python holds it nowhere else. Handles are not reused."""
        externs = self.externs
        for h in range(1, len(externs) + 1):
            obj = externs[h - 1]
            if obj is not None and h not in live:
                externs[h - 1] = None
                if self.extern_of.get(id(obj)) == h:
                    del self.extern_of[id(obj)]

    def extern_at(self, word: int) -> Any:
        return None if word == 0 else self.externs[word - 1]

    def exn_at(self, word: int) -> Any:
        if word == 0:
            return None
        exn = self.exns.get(word)
        if exn is None:
            raise InternalError(f"exnref word {word:#x} is no exception record of this store")
        return exn

    def word(self, top: ValType, value: Any) -> int:
        """The word of reference `value` of a type whose ``top`` is `top`."""
        if top is _FUNCREF:
            return self.func_word(value)
        if top is _EXNREF:
            return 0 if value is None else value.record
        return self.extern_word(value)

    def value(self, top: ValType, word: int) -> Any:
        """The reference a word of a type whose ``top`` is `top` stands for."""
        if top is _FUNCREF:
            return self.func_at(word)
        if top is _EXNREF:
            return self.exn_at(word)
        return self.extern_at(word)

