"""Every non-memory SIMD opcode compiled to aarch64 and run under Unicorn on lanes of edge values
(0, 1, -1, the signed and unsigned bounds, NaN payloads, -0.0, infinities, subnormals, values
at the trunc_sat bounds), against the executable semantics engine.ir.simd_numerics; shift
counts and lanes as constants too (the folded forms), and shuffles of several shapes (the tbl
and tbl + tbx forms). Float lanes that should be NaN may be any quiet NaN (wasm's arithmetic
NaN) for the arithmetic float operators; everything else must match bit for bit."""

from __future__ import annotations

import random

import pytest

from backends.aarch64.isel_simd import _PERMUTES
from engine import Config, Engine, Instance, Module, Store
from engine.ir.ir import ImmKind, Opcode
from engine.ir.simd import SIGNATURES, lane_count, shape_of
from engine.ir.simd_numerics import SIMD_FUNCS, join
from engine.wasm.types import ValType

from backend_ops import FLOAT_EDGES

_INT_LANE_EDGES = {8: [0, 1, 0x7F, 0x80, 0xFF, 0x81, 0x7E],
                   16: [0, 1, 0x7FFF, 0x8000, 0xFFFF, 0x8001, 0x00FF, 0x4000],
                   32: [0, 1, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x0000_8000, 0xFFFF_7FFF],
                   64: [0, 1, (1 << 63) - 1, 1 << 63, (1 << 64) - 1, 0xFFFF_FFFF,
                        0x1_0000_0000]}
