"""engine.ir.addr64 through the builder: i64 addresses and indices of 64-bit memories and
tables become the IR's i32 forms behind an explicit trap on their high bits, the IR verifies,
an i64 memory never takes the guard-page path, and one narrowing per address and block lets
heap-check elimination merge the checks of accesses off one base."""

from __future__ import annotations

import pytest

from engine import Config, Engine, Module
from engine.environ.module_info import ModuleInfo
from engine.errors import TrapCode
from engine.ir.builder import build_function, build_module
from engine.ir.ir import Opcode
from engine.ir.passes import eliminate_heap_checks
from engine.ir.passes.heapcheck import fault_covered_checks
from engine.ir.verifier import verify

WAT = """(module
  (memory i64 1 4)
  (func (export "load") (param i64) (result i32) (i32.load (local.get 0)))
  (func (export "load8_big") (param i64) (result i32) (i32.load8_u offset=0x1_0000_0000 (local.get 0)))
  (func (export "size") (result i64) (memory.size))
  (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
  (func (export "fill") (param i64 i32 i64) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "lane") (param i64) (result v128)
    (v128.load32_lane offset=4 1 (local.get 0) (v128.const i64x2 0 0)))
  (func (export "sum3") (param i64) (result i64)
    (i64.add (i64.add (i64.load (local.get 0)) (i64.load offset=8 (local.get 0)))
             (i64.load offset=16 (local.get 0))))
  (table $t i64 2 10 funcref)
  (type $r (func (result i32)))
  (func (export "call") (param i64) (result i32) (call_indirect $t (type $r) (local.get 0)))
  (func (export "tgrow") (param i64) (result i64) (table.grow $t (ref.null func) (local.get 0))))"""


@pytest.fixture(scope="module")
def wasm():
    return Module(Engine(Config(strategy="interpreter")), WAT).wasm_module


def _fn(wasm, name):
    return build_function(wasm, next(e.index for e in wasm.exports if e.name == name))


def _ops(fn) -> list[Opcode]:
    return [i.opcode for b in fn.blocks for i in b.insts]


def test_every_function_verifies(wasm):
    for fn in build_module(wasm):
        verify(fn, wasm)


def test_an_i64_memory_never_takes_the_guard_page_path(wasm):
    info = ModuleInfo.for_module(wasm, guard_pages=True)
    assert 0 not in info.unchecked_memories
    fn = _fn(wasm, "load")
    assert _ops(fn).count(Opcode.HEAP_CHECK) == 1
    assert not fault_covered_checks(fn, info.unchecked_memories)
    traps = [i for b in fn.blocks for i in b.insts if i.opcode is Opcode.TRAPNZ]
    assert [t.imm for t in traps] == [TrapCode.MEMORY_OUT_OF_BOUNDS]   # the high bits
    assert Opcode.IREDUCE in _ops(fn)


def test_an_offset_of_2_to_the_32_always_traps(wasm):
    fn = _fn(wasm, "load8_big")
    (check,) = [i for b in fn.blocks for i in b.insts if i.opcode is Opcode.HEAP_CHECK]
    assert check.imm.offset == 0
    consts = {i.results[0]: i.imm for b in fn.blocks for i in b.insts if i.opcode is Opcode.ICONST}
    (trap,) = [i for b in fn.blocks for i in b.insts if i.opcode is Opcode.TRAPNZ]
    assert consts[trap.args[0]] == 1


def test_sizes_widen_and_grow_deltas_saturate(wasm):
    assert Opcode.UEXTEND in _ops(_fn(wasm, "size"))
    grow = _ops(_fn(wasm, "grow"))
    assert Opcode.SELECT in grow and Opcode.SEXTEND in grow and Opcode.TRAPNZ not in grow
    tables = _ops(_fn(wasm, "tgrow"))
    assert Opcode.SELECT in tables and Opcode.SEXTEND in tables


def test_bulk_operands_share_one_check(wasm):
    fn = _fn(wasm, "fill")
    traps = [i.imm for b in fn.blocks for i in b.insts if i.opcode is Opcode.TRAPNZ]
    assert traps == [TrapCode.MEMORY_OUT_OF_BOUNDS]
    assert _ops(fn).count(Opcode.IREDUCE) == 2 and Opcode.BOR in _ops(fn)


def test_a_table64_index_traps_table_out_of_bounds(wasm):
    fn = _fn(wasm, "call")
    traps = [i.imm for b in fn.blocks for i in b.insts if i.opcode is Opcode.TRAPNZ]
    assert traps == [TrapCode.TABLE_OUT_OF_BOUNDS]


def test_one_narrowing_per_address_lets_checks_merge(wasm):
    fn = _fn(wasm, "sum3")
    ops = _ops(fn)
    assert ops.count(Opcode.IREDUCE) == 1 and ops.count(Opcode.HEAP_CHECK) == 3
    assert eliminate_heap_checks(fn)
    verify(fn, wasm)
    assert _ops(fn).count(Opcode.HEAP_CHECK) == 1
