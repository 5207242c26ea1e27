"""The allocator's live-range primitives against brute force: building a range list front-first
(`_add_front`, as the backward walk does) and the overlap test (`_overlaps`)."""

from __future__ import annotations

import random

import pytest

from backends.regalloc import _add_front, _overlaps


def canonical(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Union of half-open ranges, ascending, with ranges that touch or overlap merged."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(r for r in ranges if r[0] < r[1]):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def points(ranges: list[tuple[int, int]]) -> set[int]:
    return {p for s, e in ranges for p in range(s, e)}


@pytest.mark.parametrize("seed", range(40))
def test_add_front_any_order_is_the_canonical_union(seed):
    rng = random.Random(seed)
    added: list[tuple[int, int]] = []
    rs: list[tuple[int, int]] = []          # descending while built
    for _ in range(rng.randrange(1, 25)):
        s = rng.randrange(0, 60)
        e = s + rng.randrange(0, 8)         # empty ranges are ignored
        added.append((s, e))
        _add_front(rs, s, e)
        assert rs[::-1] == canonical(added)


@pytest.mark.parametrize("seed", range(40))
def test_add_front_backward_walk_pattern(seed):
    """Ranges mostly arriving at or before the front, as build_intervals adds them."""
    rng = random.Random(1000 + seed)
    added: list[tuple[int, int]] = []
    rs: list[tuple[int, int]] = []
    pos = 200
    while pos > 2:
        pos -= rng.randrange(1, 6)
        start = max(0, pos - rng.randrange(0, 10))
        end = pos + rng.randrange(1, 4)
        added.append((start, end))
        _add_front(rs, start, end)
    assert rs[::-1] == canonical(added)
    # every range in the result is separated from the next by a gap
    fwd = rs[::-1]
    assert all(a[1] < b[0] for a, b in zip(fwd, fwd[1:]))


@pytest.mark.parametrize("seed", range(60))
def test_overlaps_matches_shared_points(seed):
    rng = random.Random(5000 + seed)

    def some_ranges() -> list[tuple[int, int]]:
        n = rng.choice([1, 1, 2, 3, 12])     # 12: the bisect path for long lists
        out: list[tuple[int, int]] = []
        for _ in range(n):
            s = rng.randrange(0, 80)
            out.append((s, s + rng.randrange(1, 6)))
        return canonical(out)

    a, b = some_ranges(), some_ranges()
    assert _overlaps(a, b) == bool(points(a) & points(b))
    assert _overlaps(b, a) == _overlaps(a, b)
