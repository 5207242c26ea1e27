"""The SIMD legalisation against the executable semantics: for every SIMD opcode, one
instruction is legalised and the resulting scalar IR runs in the IR interpreter on special and
random inputs; its bits must equal engine.ir.simd_numerics' (NaN results included: each float
lane goes through the same scalar operator)."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from backends.simd_scalar import legalise_function
from benchmarks.simd_scalar_size import single_instruction
from engine.exec.interp import compile_function
from engine.ir.ir import F32, I32, I64, SIMD_OPS, V128, ImmKind, MemImm, MemLaneImm, Opcode
from engine.ir.simd import ACCESS_SIZE, SIGNATURES, SIMD_MEMORY, lane_count
from engine.ir.simd_numerics import LOAD_FUNCS, SIMD_FUNCS
from engine.ir.verifier import verify

O = Opcode
M64 = (1 << 64) - 1

_F32 = [0, 0x8000_0000, 0x3F80_0000, 0xBF80_0000, 0x3F00_0000, 0x3FC0_0000, 0x4020_0000,
        0x7F80_0000, 0xFF80_0000, 0x7FC0_0000, 0xFFC0_0000, 0x7FA0_0001, 0x7F80_0001,
        0x7FC1_2345, 0x0000_0001, 0x8080_0000, 0x4F00_0000, 0xCF00_0000, 0x4F80_0000,
        0x7F7F_FFFF, 0x3EFF_FFFF, 0xCF00_0001]
_F64 = [0, 1 << 63, 0x3FF0_0000_0000_0000, 0xBFF8_0000_0000_0000, 0x3FE0_0000_0000_0000,
        0x4004_0000_0000_0000, 0x7FF0_0000_0000_0000, 0xFFF0_0000_0000_0000,
        0x7FF8_0000_0000_0000, 0xFFF8_0000_0000_0000, 0x7FF4_0000_0000_0001,
        0x7FF8_0000_0001_2345, 1, 0x41E0_0000_0000_0000, 0xC1E0_0000_0020_0000,
        0x41F0_0000_0000_0000, 0xC3E0_0000_0000_0000, 0x7FEF_FFFF_FFFF_FFFF,
        0x41DF_FFFF_FFC0_0000]


def _int_specials(bits: int) -> list[int]:
    top = 1 << (bits - 1)
    return [0, 1, 2, top - 1, top, top + 1, (1 << bits) - 1, (1 << bits) - 2, 0x55 & (
        (1 << bits) - 1), 3]


def _lanes_v128(rng: random.Random, bits: int, pool: list[int]) -> int:
    v = 0
    for i in range(128 // bits):
        x = rng.choice(pool) if rng.random() < 0.7 else rng.getrandbits(bits)
        v |= x << (i * bits)
    return v


def v128_samples(seed: str, n: int = 160) -> list[int]:
    rng = random.Random(seed)
    pools = [(8, _int_specials(8)), (16, _int_specials(16)), (32, _int_specials(32)),
             (64, _int_specials(64)), (32, _F32), (64, _F64)]
    out = [0, (1 << 128) - 1, 1 << 127, 0x8000_8000_8000_8000_8000_8000_8000_8000]
    while len(out) < n:
        bits, pool = pools[len(out) % len(pools)]
        out.append(_lanes_v128(rng, bits, pool))
    return out


def scalar_samples(t, rng: random.Random) -> list[int]:
    if t is I32:
        return [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 0x80, 0xFFFF_FFFF,
                0x7FFF_FFFF, 0x8000_0000] + [rng.getrandbits(32) for _ in range(8)]
    if t is I64:
        return [0, 1, M64, 1 << 63] + [rng.getrandbits(64) for _ in range(6)]
    if t is F32:
        return _F32 + [rng.getrandbits(32) for _ in range(4)]
    return _F64 + [rng.getrandbits(64) for _ in range(4)]


def runner(op: Opcode, imm: object, ctx=None):
    orig = single_instruction(op, imm)
    verify(orig)
    legal = legalise_function(orig)
    verify(legal)
    assert V128 not in legal.value_types and not any(
        i.opcode in SIMD_OPS for b in legal.blocks for i in b.insts)
    fn = compile_function(legal).make(ctx or SimpleNamespace(mems=[], tables=[], globals=[],
                                                             types=[], funcs=[]))
    params, results = SIGNATURES[op]

    def call(*args: int) -> int | None:
        flat: list[int] = []
        for t, a in zip(params, args):
            flat += (a & M64, a >> 64) if t is V128 else (a,)
        out = fn(*flat)
        if not results:
            return None
        return out[0] | (out[1] << 64) if results[0] is V128 else out[0]
    return call


def _imms(op: Opcode, rng: random.Random) -> list[object]:
    kind = op.info.imm
    if kind is ImmKind.LANE:
        return list(range(lane_count(op)))
    if kind is ImmKind.SHUFFLE:
        masks = [tuple(range(16)), tuple(range(16, 32)), tuple(range(31, -1, -2)),
                 (0, 17, 2, 19, 4, 21, 6, 23, 8, 25, 10, 27, 12, 29, 14, 31),
                 tuple(range(4, 20)), tuple([5] * 16)]
        return masks + [tuple(rng.randrange(32) for _ in range(16)) for _ in range(10)]
    return [None]


PURE = sorted((op for op in SIMD_OPS if op not in SIMD_MEMORY and op is not O.V128_CONST),
              key=lambda o: o.value)


@pytest.mark.parametrize("op", PURE, ids=lambda o: o.value)
def test_pure_op_matches_numerics(op: Opcode) -> None:
    rng = random.Random(op.value)
    params, _ = SIGNATURES[op]
    ref = SIMD_FUNCS[op]
    vs = v128_samples(op.value)
    for imm in _imms(op, rng):
        call = runner(op, imm)
        extra = () if imm is None else (imm,)
        n = 60 if imm is not None else len(vs)
        for k in range(n):
            args = []
            for j, t in enumerate(params):
                if t is V128:
                    args.append(vs[(k * (j + 1) + 7 * j) % len(vs)] if j else vs[k % len(vs)])
                else:
                    args.append(rng.choice(scalar_samples(t, rng)))
            got, want = call(*args), ref(*args, *extra)
            assert got == want, (op.value, imm, [hex(a) for a in args], hex(got), hex(want))


def test_v128_const() -> None:
    for bits in (0, 1, (1 << 128) - 1, 0x0123_4567_89AB_CDEF_FEDC_BA98_7654_3210):
        assert runner(O.V128_CONST, bits)() == bits


MEMORY = sorted(SIMD_MEMORY, key=lambda o: o.value)


@pytest.mark.parametrize("op", MEMORY, ids=lambda o: o.value)
def test_memory_op_matches_numerics(op: Opcode) -> None:
    rng = random.Random(op.value)
    size = ACCESS_SIZE[op]
    buf = bytearray(rng.getrandbits(8) for _ in range(256))
    mem = SimpleNamespace(buf=buf, length=len(buf))
    ctx = SimpleNamespace(mems=[mem], tables=[], globals=[], types=[], funcs=[])
    lanes = range(lane_count(op)) if op.info.imm is ImmKind.MEM_LANE else [None]
    for lane in lanes:
        for offset in (0, 3, 100):
            imm = MemImm(0, offset) if lane is None else MemLaneImm(0, offset, lane)
            call = runner(op, imm, ctx)
            for addr in (0, 1, 5, 17, 255 - offset - size + 1):
                v = rng.getrandbits(128)
                ea = addr + offset
                raw = int.from_bytes(buf[ea:ea + size], "little")
                if op is O.V128_STORE or op.value.startswith("v128.store"):
                    before = bytes(buf)
                    call(addr, v)
                    bits = size * 8
                    want_val = v if op is O.V128_STORE else \
                        (v >> (lane * bits)) & ((1 << bits) - 1)
                    want = bytearray(before)
                    want[ea:ea + size] = want_val.to_bytes(size, "little")
                    assert buf == want, (op.value, offset, lane, addr)
                elif lane is not None:
                    assert call(addr, v) == LOAD_FUNCS[op](raw, v, lane), (op.value, lane, addr)
                else:
                    assert call(addr) == LOAD_FUNCS[op](raw), (op.value, offset, addr)
            with pytest.raises(Exception):
                call(256 - offset - size + 1, *([0] if len(SIGNATURES[op][0]) > 1 else []))
