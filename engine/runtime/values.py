"""Conversion of wasm values between the Python API (ints, floats, objects) and the runtime's
internal form: i32/i64 as unsigned ints, f32/f64 as raw bit patterns, v128 as an unsigned
128-bit int (lane 0 in the low bits), references as objects (a Func or None for funcref; any
Python object or None for externref)."""

from __future__ import annotations

from typing import Any

from ..errors import WasmError
from ..ir import numerics as N
from ..wasm.types import ValType


class FuncRef:
    """What a funcref value may be besides null: the base of engine.runtime.func.Func (defined
    here so that value checks need not import the function machinery)."""

    __slots__ = ()


def _describe(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return type(value).__name__
    return f"{type(value).__name__} {value!r:.60}"


def _as_float(value: int | float, name: str) -> float:
    """float(value), with an int too large for a double refused as a bad value. wasmtime-py
    refuses it like any value it cannot convert (the same TypeError it raises for a str);
    polyjit raises the WasmError it raises for any bad value."""
    try:
        return float(value)
    except OverflowError:
        raise WasmError(f"expected an {name} (float), got an int too large for a float "
                        f"({value.bit_length()} bits)") from None


def _foreign(value: Any, store: Any) -> str | None:
    """Why funcref `value` cannot be used in `store` (None: it can)."""
    owner = getattr(value, "_store", None)
    if owner is store:
        return None
    if owner is not None and getattr(owner, "_state", None) is not getattr(store, "_state", 0):
        return "the Func belongs to a Store of a different Engine"
    return "the Func belongs to a different Store"


def to_internal(ty: ValType, value: Any, store: Any = None) -> Any:
    """A Python API value of type `ty` in the runtime's internal form; WasmError if it does not
    fit. With `store`, a funcref must be a Func of that store (as in wasmtime: a reference is
    used with the store that owns it)."""
    if ty is ValType.I32:
        if isinstance(value, int) and -0x8000_0000 <= value <= 0xFFFF_FFFF:
            return value & 0xFFFF_FFFF
        raise WasmError(f"expected an i32 (int in -2**31..2**32-1), got {_describe(value)}")
    if ty is ValType.I64:
        if isinstance(value, int) and -0x8000_0000_0000_0000 <= value <= 0xFFFF_FFFF_FFFF_FFFF:
            return value & 0xFFFF_FFFF_FFFF_FFFF
        raise WasmError(f"expected an i64 (int in -2**63..2**64-1), got {_describe(value)}")
    if ty is ValType.F32:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return N.f32_from_py(_as_float(value, "f32"))
        raise WasmError(f"expected an f32 (float), got {_describe(value)}")
    if ty is ValType.F64:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return N.float_to_f64(_as_float(value, "f64"))
        raise WasmError(f"expected an f64 (float), got {_describe(value)}")
    if ty is ValType.FUNCREF:
        if value is None:
            return None
        if isinstance(value, FuncRef):
            why = None if store is None else _foreign(value, store)
            if why is not None:
                raise WasmError(f"funcref used with the wrong Store: {why}")
            return value
        raise WasmError(f"expected a funcref (Func or None), got {_describe(value)}")
    if ty is ValType.EXTERNREF:
        return value
    if ty is ValType.V128:
        if isinstance(value, int) and not isinstance(value, bool) and \
                -(1 << 127) <= value < (1 << 128):
            return value & ((1 << 128) - 1)
        raise WasmError(f"expected a v128 (int in -2**127..2**128-1), got {_describe(value)}")
    raise WasmError(f"values of type {ty} cannot cross the Python API")


def to_python(ty: ValType, value: Any) -> Any:
    """An internal value of type `ty` as the Python API shows it."""
    if ty is ValType.I32:
        return value - 0x1_0000_0000 if value & 0x8000_0000 else value
    if ty is ValType.I64:
        return value - 0x1_0000_0000_0000_0000 if value & 0x8000_0000_0000_0000 else value
    if ty is ValType.F32:
        return N.f32_to_py(value)
    if ty is ValType.F64:
        return N.f64_to_float(value)
    return value


def default_value(ty: ValType) -> Any:
    """The zero value of a type (null for references)."""
    return None if ty.is_ref else 0
