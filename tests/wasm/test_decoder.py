"""Tests of engine.wasm.decoder: every section, every immediate kind, LEB128 edge cases, the
name section, custom section placement, feature gating, and malformed inputs with the spec's
wording and the offending byte offset.

Binaries are built by hand (helpers below) when the exact bytes matter, and with wasm-tools (the
reference encoder) when the test checks that decoding agrees with another implementation."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

import pytest

from engine.config import Features
from engine.errors import FeatureDisabledError, MalformedError, WasmError
from engine.wasm.decoder import MAX_LOCALS, decode
from engine.wasm.module import MemArg, SegmentMode
from engine.wasm.opcodes import INFO, Op
from engine.wasm.reader import Reader, read_leb, read_s32, read_s64, read_u32
from engine.wasm.types import ExternKind, FuncType, HeapType, Limits, ValType, ref_type

from tools import find_tool, wasm_to_wat

I32, I64, F32, F64, V128 = ValType.I32, ValType.I64, ValType.F32, ValType.F64, ValType.V128
FUNCREF, EXTERNREF = ValType.FUNCREF, ValType.EXTERNREF
HEADER = b"\x00asm\x01\x00\x00\x00"
SPEC = Path("/work/shared/spec-testsuite/2.0")


# -- building binaries ---------------------------------------------------------------------------

def uleb(v: int) -> bytes:
    out = bytearray()
    while True:
        b, v = v & 0x7F, v >> 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def sleb(v: int) -> bytes:
    out = bytearray()
    while True:
        b, v = v & 0x7F, v >> 7
        done = (v == 0 and not b & 0x40) or (v == -1 and b & 0x40)
        out.append(b | (0 if done else 0x80))
        if done:
            return bytes(out)


def sec(sec_id: int, payload: bytes) -> bytes:
    return bytes([sec_id]) + uleb(len(payload)) + payload


def vec(items: list[bytes]) -> bytes:
    return uleb(len(items)) + b"".join(items)


def name(s: str) -> bytes:
    raw = s.encode()
    return uleb(len(raw)) + raw


def module(*sections: bytes) -> bytes:
    return HEADER + b"".join(sections)


VOID_TYPE = sec(1, vec([b"\x60\x00\x00"]))


def func_module(body: bytes, locals_: bytes = b"\x00", *, extra: tuple[bytes, ...] = (),
                after_func: tuple[bytes, ...] = (), before_code: tuple[bytes, ...] = ()) -> bytes:
    """One function of type [] -> [] with the given body (which must include its `end`)."""
    entry = locals_ + body
    return module(VOID_TYPE, *extra, sec(3, vec([b"\x00"])), *after_func, *before_code,
                  sec(10, vec([uleb(len(entry)) + entry])))


def body_of(data: bytes, features: Features | None = None):
    return decode(data, features).codes[0].body


#: WebAssembly 2.0: the encodings these tests check by default (3.0 reads memory indices and
#: 64-bit offsets where 2.0 has zero bytes and 32-bit ones)
WASM_2_0 = Features(tail_call=False, extended_const=False, multi_memory=False, memory64=False,
                    function_references=False, exceptions=False)


def malformed(data: bytes, features: Features | None = WASM_2_0) -> MalformedError:
    with pytest.raises(MalformedError) as info:
        decode(data, features)
    return info.value


# -- header and section framing ------------------------------------------------------------------

def test_empty_module():
    m = decode(HEADER)
    assert m.types == [] and m.codes == [] and m.start is None and m.data_count is None


@pytest.mark.parametrize("data, message", [
    (b"", "unexpected end"), (b"\x00as", "unexpected end"),
    (b"asm\x00", "magic header not detected"), (b"\x00asm\x01\x00\x00", "unexpected end"),
    (b"\x00asm\x02\x00\x00\x00", "unknown binary version"),
    (b"\x00asm\x00\x00\x00\x01", "unknown binary version"),
])
def test_header_errors(data, message):
    assert message in str(malformed(data))


def test_section_framing_errors():
    assert malformed(module(b"\x0d\x00")).reason == "malformed section id"
    e = malformed(module(b"\x01\x05\x00"))           # size 5, no bytes left
    assert e.reason == "length out of bounds" and e.offset == 9
    e = malformed(module(sec(1, b"\x00\x00")))       # count 0, one byte left over
    assert e.reason == "section size mismatch" and e.offset == 11
    # a section that ends in the middle of its contents
    e = malformed(module(b"\x01\x01\x01\x60\x00\x00"))
    assert e.reason == "section size mismatch"


@pytest.mark.parametrize("order", [
    (1, 1), (3, 1), (10, 11, 10), (12, 9), (11, 10), (12, 12),
])
def test_section_order_and_duplicates(order):
    payload = {1: b"\x00", 3: b"\x00", 9: b"\x00", 10: b"\x00", 11: b"\x00", 12: b"\x00"}
    data = module(*(sec(i, payload[i]) for i in order))
    assert malformed(data).reason == "unexpected content after last section"


def test_custom_sections_anywhere_with_position():
    data = module(sec(0, name("first") + b"\x01\x02"), VOID_TYPE, sec(0, name("after-type")),
                  sec(3, vec([b"\x00"])), sec(12, b"\x00"), sec(0, name("after-datacount")),
                  sec(10, vec([b"\x02\x00\x0b"])), sec(0, name("last") + b"xyz"))
    m = decode(data)
    assert [(c.name, c.after, c.data) for c in m.customs] == [
        ("first", 0, b"\x01\x02"), ("after-type", 1, b""), ("after-datacount", 12, b""),
        ("last", 10, b"xyz")]


def test_custom_section_errors():
    assert "unexpected end" in str(malformed(module(b"\x00\x00")))
    assert malformed(module(sec(0, b"\x05ab"))).reason == "length out of bounds"
    assert malformed(module(sec(0, b"\x03ab"))).reason.startswith("unexpected end")
    assert malformed(module(sec(0, b"\x02\xc0\x80"))).reason == "malformed UTF-8 encoding"


# -- LEB128 ----------------------------------------------------------------------------------------

SPECIALISED = {(32, False): read_u32, (32, True): read_s32, (64, True): read_s64}


@pytest.mark.parametrize("raw, bits, signed, value", [
    (b"\x00", 32, False, 0), (b"\x7f", 32, False, 127), (b"\x80\x01", 32, False, 128),
    (b"\xff\xff\xff\xff\x0f", 32, False, 0xFFFF_FFFF), (b"\x80\x80\x80\x80\x00", 32, False, 0),
    (b"\x7f", 32, True, -1), (b"\x3f", 32, True, 63), (b"\x40", 32, True, -64),
    (b"\xff\xff\xff\xff\x07", 32, True, 0x7FFF_FFFF), (b"\x80\x80\x80\x80\x78", 32, True, -2**31),
    (b"\xff\xff\xff\xff\x7f", 32, True, -1), (b"\xff\xff\xff\xff\x0f", 33, True, 2**32 - 1),
    (b"\x80\x80\x80\x80\x70", 33, True, -2**32),
    (b"\xff" * 9 + b"\x00", 64, True, 2**63 - 1), (b"\x80" * 9 + b"\x7f", 64, True, -2**63),
    (b"\xff" * 9 + b"\x01", 64, False, 2**64 - 1),
])
def test_leb_values(raw, bits, signed, value):
    readers = [lambda d, p, e: read_leb(d, p, e, bits, signed)]
    if (bits, signed) in SPECIALISED:
        readers.append(SPECIALISED[bits, signed])
    for read in readers:
        assert read(raw, 0, len(raw)) == (value, len(raw))
        # the same with trailing bytes: the reader stops after the value
        assert read(raw + b"\x55", 0, len(raw) + 1) == (value, len(raw))
        # and from a list of ints (the instruction loop reads one)
        assert read(list(raw), 0, len(raw)) == (value, len(raw))


@pytest.mark.parametrize("raw, bits, signed, message", [
    (b"\x80\x80\x80\x80\x80\x00", 32, False, "integer representation too long"),
    (b"\xff\xff\xff\xff\x1f", 32, False, "integer too large"),
    (b"\xff\xff\xff\xff\x10", 32, False, "integer too large"),
    (b"\xff\xff\xff\xff\x0f", 32, True, "integer too large"),
    (b"\x80\x80\x80\x80\x70", 32, True, "integer too large"),
    (b"\x80\x80\x80\x80\x20", 33, True, "integer too large"),
    (b"\xff" * 9 + b"\x02", 64, False, "integer too large"),
    (b"\xff" * 9 + b"\x01", 64, True, "integer too large"),
    (b"\x80" * 10 + b"\x00", 64, True, "integer representation too long"),
    (b"\x80\x80", 32, False, "unexpected end"),
    (b"", 32, False, "unexpected end"),
])
def test_leb_errors(raw, bits, signed, message):
    readers = [lambda d, p, e: read_leb(d, p, e, bits, signed)]
    if (bits, signed) in SPECIALISED:
        readers.append(SPECIALISED[bits, signed])
    for read in readers:
        with pytest.raises(MalformedError) as info:
            read(raw, 0, len(raw))
        assert message in info.value.reason
        assert info.value.offset == (0 if "integer" in message else len(raw))


def test_specialised_leb_readers_agree_with_read_leb():
    # read_u32 and read_s32 are unrolled while five bytes are in bounds: every value, end
    # position and error (message and offset) must be read_leb's, near the bound too
    import random
    rnd = random.Random(7)
    interesting = [0x00, 0x07, 0x08, 0x0F, 0x10, 0x3F, 0x40, 0x77, 0x78, 0x7F, 0x80, 0xFF]

    def outcome(read, data, pos, end):
        try:
            return read(data, pos, end)
        except MalformedError as e:
            return e.reason, e.offset

    for _ in range(20_000):
        raw = bytes(rnd.choice(interesting) if rnd.random() < 0.7 else rnd.randrange(256)
                    for _ in range(rnd.randrange(1, 9)))
        pos = rnd.randrange(len(raw))
        end = rnd.randrange(pos, len(raw) + 1)
        for signed, read in ((False, read_u32), (True, read_s32)):
            expected = outcome(lambda d, p, e: read_leb(d, p, e, 32, signed), raw, pos, end)
            assert outcome(read, raw, pos, end) == expected, (raw.hex(), pos, end, signed)
            assert outcome(read, list(raw), pos, end) == expected, (raw.hex(), pos, end, signed)


def test_reader_length_rules():
    r = Reader(b"\x05abc", 0, 4)
    with pytest.raises(MalformedError, match="length out of bounds"):
        r.byte_vec()
    # a length may count its own bytes (the reference decoder's rule); the read then runs out
    r = Reader(b"\x04abc", 0, 4)
    with pytest.raises(MalformedError, match="unexpected end"):
        r.byte_vec()
    assert Reader(b"\x03abc").byte_vec() == b"abc"


def test_padded_leb_in_module():
    # type count 1 written as a 5-byte LEB, function index 0 as 0x80 0x00
    types = sec(1, b"\x81\x80\x80\x80\x00" + b"\x60\x00\x00")
    data = module(types, sec(3, b"\x01\x80\x00"), sec(10, vec([b"\x02\x00\x0b"])))
    assert decode(data).funcs == [0]


# -- sections ------------------------------------------------------------------------------------

def test_type_section():
    types = sec(1, vec([b"\x60\x02\x7f\x7e\x01\x7d", b"\x60\x00\x02\x7c\x7b", b"\x60\x01\x6f\x00"]))
    m = decode(module(types))
    assert m.types == [FuncType([I32, I64], [F32]), FuncType([], [F64, V128]),
                       FuncType([EXTERNREF], [])]
    assert "malformed value type" in malformed(module(sec(1, vec([b"\x60\x01\x7a\x00"])))).reason
    assert malformed(module(sec(1, vec([b"\x61\x00\x00"])))).offset == 11
    with pytest.raises(FeatureDisabledError, match="multi value"):
        decode(module(sec(1, vec([b"\x60\x00\x02\x7f\x7f"]))), Features(multi_value=False))


def test_import_section():
    imports = vec([
        name("m") + name("f") + b"\x00\x00",
        name("m") + name("t") + b"\x01\x70\x01\x01\x02",
        name("m") + name("mem") + b"\x02\x00\x03",
        name("env") + name("g") + b"\x03\x7e\x01",
    ])
    m = decode(module(VOID_TYPE, sec(2, imports)))
    assert [(i.module, i.name, i.kind) for i in m.imports] == [
        ("m", "f", ExternKind.FUNC), ("m", "t", ExternKind.TABLE),
        ("m", "mem", ExternKind.MEMORY), ("env", "g", ExternKind.GLOBAL)]
    assert m.imports[0].desc == 0
    assert m.imports[1].desc.element == FUNCREF and m.imports[1].desc.limits == Limits(1, 2)
    assert m.imports[2].desc.limits == Limits(3) and not m.imports[2].desc.shared
    assert m.imports[3].desc.content == I64 and m.imports[3].desc.mutable
    e = malformed(module(sec(2, vec([name("m") + name("x") + b"\x04"]))))
    assert e.reason == "malformed import kind" and e.offset == 15
    e = malformed(module(sec(2, vec([name("m") + name("x") + b"\x03\x7f\x02"]))))
    assert e.reason == "malformed mutability"
    with pytest.raises(FeatureDisabledError, match="mutable globals"):
        decode(module(sec(2, imports)), Features(mutable_globals=False))


def test_limits_flags():
    mem = lambda lim: module(sec(5, vec([lim])))   # noqa: E731
    assert decode(mem(b"\x01\x00\x80\x80\x04")).mems[0].limits == Limits(0, 65536)
    e = malformed(mem(b"\x03\x01\x02"))
    assert "integer too large" in e.reason and "threads" in e.reason
    assert "integer too large" in malformed(mem(b"\x04\x00")).reason
    assert "integer representation too long" in malformed(mem(b"\x81\x00\x00")).reason
    assert "unexpected end" in malformed(mem(b"\x01\x00")).reason


def test_table_memory_global_export_start():
    tables = sec(4, vec([b"\x70\x00\x0a", b"\x6f\x01\x00\x05"]))
    mems = sec(5, vec([b"\x00\x01"]))
    globs = sec(6, vec([b"\x7f\x00\x41\x2a\x0b", b"\x7d\x01\x43\x00\x00\x80\x3f\x0b"]))
    exports = sec(7, vec([name("f") + b"\x00\x00", name("t") + b"\x01\x01",
                          name("m") + b"\x02\x00", name("g") + b"\x03\x01"]))
    start = sec(8, b"\x00")
    data = module(VOID_TYPE, sec(3, vec([b"\x00"])), tables, mems, globs, exports, start,
                  sec(10, vec([b"\x02\x00\x0b"])))
    m = decode(data)
    assert [(t.element, t.limits) for t in m.tables] == [(FUNCREF, Limits(10)),
                                                         (EXTERNREF, Limits(0, 5))]
    assert m.mems[0].limits == Limits(1)
    assert m.globals[0].type.content == I32 and not m.globals[0].type.mutable
    assert [(i.op, i.imm) for i in m.globals[0].init] == [(Op.I32_CONST, 42), (Op.END, None)]
    assert m.globals[1].init[0].imm == 0x3F800000 and m.globals[1].type.mutable
    assert [(e.name, e.kind, e.index) for e in m.exports] == [
        ("f", ExternKind.FUNC, 0), ("t", ExternKind.TABLE, 1), ("m", ExternKind.MEMORY, 0),
        ("g", ExternKind.GLOBAL, 1)]
    assert m.start == 0
    assert malformed(module(sec(7, vec([name("x") + b"\x04\x00"])))).reason == \
        "malformed export kind"
    assert malformed(module(sec(4, vec([b"\x7f\x00\x00"])))).reason == "malformed reference type"
    with pytest.raises(FeatureDisabledError, match="mutable globals"):
        decode(data, Features(mutable_globals=False))


def test_element_segments_all_encodings():
    off = b"\x41\x07\x0b"                            # i32.const 7
    segs = [
        b"\x00" + off + vec([b"\x00", b"\x00"]),                          # active, table 0, funcs
        b"\x01\x00" + vec([b"\x00"]),                                     # passive funcs
        b"\x02\x01" + off + b"\x00" + vec([b"\x00"]),                     # active table 1, funcs
        b"\x03\x00" + vec([b"\x00"]),                                     # declarative funcs
        b"\x04" + off + vec([b"\xd2\x00\x0b", b"\xd0\x70\x0b"]),          # active, exprs
        b"\x05\x6f" + vec([b"\xd0\x6f\x0b"]),                             # passive exprs
        b"\x06\x01" + off + b"\x70" + vec([b"\xd2\x00\x0b"]),             # active table 1, exprs
        b"\x07\x70" + vec([b"\xd2\x00\x0b"]),                             # declarative exprs
    ]
    data = module(VOID_TYPE, sec(3, vec([b"\x00"])), sec(9, vec(segs)),
                  sec(10, vec([b"\x02\x00\x0b"])))
    m = decode(data)
    modes = [(s.mode, s.table, s.type) for s in m.elems]
    A, P, D = SegmentMode.ACTIVE, SegmentMode.PASSIVE, SegmentMode.DECLARATIVE
    # 3.0 (function references): a segment of function indices holds (ref func) values
    ref_func = ref_type(False, HeapType.FUNC)
    assert modes == [(A, 0, ref_func), (P, 0, ref_func), (A, 1, ref_func), (D, 0, ref_func),
                     (A, 0, FUNCREF), (P, 0, EXTERNREF), (A, 1, FUNCREF), (D, 0, FUNCREF)]
    wasm2 = dataclasses.replace(Features(), function_references=False)
    assert [s.type for s in decode(data, wasm2).elems][:4] == [FUNCREF] * 4
    for s in m.elems:
        assert (s.offset is None) == (s.mode is not A)
        if s.offset is not None:
            assert [(i.op, i.imm) for i in s.offset] == [(Op.I32_CONST, 7), (Op.END, None)]
    # function indices become ref.func expressions
    assert [[(i.op, i.imm) for i in e] for e in m.elems[0].init] == \
        [[(Op.REF_FUNC, 0), (Op.END, None)]] * 2
    assert [(i.op, i.imm) for i in m.elems[4].init[1]] == [(Op.REF_NULL, FUNCREF), (Op.END, None)]
    bad = module(sec(9, vec([b"\x08"])))
    assert malformed(bad).reason == "malformed elements segment kind"
    assert malformed(module(sec(9, vec([b"\x01\x01\x00"])))).reason == "malformed element kind"
    with pytest.raises(FeatureDisabledError, match="reference types"):
        decode(data, Features(reference_types=False))


def test_data_segments_and_data_count():
    segs = vec([b"\x00\x41\x01\x0b" + name("ab"), b"\x01" + name("c"),
                b"\x02\x00\x41\x02\x0b" + name("")])
    m = decode(module(sec(5, vec([b"\x00\x01"])), sec(12, b"\x03"), sec(11, segs)))
    assert [(d.mode, d.data, d.memory) for d in m.datas] == [
        (SegmentMode.ACTIVE, b"ab", 0), (SegmentMode.PASSIVE, b"c", 0),
        (SegmentMode.ACTIVE, b"", 0)]
    assert m.data_count == 3 and m.datas[1].offset is None
    assert [(i.op, i.imm) for i in m.datas[2].offset] == [(Op.I32_CONST, 2), (Op.END, None)]
    e = malformed(module(sec(12, b"\x02"), sec(11, segs)))
    assert e.reason == "data count and data section have inconsistent lengths"
    e = malformed(module(sec(12, b"\x01")))
    assert e.reason == "data count and data section have inconsistent lengths"
    assert malformed(module(sec(11, vec([b"\x03"])))).reason == "malformed data segment kind"
    with pytest.raises(FeatureDisabledError, match="bulk memory"):
        decode(module(sec(11, vec([b"\x01\x00"]))), Features(bulk_memory=False))


def test_function_and_code_counts():
    e = malformed(module(VOID_TYPE, sec(3, vec([b"\x00"]))))
    assert e.reason == "function and code section have inconsistent lengths"
    e = malformed(module(VOID_TYPE, sec(10, vec([b"\x02\x00\x0b"]))))
    assert e.reason == "function and code section have inconsistent lengths"


def test_locals():
    m = decode(func_module(b"\x0b", vec([b"\x02\x7f", b"\x00\x7e", b"\x01\x7c"])))
    assert m.codes[0].locals == ((2, I32), (1, F64))
    assert m.codes[0].local_types() == [I32, I32, F64]
    too_many = vec([b"\xff\xff\xff\xff\x0f\x7f", b"\x02\x7e"])
    assert malformed(func_module(b"\x0b", too_many)).reason == "too many locals"
    over_cap = vec([uleb(MAX_LOCALS) + b"\x7f", b"\x01\x7e"])
    e = malformed(func_module(b"\x0b", over_cap))
    assert "too many locals" in e.reason and str(MAX_LOCALS) in e.reason
    assert decode(func_module(b"\x0b", vec([uleb(MAX_LOCALS) + b"\x7f"]))).codes[0].locals == \
        ((MAX_LOCALS, I32),)
    # parameters count towards polyjit's limit
    entry = vec([uleb(MAX_LOCALS - 1) + b"\x7f"]) + b"\x0b"
    two_params = module(sec(1, vec([b"\x60\x02\x7f\x7f\x00"])), sec(3, vec([b"\x00"])),
                        sec(10, vec([uleb(len(entry)) + entry])))
    assert "2 parameters" in malformed(two_params).reason


def test_body_size_mismatch_and_missing_end():
    entry = b"\x00\x01\x0b"                          # nop end, but declared size 4
    data = module(VOID_TYPE, sec(3, vec([b"\x00"])), sec(10, b"\x01\x04" + entry + b"\x01"))
    assert "section size mismatch" in malformed(data).reason
    # missing end at the end of the binary
    assert malformed(func_module(b"\x01")).reason == "unexpected end of section or function"
    # else outside an if
    assert "END opcode expected" in malformed(func_module(b"\x05\x0b")).reason
    assert "END opcode expected" in malformed(func_module(b"\x02\x40\x05\x0b\x0b")).reason


@pytest.mark.parametrize("custom_size", [0, 5000])
def test_body_decoding_with_large_prefix(custom_size):
    """The code section is read as a list when what precedes it is small, and as bytes when a
    large custom section comes first; both give the same instructions and error offsets."""
    pad = sec(0, name("pad") + bytes(custom_size))
    body = b"\x43\x00\x00\x80\x3f\xfd\x0c" + bytes(range(16)) + b"\x1a\x1a\x0b"
    data = func_module(body, extra=(pad,))
    start = data.rindex(body)
    got = decode(data).codes[0].body
    assert [(i.op, i.imm, i.offset) for i in got] == [
        (Op.F32_CONST, 0x3F800000, start), (Op.V128_CONST, bytes(range(16)), start + 5),
        (Op.DROP, None, start + 23), (Op.DROP, None, start + 24), (Op.END, None, start + 25)]
    bad = func_module(b"\x01\x3f\x01\x0b", extra=(pad,))
    e = malformed(bad)
    assert e.reason == "zero byte expected" and e.offset == bad.rindex(b"\x3f\x01") + 1


def test_missing_end_reads_on_like_the_reference_decoder():
    # the body lacks its end; the data section's id byte (0x0b) is read as the end, so the
    # function overruns its declared size
    entry = b"\x04\x00\x41\x01\x1a"
    data = module(VOID_TYPE, sec(3, vec([b"\x00"])), sec(5, vec([b"\x00\x01"])),
                  sec(10, b"\x01" + entry), sec(11, vec([])))
    assert "section size mismatch" in malformed(data).reason


def test_body_offsets_are_absolute():
    data = func_module(b"\x41\x05\x1a\x0b")
    m = decode(data)
    body = m.codes[0].body
    start = data.index(b"\x41\x05\x1a\x0b")
    assert [i.offset for i in body] == [start, start + 2, start + 3]
    assert m.codes[0].offset == start


# -- instructions and immediates ------------------------------------------------------------------

def ops(body):
    return [(i.op, i.imm) for i in body]


def test_control_immediates():
    types = sec(1, vec([b"\x60\x00\x00", b"\x60\x01\x7f\x02\x7f\x7e"]))
    body = (b"\x02\x40\x03\x7f\x04\x01\x05\x0b\x0b\x0b"            # block, loop i32, if type 1
            b"\x0c\x00\x0d\x01\x0e\x03\x00\x01\x80\x01\x02"        # br 0, br_if 1, br_table
            b"\x10\x00\x11\x01\x00\x11\x01\x02\x0f\x0b")           # call, call_indirect x2
    entry = b"\x00" + body
    data = module(types, sec(3, vec([b"\x00"])), sec(10, vec([uleb(len(entry)) + entry])))
    assert ops(decode(data).codes[0].body) == [
        (Op.BLOCK, None), (Op.LOOP, I32), (Op.IF, 1), (Op.ELSE, None), (Op.END, None),
        (Op.END, None), (Op.END, None), (Op.BR, 0), (Op.BR_IF, 1),
        (Op.BR_TABLE, ((0, 1, 128), 2)), (Op.CALL, 0), (Op.CALL_INDIRECT, (1, 0)),
        (Op.CALL_INDIRECT, (1, 2)), (Op.RETURN, None), (Op.END, None)]
    with pytest.raises(FeatureDisabledError, match="multi value"):
        decode(data, Features(multi_value=False))
    with pytest.raises(FeatureDisabledError, match="reference types"):
        decode(data, Features(reference_types=False, bulk_memory=True))
    assert "malformed block type" in malformed(func_module(b"\x02\x60\x0b\x0b")).reason


def test_numeric_immediates():
    body = (b"\x41" + sleb(-2**31) + b"\x41" + sleb(2**31 - 1) + b"\x42" + sleb(-2**63)
            + b"\x42" + sleb(-1) + b"\x43\x01\x00\xc0\x7f" + b"\x44" + bytes(range(8)) + b"\x0b")
    assert ops(body_of(func_module(body))) == [
        (Op.I32_CONST, -2**31), (Op.I32_CONST, 2**31 - 1), (Op.I64_CONST, -2**63),
        (Op.I64_CONST, -1), (Op.F32_CONST, 0x7FC00001), (Op.F64_CONST, 0x0706050403020100),
        (Op.END, None)]
    assert malformed(func_module(b"\x41\xff\xff\xff\xff\x0f\x0b")).reason == "integer too large"
    assert malformed(func_module(b"\x43\x00\x00")).reason.startswith("unexpected end")


def test_variable_memory_and_reference_immediates():
    body = (b"\x20\x00\x21\x01\x22\x02\x23\x03\x24\x04\x25\x05\x26\x06"
            b"\x28\x02\x10\x36\x00\x80\x80\x04\x3f\x00\x40\x00"
            b"\xd0\x70\xd0\x6f\xd1\xd2\x07\x1b\x1c\x02\x7f\x7b\x0b")
    assert ops(body_of(func_module(body))) == [
        (Op.LOCAL_GET, 0), (Op.LOCAL_SET, 1), (Op.LOCAL_TEE, 2), (Op.GLOBAL_GET, 3),
        (Op.GLOBAL_SET, 4), (Op.TABLE_GET, 5), (Op.TABLE_SET, 6),
        (Op.I32_LOAD, MemArg(2, 16)), (Op.I32_STORE, MemArg(0, 65536)),
        (Op.MEMORY_SIZE, 0), (Op.MEMORY_GROW, 0), (Op.REF_NULL, FUNCREF),
        (Op.REF_NULL, EXTERNREF), (Op.REF_IS_NULL, None), (Op.REF_FUNC, 7), (Op.SELECT, None),
        (Op.SELECT_T, (I32, V128)), (Op.END, None)]


@pytest.mark.parametrize("body, message", [
    (b"\x3f\x01\x0b", "zero byte expected"), (b"\x40\x80\x00\x0b", "zero byte expected"),
    (b"\xfc\x0b\x01\x0b", "zero byte expected"), (b"\xfc\x0a\x00\x01\x0b", "zero byte expected"),
    (b"\x28\x20\x00\x0b", "malformed memop flags"), (b"\x28\x40\x00\x0b", "malformed memop flags"),
    (b"\xd0\x7f\x0b", "malformed reference type"), (b"\x06\x0b", "illegal opcode"),
    (b"\xff\x0b", "illegal opcode"), (b"\xfc\x12\x0b", "illegal opcode"),
    (b"\xfd\x9a\x01\x0b", "illegal opcode"), (b"\x1c\x01\x7a\x0b", "malformed value type"),
    (b"\x0e\xff\xff\xff\xff\x0f\x00\x0b", "length out of bounds"),
])
def test_instruction_errors(body, message):
    data = func_module(body)
    e = malformed(data)
    assert message in e.reason
    start = data.rindex(body)
    assert start <= e.offset < start + len(body)


def test_multi_memory_encodings():
    # memory index after flag bit 6 of a memarg, u32 indices where 2.0 has zero bytes
    body = (b"\x41\x00\x28\x42\x03\x08\x1a"       # i32.load (memory 3) offset=8 align=4
            b"\x3f\x02\x1a\x41\x00\x40\x01\x1a"     # memory.size 2, memory.grow 1
            b"\x41\x00\x41\x00\x41\x00\xfc\x0a\x01\x02"   # memory.copy 1 2
            b"\x41\x00\x41\x00\x41\x00\xfc\x0b\x03\x0b")  # memory.fill 3
    got = ops(body_of(func_module(body)))
    assert (Op.I32_LOAD, MemArg(2, 8, 3)) in got
    assert [g for g in got if g[0] in (Op.MEMORY_SIZE, Op.MEMORY_GROW, Op.MEMORY_COPY,
                                       Op.MEMORY_FILL)] == [
        (Op.MEMORY_SIZE, 2), (Op.MEMORY_GROW, 1), (Op.MEMORY_COPY, (1, 2)), (Op.MEMORY_FILL, 3)]
    assert "malformed memop flags" in malformed(func_module(b"\x41\x00\x28\x80\x01\x00\x1a\x0b"),
                                                Features()).reason
    # memory64 offsets are u64
    wide = func_module(b"\x41\x00\x28\x02\x80\x80\x80\x80\x10\x1a\x0b")
    assert (Op.I32_LOAD, MemArg(2, 1 << 32)) in ops(body_of(wide))
    assert "integer too large" in malformed(wide).reason


def test_misc_prefix_immediates():
    body = (b"\xfc\x00\xfc\x07\xfc\x08\x01\x00\xfc\x09\x02\xfc\x0a\x00\x00\xfc\x0b\x00"
            b"\xfc\x0c\x03\x01\xfc\x0d\x04\xfc\x0e\x01\x02\xfc\x0f\x05\xfc\x10\x06\xfc\x11\x07\x0b")
    data = func_module(body, before_code=(sec(12, b"\x00"),))
    assert ops(body_of(data)) == [
        (Op.I32_TRUNC_SAT_F32_S, None), (Op.I64_TRUNC_SAT_F64_U, None), (Op.MEMORY_INIT, (1, 0)),
        (Op.DATA_DROP, 2), (Op.MEMORY_COPY, (0, 0)), (Op.MEMORY_FILL, 0),
        (Op.TABLE_INIT, (3, 1)), (Op.ELEM_DROP, 4), (Op.TABLE_COPY, (1, 2)), (Op.TABLE_GROW, 5),
        (Op.TABLE_SIZE, 6), (Op.TABLE_FILL, 7), (Op.END, None)]
    with pytest.raises(FeatureDisabledError, match="saturating float to int"):
        decode(data, Features(saturating_float_to_int=False))


@pytest.mark.parametrize("body", [b"\xfc\x08\x00\x00\x0b", b"\xfc\x09\x00\x0b"])
def test_data_count_required(body):
    data = func_module(body, after_func=(sec(5, vec([b"\x00\x01"])),)) + \
        sec(11, vec([b"\x01\x00"]))
    e = malformed(data)
    assert e.reason == "data count section required"
    assert e.offset == data.rindex(body)
    # with the section, the same code is well formed
    ok = module(VOID_TYPE, sec(3, vec([b"\x00"])), sec(5, vec([b"\x00\x01"])), sec(12, b"\x01"),
                sec(10, vec([uleb(len(body) + 1) + b"\x00" + body])),
                sec(11, vec([b"\x01\x00"])))
    assert decode(ok).codes[0].body[0].op in (Op.MEMORY_INIT, Op.DATA_DROP)
    # an index naming no segment at all is the validator's "unknown data segment"
    assert decode(func_module(body)).data_count is None


@pytest.mark.parametrize("feature, body", [
    ("sign_extension", b"\xc0"), ("simd", b"\xfd\x0f"), ("reference_types", b"\xd1"),
    ("bulk_memory", b"\xfc\x0b\x00"), ("saturating_float_to_int", b"\xfc\x03"),
])
def test_disabled_features(feature, body):
    kwargs = {feature: False}
    if feature == "bulk_memory":
        kwargs["reference_types"] = False
    data = func_module(body + b"\x0b")
    decode(data)                                     # fine with everything enabled
    with pytest.raises(FeatureDisabledError) as info:
        decode(data, Features(**kwargs))
    assert feature.replace("_", " ") in str(info.value)
    assert info.value.offset == data.rindex(body + b"\x0b")    # the instruction's own byte


def test_simd_immediates():
    const = bytes(range(16))
    body = (b"\xfd\x00\x04\x08" + b"\xfd\x0c" + const + b"\xfd\x0d" + const[::-1]
            + b"\xfd\x15\x0f" + b"\xfd\x54\x00\x00\x03" + b"\xfd\xff\x01" + b"\x0b")
    assert ops(body_of(func_module(body))) == [
        (Op.V128_LOAD, MemArg(4, 8)), (Op.V128_CONST, const), (Op.I8X16_SHUFFLE, const[::-1]),
        (Op.I8X16_EXTRACT_LANE_S, 15), (Op.V128_LOAD8_LANE, (MemArg(0, 0), 3)),
        (Op.F64X2_CONVERT_LOW_I32X4_U, None), (Op.END, None)]


# -- cross-check against wasm-tools -------------------------------------------------------------

def _mnemonics_from_wat(wat: str) -> list[list[str]]:
    """Per function, the first word of every instruction line that wasm-tools prints (a
    function starts at "  (func", its instructions are the deeper lines not starting with "(",
    and it ends at the "  )" line)."""
    funcs: list[list[str]] = []
    current: list[str] | None = None
    for line in wat.splitlines():
        if line.startswith("  (func"):
            current = []
            funcs.append(current)
            if line.count("(") == line.count(")"):     # an empty function on one line
                current = None
        elif current is not None and line.startswith("    "):
            text = line.strip()
            if not text.startswith("("):
                current.append(text.split()[0])
        elif current is not None and line.startswith("  )"):
            current = None
    return funcs


def _mnemonics_from_decoder(data: bytes) -> list[list[str]]:
    out = []
    for code in decode(data).codes:
        names = [("select" if i.op == Op.SELECT_T else INFO[i.op].name) for i in code.body]
        out.append(names[:-1])                       # wasm-tools prints no final `end`
    return out


@pytest.fixture(scope="module")
def simd_wat() -> str:
    lines = []
    for code, info in sorted(INFO.items()):
        if code >> 24 != 0xFD:
            continue
        args = {"none": "", "memarg": "", "lane": " 1", "memarg_lane": " 1",
                "v128": " i32x4 1 2 3 4",
                "shuffle": " " + " ".join(map(str, range(16)))}[info.imm.value]
        lines.append(f"    {info.name}{args}")
    return "(module (memory 1) (func\n" + "\n".join(lines) + "))"


def test_every_simd_opcode_matches_wasm_tools(simd_wat, wat_to_wasm):
    data = wat_to_wasm(simd_wat)
    body = decode(data).codes[0].body
    expected = [line.split()[0].rstrip(")") for line in simd_wat.splitlines()[1:]]
    assert len(expected) == 236
    assert [INFO[i.op].name for i in body[:-1]] == expected


@pytest.mark.skipif(find_tool("wast2json") is None or not SPEC.is_dir(),
                    reason="needs wast2json and the spec suite")
@pytest.mark.parametrize("wast", ["binary", "binary-leb128", "custom", "align", "names",
                                  "block",
                                  "simd/simd_lane", "simd/simd_const"])
def test_spec_binaries_agree_with_wasm_tools(wast, tmp_path, wast2json_exe):
    """Decode every binary module of a spec file and compare the instruction sequence with what
    wasm-tools prints; every binary assert_malformed must fail with the suite's wording."""
    path = SPEC / ("" if "/" in wast else "core") / f"{wast}.wast"
    subprocess.run([str(wast2json_exe), str(path), "-o", str(tmp_path / "x.json")], check=True,
                   capture_output=True)
    commands = json.loads((tmp_path / "x.json").read_text())["commands"]
    checked = malformed_seen = 0
    for cmd in commands:
        if cmd["type"] == "module" and "filename" in cmd:
            data = (tmp_path / cmd["filename"]).read_bytes()
            ours = _mnemonics_from_decoder(data)
            if checked < 25:                          # wasm-tools print is the slow part
                assert ours == _mnemonics_from_wat(wasm_to_wat(data)), cmd["line"]
            checked += 1
        elif cmd["type"] == "assert_malformed" and cmd.get("module_type") == "binary":
            data = (tmp_path / cmd["filename"]).read_bytes()
            with pytest.raises(MalformedError) as info:
                decode(data, WASM_2_0)
            assert cmd["text"] in str(info.value), cmd["line"]
            malformed_seen += 1
    assert checked > 0


