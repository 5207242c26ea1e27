"""A fuzzing campaign: cases from the sources (hypothesis-driven generator, wasm-smith) run on
every selected oracle (isolated workers), compared pairwise; divergences are shrunk and saved to
the corpus; counts per oracle pair are kept for the summary."""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .case import Case
from .compare import CaseReport, Verdict, analyse
from .isolation import OraclePool
from .oracles import ORACLES

SOURCES = ("gen", "smith")
#: Reproducers kept per finding signature in one campaign (the rest are counted only).
SAVES_PER_SIGNATURE = 3


@dataclass(slots=True)
class PairStats:
    modules: int = 0                 # modules both sides ran to a verdict
    calls: int = 0                   # calls compared and agreeing
    agree: int = 0                   # modules agreeing
    diverge: int = 0                 # modules diverging
    stack_limit: int = 0
    inconclusive: int = 0
    unsupported: int = 0


@dataclass(slots=True)
class SavedFinding:
    id: str
    signature: str
    description: str
    path: str | None


@dataclass(slots=True)
class Stats:
    oracles: list[str]
    modules: int = 0
    calls: int = 0
    reduction_runs: int = 0
    by_source: Counter = field(default_factory=Counter)
    pairs: dict[tuple[str, str], PairStats] = field(default_factory=dict)
    statuses: dict[str, Counter] = field(default_factory=dict)
    findings: list[SavedFinding] = field(default_factory=list)
    signatures: Counter = field(default_factory=Counter)
    unavailable: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def record(self, case: Case, report: CaseReport) -> None:
        self.modules += 1
        self.calls += len(case.calls)
        self.by_source[case.source] += 1
        for name, out in report.outcomes.items():
            self.statuses.setdefault(name, Counter())[out.status] += 1
        for key, pr in report.pairs.items():
            ps = self.pairs.setdefault(key, PairStats())
            v = pr.verdict
            if v == Verdict.UNAVAILABLE:
                continue
            if v == Verdict.UNSUPPORTED:
                ps.unsupported += 1
                continue
            ps.modules += 1
            ps.calls += pr.calls
            if v == Verdict.AGREE:
                ps.agree += 1
            elif v == Verdict.DIVERGE:
                ps.diverge += 1
            elif v == Verdict.STACK_LIMIT:
                ps.stack_limit += 1
            else:
                ps.inconclusive += 1

    @property
    def divergent_modules(self) -> int:
        return sum(self.signatures.values())


class Divergence(Exception):
    """Raised inside a property so hypothesis shrinks the case; one subclass per signature
    (hypothesis keeps shrinking only while the same class is raised from the same place)."""

    case: Case
    report: CaseReport


_DIVERGENCE_CLASSES: dict[str, type[Divergence]] = {}


class _ReductionBudget(BaseException):
    """Ends a hypothesis run whose shrinking took too long (BaseException: hypothesis lets it
    through instead of treating it as a failure); the smallest failing case seen is kept."""


def divergence(signature: str, case: Case, report: CaseReport) -> Divergence:
    cls = _DIVERGENCE_CLASSES.get(signature)
    if cls is None:
        name = "Divergence_" + "".join(ch if ch.isalnum() else "_" for ch in signature)
        cls = _DIVERGENCE_CLASSES[signature] = type(name, (Divergence,), {})
    exc = cls(f"{signature}: {report.describe()}")
    exc.case, exc.report = case, report
    return exc


