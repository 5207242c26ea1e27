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


# -- literals longer than Python's 4,300-digit int() limit ----------------------------------------

_LONG = 5000


@pytest.mark.parametrize("fn,text,bits", [
    (parse_int, "1" * _LONG, 32), (parse_int, "-" + "9" * _LONG, 64), (parse_int, "+" + "1_2" * _LONG, 64),
    (parse_uint, "7" * _LONG, 32), (parse_uint, "1" + "0" * _LONG, 8),
])
def test_long_int_out_of_range(fn, text: str, bits: int) -> None:
    with pytest.raises(NumberError, match=f"i{bits} constant out of range"):
        fn(text, bits)


def test_long_int_with_leading_zeros_is_its_value() -> None:
    assert parse_int("0" * _LONG + "42", 32) == 42
    assert parse_int("-" + "0" * _LONG + "2147483648", 32) == -(2 ** 31)
    assert parse_uint("0_" * _LONG + "4294967295", 32) == 2 ** 32 - 1


def _midpoint_text(num: int, den_pow10: int) -> str:
    """The exact decimal text of num / 10**den_pow10 (num > 0, den_pow10 >= len(str(num)))."""
    digits = str(num)
    return "0." + "0" * (den_pow10 - len(digits)) + digits


# 1 + 2**-53 lies halfway between 1.0 and the next double; 2**-1075 halfway between 0 and the
# smallest subnormal (its 753 significant digits are near the most any f64 midpoint has)
_HALF_AFTER_ONE = "1" + _midpoint_text(5 ** 53, 53)[1:]
_HALF_MIN_SUB = _midpoint_text(5 ** 1075, 1075)


@pytest.mark.parametrize("text", [
    "1" * _LONG, "0." + "3" * _LONG, "1" * _LONG + "e-4990", "0." + "0" * _LONG + "17e5010",
    _HALF_AFTER_ONE + "0" * _LONG, _HALF_AFTER_ONE + "0" * _LONG + "1",
    _HALF_MIN_SUB + "0" * _LONG, _HALF_MIN_SUB + "0" * _LONG + "1",
    "9" * 309 + "." + "9" * _LONG, "1" * 308 + "_" + "1" * _LONG + "e-" + "0" * _LONG + str(_LONG),
])
def test_long_f64_literal_matches_python(text: str) -> None:
    expected = float(text.replace("_", ""))    # CPython's float() is correctly rounded, any length
    if math.isinf(expected):
        with pytest.raises(NumberError, match="f64 constant out of range"):
            parse_float(text, 64)
        return
    assert parse_float(text, 64) == f64_bits(expected)
    assert parse_float("-" + text, 64) == f64_bits(-expected)


def test_long_literal_ties_and_sticky_tail() -> None:
    one = f64_bits(1.0)
    assert parse_float(_HALF_AFTER_ONE + "0" * _LONG, 64) == one          # tie: to even
    assert parse_float(_HALF_AFTER_ONE + "0" * _LONG + "1", 64) == one + 1  # just above the tie
    assert parse_float(_HALF_MIN_SUB + "0" * _LONG, 64) == 0
    assert parse_float(_HALF_MIN_SUB + "0" * _LONG + "1", 64) == 1
    # f32: 1 + 2**-24 is halfway between 1.0f and the next f32
    half32 = "1" + _midpoint_text(5 ** 24, 24)[1:]
    assert parse_float(half32 + "0" * _LONG, 32) == 0x3F800000
    assert parse_float(half32 + "0" * _LONG + "1", 32) == 0x3F800001


@pytest.mark.parametrize("text,bits,expected", [
    ("1e-" + "1" * _LONG, 32, 0), ("-1e-" + "1" * _LONG, 64, 1 << 63), ("0x1p-" + "1" * _LONG, 32, 0),
    ("0e+" + "1" * _LONG, 64, 0), ("0x0p" + "1" * _LONG, 32, 0), ("1e-" + "0" * _LONG + "1", 64, f64_bits(0.1)),
])
def test_long_exponent(text: str, bits: int, expected: int) -> None:
    assert parse_float(text, bits) == expected


@pytest.mark.parametrize("text,bits", [("1e" + "1" * _LONG, 32), ("0x1p+" + "1" * _LONG, 64), ("1e1_" + "0" * _LONG, 64)])
def test_long_exponent_out_of_range(text: str, bits: int) -> None:
    with pytest.raises(NumberError, match=f"f{bits} constant out of range"):
        parse_float(text, bits)
