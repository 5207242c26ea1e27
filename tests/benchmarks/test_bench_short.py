"""The benchmark suite in short mode: every program's checksum agrees between wasmtime, polyjit's
interpreter (and every other configuration that runs here) and the pure-Python references; the
runner reports mismatches and unavailable configurations correctly. Not a timing test."""

from __future__ import annotations

import argparse
import math
import re
import struct

import pytest

from benchmarks import cli, measure
from benchmarks.configs import CONFIGS, BenchConfig, select
from benchmarks.gen_large import LargeSpec, generate
from benchmarks.measure import BASELINE, Bench, Status
from benchmarks.reference import REFERENCES
from benchmarks.report import render
from benchmarks.runtimes import Loaded, NotAvailable
from benchmarks.suite import C_KERNELS, KERNELS, LARGE, PROGRAMS, WASI_PROGRAMS, Kind, Size
from benchmarks.wasminfo import code_section_bytes

pytest.importorskip("wasmtime", reason="the benchmark compares against wasmtime (dev extra)")


@pytest.fixture(scope="module")
def short_results():
    return Bench(list(PROGRAMS.values()), select("all"), short=True).run()


def test_short_mode_has_no_failures(short_results):
    assert short_results.failures == [], render(short_results)


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_interpreter_agrees_with_wasmtime(short_results, name):
    rows = {r.runtime: r for r in short_results.rows if r.program == name}
    wasmtime_row, interp = rows[BASELINE], rows["interpreter"]
    # the interpreter works end to end today: it must really run, not be skipped as n/a
    assert wasmtime_row.status is Status.OK and interp.status is Status.OK, (wasmtime_row, interp)
    assert interp.checksum == wasmtime_row.checksum
    assert interp.n == wasmtime_row.n == PROGRAMS[name].short


@pytest.mark.parametrize("name", list(REFERENCES))
def test_wasmtime_agrees_with_python_reference(short_results, name):
    program = PROGRAMS[name]
    row = next(r for r in short_results.rows if r.program == name and r.runtime == BASELINE)
    assert row.checksum == program.normalise(REFERENCES[name](program.short))


def test_every_configuration_is_run_or_explained(short_results):
    for config in CONFIGS:
        rows = [r for r in short_results.rows if r.runtime == config.name]
        if config.name in short_results.unavailable:
            assert short_results.unavailable[config.name] and not rows
            continue
        assert {r.program for r in rows} == set(PROGRAMS)
        for r in rows:
            assert r.status is Status.OK or (r.status is Status.NA and r.note), r
            if r.status is Status.OK:
                expected = next(b for b in short_results.rows
                                if b.program == r.program and b.runtime == BASELINE).checksum
                assert r.checksum == expected, r


# -- the references themselves, against facts known independently of this code -------------------

def test_references_match_known_values():
    assert REFERENCES["fib"](12) == 144 and REFERENCES["fib"](47) == 2971215073
    assert REFERENCES["sieve"](10) == 2 + 3 + 5 + 7
    assert REFERENCES["sieve"](2_000_000) == 142_913_828_922     # Project Euler 10
    energy = lambda n: struct.unpack("<d", struct.pack("<Q", REFERENCES["nbody"](n)))[0]
    # the classic five-body program's published outputs
    assert f"{energy(0):.9f}" == "-0.169075164"
    assert f"{energy(1000):.9f}" == "-0.169087605"


def test_matmul_reference_is_the_product():
    n = 5
    a = [[((31 * i + 17 * j) % 101) / 8 for j in range(n)] for i in range(n)]
    b = [[((13 * i + 11 * j + 5) % 89) * 0.125 - 5 for j in range(n)] for i in range(n)]
    total = math.fsum(a[i][k] * b[k][j] for i in range(n) for j in range(n) for k in range(n))
    got = struct.unpack("<d", struct.pack("<Q", REFERENCES["matmul"](n)))[0]
    assert got == pytest.approx(total, rel=1e-12)


# -- the runner ---------------------------------------------------------------------------------

class _FakeRuntime:
    def __init__(self, result=None, unavailable: str | None = None, where: str = "load") -> None:
        self.name = "fake"
        self.result, self.unavailable, self.where = result, unavailable, where

    def load(self, wasm: bytes) -> Loaded:
        if self.unavailable and self.where == "load":
            raise NotAvailable(self.unavailable)

        def run(n: int) -> int:
            if self.unavailable:
                raise NotAvailable(self.unavailable)
            return self.result(n)
        return Loaded(run, 0.001)


FAKE = BenchConfig("fake", "a test double", (), Size.SMALL)


