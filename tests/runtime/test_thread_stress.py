"""Stress (issue #15, done-when): calls from 8 threads on one Engine for a bounded time, in a
subprocess: four threads with a Store each, four sharing one Store (used wrongly: concurrent
entry). No crash; every outcome is the right result, the right trap, or the documented
"in use by another thread" WasmError (only on the shared Store)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

STRESS_SCRIPT = r'''
import json, sys, threading, time
from engine import (Config, Engine, Func, FuncType, Instance, Module, Store, Trap, ValType,
                    WasmError)
config, seconds = json.loads(sys.argv[1]), float(sys.argv[2])
eng = Engine(Config(**config))
I32 = ValType.i32()
module = Module(eng, """(module
  (import "" "twice" (func $twice (param i32) (result i32)))
  (type $un (func (param i32) (result i32)))
  (memory (export "mem") 1 64)
  (table (export "tab") 2 funcref) (elem (i32.const 0) $sq $twice)
  (func $sq (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
  (func (export "sum") (param $n i32) (result i32) (local $i i32) (local $s i32)
    (loop (i32.store (i32.shl (i32.and (local.get $i) (i32.const 1023)) (i32.const 2)) (local.get $i))
          (local.set $s (i32.add (local.get $s)
             (i32.load (i32.shl (i32.and (local.get $i) (i32.const 1023)) (i32.const 2)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if 0 (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $s))
  (func (export "ind") (param i32 i32) (result i32)
    (call_indirect (type $un) (local.get 1) (local.get 0)))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "grow") (result i32) (memory.grow (i32.const 1))))""")

def setup(store):
    box = {}
    twice = Func(store, FuncType([I32], [I32]), lambda x: box["sq"](store, x) * 2)  # re-entry
    ex = Instance(store, module, [twice]).exports(store)
    box["sq"] = lambda s, x: ex["ind"](s, 0, x)
    return ex

BUSY = "in use by another thread"
lock = threading.Lock()
tally = {"ok": 0, "busy_own": 0, "busy_shared": 0, "grow_full": 0, "wrong": [],
         "rounds": [0] * 8}
shared_store = Store(eng)
shared = setup(shared_store)
deadline = time.monotonic() + seconds

def one_round(store, ex, i):
    """Each check raises AssertionError on a wrong outcome."""
    n = 50 + i % 200
    assert ex["sum"](store, n) == sum(range(n)), "sum"
    assert ex["ind"](store, 1, i % 100) == 2 * (i % 100) ** 2, "re-entry"
    try:
        ex["ind"](store, 2, 1)
        raise AssertionError("no trap for an out-of-bounds table index")
    except Trap as e:
        assert "undefined element" in str(e), str(e)
    try:
        ex["div"](store, 1, 0)
        raise AssertionError("no trap for a division by zero")
    except Trap as e:
        assert "divide by zero" in str(e), str(e)
    if ex["grow"](store) == -1:
        return "grow_full"
    assert ex["mem"].size(store) <= 64
    assert ex["tab"].size(store) == 2
    return "ok"

def worker(k):
    own = k < 4
    store = Store(eng) if own else shared_store
    ex = setup(store) if own else shared
    i = 0
    while time.monotonic() < deadline:
        i += 1
        try:
            kind = one_round(store, ex, i)
        except WasmError as e:
            kind = ("busy_own" if own else "busy_shared") if BUSY in str(e) else f"error {e!r}"
        except AssertionError as e:
            kind = f"wrong {e}"
        except Exception as e:
            kind = f"raw {type(e).__name__}: {e}"
        with lock:
            if kind in tally:
                tally[kind] += 1
            else:
                tally["wrong"].append(kind)
            if kind in ("ok", "grow_full"):
                tally["rounds"][k] += 1
        if kind == "busy_shared":
            time.sleep(0)                  # let the thread inside the store get on

threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
for t in threads: t.start()
for t in threads: t.join()
tally["wrong"] = tally["wrong"][:10]
print(json.dumps(tally))
'''


@pytest.mark.parametrize("config,seconds", [
    (dict(strategy="compiler"), 4), (dict(strategy="interpreter"), 4),
    (dict(strategy="compiler", target="aarch64"), 3)], ids=["native", "interpreter", "aarch64"])
def test_eight_threads_on_one_engine(config, seconds):
    proc = subprocess.run([sys.executable, "-c", STRESS_SCRIPT, json.dumps(config), str(seconds)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={"PYTHONPATH": f"{ROOT}:{ROOT / 'tests'}", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}"
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["wrong"] == []
    assert out["busy_own"] == 0                 # a Store of one thread is never busy
    assert all(n > 0 for n in out["rounds"][:4])     # every own-Store thread got through
    assert sum(out["rounds"][4:]) > 0                 # and the shared Store served some rounds
