"""memory64 and table64 on every executor: the effective address of an i64 memory is
addr + offset without wrap-around (an address near 2**64 plus a large offset traps, it never
wraps to a small one), accesses and bulk operations of size 0 at the very end are in bounds
and one byte past it is not, memory.grow and table.grow take and return i64 (a delta of 2**32
or more fails with -1, as does growth past the host's maximum), and tables are indexed by
i64 (tests/ir/test_ir_addr64.py checks the IR the builder makes of them)."""

from __future__ import annotations

import pytest

from engine import Config, Engine, Instance, Module, Store, Trap, TrapCode
from engine.environ.module_info import MEMORY64_MAX_PAGES
from executors import settings

SETTINGS = settings("interpreter", "x86_64", "x86_64-checked", "x86_64-emulated", "aarch64",
                    "riscv64")
PAGE = 65536
OOB = TrapCode.MEMORY_OUT_OF_BOUNDS
TOOB = TrapCode.TABLE_OUT_OF_BOUNDS
M64 = (1 << 64) - 1

WAT = """(module
  (memory (export "mem") i64 1 4)
  (memory $small 1)
  (func (export "load") (param i64) (result i32) (i32.load (local.get 0)))
  (func (export "load_off") (param i64) (result i32) (i32.load offset=0xffff_fff0 (local.get 0)))
  (func (export "load_huge") (param i64) (result i32)
    (i32.load offset=0xffff_ffff_ffff_fff0 (local.get 0)))
  (func (export "load8_big") (param i64) (result i32) (i32.load8_u offset=0x1_0000_0000 (local.get 0)))
  (func (export "store64") (param i64 i64) (i64.store offset=8 (local.get 0) (local.get 1)))
  (func (export "load64") (param i64) (result i64) (i64.load offset=8 (local.get 0)))
  (func (export "v128_lane") (param i64) (result i64)
    (i64x2.extract_lane 1 (v128.load64_lane offset=4 1 (local.get 0) (v128.const i64x2 0 0))))
  (func (export "size") (result i64) (memory.size))
  (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
  (func (export "fill") (param i64 i32 i64) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i64 i64 i64) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy_to_small") (param i32 i64 i32)
    (memory.copy $small 0 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init") (param i64 i32 i32) (memory.init $d (local.get 0) (local.get 1) (local.get 2)))
  (func (export "sum3") (param i64) (result i64)
    (i64.add (i64.add (i64.load (local.get 0)) (i64.load offset=8 (local.get 0)))
             (i64.load offset=16 (local.get 0))))
  (data $d "abcd")
  (table $t i64 2 10 funcref)
  (elem (table $t) (i64.const 1) func $seven)
  (type $r (func (result i32)))
  (func $seven (result i32) (i32.const 7))
  (func (export "call") (param i64) (result i32) (call_indirect $t (type $r) (local.get 0)))
  (func (export "tget_null") (param i64) (result i32) (ref.is_null (table.get $t (local.get 0))))
  (func (export "tset") (param i64) (table.set $t (local.get 0) (ref.func $seven)))
  (func (export "tsize") (result i64) (table.size $t))
  (func (export "tgrow") (param i64) (result i64) (table.grow $t (ref.null func) (local.get 0)))
  (func (export "tfill") (param i64 i64) (table.fill $t (local.get 0) (ref.func $seven) (local.get 1)))
)"""


@pytest.fixture(params=list(SETTINGS), scope="module")
def run(request):
    engine = Engine(Config(**SETTINGS[request.param]))
    module = Module(engine, WAT)

    def fresh():
        store = Store(engine)
        ex = Instance(store, module, []).exports(store)

        def call(name, *args):
            try:
                return ex[name](store, *args)
            except Trap as e:
                return e.trap_code
        call.store, call.exports = store, ex
        return call
    return fresh


def test_address_plus_offset_never_wraps(run):
    call = run()
    call("store64", 0, 0x1122334455667788)
    assert call("load64", 0) == 0x1122334455667788
    # 2**64 - 8 + offset 8 would wrap to 0, where the value is: it must trap instead
    assert call("load64", M64 - 7) == OOB
    assert call("load_huge", 0x10) == OOB          # 2**64 - 16 + 16 wraps to 0
    assert call("load_huge", 0) == OOB
    assert call("load_off", M64 - 0xffff_ffef) == OOB
    assert call("load_off", 0) == OOB               # 2**32 - 16 is past a 1-page memory
    assert call("load8_big", 0) == OOB               # an offset of 2**32 is past any memory
    assert call("load", 1 << 32) == OOB               # the high bits alone are out of bounds
    assert call("load", (1 << 32) + 8) == OOB
    assert call("v128_lane", M64 - 3) == OOB
    assert call("v128_lane", 0) == 0x55667788 << 32      # bytes 4..12: four zeros, then 8..12


