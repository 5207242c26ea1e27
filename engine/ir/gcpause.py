"""A context manager that pauses Python's cyclic garbage collector while the builder and the
passes allocate many small objects (IR instructions are acyclic, so there is nothing for it
to find; on multi-MB modules its full collections cost more than the work itself)."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector inside the block; nested uses are fine."""
    was_enabled = gc.isenabled()
    if was_enabled:
        gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
