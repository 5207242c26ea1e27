"""Wasm values as the fuzzer keeps them: typed, exact (floats as IEEE bit patterns), JSON-safe.

Arguments are stored as bits so that a saved reproducer means the same call on any machine;
results are normalised to comparable tuples (NaN kept as a class, see `same_result`)."""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any

NUM_TYPES = ("i32", "i64", "f32", "f64")
REF_TYPES = ("funcref", "externref")

F32_CANONICAL_NAN = 0x7FC00000
F64_CANONICAL_NAN = 0x7FF8000000000000


def crosses_python(t: Any) -> bool:
    """Whether values of type `t` (polyjit's value type) cross wasmtime-py's API: v128 does
    not (wasmtime-py aborts when asked to name its type) and exnref does not (wasmtime-py has
    no value kind for it)."""
    from engine.wasm.types import ValType
    return t is not ValType.V128 and t.top is not ValType.EXNREF


def f32_bits(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def f64_bits(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def f32_from_bits(b: int) -> float:
    return struct.unpack("<f", struct.pack("<I", b & 0xFFFFFFFF))[0]


def f64_from_bits(b: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", b & 0xFFFFFFFFFFFFFFFF))[0]


def is_nan_bits(ty: str, bits: int) -> bool:
    if ty == "f32":
        return (bits & 0x7F800000) == 0x7F800000 and bits & 0x007FFFFF != 0
    return (bits & 0x7FF0000000000000) == 0x7FF0000000000000 and bits & 0x000FFFFFFFFFFFFF != 0


@dataclass(slots=True, frozen=True)
class Value:
    """A typed argument: ints for i32/i64 (signed Python form), raw bits for floats, None refs."""

    type: str
    bits: int | None

    def to_python(self) -> Any:
        """The value as both wasmtime-py and polyjit take it."""
        t = self.type
        if t in ("i32", "i64"):
            return self.bits
        if t == "f32":
            return f32_from_bits(self.bits)
        if t == "f64":
            return f64_from_bits(self.bits)
        return None                                   # null reference

    def to_json(self) -> list:
        return [self.type, self.bits]

    @classmethod
    def from_json(cls, data: list) -> Value:
        return cls(str(data[0]), None if data[1] is None else int(data[1]))

    def __str__(self) -> str:
        if self.type in ("f32", "f64"):
            x = self.to_python()
            return f"{self.type}:{x!r}" if not math.isnan(x) else f"{self.type}:nan:{self.bits:#x}"
        return f"{self.type}:{self.bits}"


def from_python(ty: str, v: Any) -> Value:
    if ty in ("i32", "i64"):
        return Value(ty, int(v))
    if ty == "f32":
        return Value(ty, f32_bits(float(v)))
    if ty == "f64":
        return Value(ty, f64_bits(float(v)))
    return Value(ty, None)


def normalise(ty: str, v: Any) -> tuple:
    """A result as a comparable, picklable tuple: ("i32", n), ("f64", bits), ("ref", is_null).

    Integers are reduced to their unsigned bit pattern (the APIs return signed ints)."""
    if ty == "i32":
        return ("i32", int(v) & 0xFFFFFFFF)
    if ty == "i64":
        return ("i64", int(v) & 0xFFFFFFFFFFFFFFFF)
    if ty == "f32":
        return ("f32", f32_bits(float(v)))
    if ty == "f64":
        return ("f64", f64_bits(float(v)))
    return ("ref", is_null(v))


def is_null(v: Any) -> bool:
    """Null reference test for both APIs (wasmtime-py wraps some references in a Val)."""
    if type(v).__name__ == "Val":
        v = v.value
    return v is None


def same_result(a: tuple, b: tuple) -> bool:
    """Bit-for-bit equality, except that two NaNs agree: the spec lets the sign and payload of
    a NaN result differ between implementations (canonical vs arithmetic NaN rules), and f32
    results cross the Python API as doubles, which may quiet a signalling payload."""
    if a == b:
        return True
    if a[0] != b[0] or a[0] not in ("f32", "f64"):
        return False
    return is_nan_bits(a[0], a[1]) and is_nan_bits(b[0], b[1])


def render(r: tuple) -> str:
    t, v = r
    if t == "f32":
        return f"f32:{f32_from_bits(v)!r}({v:#010x})"
    if t == "f64":
        return f"f64:{f64_from_bits(v)!r}({v:#018x})"
    if t == "ref":
        return "ref.null" if v else "ref"
    return f"{t}:{v}({v:#x})"
