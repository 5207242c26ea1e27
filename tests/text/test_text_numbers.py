"""Numeric literals: integer ranges and exact float rounding, checked against independent
references (Python's correctly rounded float parsing, and a nearest-neighbour search over f32
bit patterns using exact fractions)."""

from __future__ import annotations

import math
import struct
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.text.numbers import NumberError, parse_float, parse_int, parse_uint


def f64_bits(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def f32_value(bits: int) -> Fraction:
    """The exact value of a finite f32 bit pattern."""
    sign = -1 if bits >> 31 else 1
    exp = (bits >> 23) & 0xFF
    frac = bits & 0x7FFFFF
    if exp == 0:
        return sign * Fraction(frac, 1 << 149)
    return sign * Fraction((1 << 23) | frac) * Fraction(2) ** (exp - 150)


def nearest_f32(value: Fraction) -> int:
    """Round a non-negative exact value to f32 by searching the bit patterns around a guess."""
    guess = struct.unpack("<I", struct.pack("<f", min(float(value), 3.4e38)))[0]
    best = None
    for cand in range(max(0, guess - 2), min(0x7F7FFFFF, guess + 2) + 1):
        dist = abs(f32_value(cand) - value)
        key = (dist, cand & 1)   # ties go to the even pattern
        if best is None or key < best[0]:
            best = (key, cand)
    return best[1]


# -- integers -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,bits,value", [
    ("0", 32, 0), ("-0", 32, 0), ("+7", 32, 7), ("4294967295", 32, -1), ("0xffff_ffff", 32, -1),
    ("-2147483648", 32, -(2 ** 31)), ("2147483647", 32, 2 ** 31 - 1), ("0x8000_0000", 32, -(2 ** 31)),
    ("1_000_000", 32, 10 ** 6), ("18446744073709551615", 64, -1), ("-0x8000000000000000", 64, -(2 ** 63)),
])
def test_int_literals(text: str, bits: int, value: int) -> None:
    assert parse_int(text, bits) == value


@pytest.mark.parametrize("text,bits", [
    ("4294967296", 32), ("-2147483649", 32), ("0x1_0000_0000", 32), ("18446744073709551616", 64),
    ("-9223372036854775809", 64),
])
def test_int_out_of_range(text: str, bits: int) -> None:
    with pytest.raises(NumberError, match="constant out of range"):
        parse_int(text, bits)


@pytest.mark.parametrize("text", ["", "_1", "1_", "1__0", "0x", "0x_1", "1x", "--1", "+-1", "1.0", "0xg"])
def test_int_syntax_errors(text: str) -> None:
    with pytest.raises(NumberError) as info:
        parse_int(text, 32)
    assert info.value.syntax


def test_uint_rejects_signs() -> None:
    assert parse_uint("0x10", 32) == 16
    with pytest.raises(NumberError):
        parse_uint("+1", 32)
    with pytest.raises(NumberError):
        parse_uint("256", 8)


# -- floats ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,bits,expected", [
    ("inf", 32, 0x7F800000), ("-inf", 32, 0xFF800000), ("nan", 32, 0x7FC00000),
    ("-nan", 64, 0xFFF8000000000000), ("nan:0x1", 32, 0x7F800001), ("+nan:0x7f_ffff", 32, 0x7FFFFFFF),
    ("nan:0xf_ffff_ffff_ffff", 64, 0x7FFFFFFFFFFFFFFF), ("-0", 32, 0x80000000), ("0x0p+0", 64, 0),
    ("0x1p-149", 32, 1), ("0x1p-150", 32, 0), ("0x1.8p-149", 32, 2), ("0x1.fffffep127", 32, 0x7F7FFFFF),
    ("0x1p-1074", 64, 1), ("0x1p-1075", 64, 0), ("0x1.8p-1075", 64, 1),
])
def test_float_specials(text: str, bits: int, expected: int) -> None:
    assert parse_float(text, bits) == expected


@pytest.mark.parametrize("text,bits", [
    ("0x1p128", 32), ("3.4028236e38", 32), ("1e39", 32), ("0x1.ffffffp127", 32), ("1e309", 64),
    ("0x1p1024", 64), ("1e1000000", 64), ("nan:0x0", 32), ("nan:0x80_0000", 32), ("nan:0x10_0000_0000_0000", 64),
])
def test_float_out_of_range(text: str, bits: int) -> None:
    with pytest.raises(NumberError, match="out of range"):
        parse_float(text, bits)


def test_float_just_below_overflow_rounds_down() -> None:
    # the largest f32 plus less than half an ulp rounds to the largest f32, not infinity
    assert parse_float("0x1.fffffefffp127", 32) == 0x7F7FFFFF
    assert parse_float("3.40282356e38", 32) == 0x7F7FFFFF


@pytest.mark.parametrize("text", [".5", "1.e", "1e", "0x.8", "0x1p", "1._5", "inf_", "nan:1", "nan:0x", "1e+-1", "- 1"])
def test_float_syntax_errors(text: str) -> None:
    with pytest.raises(NumberError):
        parse_float(text, 64)


_DECIMAL = st.builds(lambda m, f, e: f"{m}.{f}e{e}", st.integers(0, 10 ** 20), st.integers(0, 10 ** 12),
                     st.integers(-330, 310))


@settings(max_examples=300, deadline=None)
@given(_DECIMAL)
def test_f64_decimal_matches_python(text: str) -> None:
    try:
        expected = float(text)
    except OverflowError:  # pragma: no cover - float() never raises here, it returns inf
        expected = math.inf
    if math.isinf(expected):
        with pytest.raises(NumberError):
            parse_float(text, 64)
    else:
        assert parse_float(text, 64) == f64_bits(expected)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 2 ** 70), st.integers(-1200, 1000))
def test_f64_hex_matches_python(mantissa: int, exp: int) -> None:
    text = f"0x{mantissa:x}p{exp}"
    try:
        expected = float.fromhex(text)
    except OverflowError:
        with pytest.raises(NumberError):
            parse_float(text, 64)
        return
    assert parse_float(text, 64) == f64_bits(expected)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 10 ** 25), st.integers(-70, 20))
def test_f32_decimal_rounds_to_nearest_even(mantissa: int, exp: int) -> None:
    value = Fraction(mantissa) * Fraction(10) ** exp
    text = f"{mantissa}e{exp}"
    if value >= f32_value(0x7F7FFFFF) + Fraction(2) ** 103:   # half an ulp above the largest f32
        with pytest.raises(NumberError):
            parse_float(text, 32)
        return
    assert parse_float(text, 32) == nearest_f32(value)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 2 ** 40), st.integers(-190, 90))
def test_f32_hex_rounds_to_nearest_even(mantissa: int, exp: int) -> None:
    value = Fraction(mantissa) * Fraction(2) ** exp
    text = f"-0x{mantissa:x}p{exp}"
    if value >= f32_value(0x7F7FFFFF) + Fraction(2) ** 103:
        with pytest.raises(NumberError):
            parse_float(text, 32)
        return
    assert parse_float(text, 32) == (0x80000000 | nearest_f32(value))
