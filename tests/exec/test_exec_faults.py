"""engine.exec.faults: with guard pages (Config.signals_based_traps, the native default) an
out-of-bounds access faults and becomes the same Trap as an explicit check's, the process
survives, and a fault outside generated code still crashes the process as before. Each case runs
in a child process, since a wrong handler would crash the test run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from engine import Config, Engine, Instance, Module, Store, WasmError
from engine.environ.module_info import GUARDED_RESERVATION
from engine.exec.native import native_supported
from stack_cases import _ROOT, run_child

pytestmark = pytest.mark.skipif(not native_supported(), reason="native x86_64 execution only")

#: one module with an access of every width, at static offsets small and huge, and a store
#: that straddles the end of memory (it must write nothing)
OOB_CASES = r'''
import json
from engine import Config, Engine, Instance, Module, Store, Trap
WAT = """(module (memory (export "mem") 1 4)
  (func (export "l8") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "l16") (param i32) (result i32) (i32.load16_s offset=1 (local.get 0)))
  (func (export "l32") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "l64") (param i32) (result i64) (i64.load offset=0x7ffffff0 (local.get 0)))
  (func (export "lf") (param i32) (result f64) (f64.load offset=0xfffffff8 (local.get 0)))
  (func (export "s64") (param i32) (i64.store (local.get 0) (i64.const -1)))
  (func (export "s8") (param i32) (i32.store8 offset=65535 (local.get 0) (i32.const 9)))
  (func (export "dropped") (param i32) (drop (i32.load offset=65536 (local.get 0))))
  (func (export "grow") (result i32) (memory.grow (i32.const 1))))"""
out = {}
for sbt in (None, False):
    eng = Engine(Config(signals_based_traps=sbt))
    store = Store(eng)
    inst = Instance(store, Module(eng, WAT), [])
    ex = inst.exports(store)
    res = []
    def call(name, *args):
        try:
            r = ex[name](store, *args)
            res.append([name, args, "ok", r])
        except Trap as t:
            res.append([name, args, "trap", int(t.trap_code), t.message])
    for name, args in [("l8", (65535,)), ("l8", (65536,)), ("l8", (-1,)), ("l16", (65534,)),
                       ("l16", (65533,)), ("l32", (65533,)), ("l32", (65532,)),
                       ("l64", (0,)), ("l64", (-1,)), ("lf", (0,)), ("lf", (8,)),
                       ("s64", (65529,)), ("s64", (65528,)), ("s8", (0,)), ("s8", (1,)),
                       ("dropped", (0,)), ("dropped", (-65536,))]:
        call(name, *args)
    # the straddling store s64(65529) wrote nothing: the bytes are s64(65528)'s, then s8(0)'s
    res.append(["tail", bytes(ex["mem"].read(store, 65528, 65536)).hex()])
    call("grow")
    call("l32", 65536)
    call("l32", 131069)
    out[str(sbt)] = res
print(json.dumps(out))
'''


def test_out_of_bounds_traps_are_the_same_with_and_without_guard_pages():
    import json
    out = json.loads(run_child(OOB_CASES))
    guarded, checked = out["None"], out["False"]
    assert guarded == checked
    by_case = {(r[0], tuple(r[1])): r[2:] for r in guarded if len(r) > 2}
    assert by_case[("l8", (65535,))][0] == "ok"
    traps = [case for case, r in by_case.items() if r[0] == "trap"]
    assert sorted(traps) == sorted([
        ("l8", (65536,)), ("l8", (-1,)), ("l16", (65534,)), ("l32", (65533,)), ("l64", (0,)),
        ("l64", (-1,)), ("lf", (0,)), ("lf", (8,)), ("s64", (65529,)), ("s8", (1,)),
        ("dropped", (0,)), ("dropped", (-65536,)), ("l32", (131069,))])
    for case in traps:
        assert by_case[case][1:] == [1, "out of bounds memory access"], case
    assert ["tail", "ffffffffffffff09"] in guarded
    assert by_case[("l32", (65536,))] == ["ok", 0]      # after memory.grow


def test_fault_outside_generated_code_still_crashes():
    # the handler is installed (a guarded module ran and trapped); a wild read in ctypes is
    # not at a generated-code address, so the process dies of SIGSEGV as it would without it
    code = textwrap.dedent('''
        import ctypes
        from engine import Engine, Instance, Module, Store, Trap
        eng = Engine()
        store = Store(eng)
        ex = Instance(store, Module(eng, """(module (memory 1)
            (func (export "f") (param i32) (result i32) (i32.load (local.get 0))))"""),
            []).exports(store)
        try:
            ex["f"](store, 1 << 20)
        except Trap:
            print("trapped", flush=True)
        ctypes.string_at(8)
        print("survived", flush=True)
    ''')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(_ROOT), os.environ.get("PYTHONPATH", "")]))
    env.pop("PYTHONFAULTHANDLER", None)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=env, cwd=_ROOT)
    assert proc.stdout == "trapped\n", proc.stderr
    assert proc.returncode == -signal.SIGSEGV, proc.stderr


def test_fault_outside_generated_code_reaches_the_previous_handler():
    # faulthandler was installed first: it still reports the crash (the chain works)
    code = textwrap.dedent('''
        import ctypes, faulthandler
        faulthandler.enable()
        from engine import Engine, Instance, Module, Store
        eng = Engine()
        store = Store(eng)
        Instance(store, Module(eng, "(module (memory 1) (func (export \\"f\\")))"), [])
        ctypes.string_at(8)
    ''')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(_ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=env, cwd=_ROOT)
    assert proc.returncode == -signal.SIGSEGV
    assert "Fatal Python error: Segmentation fault" in proc.stderr


def test_settings():
    assert Engine()._state.settings.signals_based_traps
    assert not Engine(Config(signals_based_traps=False))._state.settings.signals_based_traps
    # under Unicorn too (its invalid-access hook makes the trap)
    assert Engine(Config(target="x86_64", emulate=True))._state.settings.signals_based_traps
    assert Engine(Config(target="aarch64"))._state.settings.signals_based_traps
    assert not Engine(Config(target="aarch64", signals_based_traps=False)
                      )._state.settings.signals_based_traps
    assert not Engine(Config(strategy="interpreter"))._state.settings.signals_based_traps
    with pytest.raises(WasmError, match="not supported yet"):
        Engine(Config(signals_based_traps=True, strategy="interpreter"))
    with pytest.raises(WasmError, match="signals_based_traps must be"):
        Engine(Config(signals_based_traps="yes"))


def test_guarded_memory_reserves_the_whole_address_range():
    wat = '(module (memory (export "m") 1) (func (export "f") (param i32) (result i32) ' \
          '(i32.load offset=8 (local.get 0))))'
    sizes = {}
    for sbt in (None, False):
        eng = Engine(Config(signals_based_traps=sbt))
        store = Store(eng)
        module = Module(eng, wat)
        mem = Instance(store, module, []).exports(store)["m"]
        sizes[sbt] = (mem._mapping.size, len(eng.precompile_module(wat)))
    assert sizes[None][0] == GUARDED_RESERVATION
    assert sizes[False][0] < GUARDED_RESERVATION
    assert sizes[None][1] < sizes[False][1]          # the check is gone from the code
    # the artifact records the setting: code without checks never loads into a checking engine
    data = Engine().precompile_module(wat)
    with pytest.raises(WasmError, match="signals_based_traps"):
        Module.deserialize(Engine(Config(signals_based_traps=False)), data)
