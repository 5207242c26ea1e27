"""The measurement loop: load every program into wasmtime and each configuration, run them in
turn (alternating, best of `repeat`), and check every checksum against wasmtime's (and, for the
small sizes, against the pure-Python reference)."""

from __future__ import annotations

import enum
import math
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable

from .configs import BenchConfig
from .reference import REFERENCES
from .runtimes import Loaded, NotAvailable, Runtime, WasmtimeRuntime, runtime_for
from .suite import LARGE, Program, Size, to_binary
from .wasminfo import code_section_bytes

#: Loaded once per runtime before any timing, so one-time setup is not charged to a program.
WARMUP_WAT = '(module (func (export "run") (param i32) (result i32) local.get 0))'
BASELINE = "wasmtime"


class Status(enum.Enum):
    OK = "ok"
    NA = "n/a"
    MISMATCH = "MISMATCH"
    ERROR = "ERROR"


@dataclass(slots=True)
class Row:
    """One program at one n under one runtime."""

    program: str
    runtime: str
    n: int
    status: Status = Status.OK
    compile_s: float | None = None
    exec_s: float | None = None
    baseline_s: float | None = None     # wasmtime's best time at the same n
    checksum: int | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.status is not Status.OK or not self.exec_s or not self.baseline_s:
            return None
        return self.exec_s / self.baseline_s


@dataclass(slots=True)
class Throughput:
    """Compile speed on the large program: code-section bytes per second."""

    runtime: str
    code_bytes: int
    compile_s: float | None = None
    note: str = ""
    #: best CPU seconds of the process over the compile (robust against a busy machine)
    compile_cpu_s: float | None = None

    @property
    def bytes_per_s(self) -> float | None:
        return self.code_bytes / self.compile_s if self.compile_s else None

    @property
    def bytes_per_cpu_s(self) -> float | None:
        return self.code_bytes / self.compile_cpu_s if self.compile_cpu_s else None


@dataclass(slots=True)
class Results:
    rows: list[Row] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)   # runtime -> reason
    throughput: list[Throughput] = field(default_factory=list)
    memory: list = field(default_factory=list)                    # memprobe.MemoryRow
    short: bool = False
    repeat: int = 1
    cpu: bool = False

    @property
    def failures(self) -> list[Row]:
        return [r for r in self.rows if r.status in (Status.MISMATCH, Status.ERROR)]

    def geomean(self, runtime: str) -> float | None:
        ratios = [r.ratio for r in self.rows if r.runtime == runtime and r.ratio]
        if not ratios:
            return None
        return math.exp(sum(math.log(x) for x in ratios) / len(ratios))


@dataclass(slots=True)
class _Entrant:
    """A runtime in one program's round: its loaded program and best time so far."""

    row: Row
    loaded: Loaded
    best: float = math.inf
    first: int | None = None


def _describe(e: BaseException) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


