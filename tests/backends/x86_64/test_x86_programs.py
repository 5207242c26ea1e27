"""Whole programs through the x86_64 backend, natively and under Unicorn: loops, block
parameters that swap, br_table, calls with many arguments and results, recursion, memory with
bounds traps, memory.grow, offsets beyond every target's immediates, constants, globals,
call_indirect checks, host calls, and the trap path. The aarch64 and riscv64 tests run these
programs too (tests/backends/target_testlib.py rebinds `build`)."""

from __future__ import annotations

import struct

import pytest

from engine.errors import Trap, TrapCode
from support.harness import HarnessSpec, HostFunc
from engine.wasm.types import ValType

from x86_testlib import build

I32, I64, F64 = ValType.I32, ValType.I64, ValType.F64

FIB = """function 0 "fib"(i32) -> (i32) {
block0(v0:i32):
    v1:i32 = iconst 2
    v2:i32 = icmp ult v0, v1
    brif v2, block1, block2
block1:
    return v0
block2:
    v3:i32 = iconst 1
    v4:i32 = isub v0, v3
    v5:i32 = call fn0 v4
    v6:i32 = iconst 2
    v7:i32 = isub v0, v6
    v8:i32 = call fn0 v7
    v9:i32 = iadd v5, v8
    return v9
}
"""


def test_recursive_fib(mode):
    h = build(FIB, mode)
    assert [h.call(0, n)[0] for n in range(12)] == [0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89]
    assert h.call(0, 20) == [6765]


def test_loop_with_swapping_block_params(mode):
    # iterative fib: the back edge passes (b, a + b) to (a, b), and a swap edge (b, a)
    text = """function 0 "f"(i32) -> (i64) {
block0(v0:i32):
    v1:i64 = iconst 0
    v2:i64 = iconst 1
    jump block1(v0, v1, v2)
block1(v3:i32, v4:i64, v5:i64):
    v6:i32 = eqz v3
    brif v6, block3, block2
block2:
    v7:i64 = iadd v4, v5
    v8:i32 = iconst 1
    v9:i32 = isub v3, v8
    jump block1(v9, v5, v7)
block3:
    return v4
}
function 1 "swap"(i32, i64, i64) -> (i64) {
block0(v0:i32, v1:i64, v2:i64):
    jump block1(v0, v1, v2)
block1(v3:i32, v4:i64, v5:i64):
    v6:i32 = eqz v3
    brif v6, block2, block3(v3, v5, v4)
block2:
    v7:i64 = iconst 1000
    v8:i64 = imul v4, v7
    v9:i64 = iadd v8, v5
    return v9
block3(v10:i32, v11:i64, v12:i64):
    v13:i32 = iconst 1
    v14:i32 = isub v10, v13
    jump block1(v14, v11, v12)
}
"""
    h = build(text, mode)
    assert h.call(0, 50) == [12586269025]
    assert h.call(0, 90) == [2880067194370816120]
    assert h.call(1, 0, 1, 2) == [1002]
    assert h.call(1, 3, 1, 2) == [2001]
    assert h.call(1, 4, 1, 2) == [1002]


def test_br_table_many_targets(mode):
    n = 20
    blocks = "\n".join(f"block{i + 1}:\n    v{10 + i}:i32 = iconst {i * 7 + 3}\n    return v{10 + i}"
                       for i in range(n + 1))
    targets = ", ".join(f"block{i + 1}" for i in range(n))
    text = f"""function 0 "f"(i32) -> (i32) {{
block0(v0:i32):
    br_table v0, [{targets}], block{n + 1}
{blocks}
}}
"""
    h = build(text, mode)
    for i in list(range(n + 3)) + [0xFFFFFFFF, 0x80000000]:
        want = (min(i, n)) * 7 + 3
        assert h.call(0, i) == [want], i


