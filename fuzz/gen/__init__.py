"""Module sources for the fuzzer: the WAT generator (wat.py) driven by a Chooser
(choosers.py; hypothesis, seeded random or raw bytes), and wasm-smith (smith.py)."""

from __future__ import annotations

import math

from ..case import Call, Case
from ..values import Value, f32_bits, f64_bits
from .choosers import BytesChooser, Chooser, HypothesisChooser, RandomChooser, pick
from .wat import FLOAT_EDGES, I32_EDGES, I64_EDGES, GeneratedModule, Limits, generate

__all__ = ["Chooser", "BytesChooser", "HypothesisChooser", "RandomChooser", "Limits",
           "generate", "argument", "generated_case", "assemble"]

#: f32 arguments cross the API as Python floats: only values exact in f32 keep their bits,
#: and NaNs are passed as the canonical quiet NaN (a signalling payload would be quieted).
_ARG_FLOATS = tuple(x for x in FLOAT_EDGES if not math.isnan(x))


def argument(c: Chooser, ty: str) -> Value:
    """An argument of type `ty`: edge values most of the time, else random bits."""
    k = c.integer(0, 9)
    if ty == "i32":
        v = pick(c, I32_EDGES) if k < 7 else c.integer(-(1 << 31), (1 << 31) - 1)
        return Value(ty, (v + (1 << 31)) % (1 << 32) - (1 << 31))
    if ty == "i64":
        v = pick(c, I64_EDGES) if k < 7 else c.integer(-(1 << 63), (1 << 63) - 1)
        return Value(ty, (v + (1 << 63)) % (1 << 64) - (1 << 63))
    if ty == "f32":
        if k == 9:
            return Value(ty, 0x7FC00000 | (c.integer(0, 1) << 31))
        x = pick(c, _ARG_FLOATS) if k < 6 else math.ldexp(c.integer(-(1 << 23), 1 << 23), c.integer(-40, 40))
        try:
            return Value(ty, f32_bits(x))
        except OverflowError:
            return Value(ty, 0x7F800000 if x > 0 else 0xFF800000)
    if ty == "f64":
        if k == 9:
            return Value(ty, 0x7FF8000000000000 | (c.integer(0, 1) << 63))
        x = pick(c, _ARG_FLOATS) if k < 6 else math.ldexp(c.integer(-(1 << 52), 1 << 52), c.integer(-60, 60))
        return Value(ty, f64_bits(x))
    return Value(ty, None)


def assemble(wat: str) -> bytes:
    """WAT -> binary, with wasmtime's parser when installed (an independent reader), else
    polyjit's own."""
    try:
        import wasmtime
    except ImportError:
        import engine
        return bytes(engine.wat2wasm(wat))
    return bytes(wasmtime.wat2wasm(wat))


def calls_for(c: Chooser, module: GeneratedModule, max_calls: int) -> list[Call]:
    calls = []
    for _ in range(c.integer(1, max_calls)):
        f = pick(c, module.funcs)
        calls.append(Call(f.name, tuple(argument(c, p) for p in f.params)))
    return calls


def generated_case(c: Chooser, limits: Limits | None = None, source: str = "generated") -> Case:
    """A generated module and a call sequence, every decision taken from `c`."""
    limits = limits or Limits()
    module = generate(c, limits)
    return Case(assemble(module.wat), calls_for(c, module, limits.max_calls), wat=module.wat,
                source=source)
