"""On-stack replacement entries (engine.ir.osr): the rewritten body is valid wasm, and entering
it at any of its loops with the locals of some moment at that loop's header gives what the
original function gives from that moment (checked against a Python model of each function,
on the interpreter), and the IR builder builds the same entries."""

from __future__ import annotations

import itertools

import pytest

import engine
from engine.ir.errors import IRError
from engine.ir.builder import build_function
from engine.ir.osr import osr_body, osr_targets
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


def _with_entry(wat: str) -> bytes:
    """The module of `wat` plus its first function's entry at every loop, exported as
    "osr" (its arguments: every local, then the loop's number, 1 for the first)."""
    mod = decode(wat2wasm(wat))
    code = mod.codes[0]
    ftype = mod.types[mod.funcs[0]]
    params = [*ftype.param_types, *code.local_types()]
    entry = osr_body(code.body, _loops(code.body), len(params), mod.types)
    assert entry is not None and sorted(entry.targets.values()) == \
        list(range(1, len(_loops(code.body)) + 1))
    mod.types.append(FuncType([*params, ValType.I32], ftype.result_types))
    mod.funcs.append(len(mod.types) - 1)
    mod.codes.append(FuncBody(((1, ValType.I32),), entry.body, code.offset))
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
    wasm = _with_entry(SUM)
    for n, i, s in itertools.product((0, 1, 5, 40), (0, 2, 7), (0, 100)):
        assert _call(wasm, "osr", n, i, s, 1) == _s32(sum_model(n, i, s)), (n, i, s)
    assert _call(wasm, "f", 40) == _s32(sum_model(40, 0, 0))


@pytest.mark.parametrize("selector, model", [(1, nested_model_outer), (2, nested_model_inner)])
def test_nested_entry_continues_from_any_state(selector, model):
    wasm = _with_entry(NESTED)
    for rows, r, c, acc in itertools.product((0, 3, 9), (0, 1, 3, 4), (0, 2), (0, 7, 999_990)):
        if selector == 2 and (r % 2 == 0 or c >= r):
            continue    # the inner loop runs only on odd rows, c < r
        got = _call(wasm, "osr", rows, r, c, acc, selector)
        assert got == _s64(model(rows, r, c, acc)), (rows, r, c, acc)
    for rows in (0, 5, 12, 40):
        assert _call(wasm, "f", rows) == _s64(nested_model_outer(rows, 0, 0, 7)), rows


#: four loops: one, an if/else with one in each arm, one after it
SEQUENCE = """(module (func (export "f") (param $n i32) (result i64) (local $i i32) (local $acc i64)
  (block $a (loop $la
    (br_if $a (i32.ge_u (local.get $i) (local.get $n)))
    (local.set $acc (i64.add (local.get $acc) (i64.const 1)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $la)))
  (local.set $i (i32.const 0))
  (if (i32.and (local.get $n) (i32.const 1))
    (then (loop $lb
      (local.set $acc (i64.mul (local.get $acc) (i64.const 3)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $lb (i32.lt_u (local.get $i) (local.get $n)))))
    (else (loop $lc
      (local.set $acc (i64.xor (local.get $acc) (i64.extend_i32_u (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $lc (i32.lt_u (local.get $i) (local.get $n))))))
  (local.set $i (i32.const 0))
  (loop $ld
    (local.set $acc (i64.add (local.get $acc) (i64.const 5)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br_if $ld (i32.lt_u (local.get $i) (i32.const 3))))
  (local.get $acc)))"""


def _seq_d(n, i, acc):
    while True:
        acc, i = (acc + 5) & M64, i + 1
        if not i < 3:
            return acc


def _seq_b(n, i, acc):
    while True:
        acc, i = (acc * 3) & M64, i + 1
        if not i < n:
            return _seq_d(n, 0, acc)


def _seq_c(n, i, acc):
    while True:
        acc, i = acc ^ i, i + 1
        if not i < n:
            return _seq_d(n, 0, acc)


def _seq_a(n, i, acc):
    while i < n:
        acc, i = (acc + 1) & M64, i + 1
    return (_seq_b if n & 1 else _seq_c)(n, 0, acc)


@pytest.mark.parametrize("selector, model", [(1, _seq_a), (2, _seq_b), (3, _seq_c), (4, _seq_d)])
def test_loops_in_sequence_and_in_both_arms_are_each_an_entry(selector, model):
    wasm = _with_entry(SEQUENCE)
    for n, i, acc in itertools.product((1, 2, 7, 10), (0, 1, 5), (0, 9, (1 << 63) + 3)):
        assert _call(wasm, "osr", n, i, _s64(acc), selector) == _s64(model(n, i, acc)), \
            (n, i, acc)
    for n in (0, 1, 6, 9):
        assert _call(wasm, "f", n) == _s64(_seq_a(n, 0, 0))


def test_entry_leaves_out_loops_under_block_parameters_and_non_loops():
    wat = """(module (type $t (func (param i32) (result i32)))
      (func (param i32) (result i32) (local i32)
        (loop (br_if 0 (local.tee 1 (i32.const 0))))
        (local.get 0) (block (type $t) (loop (br_if 0 (i32.const 0))))))"""
    mod = decode(wat2wasm(wat))
    body = mod.codes[0].body
    first, under = _loops(body)
    assert osr_targets(body, [first, under, 0], mod.types) == {first: 1}
    assert osr_body(body, [under], 2, mod.types) is None
    with pytest.raises(IRError, match="on-stack replacement"):
        build_function(mod, 0, osr_loops=(under,))


def test_builder_entry_takes_every_local_and_the_selector():
    mod = decode(wat2wasm(NESTED))
    fn = build_function(mod, 0, osr_loops=tuple(_loops(mod.codes[0].body)))
    assert fn.params == [ValType.I32, ValType.I32, ValType.I32, ValType.I64, ValType.I32]
    assert fn.results == [ValType.I64] and fn.index == 0