def _many_args_text(k: int) -> str:
    params = ", ".join(["i64"] * k + ["f64"] * k)
    args = ", ".join(f"v{i}:{'i64' if i < k else 'f64'}" for i in range(2 * k))
    # callee returns (sum of ints, sum of floats, each int, each float) in reverse order
    body = [f"    v{100}:i64 = iconst 0", f"    v{101}:f64 = fconst 0x0"]
    acc_i, acc_f = 100, 101
    nxt = 102
    for i in range(k):
        body.append(f"    v{nxt}:i64 = iadd v{acc_i}, v{i}")
        acc_i = nxt
        nxt += 1
        body.append(f"    v{nxt}:f64 = fadd v{acc_f}, v{k + i}")
        acc_f = nxt
        nxt += 1
    rets = [f"v{acc_i}", f"v{acc_f}"] + [f"v{i}" for i in reversed(range(2 * k))]
    rtypes = ", ".join(["i64", "f64"] + [("i64" if i < k else "f64") for i in reversed(range(2 * k))])
    callee = (f'function 1 "callee"({params}) -> ({rtypes}) {{\nblock0({args}):\n'
              + "\n".join(body) + f"\n    return {', '.join(rets)}\n}}\n")
    res = ", ".join(f"v{200 + i}:{t.strip()}" for i, t in enumerate(rtypes.split(",")))
    caller = (f'function 0 "caller"({params}) -> ({rtypes}) {{\nblock0({args}):\n'
              f"    {res} = call fn1 {', '.join(f'v{i}' for i in range(2 * k))}\n"
              f"    return {', '.join(f'v{200 + i}' for i in range(len(rets)))}\n}}\n")
    return caller + callee


def test_calls_with_stack_arguments_and_results(mode):
    k = 10  # more than the 6 integer and 8 float argument registers
    h = build(_many_args_text(k), mode)
    ints = [i * 1_000_003 + 1 for i in range(k)]
    floats = [struct.unpack("<Q", struct.pack("<d", i + 0.25))[0] for i in range(k)]
    out = h.call(0, *ints, *floats)
    assert out[0] == sum(ints)
    assert struct.unpack("<d", struct.pack("<Q", out[1]))[0] == sum(i + 0.25 for i in range(k))
    assert out[2:] == list(reversed(ints + floats))


def test_deep_recursion_traps_and_recovers(mode):
    text = """function 0 "down"(i64) -> (i64) {
block0(v0:i64):
    v1:i64 = iconst 1
    v2:i64 = iadd v0, v1
    v3:i64 = call fn0 v2
    return v3
}
""" + FIB.replace('function 0 "fib"', 'function 1 "fib"').replace("fn0", "fn1")
    h = build(text, mode)
    for _ in range(3):
        with pytest.raises(Trap) as e:
            h.call(0, 0)
        assert e.value.trap_code == TrapCode.STACK_OVERFLOW
        assert "call stack exhausted" in str(e.value)
        assert h.call(1, 15) == [610]


MEMORY = """function 0 "store"(i32, i64) -> () {
block0(v0:i32, v1:i64):
    heap_check mem0 offset=8 size=8 v0
    store mem0 offset=8 v0, v1
    return
}
function 1 "load8s"(i32) -> (i32) {
block0(v0:i32):
    heap_check mem0 offset=0 size=1 v0
    v1:i32 = sload8 mem0 offset=0 v0
    return v1
}
function 2 "load"(i32) -> (i64) {
block0(v0:i32):
    heap_check mem0 offset=8 size=8 v0
    v1:i64 = load mem0 offset=8 v0
    return v1
}
function 3 "grow"(i32) -> (i32) {
block0(v0:i32):
    v1:i32 = memory_grow mem0 v0
    return v1
}
function 4 "size"() -> (i32) {
block0:
    v0:i32 = memory_size mem0
    return v0
}
function 5 "store16_f64"(i32, i32, f64) -> (f64) {
block0(v0:i32, v1:i32, v2:f64):
    heap_check mem0 offset=0 size=2 v0
    istore16 mem0 offset=0 v0, v1
    heap_check mem0 offset=100 size=8 v0
    store mem0 offset=100 v0, v2
    v3:f64 = load mem0 offset=100 v0
    v4:i32 = uload16 mem0 offset=0 v0
    v5:f64 = fcvt_from_uint v4
    v6:f64 = fadd v3, v5
    return v6
}
"""


