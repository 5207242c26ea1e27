"""Linker.define_wasi: define every wasi_snapshot_preview1 function in a Linker. Each store
that instantiates gets Funcs bound to its own WasiContext (Store.set_wasi configures it)."""

from __future__ import annotations

import ctypes
from typing import Any

from ...environ.fastcalls import FastCall
from ...wasm.types import FuncType, ValType
from ..fastcall import FastCallSpec, set_fast_call
from ..func import Func
from ..linker import Linker, _HostFuncDef
from .context import context_of
from .descriptors import FAST_FDS
from .functions import MODULE, SIGNATURES, WasiFunctions

_TYPES = {"i": ValType.i32, "I": ValType.i64}


def functype(name: str) -> FuncType:
    params, results = SIGNATURES[name]
    return FuncType([_TYPES[c]() for c in params], [_TYPES[c]() for c in results])


def functions_of(store: Any) -> WasiFunctions:
    """The store's WasiFunctions (one per store, over its WasiContext)."""
    fns = getattr(store, "_wasi_fns", None)
    if fns is None:
        fns = store._wasi_fns = WasiFunctions(context_of(store))
    return fns


#: the WASI functions with a native fast path: (its kind, the descriptor map it reads)
_FAST = {"fd_write": (FastCall.WASI_FD_WRITE, "fast_map"),
         "fd_read": (FastCall.WASI_FD_READ, "read_map")}


class _WasiFuncDef(_HostFuncDef):
    """A linker definition whose Func, per store, calls that store's WasiFunctions."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        super().__init__(functype(name), None, True)
        self.name = name

    def in_store(self, store: Any) -> Func:
        # kept on the store, not in the linker, so that the linker keeps no store alive
        funcs = store.__dict__.setdefault("_wasi_funcs", {})
        f = funcs.get(self.name)
        if f is None:
            fns = functions_of(store)
            f = funcs[self.name] = Func(store, self.ty, fns.host_function(self.name), True)
            if self.name in _FAST:
                table = fns.table
                kind, fd_map = _FAST[self.name]
                set_fast_call(f, FastCallSpec(kind, ctypes.addressof(getattr(table, fd_map)),
                                              FAST_FDS, "memory", table))
        return f


def define_wasi(linker: Linker) -> None:
    """Define all of wasi_snapshot_preview1 in `linker`."""
    for name in SIGNATURES:
        linker._insert(MODULE, name, _WasiFuncDef(name))