# -- the name section ------------------------------------------------------------------------------

def _name_section(*subsections: tuple[int, bytes]) -> bytes:
    payload = name("name") + b"".join(bytes([i]) + uleb(len(p)) + p for i, p in subsections)
    return sec(0, payload)


def test_name_section():
    funcs = vec([uleb(0) + name("first"), uleb(1) + name("second")])
    locs = vec([uleb(1) + vec([uleb(0) + name("x"), uleb(2) + name("y")])])
    data = module(sec(1, vec([b"\x60\x00\x00"])), sec(3, vec([b"\x00", b"\x00"])),
                  sec(10, vec([b"\x02\x00\x0b", b"\x02\x00\x0b"])),
                  _name_section((0, name("mod")), (1, funcs), (2, locs), (7, b"\x00")))
    m = decode(data)
    assert m.names.module == "mod"
    assert m.names.functions == {0: "first", 1: "second"}
    assert m.names.locals == {1: {0: "x", 2: "y"}}
    assert m.func_name(1) == "second"
    assert m.customs[0].name == "name"


@pytest.mark.parametrize("subsections", [
    ((1, vec([uleb(1) + name("a"), uleb(0) + name("b")])),),            # indices out of order
    ((1, b"\x05"),),                                                      # truncated
    ((0, name("a")), (0, name("b"))),                                     # duplicate subsection
    ((0, b"\x02\xff\xfe"),),                                              # bad UTF-8
    ((0, name("a") + b"\x00"),),                                          # trailing bytes
])
def test_malformed_name_section_is_ignored(subsections):
    m = decode(module(_name_section(*subsections)))
    assert m.names.module is None and m.names.functions == {} and m.names.locals == {}
    assert m.customs[0].name == "name"


