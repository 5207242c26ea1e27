"""Signature ids: one small integer per structurally distinct function type, process-wide, so
call_indirect compares one word (the vmctx's per-type id against the callee's FuncRef). Give
it types in canonical form (engine.wasm.canonical: a concrete (ref $t) names $t's canonical
type, not an index), so that equivalent types of different modules share an id."""

from __future__ import annotations

import threading
from typing import Sequence

_LOCK = threading.Lock()
_IDS: dict[tuple, int] = {}


def signature_id(params: Sequence, results: Sequence) -> int:
    """The id of the function type (params -> results); equal types share it, never 0."""
    key = (tuple(params), tuple(results))
    sid = _IDS.get(key)         # a dict read needs no lock; only a new id does
    if sid is None:
        with _LOCK:
            sid = _IDS.setdefault(key, len(_IDS) + 1)
    return sid
