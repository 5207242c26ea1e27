"""API objects of proposals polyjit does not implement yet, named as wasmtime-py names them so
that a program using them gets a clear UnsupportedError ("not supported yet: ...", a
WasmError) when it makes one, not a NameError: Tag and TagType (exception handling, issue
#19) and SharedMemory (threads, a later issue)."""

from __future__ import annotations

from typing import Any, NoReturn

from .errors import UnsupportedError


def _refuse(what: str) -> NoReturn:
    raise UnsupportedError(what)


class TagType:
    """wasmtime-py's TagType: not supported yet (exception handling, issue #19)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _refuse("exception handling: TagType (issue #19)")


class Tag:
    """wasmtime-py's Tag: not supported yet (exception handling, issue #19)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _refuse("exception handling: Tag (issue #19)")


class SharedMemory:
    """wasmtime-py's SharedMemory: not supported yet (threads and shared memories come with
    the threads proposal, a later issue)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _refuse("threads: SharedMemory (shared linear memories come with the threads "
                "proposal)")
