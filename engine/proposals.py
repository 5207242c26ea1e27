"""API objects of proposals polyjit does not implement yet, named as wasmtime-py names them so
that a program using them gets a clear UnsupportedError ("not supported yet: ...", a
WasmError) when it makes one, not a NameError: SharedMemory (threads, a later issue)."""

from __future__ import annotations

from typing import Any, NoReturn

from .errors import UnsupportedError


def _refuse(what: str) -> NoReturn:
    raise UnsupportedError(what)


class SharedMemory:
    """wasmtime-py's SharedMemory: not supported yet (threads and shared memories come with
    the threads proposal, a later issue)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _refuse("threads: SharedMemory (shared linear memories come with the threads "
                "proposal)")
