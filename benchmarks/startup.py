"""Start-up on real programs (tests/data/wasi, built as BUILD.md there says): compile time
(Module + first Instance), compile throughput (code-section bytes per second of wall time and
per second of CPU, the workers' included), peak resident memory while compiling and running,
and the time to the first result (compile, then the program's run, in wall and CPU time),
polyjit against wasmtime-py: each figure the median of `--repeat` fresh-process runs
(default 5, the two runtimes interleaved), the tree's peak memory from one more run that
samples it (the sampler is a thread of the measured process: it would take time from a
runtime that compiles in Python, not from one that compiles in native code). polyjit
compiles each function on its first call by default (Config.lazy_compilation), so its
compile columns then cover decoding and instantiation and the run does the compiling, by
default tiered (Config.tiered_compilation: the baseline tier first, hot functions and loops
recompiled by the optimising tier); `--eager` compiles the whole module first; `--baseline`
keeps every function in the baseline tier (Config.baseline_compilation, x86_64);
`--optimising` has the optimising tier alone. Each run is a fresh process, so one-time setup of a runtime and memory a
previous program left are not counted against the next; each run's output is compared with
wasmtime's.

    python -m benchmarks.startup                          # every program, polyjit and wasmtime
    python -m benchmarks.startup --programs sqlite3,qjs --serial --markdown
    python -m benchmarks.startup --eager                  # whole-module compile throughput
    python -m benchmarks.startup --baseline --programs minigzip,lua   # the baseline tier
    python -m benchmarks.startup --optimising --programs minigzip,lua # no baseline tier

Peak memory is of the process tree: the compiling process and its compile workers, sampled
every 20 ms, their proportional set sizes (Pss: a page shared by a forked worker and its parent
counts half in each) added up; "main HWM" is the compiling process's own resident high-water
mark (VmHWM, exact). CPU is user + system time of the process and of its children, finished or
live (tiered compilation's compile process of a large module lives on).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .wasminfo import code_section_bytes

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data" / "wasi"

LUA_SCRIPT = ("local t = {} for i = 1, 20000 do t[i] = (i * 7919) % 1000 end table.sort(t) "
              "local s = 0 for i = 1, #t, 100 do s = s + t[i] end "
              "print(s, string.format('%.3f', math.sqrt(s)), ('ab'):rep(3))")
JS_SCRIPT = ("function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }\n"
             "let a = []; for (let i = 0; i < 2000; i++) a.push((i * 7919) % 1000);\n"
             "a.sort((x, y) => x - y);\n"
             "console.log(fib(18), a.reduce((s, x) => s + x, 0), JSON.stringify({x: [1, 2.5]}),"
             " /a(b+)c/.exec('xabbbc')[1], (0.1 + 0.2).toFixed(10));\n")
SQL = ("create table t(a integer primary key, b text);"
       "insert into t(b) select printf('row %d', value) from generate_series(1, 500);"
       "select count(*), sum(a), max(b) from t where b like '%5%';"
       "select group_concat(a) from (select a from t order by b desc limit 5);")
_TEXT = b"".join(b"line %d: the quick brown fox jumps over the lazy dog\n" % i
                 for i in range(400))


@dataclass(slots=True, frozen=True)
class Program:
    name: str
    wasm: str                  # file in tests/data/wasi
    argv: tuple[str, ...]
    stdin: bytes | None = None
    files: tuple[tuple[str, str], ...] = ()    # (name, text) put in the preopened directory


PROGRAMS = {p.name: p for p in [
    Program("minigzip", "minigzip.wasm", ("-c",), stdin=_TEXT),
    Program("lua", "lua54.wasm", ("-e", LUA_SCRIPT)),
    Program("qjs", "qjs.wasm", ("script.js",), files=(("script.js", JS_SCRIPT),)),
    Program("brotli", "brotli.wasm", ("-c",), stdin=_TEXT),
    Program("sqlite3", "sqlite3.wasm", (":memory:", SQL)),
]}
RUNTIMES = ("wasmtime", "polyjit")


# -- the child: one program under one runtime -------------------------------------------------

def _status_kb(pid: str, field: str, name: str = "status") -> int:
    try:
        with open(f"/proc/{pid}/{name}", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _pss_kb(pid: str) -> int:
    """The proportional set size: resident pages, each shared one divided among the processes
    that map it (a forked worker's untouched copy-on-write pages are not counted twice)."""
    return _status_kb(pid, "Pss", "smaps_rollup") or _status_kb(pid, "VmRSS")


def _children(pid: str) -> list[str]:
    out: list[str] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as f:
                out += f.read().split()
    except OSError:
        pass
    return out


class TreeSampler:
    """The peak of the summed proportional set sizes of this process and its descendants."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def sample(self) -> int:
        pids, total = [str(os.getpid())], 0
        while pids:
            pid = pids.pop()
            total += _pss_kb(pid)
            pids += _children(pid)
        self.peak_kb = max(self.peak_kb, total)
        return total

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def _live_children_cpu(pid: str) -> float:
    """User + system seconds of the live descendants of process `pid` (a compile process that
    tiered compilation forks runs on after the program's result: os.times counts it never)."""
    total, pids, tick = 0, _children(pid), os.sysconf("SC_CLK_TCK")
    while pids:
        child = pids.pop()
        try:
            with open(f"/proc/{child}/stat", encoding="ascii") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])      # utime, stime
        except (OSError, ValueError, IndexError):
            pass
        pids += _children(child)
    return total / tick


