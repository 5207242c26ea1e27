"""Engine as wasmtime documents it: a cheap shared handle, thread safe, configuration errors that
name the settings, tls_eager_initialize."""

from __future__ import annotations

import copy
import threading

import pytest
import wasmtime

from engine import Config, Engine, Instance, Module, Store, WasmError

FIB = """(module (func $fib (export "fib") (param i32) (result i32)
  (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0))
    (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                   (call $fib (i32.sub (local.get 0) (i32.const 2))))))))"""


def _fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def test_copies_share_one_engine():
    a = Engine()
    b = copy.copy(a)
    c = copy.deepcopy(a)
    assert Engine.same(a, b) and Engine.same(a, c) and Engine.same(b, c)
    assert not Engine.same(a, Engine())
    b.increment_epoch()
    assert a._state.epoch == c._state.epoch == 1


def test_engine_resolves_target_and_emulation():
    from engine.config import host_target
    host = host_target()
    assert Engine().target == host and not Engine().emulated
    foreign = "aarch64" if host != "aarch64" else "x86_64"
    e = Engine(Config(target=foreign))
    assert e.target == foreign and e.emulated
    assert Engine(Config(emulate=True)).emulated


@pytest.mark.parametrize("strategy", ["interpreter", "compiler"])
def test_threads_compile_and_run_concurrently(strategy):
    engine = Engine(Config(strategy=strategy))
    errors: list[BaseException] = []
    results: dict[int, list[int]] = {}
    barrier = threading.Barrier(6)

    def work(k: int) -> None:
        try:
            barrier.wait(10)
            out = []
            for rep in range(3):
                # every thread compiles its own modules (through its own handle) and runs them
                module = Module(copy.copy(engine), FIB + f";; {k} {rep}")
                store = Store(engine)
                fib = Instance(store, module, []).exports(store)["fib"]
                out.append(fib(store, 10 + k))
            results[k] = out
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert results == {k: [_fib(10 + k)] * 3 for k in range(6)}


@pytest.mark.parametrize("settings,words", [
    (dict(target="sparc"), ["Config.target", "sparc"]),
    (dict(strategy="jit"), ["Config.strategy", "jit"]),
    (dict(strategy="interpreter", emulate=True), ["Config.emulate", "Config.strategy"]),
    (dict(strategy="interpreter", target="riscv64"), ["Config.target", "Config.strategy"]),
    (dict(max_wasm_stack=0), ["Config.max_wasm_stack", "0"]),
    (dict(max_wasm_stack=-4096), ["Config.max_wasm_stack"]),
    (dict(max_wasm_stack="big"), ["Config.max_wasm_stack"]),
    (dict(wasm_threads=True), ["Config.wasm_threads"]),
    (dict(wasm_gc=True), ["Config.wasm_gc"]),
    (dict(wasm_tail_call="yes"), ["Config.wasm_tail_call"]),
    (dict(wasm_function_references=True, wasm_reference_types=False),
     ["Config.wasm_function_references", "Config.wasm_reference_types"]),
    (dict(wasm_reference_types=True, wasm_bulk_memory=False),
     ["Config.wasm_reference_types", "Config.wasm_bulk_memory"]),
    (dict(consume_fuel="yes"), ["Config.consume_fuel"]),
])
def test_config_errors_name_the_settings(settings, words):
    # target, strategy and cache are checked when set (as wasmtime-py does), the rest when an
    # Engine is made
    with pytest.raises(WasmError) as info:
        Engine(Config(**settings))
    for w in words:
        assert w in str(info.value)


_WASM_3_0 = ("wasm_tail_call", "wasm_multi_memory", "wasm_memory64", "wasm_function_references",
             "wasm_exceptions")


def test_wasm_3_0_proposals_are_on_by_default_as_in_wasmtime_50():
    probes = {"wasm_tail_call": "(module (func $f (return_call $f)))",
              "wasm_multi_memory": "(module (memory 1) (memory 1))",
              "wasm_memory64": "(module (memory i64 1))",
              "wasm_function_references": "(module (type $t (func)) (func (param (ref null $t))))",
              "wasm_exceptions": "(module (tag))"}
    config = Config()
    for name in _WASM_3_0:
        wasmtime.Module.validate(wasmtime.Engine(), wasmtime.wat2wasm(probes[name]))  # on
        assert getattr(config, name) is True, name
        off = wasmtime.Config()
        setattr(off, name, False)
        off.wasm_gc = False    # GC implies typed function references
        with pytest.raises(wasmtime.WasmtimeError):
            wasmtime.Module.validate(wasmtime.Engine(off), wasmtime.wat2wasm(probes[name]))
    assert config.wasm_gc is False and config.wasm_threads is False


@pytest.mark.parametrize("name", [*_WASM_3_0, "wasm_extended_const"])
def test_wasm_3_0_proposals_are_code_settings(name):
    on = Engine(Config(strategy="interpreter")).code_settings()
    off = Engine(Config(strategy="interpreter", **{name: False})).code_settings()
    assert on[name] is True and off[name] is False
    assert {k: v for k, v in on.items() if k != name} == {
        k: v for k, v in off.items() if k != name}


def test_unknown_setting_and_bad_config_type():
    with pytest.raises(WasmError, match="unknown Config setting 'fast'"):
        Config(fast=True)
    with pytest.raises(WasmError, match="expects a Config"):
        Engine({"strategy": "interpreter"})


def test_cache_directory_must_be_usable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(WasmError, match="Config.cache"):
        Engine(Config(cache=str(blocker / "sub")))
    with pytest.raises(WasmError, match="Config.cache"):
        Engine(Config(cache=42))
    with pytest.raises(WasmError, match="cache config file"):
        Config(cache=str(tmp_path / "missing.toml"))      # a path that names nothing
    (tmp_path / "made").mkdir()
    Engine(Config(cache=str(tmp_path / "made")))


@pytest.mark.parametrize("strategy", ["interpreter", "compiler"])
def test_tls_eager_initialize_on_fresh_threads(strategy):
    from engine.exec import native
    engine = Engine(Config(strategy=strategy))
    store = Store(engine)
    fib = Instance(store, Module(engine, FIB), []).exports(store)["fib"]
    seen: dict = {}

    def fresh() -> None:
        seen["before"] = getattr(native._tls, "depth", None)
        engine.tls_eager_initialize()
        seen["after"] = getattr(native._tls, "depth", None)
        seen["result"] = fib(store, 12)

    t = threading.Thread(target=fresh)
    t.start()
    t.join(30)
    assert seen["before"] is None and seen["result"] == 144
    assert seen["after"] == (0 if strategy == "compiler" else None)


def test_tls_eager_initialize_calls_the_executor_hook():
    engine = Engine(Config(strategy="interpreter"))
    calls: list[str] = []

    class Hooked:
        def tls_initialize(self) -> None:
            calls.append(threading.current_thread().name)

    engine._state.executor = Hooked()
    t = threading.Thread(target=engine.tls_eager_initialize, name="worker-7")
    t.start()
    t.join(10)
    assert calls == ["worker-7"]
