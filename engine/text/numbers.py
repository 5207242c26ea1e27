"""Numeric literals of the text format: integers with range checks, and floats rounded exactly
(round to nearest, ties to even, at the target precision) from decimal or hexadecimal text."""

from __future__ import annotations

import re
import struct

_DEC = r"[0-9](?:_?[0-9])*"
_HEX = r"[0-9a-fA-F](?:_?[0-9a-fA-F])*"
_INT = re.compile(rf"([+-]?)(?:0x({_HEX})|({_DEC}))")
_FLOAT_DEC = re.compile(rf"()({_DEC})(?:\.({_DEC})?)?(?:[eE]([+-]?{_DEC}))?")
_FLOAT_HEX = re.compile(rf"()0x({_HEX})(?:\.({_HEX})?)?(?:[pP]([+-]?{_DEC}))?")
_NAN = re.compile(rf"()nan(?::0x({_HEX}))?")


#: Significant decimal digits kept of a float literal's mantissa. Every value where rounding to
#: f32 or f64 changes (a float, or a midpoint between two) has at most 767 significant digits,
#: so the first 800 digits and whether any later digit is non-zero decide the rounding.
_FLOAT_DIGITS = 800
#: Decimal exponent digits beyond which only the exponent's sign matters: a literal is far
#: shorter than 10**18 characters, so such an exponent is certainly out of range or rounds to 0.
_EXP_DIGITS = 18


def _dec_value(digits: str, limit: int) -> int:
    """The value of a decimal digit string (underscores allowed), or `limit` if it is at least
    that large. Python refuses int() of more than 4,300 digits; an integer literal that long is
    out of range anyway, so it is never converted."""
    digits = digits.replace("_", "").lstrip("0")
    if len(digits) > len(str(limit)):
        return limit
    return min(int(digits or "0"), limit)


def _exponent(text: str | None) -> int:
    """A float literal's exponent; ones too long to matter are clamped to +-10**18."""
    if not text:
        return 0
    sign = -1 if text[:1] == "-" else 1
    digits = text.lstrip("+-").replace("_", "").lstrip("0")
    if len(digits) > _EXP_DIGITS:
        return sign * 10 ** _EXP_DIGITS
    return sign * int(digits or "0")


class NumberError(ValueError):
    """A literal that is not a number of the requested kind (`syntax` true), or out of range.
    The parser turns it into a MalformedError with a position."""

    def __init__(self, message: str, syntax: bool = False) -> None:
        super().__init__(message)
        self.syntax = syntax


def parse_uint(text: str, bits: int) -> int:
    """An unsigned literal (no sign allowed) below 2**bits."""
    m = _INT.fullmatch(text)
    if m is None or m.group(1):
        raise NumberError(f"expected an unsigned integer, found {text}", True)
    value = int(m.group(2).replace("_", ""), 16) if m.group(2) is not None else _dec_value(m.group(3), 1 << bits)
    if value >= 1 << bits:
        raise NumberError(f"i{bits} constant out of range")
    return value


def parse_int(text: str, bits: int) -> int:
    """An integer literal for an iN.const: any value in the signed or unsigned range, returned
    as the signed (two's complement) value."""
    m = _INT.fullmatch(text)
    if m is None:
        raise NumberError(f"expected an integer, found {text}", True)
    sign, hexdigits, decdigits = m.groups()
    value = int(hexdigits.replace("_", ""), 16) if hexdigits is not None else _dec_value(decdigits, 1 << bits)
    if sign == "-":
        if value > 1 << (bits - 1):
            raise NumberError(f"i{bits} constant out of range")
        return -value
    if value >= 1 << bits:
        raise NumberError(f"i{bits} constant out of range")
    if value >= 1 << (bits - 1):
        value -= 1 << bits
    return value


def is_int_literal(text: str) -> bool:
    return _INT.fullmatch(text) is not None


class FloatFormat:
    """An IEEE 754 binary format: total bits, stored mantissa bits, exponent bias."""

    __slots__ = ("bits", "mant", "bias", "emin", "emax", "exp_mask")

    def __init__(self, bits: int, mant: int, exp_bits: int) -> None:
        self.bits = bits
        self.mant = mant
        self.bias = (1 << (exp_bits - 1)) - 1
        self.emin = 1 - self.bias
        self.emax = self.bias
        self.exp_mask = (1 << exp_bits) - 1


F32 = FloatFormat(32, 23, 8)
F64 = FloatFormat(64, 52, 11)
FORMATS = {32: F32, 64: F64}