def _cpu() -> float:
    t = os.times()
    return (t.user + t.system + t.children_user + t.children_system
            + _live_children_cpu(str(os.getpid())))


def child(runtime: str, name: str, parallel: bool, lazy: bool = True,
          baseline: bool = False, tiered: bool = True, threshold: int = 1000,
          sample: bool = True) -> dict:
    """In this (fresh) process: compile and run program `name` under `runtime` (polyjit with
    Config.lazy_compilation = `lazy`: then most of the compiling happens in the run; and
    Config.baseline_compilation = `baseline`, Config.tiered_compilation = `tiered` and
    Config.tier_up_threshold = `threshold`). `sample`: sample the process tree's memory
    meanwhile (a thread of this process, which takes time from a runtime that computes in
    Python: the timing runs go without it)."""
    prog = PROGRAMS[name]
    if runtime == "wasmtime":
        import wasmtime as api
        engine = api.Engine()
    else:
        import engine as api
        engine = api.Engine(api.Config(parallel_compilation=parallel, lazy_compilation=lazy,
                                       baseline_compilation=baseline,
                                       tiered_compilation=tiered,
                                       tier_up_threshold=threshold))
    wasm = (DATA / prog.wasm).read_bytes()
    # warm-up: one-time setup of the runtime (imports, first module) is not charged
    api.Instance(api.Store(engine), api.Module(engine, "(module (func (export \"f\")))"), [])
    with tempfile.TemporaryDirectory(prefix="startup-") as tmp:
        work = Path(tmp) / "work"
        work.mkdir()
        for fname, text in prog.files:
            (work / fname).write_text(text)
        cfg = api.WasiConfig()
        cfg.argv = [prog.name, *prog.argv]
        cfg.preopen_dir(str(work), ".")
        out = Path(tmp) / "stdout"
        cfg.stdout_file = str(out)
        cfg.stderr_file = str(Path(tmp) / "stderr")
        if prog.stdin is not None:
            (Path(tmp) / "stdin").write_bytes(prog.stdin)
            cfg.stdin_file = str(Path(tmp) / "stdin")
        rss_before = TreeSampler().sample()
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")                    # VmHWM restarts from the resident set now
        sampler = TreeSampler()
        with sampler if sample else contextlib.nullcontext():
            start, cpu = time.perf_counter(), _cpu()
            module = api.Module(engine, wasm)
            linker = api.Linker(engine)
            linker.define_wasi()
            store = api.Store(engine)
            store.set_wasi(cfg)
            instance = linker.instantiate(store, module)
            compile_s, compile_cpu = time.perf_counter() - start, _cpu() - cpu
            status = 0
            run_start, run_cpu = time.perf_counter(), _cpu()
            try:
                instance.exports(store)["_start"](store)
            except api.ExitTrap as e:
                status = e.code
            run_s, run_cpu = time.perf_counter() - run_start, _cpu() - run_cpu
        peak, hwm = sampler.peak_kb if sample else 0, _status_kb("self", "VmHWM")
        output = out.read_bytes()
    return {"compile_s": compile_s, "compile_cpu_s": compile_cpu, "run_s": run_s,
            "run_cpu_s": run_cpu,
            "rss_before_kb": rss_before, "rss_peak_kb": peak, "hwm_kb": hwm, "status": status,
            "output_sha256": hashlib.sha256(output).hexdigest(), "output_bytes": len(output)}


