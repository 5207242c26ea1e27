"""Errors of the IR layer: text that does not parse, functions that do not verify."""

from __future__ import annotations

from ..errors import InternalError


class IRError(Exception):
    """Base of the IR's errors. None is a WasmError: the IR is polyjit's own, so a function
    that does not verify is a bug in polyjit (an InternalError), and IR text that does not
    parse is a mistake in a test or a tool, not in a user's module."""


class IRParseError(IRError):
    """IR text is malformed. The message names the line."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        self.reason = message
        super().__init__(message if line is None else f"IR text line {line}: {message}")


class VerifierError(IRError, InternalError):
    """A function breaks an IR rule. The message names the function, block and instruction."""

    def __init__(self, message: str, function: str = "", block: int | None = None,
                 inst: str | None = None) -> None:
        self.function = function
        self.block = block
        self.inst = inst
        self.reason = message
        where = [f"function {function!r}"]
        if block is not None:
            where.append(f"block{block}")
        if inst is not None:
            where.append(f"instruction `{inst}`")
        super().__init__(f"IR verifier: {', '.join(where)}: {message}")
