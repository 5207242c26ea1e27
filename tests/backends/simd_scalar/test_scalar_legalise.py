"""The legalisation pass on random SIMD programs: straight-line chains of SIMD instructions with
a branch that passes v128 values as block arguments, run by the IR interpreter before and after
legalisation on random inputs (the two must agree bit for bit), plus the pass's structural
promises."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from backends.simd_scalar import legal_types, legalise_function
from engine.exec.interp import compile_function
from engine.ir.ir import (F32, F64, I32, I64, SIMD_OPS, V128, BlockCall, Function, ImmKind,
                          Inst, Opcode)
from engine.ir.simd import SIGNATURES, SIMD_MEMORY, lane_count
from engine.ir.verifier import verify

O = Opcode
M64 = (1 << 64) - 1
CTX = SimpleNamespace(mems=[], tables=[], globals=[], types=[], funcs=[])
OPS = sorted((op for op in SIMD_OPS if op not in SIMD_MEMORY), key=lambda o: o.value)
PARAMS = [V128, V128, V128, I32, I64, F32, F64]


def _imm(op: Opcode, rng: random.Random) -> object:
    kind = op.info.imm
    if kind is ImmKind.LANE:
        return rng.randrange(lane_count(op))
    if kind is ImmKind.SHUFFLE:
        return tuple(rng.randrange(32) for _ in range(16))
    if kind is ImmKind.BITS:
        return rng.getrandbits(128)
    return None


def random_program(seed: int, length: int = 24) -> Function:
    """block0(params): `length` random SIMD instructions, then brif on the i32 parameter to
    block1 or block2 with v128 arguments; each returns a v128 and an i32 built from them."""
    rng = random.Random(seed)
    f = Function(f"p{seed}", list(PARAMS), [V128, I32], index=0)
    b0, b1, b2 = f.new_block(), f.new_block(), f.new_block()
    b0.params = [f.new_value(t) for t in PARAMS]
    pool: dict = {t: [v] for t, v in zip(PARAMS, b0.params)}
    pool[V128] = list(b0.params[:3])
    for _ in range(length):
        op = rng.choice(OPS)
        params, results = SIGNATURES[op]
        args = [rng.choice(pool[t]) for t in params]
        rs = [f.new_value(t) for t in results]
        b0.insts.append(Inst(op, args, rs, _imm(op, rng)))
        for r, t in zip(rs, results):
            pool[t].append(r)
    x, y = pool[V128][-1], pool[V128][-2]
    b0.insts.append(Inst(O.BRIF, [b0.params[3]], [], None,
                         [BlockCall(1, [x, y]), BlockCall(2, [y])]))
    p, q = f.new_value(V128), f.new_value(V128)
    b1.params = [p, q]
    s = f.new_value(V128)
    b1.insts.append(Inst(O.I8X16_SUB, [p, q], [s]))
    c = f.new_value(I32)
    b1.insts.append(Inst(O.V128_ANY_TRUE, [s], [c]))
    sel = f.new_value(V128)
    b1.insts.append(Inst(O.SELECT, [c, s, p], [sel]))
    b1.insts.append(Inst(O.RETURN, [sel, pool[I32][-1]]))
    r = f.new_value(V128)
    b2.params = [r]
    b2.insts.append(Inst(O.RETURN, [r, c2 := f.new_value(I32)]))
    b2.insts.insert(0, Inst(O.I32X4_ALL_TRUE, [r], [c2]))
    verify(f)
    return f


def _flat(args: list[int]) -> list[int]:
    out: list[int] = []
    for t, a in zip(PARAMS, args):
        out += (a & M64, a >> 64) if t is V128 else (a,)
    return out


@pytest.mark.parametrize("seed", range(40))
def test_random_program_agrees_with_the_original(seed: int) -> None:
    f = random_program(seed)
    legal = legalise_function(f)
    verify(legal)
    assert legal.params == list(legal_types(f.params)) and V128 not in legal.value_types
    before = compile_function(f).make(CTX)
    after = compile_function(legal).make(CTX)
    rng = random.Random(seed)
    for _ in range(30):
        args = [rng.getrandbits(128) for _ in range(3)] + [rng.getrandbits(1) * rng.getrandbits(32),
                                                           rng.getrandbits(64),
                                                           rng.getrandbits(32),
                                                           rng.getrandbits(64)]
        v, c = before(*args)
        lo, hi, c2 = after(*_flat(args))
        assert (lo | hi << 64, c2) == (v, c), (seed, [hex(a) for a in args])


def test_input_function_is_unchanged() -> None:
    f = random_program(7)
    text = str(f)
    legalise_function(f)
    assert str(f) == text


def test_legal_types() -> None:
    assert legal_types((I32, V128, F64, V128)) == (I32, I64, I64, F64, I64, I64)
    assert legal_types(()) == ()