# -- the parent -------------------------------------------------------------------------------

def measure(runtime: str, name: str, parallel: bool, lazy: bool = True,
            baseline: bool = False, tiered: bool = True, threshold: int = 1000,
            sample: bool = True) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.startup", "--child", runtime, name,
           "--threshold", str(threshold)]
    if not sample:
        cmd.append("--no-sample")
    if baseline:
        cmd.append("--baseline")
    if not tiered:
        cmd.append("--optimising")
    if not parallel:
        cmd.append("--serial")
    if not lazy:
        cmd.append("--eager")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["exit %d" % proc.returncode])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def median_run(runs: list[dict]) -> dict:
    """One figure per field from several runs of a (program, runtime): each number's median
    (time to first result as the median of the runs' sums, not the sum of medians); the
    first error if a run failed; an output that differs between runs shows as differing."""
    for r in runs:
        if "error" in r:
            return r
    out = {k: statistics.median(r[k] for r in runs) for k, v in runs[0].items()
           if isinstance(v, (int, float)) and k != "status"}
    out["first_s"] = statistics.median(r["compile_s"] + r["run_s"] for r in runs)
    out["first_cpu_s"] = statistics.median(r["compile_cpu_s"] + r["run_cpu_s"] for r in runs)
    same = len({(r["output_sha256"], r["status"]) for r in runs}) == 1
    out["output_sha256"] = runs[0]["output_sha256"] if same else "differs between runs"
    out["status"] = runs[0]["status"]
    return out


