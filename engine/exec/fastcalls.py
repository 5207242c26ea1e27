"""Installing native fast paths (engine.environ.fastcalls) for host functions that have one
(engine.runtime.fastcall), natively only: the fast path calls the C library, which emulated
code cannot. Their machine code is assembled once per process and target features."""

from __future__ import annotations

import ctypes
import functools
from typing import Any

from backends.base import CompiledCode
from ..environ import fastcalls as F
from ..runtime.fastcall import fast_call_of
from .space import write_u64

_LIBC = ctypes.CDLL(None, use_errno=True)
_C_FUNCTIONS = {"write": ctypes.cast(_LIBC.write, ctypes.c_void_p).value}


@functools.cache
def _stubs(backend_type: type, features: frozenset[str]) -> CompiledCode | None:
    return backend_type(features).compile_fast_calls()


def fast_target(machine: Any, backend: Any, func: Any, fallback: tuple[int, int],
                memory_def: int | None) -> tuple[int, int] | None:
    """(code, ctx) running host Func `func` through its fast path, falling back to `fallback`
    (the exit trampoline and HostCtx); None when it has none here. `memory_def`: the address of
    the calling instance's (base, length) record of the memory named by the spec."""
    spec = fast_call_of(func)
    if spec is None or memory_def is None:
        return None
    symbol = spec.kind.symbol
    if not machine.has_symbol(symbol):
        stubs = _stubs(type(backend), backend.features)
        if stubs is None:
            return None
        machine.add_code(stubs)
    sp = machine.space
    ctx = sp.alloc(F.CTX_SIZE)
    for offset, value in ((F.FALLBACK_CODE, fallback[0]), (F.FALLBACK_CTX, fallback[1]),
                          (F.MEMORY, memory_def), (F.FD_MAP, spec.fd_map),
                          (F.FD_MAP_LEN, spec.fd_map_len), (F.WRITE, _C_FUNCTIONS["write"])):
        write_u64(sp, ctx + offset, value)
    return machine.address(symbol), ctx
