"""The source text of each module in a .wast script, so the text parser can be checked on it.

wast2json gives every command's line; this finds the script's top-level commands (with a
scanner that knows strings and both comment forms) and hands out, per JSON command, the
`(module ...)` text it was written with.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass


class SourceError(ValueError):
    """The .wast text could not be split into commands (unbalanced parentheses, ...)."""


@dataclass(slots=True, frozen=True)
class Sexpr:
    """A parenthesised form: its head keyword, its text span, and its direct children."""

    head: str
    start: int
    end: int          # one past the closing parenthesis
    line: int
    children: tuple[Sexpr, ...]


def _skip_block_comment(text: str, i: int) -> int:
    depth = 0
    n = len(text)
    while i < n:
        if text.startswith("(;", i):
            depth += 1
            i += 2
        elif text.startswith(";)", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    raise SourceError("unterminated block comment")


def _skip_string(text: str, i: int) -> int:
    i += 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            return i + 1
        i += 1
    raise SourceError("unterminated string")


_DELIMS = set(" \t\r\n()\";")


def _only_trivia(gap: str) -> bool:
    """Whitespace and comments only (between a form's '(' and its head keyword)."""
    i, n = 0, len(gap)
    while i < n:
        if gap[i] in " \t\r\n":
            i += 1
        elif gap.startswith(";;", i):
            j = gap.find("\n", i)
            i = n if j < 0 else j
        elif gap.startswith("(;", i):
            i = _skip_block_comment(gap, i)
        else:
            return False
    return True


def parse_forms(text: str) -> list[Sexpr]:
    """The top-level forms of `text` with their nested forms."""
    stack: list[tuple[int, int, str | None, list]] = []
    top: list[Sexpr] = []
    i, n, line = 0, len(text), 1
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c in " \t\r":
            i += 1
        elif text.startswith(";;", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("(;", i):
            j = _skip_block_comment(text, i)
            line += text.count("\n", i, j)
            i = j
        elif c == '"':
            j = _skip_string(text, i)
            line += text.count("\n", i, j)
            i = j
        elif c == "(":
            stack.append((i, line, None, []))
            i += 1
        elif c == ")":
            if not stack:
                raise SourceError(f"unbalanced ')' at line {line}")
            start, start_line, head, children = stack.pop()
            form = Sexpr(head or "", start, i + 1, start_line, tuple(children))
            (stack[-1][3] if stack else top).append(form)
            i += 1
        else:
            j = i
            while j < n and text[j] not in _DELIMS:
                j += 1
            if stack and stack[-1][2] is None and not stack[-1][3] and _only_trivia(
                    text[stack[-1][0] + 1:i]):
                # The form's line is its head keyword's line (as wast2json counts it).
                start, _, _, children = stack[-1]
                stack[-1] = (start, line, text[i:j], children)
            i = max(j, i + 1)
    if stack:
        raise SourceError(f"unclosed '(' from line {stack[-1][1]}")
    return top


#: Source heads of the commands wast2json reports under each JSON command type.
_SOURCE_HEADS = {"assert_uninstantiable": ("assert_uninstantiable", "assert_trap")}
_COMMAND_HEADS = {"module", "register", "invoke", "get", "script", "input", "output"}


class ModuleSources:
    """Hands out, command by command, the module text of a script's module-bearing commands.

    wast2json's line for a command is the line of its `module` keyword: for a top-level
    module the command itself, for an assertion the module inside it. Where that line does
    not match (wast2json reports 0 for some modules after unusual comments), the next module
    of the same command type, in script order, is used.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._by_line: dict[tuple[int, str], deque[Sexpr]] = defaultdict(deque)
        self._in_order: dict[str, list[Sexpr]] = defaultdict(list)
        self._used: set[int] = set()
        self._last: dict[str, int] = defaultdict(lambda: -1)
        self._position: dict[int, int] = {}
        forms = parse_forms(text)
        if forms and not any(f.head in _COMMAND_HEADS or f.head.startswith("assert_")
                             for f in forms):
            # A script of bare module fields is one module (the spec's inline-module form).
            self.text = "(module " + text + ")"
            whole = Sexpr("module", 0, len(self.text), forms[0].line, ())
            self._add("module", whole)
            return
        for form in forms:
            if form.head == "module":
                self._add("module", form)
                continue
            for child in form.children:
                if child.head == "module":
                    self._add(form.head, child)

    def _add(self, command_head: str, module: Sexpr) -> None:
        self._by_line[(module.line, command_head)].append(module)
        self._position[module.start] = len(self._in_order[command_head])
        self._in_order[command_head].append(module)

    def module_text(self, line: int, command_type: str) -> str | None:
        """The `(module ...)` text of the command of type `command_type` whose module is at
        `line` (None if there is none). Call this once per JSON command with a module, in
        script order."""
        for head in _SOURCE_HEADS.get(command_type, (command_type,)):
            module = self._take(line, head)
            if module is not None:
                return self.text[module.start:module.end]
        return None

    def _take(self, line: int, head: str) -> Sexpr | None:
        queue = self._by_line.get((line, head))
        while queue:
            module = queue.popleft()
            if module.start not in self._used:
                return self._mark(head, module)
        ordered = self._in_order.get(head, [])
        for index in range(self._last[head] + 1, len(ordered)):
            if ordered[index].start not in self._used:
                return self._mark(head, ordered[index])
        return None

    def _mark(self, head: str, module: Sexpr) -> Sexpr:
        self._used.add(module.start)
        self._last[head] = max(self._last[head], self._position[module.start])
        return module
