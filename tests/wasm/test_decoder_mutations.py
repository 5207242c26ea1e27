"""Robustness of the decoder (and validator) on damaged input: valid modules are mutated (bit
flips, truncations, insertions, oversized LEB128s, huge declared counts) and decoding must either
return a module or raise WasmError, quickly. Nothing else may escape: no IndexError, no
struct.error, no RecursionError, no MemoryError, no hang."""

from __future__ import annotations

import random
import subprocess
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.config import Features
from engine.errors import MalformedError, WasmError
from engine.wasm.decoder import SAFETY_NET, decode
from engine.wasm.module import WasmModule

try:
    from engine.wasm.validator import validate
except ImportError:        # pragma: no cover - the validator is written by another part
    validate = None

from tools import find_tool

TIME_LIMIT = 1.0            # seconds per input, decode + validate
FEATURES = Features()

#: A hand-written module that touches every section kind and many immediate shapes.
KITCHEN_SINK = """
(module
  (type $t (func (param i32 i64) (result i32)))
  (import "env" "f" (func $imp (type $t)))
  (import "env" "g" (global $g0 (mut i32)))
  (import "env" "m" (memory 1 2))
  (table $tab 4 funcref)
  (table $ext 1 externref)
  (global $g1 (mut i64) (i64.const -9000000000))
  (global $g2 f64 (f64.const 3.25))
  (export "run" (func $run))
  (export "tab" (table $tab))
  (start $start)
  (elem (i32.const 0) $run $start)
  (elem $passive funcref (ref.func $run) (ref.null func))
  (elem declare func $start)
  (data (i32.const 16) "hello")
  (data $pd "passive bytes")
  (tag $ex (param i32))
  (func $start)
  (func $eh (result i32)
    (block $h (result i32)
      (block $r (result exnref)
        (try_table (catch $ex $h) (catch_all_ref $r) (throw $ex (i32.const 1)))
        (return (i32.const 0)))
      (throw_ref)))
  (func $run (type $t) (local f32 v128)
    (block $b (result i32)
      (loop $l
        (br_if $l (i32.eqz (local.get 0)))
        (br_table $b $b (i32.const 1) (i32.const 0)))
      (i32.const 2))
    (if (result i32) (then (i32.const 3)) (else (i32.const 4)))
    drop
    (local.set 2 (f32.const nan:0x200000))
    (local.set 3 (v128.const i32x4 1 2 3 4))
    (local.set 3 (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 (local.get 3) (local.get 3)))
    (drop (i32x4.extract_lane 2 (local.get 3)))
    (v128.store offset=32 align=4 (i32.const 0) (local.get 3))
    (drop (v128.load8_lane 7 (i32.const 0) (local.get 3)))
    (memory.init $pd (i32.const 0) (i32.const 0) (i32.const 4))
    (data.drop $pd)
    (memory.copy (i32.const 0) (i32.const 8) (i32.const 4))
    (memory.fill (i32.const 0) (i32.const 0) (i32.const 4))
    (table.init $tab $passive (i32.const 0) (i32.const 0) (i32.const 1))
    (elem.drop $passive)
    (drop (table.grow $ext (ref.null extern) (i32.const 1)))
    (drop (i32.trunc_sat_f64_s (f64.const 1e30)))
    (drop (i64.extend32_s (i64.const 5)))
    (drop (select (result i64) (i64.const 1) (global.get $g1) (i32.const 1)))
    (drop (call_indirect $tab (type $t) (i32.const 1) (i64.const 2) (i32.const 0)))
    (drop (memory.grow (memory.size)))
    (call $imp (i32.load16_u offset=3 (i32.const 0)) (i64.const 0x7fffffffffffffff)))
)
"""

SMITH_FLAGS = [
    "--simd-enabled", "true", "--relaxed-simd-enabled", "false",
    "--threads-enabled", "false", "--shared-everything-threads-enabled", "false",
    "--tail-call-enabled", "false", "--memory64-enabled", "false",
    "--exceptions-enabled", "false", "--gc-enabled", "false",
    "--extended-const-enabled", "false", "--custom-page-sizes-enabled", "false",
    "--wide-arithmetic-enabled", "false", "--custom-descriptors-enabled", "false",
    "--compact-imports-enabled", "false", "--max-memories", "1",
    "--generate-custom-sections", "true", "--min-funcs", "3",
]


def _smith(seed: int) -> bytes | None:
    tool = find_tool("wasm-tools")
    if tool is None:
        return None
    rng = random.Random(seed)
    proc = subprocess.run([str(tool), "smith", *SMITH_FLAGS], input=rng.randbytes(3000),
                          capture_output=True, timeout=60)
    return proc.stdout if proc.returncode == 0 else None


@pytest.fixture(scope="module")
def corpus(wat_to_wasm) -> list[bytes]:
    modules = [wat_to_wasm(KITCHEN_SINK)]
    for seed in range(6):
        data = _smith(seed)
        if data is not None:
            modules.append(data)
    for data in modules:                       # the seeds themselves are well formed
        assert isinstance(decode(data, FEATURES), WasmModule)
    assert len(modules) >= 4
    return modules


