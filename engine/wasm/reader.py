"""Byte-level reading of the WebAssembly binary format: LEB128 integers, bytes and names, raising
MalformedError with the specification's wording. `Reader` is a cursor over data[pos:end]; the
module-level `read_*` functions take (data, pos, end) and return (value, new pos), and are what
the instruction decoder calls directly (they accept bytes or a list of ints)."""

from __future__ import annotations

from ..errors import MalformedError

#: Message for running off the end of the whole binary (between sections).
EOF_MODULE = "unexpected end"
#: Message for running off the end of a section, function body or expression.
EOF_SECTION = "unexpected end of section or function"

TOO_LONG = "integer representation too long"
TOO_LARGE = "integer too large"


def read_leb(data: bytes, pos: int, end: int, bits: int, signed: bool,
             eof: str = EOF_SECTION) -> tuple[int, int]:
    """Decode a LEB128 integer of at most `bits` bits starting at `pos` (reading no further than
    `end`). Returns (value, position after it). Enforces the spec's limits: at most
    ceil(bits / 7) bytes ("integer representation too long"), and the unused bits of the last
    byte must be zero (unsigned) or copies of the sign bit (signed) ("integer too large")."""
    start = pos
    result = 0
    shift = 0
    last_shift = (bits - 1) // 7 * 7
    while True:
        if pos >= end:
            raise MalformedError(eof, pos)
        b = data[pos]
        pos += 1
        if shift == last_shift:
            if b & 0x80:
                raise MalformedError(TOO_LONG, start)
            used = bits - shift            # value bits held by this last byte (1..7)
            if signed:
                rest = b >> (used - 1)      # the sign bit and everything above it
                if rest != 0 and rest != (0x7F >> (used - 1)):
                    raise MalformedError(TOO_LARGE, start)
            elif b >> used:
                raise MalformedError(TOO_LARGE, start)
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            if signed and b & 0x40:
                result -= 1 << shift
            return result, pos


def read_u32(data, pos: int, end: int, eof: str = EOF_SECTION) -> tuple[int, int]:
    """An unsigned 32-bit LEB128 (a specialisation of read_leb: this one is on hot paths)."""
    if pos + 5 <= end:
        # Unrolled while all five bytes a u32 may take are in bounds (toolchains pad relocated
        # indices to five bytes, so the long form is common).
        b = data[pos]
        if b < 0x80:
            return b, pos + 1
        result = b & 0x7F
        b = data[pos + 1]
        if b < 0x80:
            return result | b << 7, pos + 2
        result |= (b & 0x7F) << 7
        b = data[pos + 2]
        if b < 0x80:
            return result | b << 14, pos + 3
        result |= (b & 0x7F) << 14
        b = data[pos + 3]
        if b < 0x80:
            return result | b << 21, pos + 4
        result |= (b & 0x7F) << 21
        b = data[pos + 4]
        if b < 0x80:
            if b > 0x0F:
                raise MalformedError(TOO_LARGE, pos)
            return result | b << 28, pos + 5
        raise MalformedError(TOO_LONG, pos)
    result = 0
    shift = 0
    start = pos
    while pos < end:
        b = data[pos]
        pos += 1
        if b < 0x80:
            if shift == 28 and b > 0x0F:
                raise MalformedError(TOO_LARGE, start)
            return result | b << shift, pos
        if shift == 28:
            raise MalformedError(TOO_LONG, start)
        result |= (b & 0x7F) << shift
        shift += 7
    raise MalformedError(eof, pos)