def test_memory_access_bounds_and_growth(mode):
    h = build(MEMORY, mode, HarnessSpec(memory=(1, 3)))
    h.call(0, 16, 0x1122334455667788)
    assert h.read_memory(24, 8) == bytes.fromhex("8877665544332211")
    assert h.call(2, 16) == [0x1122334455667788]
    assert h.call(1, 24) == [0xFFFFFF88]
    assert h.call(1, 65535) == [0]
    for addr in (65535 - 8, 65536, 0xFFFFFFFF, 0xFFFFFFF8):
        with pytest.raises(Trap) as e:
            h.call(0, addr, 1)
        assert e.value.trap_code == TrapCode.MEMORY_OUT_OF_BOUNDS
    with pytest.raises(Trap):
        h.call(1, 65536)
    # the process and the instance stay usable after a trap
    assert h.call(4) == [1]
    assert h.call(3, 1) == [1]
    assert h.call(4) == [2]
    h.call(0, 65536, 7)
    assert h.call(2, 65536) == [7]
    assert h.call(3, 5) == [0xFFFFFFFF]
    assert h.call(3, 1) == [2]
    with pytest.raises(Trap):
        h.call(1, 3 * 65536)
    bits = struct.unpack("<Q", struct.pack("<d", 0.5))[0]
    out = h.call(5, 40, 0x12345, bits)[0]
    assert struct.unpack("<d", struct.pack("<Q", out))[0] == 0x2345 + 0.5


def test_globals(mode):
    text = """function 0 "bump"(i64) -> (i64) {
block0(v0:i64):
    v1:i64 = global_get g0
    v2:i64 = iadd v1, v0
    global_set g0 v2
    v3:f64 = global_get g1
    v4:f64 = fadd v3, v3
    global_set g1 v4
    return v2
}
"""
    one = struct.unpack("<Q", struct.pack("<d", 1.5))[0]
    h = build(text, mode, HarnessSpec(globals=[(I64, 40), (F64, one)]))
    assert h.call(0, 2) == [42]
    assert h.call(0, 2) == [44]
    assert h.global_value(0) == 44
    assert struct.unpack("<d", struct.pack("<Q", h.global_value(1)))[0] == 6.0


INDIRECT = """function 0 "dispatch"(i32, i32) -> (i32) {
block0(v0:i32, v1:i32):
    v2:i32 = call_indirect type0 table0 v0, v1
    return v2
}
function 1 "double"(i32) -> (i32) {
block0(v0:i32):
    v1:i32 = iadd v0, v0
    return v1
}
function 2 "other"(i64) -> (i64) {
block0(v0:i64):
    return v0
}
"""


def test_call_indirect_checks(mode):
    types = [((I32,), (I32,)), ((I32, I32), (I32,)), ((I64,), (I64,))]
    h = build(INDIRECT, mode, HarnessSpec(tables=[4], types=types))
    h.set_table(0, 0, 1)
    h.set_table(0, 1, 2)
    assert h.call(0, 0, 21) == [42]
    for idx, code in ((1, TrapCode.BAD_SIGNATURE), (2, TrapCode.INDIRECT_CALL_TO_NULL),
                      (4, TrapCode.TABLE_OUT_OF_BOUNDS),
                      (0xFFFFFFFF, TrapCode.TABLE_OUT_OF_BOUNDS)):
        with pytest.raises(Trap) as e:
            h.call(0, idx, 1)
        assert e.value.trap_code == code
    assert h.call(0, 0, 5) == [10]