class Campaign:
    """Runs cases on a pool of oracles and keeps the statistics. `check` is the whole
    differential step for one case, usable on its own (atheris, tests)."""

    def __init__(self, oracles: list[str], *, timeout: float = 20.0, corpus: Path | None = None,
                 shrink: bool = True, smith_shrink_attempts: int = 150,
                 reduce_seconds: float = 120.0, limits=None,
                 log: Callable[[str], None] | None = None, worker_init: str | None = None) -> None:
        unknown = [o for o in oracles if o not in ORACLES]
        if unknown:
            raise ValueError(f"unknown oracle(s) {', '.join(unknown)} (known: {', '.join(ORACLES)})")
        self.pool = OraclePool(oracles, timeout=timeout, worker_init=worker_init)
        self._timeout = timeout
        self.stats = Stats(list(oracles), unavailable=dict(self.pool.unavailable),
                           descriptions=dict(self.pool.descriptions))
        self.corpus = corpus
        self.shrink = shrink
        self.smith_shrink_attempts = smith_shrink_attempts
        self.log = log or (lambda msg: None)
        self.reducing = False
        self.reduce_seconds = reduce_seconds
        self.limits = limits
        self._reduce_deadline = 0.0
        self._best: tuple[Case, CaseReport] | None = None
        self._involved: list[str] = []
        self._first_size = 0

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> Campaign:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- one case ----------------------------------------------------------------------------

    def check(self, case: Case, count: bool = True) -> CaseReport:
        """Run `case` everywhere and analyse it. While reducing, only the oracles of the
        finding being reduced run (its reference and suspects)."""
        if self.reducing and self._involved:
            report = self._confirm_hangs(case, analyse(self.pool.run(case, only=self._involved)))
            self.stats.reduction_runs += 1
            return report
        report = self._confirm_hangs(case, analyse(self.pool.run(case)))
        if count:
            self.stats.record(case, report)
        return report

    def _confirm_hangs(self, case: Case, report: CaseReport) -> CaseReport:
        """A target that missed the grace period is re-run alone with the full timeout: a
        loaded machine or a slow compile of a big module is not a hang."""
        hung = [f.oracle for f in report.findings if f.kind == "hang"]
        if not hung:
            return report
        saved = self.pool.timeout
        self.pool.timeout = self._timeout
        try:
            again = self.pool.run(case, only=hung)
        finally:
            self.pool.timeout = saved
        outcomes = dict(report.outcomes)
        outcomes.update(again)
        return analyse(outcomes)

    def _involve(self, report: CaseReport) -> None:
        involved = {report.reference} | {f.oracle for f in report.findings}
        if any(f.kind == "hang" for f in report.findings):
            involved.add("interp")
        self._involved = [o for o in self.stats.oracles if o in involved]
        # shrunk candidates that loop forever (a loop counter broken by the bug) must not cost
        # the full timeout each: allow a few times what the original case took
        slowest = max((o.seconds for o in report.outcomes.values()), default=1.0)
        self.pool.timeout = min(self._timeout, max(3.0, 4.0 * slowest))

    # -- sources -----------------------------------------------------------------------------

    def run_generated(self, seed: int, examples: int, deadline: float) -> None:
        """One hypothesis batch: `examples` generated cases; a divergence is shrunk by
        hypothesis, then saved."""
        from hypothesis import HealthCheck, Phase, given, settings
        from hypothesis import seed as hseed
        from hypothesis import strategies as st
        from .gen import HypothesisChooser, generated_case

        self.reducing = False
        phases = [Phase.generate, Phase.shrink] if self.shrink else [Phase.generate]

        @hseed(seed)
        @settings(max_examples=examples, database=None, deadline=None, phases=phases,
                  suppress_health_check=list(HealthCheck), report_multiple_bugs=False,
                  print_blob=False, verbosity=_quiet())
        @given(st.data())
        def prop(data):
            case = generated_case(HypothesisChooser(data.draw), self.limits)
            if not self.reducing and time.monotonic() > deadline:
                return        # drawn all the same: hypothesis requires deterministic draws
            if self.reducing and time.monotonic() > self._reduce_deadline:
                raise _ReductionBudget()
            case.meta = {"hypothesis_seed": seed, "hypothesis_examples": examples}
            report = self.check(case)
            if report.findings:
                if not self.reducing:
                    self.log(f"divergence ({report.signature}); shrinking")
                    self._involve(report)
                    self.reducing = True
                    self._reduce_deadline = time.monotonic() + self.reduce_seconds
                    self._best = None
                    self._first_size = len(case.wasm)
                case.meta["unshrunk_wasm_bytes"] = self._first_size
                best = self._best
                if best is None or (report.signature == best[1].signature
                                    and len(case.wasm) < len(best[0].wasm)):
                    self._best = (case, report)
                raise divergence(report.signature, case, report)

        self._best = None
        try:
            prop()
        except Divergence as exc:
            self._save(exc.case, exc.report)
        except _ReductionBudget:
            self.log(f"shrinking stopped after {self.reduce_seconds:g} s; keeping the smallest case")
            if self._best is not None:
                self._save(*self._best)
        except Exception as exc:                                  # noqa: BLE001
            # hypothesis' Flaky (a failure that did not reproduce while shrinking)
            self.log(f"hypothesis batch {seed}: {type(exc).__name__}: {str(exc)[:300]}")
            inner = _find_divergence(exc)
            if inner is not None:
                # did not reproduce: counted and listed, not saved as a reproducer
                self._save(inner.case, inner.report, flaky=True)
        finally:
            self.reducing = False
            self._involved = []
            self.pool.timeout = self._timeout

    def run_smith(self, seed: int) -> None:
        from .gen.smith import smith_case
        case = smith_case(seed)
        if case is None:
            return
        report = self.check(case)
        if not report.findings:
            return
        if self.shrink:
            from .reduce import shrink_smith
            self.log(f"smith divergence ({report.signature}); shrinking with wasm-tools shrink")
            self.reducing = True
            try:
                self._involve(report)
                small = shrink_smith(case, report.signature, self._involved,
                                     attempts=self.smith_shrink_attempts,
                                     worker_init=self.pool.worker_init)
                small_report = self._confirm_hangs(
                    small, analyse(self.pool.run(small, only=self._involved)))
                if small_report.signature == report.signature:
                    case, report = small, small_report
            finally:
                self.reducing = False
                self._involved = []
                self.pool.timeout = self._timeout
        self._save(case, report)

    # -- findings ----------------------------------------------------------------------------

    def _save(self, case: Case, report: CaseReport, flaky: bool = False) -> None:
        sig = report.signature or "unreproduced"
        if flaky:
            sig = "flaky:" + sig
        self.stats.signatures[sig] += 1
        path = None
        fid = f"{case.source}-{case.digest()}"
        if self.corpus is not None and self.stats.signatures[sig] <= SAVES_PER_SIGNATURE \
                and report.findings:
            from .corpus import save
            # a finding that did not reproduce goes to flaky/ (not replayed by the tests)
            where = self.corpus / "flaky" if flaky else self.corpus
            path = str(save(where, fid, case, report, status="flaky" if flaky else "open"))
        self.stats.findings.append(SavedFinding(fid, sig, report.describe(), path))
        self.log(f"finding {fid}: {report.describe()[:300]}" + (f" -> {path}" if path else ""))

    # -- the loop ----------------------------------------------------------------------------

    def run(self, seconds: float, seed: int, sources: tuple[str, ...] = SOURCES,
            batch: int = 20, progress: Callable[[Stats], None] | None = None,
            stop_on_finding: bool = False) -> Stats:
        rng = random.Random(seed)
        deadline = time.monotonic() + seconds
        turn = 0
        while time.monotonic() < deadline:
            src = sources[turn % len(sources)]
            turn += 1
            if src == "gen":
                self.run_generated(rng.getrandbits(32), batch, deadline)
            elif src == "smith":
                for _ in range(max(1, batch // 4)):
                    if time.monotonic() >= deadline:
                        break
                    self.run_smith(rng.getrandbits(32))
            else:
                raise ValueError(f"unknown source {src!r} (known: {', '.join(SOURCES)})")
            if progress is not None:
                progress(self.stats)
            if stop_on_finding and self.stats.findings:
                break
        return self.stats


def _quiet():
    from hypothesis import Verbosity
    return Verbosity.quiet


def _find_divergence(exc: BaseException) -> Divergence | None:
    seen = set()
    todo = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, Divergence):
            return e
        todo.extend(getattr(e, "exceptions", ()) or ())
        todo.extend([e.__cause__, e.__context__])
    return None


def stderr_log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
