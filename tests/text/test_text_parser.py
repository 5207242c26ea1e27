"""The module parser: abbreviations, identifiers and labels, type uses, module forms and errors.
Encodings are compared with wasm-tools (the reference encoder); structure is checked through the
decoded-module data the parser builds."""

from __future__ import annotations

import pytest

from engine.errors import MalformedError, WasmError
from engine.text import wat2wasm
from engine.text.parser import parse_module_text, parse_text
from engine.wasm.module import SegmentMode
from engine.wasm.opcodes import Op
from engine.wasm.types import ExternKind, FuncType, ValType

I32 = ValType.I32

# Each snippet exercises abbreviations; the bytes must equal wasm-tools' for the same text.
SNIPPETS = {
    "inline-import-export": '(module (func $f (export "a") (export "b") (import "m" "f") (param i32))'
                            ' (global (import "m" "g") (mut i64)) (memory (export "mem") (import "m" "mem") 1 2)'
                            ' (table (import "m" "t") 0 externref))',
    "inline-elem-and-data": '(module (func $f) (table funcref (elem $f $f)) (table externref (elem (ref.null extern)))'
                            ' (memory (data "hello" "world")))',
    "elem-forms": '(module (table $t 2 funcref) (func $f) (elem (i32.const 0) $f) (elem (table $t) (offset (i32.const 1)) func $f)'
                  ' (elem $e func $f 0) (elem declare func $f) (elem funcref (item ref.func $f) (item (ref.null func)))'
                  ' (elem (i32.const 0) funcref (ref.func $f)) (elem 0 (i32.const 1) 0))',
    "data-forms": '(module (memory $m 1) (data (i32.const 1) "a" "b") (data $d "passive") (data (memory $m) (offset i32.const 2) "\\00")'
                  ' (func (memory.init $d (i32.const 0) (i32.const 0) (i32.const 0)) (data.drop $d)))',
    "implicit-types": '(module (type (func (param i64))) (func (param i32) (block (param i64) drop)'
                      ' (call_indirect (param f64) (i32.const 0))) (func (param f32)) (table 1 funcref)'
                      ' (func (result i32) (block (result i32) (i32.const 1))) (func (block (type 0) drop (i64.const 1) drop)))',
    "locals-and-names": '(module $mod (func $f (param $a i32) (param i64 f32) (local $x i32) (local i32 i32 f64)'
                        ' (local.set $x (local.get $a))) (type $t (func (param $p i32))) (global $g i32 (i32.const 0)))',
    "labels": '(module (func (block $a (loop $b (br_if $a (i32.const 1)) (br $b))) block $c br $c end $c'
              ' (if $d (i32.const 0) (then (br $d)) (else (br 0)))) (func i32.const 0 if $x else $x end $x))',
    "folded-and-flat": '(module (func (result i32) (i32.add (i32.const 1) (i32.mul (i32.const 2) (i32.const 3)))'
                       ' i32.const 4 i32.sub (select (i32.const 1) (i32.const 2) (i32.const 0)) drop))',
    "memargs": '(module (memory 1) (func (drop (i64.load32_u offset=0x10 align=2 (i32.const 0)))'
               ' (i32.store8 align=1 (i32.const 0) (i32.const 1)) (drop (f64.load offset=8 (i32.const 0)))))',
    "bulk-and-tables": '(module (table $t 1 funcref) (table $u 1 funcref) (elem $e func) (func'
                       ' (table.copy $t $u (i32.const 0) (i32.const 0) (i32.const 0)) (table.init $u $e (i32.const 0) (i32.const 0) (i32.const 0))'
                       ' (drop (table.grow $u (ref.null func) (i32.const 1))) (elem.drop $e) (memory.copy (i32.const 0) (i32.const 0) (i32.const 0))'
                       ' (memory.fill (i32.const 0) (i32.const 0) (i32.const 0)) (drop (table.size $u)))'
                       ' (memory 1))',
    "simd": '(module (memory 1) (func (result v128) (v128.const i8x16 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 -1)'
            ' (v128.const f32x4 1.5 -0 nan inf) (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 31)'
            ' (v128.const i64x2 -1 0x7fff_ffff_ffff_ffff) i64x2.add (v128.load8_lane offset=1 3 (i32.const 0))'
            ' (i32x4.replace_lane 2 (i32.const 5)) (v128.const i16x8 1 2 3 4 5 6 7 65535) (v128.const f64x2 0x1p-1074 -nan:0x1) drop drop))',
    "memory64": '(module (import "m" "mem" (memory i64 2)) (memory $m i64 1 0x1_0000_0000_0000)'
                ' (memory $n i64 (data "ab")) (memory i32 1) (table $t i64 3 funcref) (table $u i64 funcref (elem $f))'
                ' (func $f (result i64) (drop (i32.load offset=0xffff_ffff_ffff_fff0 align=4 (i64.const 1)))'
                ' (memory.copy $m 3 (i64.const 0) (i32.const 0) (i32.const 0))'
                ' (drop (table.get $t (i64.const 0))) (memory.size $n))'
                ' (data (memory $m) (i64.const 5) "x") (elem (table $t) (i64.const 1) func $f))',
    "no-module-wrapper": '(func $f (result i32) (i32.const 7)) (export "f" (func $f))',
    "start-and-globals": '(module (func $main) (start $main) (global $a (mut f32) (f32.const -0x1.8p3))'
                         ' (global (export "b") f64 (f64.const 1e-300)) (global externref (ref.null extern)) (global funcref (ref.func $main)))',
}


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_matches_wasm_tools(name: str, wat_to_wasm) -> None:
    text = SNIPPETS[name]
    assert parse_module_text(text) == wat_to_wasm(text)


