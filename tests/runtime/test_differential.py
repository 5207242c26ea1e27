"""Differential test: random wasm functions (arithmetic on all four number types, locals, if,
loops with a bounded trip count, memory loads/stores, calls) run on polyjit's interpreter and
on wasmtime, compared bit for bit (float results NaN-for-NaN: the spec lets NaN bits differ)."""

from __future__ import annotations

import math
import random
import struct

import pytest

import engine

wasmtime = pytest.importorskip("wasmtime")

TYPES = ("i32", "i64", "f32", "f64")
BIN = {
    "i32": ["add", "sub", "mul", "and", "or", "xor", "shl", "shr_s", "shr_u", "rotl", "rotr",
            "div_s", "div_u", "rem_s", "rem_u"],
    "f32": ["add", "sub", "mul", "div", "min", "max"],
}
BIN["i64"] = BIN["i32"]
BIN["f64"] = BIN["f32"]
UN = {"i32": ["clz", "ctz", "popcnt", "eqz", "extend8_s", "extend16_s"],
      "i64": ["clz", "ctz", "popcnt", "extend8_s", "extend16_s", "extend32_s"],
      "f32": ["abs", "neg", "sqrt", "ceil", "floor", "trunc", "nearest"]}
UN["f64"] = UN["f32"]
CMP = {"i32": ["eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u"],
       "f32": ["eq", "ne", "lt", "gt", "le", "ge"]}
CMP["i64"] = CMP["i32"]
CMP["f64"] = CMP["f32"]
CONV = {  # result type -> [(instr, operand type)]
    "i32": [("i32.wrap_i64", "i64"), ("i32.trunc_f32_s", "f32"), ("i32.trunc_f64_u", "f64"),
            ("i32.trunc_sat_f32_u", "f32"), ("i32.trunc_sat_f64_s", "f64")],
    "i64": [("i64.extend_i32_s", "i32"), ("i64.extend_i32_u", "i32"), ("i64.trunc_f64_s", "f64"),
            ("i64.trunc_sat_f32_s", "f32"), ("i64.trunc_sat_f64_u", "f64")],
    "f32": [("f32.convert_i32_s", "i32"), ("f32.convert_i64_u", "i64"), ("f32.demote_f64", "f64"),
            ("f32.convert_i64_s", "i64")],
    "f64": [("f64.convert_i32_u", "i32"), ("f64.convert_i64_s", "i64"), ("f64.promote_f32", "f32"),
            ("f64.convert_i64_u", "i64")],
}


