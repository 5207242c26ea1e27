"""Decoder throughput: generate a large, valid, code-heavy module and report decode (and validate,
when engine/wasm/validator.py exists) speed in MB/s at 1x, 2x and 4x size, to show linearity.

Times are CPU seconds of this process (time.process_time), best of --repeat runs, so that other
work on a shared machine disturbs them less. The module is generated from a fixed seed per size.

Run: python benchmarks/decode_throughput.py [--mb 2] [--repeat 3]"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.config import Features  # noqa: E402
from engine.wasm.decoder import decode  # noqa: E402


def uleb(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def sleb(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if (v == 0 and not b & 0x40) or (v == -1 and b & 0x40):
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)


I32, I64, F32, F64 = 0x7F, 0x7E, 0x7D, 0x7C
# Locals of every generated function: params 0-1 are i32, then these runs.
LOCAL_RUNS = ((4, I32), (2, I64), (2, F32), (2, F64))
LOCALS = {I32: [0, 1, 2, 3, 4, 5], I64: [6, 7], F32: [8, 9], F64: [10, 11]}
BINOPS = {I32: [0x6A, 0x6B, 0x6C, 0x71, 0x72, 0x73, 0x74, 0x76],
          I64: [0x7C, 0x7D, 0x7E, 0x83, 0x84, 0x85, 0x86],
          F32: [0x92, 0x93, 0x94, 0x95, 0x96, 0x97],
          F64: [0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5]}
LOADS = {I32: 0x28, I64: 0x29, F32: 0x2A, F64: 0x2B}
STORES = {I32: 0x36, I64: 0x37, F32: 0x38, F64: 0x39}
ALIGN = {I32: 2, I64: 3, F32: 2, F64: 3}
CMP_TO_I32 = {I32: [0x46, 0x48, 0x4B], I64: [0x51, 0x53, 0x56], F32: [0x5B, 0x5D],
              F64: [0x61, 0x63]}
CONVERT = {(I64, I32): 0xAC, (I32, I64): 0xA7, (F32, I32): 0xB2, (F64, I32): 0xB7,
           (F64, F32): 0xBB, (F32, F64): 0xB6, (I32, F32): 0xBC, (I64, F64): 0xBD}


class BodyGen:
    """Random but valid function bodies (every expression is typed as it is built)."""

    def __init__(self, rng: random.Random, nfuncs: int) -> None:
        self.rng = rng
        self.nfuncs = nfuncs

    def expr(self, t: int, depth: int) -> bytes:
        rng = self.rng
        r = rng.random()
        if depth <= 0 or r < 0.25:
            if rng.random() < 0.5:
                return b"\x20" + uleb(rng.choice(LOCALS[t]))
            return self.const(t)
        sub = depth - 1
        if r < 0.65:
            return self.expr(t, sub) + self.expr(t, sub) + bytes([rng.choice(BINOPS[t])])
        if r < 0.75:
            offset = uleb(rng.randrange(0, 4096, 8))
            return self.expr(I32, sub) + bytes([LOADS[t], ALIGN[t]]) + offset
        if r < 0.85 and t == I32:
            u = rng.choice([I32, I64, F32, F64])
            return self.expr(u, sub) + self.expr(u, sub) + bytes([rng.choice(CMP_TO_I32[u])])
        if r < 0.9 and t == I32:
            callee = uleb(rng.randrange(self.nfuncs))
            return self.expr(I32, sub) + self.expr(I32, sub) + b"\x10" + callee
        if r < 0.95:
            srcs = [s for (d, s) in CONVERT if d == t]
            if srcs:
                s = rng.choice(srcs)
                return self.expr(s, depth - 1) + bytes([CONVERT[(t, s)]])
        return (self.expr(t, depth - 1) + self.expr(t, depth - 1) + self.expr(I32, depth - 1)
                + b"\x1b")                                                   # select

    def const(self, t: int) -> bytes:
        rng = self.rng
        if t == I32:
            return b"\x41" + sleb(rng.randrange(-(1 << 31), 1 << 31) if rng.random() < 0.3
                                  else rng.randrange(-64, 200))
        if t == I64:
            return b"\x42" + sleb(rng.randrange(-(1 << 63), 1 << 63) if rng.random() < 0.3
                                  else rng.randrange(-64, 200))
        if t == F32:
            return b"\x43" + rng.randbytes(4)
        return b"\x44" + rng.randbytes(8)

    def stmt(self, depth: int) -> bytes:
        rng = self.rng
        r = rng.random()
        t = rng.choice([I32, I32, I32, I64, F32, F64])
        if r < 0.5 or depth <= 0:
            return self.expr(t, 3) + b"\x21" + uleb(rng.choice(LOCALS[t]))
        if r < 0.7:
            return (self.expr(I32, 2) + self.expr(t, 2) + bytes([STORES[t], ALIGN[t]])
                    + uleb(rng.randrange(0, 4096, 8)))
        if r < 0.8:
            inner = b"".join(self.stmt(depth - 1) for _ in range(rng.randrange(1, 4)))
            return b"\x03\x40" + inner + self.expr(I32, 2) + b"\x0d\x00\x0b"   # loop ... br_if 0
        if r < 0.9:
            then = b"".join(self.stmt(depth - 1) for _ in range(rng.randrange(1, 3)))
            other = b"".join(self.stmt(depth - 1) for _ in range(rng.randrange(1, 3)))
            return self.expr(I32, 2) + b"\x04\x40" + then + b"\x05" + other + b"\x0b"
        inner = b"".join(self.stmt(depth - 1) for _ in range(rng.randrange(1, 4)))
        return b"\x02\x40" + inner + self.expr(I32, 2) + b"\x0d\x00\x0b"       # block ... br_if 0

    def body(self) -> bytes:
        locals_ = uleb(len(LOCAL_RUNS)) + b"".join(uleb(n) + bytes([t]) for n, t in LOCAL_RUNS)
        code = b"".join(self.stmt(3) for _ in range(self.rng.randrange(8, 24)))
        return locals_ + code + b"\x20\x00\x0b"


def section(sec_id: int, payload: bytes) -> bytes:
    return bytes([sec_id]) + uleb(len(payload)) + payload


def generate(target_bytes: int, seed: int = 1) -> bytes:
    """A valid module with roughly `target_bytes` of code: functions (i32, i32) -> i32."""
    rng = random.Random(seed)
    bodies: list[bytes] = []
    total = 0
    # the number of functions is not known up front; call targets stay below 1000 and the
    # generator stops adding once enough bytes exist (at least 1000 functions are made)
    gen = BodyGen(rng, 1000)
    while total < target_bytes or len(bodies) < 1000:
        b = gen.body()
        bodies.append(uleb(len(b)) + b)
        total += len(bodies[-1])
    n = len(bodies)
    types = section(1, b"\x01\x60\x02\x7f\x7f\x01\x7f")
    funcs = section(3, uleb(n) + b"\x00" * n)
    memory = section(5, b"\x01\x00\x01")
    exports = section(7, b"\x01\x04main\x00\x00")
    code = section(10, uleb(n) + b"".join(bodies))
    return b"\x00asm\x01\x00\x00\x00" + types + funcs + memory + exports + code


def _load_validator():
    try:
        from engine.wasm.validator import validate
    except ImportError:
        return None
    return validate


def measure(data: bytes, repeat: int) -> tuple[float, float | None, int]:
    features = Features()
    validate = _load_validator()
    best_dec = best_val = float("inf")
    ninstr = 0
    for _ in range(repeat):
        t0 = time.process_time()
        module = decode(data, features)
        t1 = time.process_time()
        best_dec = min(best_dec, t1 - t0)
        ninstr = sum(len(c.body) for c in module.codes)
        if validate is not None:
            t2 = time.process_time()
            validate(module, features)
            best_val = min(best_val, time.process_time() - t2)
        del module
    return best_dec, (best_val if validate is not None else None), ninstr


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mb", type=float, default=2.0, help="size of the 1x module in MB")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    base = int(args.mb * 1_000_000)
    print(f"{'size':>6} {'bytes':>10} {'instrs':>9} {'decode s':>9} {'decode MB/s':>11} "
          f"{'validate MB/s':>13} {'us/instr':>8}")
    for factor in (1, 2, 4):
        data = generate(base * factor, seed=factor)
        dec, val, ninstr = measure(data, args.repeat)
        mb = len(data) / 1e6
        val_s = f"{mb / val:13.2f}" if val else f"{'n/a':>13}"
        print(f"{factor:>5}x {len(data):>10} {ninstr:>9} {dec:>9.3f} {mb / dec:>11.2f} {val_s} "
              f"{dec / ninstr * 1e6:>8.3f}")


if __name__ == "__main__":
    main()