# -- robustness ----------------------------------------------------------------------------------

def test_huge_counts_fail_at_once():
    for sec_id in (1, 2, 3, 4, 5, 6, 7, 9, 10, 11):
        data = module(bytes([sec_id, 5]) + b"\xff\xff\xff\xff\x0f")
        e = malformed(data)
        assert e.reason == "length out of bounds", sec_id
    assert isinstance(malformed(func_module(b"\x1c\xff\xff\xff\xff\x0f\x0b")), WasmError)


def test_deep_nesting_does_not_recurse():
    depth = 100_000
    body = b"\x02\x40" * depth + b"\x0b" * depth + b"\x0b"
    assert len(body_of(func_module(body))) == 2 * depth + 1


def test_decode_accepts_bytearray_and_memoryview():
    data = func_module(b"\x0b")
    assert decode(bytearray(data)).funcs == decode(memoryview(data)).funcs == [0]


# -- round trip through the project's encoder ----------------------------------------------------

@pytest.mark.skipif(find_tool("wast2json") is None or not SPEC.is_dir(),
                    reason="needs wast2json and the spec suite")
@pytest.mark.parametrize("wast", ["const", "float_literals", "br_table", "call_indirect",
                                  "select",
                                  "bulk", "memory_copy", "table_copy", "ref_func", "loop",
                                  "simd/simd_const", "simd/simd_lane", "simd/simd_load8_lane",
                                  "simd/simd_store64_lane", "simd/simd_load_zero"])
