"""Numbers and expressions in assembler operands, with GNU as's rules.

Integers: decimal, ``0x`` hex, ``0b`` binary, ``0``-prefixed octal. Operators by GNU as's
precedence (highest first): unary ``- + ~``; ``* / % << >>``; ``| & ^``; ``+ -``; parentheses.
Symbols may appear linearly (``sym``, ``sym + 8``, ``a - b``); their values are known only after
layout, so an expression evaluates to an ``Expr`` (a constant plus symbol coefficients) unless
it is a plain constant, which evaluates to an ``int``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .asm_error import AsmError


@dataclass(slots=True, frozen=True)
class Expr:
    """``const + sum(coef * value(sym))``: an expression that names symbols."""

    const: int
    terms: tuple[tuple[str, int], ...]
    local: bool = False  # names a numeric local label (1b, 2f) not yet bound

    def symbols(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.terms)

    def __str__(self) -> str:
        parts = [(("- " if coef < 0 else "+ ") + (name if abs(coef) == 1 else f"{abs(coef)}*{name}"))
                 for name, coef in self.terms]
        if self.const:
            parts.append(f"{'-' if self.const < 0 else '+'} {abs(self.const)}")
        text = " ".join(parts)
        return text[2:] if text.startswith("+ ") else text


Value = int | Expr

_TOKEN = re.compile(r"""\s*(?:
      (?P<num>0[xX][0-9a-fA-F]+|0[bB][01]+(?![\w.$])|\d+[bfBF](?![\w.$])|\d+)
    | (?P<sym>[A-Za-z_.$][\w.$]*)
    | (?P<op><<|>>|[-+*/%&|^~()])
    )""", re.VERBOSE)

_LOCAL_REF = re.compile(r"(\d+)([bfBF])")


def parse_int(text: str) -> int:
    """A GNU as integer literal (no sign). Raises AsmError if ``text`` is not one."""
    try:
        if len(text) > 1 and text[0] == "0" and text[1] in "0123456789":
            return int(text, 8)
        return int(text, 0)
    except ValueError:
        raise AsmError(f"bad number {text!r}") from None


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos, end = 0, len(text)
    while pos < end:
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise AsmError(f"bad expression {text!r} at {text[pos:].strip()!r}")
        kind = m.lastgroup
        assert kind is not None
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    return tokens


# A linear value during parsing: (constant, {symbol: coefficient}).
_Lin = tuple[int, dict[str, int]]


_MAX_DEPTH = 64  # nesting of parentheses and unary operators


class _Parser:
    __slots__ = ("tokens", "pos", "text", "depth")

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0
        self.depth = 0

    def peek(self) -> str | None:
        if self.pos < len(self.tokens):
            kind, tok = self.tokens[self.pos]
            return tok if kind == "op" else None
        return None

    def parse(self) -> _Lin:
        if not self.tokens:
            raise AsmError("missing expression")
        value = self.additive()
        if self.pos != len(self.tokens):
            raise AsmError(f"bad expression {self.text!r}: unexpected {self.tokens[self.pos][1]!r}")
        return value

    def additive(self) -> _Lin:
        value = self.bitwise()
        while (op := self.peek()) in ("+", "-"):
            self.pos += 1
            rhs = self.bitwise()
            sign = 1 if op == "+" else -1
            terms = dict(value[1])
            for name, coef in rhs[1].items():
                terms[name] = terms.get(name, 0) + sign * coef
                if terms[name] == 0:
                    del terms[name]
            value = (value[0] + sign * rhs[0], terms)
        return value

    def bitwise(self) -> _Lin:
        value = self.multiplicative()
        while (op := self.peek()) in ("|", "&", "^"):
            self.pos += 1
            a, b = self.const(value, op), self.const(self.multiplicative(), op)
            value = (a | b if op == "|" else a & b if op == "&" else a ^ b, {})
        return value

    def multiplicative(self) -> _Lin:
        value = self.unary()
        while (op := self.peek()) in ("*", "/", "%", "<<", ">>"):
            self.pos += 1
            rhs = self.unary()
            if op == "*" and not value[1] and rhs[1]:
                value, rhs = rhs, value
            b = self.const(rhs, op)
            if op == "*":
                value = (value[0] * b, {k: v * b for k, v in value[1].items() if v * b})
                continue
            a = self.const(value, op)
            if op in ("/", "%"):
                if b == 0:
                    raise AsmError(f"division by zero in {self.text!r}")
                q = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)  # C truncation
                value = (q if op == "/" else a - q * b, {})
            elif op == "<<":
                value = (a << b if 0 <= b < 64 else 0, {})
            else:
                value = (a >> b if 0 <= b < 64 else (0 if a >= 0 else -1), {})
        return value

    def unary(self) -> _Lin:
        if self.pos >= len(self.tokens):
            raise AsmError(f"bad expression {self.text!r}: missing operand")
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise AsmError(f"expression nested too deeply ({_MAX_DEPTH} levels at most)")
        try:
            return self._unary()
        finally:
            self.depth -= 1

    def _unary(self) -> _Lin:
        kind, tok = self.tokens[self.pos]
        self.pos += 1
        if kind == "num":
            m = _LOCAL_REF.fullmatch(tok)
            if m is not None:
                return (0, {tok.lower(): 1})
            return (parse_int(tok), {})
        if kind == "sym":
            return (0, {tok: 1})
        if tok == "(":
            value = self.additive()
            if self.peek() != ")":
                raise AsmError(f"bad expression {self.text!r}: missing ')'")
            self.pos += 1
            return value
        if tok == "-":
            c, terms = self.unary()
            return (-c, {k: -v for k, v in terms.items()})
        if tok == "+":
            return self.unary()
        if tok == "~":
            return (~self.const(self.unary(), "~"), {})
        raise AsmError(f"bad expression {self.text!r}: unexpected {tok!r}")

    def const(self, value: _Lin, op: str) -> int:
        if value[1]:
            raise AsmError(f"operator {op!r} needs constant operands in {self.text!r}")
        return value[0]


_CACHE: dict[str, Value] = {}


def parse_expr(text: str) -> Value:
    """Parse an expression: an ``int`` when constant, else an ``Expr`` naming its symbols.

    Numeric local-label references (``1b``, ``2f``) come back as symbols named ``"1b"``,
    ``"2f"`` for the assembler to bind (``Expr.local`` says whether there are any)."""
    cached = _CACHE.get(text)
    if cached is not None:
        return cached
    text = text.strip()
    if text and text[0] in _NUMERIC_START and "_" not in text:
        try:  # fast path: a plain decimal or 0x/0b literal, optionally signed
            return int(text, 0)
        except ValueError:
            pass
    const, terms = _Parser(text).parse()
    result: Value = const
    if terms:
        result = Expr(const, tuple(terms.items()), any(is_local_ref(n) for n in terms))
    if len(_CACHE) < 65536:
        _CACHE[text] = result
    return result


_NUMERIC_START = frozenset("0123456789-+")


def is_local_ref(name: str) -> bool:
    """Whether a symbol name is a numeric local-label reference such as ``1b`` or ``3f``."""
    return name[0].isdigit()