def _round_rational(num: int, den: int, fmt: FloatFormat) -> int:
    """Bits (without sign) of the positive rational num/den, rounded to nearest even.
    Raises NumberError when the result would be infinite."""
    p = fmt.mant + 1
    e = num.bit_length() - den.bit_length()
    # normalise e so that 2**e <= num/den < 2**(e+1)
    if (num << -e if e < 0 else num) < (den << e if e > 0 else den):
        e -= 1
    q = max(e, fmt.emin) - (p - 1)
    if q >= 0:
        n, d = num, den << q
    else:
        n, d = num << -q, den
    m, r = divmod(n, d)
    twice = r * 2
    if twice > d or (twice == d and m & 1):
        m += 1
    if m == 1 << p:
        m >>= 1
        q += 1
    if m == 0:
        return 0
    if m < 1 << (p - 1):        # subnormal
        return m
    exponent = q + (p - 1)
    if exponent > fmt.emax:
        raise NumberError(f"f{fmt.bits} constant out of range")
    return ((exponent + fmt.bias) << fmt.mant) | (m - (1 << (p - 1)))


def parse_float(text: str, bits: int) -> int:
    """The raw bits of a float literal for fN.const."""
    fmt = FORMATS[bits]
    sign_bit = 1 << (bits - 1)
    signed = text[:1] in ("+", "-")
    bare = text[1:] if signed else text
    sign = sign_bit if text[:1] == "-" else 0
    exp_all = fmt.exp_mask << fmt.mant
    if bare == "inf":
        return sign | exp_all
    if bare.startswith("nan"):
        m = _NAN.fullmatch(bare)
        if m is None:
            raise NumberError(f"malformed nan literal {text}", True)
        if m.group(2) is None:
            payload = 1 << (fmt.mant - 1)
        else:
            payload = int(m.group(2).replace("_", ""), 16)
            if payload == 0 or payload >= 1 << fmt.mant:
                raise NumberError(f"f{bits} constant out of range: nan payload")
        return sign | exp_all | payload
    m = _FLOAT_HEX.fullmatch(bare)
    if m is not None:
        _, ipart, fpart, exp = m.groups()
        digits = ipart.replace("_", "") + (fpart.replace("_", "") if fpart else "")
        mantissa = int(digits, 16)
        e2 = _exponent(exp) - 4 * (len(digits) - len(ipart.replace("_", "")))
        if mantissa == 0:
            return sign
        # clamp absurd exponents: beyond these the value is certainly inf or rounds to 0
        top = mantissa.bit_length() + e2
        if top > fmt.emax + 2:
            raise NumberError(f"f{bits} constant out of range")
        if top < fmt.emin - fmt.mant - 2:
            return sign
        if e2 >= 0:
            return sign | _round_rational(mantissa << e2, 1, fmt)
        return sign | _round_rational(mantissa, 1 << -e2, fmt)
    m = _FLOAT_DEC.fullmatch(bare)
    if m is None:
        raise NumberError(f"malformed float literal {text}", True)
    _, ipart, fpart, exp = m.groups()
    ipart = ipart.replace("_", "")
    fpart = fpart.replace("_", "") if fpart else ""
    digits = (ipart + fpart).lstrip("0")
    e10 = _exponent(exp) - len(fpart)
    if not digits:
        return sign
    if len(digits) > _FLOAT_DIGITS:
        # keep the leading digits; a non-zero tail becomes one trailing 1 (a sticky digit)
        tail = digits[_FLOAT_DIGITS:]
        e10 += len(tail)
        digits = digits[:_FLOAT_DIGITS]
        if tail.strip("0"):
            digits += "1"
            e10 -= 1
    if bits == 64 and len(digits) <= 15 and abs(e10) <= 22:
        # exact in doubles: one correctly rounded operation
        value = float(int(digits)) * 10.0 ** e10 if e10 >= 0 else float(int(digits)) / 10.0 ** -e10
        if value == float("inf"):  # pragma: no cover - cannot happen within these bounds
            raise NumberError("f64 constant out of range")
        return sign | struct.unpack("<Q", struct.pack("<d", value))[0]
    mantissa = int(digits)
    mag = len(digits) + e10   # value is in [10**(mag-1), 10**mag)
    if mag > 400:
        raise NumberError(f"f{bits} constant out of range")
    if mag < -400:
        return sign
    if e10 >= 0:
        return sign | _round_rational(mantissa * 10 ** e10, 1, fmt)
    return sign | _round_rational(mantissa, 10 ** -e10, fmt)


def float_bits_to_bytes(bits: int, width: int) -> bytes:
    return bits.to_bytes(width // 8, "little")
