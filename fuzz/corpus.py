"""The corpus of reproducers (fuzz/corpus/): for each finding `<id>.wasm` (the module),
`<id>.wat` (its text, for generated modules) and `<id>.json`: the calls, the expected outcome
(the reference oracle's), which oracles diverged and how, and a status:

- "open": a known, unfixed bug; the replay test (tests/fuzz/test_corpus.py) marks the
  divergent oracles xfail(strict) with the finding id, so it turns red once the bug is fixed
  (then set the status to "fixed");
- "fixed" / "regression": every available oracle must reproduce the expected outcome;
- "flaky": a finding that did not reproduce when re-run, kept in corpus/flaky/ for a human
  (not replayed)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .case import Call, Case
from .compare import CaseReport
from .oracles import Outcome

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"


@dataclass(slots=True)
class Entry:
    id: str
    case: Case
    expected: Outcome
    status: str
    suspects: dict[str, str]          # oracle -> finding kind
    description: str
    path: Path


def save(directory: Path, fid: str, case: Case, report: CaseReport, status: str = "open") -> Path:
    """Write a reproducer; returns the JSON's path."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{fid}.wasm").write_bytes(case.wasm)
    if case.provider is not None:
        (directory / f"{fid}.provider.wasm").write_bytes(case.provider)
    if case.wat:
        (directory / f"{fid}.wat").write_text(case.wat)
    ref = report.reference
    data = {
        "id": fid,
        "source": case.source,
        "status": status,
        "signature": report.signature,
        "description": report.describe(),
        "suspects": {f.oracle: f.kind for f in report.findings},
        "calls": [c.to_json() for c in case.calls],
        "reference": ref,
        "expected": report.outcomes[ref].to_json() if ref else None,
        "outcomes": {n: o.to_json() for n, o in report.outcomes.items()},
        "meta": case.meta,
    }
    path = directory / f"{fid}.json"
    path.write_text(json.dumps(data, indent=1) + "\n")
    return path


def load(path: Path) -> Entry:
    data = json.loads(path.read_text())
    wasm = path.with_suffix(".wasm").read_bytes()
    wat_path = path.with_suffix(".wat")
    provider = path.with_suffix(".provider.wasm")
    case = Case(wasm, [Call.from_json(c) for c in data["calls"]],
                wat=wat_path.read_text() if wat_path.exists() else None,
                source=data.get("source", "corpus"), meta=data.get("meta", {}),
                provider=provider.read_bytes() if provider.exists() else None)
    return Entry(data["id"], case, Outcome.from_json(data["expected"]), data.get("status", "open"),
                 dict(data.get("suspects", {})), data.get("description", ""), path)


def entries(directory: Path = CORPUS_DIR) -> list[Entry]:
    return [load(p) for p in sorted(directory.glob("*.json"))]
