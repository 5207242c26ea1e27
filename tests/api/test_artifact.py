"""Precompiled artifacts: precompile / serialize / deserialize round trips on every target, each
compatibility check with its message, and damaged input (every truncation, random bit flips)
refused before any code is mapped."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from engine import (Config, Engine, IncompatibleArtifactError, Instance, Module, Store, Trap,
                    WasmError)
from engine.compile import artifact as A
from engine.compile.driver import compile_module
from engine.compile.registry import backend_class, backend_for

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = """(module
  (memory 1)
  (global $g (mut i32) (i32.const 5))
  (data (i32.const 16) "\\01\\02\\03\\04")
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "bump") (result i32)
    (global.set $g (i32.add (global.get $g) (i32.const 1))) (global.get $g))
  (func (export "div") (param i64 i64) (result i64) (i64.div_s (local.get 0) (local.get 1)))
  (func (export "mix") (param f64 f32) (result f64)
    (f64.add (local.get 0) (f64.promote_f32 (local.get 1)))))"""

CALLS = [("fib", (20,)), ("load", (16,)), ("bump", ()), ("bump", ()), ("div", (-7, 2)),
         ("mix", (1.5, 0.25)), ("load", (65535,)), ("div", (1, 0))]


def _outcomes(engine: Engine, module: Module) -> list:
    store = Store(engine)
    ex = Instance(store, module, []).exports(store)
    out = []
    for name, args in CALLS:
        try:
            out.append(ex[name](store, *args))
        except Trap as t:
            out.append(("trap", t.trap_code))
    return out


def _reference() -> list:
    engine = Engine(Config(strategy="interpreter"))
    return _outcomes(engine, Module(engine, PROGRAM))


def test_native_round_trip_runs_the_artifact_code_without_compiling(monkeypatch):
    import backends.x86_64 as X
    data = Engine().precompile_module(PROGRAM)
    assert data[:8] == A.MAGIC
    fresh = Engine()

    def no_compiling(*_a, **_k):
        raise AssertionError("deserialize must not compile")
    monkeypatch.setattr(X.X86_64Backend, "link", no_compiling)
    module = Module.deserialize(fresh, data)
    ref = _reference()
    assert _outcomes(fresh, module) == ref
    assert ref[0] == 6765 and ref[-2][0] == "trap" and ref[-1][0] == "trap"


def test_serialize_equals_precompile_and_deserialize_file(tmp_path):
    engine = Engine()
    module = Module(engine, PROGRAM)
    in_process = _outcomes(engine, module)
    data = module.serialize()
    assert data == engine.precompile_module(PROGRAM)      # deterministic
    path = tmp_path / "prog.pjit"
    path.write_bytes(data)
    loaded = Module.deserialize_file(Engine(), path)
    assert _outcomes(loaded.engine, loaded) == in_process == _reference()
    with pytest.raises(WasmError, match="cannot read artifact"):
        Module.deserialize_file(Engine(), tmp_path / "missing.pjit")


@pytest.mark.parametrize("target", ["aarch64", "riscv64", "x86_64"])
def test_cross_target_artifact_is_the_in_process_code(target):
    """precompile for any target on this host, no emulator involved; the artifact carries
    exactly the code the engine compiles in process, and deserializes on a matching engine."""
    engine = Engine(Config(target=target, emulate=True))
    data = engine.precompile_module(PROGRAM)
    art = A.parse(data)
    assert art.target == target
    in_process = compile_module(Module(engine, PROGRAM), backend_for(engine.settings))
    assert art.code == in_process.code and art.symbols == in_process.symbols
    module = Module.deserialize(Engine(Config(target=target, emulate=True)), data)
    assert module.wasm_module.exports and module.code.code == art.code


@pytest.mark.parametrize("target", ["aarch64", "riscv64", "x86_64"])
def test_emulated_artifact_runs_like_in_process(target, monkeypatch):
    """The artifact's code also runs in the exec harness (fed the artifact's code) under Unicorn
    with the results of the interpreter."""
    from support.harness import harness_for_module
    engine = Engine(Config(target=target, emulate=True))
    module = Module.deserialize(engine, engine.precompile_module(PROGRAM))
    code = module.code
    backend_cls = backend_class(target)
    monkeypatch.setattr(backend_cls, "compile_module", lambda *a, **k: code)
    h = harness_for_module(module.wasm_module, emulate=True, target=target)
    ref_engine = Engine(Config(strategy="interpreter"))
    ref_store = Store(ref_engine)
    ref = Instance(ref_store, Module(ref_engine, PROGRAM), []).exports(ref_store)["fib"]
    index = next(e.index for e in module.wasm_module.exports if e.name == "fib")
    assert h.call(index, 20) == [ref(ref_store, 20)] == [6765]
    load = next(e.index for e in module.wasm_module.exports if e.name == "load")
    assert h.call(load, 16) == [0x04030201]


@pytest.mark.parametrize("target", ["aarch64", "riscv64", "x86_64"])
def test_emulated_round_trip_through_the_runtime_api(target):
    """precompile, deserialize on Engine(Config(target=T)), run under Unicorn: the same
    outcomes (results and traps) as the interpreter."""
    engine = Engine(Config(target=target, emulate=True))
    data = engine.precompile_module(PROGRAM)
    fresh = Engine(Config(target=target, emulate=True))
    module = Module.deserialize(fresh, data)
    assert _outcomes(fresh, module) == _reference()


@pytest.mark.parametrize("target", ["aarch64", "riscv64"])
def test_native_engine_refuses_foreign_code(target):
    data = Engine(Config(target=target)).precompile_module(PROGRAM)
    with pytest.raises(IncompatibleArtifactError) as info:
        Module.deserialize(Engine(), data)
    assert str(info.value) == f"target: compiled for {target}, but this engine targets x86_64"


@pytest.mark.parametrize("setting", ["epoch_interruption", "consume_fuel", "wasm_simd"])
def test_settings_fingerprint_mismatch(setting):
    flipped = {setting: not getattr(Config(), setting)}
    data = Engine().precompile_module(PROGRAM)
    with pytest.raises(IncompatibleArtifactError) as info:
        Module.deserialize(Engine(Config(**flipped)), data)
    msg = str(info.value)
    assert f"Config.{setting}" in msg and "True" in msg and "False" in msg


def _reencode(data: bytes, **changes) -> bytes:
    """An artifact with some fields changed and a valid checksum (a well-formed foreign one)."""
    art = A.parse(data)
    fields = [changes.get("polyjit_version", art.polyjit_version).encode(),
              changes.get("target", art.target).encode(),
              ",".join(sorted(changes.get("features", art.features))).encode(),
              changes.get("settings_json", json.dumps(art.code_settings, sort_keys=True,
                                                      separators=(",", ":")).encode()),
              changes.get("fingerprint", art.fingerprint), art.wasm, art.code, A._encode_symbols(art.symbols)]
    payload = b"".join(struct.pack("<I", len(f)) + f for f in fields)
    version = changes.get("format_version", A.FORMAT_VERSION)
    body = struct.pack("<8sIQ", A.MAGIC, version, len(payload)) + payload
    import hashlib
    return body + hashlib.sha256(body).digest()


def test_each_header_field_is_checked():
    data = Engine().precompile_module(PROGRAM)
    assert Module.deserialize(Engine(), _reencode(data))     # the re-encoder is faithful
    cases = [
        (dict(polyjit_version="9.9.9"), "polyjit version: artifact made by polyjit 9.9.9, but "
                                        f"this is polyjit {A.build_id()}"),
        (dict(format_version=7), f"artifact format version 7, but this polyjit reads version "
                                 f"{A.FORMAT_VERSION}"),
        (dict(features={"avx512f", "sse4.1"}), "missing avx512f"),
        (dict(target="mips"), "target: compiled for mips, but this engine targets x86_64"),
    ]
    for change, message in cases:
        with pytest.raises(IncompatibleArtifactError) as info:
            Module.deserialize(Engine(), _reencode(data, **change))
        assert message in str(info.value), (change, str(info.value))
    with pytest.raises(IncompatibleArtifactError, match="bad magic"):
        Module.deserialize(Engine(), b"\0asm\1\0\0\0" + data[8:])
    with pytest.raises(IncompatibleArtifactError, match="interpreter"):
        Module.deserialize(Engine(Config(strategy="interpreter")), data)
    with pytest.raises(WasmError, match="Config.strategy='compiler'"):
        Engine(Config(strategy="interpreter")).precompile_module(PROGRAM)


@pytest.mark.parametrize("raw,message", [
    (b"[" * 100_000, "code settings are 100000 bytes long"),     # deep nesting: no RecursionError
    (b"[" * 1000, "code settings are not JSON"),
    (b'{"consume_fuel": 1}', "not an object of booleans"),
    (b'["consume_fuel"]', "not an object of booleans"),
])
def test_damaged_code_settings_are_refused_with_a_valid_checksum(raw, message):
    import hashlib
    data = Engine().precompile_module(PROGRAM)
    bad = _reencode(data, settings_json=raw, fingerprint=hashlib.sha256(raw).digest())
    with pytest.raises(IncompatibleArtifactError, match=message):
        Module.deserialize(Engine(), bad)


def test_emulated_x86_engine_checks_features_against_the_emulated_cpu():
    # host features; explicit bounds checks (native guard-page code is refused by an emulated
    # engine on its fingerprint before features are looked at: emulated guard-page code keeps
    # its stores checked)
    data = Engine(Config(signals_based_traps=False)).precompile_module(PROGRAM)
    art = A.parse(data)
    from backends.x86_64 import EMULATOR_FEATURES
    emulated = Engine(Config(emulate=True, signals_based_traps=False))
    with pytest.raises(IncompatibleArtifactError, match="Config.emulate"):
        Module.deserialize(Engine(Config(emulate=True)), Engine().precompile_module(PROGRAM))
    if art.features <= EMULATOR_FEATURES:
        assert Module.deserialize(emulated, data)
    else:
        with pytest.raises(IncompatibleArtifactError, match="the emulated CPU"):
            Module.deserialize(emulated, data)


_DAMAGE_SCRIPT = r"""
import json, random, sys
from engine import Engine, Instance, Module, Store, Trap, WasmError
src, seed, flips = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = Engine().precompile_module(open(src).read())
def run(blob):
    eng = Engine()
    m = Module.deserialize(eng, blob)
    st = Store(eng)
    return Instance(st, m, []).exports(st)["fib"](st, 15)
expected = run(data)
report = {"size": len(data), "truncations": 0, "flips": 0, "ran_same": 0, "other": []}
for n in range(len(data)):
    try:
        run(data[:n])
        report["other"].append(f"truncation {n} ran")
    except WasmError:
        report["truncations"] += 1
rng = random.Random(seed)
for _ in range(flips):
    blob = bytearray(data)
    bit = rng.randrange(8 * len(blob))
    blob[bit // 8] ^= 1 << (bit % 8)
    try:
        got = run(bytes(blob))
        if got == expected:
            report["ran_same"] += 1
        else:
            report["other"].append(f"flip {bit} gave {got}")
    except WasmError:
        report["flips"] += 1
    except Exception as e:
        report["other"].append(f"flip {bit}: {type(e).__name__}: {e}")
print(json.dumps(report))
"""


def test_truncations_and_bit_flips_are_refused_in_a_subprocess(tmp_path):
    src = tmp_path / "prog.wat"
    src.write_text(PROGRAM)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", _DAMAGE_SCRIPT, str(src), "1234", "1000"],
                          capture_output=True, text=True, timeout=600, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["other"] == []
    assert report["truncations"] == report["size"]
    assert report["flips"] + report["ran_same"] == 1000