def read_s32(data, pos: int, end: int, eof: str = EOF_SECTION) -> tuple[int, int]:
    """A signed 32-bit LEB128."""
    if pos + 5 <= end:
        # unrolled as in read_u32
        b = data[pos]
        if b < 0x80:
            return (b - 0x80 if b & 0x40 else b), pos + 1
        result = b & 0x7F
        b = data[pos + 1]
        if b < 0x80:
            result |= b << 7
            return (result - 0x4000 if b & 0x40 else result), pos + 2
        result |= (b & 0x7F) << 7
        b = data[pos + 2]
        if b < 0x80:
            result |= b << 14
            return (result - 0x20_0000 if b & 0x40 else result), pos + 3
        result |= (b & 0x7F) << 14
        b = data[pos + 3]
        if b < 0x80:
            result |= b << 21
            return (result - 0x1000_0000 if b & 0x40 else result), pos + 4
        result |= (b & 0x7F) << 21
        b = data[pos + 4]
        if b < 0x80:
            if 0x07 < b < 0x78:
                raise MalformedError(TOO_LARGE, pos)
            result |= b << 28
            return (result - 0x8_0000_0000 if b & 0x40 else result), pos + 5
        raise MalformedError(TOO_LONG, pos)
    result = 0
    shift = 0
    start = pos
    while pos < end:
        b = data[pos]
        pos += 1
        if b < 0x80:
            if shift == 28 and 0x07 < b < 0x78:
                raise MalformedError(TOO_LARGE, start)
            result |= b << shift
            if b & 0x40:
                result -= 1 << (shift + 7)
            return result, pos
        if shift == 28:
            raise MalformedError(TOO_LONG, start)
        result |= (b & 0x7F) << shift
        shift += 7
    raise MalformedError(eof, pos)


def read_s33(data, pos: int, end: int, eof: str = EOF_SECTION) -> tuple[int, int]:
    """A signed 33-bit LEB128 (block type indices)."""
    return read_leb(data, pos, end, 33, True, eof)


def read_s64(data, pos: int, end: int, eof: str = EOF_SECTION) -> tuple[int, int]:
    """A signed 64-bit LEB128."""
    result = 0
    shift = 0
    start = pos
    while pos < end:
        b = data[pos]
        pos += 1
        if b < 0x80:
            if shift == 63 and b != 0 and b != 0x7F:
                raise MalformedError(TOO_LARGE, start)
            result |= b << shift
            if b & 0x40:
                result -= 1 << (shift + 7)
            return result, pos
        if shift == 63:
            raise MalformedError(TOO_LONG, start)
        result |= (b & 0x7F) << shift
        shift += 7
    raise MalformedError(eof, pos)


def decode_name(raw: bytes, offset: int) -> str:
    """UTF-8 decode a name strictly (overlong forms, surrogates and code points above U+10FFFF
    are all malformed, as the spec requires)."""
    try:
        return raw.decode("utf-8", "strict")
    except UnicodeDecodeError:
        raise MalformedError("malformed UTF-8 encoding", offset) from None


class Reader:
    """A cursor over data[pos:end]. Every read checks the bound; running past it raises
    MalformedError(`eof`)."""

    __slots__ = ("data", "pos", "end", "eof")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None,
                 eof: str = EOF_SECTION) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end
        self.eof = eof

    @property
    def remaining(self) -> int:
        return self.end - self.pos

    def at_end(self) -> bool:
        return self.pos >= self.end

    def byte(self) -> int:
        pos = self.pos
        if pos >= self.end:
            raise MalformedError(self.eof, pos)
        self.pos = pos + 1
        return self.data[pos]

    def u32(self) -> int:
        value, self.pos = read_u32(self.data, self.pos, self.end, self.eof)
        return value

    def u64(self) -> int:
        value, self.pos = read_leb(self.data, self.pos, self.end, 64, False, self.eof)
        return value

    def s32(self) -> int:
        value, self.pos = read_s32(self.data, self.pos, self.end, self.eof)
        return value

    def s33(self) -> int:
        value, self.pos = read_s33(self.data, self.pos, self.end, self.eof)
        return value

    def s64(self) -> int:
        value, self.pos = read_s64(self.data, self.pos, self.end, self.eof)
        return value

    def length(self) -> int:
        """A length prefix (of a vector, byte string or name). As in the reference decoder, it
        must not exceed the bytes left counted from the prefix's own first byte ("length out of
        bounds"). Every vector item takes at least one byte, so a huge declared count fails at
        once: this is what keeps decoding linear in the input size."""
        at = self.pos
        n = self.u32()
        if n > self.end - at:
            raise MalformedError("length out of bounds", at)
        return n

    count = length

    def raw(self, n: int) -> bytes:
        """The next n bytes (running out raises the end-of-input error)."""
        pos = self.pos
        if n > self.end - pos:
            raise MalformedError(self.eof, self.end)
        self.pos = pos + n
        return self.data[pos:pos + n]

    def byte_vec(self) -> bytes:
        """A length-prefixed byte string."""
        return self.raw(self.length())

    def name(self) -> str:
        """A length-prefixed UTF-8 name."""
        n = self.length()
        at = self.pos
        return decode_name(self.raw(n), at)