def test_wat2wasm_entry_point() -> None:
    assert wat2wasm("(module)") == b"\x00asm\x01\x00\x00\x00"


def test_implicit_types_follow_text_order() -> None:
    parsed = parse_text('(module (func (param i32)) (func (result f32) (block (param i64) drop) (f32.const 0))'
                        ' (type (func)) (func (param i32)))')
    m = parsed.module
    assert m.types == [FuncType(), FuncType([I32]), FuncType([], [ValType.F32]), FuncType([ValType.I64])]
    assert m.funcs == [1, 2, 1]


def test_inline_abbreviations_expand_in_place() -> None:
    m = parse_text('(module (func $f) (table $t funcref (elem $f $f $f)) (memory (data "abc"))'
                   ' (export "x" (func $f)) (func (export "y")))').module
    assert m.tables[0].limits.min == m.tables[0].limits.max == 3
    (seg,) = m.elems
    assert seg.mode is SegmentMode.ACTIVE and len(seg.init) == 3
    assert [e[0].op for e in seg.init] == [Op.REF_FUNC] * 3
    assert m.mems[0].limits.min == m.mems[0].limits.max == 1
    assert m.datas[0].data == b"abc"
    assert [(e.name, e.kind, e.index) for e in m.exports] == [("x", ExternKind.FUNC, 0), ("y", ExternKind.FUNC, 1)]


def test_label_shadowing_and_numeric_labels() -> None:
    m = parse_text('(module (func (block $l (block $l (br $l) (br 1) (br $l)))'
                   ' (block $o (block $i (br $o) (br $i)))))').module
    brs = [ins.imm for ins in m.codes[0].body if ins.op == Op.BR]
    # inner $l shadows the outer one; $o is one level out from $i
    assert brs == [0, 1, 0, 1, 0]


def test_names_of_every_index_space() -> None:
    parsed = parse_text('(module $m (type $t (func)) (import "a" "b" (func $imp (param $p i32)))'
                        ' (func $f (local $x i32) (block $b)) (table $tab 1 funcref) (memory $mem 1)'
                        ' (global $g i32 (i32.const 0)) (elem $e func) (data $d ""))')
    n = parsed.names
    assert n.module == "m"
    assert n.functions == {0: "imp", 1: "f"}
    assert n.locals == {0: {0: "p"}, 1: {0: "x"}}
    assert n.labels == {1: {0: "b"}}
    assert (n.types, n.tables, n.memories, n.globals, n.elems, n.datas) == (
        {0: "t"}, {0: "tab"}, {0: "mem"}, {0: "g"}, {0: "e"}, {0: "d"})


def test_module_binary_and_quote() -> None:
    raw = parse_module_text('(module binary "\\00asm" "\\01\\00\\00\\00")')
    assert raw == b"\x00asm\x01\x00\x00\x00"
    quoted = parse_module_text('(module quote "(func (export \\"f\\") (result i32)" "(i32.const 42))")')
    assert quoted == parse_module_text('(module (func (export "f") (result i32) (i32.const 42)))')