def test_accesses_at_the_end(run):
    call = run()
    assert call("load", PAGE - 4) == 0
    assert call("load", PAGE - 3) == OOB
    assert call("store64", PAGE - 16, 5) is None and call("load64", PAGE - 16) == 5
    assert call("store64", PAGE - 15, 5) == OOB


def test_bulk_operations_of_size_0_at_the_end(run):
    call = run()
    assert call("fill", PAGE, 1, 0) is None
    assert call("fill", PAGE + 1, 1, 0) == OOB
    assert call("fill", 1 << 32, 1, 0) == OOB
    assert call("fill", M64, 1, 1) == OOB            # d + n wraps to 0: must not
    assert call("fill", 0, 1, 1 << 32) == OOB
    assert call("fill", PAGE - 2, 0x41, 2) is None
    assert call.exports["mem"].read(call.store, PAGE - 2, PAGE) == b"AA"
    assert call("copy", PAGE, 0, 0) is None and call("copy", 0, PAGE, 0) is None
    assert call("copy", PAGE + 1, 0, 0) == OOB and call("copy", 0, PAGE + 1, 0) == OOB
    assert call("copy", 0, M64, 2) == OOB
    assert call("copy", 0, PAGE - 2, 2) is None
    assert call.exports["mem"].read(call.store, 0, 2) == b"AA"
    assert call("copy_to_small", 0, PAGE - 2, 2) is None
    assert call("copy_to_small", 0, 1 << 32, 0) == OOB
    assert call("init", PAGE, 4, 0) is None and call("init", PAGE + 1, 0, 0) == OOB
    assert call("init", 1 << 32, 0, 0) == OOB
    assert call("init", PAGE - 4, 0, 4) is None
    assert call.exports["mem"].read(call.store, PAGE - 4, PAGE) == b"abcd"


def test_grow_in_i64(run):
    call = run()
    assert call("size") == 1
    assert call("grow", 1 << 32) == -1                # not a grow by 0 (its low bits)
    assert call("grow", (1 << 32) + 1) == -1          # not a grow by 1
    assert call("grow", M64) == -1
    assert call("size") == 1
    assert call("grow", 2) == 1 and call("size") == 3
    assert call("load", 3 * PAGE - 4) == 0 and call("load", 3 * PAGE - 3) == OOB
    assert call("grow", 2) == -1                      # past the declared maximum of 4
    assert call("grow", 1) == 3 and call("size") == 4
    assert call.exports["mem"].type(call.store).is_64


def test_table64(run):
    call = run()
    assert call("call", 1) == 7
    assert call("call", 0) == TrapCode.INDIRECT_CALL_TO_NULL
    assert call("call", 2) == TOOB and call("call", 1 << 32) == TOOB
    assert call("call", (1 << 32) + 1) == TOOB        # its low bits name a function
    assert call("tget_null", 0) == 1 and call("tget_null", (1 << 32) + 1) == TOOB
    assert call("tset", 0) is None and call("call", 0) == 7
    assert call("tset", 1 << 40) == TOOB
    assert call("tsize") == 2
    assert call("tgrow", 1 << 32) == -1 and call("tgrow", M64) == -1 and call("tsize") == 2
    assert call("tgrow", 3) == 2 and call("tsize") == 5
    assert call("tfill", 5, 0) is None and call("tfill", 6, 0) == TOOB
    assert call("tfill", 0, 1 << 32) == TOOB and call("tfill", M64, 2) == TOOB
    assert call("tfill", 3, 2) is None and call("call", 4) == 7


def test_growth_stops_at_the_host_maximum():
    store = Store(Engine(Config(strategy="interpreter")))
    wat = '(module (memory (export "m") i64 0) (func (export "grow") (param i64) (result i64)' \
          ' (memory.grow (local.get 0))))'
    ex = Instance(store, Module(store.engine, wat), []).exports(store)
    assert ex["grow"](store, MEMORY64_MAX_PAGES + 1) == -1
    assert ex["m"].type(store).limits.min == 0