class Gen:
    def __init__(self, rng: random.Random, nparams: int) -> None:
        self.rng = rng
        self.locals = [rng.choice(TYPES) for _ in range(nparams + 3)]
        self.nparams = nparams

    def const(self, t: str) -> str:
        r = self.rng
        if t in ("i32", "i64"):
            v = r.choice([0, 1, -1, 2, 7, 31, 32, 63, 64, 0x7FFFFFFF, -0x80000000,
                          r.getrandbits(32), r.getrandbits(64) - (1 << 63), r.randrange(-100, 100)])
            if t == "i32":
                v = (v + (1 << 31)) % (1 << 32) - (1 << 31)
            return f"({t}.const {v})"
        v = r.choice([0.0, -0.0, 0.5, -1.5, 2.5, 1e10, -3e9, 4294967296.0, math.inf, -math.inf,
                      r.uniform(-1e6, 1e6), r.uniform(-1, 1)])
        return f"({t}.const {v!r})".replace("inf", "inf").replace("(f32.const -inf)", "(f32.const -inf)")

    def expr(self, t: str, depth: int) -> str:
        r = self.rng
        if depth <= 0 or r.random() < 0.15:
            idx = [i for i, lt in enumerate(self.locals) if lt == t]
            if idx and r.random() < 0.6:
                return f"(local.get {r.choice(idx)})"
            return self.const(t)
        k = r.random()
        d = depth - 1
        if k < 0.35:
            return f"({t}.{r.choice(BIN[t])} {self.expr(t, d)} {self.expr(t, d)})"
        if k < 0.5:
            return f"({t}.{r.choice(UN[t])} {self.expr(t, d)})"
        if k < 0.6 and t == "i32":
            ot = r.choice(TYPES)
            return f"({ot}.{r.choice(CMP[ot])} {self.expr(ot, d)} {self.expr(ot, d)})"
        if k < 0.7:
            ins, ot = r.choice(CONV[t])
            return f"({ins} {self.expr(ot, d)})"
        if k < 0.78:
            return (f"(if (result {t}) {self.expr('i32', d)} (then {self.expr(t, d)}) "
                    f"(else {self.expr(t, d)}))")
        if k < 0.84:
            return f"(select {self.expr(t, d)} {self.expr(t, d)} {self.expr('i32', d)})"
        if k < 0.9:
            idx = [i for i, lt in enumerate(self.locals) if lt == t]
            if idx:
                return f"(local.tee {r.choice(idx)} {self.expr(t, d)})"
        if k < 0.95:
            addr = f"(i32.and {self.expr('i32', d)} (i32.const 0xfff8))"
            return f"({t}.load offset={r.choice([0, 3, 8])} {addr})"
        if k < 0.98 and t == "i32":
            # a bounded loop: runs (x & 7) times, accumulating into local 0's slot via the stack
            return (f"(block (result i32) (local.set {self.counter} (i32.and {self.expr('i32', d)} "
                    f"(i32.const 7))) (loop $l (result i32) (local.set {self.counter} "
                    f"(i32.sub (local.get {self.counter}) (i32.const 1))) "
                    f"(br_if $l (i32.gt_s (local.get {self.counter}) (i32.const 0))) "
                    f"{self.expr('i32', d)}))")
        return f"(call $h_{t} {self.expr(t, d)})"

    def stmt(self, depth: int) -> str:
        r = self.rng
        t = r.choice(TYPES)
        if r.random() < 0.5:
            i = r.randrange(len(self.locals))
            return f"(local.set {i} {self.expr(self.locals[i], depth)})"
        addr = f"(i32.and {self.expr('i32', depth)} (i32.const 0xfff8))"
        return f"({t}.store offset=8 {addr} {self.expr(t, depth)})"

    def module(self, result: str) -> str:
        params = self.locals[:self.nparams]
        extra = self.locals[self.nparams:]
        self.counter = len(self.locals)
        body = " ".join(self.stmt(3) for _ in range(self.rng.randrange(1, 5)))
        body += " " + self.expr(result, 5)
        helpers = " ".join(
            f"(func $h_{t} (param {t}) (result {t}) "
            f"({t}.{'add' if t[0] == 'i' else 'mul'} (local.get 0) {self.const(t)}))" for t in TYPES)
        return (f"(module (memory 1) {helpers} "
                f"(func (export \"f\") (param {' '.join(params)}) (result {result}) "
                f"(local {' '.join(extra)} i32) {body}))")


def _bits(t: str, v) -> int:
    if t == "f32":
        return struct.unpack("<I", struct.pack("<f", v))[0]
    if t == "f64":
        return struct.unpack("<Q", struct.pack("<d", v))[0]
    return v


def _arg(t: str, rng: random.Random):
    if t == "i32":
        return rng.choice([0, 1, -1, rng.getrandbits(31), -rng.getrandbits(31), 100])
    if t == "i64":
        return rng.choice([0, 1, -1, rng.getrandbits(63), -rng.getrandbits(63), 1000])
    return rng.choice([0.0, -0.0, 1.5, -2.25, 1e20, rng.uniform(-1e3, 1e3)])


def _outcome(fn, store, args, trap_types):
    try:
        return ("ok", fn(store, *args))
    except trap_types as e:
        code = getattr(e, "trap_code", None)
        return ("trap", getattr(code, "name", None))


@pytest.mark.parametrize("seed", range(120))
def test_random_function_matches_wasmtime(seed):
    rng = random.Random(seed)
    gen = Gen(rng, rng.randrange(0, 4))
    result = rng.choice(TYPES)
    wat = gen.module(result)
    params = gen.locals[:gen.nparams]

    wstore = wasmtime.Store()
    wf = wasmtime.Instance(wstore, wasmtime.Module(wstore.engine, wat), []).exports(wstore)["f"]
    store = engine.Store(engine.Engine(engine.Config(strategy="interpreter")))
    inst = engine.Instance(store, engine.Module(store.engine, engine.wat2wasm(wat)), [])
    pf = inst.exports(store)["f"]

    for _ in range(6):
        args = [_arg(t, rng) for t in params]
        want = _outcome(wf, wstore, args, (wasmtime.Trap,))
        got = _outcome(pf, store, args, (engine.Trap,))
        assert got[0] == want[0], (wat, args, got, want)
        if want[0] == "trap":
            assert got[1] == want[1], (wat, args, got, want)
        elif result in ("f32", "f64") and math.isnan(want[1]):
            assert math.isnan(got[1]), (wat, args, got, want)
        else:
            assert _bits(result, got[1]) == _bits(result, want[1]), (wat, args, got, want)