HOST = """function 1 "twice"(i32) -> (i32) {
block0(v0:i32):
    v1:i32 = call fn0 v0
    v2:i32 = call fn0 v1
    v3:i32 = iconst 1
    v4:i32 = iadd v2, v3
    return v4
}
"""


def test_host_calls_and_host_errors(mode):
    seen = []

    def host(x: int):
        seen.append(x)
        if x == 99:
            raise Trap("host says no")
        if x == 98:
            raise ValueError("boom")
        return [(x * 3) & 0xFFFFFFFF]

    h = build(HOST, mode, HarnessSpec(host_funcs=[HostFunc((I32,), (I32,), host)]))
    assert h.call(1, 2) == [19]
    assert seen == [2, 6]
    with pytest.raises(Trap, match="host says no"):
        h.call(1, 33)
    with pytest.raises(ValueError, match="boom"):
        h.call(1, 98)
    assert h.call(1, 1) == [10]


def test_unreachable_and_division_traps(mode):
    text = """function 0 "div"(i32, i32) -> (i32) {
block0(v0:i32, v1:i32):
    trapz integer_division_by_zero v1
    v2:i32 = udiv v0, v1
    return v2
}
function 1 "unreachable"() -> () {
block0:
    trap unreachable
}
"""
    h = build(text, mode)
    assert h.call(0, 7, 2) == [3]
    with pytest.raises(Trap) as e:
        h.call(0, 7, 0)
    assert e.value.trap_code == TrapCode.INTEGER_DIVISION_BY_ZERO
    with pytest.raises(Trap) as e:
        h.call(1)
    assert e.value.trap_code == TrapCode.UNREACHABLE
    assert h.call(0, 9, 3) == [3]


def test_register_pressure_spills(mode):
    # 30 values live at once: more than the 10 allocatable integer registers
    n = 30
    lines = [f"    v{i + 1}:i64 = imul v0, v{1000 + i}" for i in range(n)]
    consts = [f"    v{1000 + i}:i64 = iconst {i + 3}" for i in range(n)]
    acc = ["    v100:i64 = iconst 0"]
    prev = 100
    for i in range(n):
        acc.append(f"    v{101 + i}:i64 = iadd v{prev}, v{n - i}")
        acc.append(f"    v{201 + i}:i64 = call fn1 v{101 + i}")
        prev = 201 + i
    text = (f'function 0 "f"(i64) -> (i64) {{\nblock0(v0:i64):\n' + "\n".join(consts + lines + acc)
            + f"\n    return v{prev}\n}}\n"
            + 'function 1 "id"(i64) -> (i64) {\nblock0(v0:i64):\n    return v0\n}\n')
    h = build(text, mode)
    x = 5
    assert h.call(0, x) == [sum(x * (i + 3) for i in range(n))]


LOOP = """function 0 "spin"(i32) -> (i32) {
block0(v0:i32):
    jump block1(v0)
block1(v1:i32):
    v2:i32 = iconst 1
    v3:i32 = isub v1, v2
    brif v3, block1(v3), block2
block2:
    return v3
}
"""


FUEL_LOOP = """function 0 "spin"(i32) -> (i32) {
block0(v0:i32):
    v10:i64 = iconst 1
    fuel_check v10
    fuel v10
    jump block1(v0)
block1(v1:i32):
    v11:i64 = iconst 0
    fuel_check v11
    v2:i32 = iconst 1
    v3:i32 = isub v1, v2
    v12:i64 = iconst 4
    fuel v12
    brif v3, block1(v3), block2
block2:
    return v3
}
"""

#: as the builder writes it: the units used since the last charge in a value (v14, a block
#: parameter of the loop), checked against the fuel left and charged only at the return
FUEL_LOOP_COUNTED = """function 0 "spin"(i32) -> (i32) {
block0(v0:i32):
    v10:i64 = iconst 1
    fuel_check v10
    jump block1(v0, v10)
block1(v1:i32, v14:i64):
    fuel_check v14
    v2:i32 = iconst 1
    v3:i32 = isub v1, v2
    v12:i64 = iconst 4
    v13:i64 = iadd v14, v12
    brif v3, block1(v3, v13), block2
block2:
    fuel v13
    return v3
}
"""


