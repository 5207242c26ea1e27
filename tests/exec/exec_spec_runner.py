"""The spec-suite script runner shared by the per-architecture machine-code tests
(test_exec_spec_<arch>.py): every assert_return / assert_trap on an unnamed module the test
harness can set up (no imports, no reference-typed values; FILES lists the scripts that have
such assertions: global, select and binary-leb128 have none) must pass when compiled for a target
and run natively or under Unicorn; a trap must carry the script's expected message. The full
runtime-driven spec run is tests/spec."""

from __future__ import annotations

import json

from engine.errors import Trap, UnsupportedError, WasmError
from support.harness import harness_for_module
from engine.ir import numerics as N
from engine.wasm.decoder import decode
from spec.cache import SUITE_DIR, converted

FILES = ["i32", "i64", "f32", "f64", "f32_cmp", "f64_cmp", "f32_bitwise", "f64_bitwise",
         "conversions", "int_exprs", "int_literals", "float_exprs", "float_misc", "fac",
         "br_table", "br_if", "br", "block", "loop", "if", "call", "call_indirect",
         "return", "switch", "forward", "labels", "local_get", "local_set", "local_tee",
         "nop", "unwind", "stack", "left-to-right", "traps", "memory", "address",
         "align", "endianness", "load", "store", "memory_grow", "memory_size", "memory_trap",
         "memory_redundancy", "float_memory", "int_exprs", "func", "func_ptrs", "unreachable",
         "fac", "names", "const", "bulk", "memory_fill", "memory_copy"]
NUMERIC = {"i32", "i64", "f32", "f64"}
_WIDTH = {"i32": 32, "i64": 64, "f32": 32, "f64": 64}


def _value(v: dict) -> int:
    return int(v["value"]) & ((1 << _WIDTH[v["type"]]) - 1)


def _matches(expected: dict, got: int) -> bool:
    t, value = expected["type"], expected["value"]
    if value.startswith("nan:"):
        is_nan = N.f32_is_nan if t == "f32" else N.f64_is_nan
        if not is_nan(got):
            return False
        if value == "nan:canonical":
            return got & ((1 << (_WIDTH[t] - 1)) - 1) == (0x7FC00000 if t == "f32"
                                                           else 0x7FF8000000000000)
        return True
    return got == _value(expected)


def run_spec_file(name: str, mode: str, target: str = "x86_64") -> int:
    """Run one spec script through `target` (mode "native" or "unicorn"); assert no failure;
    returns the number of assertions passed."""
    wast = SUITE_DIR / f"{name}.wast"
    assert wast.exists(), f"{wast} is not in the suite"
    jpath = converted(wast)
    script = json.loads(jpath.read_text())
    harness, exports = None, {}
    passed = failed = 0
    failures = []
    for cmd in script["commands"]:
        kind = cmd["type"]
        if kind == "module":
            if harness is not None:
                harness.close()
            harness, exports = None, {}
            if cmd.get("name"):
                continue
            try:
                module = decode((jpath.parent / cmd["filename"]).read_bytes())
                harness = harness_for_module(module, emulate=(mode == "unicorn"),
                                             target=target)
            except UnsupportedError:
                continue
            exports = {e.name: e.index for e in module.exports if e.kind == 0}
            continue
        if kind not in ("assert_return", "assert_trap", "action"):
            continue
        action = cmd["action"]
        if harness is None or action.get("module") or action["type"] != "invoke":
            continue
        if action["field"] not in exports:
            continue
        args = action.get("args", [])
        expected = cmd.get("expected", [])
        if any(a["type"] not in NUMERIC for a in args + expected):
            continue
        try:
            got = harness.call(exports[action["field"]], *[_value(a) for a in args])
        except UnsupportedError:
            # the module's state is unknown from here on (e.g. a memory.init the harness
            # cannot do): skip the rest of its commands
            harness.close()
            harness = None
            continue
        except Trap as e:
            if kind == "assert_trap" and cmd.get("text", "") in e.message:
                passed += 1
            elif kind == "assert_trap":
                failed += 1
                failures.append((cmd["line"], action["field"],
                                 f"trap {e.message!r}, wanted {cmd.get('text')!r}"))
            else:
                failed += 1
                failures.append((cmd["line"], action["field"], f"trap {e}"))
            continue
        except WasmError as e:
            failed += 1
            failures.append((cmd["line"], action["field"], f"error {e}"))
            continue
        if kind == "assert_trap":
            failed += 1
            failures.append((cmd["line"], action["field"], f"returned {got}, wanted a trap"))
        elif kind == "assert_return":
            if len(got) == len(expected) and all(_matches(e, g) for e, g in zip(expected, got)):
                passed += 1
            else:
                failed += 1
                failures.append((cmd["line"], action["field"], f"got {got} want {expected}"))
    if harness is not None:
        harness.close()
    assert not failures, failures[:10]
    assert passed, f"{name}: nothing the harness can run (drop it from FILES)"
    print(f"{name}: {passed} assertions passed")
    return passed