def _row(cells: list[str], markdown: bool) -> str:
    return "| " + " | ".join(cells) + " |" if markdown else "  ".join(f"{c:>12}" for c in cells)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--programs", help=f"comma-separated (default all: {','.join(PROGRAMS)})")
    ap.add_argument("--runtimes", default=",".join(RUNTIMES))
    ap.add_argument("--serial", action="store_true",
                    help="polyjit with Config.parallel_compilation = False")
    ap.add_argument("--eager", action="store_true",
                    help="polyjit with Config.lazy_compilation = False (the whole module "
                         "compiled before the run)")
    ap.add_argument("--baseline", action="store_true",
                    help="polyjit with Config.baseline_compilation = True (each function "
                         "compiled first by the baseline tier)")
    ap.add_argument("--optimising", action="store_true",
                    help="polyjit with Config.tiered_compilation = False (the optimising "
                         "tier alone; the default is tiered: the baseline tier first, the "
                         "optimising tier for hot functions and loops)")
    ap.add_argument("--threshold", type=int, default=1000,
                    help="Config.tier_up_threshold (default 1000 calls)")
    ap.add_argument("--repeat", type=int, default=5,
                    help="fresh-process runs of each (program, runtime), interleaved; the "
                         "table has each figure's median (default 5)")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--child", nargs=2, metavar=("RUNTIME", "PROGRAM"), help=argparse.SUPPRESS)
    ap.add_argument("--no-sample", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child, parallel=not args.serial, lazy=not args.eager,
                               baseline=args.baseline, tiered=not args.optimising,
                               threshold=args.threshold, sample=not args.no_sample)))
        return 0
    names = args.programs.split(",") if args.programs else list(PROGRAMS)
    runtimes = args.runtimes.split(",")
    head = ["program", "code KB", "runtime", "compile s", "CPU s", "MB/s", "MB/s CPU",
            "peak MB", "growth MB", "main HWM MB", "first result s", "vs wasmtime",
            "first result CPU s", "vs wasmtime CPU", "output"]
    print(_row(head, args.markdown))
    if args.markdown:
        print("|" + "|".join("---" if i in (0, 2, 14) else "---:" for i in range(len(head))) + "|")
    failed = False
    ratios: dict[str, list[tuple[float, float]]] = {}
    for name in names:
        size = code_section_bytes((DATA / PROGRAMS[name].wasm).read_bytes())
        runs: dict[str, list[dict]] = {rt: [] for rt in runtimes}
        peaks: dict[str, dict] = {}
        for k in range(max(1, args.repeat) + 1):
            # (the order alternates: a runtime is not always the one after the other's load;
            # the first round samples memory, the others are timed without the sampler)
            for rt in (runtimes if k % 2 == 0 else runtimes[::-1]):
                r = measure(rt, name, not args.serial, not args.eager, args.baseline,
                            not args.optimising, args.threshold, sample=k == 0)
                if k == 0:
                    peaks[rt] = r
                else:
                    runs[rt].append(r)
        results = {rt: median_run(rs) for rt, rs in runs.items()}
        for rt, r in results.items():
            if "error" not in r and "error" not in peaks[rt]:
                r["rss_peak_kb"], r["rss_before_kb"] = (peaks[rt]["rss_peak_kb"],
                                                        peaks[rt]["rss_before_kb"])
            elif "error" in peaks[rt]:
                results[rt] = peaks[rt]
        ref = results.get("wasmtime")
        for rt, r in results.items():
            if "error" in r:
                failed = True
                print(_row([name, f"{size / 1024:.0f}", rt, "ERROR", r["error"]], args.markdown))
                continue
            first, first_cpu = r["first_s"], r["first_cpu_s"]
            ratio = ratio_cpu = ""
            same = "ok"
            if ref and "error" not in ref:
                ratio = f"{first / ref['first_s']:.2f}x"
                ratio_cpu = f"{first_cpu / ref['first_cpu_s']:.2f}x"
                ratios.setdefault(rt, []).append((first / ref["first_s"],
                                                  first_cpu / ref["first_cpu_s"]))
                if (r["output_sha256"], r["status"]) != (ref["output_sha256"], ref["status"]):
                    same, failed = "DIFFERS", True
            print(_row([name, f"{size / 1024:.0f}", rt, f"{r['compile_s']:.2f}",
                        f"{r['compile_cpu_s']:.2f}", f"{size / r['compile_s'] / 1e6:.2f}",
                        f"{size / r['compile_cpu_s'] / 1e6:.2f}",
                        f"{r['rss_peak_kb'] / 1024:.0f}",
                        f"{(r['rss_peak_kb'] - r['rss_before_kb']) / 1024:.0f}",
                        f"{r['hwm_kb'] / 1024:.0f}",
                        f"{first:.2f}", ratio, f"{first_cpu:.2f}", ratio_cpu, same],
                       args.markdown), flush=True)
    for rt, pairs in ratios.items():
        if rt != "wasmtime":
            wall = math.prod(w for w, _ in pairs) ** (1 / len(pairs))
            cpu = math.prod(c for _, c in pairs) ** (1 / len(pairs))
            print(f"\n{rt}: time to first result (medians of {args.repeat} runs), geomean over "
                  f"{len(pairs)} programs: "
                  f"{wall:.2f}x wasmtime's wall time, {cpu:.2f}x its CPU time")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
