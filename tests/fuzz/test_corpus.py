"""Replays every reproducer of fuzz/corpus/ on every available oracle: each must reproduce the
saved expected outcome (the reference's). Open findings are xfail(strict) for the oracles that
diverged, so the test turns red when a bug is fixed and the entry's status must change."""

from __future__ import annotations

import pytest

from fuzz.compare import Verdict, compare_pair, render_outcome
from fuzz.corpus import entries
from fuzz.isolation import OraclePool
from fuzz.oracles import ORACLES

ENTRIES = entries()


def _params():
    for e in ENTRIES:
        for oracle in ORACLES:
            marks = []
            if e.status == "open" and oracle in e.suspects:
                marks.append(pytest.mark.xfail(strict=True, reason=f"open finding {e.id}: "
                                                                   f"{e.description[:200]}"))
            yield pytest.param(e, oracle, id=f"{e.id}-{oracle}", marks=marks)


@pytest.fixture(scope="module")
def pool():
    with OraclePool(list(ORACLES), timeout=60.0) as p:
        yield p


def test_corpus_is_not_empty():
    assert ENTRIES, "fuzz/corpus/ has no reproducers"
    for e in ENTRIES:
        assert e.status in ("open", "fixed", "regression"), (e.id, e.status)
        assert e.case.calls, e.id


@pytest.mark.parametrize(("entry", "oracle"), list(_params()))
def test_reproducer(pool, entry, oracle):
    if oracle in pool.unavailable:
        pytest.skip(f"{oracle} unavailable: {pool.unavailable[oracle][:120]}")
    out = pool.run(entry.case, only=[oracle])[oracle]
    if out.status == "unsupported":
        pytest.skip(f"{oracle}: {out.detail[:120]}")
    result = compare_pair(entry.expected, out)
    assert result.verdict in (Verdict.AGREE, Verdict.STACK_LIMIT), (
        f"{entry.id} on {oracle}: {result.verdict.value}: {result.detail}\n"
        f"expected {render_outcome(entry.expected)}\ngot      {render_outcome(out)}")
