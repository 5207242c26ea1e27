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


def promote_to_oldest() -> None:
    """Move every object the collector tracks to its oldest generation without scanning it:
    the million or so acyclic objects a large module decodes into are created while the
    collector is paused, so all of them start in the youngest generation and would otherwise
    be scanned once there, once in the middle one and once more before they count as old
    (a full scan of SQLite's decoded module is about 70 ms). Called inside gc_paused (the
    collector would otherwise run as soon as it is enabled again). Not done while the
    program has frozen objects of its own (gc.freeze): unfreezing would release them too."""
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()
