"""Choosers: where the module generator's decisions come from. The same generator runs on
hypothesis draws (so hypothesis can shrink a failing module), on a seeded random.Random (fast,
reproducible campaigns) and on raw bytes (libFuzzer/atheris inputs: a smith-like decoding).

Every chooser maps its smallest input to the simplest decision (`integer` -> lo,
`chance` -> False), so shrinking the input shrinks the module."""

from __future__ import annotations

import random
from typing import Any, Protocol, Sequence, TypeVar

T = TypeVar("T")


class Chooser(Protocol):
    def integer(self, lo: int, hi: int) -> int:
        """An int in [lo, hi]."""

    def chance(self, percent: int) -> bool:
        """True with about `percent` % probability (False is the simple answer)."""


def pick(c: Chooser, items: Sequence[T]) -> T:
    return items[c.integer(0, len(items) - 1)]


def weighted(c: Chooser, table: Sequence[tuple[int, T]]) -> T:
    """One of the table's items by weight; the first item is the simplest (the shrink target)."""
    total = sum(w for w, _ in table)
    r = c.integer(0, total - 1)
    for w, item in table:
        if r < w:
            return item
        r -= w
    return table[-1][1]


class RandomChooser:
    """Decisions from a seeded random.Random."""

    def __init__(self, seed: Any) -> None:
        self.rng = random.Random(seed)

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def chance(self, percent: int) -> bool:
        return self.rng.randrange(100) < percent


class BytesChooser:
    """Decisions decoded from a byte string (libFuzzer input); zeros once it runs out."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, n: int) -> int:
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return int.from_bytes(chunk.ljust(n, b"\0"), "little")

    def integer(self, lo: int, hi: int) -> int:
        span = hi - lo + 1
        if span <= 1:
            return lo
        nbytes = (span.bit_length() + 7) // 8
        return lo + self._take(nbytes) % span

    def chance(self, percent: int) -> bool:
        return self._take(1) % 100 >= 100 - percent


class HypothesisChooser:
    """Decisions drawn through hypothesis (inside a @given test or st.composite)."""

    def __init__(self, draw) -> None:
        from hypothesis import strategies as st
        self._draw = draw
        self._st = st
        self._cache: dict[tuple[int, int], Any] = {}

    def integer(self, lo: int, hi: int) -> int:
        if lo == hi:
            return lo
        s = self._cache.get((lo, hi))
        if s is None:
            s = self._cache[(lo, hi)] = self._st.integers(lo, hi)
        return self._draw(s)

    def chance(self, percent: int) -> bool:
        return self.integer(0, 99) >= 100 - percent
