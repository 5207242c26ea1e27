"""Tokenizer for the WebAssembly text format: parentheses, keywords, identifiers, numbers and
strings, with line:column positions recovered from byte offsets only when an error is reported."""

from __future__ import annotations

import bisect
import enum
import re
from dataclasses import dataclass

from ..errors import MalformedError


class Kind(enum.IntEnum):
    """Token kinds. KEYWORD covers everything that starts with a lowercase letter (including
    `inf`, `nan:0x..` and `offset=..`); NUMBER is what starts with a digit or a sign. RESERVED
    tokens are rejected by the tokenizer, except `@name` (annotations, as wasm-tools reads them)."""

    LPAREN = 0
    RPAREN = 1
    KEYWORD = 2
    ID = 3
    NUMBER = 4
    STRING = 5
    RESERVED = 6


@dataclass(slots=True)
class Token:
    """One token. `text` is the source text; `value` is the decoded bytes for STRING tokens and
    the identifier's name (without `$`) for ID tokens."""

    kind: Kind
    text: str
    pos: int
    value: object = None


class Source:
    """Source text plus a map from offsets to line:column for error messages."""

    __slots__ = ("text", "_lines", "last_pos")

    def __init__(self, text: str) -> None:
        self.text = text
        self._lines: list[int] | None = None
        self.last_pos = 0

    def where(self, pos: int) -> str:
        if self._lines is None:
            self._lines = [m.end() for m in re.finditer("\n", self.text)]
        line = bisect.bisect_right(self._lines, pos)
        start = self._lines[line - 1] if line else 0
        return f"{line + 1}:{pos - start + 1}"

    def error(self, pos: int, message: str) -> MalformedError:
        return MalformedError(f"{self.where(pos)}: {message}")


_IDCHARS = r"0-9A-Za-z!#$%&'*+\-./:<=>?@\\^_`|~"
_STRING = r'"(?:[^"\\]|\\[\s\S])*"'
_PLAIN_STRING = re.compile(_STRING)
_ESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{2})|u\{([0-9a-fA-F](?:_?[0-9a-fA-F])*)\}|(.))", re.S)
_SIMPLE_ESCAPES = {"t": 9, "n": 10, "r": 13, '"': 34, "'": 39, "\\": 92}
_BAD_STRING_CHAR = re.compile(r"[\x00-\x1f\x7f]")


def decode_string(body: str, src: Source, pos: int) -> bytes:
    """The bytes of a string literal's body (without the quotes)."""
    if "\\" not in body:
        bad = _BAD_STRING_CHAR.search(body)
        if bad:
            raise src.error(pos + 1 + bad.start(), "control character in string")
        return body.encode("utf-8", "surrogatepass")
    out = bytearray()
    last = 0
    for m in _ESCAPE.finditer(body):
        chunk = body[last:m.start()]
        bad = _BAD_STRING_CHAR.search(chunk)
        if bad:
            raise src.error(pos + 1 + last + bad.start(), "control character in string")
        out += chunk.encode("utf-8", "surrogatepass")
        last = m.end()
        hexbyte, uni, simple = m.groups()
        if hexbyte is not None:
            out.append(int(hexbyte, 16))
        elif uni is not None:
            code = int(uni.replace("_", ""), 16)
            if code >= 0x110000 or 0xD800 <= code < 0xE000:
                raise src.error(pos + 1 + m.start(), "malformed Unicode escape: invalid code point")
            out += chr(code).encode("utf-8")
        elif simple in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[simple])
        else:
            raise src.error(pos + 1 + m.start(), "unknown escape sequence in string")
    chunk = body[last:]
    if "\\" in chunk:
        raise src.error(pos + 1 + last + chunk.index("\\"), "unknown escape sequence in string")
    bad = _BAD_STRING_CHAR.search(chunk)
    if bad:
        raise src.error(pos + 1 + last + bad.start(), "control character in string")
    out += chunk.encode("utf-8", "surrogatepass")
    return bytes(out)


_COMMENT_MARK = re.compile(r"\(;|;\)")


def _skip_block_comment(text: str, pos: int, src: Source) -> int:
    """`pos` is at `(;`; return the offset just after the matching `;)` (comments nest). One
    left-to-right scan for the next `(;` or `;)` (searching for each separately from every
    opening re-read the rest of the text: quadratic in the nesting)."""
    depth = 0
    i = pos
    search = _COMMENT_MARK.search
    while True:
        m = search(text, i)
        if m is None:
            raise src.error(pos, "unterminated block comment")
        i = m.end()
        if m.group() == "(;":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return i