def test_bodies_reencode_to_the_same_bytes(wast, tmp_path, wast2json_exe):
    """Every decoded instruction, immediates included, encodes back to the exact bytes it came
    from (wast2json writes minimal LEB128s, as engine.wasm.encoder does)."""
    from engine.wasm.encoder import encode_instr
    path = SPEC / ("" if "/" in wast else "core") / f"{wast}.wast"
    subprocess.run([str(wast2json_exe), str(path), "-o", str(tmp_path / "x.json")], check=True,
                   capture_output=True)
    commands = json.loads((tmp_path / "x.json").read_text())["commands"]
    bodies = 0
    for cmd in commands:
        if cmd["type"] != "module" or "filename" not in cmd:
            continue
        data = (tmp_path / cmd["filename"]).read_bytes()
        for code in decode(data).codes:
            out = bytearray()
            for instr in code.body:
                encode_instr(instr, out)
            end = code.body[-1].offset + 1
            assert bytes(out) == data[code.offset:end], (cmd["line"], code.offset)
            bodies += 1
    assert bodies > 0


@pytest.mark.parametrize("value", [63, 64, -64, -65, 127, 128, 8191, -8192, 8192, -8193,
                                   2**31 - 1, -2**31])
def test_i32_const_lengths(value):
    encoded = sleb(value)
    assert ops(body_of(func_module(b"\x41" + encoded + b"\x1a\x0b")))[0] == (Op.I32_CONST, value)


