"""Host functions that have a native fast path (engine.environ.fastcalls). The runtime records,
per host Func, which fast path applies and the data it reads; an executor whose target has that
machine code puts it in the import slot in place of the exit trampoline, with the host function
itself as its fallback. Executors without it simply call the host function."""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

from ..environ.fastcalls import FastCall


@dataclass(slots=True, frozen=True)
class FastCallSpec:
    """`kind`; `fd_map` / `fd_map_len`: address and entry count of the descriptor map;
    `memory_export`: the export of the calling instance that is the memory the guest's pointers
    point into; `owner`: keeps the map alive."""

    kind: FastCall
    fd_map: int
    fd_map_len: int
    memory_export: str
    owner: Any


_SPECS: weakref.WeakKeyDictionary[Any, FastCallSpec] = weakref.WeakKeyDictionary()


def set_fast_call(func: Any, spec: FastCallSpec) -> None:
    """Record that host Func `func` may be run by the fast path `spec`."""
    _SPECS[func] = spec


def fast_call_of(func: Any) -> FastCallSpec | None:
    return _SPECS.get(func)