def test_fuel_is_charged_and_checked_where_the_ir_says(mode):
    h = build(FUEL_LOOP, mode, HarnessSpec(fuel=1000))
    assert h.call(0, 10) == [0]
    assert h.fuel() == 1000 - 1 - 4 * 10
    # checks only at entry and the loop header: the last trip may overdraw
    h = build(FUEL_LOOP, mode, HarnessSpec(fuel=1 + 4 * 9 + 1))
    assert h.call(0, 10) == [0]
    assert h.fuel() == -3
    for fuel in (1 + 4 * 9, 1, 0):          # the 10th header check (or the entry's) finds <= 0
        h = build(FUEL_LOOP, mode, HarnessSpec(fuel=fuel))
        with pytest.raises(Trap) as e:
            h.call(0, 10)
        assert e.value.trap_code == TrapCode.OUT_OF_FUEL


def test_fuel_checks_subtract_the_units_not_charged_yet(mode):
    h = build(FUEL_LOOP_COUNTED, mode, HarnessSpec(fuel=1000))
    assert h.call(0, 10) == [0]
    assert h.fuel() == 1000 - 1 - 4 * 10
    h = build(FUEL_LOOP_COUNTED, mode, HarnessSpec(fuel=1 + 4 * 9 + 1))
    assert h.call(0, 10) == [0]
    for fuel in (1 + 4 * 9, 1):
        h = build(FUEL_LOOP_COUNTED, mode, HarnessSpec(fuel=fuel))
        with pytest.raises(Trap) as e:
            h.call(0, 10)
        assert e.value.trap_code == TrapCode.OUT_OF_FUEL
        assert h.fuel() == fuel              # nothing charged before the return


def test_epoch_deadline_interrupts_loops(mode):
    h = build(LOOP, mode, HarnessSpec(epoch_deadline=1))
    assert h.call(0, 100) == [0]
    h.set_epoch(1)
    with pytest.raises(Trap) as e:
        h.call(0, 100)
    assert e.value.trap_code == TrapCode.INTERRUPT
    h.set_epoch(0)
    assert h.call(0, 5) == [0]


def test_folded_loads_and_power_of_two_multiplies(mode):
    # a load used once by the next ALU instruction becomes its memory operand, on either side
    # of a commutative op; isub only folds a load on the right
    text = """function 0 "f"(i32, i64) -> (i64) {
block0(v0:i32, v1:i64):
    v2:i32 = iconst 8
    v3:i32 = imul v0, v2
    heap_check mem0 offset=0 size=8 v3
    v4:i64 = load mem0 offset=0 v3
    v5:i64 = isub v1, v4
    heap_check mem0 offset=8 size=8 v3
    v6:i64 = load mem0 offset=8 v3
    v7:i64 = bxor v6, v5
    heap_check mem0 offset=16 size=8 v3
    v8:i64 = load mem0 offset=16 v3
    v9:i64 = isub v8, v7
    return v9
}
"""
    h = build(text, mode, HarnessSpec(memory=(1, 1)))
    words = [1000, 0xFF, 5000]
    h.write_memory(16, b"".join(w.to_bytes(8, "little") for w in words))
    want = (words[2] - ((words[1] ^ (7 - words[0])) & (2**64 - 1))) & (2**64 - 1)
    assert h.call(0, 2, 7) == [want]
    with pytest.raises(Trap):
        h.call(0, 8190, 7)


REENTER = """function 1 "outer"(i32) -> (i32) {
block0(v0:i32):
    v1:i32 = call fn0 v0
    v2:i32 = iconst 1
    v3:i32 = iadd v1, v2
    return v3
}
function 2 "inner"(i32) -> (i32) {
block0(v0:i32):
    trapz unreachable v0
    v1:i32 = iconst 100
    v2:i32 = imul v0, v1
    return v2
}
"""


