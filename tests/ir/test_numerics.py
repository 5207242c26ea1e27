"""Exact wasm numerics (engine.ir.numerics): hand-checked cases, then a differential run of every
numeric instruction against wasmtime on special and random operands (via i32/i64 bit-pattern
wrappers, so NaN payloads cross unchanged)."""

from __future__ import annotations

import math
import random
import struct

import pytest

from engine.errors import Trap, TrapCode
from engine.ir import numerics as N
from engine.wasm.opcodes import BY_NAME
from engine.wasm.types import ValType


def f32(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def f64(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def trap_code(fn, *args):
    with pytest.raises(Trap) as info:
        fn(*args)
    return info.value.trap_code


# ---- hand-checked cases ---------------------------------------------------------------------

def test_integer_wraparound_and_shifts():
    assert N.i32_add(0xFFFF_FFFF, 1) == 0
    assert N.i32_sub(0, 1) == 0xFFFF_FFFF
    assert N.i64_mul(0x8000_0000_0000_0000, 2) == 0
    assert N.i32_shl(1, 33) == 2            # shift count mod 32
    assert N.i32_shr_s(0x8000_0000, 31) == 0xFFFF_FFFF
    assert N.i32_shr_u(0x8000_0000, 31) == 1
    assert N.i64_shr_s(0x8000_0000_0000_0000, 64) == 0x8000_0000_0000_0000
    assert N.i32_rotl(0x8000_0001, 1) == 3
    assert N.i32_rotr(1, 1) == 0x8000_0000
    assert N.i64_rotl(1, 65) == 2


def test_division_and_traps():
    assert N.i32_div_s(N.M32 - 6, 2) == N.M32 - 2      # -7 / 2 = -3 (toward zero)
    assert N.i32_rem_s(N.M32 - 6, 2) == N.M32           # -7 % 2 = -1 (sign of dividend)
    assert N.i32_rem_s(0x8000_0000, N.M32) == 0
    assert N.i32_div_u(N.M32, 2) == 0x7FFF_FFFF
    assert trap_code(N.i32_div_s, 0x8000_0000, N.M32) == TrapCode.INTEGER_OVERFLOW
    assert trap_code(N.i64_div_s, 1 << 63, N.M64) == TrapCode.INTEGER_OVERFLOW
    for fn in (N.i32_div_s, N.i32_div_u, N.i32_rem_s, N.i32_rem_u,
               N.i64_div_s, N.i64_div_u, N.i64_rem_s, N.i64_rem_u):
        assert trap_code(fn, 5, 0) == TrapCode.INTEGER_DIVISION_BY_ZERO


def test_bit_counts_and_sign_extension():
    assert N.i32_clz(0) == 32 and N.i64_clz(1) == 63
    assert N.i32_ctz(0) == 32 and N.i64_ctz(1 << 40) == 40
    assert N.i64_popcnt(N.M64) == 64
    assert N.i32_extend8_s(0x80) == 0xFFFF_FF80
    assert N.i32_extend16_s(0x1_7FFF) == 0x7FFF
    assert N.i64_extend32_s(0x8000_0000) == 0xFFFF_FFFF_8000_0000
    assert N.i64_extend_i32_s(0xFFFF_FFFF) == N.M64
    assert N.i64_extend_i32_u(0xFFFF_FFFF) == 0xFFFF_FFFF


def test_float_signed_zero_and_minmax():
    assert N.f32_min(f32(-0.0), f32(0.0)) == f32(-0.0)
    assert N.f32_min(f32(0.0), f32(-0.0)) == f32(-0.0)
    assert N.f64_max(f64(-0.0), f64(0.0)) == f64(0.0)
    assert N.f64_max(f64(0.0), f64(-0.0)) == f64(0.0)
    assert N.f32_add(f32(-0.0), f32(-0.0)) == f32(-0.0)
    assert N.f64_nearest(f64(-0.5)) == f64(-0.0)
    assert N.f64_nearest(f64(2.5)) == f64(2.0)
    assert N.f32_nearest(f32(3.5)) == f32(4.0)
    assert N.f32_ceil(f32(-0.5)) == f32(-0.0)
    assert N.f64_floor(f64(-0.5)) == f64(-1.0)
    assert N.f64_trunc(f64(-1.5)) == f64(-1.0)
    assert N.f32_sqrt(f32(-0.0)) == f32(-0.0)


def test_nan_rules():
    canonical = {N.F32_CANON, N.F32_CANON | N.F32_SIGN}
    assert N.f32_div(f32(0.0), f32(0.0)) in canonical
    assert N.f32_sqrt(f32(-1.0)) in canonical
    assert N.f64_sub(f64(math.inf), f64(math.inf)) in {N.F64_CANON, N.F64_CANON | N.F64_SIGN}
    snan = 0x7F80_0001
    r = N.f32_add(snan, f32(1.0))
    assert N.f32_is_nan(r) and r & N.F32_QUIET            # arithmetic NaN
    assert N.f32_neg(snan) == snan | N.F32_SIGN            # bit operation, payload kept
    assert N.f32_abs(0xFFC0_0001) == 0x7FC0_0001
    assert N.f32_copysign(snan, f32(-1.0)) == snan | N.F32_SIGN
    assert N.f32_eq(snan, snan) == 0 and N.f32_ne(snan, snan) == 1
    assert N.f64_lt(N.F64_CANON, f64(1.0)) == 0
    # demote / promote keep the NaN's sign and quiet it
    assert N.f32_demote_f64(N.F64_CANON | N.F64_SIGN) == N.F32_CANON | N.F32_SIGN
    assert N.f64_promote_f32(0x7F80_0001) & N.F64_QUIET


def test_trapping_truncation():
    assert N.i32_trunc_f32_s(f32(-2147483648.0)) == 0x8000_0000
    assert trap_code(N.i32_trunc_f32_s, f32(2147483648.0)) == TrapCode.INTEGER_OVERFLOW
    assert N.i32_trunc_f64_u(f64(-0.9)) == 0
    assert trap_code(N.i32_trunc_f64_u, f64(-1.0)) == TrapCode.INTEGER_OVERFLOW
    assert trap_code(N.i64_trunc_f64_s, f64(math.inf)) == TrapCode.INTEGER_OVERFLOW
    assert trap_code(N.i64_trunc_f32_u, N.F32_CANON) == TrapCode.BAD_CONVERSION_TO_INTEGER
    assert N.i64_trunc_f64_u(f64(18446744073709549568.0)) == 18446744073709549568
    assert N.i32_trunc_sat_f32_s(N.F32_CANON) == 0
    assert N.i32_trunc_sat_f64_u(f64(-5.0)) == 0
    assert N.i64_trunc_sat_f64_s(f64(1e300)) == (1 << 63) - 1
    assert N.i64_trunc_sat_f32_s(f32(-math.inf)) == 1 << 63


def test_int_to_float_rounds_once():
    # 2**60 + 2**36 + 1: the low bit decides; double-rounding via f64 would round to even (down)
    n = (1 << 60) + (1 << 36) + 1
    assert N.f32_convert_i64_u(n) == f32(float((1 << 60) + (1 << 37)))
    assert N.f64_convert_i64_s(N.M64) == f64(-1.0)
    assert N.f32_convert_i64_u(N.M64) == f32(18446744073709551616.0)
    assert N.f32_convert_i32_s(0x8000_0000) == f32(-2147483648.0)
    assert N.f32_convert_i32_u(0xFFFF_FFFF) == f32(4294967296.0)
    assert N.f64_convert_i64_u(0x8000_0000_0000_0001) == f64(9223372036854775808.0)


def test_f32_overflow_rounds_to_infinity():
    big = f32(3.4028234663852886e38)
    assert N.f32_add(big, big) == N.F32_INF
    assert N.f32_mul(big, big | N.F32_SIGN) == N.F32_INF | N.F32_SIGN
    assert N.f32_demote_f64(f64(1e300)) == N.F32_INF


def test_tables_cover_every_plain_numeric_instruction():
    numeric = {name for name, info in BY_NAME.items()
               if info.imm.value == "none" and info.params and info.results
               and all(t.is_num for t in info.params + info.results)}
    assert numeric == set(N.BINARY) | set(N.UNARY)


# ---- differential testing against wasmtime -------------------------------------------------

wasmtime = pytest.importorskip("wasmtime")

_BITS = {ValType.I32: 32, ValType.I64: 64, ValType.F32: 32, ValType.F64: 64}
_CARRIER = {ValType.I32: "i32", ValType.I64: "i64", ValType.F32: "i32", ValType.F64: "i64"}


def _specials(t: ValType) -> list[int]:
    if t == ValType.I32:
        return [0, 1, 2, 31, 32, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x8000_0001, 0xFFFF_FFFE]
    if t == ValType.I64:
        return [0, 1, 63, 64, (1 << 63) - 1, 1 << 63, N.M64, (1 << 63) + 1, 0xFFFF_FFFF,
                1 << 32, N.M64 - 1]
    if t == ValType.F32:
        vals = [0.0, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5, 1.0, -1.0, 1e-45, 3.4028234663852886e38,
                2147483648.0, -2147483648.0, 4294967296.0, 2147483520.0, -2147483904.0,
                9.223372036854775808e18, 1.8446744073709552e19, 8388607.5, math.inf, -math.inf]
        return [f32(v) for v in vals] + [N.F32_CANON, N.F32_CANON | N.F32_SIGN, 0x7F80_0001,
                                         0x7FA0_0000, 0xFFC1_2345]
    vals = [0.0, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5, 1.0, -1.0, 5e-324, 1.7976931348623157e308,
            2147483647.9, 2147483648.0, -2147483648.9, -2147483649.0, 4294967295.5,
            4294967296.0, 9.223372036854775808e18, -9.223372036854775808e18,
            1.8446744073709552e19, 4503599627370495.5, 3.4028235677973366e38, 1e-40,
            math.inf, -math.inf]
    return [f64(v) for v in vals] + [N.F64_CANON, N.F64_CANON | N.F64_SIGN,
                                     0x7FF0_0000_0000_0001, 0xFFF4_0000_0000_0000]


def _random(t: ValType, rng: random.Random) -> int:
    bits = _BITS[t]
    choice = rng.random()
    if t in (ValType.F32, ValType.F64) and choice < 0.4:
        # floats of moderate magnitude, where results are interesting
        x = rng.choice([1, -1]) * rng.uniform(0, 2) * 2.0 ** rng.randint(-30, 66)
        return f32(x) if t == ValType.F32 else f64(x)
    if t in (ValType.I32, ValType.I64) and choice < 0.3:
        return rng.randrange(0, 64) if rng.random() < 0.5 else (-rng.randrange(1, 64)) & ((1 << bits) - 1)
    return rng.getrandbits(bits)


def _operands(params, rng):
    if len(params) == 1:
        vals = [(x,) for x in _specials(params[0])]
        vals += [(_random(params[0], rng),) for _ in range(60)]
        return vals
    a, b = _specials(params[0]), _specials(params[1])
    vals = [(x, y) for x in a for y in b]
    vals += [(_random(params[0], rng), _random(params[1], rng)) for _ in range(150)]
    vals += [(x, x) for x, _ in vals[-20:]]
    return vals


def _wrapper_wat(names: list[str]) -> str:
    funcs = []
    for i, name in enumerate(names):
        info = BY_NAME[name]
        params = " ".join(f"(param {_CARRIER[t]})" for t in info.params)
        result = f"(result {_CARRIER[info.results[0]]})"
        body = []
        for j, t in enumerate(info.params):
            body.append(f"(local.get {j})")
            if t == ValType.F32:
                body.append("(f32.reinterpret_i32)")
            elif t == ValType.F64:
                body.append("(f64.reinterpret_i64)")
        body.append(f"({name})")
        r = info.results[0]
        if r == ValType.F32:
            body.append("(i32.reinterpret_f32)")
        elif r == ValType.F64:
            body.append("(i64.reinterpret_f64)")
        funcs.append(f'(func (export "f{i}") {params} {result} {" ".join(body)})')
    return "(module " + "\n".join(funcs) + ")"


def _is_nan(t: ValType, bits: int) -> bool:
    return N.f32_is_nan(bits) if t == ValType.F32 else t == ValType.F64 and N.f64_is_nan(bits)


def _canonical(t: ValType, bits: int) -> bool:
    if t == ValType.F32:
        return bits & 0x7FFF_FFFF == N.F32_CANON
    return bits & 0x7FFF_FFFF_FFFF_FFFF == N.F64_CANON


def _arithmetic(t: ValType, bits: int) -> bool:
    return bool(bits & (N.F32_QUIET if t == ValType.F32 else N.F64_QUIET))


_ALL = sorted(set(N.BINARY) | set(N.UNARY))


@pytest.fixture(scope="module")
def oracle():
    store = wasmtime.Store()
    module = wasmtime.Module(store.engine, _wrapper_wat(_ALL))
    inst = wasmtime.Instance(store, module, [])
    exports = inst.exports(store)
    return store, {name: exports[f"f{i}"] for i, name in enumerate(_ALL)}


def _to_carrier(t: ValType, bits: int) -> int:
    width = _BITS[t]
    return bits - (1 << width) if bits >> (width - 1) else bits


@pytest.mark.parametrize("name", _ALL)
def test_against_wasmtime(name, oracle):
    store, funcs = oracle
    info = BY_NAME[name]
    fn = N.BINARY.get(name) or N.UNARY[name]
    rt = info.results[0]
    mask = (1 << _BITS[rt]) - 1
    rng = random.Random(name)
    checked = 0
    for args in _operands(info.params, rng):
        try:
            expected = funcs[name](store, *(_to_carrier(t, a) for t, a in zip(info.params, args)))
            expected_trap = None
        except wasmtime.Trap as e:
            expected_trap = e.trap_code
        try:
            got = fn(*args)
            got_trap = None
        except Trap as e:
            got_trap = e.trap_code
        if expected_trap is not None or got_trap is not None:
            assert got_trap is not None and expected_trap is not None, (name, args, got_trap, expected_trap)
            assert got_trap.name == expected_trap.name, (name, args)
            continue
        expected &= mask
        assert 0 <= got <= mask, (name, args, got)
        if _is_nan(rt, expected):
            assert _is_nan(rt, got), (name, args, hex(got), hex(expected))
            nan_inputs = [a for t, a in zip(info.params, args) if _is_nan(t, a)]
            if name.split(".")[1] in ("abs", "neg", "copysign", "reinterpret_i32", "reinterpret_i64"):
                assert got == expected, (name, args)
            elif all(_canonical(t, a) for t, a in zip(info.params, args) if _is_nan(t, a)):
                assert _canonical(rt, got), (name, args, hex(got))
            else:
                assert _arithmetic(rt, got), (name, args, hex(got))
            del nan_inputs
        else:
            assert got == expected, (name, [hex(a) for a in args], hex(got), hex(expected))
        checked += 1
    assert checked > 0