@pytest.mark.parametrize("text,message,where", [
    ("(module\n  (func (br $nowhere)))", "unknown label", "2:13"),
    ("(module (func (block $a end $b)))", "", None),  # folded block cannot contain `end`
    ("(module (func block $a end $b))", "mismatching label", "1:28"),
    ("(module (func $f) (func $f))", "duplicate func", "1:25"),
    ("(module (func (local $x i32) (local $x i64)))", "duplicate local", "1:37"),
    ("(module (global i32 (i32.const 0)) (import \"a\" \"b\" (func)))", "import after global", "1:36"),
    ("(module (memory 1) (func (import \"a\" \"b\")))", "import after memory", "1:20"),
    ("(module (func (i32.const 4294967296)))", "i32 constant out of range", "1:26"),
    ("(module (func (f32.const 1e39)))", "constant out of range", "1:26"),
    ("(module (func (i32.load align=3 (i32.const 0))))", "alignment", "1:25"),
    ("(module\n\n (func (nop) (i32.frob)))", "unknown operator", "3:15"),
    ("(module (type $t (func (param i32))) (func (type $t) (param i64)))", "inline function type", None),
    ("(module (func (call $g)))", "unknown func", "1:21"),
    ("(module (func (export \"\\ff\")))", "malformed UTF-8", "1:23"),
    ("(module (start 0) (start 0) (func))", "multiple start", "1:19"),
    ("(module (func (result i32) (param i32)))", "unexpected token", "1:28"),
    ("(module (func (block (param $x i32))))", "unexpected token", None),
    ("(module (frob))", "unknown module field", None),
])
def test_errors(text: str, message: str, where: str | None) -> None:
    with pytest.raises(MalformedError) as info:
        parse_module_text(text)
    assert message in str(info.value)
    if where is not None:
        assert str(info.value).startswith(where + ":")


def test_bad_utf8_source_is_malformed() -> None:
    with pytest.raises(WasmError, match="UTF-8"):
        parse_module_text(b"(module (func (export \"\xff\")))")


def test_deep_nesting_parses(wat_to_wasm) -> None:
    depth = 5000
    folded = "(module (func " + "(block " * depth + ")" * depth + "))"
    flat = "(module (func " + "block " * depth + "end " * depth + "))"
    assert parse_module_text(folded) == parse_module_text(flat) == wat_to_wasm(flat)


_BIG = "1" * 5000   # longer than Python's 4,300-digit int() limit


@pytest.mark.parametrize("text,message", [
    (f"(module (func (result i32) i32.const {_BIG}))", "i32 constant out of range"),
    (f"(module (func (result i64) i64.const -{_BIG}))", "i64 constant out of range"),
    (f"(module (func (result f64) f64.const {_BIG}))", "f64 constant out of range"),
    (f"(module (func (result f32) f32.const 1e{_BIG}))", "f32 constant out of range"),
    # limits, offsets and alignments are u64 in 3.0's text format (memory64)
    (f"(module (memory {_BIG}))", "i64 constant out of range"),
    (f"(module (memory 1 {_BIG}))", "i64 constant out of range"),
    (f"(module (memory 1) (func (drop (i32.load offset={_BIG} (i32.const 0)))))", "i64 constant out of range"),
    (f"(module (memory 1) (func (drop (i32.load align={_BIG} (i32.const 0)))))", "i64 constant out of range"),
    (f"(module (func (call {_BIG})))", "i32 constant out of range"),
    (f"(module (func (local.get {_BIG})))", "i32 constant out of range"),
    (f"(module (func (block (br {_BIG}))))", "i32 constant out of range"),
    (f"(module (type (func)) (func (type {_BIG})))", "i32 constant out of range"),
])
def test_overlong_numbers_are_malformed(text: str, message: str) -> None:
    with pytest.raises(MalformedError, match=message):
        parse_module_text(text)


def test_overlong_float_literals_have_their_value() -> None:
    import struct
    wasm = wat2wasm(f"(module (func (result f64) f64.const 0.{_BIG}) (func (result f32) f32.const 0x1p-{_BIG}))")
    assert struct.pack("<d", float("0." + _BIG)) in wasm      # 0.111... as the f64.const bytes
    assert b"\x43\x00\x00\x00\x00\x0b" in wasm                # f32.const 0.0, end