class Bench:
    """Runs the selected programs under wasmtime and the selected configurations."""

    def __init__(self, programs: list[Program], configs: list[BenchConfig], repeat: int = 3,
                 short: bool = False, log: Callable[[str], None] = lambda s: None,
                 cpu: bool = False) -> None:
        self.programs = programs
        #: exec time by the calling thread's CPU clock (robust on a shared machine: both
        #: runtimes run a call on the calling thread) instead of the wall clock
        self.clock = time.thread_time if cpu else time.perf_counter
        self.configs = configs
        self.repeat = max(1, repeat)
        self.short = short
        self.log = log
        self.results = Results(short=short, repeat=self.repeat, cpu=cpu)
        self.runtimes: dict[str, Runtime] = {}

    # -- setup ----------------------------------------------------------------------------

    def _start(self, name: str, make: Callable[[], Runtime]) -> None:
        try:
            runtime = make()
            runtime.load(to_binary(WARMUP_WAT)).close()
        except NotAvailable as e:
            self.results.unavailable[name] = str(e)
            self.log(f"{name}: n/a ({e})")
            return
        self.runtimes[name] = runtime

    def start(self) -> None:
        self._start(BASELINE, WasmtimeRuntime)
        for config in self.configs:
            self._start(config.name, lambda c=config: runtime_for(c))

    def size_of(self, config: BenchConfig) -> Size:
        return Size.SHORT if self.short else config.size

    # -- one program ----------------------------------------------------------------------

    def _load(self, program: Program, name: str, n: int) -> _Entrant | Row:
        row = Row(program.name, name, n)
        try:
            runtime = self.runtimes[name]
            workload = program.workload
            loaded = (runtime.load(program.wasm()) if workload is None
                      else runtime.load(program.wasm(), workload))
        except NotAvailable as e:
            row.status, row.note = Status.NA, str(e)
            return row
        except Exception as e:  # noqa: BLE001 - any failure to compile is reported, not fatal
            row.status, row.note = Status.ERROR, f"compile failed: {_describe(e)}"
            self.log(traceback.format_exc())
            return row
        row.compile_s = loaded.compile_s
        return _Entrant(row, loaded)

    def _round(self, program: Program, size: Size, names: list[str]) -> None:
        n = program.n(size)
        entrants: list[_Entrant] = []
        for name in names:
            got = self._load(program, name, n)
            if isinstance(got, Row):
                self.results.rows.append(got)
            else:
                entrants.append(got)
        try:
            for _ in range(self.repeat):
                for ent in entrants:
                    if ent.row.status is not Status.OK:
                        continue
                    self._run_once(program, ent, n)
        finally:
            for ent in entrants:
                ent.loaded.close()
        self._check(program, size, n, entrants)

    def _run_once(self, program: Program, ent: _Entrant, n: int) -> None:
        row = ent.row
        try:
            clock = self.clock
            start = clock()
            value = ent.loaded.run(n)
            elapsed = clock() - start
        except NotAvailable as e:
            row.status, row.note = Status.NA, str(e)
            return
        except Exception as e:  # noqa: BLE001 - a trap or crash in a kernel is a failure to report
            row.status, row.note = Status.ERROR, f"run failed: {_describe(e)}"
            self.log(traceback.format_exc())
            return
        value = program.normalise(value)
        if ent.first is None:
            ent.first = value
        elif value != ent.first:
            row.status = Status.ERROR
            row.note = f"result changed between runs: {ent.first:#x} then {value:#x}"
            return
        ent.best = min(ent.best, elapsed)

    def _check(self, program: Program, size: Size, n: int, entrants: list[_Entrant]) -> None:
        expected: int | None = None
        source = ""
        reference = REFERENCES.get(program.name)
        if reference is not None and size is not Size.FULL:
            expected, source = program.normalise(reference(n)), "the Python reference"
        baseline = next((e for e in entrants if e.row.runtime == BASELINE
                         and e.row.status is Status.OK), None)
        if expected is None and baseline is not None:
            expected, source = baseline.first, BASELINE
        if expected is None:
            ok = [e for e in entrants if e.row.status is Status.OK]
            if ok:
                expected, source = ok[0].first, ok[0].row.runtime
        base_time = baseline.best if baseline is not None else None
        for ent in entrants:
            row = ent.row
            if row.status is Status.OK:
                row.exec_s = ent.best
                row.checksum = ent.first
                row.baseline_s = base_time
                if ent.first != expected:
                    row.status = Status.MISMATCH
                    row.note = f"checksum {ent.first:#x}, expected {expected:#x} ({source})"
            self.results.rows.append(row)

    def run_program(self, program: Program) -> None:
        by_size: dict[Size, list[str]] = {}
        for config in self.configs:
            if config.name in self.runtimes:
                by_size.setdefault(self.size_of(config), []).append(config.name)
        if not self.short:
            by_size.setdefault(Size.FULL, [])   # wasmtime at the default n, for reference
        for size in (Size.FULL, Size.SMALL, Size.SHORT):
            if size not in by_size:
                continue
            names = ([BASELINE] if BASELINE in self.runtimes else []) + by_size[size]
            self.log(f"{program.name} n={program.n(size)}: {', '.join(names)}")
            self._round(program, size, names)

    # -- compile throughput ---------------------------------------------------------------

    def throughput(self) -> None:
        """Best-of-`repeat` compile time of the large program under every available runtime."""
        wasm = LARGE.wasm()
        code = code_section_bytes(wasm)
        for name, runtime in self.runtimes.items():
            entry = Throughput(name, code)
            best = best_cpu = math.inf
            try:
                for _ in range(self.repeat):
                    loaded = runtime.load(wasm, whole=True)
                    best = min(best, loaded.compile_s)
                    if loaded.compile_cpu_s is not None:
                        best_cpu = min(best_cpu, loaded.compile_cpu_s)
                    loaded.close()
                entry.compile_s = best
                entry.compile_cpu_s = None if best_cpu == math.inf else best_cpu
            except NotAvailable as e:
                entry.note = f"n/a ({e})"
            except Exception as e:  # noqa: BLE001
                entry.note = f"ERROR: {_describe(e)}"
            self.results.throughput.append(entry)

    def run(self, with_extras: bool = True) -> Results:
        self.start()
        for program in self.programs:
            self.run_program(program)
        if with_extras and not self.short and any(p is LARGE for p in self.programs):
            self.log("compile throughput on the large program")
            self.throughput()
            from .memprobe import probe_all
            self.log("peak memory (one fresh process per runtime)")
            self.results.memory = probe_all([BASELINE] + [c.name for c in self.configs
                                                         if c.name in self.runtimes])
        return self.results
