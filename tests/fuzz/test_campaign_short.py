"""A bounded differential campaign (fixed seed, about a minute): generated and wasm-smith
modules on every oracle that is available. Fails on any divergence that is not a known, open
finding of the corpus (fuzz/corpus/*.json with status "open" and the same signature)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from fuzz.campaign import Campaign
from fuzz.corpus import entries
from fuzz.oracles import ORACLES
from fuzz.report import summary

pytest.importorskip("hypothesis")
pytest.importorskip("wasmtime")

SECONDS = 75.0
SEED = 20261125


def _error_class(description: str) -> str | None:
    """For a divergence where polyjit raised an error: its message without numbers and the
    instruction it names (one known compiler error explains its other occurrences)."""
    m = re.search(r" error (.*?) vs ", description)
    if m is None:
        return None
    text = re.sub(r"\d+", "#", m.group(1))
    return re.sub(r"(operands in) \S+", r"\1 _", text)


def _explained(finding, known) -> bool:
    """Same signature as an open corpus entry and, for compiler errors, the same error."""
    for sig, desc in known:
        if finding.signature == sig and _error_class(finding.description) == _error_class(desc):
            return True
    return False


def test_short_campaign_has_no_unexplained_divergence(tmp_path):
    known = [(",".join(sorted(f"{o}={k}" for o, k in e.suspects.items())), e.description)
             for e in entries() if e.status == "open"]
    # reproducers of new findings: $POLYJIT_FUZZ_FINDINGS if set (kept), else the test's tmp dir
    out = Path(os.environ.get("POLYJIT_FUZZ_FINDINGS") or tmp_path)
    with Campaign(list(ORACLES), corpus=out, shrink=True, reduce_seconds=20.0) as campaign:
        stats = campaign.run(SECONDS, SEED, batch=15)
    text = summary(stats)
    print(text)
    # a handful at least even on a loaded two-core machine with five compiled targets
    assert stats.modules >= 8, text
    assert stats.by_source["generated"] > 0 and stats.by_source["smith"] > 0, text
    ref_pair = stats.pairs.get(("interp", "wasmtime"))
    assert ref_pair is not None and ref_pair.calls > 0, text
    unexplained = [f for f in stats.findings if not _explained(f, known)]
    assert not unexplained, "\n".join(f"{f.id} [{f.signature}] {f.description} -> {f.path}"
                                      for f in unexplained) + "\n\n" + text