def test_host_functions_reenter_wasm(mode):
    box = {}

    def host(x):
        h = box["h"]
        if x > 3:
            return [h.call(1, x - 1)[0] + 5]
        return [h.call(2, x)[0] + 5]

    h = build(REENTER, mode, HarnessSpec(host_funcs=[HostFunc((I32,), (I32,), host)]))
    box["h"] = h
    assert h.call(1, 3) == [306]
    assert h.call(1, 6) == [324]   # three nested entries
    # a trap in the innermost entry unwinds every level and leaves the machine usable
    with pytest.raises(Trap) as e:
        h.call(1, 0)
    assert e.value.trap_code == TrapCode.UNREACHABLE
    assert h.call(1, 2) == [206]


def test_offsets_beyond_immediate_range(mode):
    text = """function 0 "far"(i32, i64) -> (i64) {
block0(v0:i32, v1:i64):
    heap_check mem0 offset=70001 size=8 v0
    store mem0 offset=70001 v0, v1
    v3:i32 = uload16 mem0 offset=70003 v0
    v4:i64 = uextend v3
    v2:i64 = load mem0 offset=70001 v0
    v5:i64 = iadd v4, v2
    return v5
}
"""
    h = build(text, mode, HarnessSpec(memory=(2, 2)))
    # misaligned too: 70004 and 70006
    assert h.call(0, 3, 0x1122334455667788) == [0x1122334455667788 + 0x5566]
    assert h.read_memory(70004, 8) == struct.pack("<Q", 0x1122334455667788)
    with pytest.raises(Trap) as e:
        h.call(0, 2 * 65536 - 70001 - 7, 1)
    assert e.value.trap_code == TrapCode.MEMORY_OUT_OF_BOUNDS
    # an index with the i32 sign bit set is a large unsigned address, not a negative one
    with pytest.raises(Trap) as e:
        h.call(0, 0xFFFFFFF0, 1)
    assert e.value.trap_code == TrapCode.MEMORY_OUT_OF_BOUNDS


#: constants at the edges of every target's immediate and materialisation forms (imm12,
#: movz/movn/movk chunks, logical immediates, imm32 sign extension, lui/addi splits)
CONSTANTS = [0, 1, 2047, 2048, 0xFFFF, 0x10000, 0x12345678, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
             0x1_0000_0000, 0xFFFF_0000_FFFF, 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_F800,
             0xFFFF_FFFF_FFFF_FFFE, 0xFFFF_1234_FFFF_FFFF, 0x5555_5555_5555_5555,
             0x0123_4567_89AB_CDEF, 0xFFFF_FFFF_0000_0000, (1 << 64) - 1]


def test_constant_materialisation(mode):
    parts = []
    for i, c in enumerate(CONSTANTS):
        parts.append(f'function {2 * i} "k{i}"() -> (i64) {{\nblock0:\n'
                     f"    v0:i64 = iconst {c:#x}\n    return v0\n}}\n")
        c32 = c & 0xFFFFFFFF
        parts.append(f'function {2 * i + 1} "w{i}"() -> (i32) {{\nblock0:\n'
                     f"    v0:i32 = iconst {c32:#x}\n    v1:i64 = uextend v0\n"
                     f"    v2:i64 = iconst 32\n    v3:i64 = ushr v1, v2\n"
                     f"    v4:i32 = ireduce v3\n    v5:i32 = iadd v0, v4\n    return v5\n}}\n")
    h = build("".join(parts), mode)
    for i, c in enumerate(CONSTANTS):
        assert h.call(2 * i) == [c], hex(c)
        # uextend clears the upper half of the register holding the i32
        assert h.call(2 * i + 1) == [c & 0xFFFFFFFF], hex(c)