@pytest.mark.parametrize("index", [127, 128, 300, 16383, 16384, 2**32 - 1])
def test_u32_index_lengths(index):
    assert ops(body_of(func_module(b"\x0c" + uleb(index) + b"\x0b")))[0] == (Op.BR, index)
    padded = bytearray(uleb(index))
    padded[-1] |= 0x80
    padded += b"\x00"                      # the same value, one byte longer
    if len(padded) <= 5:
        assert ops(body_of(func_module(b"\x0c" + bytes(padded) + b"\x0b")))[0] == (Op.BR, index)


# -- implementation limits (wasmparser's, as wasmtime applies them) -------------------------------

_HDR = b"\0asm\1\0\0\0"
_TYPE0 = sec(1, b"\x01\x60\x00\x00")
_IMPORT_MEM = b"\x01m\x01x\x02\x00\x00"          # (import "m" "x" (memory 0))
_IMPORT_TAB = b"\x01m\x01x\x01\x70\x00\x00"      # (import "m" "x" (table 0 funcref))


def _body(size: int) -> bytes:
    """A function body of exactly `size` bytes: no locals, nops, end."""
    return uleb(size) + b"\x00" + b"\x01" * (size - 2) + b"\x0b"


@pytest.mark.parametrize("what,limit,make", [
    ("types", 1_000_000, lambda n: sec(1, uleb(n) + b"\x60\x00\x00" * n)),
    ("function params", 1000, lambda n: sec(1, b"\x01\x60" + uleb(n) + b"\x7f" * n + b"\x00")),
    ("function results", 1000, lambda n: sec(1, b"\x01\x60\x00" + uleb(n) + b"\x7f" * n)),
    ("functions", 1_000_000, lambda n: _TYPE0 + sec(3, uleb(n) + b"\x00" * n) + sec(10, uleb(n) + b"\x02\x00\x0b" * n)),
    ("globals", 1_000_000, lambda n: sec(6, uleb(n) + b"\x7f\x00\x41\x00\x0b" * n)),
    ("tables", 100, lambda n: sec(4, uleb(n) + b"\x70\x00\x00" * n)),
    ("memories", 100, lambda n: sec(5, uleb(n) + b"\x00\x00" * n)),
    ("memories", 100, lambda n: sec(2, uleb(n) + _IMPORT_MEM * n)),                       # imported
    ("memories", 100, lambda n: sec(2, uleb(50) + _IMPORT_MEM * 50) + sec(5, uleb(n - 50) + b"\x00\x00" * (n - 50))),
    ("tables", 100, lambda n: sec(2, uleb(n) + _IMPORT_TAB * n)),
    ("element segments", 100_000, lambda n: sec(9, uleb(n) + b"\x01\x00\x00" * n)),
    ("data segments", 100_000, lambda n: sec(5, b"\x01\x00\x00") + sec(11, uleb(n) + b"\x01\x00" * n)),
    ("function body size", 7_654_321, lambda n: _TYPE0 + sec(3, b"\x01\x00") + sec(10, b"\x01" + _body(n))),
])
def test_implementation_limits(what: str, limit: int, make) -> None:
    """At the limit a module decodes; one over, a MalformedError names the limit (wasmtime 50
    refuses the same modules: 'types count exceeds limit of 1000000', ...)."""
    decode(_HDR + make(limit))
    with pytest.raises(MalformedError, match=f"{what} (count|size count) exceeds limit of {limit}"):
        decode(_HDR + make(limit + 1))


def test_a_million_params_are_refused_before_they_are_read() -> None:
    import time
    data = _HDR + sec(1, b"\x01\x60" + uleb(1_000_000) + b"\x7f" * 1_000_000 + b"\x00")
    t = time.process_time()
    with pytest.raises(MalformedError, match="function params count exceeds limit of 1000"):
        decode(data)
    assert time.process_time() - t < 0.5        # the count alone decides (13 s to reject before)
