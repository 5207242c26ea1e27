"""Host functions that generated modules import (module "host"): the same Python behaviour is
given to every oracle, so calls out of wasm code (exit trampolines, argument and result
marshalling, multi-value host results) are compared too."""

from __future__ import annotations

from typing import Any, Callable


def _s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def _s64(v: int) -> int:
    v &= 0xFFFFFFFFFFFFFFFF
    return v - (1 << 64) if v & (1 << 63) else v


#: name -> (params, results, behaviour)
HOST_FUNCS: dict[str, tuple[tuple[str, ...], tuple[str, ...], Callable[..., Any]]] = {
    "h_i32": (("i32",), ("i32",), lambda x: _s32(x * 3 + 1)),
    "h_i64": (("i64", "i32"), ("i64",), lambda a, b: _s64((a ^ b) - 7)),
    "h_f64": (("f64", "f32"), ("f64",), lambda a, b: a * 0.5 - b),
    "h_multi": (("i32",), ("i32", "i64"), lambda x: [_s32(x + 1), _s64(x * 1000003)]),
    "h_many": (("i32", "i64", "f32", "f64", "i32", "i64", "f32", "f64", "i32"), ("i64",),
               lambda a, b, c, d, e, f, g, h, i: _s64(a + b + e + f + i
                                                       + (0 if c != c or d != d else 1))),
    "h_void": (("i32",), (), lambda x: None),
}


def imports_for(api, store, module, provided: dict | None = None) -> list:
    """The values of every import of `module`: Func objects for HOST_FUNCS (module "host"),
    and the exports of the provider instance (module "p") from `provided`."""
    a = api.api
    out = []
    for imp in module.imports:
        name = imp.name
        if imp.module == "p" and provided is not None and name in provided:
            out.append(provided[name])
            continue
        if imp.module != "host" or name not in HOST_FUNCS:
            raise LookupError(f"no host function {imp.module}::{name}")
        params, results, fn = HOST_FUNCS[name]
        ty = a.FuncType([getattr(a.ValType, p)() for p in params],
                        [getattr(a.ValType, r)() for r in results])
        out.append(a.Func(store, ty, fn))
    return out
