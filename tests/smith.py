"""Random modules from wasm-smith (`wasm-tools smith`) and the view of one engine's instance
that differential tests compare (tests/runtime/test_smith_differential.py against wasmtime,
tests/exec/test_tierup_smith.py between polyjit's executors): instantiate, call every
export, read globals, memories and tables. Tables and memories get a declared maximum so that
growth limits (which the spec leaves to the implementation) cannot differ, and a
STACK_OVERFLOW on both sides counts as agreement (stack limits differ too)."""

from __future__ import annotations

import hashlib
import math
import random
import struct
import subprocess

import pytest
from tools import find_tool

WASM_TOOLS = find_tool("wasm-tools")

SMITH_FLAGS = [
    "--ensure-termination", "--export-everything", "true", "--max-imports", "0",
    "--simd-enabled", "false", "--relaxed-simd-enabled", "false", "--threads-enabled", "false",
    "--shared-everything-threads-enabled", "false", "--tail-call-enabled", "false",
    "--exceptions-enabled", "false", "--gc-enabled", "false", "--memory64-enabled", "false",
    "--custom-page-sizes-enabled", "false", "--wide-arithmetic-enabled", "false",
    "--extended-const-enabled", "false", "--max-memories", "1", "--canonicalize-nans", "true",
    "--max-memory32-bytes", str(4 << 20), "--max-table-elements", "1000",
    "--table-max-size-required", "true", "--memory-max-size-required", "true",
    "--reference-types-enabled", "true", "--bulk-memory-enabled", "true",
    "--multi-value-enabled", "true", "--min-funcs", "4", "--max-funcs", "12", "--max-instructions", "400",
]


#: The same with 64-bit memories and tables (memory64) allowed.
MEMORY64_FLAGS = [*(("true" if SMITH_FLAGS[i - 1] == "--memory64-enabled" else flag)
                    for i, flag in enumerate(SMITH_FLAGS)),
                  "--max-memory64-bytes", str(4 << 20)]


def smith(seed: int, flags: list[str] = SMITH_FLAGS) -> bytes:
    data = random.Random(seed).randbytes(3000)
    proc = subprocess.run([str(WASM_TOOLS), "smith", *flags], input=data,
                          capture_output=True, timeout=60)
    if proc.returncode != 0:
        pytest.fail(f"wasm-tools smith failed: {proc.stderr.decode()[:500]}")
    return proc.stdout


def zero(t: str):
    return {"i32": 0, "i64": 0, "f32": 0.0, "f64": 0.0}.get(t)


def norm(t: str, v):
    """A comparable form of a result: bits for floats (NaN as one value), identity-free refs."""
    if t in ("f32", "f64"):
        if math.isnan(v):
            return "nan"
        return struct.pack("<d", v)
    if t not in ("i32", "i64"):              # a reference (wasmtime-py prints externref oddly)
        if type(v).__name__ == "Val":       # wasmtime-py wraps null references read from globals
            v = v.value
        return v is None
    return v


class Side:
    """One engine's view of the module: instantiate, call exports, read state."""

    def __init__(self, api, store, module_bytes, trap_type, error_type):
        self.api, self.store, self.trap, self.error = api, store, trap_type, error_type
        self.module = api.Module(store.engine, module_bytes)
        self.instance = None

    def instantiate(self):
        try:
            self.instance = self.api.Instance(self.store, self.module, [])
            return ("ok",)
        except self.trap as e:
            return ("trap", trap_code(e))

    def exports(self):
        return self.instance.exports(self.store)

    def call(self, name):
        f = self.exports()[name]
        ty = f.type(self.store)
        args = [zero(str(p)) for p in ty.params]
        try:
            raw = f(self.store, *args)
        except self.trap as e:
            return ("trap", trap_code(e))
        results = [] if raw is None else list(raw) if len(ty.results) > 1 else [raw]
        return ("ok", [norm(str(t), v) for t, v in zip(ty.results, results)])

    def state(self):
        out = []
        for name, item in self.exports().items():
            if isinstance(item, self.api.Global):
                out.append((name, norm(str(item.type(self.store).content), item.value(self.store))))
            elif isinstance(item, self.api.Memory):
                out.append((name, item.data_len(self.store),
                            hashlib.sha256(bytes(item.read(self.store, 0))).hexdigest()))
            elif isinstance(item, self.api.Table):
                size = item.size(self.store)
                out.append((name, size))
        return out


def trap_code(e) -> str | None:
    code = getattr(e, "trap_code", None)
    return getattr(code, "name", None)


def agree(mine, theirs, where):
    if mine[0] == "trap" or theirs[0] == "trap":
        if "STACK_OVERFLOW" in (mine[-1], theirs[-1]) and mine[0] == theirs[0] == "trap":
            return        # the two engines' stack limits differ
        assert mine == theirs, where
    else:
        assert mine == theirs, where


