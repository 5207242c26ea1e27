"""Comparing outcomes: a verdict per pair of oracles, and the findings of a case.

Rules: results agree bit for bit, except that two NaNs agree (values.same_result); traps agree
when their TrapCodes are equal; the exported state after each step must agree too. A
STACK_OVERFLOW on one side only (or with different codes) is a *stack-limit* difference (the
limits differ by design), an OUT_OF_FUEL/INTERRUPT or a timeout is *inconclusive*: comparison
stops there, neither counts as agreement nor as divergence."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .oracles import (CRASH, INTERNAL, RAN, REFERENCES, REJECTED, TIMEOUT, UNAVAILABLE,
                      UNSUPPORTED, Event, Outcome)
from .values import render, same_result

LIMIT_CODES = ("STACK_OVERFLOW",)
INCONCLUSIVE_CODES = ("OUT_OF_FUEL", "INTERRUPT")


class Verdict(enum.Enum):
    AGREE = "agree"
    DIVERGE = "diverge"
    STACK_LIMIT = "stack-limit"
    INCONCLUSIVE = "inconclusive"
    UNSUPPORTED = "unsupported"
    UNAVAILABLE = "unavailable"


@dataclass(slots=True)
class PairResult:
    verdict: Verdict
    calls: int = 0                  # calls compared and agreeing before the verdict
    detail: str = ""


@dataclass(slots=True, frozen=True)
class Finding:
    """An oracle that disagrees with the reference (or crashed, hung, raised a Python error)."""

    oracle: str
    kind: str                       # "divergence", "crash", "hang", "internal"
    reference: str
    detail: str


@dataclass(slots=True)
class CaseReport:
    outcomes: dict[str, Outcome]
    pairs: dict[tuple[str, str], PairResult] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    reference: str | None = None

    @property
    def signature(self) -> str:
        """What a reduction must preserve: which oracles go wrong and how."""
        return ",".join(sorted(f"{f.oracle}={f.kind}" for f in self.findings))

    def describe(self) -> str:
        return "; ".join(f"{f.oracle} {f.kind} vs {f.reference}: {f.detail}" for f in self.findings)


def _same_state(a: tuple, b: tuple) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x[0] == "global" and y[0] == "global" and x[1] == y[1]:
            if not same_result(tuple(x[2:4]), tuple(y[2:4])):
                return False
        elif tuple(x) != tuple(y):
            return False
    return True


def _state_diff(a: tuple, b: tuple) -> str:
    for x, y in zip(a, b):
        if tuple(x) != tuple(y):
            return f"state {x[0]} {x[1]!r}: {x[2:]} vs {y[2:]}"
    return f"state has {len(a)} vs {len(b)} entries"


def _event_results_agree(x: Event, y: Event) -> bool:
    return len(x.results) == len(y.results) and all(
        same_result(tuple(r), tuple(s)) for r, s in zip(x.results, y.results))


def compare_pair(a: Outcome, b: Outcome) -> PairResult:
    """The verdict for two oracles' outcomes of the same case."""
    statuses = (a.status, b.status)
    if UNAVAILABLE in statuses:
        return PairResult(Verdict.UNAVAILABLE)
    if UNSUPPORTED in statuses:
        return PairResult(Verdict.UNSUPPORTED)
    if CRASH in statuses or INTERNAL in statuses:
        bad = a if a.status in (CRASH, INTERNAL) else b
        return PairResult(Verdict.DIVERGE, 0, f"{bad.oracle} {bad.status}: {bad.detail}")
    if TIMEOUT in statuses:
        return PairResult(Verdict.INCONCLUSIVE, 0, "timeout")
    if a.status == REJECTED or b.status == REJECTED:
        if a.status == b.status:
            return PairResult(Verdict.AGREE)
        rej, acc = (a, b) if a.status == REJECTED else (b, a)
        return PairResult(Verdict.DIVERGE, 0, f"{rej.oracle} rejects the module ({rej.detail}), "
                                              f"{acc.oracle} accepts it")
    calls = 0
    for i, (x, y) in enumerate(zip(a.events, b.events)):
        where = f"step {i} ({x.step})"
        if x.kind == y.kind == "ok":
            if not _event_results_agree(x, y):
                return PairResult(Verdict.DIVERGE, calls, f"{where}: {a.oracle} {x.brief()} vs "
                                                          f"{b.oracle} {y.brief()}")
        elif x.kind == y.kind == "trap" and x.code == y.code:
            pass
        elif x.kind == y.kind == "error":
            pass
        else:
            codes = (x.code if x.kind == "trap" else None, y.code if y.kind == "trap" else None)
            if any(c in LIMIT_CODES for c in codes):
                return PairResult(Verdict.STACK_LIMIT, calls, f"{where}: {x.brief()} vs {y.brief()}")
            if any(c in INCONCLUSIVE_CODES for c in codes):
                return PairResult(Verdict.INCONCLUSIVE, calls, f"{where}: {x.brief()} vs {y.brief()}")
            return PairResult(Verdict.DIVERGE, calls, f"{where}: {a.oracle} {x.brief()} vs "
                                                      f"{b.oracle} {y.brief()}")
        if not _same_state(x.state, y.state):
            return PairResult(Verdict.DIVERGE, calls, f"{where} ({x.brief()}): "
                                                      f"{_state_diff(x.state, y.state)}")
        if i > 0:
            calls += 1
    if len(a.events) != len(b.events):
        return PairResult(Verdict.DIVERGE, calls, f"{len(a.events)} vs {len(b.events)} steps")
    return PairResult(Verdict.AGREE, calls)


def _conclusive(o: Outcome) -> bool:
    return o.status in (RAN, REJECTED)


def analyse(outcomes: dict[str, Outcome]) -> CaseReport:
    """Pair verdicts for every pair, and the findings against the reference."""
    names = list(outcomes)
    report = CaseReport(outcomes)
    for i, x in enumerate(names):
        for y in names[i + 1:]:
            report.pairs[(x, y)] = compare_pair(outcomes[x], outcomes[y])
    ref = next((r for r in REFERENCES if r in outcomes and _conclusive(outcomes[r])), None)
    if ref is None:
        ref = next((n for n in names if _conclusive(outcomes[n])), None)
    report.reference = ref
    interp_done = "interp" in outcomes and _conclusive(outcomes["interp"])
    for name, out in outcomes.items():
        if name == ref:
            continue
        if out.status == CRASH:
            report.findings.append(Finding(name, "crash", ref or "-", out.detail))
        elif out.status == INTERNAL:
            report.findings.append(Finding(name, "internal", ref or "-", out.detail))
        elif out.status == TIMEOUT:
            if name not in ("interp", "wasmtime") and interp_done:
                report.findings.append(Finding(name, "hang", "interp", out.detail))
        elif ref is not None and _conclusive(out):
            key = (ref, name) if (ref, name) in report.pairs else (name, ref)
            pr = report.pairs[key]
            if pr.verdict == Verdict.DIVERGE:
                report.findings.append(Finding(name, "divergence", ref, pr.detail))
    return report


def render_outcome(o: Outcome) -> str:
    if o.status != RAN:
        return f"{o.oracle}: {o.status} {o.detail[:200]}"
    return f"{o.oracle}: " + "; ".join(f"{e.step} -> {e.brief()}" for e in o.events)


__all__ = ["Verdict", "PairResult", "Finding", "CaseReport", "compare_pair", "analyse",
           "render_outcome", "render"]