_SHUFFLES = [tuple(range(16)), tuple(range(16, 32)), tuple(i ^ 1 for i in range(16)),
             (0, 17, 2, 19, 4, 21, 6, 23, 8, 25, 10, 27, 12, 29, 14, 31),
             (31, 0, 30, 1, 29, 2, 28, 3, 27, 4, 26, 5, 25, 6, 24, 7),
             tuple(range(3, 19)), (5,) * 16,
             # one permute each: zip1 .8h, uzp2 .4s, trn1 .16b, zip2 .2d (b, a), ext (b, a),
             # rev64 .4s, dup .4s lane 3, zip1 of a with itself; then no permute (tbl)
             (0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23),
             (4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31),
             (0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30),
             (24, 25, 26, 27, 28, 29, 30, 31, 8, 9, 10, 11, 12, 13, 14, 15),
             (29, 30, 31, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
             (4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11),
             (12, 13, 14, 15) * 4, (0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7),
             (1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 31)]
#: float operators whose NaN results are any arithmetic (quiet) NaN, not one bit pattern
_LOOSE = {"add", "sub", "mul", "div", "sqrt", "min", "max", "ceil", "floor", "trunc",
          "nearest", "demote_f64x2_zero", "promote_low_f32x4", "convert_i32x4_s"}


def _v128_samples(rng: random.Random, n: int) -> list[int]:
    """v128 values whose lanes (at a random width, or float lanes) are edge values."""
    out = [0, (1 << 128) - 1]
    pools = [(bits, _INT_LANE_EDGES[bits]) for bits in (8, 16, 32, 64)]
    pools += [(32, FLOAT_EDGES["f32"]), (64, FLOAT_EDGES["f64"])]
    while len(out) < n:
        bits, pool = rng.choice(pools)
        lanes = [rng.choice(pool) if rng.random() < 0.8 else rng.getrandbits(bits)
                 for _ in range(128 // bits)]
        out.append(join(lanes, bits))
    return out


def _scalar_samples(t: ValType, rng: random.Random) -> list[int]:
    bits = 32 if t in (ValType.I32, ValType.F32) else 64
    if t in (ValType.F32, ValType.F64):
        return FLOAT_EDGES["f32" if bits == 32 else "f64"][:8]
    return [0, 1, (1 << bits) - 1, 1 << (bits - 1), rng.getrandbits(bits), 7, 15, 33]


_WAT_TYPE = {ValType.V128: "v128", ValType.I32: "i32", ValType.I64: "i64",
             ValType.F32: "i32", ValType.F64: "i64"}


def _cases() -> list[tuple]:
    """(export name, opcode, immediate, parameter types, constant operands by position)."""
    out = []
    for op in sorted(SIMD_FUNCS, key=lambda o: o.value):
        params, _ = SIGNATURES[op]
        kind = op.info.imm
        if kind is ImmKind.LANE:
            n = lane_count(op)
            imms = sorted({0, n // 2 + 1, n - 1} & set(range(n)))
        elif kind is ImmKind.SHUFFLE:
            imms = _SHUFFLES
        else:
            imms = [None]
        for imm in imms:
            out.append((f"c{len(out)}", op, imm, params, {}))
        rest = op.value.split(".", 1)[1]
        if rest in ("shl", "shr_s", "shr_u"):
            bits = shape_of(op).bits
            for count in (0, 1, bits - 1, bits, bits + 3, 255):
                out.append((f"c{len(out)}", op, None, params, {1: count}))
        if rest == "splat" and not shape_of(op).is_float:
            out.append((f"c{len(out)}", op, None, params, {0: 0x8081_8283_8485_8687 & (
                (1 << (64 if params[0] is ValType.I64 else 32)) - 1)}))
    return out


def _func(name: str, op: Opcode, imm, params, consts: dict[int, int]) -> str:
    sig = " ".join(_WAT_TYPE[t] for k, t in enumerate(params) if k not in consts)
    _, results = SIGNATURES[op]
    operands, k = [], 0
    for pos, t in enumerate(params):
        if pos in consts:
            operands.append(f"({_WAT_TYPE[t]}.const {consts[pos]})")
            continue
        get = f"(local.get {k})"
        k += 1
        if t is ValType.F32:
            get = f"(f32.reinterpret_i32 {get})"
        elif t is ValType.F64:
            get = f"(f64.reinterpret_i64 {get})"
        operands.append(get)
    imm_text = "" if imm is None else (" ".join(map(str, imm)) if isinstance(imm, tuple)
                                       else str(imm))
    body = f"({op.value} {imm_text} {' '.join(operands)})"
    rt = results[0]
    if rt is ValType.F32:
        body = f"(i32.reinterpret_f32 {body})"
    elif rt is ValType.F64:
        body = f"(i64.reinterpret_f64 {body})"
    return (f'(func (export "{name}") (param {sig}) (result {_WAT_TYPE[rt]})\n  {body})'
            if sig else f'(func (export "{name}") (result {_WAT_TYPE[rt]})\n  {body})')


CASES = _cases()


@pytest.fixture(scope="module")
def exports():
    wat = "(module\n" + "\n".join(_func(*c) for c in CASES) + "\n)"
    engine = Engine(Config(strategy="compiler", target="aarch64"))
    store = Store(engine)
    return store, Instance(store, Module(engine, wat), []).exports(store)


def _signed(x: int, t: ValType) -> int:
    """An i32/i64 argument as the API takes it (v128 values cross unsigned)."""
    if t is ValType.V128:
        return x
    bits = 32 if _WAT_TYPE[t] == "i32" else 64
    return x - (1 << bits) if x >> (bits - 1) else x


def _is_quiet_nan(x: int, bits: int) -> bool:
    exp = 0xFF if bits == 32 else 0x7FF
    frac = bits - 1 - (8 if bits == 32 else 11)
    return (x >> frac) & exp == exp and (x >> (frac - 1)) & 1 == 1


def _same(op: Opcode, got: int, want: int) -> bool:
    if got == want:
        return True
    shape = shape_of(op)
    if shape is None or not shape.is_float or op.value.split(".", 1)[1] not in _LOOSE:
        return False
    bits = shape.bits
    mask = (1 << bits) - 1
    for i in range(0, 128, bits):
        g, w = (got >> i) & mask, (want >> i) & mask
        if g != w and not (_is_quiet_nan(w, bits) and _is_quiet_nan(g, bits)):
            return False
    return True


def test_every_simd_opcode_is_covered():
    assert {c[1] for c in CASES} == set(SIMD_FUNCS)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[1].value}-{c[2]}-{c[4]}")
def test_simd_op_matches_numerics(exports, case):
    store, ex = exports
    name, op, imm, params, consts = case
    rng = random.Random(name)
    free = [t for k, t in enumerate(params) if k not in consts]
    ref = SIMD_FUNCS[op]
    scalar = {t: _scalar_samples(t, rng) for t in free if t is not ValType.V128}
    vectors = _v128_samples(rng, 24 if len(free) > 1 else 40)
    checked = 0
    for trial in range(len(vectors)):
        args = []
        for k, t in enumerate(free):
            if t is ValType.V128:
                args.append(vectors[(trial * (k + 1) + k * 7) % len(vectors)])
            else:
                args.append(scalar[t][trial % len(scalar[t])])
        full, it = [], iter(args)
        for k in range(len(params)):
            full.append(consts[k] if k in consts else next(it))
        want = ref(*full) if imm is None else ref(*full, imm)
        got = ex[name](store, *(_signed(a, t) for a, t in zip(args, free)))
        rt = _WAT_TYPE[SIGNATURES[op][1][0]]
        if rt != "v128":
            got &= (1 << (32 if rt == "i32" else 64)) - 1
        assert _same(op, got, want), (op.value, imm, [hex(a) for a in args], hex(got),
                                      hex(want))
        checked += 1
    assert checked > 0


def test_every_single_permute_shuffle():
    # each mask isel_simd lowers to one permute instruction, run against the definition
    masks = sorted(_PERMUTES)
    wat = "(module\n" + "\n".join(
        f'(func (export "s{k}") (param v128 v128) (result v128)\n'
        f'  (i8x16.shuffle {" ".join(map(str, m))} (local.get 0) (local.get 1)))'
        for k, m in enumerate(masks)) + "\n)"
    engine = Engine(Config(strategy="compiler", target="aarch64"))
    store = Store(engine)
    ex = Instance(store, Module(engine, wat), []).exports(store)
    a = int.from_bytes(bytes(range(0x10, 0x20)), "little")
    b = int.from_bytes(bytes(range(0xA0, 0xB0)), "little")
    shuffle = SIMD_FUNCS[Opcode.I8X16_SHUFFLE]
    for k, m in enumerate(masks):
        assert ex[f"s{k}"](store, a, b) == shuffle(a, b, m), (m, _PERMUTES[m])
