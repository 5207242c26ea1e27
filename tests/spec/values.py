"""Wasm values between the suite's bit patterns and an API's Python values, and result matching.

The API side follows wasmtime-py: i32/i64 are Python ints (signed on the way out; either sign
accepted on the way in), f32/f64 are Python floats, v128 is a Python int (its 128 bits,
unsigned, lane 0 in the low bits), externref is any Python object (the
harness uses HostRef), funcref is a Func object or None.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

from .wast import Either, Expected, NanPattern, Value, ValueKind


@dataclass(slots=True, frozen=True)
class HostRef:
    """The host object an externref argument `ref.extern N` stands for."""

    id: int


class ConversionError(Exception):
    """A Python value that cannot be the wasm value of the expected kind."""


# ----------------------------------------------------------------------- float bit patterns

def f32_from_bits(bits: int) -> float:
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def f32_to_bits(value: float) -> int:
    return struct.unpack("<I", struct.pack("<f", value))[0]


def f64_from_bits(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def f64_to_bits(value: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", value))[0]


def _signed(bits: int, width: int) -> int:
    return bits - (1 << width) if bits >> (width - 1) else bits


def is_signaling_nan_arg(value: Value) -> bool:
    """True for an f32 argument that is a signaling NaN.

    A Python float is a double: an f32 sNaN becomes a double on the way in and is quieted
    by the conversion, so no float-based API can pass one unchanged. f64 sNaNs do cross.
    """
    if value.kind is not ValueKind.F32 or value.nan is not None:
        return False
    return (value.bits & 0x7F80_0000) == 0x7F80_0000 and (value.bits & 0x007F_FFFF) != 0 \
        and not value.bits & 0x0040_0000


# ------------------------------------------------------------------------ to the API side

def to_python(value: Value, func_null=None):
    """The Python value an API call takes for wasm value `value`."""
    kind = value.kind
    if kind is ValueKind.I32 or kind is ValueKind.I64:
        return _signed(value.bits, kind.bits)
    if kind is ValueKind.F32:
        return f32_from_bits(value.bits)
    if kind is ValueKind.F64:
        return f64_from_bits(value.bits)
    if kind is ValueKind.V128:
        return value.bits
    if kind is ValueKind.EXTERNREF:
        return None if value.null else HostRef(value.bits)
    if kind is ValueKind.FUNCREF:
        if value.null:
            return func_null
        raise ConversionError("a non-null funcref argument has no JSON form")
    raise ConversionError(f"{kind.value} values cannot be passed through this API")


# ---------------------------------------------------------------------- from the API side

def from_python(kind: ValueKind, obj, is_func=lambda o: False) -> Value:
    """The wasm value of Python result `obj`, which the function's type says is a `kind`."""
    if kind is ValueKind.I32 or kind is ValueKind.I64:
        if not isinstance(obj, int) or isinstance(obj, bool):
            raise ConversionError(f"{kind.value} result is {type(obj).__name__} {obj!r}, "
                                  f"not int")
        if not -(1 << (kind.bits - 1)) <= obj < (1 << kind.bits):
            raise ConversionError(f"{kind.value} result {obj} out of range")
        return Value(kind, bits=obj & ((1 << kind.bits) - 1))
    if kind.is_float:
        if not isinstance(obj, float):
            raise ConversionError(f"{kind.value} result is {type(obj).__name__} {obj!r}, "
                                  f"not float")
        if kind is ValueKind.F32:
            try:
                bits = f32_to_bits(obj)
            except OverflowError:
                raise ConversionError(f"f32 result {obj!r} is out of f32 range") from None
            if not math.isnan(obj) and f32_from_bits(bits) != obj:
                raise ConversionError(f"f32 result {obj!r} is not exactly an f32 value")
            return Value(kind, bits=bits)
        return Value(kind, bits=f64_to_bits(obj))
    if kind is ValueKind.V128:
        if not isinstance(obj, int) or isinstance(obj, bool) or not 0 <= obj < (1 << 128):
            raise ConversionError(f"v128 result {obj!r} is not an unsigned 128-bit int")
        return Value(kind, bits=obj)
    if kind is ValueKind.EXTERNREF:
        if obj is None:
            return Value(kind, null=True)
        if isinstance(obj, HostRef):
            return Value(kind, bits=obj.id)
        raise ConversionError(f"externref result is {type(obj).__name__} {obj!r}, "
                              f"not a host reference the harness passed in")
    if kind is ValueKind.FUNCREF:
        if obj is None:
            return Value(kind, null=True)
        if is_func(obj):
            return Value(kind, any_ref=True)
        raise ConversionError(f"funcref result is {type(obj).__name__} {obj!r}, not a Func")
    raise ConversionError(f"{kind.value} results cannot be read through this API")


# ------------------------------------------------------------------------------- matching

def _nan_matches(pattern: NanPattern, kind: ValueKind, bits: int) -> bool:
    if kind is ValueKind.F32:
        exponent, quiet, payload = 0x7F80_0000, 0x0040_0000, 0x007F_FFFF
    else:
        exponent, quiet, payload = (0x7FF0_0000_0000_0000, 0x0008_0000_0000_0000,
                                    0x000F_FFFF_FFFF_FFFF)
    if bits & exponent != exponent or not bits & payload:
        return False
    if pattern is NanPattern.CANONICAL:
        return bits & payload == quiet
    return bool(bits & quiet)


def value_matches(expected: Value, actual: Value) -> bool:
    """Does result `actual` satisfy pattern `expected`? Numbers compare bit for bit."""
    if expected.kind is ValueKind.REFNULL:
        return actual.kind.is_ref and actual.null
    if expected.kind is not actual.kind:
        return False
    kind = expected.kind
    if kind.is_ref:
        if expected.null or actual.null:
            return expected.null == actual.null
        if expected.any_ref:
            return True
        return not actual.any_ref and expected.bits == actual.bits
    if expected.nan is not None:
        return _nan_matches(expected.nan, kind, actual.bits)
    if kind is ValueKind.V128 and expected.lanes:
        width = expected.lane_kind.bits
        mask = (1 << width) - 1
        for i, lane in enumerate(expected.lanes):
            got = Value(expected.lane_kind, bits=(actual.bits >> (i * width)) & mask)
            if not value_matches(lane, got):
                return False
        return True
    return expected.bits == actual.bits


def result_matches(expected: Expected, actual: Value) -> bool:
    if isinstance(expected, Either):
        return any(value_matches(alt, actual) for alt in expected.alternatives)
    return value_matches(expected, actual)


def results_match(expected: tuple[Expected, ...], actual: list[Value]) -> bool:
    return len(expected) == len(actual) and all(map(result_matches, expected, actual))


def expected_kind(expected: Expected) -> ValueKind:
    return expected.alternatives[0].kind if isinstance(expected, Either) else expected.kind
