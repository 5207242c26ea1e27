"""The s-expression reader: groups a token list into nested parenthesised lists (the lexer has
already dropped annotations, but for `(@custom ...)`, whose head is a Kind.ANNOTATION token)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .lexer import CLOSE, OPEN, Kind, Source, Token, lex


@dataclass(slots=True)
class SList:
    """A parenthesised list. `pos` is the offset of its `(`; `end` of its `)`."""

    items: list = field(default_factory=list)
    pos: int = 0
    end: int = 0

    def head(self) -> str | None:
        """The keyword right after `(`, if any."""
        if self.items:
            first = self.items[0]
            if type(first) is Token and first.kind is Kind.KEYWORD:
                return first.text
        return None


Item = SList | Token


def read(src: Source) -> list[Item]:
    """Read every top-level item of the source."""
    top: list[Item] = []
    stack: list[SList] = []
    current = top
    for tok in lex(src):
        if tok is OPEN:
            node = SList([], src.last_pos)
            current.append(node)
            stack.append(node)
            current = node.items
        elif tok is CLOSE:
            if not stack:
                raise src.error(src.last_pos, "unexpected token ')': unbalanced parentheses")
            node = stack.pop()
            node.end = src.last_pos
            current = stack[-1].items if stack else top
        else:
            current.append(tok)
    if stack:
        raise src.error(stack[-1].pos, "unclosed '(': unexpected end of input")
    return top
