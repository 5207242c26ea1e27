"""On-stack replacement entries (engine.ir.osr): the rewritten body is valid wasm, and entering
it with the locals of some moment at the loop header gives what the original function gives
from that moment (checked against a Python model of each function, on the interpreter), and
the IR builder builds the same entries."""

from __future__ import annotations

import itertools

import pytest

import engine
from engine.ir.errors import IRError
from engine.ir.builder import build_function
from engine.ir.osr import osr_body
from engine.text import wat2wasm
from engine.wasm.decoder import decode
from engine.wasm.encoder import encode_module
from engine.wasm.module import Export, FuncBody
from engine.wasm.opcodes import Op
from engine.wasm.types import ExternKind, FuncType, ValType

M32 = 0xFFFF_FFFF

#: sum of i for i in [i, n), added to s: a loop inside a block, branches out of it
SUM = """(module (func (export "f") (param $n i32) (result i32) (local $i i32) (local $s i32)
  (local.set $i (i32.const 0))
  (block $exit
    (loop $l
      (br_if $exit (i32.ge_s (local.get $i) (local.get $n)))
      (local.set $s (i32.add (local.get $s) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
  (local.get $s)))"""


def sum_model(n, i, s):
    while i < n:
        s, i = (s + i) & M32, i + 1
    return s


#: rows r in [r, rows) of a triangle: an outer loop whose body starts with code before an
#: if/else, the inner loop in the else arm (odd rows), a br_table and a return out of it
NESTED = """(module (func (export "f") (param $rows i32) (result i64)
    (local $r i32) (local $c i32) (local $acc i64)
  (local.set $acc (i64.const 7))
  (block $done
    (loop $outer
      (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $acc (i64.add (local.get $acc) (i64.const 1)))
      (if (i32.eqz (i32.and (local.get $r) (i32.const 1)))
        (then (local.set $acc (i64.mul (local.get $acc) (i64.const 3))))
        (else
          (local.set $c (i32.const 0))
          (block $row
            (loop $inner
              (block $b2 (block $b1 (block $b0
                (br_table $b0 $b1 $b2 (i32.rem_u (local.get $c) (i32.const 3))))
                (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (local.get $c))))
                (br $b2))
                (local.set $acc (i64.xor (local.get $acc) (i64.const 0x55))))
              (if (i64.gt_u (local.get $acc) (i64.const 1000000))
                (then (return (i64.const -1))))
              (local.set $c (i32.add (local.get $c) (i32.const 1)))
              (br_if $inner (i32.lt_u (local.get $c) (local.get $r)))))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $outer)))
  (local.get $acc)))"""

M64 = (1 << 64) - 1


def _inner(rows, r, c, acc, first_check=True):
    """From the inner loop's header at (r, c): the rest of the function."""
    while True:
        k = c % 3
        if k == 0:
            acc = (acc + c) & M64
        elif k == 1:
            acc ^= 0x55
        if acc > 1000000:
            return None, -1 & M64
        c += 1
        if not c < r:
            break
    return _outer(rows, r + 1, c, acc), None


def _outer(rows, r, c, acc):
    while r < rows:
        acc = (acc + 1) & M64
        if r % 2 == 0:
            acc = (acc * 3) & M64
        else:
            c = 0
            res, early = _inner(rows, r, c, acc)
            return early if early is not None else res
        r += 1
    return acc


def nested_model_outer(rows, r, c, acc):
    return _outer(rows, r, c, acc)


def nested_model_inner(rows, r, c, acc):
    res, early = _inner(rows, r, c, acc)
    return early if early is not None else res


def _loops(body):
    return [p for p, ins in enumerate(body) if ins.op == Op.LOOP]


def _with_entry(wat: str, loop_ordinal: int) -> bytes:
    """The module of `wat` plus its first function's entry at its `loop_ordinal`-th loop,
    exported as "osr"."""
    mod = decode(wat2wasm(wat))
    code = mod.codes[0]
    ftype = mod.types[mod.funcs[0]]
    params = [*ftype.param_types, *code.local_types()]
    body = osr_body(code.body, _loops(code.body)[loop_ordinal], len(params), mod.types)
    assert body is not None
    mod.types.append(FuncType(params, ftype.result_types))
    mod.funcs.append(len(mod.types) - 1)
    mod.codes.append(FuncBody(((1, ValType.I32),), body, code.offset))
    mod.exports.append(Export("osr", ExternKind.FUNC, len(mod.funcs) - 1))
    return encode_module(mod)


def _call(wasm: bytes, name: str, *args):
    store = engine.Store(engine.Engine(engine.Config(strategy="interpreter")))
    inst = engine.Instance(store, engine.Module(store.engine, wasm), [])
    return inst.exports(store)[name](store, *args)


def _s32(v):
    return v - (1 << 32) if v & 0x8000_0000 else v


def _s64(v):
    return v - (1 << 64) if v >> 63 else v


def test_sum_entry_continues_from_any_state():
    wasm = _with_entry(SUM, 0)
    for n, i, s in itertools.product((0, 1, 5, 40), (0, 2, 7), (0, 100)):
        assert _call(wasm, "osr", n, i, s) == _s32(sum_model(n, i, s)), (n, i, s)
    assert _call(wasm, "f", 40) == _s32(sum_model(40, 0, 0))


@pytest.mark.parametrize("ordinal, model", [(0, nested_model_outer), (1, nested_model_inner)])
def test_nested_entry_continues_from_any_state(ordinal, model):
    wasm = _with_entry(NESTED, ordinal)
    for rows, r, c, acc in itertools.product((0, 3, 9), (0, 1, 3, 4), (0, 2), (0, 7, 999_990)):
        if ordinal == 1 and (r % 2 == 0 or c >= r):
            continue    # the inner loop runs only on odd rows, c < r
        got = _call(wasm, "osr", rows, r, c, acc)
        assert got == _s64(model(rows, r, c, acc)), (rows, r, c, acc)
    for rows in (0, 5, 12, 40):
        assert _call(wasm, "f", rows) == _s64(nested_model_outer(rows, 0, 0, 7)), rows


def test_entry_refuses_block_parameters_and_non_loops():
    wat = """(module (type $t (func (param i32) (result i32)))
      (func (param i32) (result i32)
        (local.get 0) (block (type $t) (loop (br_if 0 (i32.const 0))))))"""
    mod = decode(wat2wasm(wat))
    body = mod.codes[0].body
    assert osr_body(body, _loops(body)[0], 1, mod.types) is None
    assert osr_body(body, 0, 1, mod.types) is None       # not a loop
    with pytest.raises(IRError, match="on-stack replacement"):
        build_function(mod, 0, osr_loop=_loops(body)[0])


def test_builder_entry_takes_every_local():
    mod = decode(wat2wasm(NESTED))
    fn = build_function(mod, 0, osr_loop=_loops(mod.codes[0].body)[1])
    assert fn.params == [ValType.I32, ValType.I32, ValType.I32, ValType.I64]
    assert fn.results == [ValType.I64] and fn.index == 0
