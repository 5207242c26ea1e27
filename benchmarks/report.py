"""Formatting the results: a plain-text table for the terminal or a Markdown one for the README."""

from __future__ import annotations

from .configs import BY_NAME
from .measure import BASELINE, Results, Row, Status
from .suite import PROGRAMS, Size


def _ms(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds * 1000:.1f}"


def _secs(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds:.4f}" if seconds < 10 else f"{seconds:.1f}"


def _ratio(ratio: float | None) -> str:
    if ratio is None:
        return ""
    return f"{ratio:.2f}x" if ratio < 100 else f"{ratio:,.0f}x"


def _size_label(row: Row) -> str:
    program = PROGRAMS[row.program]
    for size in Size:
        if program.n(size) == row.n:
            return f"{row.n:,} ({size.value})"
    return f"{row.n:,}"


def _result(row: Row, short: bool) -> str:
    if row.status is Status.OK:
        return f"ok {row.checksum:#x}" if short else "ok"
    if row.status is Status.NA:
        return f"n/a ({row.note})"
    return f"{row.status.value}: {row.note}"


def _grid(headers: list[str], rows: list[list[str]], markdown: bool, right: set[int]) -> list[str]:
    if markdown:
        out = ["| " + " | ".join(headers) + " |",
               "|" + "|".join("---:" if i in right else "---" for i in range(len(headers))) + "|"]
        out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in r) + " |" for r in rows]
        return out
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    # the last column (notes) is not padded
    def fmt(cells: list[str]) -> str:
        parts = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(cells[:-1], widths[:-1]))]
        return "  ".join(parts + [cells[-1]]).rstrip()
    return [fmt(headers), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows]


def main_table(results: Results, markdown: bool) -> list[str]:
    if results.short:
        rows = [[r.program, _size_label(r), r.runtime, _result(r, True)] for r in results.rows]
        return _grid(["program", "n", "runtime", "result"], rows, markdown, right={1})
    headers = ["program", "n", "runtime", "compile ms", "exec s", "vs wasmtime", "result"]
    rows = []
    for r in results.rows:
        rows.append([r.program, _size_label(r), r.runtime, _ms(r.compile_s), _secs(r.exec_s),
                     "1.00x" if r.runtime == BASELINE and r.status is Status.OK else _ratio(r.ratio),
                     _result(r, results.short)])
    return _grid(headers, rows, markdown, right={1, 3, 4, 5})


def summary(results: Results) -> list[str]:
    out = []
    for name in dict.fromkeys(r.runtime for r in results.rows):
        if name == BASELINE:
            continue
        gm = results.geomean(name)
        if gm is not None:
            out.append(f"{name}: geometric mean {_ratio(gm)} wasmtime's time "
                       f"({sum(1 for r in results.rows if r.runtime == name and r.ratio)} programs)")
    return out


def throughput_table(results: Results, markdown: bool) -> list[str]:
    headers = ["runtime", "code bytes", "compile ms", "KB/s", "CPU ms", "KB/s of CPU", "note"]
    rows = [[t.runtime, f"{t.code_bytes:,}", _ms(t.compile_s),
             "" if t.bytes_per_s is None else f"{t.bytes_per_s / 1000:,.1f}",
             _ms(t.compile_cpu_s),
             "" if t.bytes_per_cpu_s is None else f"{t.bytes_per_cpu_s / 1000:,.1f}", t.note]
            for t in results.throughput]
    return _grid(headers, rows, markdown, right={1, 2, 3, 4, 5})


def memory_table(results: Results, markdown: bool) -> list[str]:
    headers = ["runtime", "RSS before MB", "RSS peak MB", "growth MB", "Python heap peak MB", "note"]
    def mb_kb(kb: int | None) -> str:
        return "" if kb is None else f"{kb / 1024:.1f}"
    rows = [[m.runtime, mb_kb(m.rss_before_kb), mb_kb(m.rss_peak_kb), mb_kb(m.rss_growth_kb),
             "" if m.py_peak_bytes is None else f"{m.py_peak_bytes / 2**20:.1f}", m.note]
            for m in results.memory]
    return _grid(headers, rows, markdown, right={1, 2, 3, 4})


def render(results: Results, markdown: bool = False) -> str:
    h = (lambda s: f"### {s}") if markdown else (lambda s: f"== {s} ==")
    out = [h("polyjit vs wasmtime" + (" (short mode: checksums only)" if results.short else "")), ""]
    if not results.short:
        clock = "thread CPU time" if results.cpu else "wall time"
        out.append(f"Best of {results.repeat} runs ({clock}), alternating runtimes; every ratio compares the "
                   "same n. Machine code runs the full n; the interpreter and emulated targets "
                   "run the small n.")
        out.append("Compile = until run() can be called (polyjit's interpreter: decode, validate "
                   "and translate every function).")
        out.append("")
    out += main_table(results, markdown)
    out.append("")
    if results.unavailable:
        out.append("Not available here:")
        for name, reason in results.unavailable.items():
            desc = BY_NAME[name].description if name in BY_NAME else name
            out.append(f"{'- ' if markdown else '  '}{name} ({desc}): n/a ({reason})")
        out.append("")
    lines = [] if results.short else summary(results)
    if lines:
        out += [("- " if markdown else "  ") + s for s in lines] + [""]
    if results.throughput:
        out += [h("compile throughput, large program (best of "
                  f"{results.repeat}; code-section bytes / compile time)"), ""]
        out += throughput_table(results, markdown) + [""]
    if results.memory:
        out += [h("peak memory: compile and run the large program once in a fresh process"), ""]
        out += memory_table(results, markdown) + [""]
    failures = results.failures
    if failures:
        out.append(f"FAILED: {len(failures)} checksum mismatch(es) or error(s):")
        out += [f"  {r.program} n={r.n} {r.runtime}: {r.status.value}: {r.note}" for r in failures]
    else:
        checked = sum(1 for r in results.rows if r.status is Status.OK)
        out.append(f"All {checked} checksums agree.")
    return "\n".join(out) + "\n"
