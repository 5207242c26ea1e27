"""Peak memory of compiling and running the large program, one fresh process per runtime:
resident set before and its peak after (Linux: VmRSS and VmHWM from /proc/self/status, the peak
reset first through /proc/self/clear_refs; elsewhere resource.getrusage ru_maxrss, which a child
inherits from its parent on Linux and so cannot be used there), and the Python-side heap peak
(tracemalloc) of a second compile and run. ``python -m benchmarks.memprobe RUNTIME`` prints the
measurement as JSON; ``probe_all`` runs it for several runtimes."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(slots=True)
class MemoryRow:
    runtime: str
    rss_before_kb: int | None = None    # after imports and a warm-up, before the program
    rss_peak_kb: int | None = None      # after compiling and running it
    py_peak_bytes: int | None = None    # tracemalloc peak while compiling and running it
    note: str = ""

    @property
    def rss_growth_kb(self) -> int | None:
        if self.rss_before_kb is None or self.rss_peak_kb is None:
            return None
        return self.rss_peak_kb - self.rss_before_kb


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _reset_peak() -> bool:
    """Make VmHWM start again from the current resident set (Linux 4.0+)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _maxrss_kb() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss // 1024 if sys.platform == "darwin" else rss   # bytes on macOS, KiB on Linux


def _rss_now_kb() -> int:
    """The resident set now (after a peak reset) or, without /proc, the peak so far."""
    now = _status_kb("VmRSS") if _reset_peak() else None
    return now if now is not None else _maxrss_kb()


def _rss_peak_kb() -> int:
    peak = _status_kb("VmHWM")
    return peak if peak is not None else _maxrss_kb()


def measure(name: str) -> dict:
    """In this process: the measurement for runtime `name` (call it in a fresh process)."""
    import tracemalloc

    from .configs import BY_NAME
    from .measure import BASELINE, WARMUP_WAT
    from .runtimes import NotAvailable, WasmtimeRuntime, runtime_for
    from .suite import LARGE, to_binary
    try:
        runtime = WasmtimeRuntime() if name == BASELINE else runtime_for(BY_NAME[name])
        runtime.load(to_binary(WARMUP_WAT)).close()
        wasm = LARGE.wasm()
        before = _rss_now_kb()
        loaded = runtime.load(wasm)
        loaded.run(LARGE.short)
        peak = _rss_peak_kb()
        loaded.close()
        tracemalloc.start()
        loaded = runtime.load(wasm)
        loaded.run(LARGE.short)
        _, py_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        loaded.close()
    except NotAvailable as e:
        return {"runtime": name, "note": f"n/a ({e})"}
    return {"runtime": name, "rss_before_kb": before, "rss_peak_kb": peak, "py_peak_bytes": py_peak}


def probe(name: str, timeout: float = 600.0) -> MemoryRow:
    """Run `measure(name)` in a fresh interpreter and read its result."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    try:
        proc = subprocess.run([sys.executable, "-m", "benchmarks.memprobe", name], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return MemoryRow(name, note=f"ERROR: no answer in {timeout:.0f} s")
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return MemoryRow(name, note=f"ERROR: probe exited with {proc.returncode}: {last}")
    try:
        data = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return MemoryRow(name, note="ERROR: unreadable probe output")
    return MemoryRow(name, data.get("rss_before_kb"), data.get("rss_peak_kb"), data.get("py_peak_bytes"),
                     data.get("note", ""))


def probe_all(names: list[str]) -> list[MemoryRow]:
    return [probe(name) for name in names]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m benchmarks.memprobe RUNTIME")
    print(json.dumps(measure(sys.argv[1])))
