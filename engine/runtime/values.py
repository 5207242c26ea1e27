"""Conversion of wasm values between the Python API (ints, floats, objects) and the runtime's
internal form: i32/i64 as unsigned ints, f32/f64 as raw bit patterns, v128 as an unsigned
128-bit int (lane 0 in the low bits), references as objects (a Func or None for funcref; any
Python object or None for externref)."""

from __future__ import annotations

from typing import Any

from ..errors import ArgumentTypeError, WasmError
from ..ir import numerics as N
from ..wasm.canonical import DefinedType
from ..wasm.types import HeapType, RefType, ValType


class FuncRef:
    """What a funcref value may be besides null: the base of engine.runtime.func.Func (defined
    here so that value checks need not import the function machinery)."""

    __slots__ = ()


class ExnObject:
    """What an exnref value may be besides null: the base of engine.runtime.exn.ExnRef."""

    __slots__ = ()


class Val:
    """A typed wasm value (wasmtime-py's Val). Anywhere the API takes a value it takes a Val of
    the right type as well as a plain Python value; results come back as plain values."""

    __slots__ = ("_type", "_value")

    def __init__(self, ty: ValType, value: Any) -> None:
        if not isinstance(ty, ValType):
            raise ArgumentTypeError(f"Val expects a ValType, got {type(ty).__name__}")
        self._type = ty
        self._value = value

    @classmethod
    def i32(cls, val: int) -> Val:
        """An i32, wrapped to 32 bits and read back signed (as wasmtime-py does)."""
        if not isinstance(val, int):
            raise ArgumentTypeError(f"Val.i32 expects an int, got {type(val).__name__}")
        return cls(ValType.I32, to_python(ValType.I32, val & 0xFFFF_FFFF))

    @classmethod
    def i64(cls, val: int) -> Val:
        """An i64, wrapped to 64 bits and read back signed."""
        if not isinstance(val, int):
            raise ArgumentTypeError(f"Val.i64 expects an int, got {type(val).__name__}")
        return cls(ValType.I64, to_python(ValType.I64, val & 0xFFFF_FFFF_FFFF_FFFF))

    @classmethod
    def f32(cls, val: float) -> Val:
        """An f32 (the float rounded to single precision)."""
        if not isinstance(val, float):
            raise ArgumentTypeError(f"Val.f32 expects a float, got {type(val).__name__}")
        return cls(ValType.F32, N.f32_to_py(N.f32_from_py(val)))

    @classmethod
    def f64(cls, val: float) -> Val:
        if not isinstance(val, float):
            raise ArgumentTypeError(f"Val.f64 expects a float, got {type(val).__name__}")
        return cls(ValType.F64, val)

    @classmethod
    def externref(cls, extern: Any) -> Val:
        return cls(ValType.EXTERNREF, extern)

    @classmethod
    def funcref(cls, f: Any) -> Val:
        if f is not None and not isinstance(f, FuncRef):
            raise ArgumentTypeError(f"Val.funcref expects a Func or None, got {type(f).__name__}")
        return cls(ValType.FUNCREF, f)

    @classmethod
    def ref_null(cls, ty: ValType) -> Val:
        """The null reference of reference type `ty`."""
        if not isinstance(ty, ValType) or not ty.is_ref:
            raise WasmError(f"Invalid reference type for `ref_null`: {ty}")
        return cls(ty, None)

    @property
    def value(self) -> Any:
        return self._value

    @property
    def type(self) -> ValType:
        return self._type

    def _as(self, ty: ValType) -> Any:
        return self._value if self._type is ty else None

    def as_i32(self) -> int | None:
        return self._as(ValType.I32)

    def as_i64(self) -> int | None:
        return self._as(ValType.I64)

    def as_f32(self) -> float | None:
        return self._as(ValType.F32)

    def as_f64(self) -> float | None:
        return self._as(ValType.F64)

    def as_externref(self) -> Any:
        return self._as(ValType.EXTERNREF)

    def as_funcref(self) -> Any:
        return self._as(ValType.FUNCREF)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Val):
            return self._type is other._type and self._value == other._value
        return self._value == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Val.{self._type}({self._value!r})"


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
    used with the store that owns it). A Val must be of type `ty` (ArgumentTypeError, a
    TypeError, otherwise); a value of the wrong Python type is an ArgumentTypeError too.
    A typed reference (RefType) converts as its ``top``, refuses null if not nullable, and
    takes only a function of its type for a concrete (ref $t) (type equivalence: canonical
    types, engine.wasm.canonical) and only null for a bottom type (nofunc, noextern)."""
    if ty.__class__ is RefType:
        if value is None or (value.__class__ is Val and value._value is None):
            if not ty.nullable:
                raise WasmError(f"expected a non-null reference of type {ty}, got None")
        else:
            _check_heap(ty, value._value if value.__class__ is Val else value)
        ty = ty.top
    if value.__class__ is Val:
        if value._type is not ty:
            raise ArgumentTypeError(f"wrong type of `Val` provided: expected {ty}, "
                                    f"got a Val of type {value._type}")
        value = value._value
    if ty is ValType.I32:
        if isinstance(value, int) and -0x8000_0000 <= value <= 0xFFFF_FFFF:
            return value & 0xFFFF_FFFF
        raise _bad(value)(f"expected an i32 (int in -2**31..2**32-1), got {_describe(value)}")
    if ty is ValType.I64:
        if isinstance(value, int) and -0x8000_0000_0000_0000 <= value <= 0xFFFF_FFFF_FFFF_FFFF:
            return value & 0xFFFF_FFFF_FFFF_FFFF
        raise _bad(value)(f"expected an i64 (int in -2**63..2**64-1), got {_describe(value)}")
    if ty is ValType.F32:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return N.f32_from_py(_as_float(value, "f32"))
        raise ArgumentTypeError(f"expected an f32 (float), got {_describe(value)}")
    if ty is ValType.F64:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return N.float_to_f64(_as_float(value, "f64"))
        raise ArgumentTypeError(f"expected an f64 (float), got {_describe(value)}")
    if ty is ValType.FUNCREF:
        if value is None:
            return None
        if isinstance(value, FuncRef):
            why = None if store is None else _foreign(value, store)
            if why is not None:
                raise WasmError(f"funcref used with the wrong Store: {why}")
            return value
        raise ArgumentTypeError(f"expected a funcref (Func or None), got {_describe(value)}")
    if ty is ValType.EXTERNREF:
        return value
    if ty is ValType.EXNREF:
        if value is None:
            return None
        if isinstance(value, ExnObject):
            if store is not None and getattr(value, "_store", store) is not store:
                raise WasmError("exnref used with the wrong Store: the exception belongs to "
                                "a different Store")
            return value
        raise ArgumentTypeError(f"expected an exnref (ExnRef or None), got {_describe(value)}")
    if ty is ValType.V128:
        if isinstance(value, int) and not isinstance(value, bool) and \
                -(1 << 127) <= value < (1 << 128):
            return value & ((1 << 128) - 1)
        raise WasmError(f"expected a v128 (int in -2**127..2**128-1), got {_describe(value)}")
    raise WasmError(f"values of type {ty} cannot cross the Python API")


def _check_heap(ty: RefType, value: Any) -> None:
    heap = ty.heap
    if heap.__class__ is DefinedType:
        ftype = getattr(value, "ftype", None)
        if ftype is not None and ftype != heap.functype:
            raise WasmError(f"type mismatch: expected a function of type {heap}, got one "
                            f"of type {ftype}")
    elif heap in _BOTTOMS:
        raise WasmError(f"type mismatch: only null is a value of type {ty}")


_BOTTOMS = (HeapType.NOFUNC, HeapType.NOEXTERN, HeapType.NOEXN)


def _bad(value: Any) -> type[WasmError]:
    """The error for an integer argument that does not fit: an int out of range is a
    WasmError, anything else the wrong type."""
    return WasmError if isinstance(value, int) else ArgumentTypeError


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
