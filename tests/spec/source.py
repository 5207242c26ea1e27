"""The source text of each module in a .wast script, so the text parser can be checked on it.

wast2json gives every command's line; this finds the script's top-level commands (with a
scanner that knows strings and both comment forms) and hands out, per JSON command, the
`(module ...)` text it was written with.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import defaultdict, deque
from dataclasses import dataclass


class SourceError(ValueError):
    """The .wast text could not be split into commands (unbalanced parentheses, ...)."""


@dataclass(slots=True, frozen=True)
class Sexpr:
    """A parenthesised form: its head keyword, its text span, the line of its head keyword,
    and (for a top-level form) its direct child forms."""

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


#: What matters for structure: parentheses, strings and comments (atoms are skipped).
_SIGNIFICANT = re.compile(r'\(;|;;[^\n]*|"(?:[^"\\\n]|\\.)*"|"|\(|\)')
_ATOM = re.compile(r'[^\s()";]+')
_SPACE = re.compile(r"[ \t\r\n]*")


def _skip_form(text: str, i: int) -> int:
    """The offset just after the parenthesised form (an annotation) whose '(' is at i."""
    depth = 0
    search = _SIGNIFICANT.search
    while True:
        m = search(text, i)
        if m is None:
            raise SourceError("unclosed annotation")
        tok = m.group()
        i = m.end()
        if tok == "(;":
            i = _skip_block_comment(text, m.start())
        elif tok == "(":
            depth += 1
        elif tok == ")":
            depth -= 1
            if depth == 0:
                return i
        elif tok == '"':
            i = _skip_string(text, m.start())


def _head(text: str, i: int) -> tuple[str, int]:
    """The keyword after the '(' at i - 1 (skipping whitespace, comments and annotations), and
    its offset; ("", i) if the form does not start with one."""
    n = len(text)
    while True:
        i = _SPACE.match(text, i).end()
        if text.startswith(";;", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("(;", i):
            i = _skip_block_comment(text, i)
        elif text.startswith("(@", i):
            i = _skip_form(text, i)
        else:
            break
    m = _ATOM.match(text, i)
    return (m.group(), i) if m else ("", i)


def parse_forms(text: str) -> list[Sexpr]:
    """The top-level forms of `text`, each with its direct child forms (deeper forms are
    scanned but not kept: the harness only needs commands and their modules)."""
    newlines = [m.start() for m in re.finditer("\n", text)]

    def line_of(pos: int) -> int:
        return bisect_right(newlines, pos) + 1

    # Each open form: [start, head, line of head, children (None below depth 2)].
    stack: list[list] = []
    top: list[Sexpr] = []
    search = _SIGNIFICANT.search
    i = 0
    while True:
        m = search(text, i)
        if m is None:
            break
        tok = m.group()
        if tok == "(;":
            i = _skip_block_comment(text, m.start())
        elif tok == "(":
            start = m.start()
            if len(stack) < 2:
                head, at = _head(text, start + 1)
                stack.append([start, head, line_of(at), []])
            else:
                stack.append([start, "", 0, None])
            i = m.end()
        elif tok == ")":
            if not stack:
                raise SourceError(f"unbalanced ')' at line {line_of(m.start())}")
            start, head, line, children = stack.pop()
            if children is not None:
                form = Sexpr(head, start, m.end(), line, tuple(children))
                (stack[-1][3] if stack else top).append(form)
            i = m.end()
        elif tok == '"':
            i = _skip_string(text, m.start())
        else:  # a complete string or a line comment
            i = m.end()
    if stack:
        raise SourceError(f"unclosed '(' from line {line_of(stack[-1][0])}")
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