def check(data: bytes) -> None:
    """decode (+ validate) returns or raises WasmError, within the time limit (CPU time of
    this thread, so a loaded machine does not make a bounded decode look unbounded)."""
    start = time.thread_time()
    try:
        module = decode(data, FEATURES)
        if validate is not None:
            validate(module, FEATURES)
    except WasmError as e:
        # a deliberate check, not decode()'s last-resort conversion of a stray exception
        assert SAFETY_NET not in str(e), str(e)
    elapsed = time.thread_time() - start
    assert elapsed < TIME_LIMIT, f"{elapsed:.2f}s for {len(data)} bytes"


def _leb(value: int, width: int) -> bytes:
    """`value` as an unsigned LEB128 padded to `width` bytes (may be over-long on purpose)."""
    out = bytearray()
    for i in range(width):
        b = value & 0x7F
        value >>= 7
        out.append(b | (0x80 if i < width - 1 else 0))
    return bytes(out)


mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 1 << 20), st.integers(0, 7)),
    st.tuples(st.just("truncate"), st.integers(0, 1 << 20)),
    st.tuples(st.just("insert"), st.integers(0, 1 << 20), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("delete"), st.integers(0, 1 << 20), st.integers(1, 8)),
    st.tuples(st.just("byte"), st.integers(0, 1 << 20), st.integers(0, 255)),
    st.tuples(st.just("leb"), st.integers(0, 1 << 20), st.integers(0, 2**64 - 1),
              st.integers(1, 12)),
    st.tuples(st.just("count"), st.integers(0, 1 << 20),
              st.sampled_from([0xFFFF_FFFF, 0x1000_0000, 2**31, 65536, 50_001])),
)


def apply(data: bytes, mutations) -> bytes:
    buf = bytearray(data)
    for m in mutations:
        if not buf:
            break
        pos = m[1] % len(buf)
        kind = m[0]
        if kind == "flip":
            buf[pos] ^= 1 << m[2]
        elif kind == "truncate":
            del buf[pos:]
        elif kind == "insert":
            buf[pos:pos] = m[2]
        elif kind == "delete":
            del buf[pos:pos + m[2]]
        elif kind == "byte":
            buf[pos] = m[2]
        elif kind == "leb":             # overwrite with a (possibly over-long) LEB128
            buf[pos:pos + 1] = _leb(m[2], m[3])
        else:                           # a huge count where a small one was
            buf[pos:pos + 1] = _leb(m[2], 5)
    return bytes(buf)


@settings(max_examples=400, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(index=st.integers(0, 100), mutations=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_modules_fail_cleanly(corpus, index, mutations):
    data = corpus[index % len(corpus)]
    check(apply(data, mutations))


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(st.binary(max_size=64))
def test_random_bytes_after_header(tail):
    check(b"\x00asm\x01\x00\x00\x00" + tail)


def _section_ends(data: bytes) -> set[int]:
    """Offsets where a section ends (cutting there leaves a well-framed module)."""
    ends = {8}
    pos = 8
    while pos < len(data):
        pos += 1
        size = shift = 0
        while True:
            b = data[pos]
            pos += 1
            size |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        pos += size
        ends.add(pos)
    return ends


def test_every_truncation_of_the_kitchen_sink(corpus):
    data = corpus[0]
    ends = _section_ends(data)
    assert len(ends) > 10
    for cut in range(len(data)):
        if cut in ends:
            check(data[:cut])           # well framed; may still be malformed (e.g. no code)
        else:
            with pytest.raises(MalformedError):
                decode(data[:cut], FEATURES)


def test_every_single_byte_flip_of_the_kitchen_sink(corpus):
    data = bytearray(corpus[0])
    for pos in range(8, len(data)):
        for bit in (0, 7):
            data[pos] ^= 1 << bit
            check(bytes(data))
            data[pos] ^= 1 << bit


@pytest.mark.parametrize("sec_id", [1, 2, 3, 4, 5, 6, 7, 9, 10, 11])
def test_tiny_file_declaring_2_32_items_fails_at_once(sec_id):
    # 8-byte header + section id + size + a count of 2^32 - 1: ~14 bytes in all
    data = b"\x00asm\x01\x00\x00\x00" + bytes([sec_id, 5]) + b"\xff\xff\xff\xff\x0f"
    start = time.thread_time()
    with pytest.raises(MalformedError) as info:
        decode(data, FEATURES)
    assert time.thread_time() - start < 0.1
    assert info.value.reason == "length out of bounds"


def test_huge_counts_inside_a_function_fail_at_once():
    header = b"\x00asm\x01\x00\x00\x00\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00"
    for body in (b"\x00\x0e\xff\xff\xff\xff\x0f\x00\x0b",            # br_table
                 b"\x00\x1c\xff\xff\xff\xff\x0f\x0b",                # select t*
                 b"\xff\xff\xff\xff\x0f\x0b"):                       # local declarations
        entry = bytes([len(body)]) + body
        data = header + b"\x0a" + bytes([len(entry) + 1, 1]) + entry
        start = time.thread_time()
        with pytest.raises(MalformedError):
            decode(data, FEATURES)
        assert time.thread_time() - start < 0.1
