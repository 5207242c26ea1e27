"""A Store used from several threads (issue #15, item 4): one thread at a time runs in a Store;
a call into it (or a use of its objects) from another thread meanwhile is a WasmError naming
the problem, never a crash or another thread's result; re-entry from the running thread works.
The racy cases run in a subprocess, so a segfault fails the test instead of ending the run."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from engine import (Config, Engine, Func, FuncType, Instance, Memory, MemoryType, Limits, Module,
                    Store, Trap, ValType, WasmError)

ROOT = Path(__file__).resolve().parents[2]
I32 = ValType.i32()

#: engines to run under: the interpreter and native x86_64 (the host's machine code)
CONFIGS = {"interpreter": dict(strategy="interpreter"), "native": dict(strategy="compiler")}

BUSY = "in use by another thread"


def run_script(script: str, *args: str, timeout: int = 120) -> dict:
    """Run `script` in a fresh interpreter; its last stdout line is a JSON report. A crash
    (signal, non-zero exit) fails the calling test."""
    proc = subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env={"PYTHONPATH": f"{ROOT}:{ROOT / 'tests'}",
                                                           "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


LOOP_WAT = """(module
  (func (export "f") (param i32) (result i32) (local i32)
    (loop (local.set 1 (i32.add (local.get 1) (i32.const 1)))
          (br_if 0 (i32.lt_u (local.get 1) (i32.const 2000))))
    (if (i32.and (local.get 0) (i32.const 1)) (then unreachable))
    (local.get 0)))"""

SHARED_STORE_SCRIPT = f"""
import json, sys, threading
from engine import Config, Engine, Instance, Module, Store, Trap, WasmError
eng = Engine(Config(**json.loads(sys.argv[1])))
store = Store(eng)
f = Instance(store, Module(eng, '''{LOOP_WAT}'''), []).exports(store)["f"]
tally = {{"ok": 0, "trap": 0, "busy": 0, "wrong": []}}
lock = threading.Lock()
def worker(k):
    i = 0
    while i < 500:
        arg = 2 * i + (k & 1)      # odd arguments trap (unreachable), even ones come back
        try:
            r = f(store, arg)
            kind = "ok" if r == arg and not arg & 1 else f"result {{r}} for {{arg}}"
        except Trap as e:
            kind = "trap" if arg & 1 and "unreachable" in str(e) else f"trap {{e}} for {{arg}}"
        except WasmError as e:
            kind = "busy" if "{BUSY}" in str(e) else f"error {{e}}"
        if kind != "busy":
            i += 1                 # refused calls are retried: every call ends with an outcome
        with lock:
            if kind in tally:
                tally[kind] += 1
            else:
                tally["wrong"].append(kind)
threads = [threading.Thread(target=worker, args=(k,)) for k in range(3)]
for t in threads: t.start()
for t in threads: t.join()
# afterwards the store works from this thread again
tally["after"] = [f(store, 4), str(sys.exc_info()[0])]
print(json.dumps(tally))
"""


@pytest.mark.parametrize("name", CONFIGS)
def test_one_instance_called_from_three_threads(name):
    """Before: a segfault within 0.3 s or wrong outcomes (another thread's Trap). Now every
    outcome is the right result, the right trap, or the documented busy error."""
    out = run_script(SHARED_STORE_SCRIPT, json.dumps(CONFIGS[name]))
    assert out["wrong"] == []
    assert out["ok"] == 1000 and out["trap"] == 500     # threads 0 and 2 return, 1 traps
    assert out["after"][0] == 4


def _blocking_instance(config: dict):
    """(store, f, release, entered): f calls a host function that waits for `release`."""
    eng = Engine(Config(**config))
    store = Store(eng)
    entered, release = threading.Event(), threading.Event()

    def host(x):
        entered.set()
        assert release.wait(30)
        return x + 1
    h = Func(store, FuncType([I32], [I32]), host)
    m = Module(eng, """(module (import "" "h" (func $h (param i32) (result i32)))
      (memory (export "mem") 1 10)
      (func (export "f") (param i32) (result i32) (call $h (local.get 0)))
      (func (export "g") (result i32) (i32.const 7)))""")
    inst = Instance(store, m, [h])
    return store, inst.exports(store), release, entered


@pytest.mark.parametrize("name", CONFIGS)
def test_second_thread_is_refused_while_the_first_runs(name):
    store, ex, release, entered = _blocking_instance(CONFIGS[name])
    result = []
    t = threading.Thread(target=lambda: result.append(ex["f"](store, 41)))
    t.start()
    try:
        assert entered.wait(30)
        with pytest.raises(WasmError, match=BUSY):
            ex["g"](store)
        with pytest.raises(WasmError, match=BUSY):
            ex["mem"].grow(store, 1)          # growth from another thread: refused, no crash
    finally:
        release.set()
        t.join(30)
    assert result == [42]
    assert ex["g"](store) == 7                # the store is free again
    assert ex["mem"].grow(store, 1) == 1


@pytest.mark.parametrize("name", CONFIGS)
def test_reentry_from_the_running_thread_works(name):
    """wasm -> host -> wasm on one thread nests, also while another thread is refused."""
    eng = Engine(Config(**CONFIGS[name]))
    store = Store(eng)
    box = {}
    refused = []

    def host(x):
        t = threading.Thread(target=lambda: _try(lambda: box["g"](store, 1), refused))
        t.start()
        t.join(30)
        return box["g"](store, x) + 1         # same thread: re-enters
    h = Func(store, FuncType([I32], [I32]), host)
    m = Module(eng, """(module (import "" "h" (func $h (param i32) (result i32)))
      (func (export "f") (param i32) (result i32) (call $h (local.get 0)))
      (func (export "g") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 10))))""")
    ex = Instance(store, m, [h]).exports(store)
    box["g"] = ex["g"]
    assert ex["f"](store, 3) == 31
    assert len(refused) == 1 and BUSY in str(refused[0])


def _try(fn, errors):
    try:
        fn()
    except WasmError as e:
        errors.append(e)


def test_separate_stores_run_in_parallel_threads():
    eng = Engine(Config(strategy="compiler"))
    m = Module(eng, LOOP_WAT)
    results, errors = [], []

    def worker(k):
        store = Store(eng)
        f = Instance(store, m, []).exports(store)["f"]
        try:
            results.append(sum(f(store, 2 * i) for i in range(200)))
        except Exception as e:      # noqa: BLE001 - reported below
            errors.append(e)
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and results == [sum(2 * i for i in range(200))] * 4