_END_OF_ATOM = rf'(?![{_IDCHARS}"])'
# One token per match: leading whitespace and line comments, then the token itself. Plain
# keywords, identifiers, numbers and strings take their own groups (the common, fast case);
# anything else made of idchars and strings is `res` (quoted ids, annotations, or an error).
_FAST = re.compile(
    r"[ \t\n\r]*(?:;;[^\n\r]*[ \t\n\r]*)*(?:"
    r"(?P<lp>\((?!;))|(?P<rp>\))"
    rf"|(?P<kw>[a-z][{_IDCHARS}]*){_END_OF_ATOM}"
    rf"|(?P<id>\$[{_IDCHARS}]+){_END_OF_ATOM}"
    rf"|(?P<num>[+\-0-9][{_IDCHARS}]*){_END_OF_ATOM}"
    rf"|(?P<str>{_STRING}){_END_OF_ATOM}"
    r"|(?P<bc>\(;)"
    rf"|(?P<res>(?:[{_IDCHARS}]|{_STRING})+)"
    r"|(?P<eof>\Z))"
)
_WS = re.compile(r"[ \t\n\r]*(?:;;[^\n\r]*[ \t\n\r]*)*")


#: What `lex` yields for parentheses (everything else is a Token).
OPEN = "("
CLOSE = ")"


def lex(src: Source):
    """Yield the tokens of the source: OPEN / CLOSE (plain strings; `src.last_pos` holds their
    offset) and Token objects for everything else."""
    text = src.text
    pos = 0
    scan = _FAST.match
    KEYWORD, ID, NUMBER, STRING = Kind.KEYWORD, Kind.ID, Kind.NUMBER, Kind.STRING
    while True:
        m = scan(text, pos)
        if m is None:
            pos = _WS.match(text, pos).end()
            ch = text[pos]
            if ch == '"':
                raise src.error(pos, "unterminated string")
            if ch == ";":
                raise src.error(pos, "unexpected character ';'")
            raise src.error(pos, f"unexpected character {ch!r}")
        group = m.lastgroup
        pos = m.end()
        if group == "lp":
            src.last_pos = pos - 1
            yield OPEN
        elif group == "rp":
            src.last_pos = pos - 1
            yield CLOSE
        elif group == "kw":
            yield Token(KEYWORD, m.group(group), m.start(group))
        elif group == "id":
            word = m.group(group)
            yield Token(ID, word, m.start(group), word[1:])
        elif group == "num":
            yield Token(NUMBER, m.group(group), m.start(group))
        elif group == "str":
            word = m.group(group)
            at = m.start(group)
            yield Token(STRING, word, at, decode_string(word[1:-1], src, at))
        elif group == "bc":
            pos = _skip_block_comment(text, m.start(group), src)
        elif group == "res":
            at = m.start(group)
            tok = _classify(m.group(group), at, src)
            if tok.kind is Kind.RESERVED and not tok.text.startswith("@"):
                # reserved tokens are invalid everywhere (the reference lexer's "unknown operator")
                raise src.error(at, f"unknown operator {tok.text}: not a valid token")
            yield tok
        else:
            return


def tokenize(src: Source) -> list[Token]:
    """Split the whole source into a list of tokens (parentheses included)."""
    out: list[Token] = []
    for tok in lex(src):
        if tok is OPEN:
            out.append(Token(Kind.LPAREN, "(", src.last_pos))
        elif tok is CLOSE:
            out.append(Token(Kind.RPAREN, ")", src.last_pos))
        else:
            out.append(tok)
    return out


def _classify(word: str, pos: int, src: Source) -> Token:
    first = word[0]
    if first == '"':
        if _PLAIN_STRING.fullmatch(word):
            return Token(Kind.STRING, word, pos, decode_string(word[1:-1], src, pos))
        return Token(Kind.RESERVED, word, pos)
    if '"' in word:
        if first == "$" and _PLAIN_STRING.fullmatch(word, 1):
            raw = decode_string(word[2:-1], src, pos + 1)
            try:
                name = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise src.error(pos, "malformed UTF-8 encoding in identifier") from None
            if not name:
                raise src.error(pos, "empty identifier")
            return Token(Kind.ID, word, pos, name)
        return Token(Kind.RESERVED, word, pos)
    if first == "$":
        if len(word) == 1:
            return Token(Kind.RESERVED, word, pos)
        return Token(Kind.ID, word, pos, word[1:])
    if "a" <= first <= "z":
        return Token(Kind.KEYWORD, word, pos)
    if first.isdigit() or (first in "+-" and len(word) > 1):
        return Token(Kind.NUMBER, word, pos)
    return Token(Kind.RESERVED, word, pos)