def _bench_with(monkeypatch, runtime, programs):
    monkeypatch.setattr(measure, "runtime_for", lambda config: runtime)
    return Bench(programs, [FAKE], short=True).run()


def test_wrong_checksum_is_a_loud_failure(monkeypatch):
    wrong = _FakeRuntime(result=lambda n: REFERENCES["fib"](n) + 1)
    results = _bench_with(monkeypatch, wrong, [PROGRAMS["fib"]])
    [bad] = results.failures
    assert bad.runtime == "fake" and bad.status is Status.MISMATCH
    assert "FAILED" in render(results)


def test_unsupported_configuration_is_na_not_failure(monkeypatch):
    results = _bench_with(monkeypatch, _FakeRuntime(unavailable="no backend for it"), [PROGRAMS["fib"]])
    assert results.failures == [] and results.unavailable == {"fake": "no backend for it"}
    assert "n/a (no backend for it)" in render(results)


def test_unsupported_at_run_time_is_na_for_that_program(monkeypatch):
    # the warm-up module loads, the program raises NotAvailable when called
    results = _bench_with(monkeypatch, _FakeRuntime(unavailable="opcode x", where="run"), [PROGRAMS["fib"]])
    [row] = [r for r in results.rows if r.runtime == "fake"]
    assert row.status is Status.NA and row.note == "opcode x" and results.failures == []


def test_trap_is_an_error(monkeypatch):
    def boom(n: int) -> int:
        raise RuntimeError("wasm trap: unreachable")
    results = _bench_with(monkeypatch, _FakeRuntime(result=boom), [PROGRAMS["sieve"]])
    [bad] = results.failures
    assert bad.status is Status.ERROR and "unreachable" in bad.note


def test_cli_exit_codes(monkeypatch, capsys):
    assert cli.main(["--short", "--kernels", "fib,callind", "--configs", "interpreter"]) == 0
    out = capsys.readouterr().out
    assert "All 4 checksums agree." in out
    assert cli.main(["--short", "--kernels", "nope"]) == 2
    assert cli.main(["--short", "--configs", "nope"]) == 2
    monkeypatch.setattr(measure, "runtime_for", lambda config: _FakeRuntime(result=lambda n: 7))
    assert cli.main(["--short", "--kernels", "xorshift", "--configs", "interpreter"]) == 1


def test_bench_subcommand_wiring():
    parser = argparse.ArgumentParser(prog="polyjit")
    sub = parser.add_subparsers(dest="command", required=True)
    cli.add_parser(sub)
    args = parser.parse_args(["bench", "--short", "--kernels", "fib", "--repeat", "2", "--markdown"])
    assert args.handler is cli.run and args.short and args.kernels == "fib" and args.repeat == 2


# -- the programs ------------------------------------------------------------------------------

def test_large_program_is_deterministic_and_valid():
    from engine import Engine, Module
    text = generate()
    assert text == generate(LargeSpec())
    assert generate(LargeSpec(seed=1)) != text
    assert len(re.findall(r"\(func \$f\d+ ", text)) == LargeSpec().functions >= 300
    Module.validate(Engine(), LARGE.wasm())


def test_code_section_size_matches_decoder():
    from engine.config import Features
    from engine.wasm.decoder import decode
    wasm = LARGE.wasm()
    size = code_section_bytes(wasm)
    assert 0 < size < len(wasm)
    module = decode(wasm, Features())
    assert len(module.codes) == len(module.funcs)
    # the code section holds every body plus its size prefix and the count: at least the bodies
    assert size > 20 * len(module.codes)


def test_sizes_are_ordered():
    for p in KERNELS + C_KERNELS + WASI_PROGRAMS + (LARGE,):
        assert 0 < p.short <= p.small <= p.full, p.name


@pytest.mark.parametrize("program", C_KERNELS + WASI_PROGRAMS, ids=lambda p: p.name)
def test_binary_programs_validate_and_have_no_wat(program):
    from engine import Engine, Module
    module = Module(Engine(), program.wasm())
    exports = {e.name for e in module.exports}
    assert ("run" if program.kind is Kind.C else "_start") in exports
    with pytest.raises(ValueError, match="no WAT source"):
        program.source()


@pytest.mark.parametrize("name", [n for n, p in PROGRAMS.items() if p.kind is Kind.WAT])
def test_polyjit_text_parser_gives_the_same_binary(name):
    # the benchmark feeds both runtimes wasmtime's encoding; polyjit's own parser must agree
    from engine import wat2wasm
    assert wat2wasm(PROGRAMS[name].source()) == PROGRAMS[name].wasm()
