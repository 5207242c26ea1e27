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
    tokens are rejected by the tokenizer (only an annotation may hold them). ANNOTATION is the
    `@custom` right after the `(` of a custom-section annotation, the one annotation kept (every
    other `(@id ...)` is white space to the parser)."""

    LPAREN = 0
    RPAREN = 1
    KEYWORD = 2
    ID = 3
    NUMBER = 4
    STRING = 5
    RESERVED = 6
    ANNOTATION = 7


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
#: 3.0's reserved tokens: runs of idchars and strings, and these single characters
_RESERVED = rf'(?:[{_IDCHARS}]|{_STRING})+|[,;\[\]{{}}]'
# One token per match: leading whitespace and line comments, then the token itself. Plain
# keywords, identifiers, numbers and strings take their own groups (the common, fast case);
# anything else made of idchars and strings is `res` (quoted ids, or an error).
_FAST = re.compile(
    r"[ \t\n\r]*(?:;;[^\n\r]*[ \t\n\r]*)*(?:"
    r"(?P<an>\(@)|(?P<lp>\((?!;))|(?P<rp>\))"
    rf"|(?P<kw>[a-z][{_IDCHARS}]*){_END_OF_ATOM}"
    rf"|(?P<id>\$[{_IDCHARS}]+){_END_OF_ATOM}"
    rf"|(?P<num>[+\-0-9][{_IDCHARS}]*){_END_OF_ATOM}"
    rf"|(?P<str>{_STRING}){_END_OF_ATOM}"
    r"|(?P<bc>\(;)"
    rf"|(?P<res>{_RESERVED})"
    r"|(?P<eof>\Z))"
)
_WS = re.compile(r"[ \t\n\r]*(?:;;[^\n\r]*[ \t\n\r]*)*")

# -- annotations: `(@id token*)`, the 3.0 text format's generalised comments -------------------

#: an annotation's id, right after `(@`: idchars, or a (non-empty, UTF-8) string
_ANNOT_ID = re.compile(rf'[{_IDCHARS}]+|{_STRING}')
#: one step through an annotation's body: white space or a line comment (no group), a block
#: comment, a parenthesis, or any token (reserved ones too)
_ANNOT_STEP = re.compile(
    r"[ \t\n\r]+|;;[^\n\r]*|(?P<bc>\(;)|(?P<open>\()|(?P<close>\))"
    rf"|(?P<tok>{_RESERVED})")


def annotation_id(src: Source, pos: int) -> re.Match | None:
    """The id of the annotation whose `(@` is at `pos` (None: there is none, an error where an
    annotation must start). A string id must be a valid string, non-empty and UTF-8."""
    m = _ANNOT_ID.match(src.text, pos + 2)
    if m is not None and m.group()[0] == '"':
        try:
            raw = decode_string(m.group()[1:-1], src, m.start())
        except MalformedError:
            return None     # not a string: `(@` is not followed by an id
        if not raw:
            raise src.error(pos, "empty annotation id")
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            raise src.error(m.start(), "malformed UTF-8 encoding in annotation id") from None
    return m


def _check_annotation_token(word: str, pos: int, src: Source) -> None:
    if word == "$" or word == '$""':
        raise src.error(pos, "empty identifier")
    if '"' in word:
        for m in _PLAIN_STRING.finditer(word):
            decode_string(m.group()[1:-1], src, pos + m.start())


def skip_annotation(src: Source, pos: int, body: int) -> int:
    """The offset just after the annotation whose `(@` is at `pos` and whose body (after the
    id) starts at `body`. Its tokens are checked as tokens (strings, identifiers) but may be
    reserved ones; nested parentheses must balance."""
    text = src.text
    step = _ANNOT_STEP.match
    depth = 1
    i = body
    while True:
        m = step(text, i)
        if m is None:
            if i >= len(text):
                raise src.error(pos, "unclosed annotation")
            if text[i] == '"':
                raise src.error(i, "unclosed string")
            raise src.error(i, f"illegal character {text[i]!r} in an annotation")
        i = m.end()
        group = m.lastgroup
        if group == "tok":
            _check_annotation_token(m.group(), m.start(), src)
        elif group == "open":
            depth += 1
            if text.startswith('@"', i):
                annotation_id(src, i - 1)      # a nested annotation's string id is checked
        elif group == "close":
            depth -= 1
            if depth == 0:
                return i
        elif group == "bc":
            i = _skip_block_comment(text, m.start(), src)


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
        elif group == "an":
            at = m.start(group)
            ident = annotation_id(src, at)
            if ident is None:
                raise src.error(at, "empty annotation id")
            if ident.group() in ("custom", '"custom"'):
                # a custom section: the parser reads its fields as ordinary tokens
                src.last_pos = at
                yield OPEN
                yield Token(Kind.ANNOTATION, "@custom", at + 1)
                pos = ident.end()
            else:
                pos = skip_annotation(src, at, ident.end())
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
            if tok.kind is Kind.RESERVED:
                # reserved tokens are invalid outside annotations (the reference lexer's
                # "unknown operator")
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
            raise src.error(pos, "empty identifier")
        return Token(Kind.ID, word, pos, word[1:])
    if "a" <= first <= "z":
        return Token(Kind.KEYWORD, word, pos)
    if first.isdigit() or (first in "+-" and len(word) > 1):
        return Token(Kind.NUMBER, word, pos)
    return Token(Kind.RESERVED, word, pos)
