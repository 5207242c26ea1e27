"""Installing native fast paths (engine.environ.fastcalls) for host functions that have one
(engine.runtime.fastcall), natively only: the fast path calls the C library, which emulated
code cannot. Their machine code is assembled once per process and target features (and, like
all code, mapped once per process)."""

from __future__ import annotations

import ctypes
import functools
from typing import Any

from backends.base import CompiledCode
from ..environ import fastcalls as F
from ..runtime.fastcall import fast_call_of
from ..runtime.memory import Memory

_LIBC = ctypes.CDLL(None, use_errno=True)
_C_FUNCTIONS = {name: ctypes.cast(getattr(_LIBC, name), ctypes.c_void_p).value
                for name in ("write", "readv")}


@functools.cache
def _stubs(backend_type: type, features: frozenset[str]) -> CompiledCode | None:
    return backend_type(features).compile_fast_calls()


def fast_target(machine: Any, arena: Any, backend: Any, func: Any, caller: Any,
                fallback: tuple[int, int]) -> tuple[int, int] | None:
    """(code, ctx) running host Func `func`, called from instance `caller`, through its fast
    path, falling back to `fallback` (the exit trampoline and HostCtx); None when it has none
    here. The ctx is allocated in the store's `arena`."""
    spec = fast_call_of(func)
    if spec is None or caller is None:
        return None
    mem = caller.export_map.get(spec.memory_export)
    if type(mem) is not Memory:
        return None
    stubs = _stubs(type(backend), backend.features)
    if stubs is None:
        return None
    unit = machine.load(stubs)
    ctx = arena.alloc(F.CTX_SIZE)
    fields = arena.u64s(ctx, F.CTX_SIZE // 8)
    for offset, value in ((F.FALLBACK_CODE, fallback[0]), (F.FALLBACK_CTX, fallback[1]),
                          (F.MEMORY, mem.mdef), (F.FD_MAP, spec.fd_map),
                          (F.FD_MAP_LEN, spec.fd_map_len), (F.WRITE, _C_FUNCTIONS["write"]),
                          (F.READV, _C_FUNCTIONS["readv"])):
        fields[offset // 8] = value
    return unit.address(spec.kind.symbol), ctx
