"""Progress display and the campaign's summary table."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from .campaign import Stats


def progress_line(stats: Stats) -> str:
    elapsed = time.monotonic() - stats.started
    rate = stats.modules / elapsed if elapsed > 0 else 0.0
    return (f"[{elapsed:6.0f}s] modules {stats.modules} ({rate:.1f}/s)  calls {stats.calls}  "
            f"divergent modules {stats.divergent_modules}  reduction runs {stats.reduction_runs}")


class Progress:
    """One updating line on a terminal; a line every `period` seconds otherwise."""

    def __init__(self, stream: TextIO = sys.stderr, period: float = 15.0) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.period = period
        self.last = 0.0

    def __call__(self, stats: Stats) -> None:
        now = time.monotonic()
        if self.tty:
            self.stream.write("\r" + progress_line(stats)[:160].ljust(120))
            self.stream.flush()
        elif now - self.last >= self.period:
            self.last = now
            print(progress_line(stats), file=self.stream, flush=True)

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def summary(stats: Stats) -> str:
    elapsed = time.monotonic() - stats.started
    lines = [f"fuzz summary: {stats.modules} modules "
             f"({', '.join(f'{k} {v}' for k, v in sorted(stats.by_source.items())) or 'none'}), "
             f"{stats.calls} calls, {elapsed:.0f} s, {stats.reduction_runs} reduction runs"]
    lines.append("")
    lines.append("oracle        executor / status")
    for name in stats.oracles:
        if name in stats.unavailable:
            lines.append(f"{name:<13} unavailable: {stats.unavailable[name][:100]}")
            continue
        counts = stats.statuses.get(name, {})
        desc = stats.descriptions.get(name, "")
        lines.append(f"{name:<13} {desc}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    lines.append("")
    head = (f"{'pair':<26}{'modules':>8}{'calls ok':>10}{'agree':>8}{'diverge':>9}"
            f"{'stack':>7}{'inconcl':>9}{'unsupp':>8}")
    lines.append(head)
    for (a, b), ps in stats.pairs.items():
        if a in stats.unavailable or b in stats.unavailable:
            lines.append(f"{a + ' / ' + b:<26}{'unavailable':>8}")
            continue
        lines.append(f"{a + ' / ' + b:<26}{ps.modules:>8}{ps.calls:>10}{ps.agree:>8}"
                     f"{ps.diverge:>9}{ps.stack_limit:>7}{ps.inconclusive:>9}{ps.unsupported:>8}")
    lines.append("")
    if stats.findings:
        lines.append(f"findings: {len(stats.findings)} "
                     f"({sum(1 for f in stats.findings if f.path)} saved)")
        for f in stats.findings:
            where = f" -> {f.path}" if f.path else " (not saved: enough of this signature)"
            lines.append(f"  {f.id} [{f.signature}] {f.description[:240]}{where}")
    else:
        lines.append("findings: none")
    return "\n".join(lines)
