"""Counts of spec-suite assertions by category and status, and the tables that show them."""

from __future__ import annotations

import enum
import json
from collections import Counter
from dataclasses import dataclass, field


#: The user_properties key under which a spec test reports (target, tally JSON, reasons);
#: tests/conftest.py collects it (also from pytest-xdist workers) for the summary table.
SPEC_PROPERTY = "spec_tally"


class Category(enum.Enum):
    """What kind of assertion a command is (one row of the status table).

    TEXT is a malformed text module the parser must reject; TEXT_MODULE is every other module
    of the script, parsed from its source text, which must give wast2json's module.
    """

    MODULE = "module"
    MALFORMED = "malformed binary"
    INVALID = "invalid binary"
    TEXT = "text"
    TEXT_MODULE = "text module"
    RETURN = "return"
    TRAP = "trap"
    EXHAUSTION = "exhaustion"
    EXCEPTION = "exception"
    UNLINKABLE = "unlinkable"
    UNINSTANTIABLE = "uninstantiable"
    ACTION = "action"


class Status(enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_RUN = "not yet run"
    SKIPPED = "skipped"


class Note(enum.Enum):
    """Statistics that are reported but are not failures."""

    #: A rejection or trap happened as expected, but its message does not resemble the suite's.
    WORDING = "wording differs"


@dataclass(slots=True)
class Tally:
    """Assertion counts: (category, status) -> n, plus notes."""

    counts: Counter = field(default_factory=Counter)
    notes: Counter = field(default_factory=Counter)

    def add(self, category: Category, status: Status, n: int = 1) -> None:
        self.counts[(category, status)] += n

    def note(self, note: Note, n: int = 1) -> None:
        self.notes[note] += n

    def get(self, category: Category, status: Status) -> int:
        return self.counts[(category, status)]

    def total(self, status: Status) -> int:
        return sum(n for (_, s), n in self.counts.items() if s is status)

    def assertions(self) -> int:
        return sum(self.counts.values())

    def merge(self, other: Tally) -> None:
        self.counts.update(other.counts)
        self.notes.update(other.notes)

    def to_json(self) -> str:
        return json.dumps({
            "counts": [[c.value, s.value, n] for (c, s), n in sorted(
                self.counts.items(), key=lambda kv: (kv[0][0].value, kv[0][1].value))],
            "notes": {k.value: n for k, n in self.notes.items()},
        })

    @classmethod
    def from_json(cls, text: str) -> Tally:
        data = json.loads(text)
        tally = cls()
        for category, status, n in data["counts"]:
            tally.add(Category(category), Status(status), n)
        for note, n in data["notes"].items():
            tally.note(Note(note), n)
        return tally


@dataclass(slots=True)
class FileResult:
    """What running one .wast file against one target gave."""

    file: str
    target: str
    tally: Tally = field(default_factory=Tally)
    failures: list[str] = field(default_factory=list)
    #: The .wast line of each failure, in the same order as `failures` (None if unknown).
    failed_lines: list[int | None] = field(default_factory=list)
    not_run_reasons: list[str] = field(default_factory=list)
    #: Expected rejections/traps whose message does not resemble the suite's text.
    wording: list[str] = field(default_factory=list)

    def fail(self, category: Category | None, message: str, line: int | None = None) -> None:
        if category is not None:
            self.tally.add(category, Status.FAILED)
        self.failures.append(message)
        self.failed_lines.append(line)

    def not_run(self, category: Category, reason: str) -> None:
        self.tally.add(category, Status.NOT_RUN)
        if reason not in self.not_run_reasons:
            self.not_run_reasons.append(reason)

    def summary(self, limit: int = 25) -> str:
        lines = [f"{self.file} on {self.target}: {len(self.failures)} failure(s)"]
        lines += self.failures[:limit]
        if len(self.failures) > limit:
            lines.append(f"... and {len(self.failures) - limit} more")
        return "\n".join(lines)


_COLUMNS = (Status.PASSED, Status.FAILED, Status.NOT_RUN, Status.SKIPPED)


def table_rows(tally: Tally) -> list[list[str]]:
    """Header, one row per category, and a total row."""
    rows = [["category", *(s.value for s in _COLUMNS)]]
    for category in Category:
        rows.append([category.value, *(str(tally.get(category, s)) for s in _COLUMNS)])
    rows.append(["total", *(str(tally.total(s)) for s in _COLUMNS)])
    return rows


def format_text_table(tally: Tally) -> str:
    rows = table_rows(tally)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for i, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        out.append("  ".join(cells))
        if i == 0 or i == len(rows) - 2:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out) + _notes_line(tally)


def format_markdown_table(tally: Tally) -> str:
    rows = table_rows(tally)
    out = ["| " + " | ".join(rows[0]) + " |",
           "|" + "|".join(["---"] + ["---:"] * (len(rows[0]) - 1)) + "|"]
    for row in rows[1:-1]:
        out.append("| " + " | ".join(row) + " |")
    out.append("| " + " | ".join(f"**{c}**" for c in rows[-1]) + " |")
    return "\n".join(out) + _notes_line(tally)


def _notes_line(tally: Tally) -> str:
    if not tally.notes:
        return ""
    return "\n\nnotes (not failures): " + ", ".join(
        f"{note.value}: {n}" for note, n in sorted(tally.notes.items(), key=lambda kv: kv[0].value))
