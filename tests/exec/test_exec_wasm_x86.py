"""WebAssembly text -> decoder -> IR builder -> x86_64 backend -> native and Unicorn execution,
checked against known results and against the IR interpreter; and the W^X rule for code pages."""

from __future__ import annotations

import os
import platform

import pytest

from engine.errors import Trap, TrapCode
from support.harness import Harness, HarnessSpec
from engine.ir.builder import build_module
from engine.exec.interp import compile_function
from engine.wasm.decoder import decode

NATIVE = platform.machine().lower() in ("x86_64", "amd64")
MODES = ["native", "unicorn"] if NATIVE else ["unicorn"]

WAT = """(module
  (memory 1 2)
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func $sum (export "sum") (param $n i32) (result i64)
    (local $i i32) (local $acc i64)
    (block $done
      (loop $top
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i64.store (i32.mul (local.get $i) (i32.const 8)) (i64.extend_i32_u (local.get $i)))
        (local.set $acc (i64.add (local.get $acc)
                                 (i64.load (i32.mul (local.get $i) (i32.const 8)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $top)))
    (local.get $acc))
  (func $div (export "div") (param i32 i32) (result i32)
    (i32.rem_s (local.get 0) (local.get 1)))
  (func $sat (export "sat") (param f64) (result i32 i64)
    (i32.trunc_sat_f64_u (local.get 0)) (i64.trunc_f64_s (local.get 0)))
  (func $sel (export "sel") (param i32 i32 i32) (result i32)
    (select (local.get 0) (local.get 1) (i32.eqz (local.get 2))))
)"""


@pytest.fixture(params=MODES)
def compiled(request, wat_to_wasm):
    module = decode(wat_to_wasm(WAT))
    funcs = build_module(module)
    h = Harness(funcs, HarnessSpec(memory=(1, 2)), emulate=request.param == "unicorn")
    yield h, funcs
    h.close()


def test_wasm_functions_run(compiled):
    h, funcs = compiled
    assert h.call(0, 25) == [75025]
    assert h.call(1, 1000) == [sum(range(1000))]
    with pytest.raises(Trap) as e:
        h.call(1, 10000)  # 8 * 10000 bytes exceed one page
    assert e.value.trap_code == TrapCode.MEMORY_OUT_OF_BOUNDS
    assert h.call(2, 0x80000000, 0xFFFFFFFF) == [0]
    assert h.call(2, (-7) & 0xFFFFFFFF, 2) == [(-1) & 0xFFFFFFFF]
    with pytest.raises(Trap) as e:
        h.call(2, 1, 0)
    assert e.value.trap_code == TrapCode.INTEGER_DIVISION_BY_ZERO
    import struct
    bits = struct.unpack("<Q", struct.pack("<d", -3.75))[0]
    assert h.call(3, bits) == [0, (-3) & 0xFFFFFFFFFFFFFFFF]
    nan = 0x7FF8000000000000
    with pytest.raises(Trap) as e:
        h.call(3, nan)
    assert e.value.trap_code == TrapCode.BAD_CONVERSION_TO_INTEGER
    assert h.call(4, 10, 20, 0) == [10]
    assert h.call(4, 10, 20, 5) == [20]


def test_matches_ir_interpreter_on_pure_functions(compiled):
    h, funcs = compiled
    from engine.exec.interp import StandaloneContext
    interp = [compile_function(f) for f in funcs]
    ctx = StandaloneContext()
    for args in ((0x80000000, 0xFFFFFFFF), (17, 5), ((-17) & 0xFFFFFFFF, 5), (5, (-3) & 0xFFFFFFFF)):
        want = list(interp[2].make(ctx)(*args))
        assert h.call(2, *args) == want
    for args in ((1, 2, 0), (1, 2, 1), (0xFFFFFFFF, 0, 0)):
        assert h.call(4, *args) == list(interp[4].make(ctx)(*args))


_WX_SCRIPT = r"""
from support.harness import Harness, HarnessSpec, HostFunc
from engine.ir.parser import parse_functions
from engine.wasm.types import ValType
text = ('function 1 "f"(i32) -> (i32) {\n'
        'block0(v0:i32):\n    v1:i32 = call fn0 v0\n    return v1\n}\n')
host = HostFunc((ValType.I32,), (ValType.I32,), lambda x: [x + 1])
h = Harness(parse_functions(text), HarnessSpec(host_funcs=[host]))
assert h.call(1, 41) == [42]
bad = [ln for ln in open("/proc/self/maps") if "w" in ln.split()[1] and "x" in ln.split()[1]]
print("".join(bad), end="")
"""


@pytest.mark.skipif(not NATIVE, reason="native code pages exist only on an x86_64 host")
def test_no_page_is_writable_and_executable():
    # a fresh process: Unicorn's translation cache is itself writable+executable
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", _WX_SCRIPT], cwd=root, capture_output=True,
                         text=True, timeout=120,
                         env={"PYTHONPATH": f"{root}{os.pathsep}{root / 'tests'}"})
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""
