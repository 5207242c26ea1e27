"""Typed function references in the front end: the reference types (ValType abbreviations and
RefType), subtyping, decoding of (ref null? ht) and of the new instructions, validation errors
(non-defaultable locals, call_ref and br_on_* typing), table initialisers, and the encoder
byte-identical to wasm-tools."""

from __future__ import annotations

import dataclasses

import pytest

from engine.config import Features
from engine.errors import FeatureDisabledError, InvalidError, MalformedError, UnsupportedError
from engine.text import wat2wasm
from engine.wasm.decoder import decode
from engine.wasm.encoder import encode_module
from engine.wasm.subtyping import Canon, defaultable
from engine.wasm.types import FuncType, HeapType, RefType, ValType, ref_type
from engine.wasm.validator import validate

import tools

FEATURES = Features()
FUNC, EXTERN, NOFUNC, NOEXTERN = HeapType.FUNC, HeapType.EXTERN, HeapType.NOFUNC, HeapType.NOEXTERN


def check(wat: str) -> None:
    """Decode and validate the wasm-tools encoding of `wat`."""
    validate(decode(tools.wat_to_wasm(wat), FEATURES), FEATURES)


def invalid(wat: str) -> str:
    with pytest.raises(InvalidError) as e:
        check(wat)
    return str(e.value)


# -- types ----------------------------------------------------------------------------------------

def test_abbreviations_stay_valtype_members() -> None:
    assert ref_type(True, FUNC) is ValType.FUNCREF is ValType.funcref()
    assert ref_type(True, EXTERN) is ValType.EXTERNREF
    assert repr(ValType.funcref()) == "funcref"
    assert ValType.FUNCREF.heap is FUNC and ValType.FUNCREF.nullable
    assert ValType.I32.heap is None and ValType.I32.top is ValType.I32


def test_ref_type_values() -> None:
    t = ref_type(False, 3)
    assert t == RefType(False, 3) and hash(t) == hash(RefType(False, 3))
    assert str(t) == "(ref 3)" and str(ref_type(True, NOFUNC)) == "(ref null nofunc)"
    assert t.top is ValType.FUNCREF and ref_type(False, EXTERN).top is ValType.EXTERNREF
    assert t.is_ref and not t.is_num
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.nullable = True  # type: ignore[misc]
    # FuncType takes typed references as the API's value types
    ft = FuncType([t], [ValType.I32])
    assert ft.params == [t] and ft == FuncType([RefType(False, 3)], [ValType.I32])
    assert ref_type(True, HeapType.EXN) is ValType.EXNREF
    assert ref_type(False, HeapType.NOEXN).top is ValType.EXNREF


def test_subtyping() -> None:
    types = [FuncType([ValType.I32], []), FuncType([ValType.I32], []), FuncType([], [])]
    c = Canon(types)
    assert c.defined[0] is c.defined[1] is not c.defined[2]
    assert c.sub(ref_type(False, 0), ref_type(True, 0))
    assert not c.sub(ref_type(True, 0), ref_type(False, 0))
    assert c.sub(ref_type(False, 1), ref_type(False, 0))      # equivalent types
    assert not c.sub(ref_type(False, 2), ref_type(False, 0))
    assert c.sub(ref_type(False, 2), ValType.FUNCREF)
    assert not c.sub(ValType.FUNCREF, ref_type(True, 2))
    assert c.sub(ref_type(True, NOFUNC), ref_type(True, 2))
    assert c.sub(ref_type(True, NOFUNC), ValType.FUNCREF)
    assert not c.sub(ref_type(True, NOFUNC), ValType.EXTERNREF)
    assert c.sub(ref_type(True, NOEXTERN), ValType.EXTERNREF)
    assert not c.sub(ref_type(False, EXTERN), ValType.FUNCREF)
    assert not c.sub(ValType.I32, ValType.FUNCREF) and c.sub(ValType.I32, ValType.I32)
    assert not defaultable(ref_type(False, FUNC)) and defaultable(ref_type(True, 0))


def test_canonical_types_follow_their_references() -> None:
    # types 2 and 3 differ only in which of two equivalent types they refer to
    types = [FuncType([], []), FuncType([], []), FuncType([ref_type(False, 0)], []),
             FuncType([ref_type(False, 1)], [])]
    d = Canon(types).defined
    assert d[0] is d[1] and d[2] is d[3] and d[0] is not d[2]


# -- decoding -------------------------------------------------------------------------------------

def test_decodes_typed_references() -> None:
    m = decode(tools.wat_to_wasm("""(module (type $t (func (param i32)))
      (func (param (ref $t) (ref null $t) (ref func) nullfuncref (ref noextern))))"""), FEATURES)
    assert m.types[1].params == [ref_type(False, 0), ref_type(True, 0), ref_type(False, FUNC),
                                 ref_type(True, NOFUNC), ref_type(False, NOEXTERN)]


def test_typed_references_need_the_proposal() -> None:
    wasm = tools.wat_to_wasm("(module (func (param (ref func))))")
    off = dataclasses.replace(FEATURES, function_references=False)
    with pytest.raises(MalformedError):
        decode(wasm, off)
    code = tools.wat_to_wasm("(module (func (param funcref) (call_ref 0 (ref.null 0))))")
    with pytest.raises((MalformedError, FeatureDisabledError)):
        validate(decode(code, off), off)


def test_gc_heap_types_are_not_supported_yet() -> None:
    with pytest.raises(UnsupportedError, match="^not supported yet: the GC proposal"):
        decode(tools.wat_to_wasm("(module (func (param anyref)))"), FEATURES)
    # exception references decode (tests/wasm/test_exceptions.py)
    assert decode(tools.wat_to_wasm("(module (func (param exnref)))"), FEATURES).types[0] \
        .params == [ValType.EXNREF]


def test_table_initialiser() -> None:
    wasm = tools.wat_to_wasm("""(module (type $t (func)) (func $f (type $t))
      (table 3 (ref $t) (ref.func $f)))""")
    m = decode(wasm, FEATURES)
    validate(m, FEATURES)
    assert m.tables[0].element == ref_type(False, 0)
    assert [ins.op for ins in m.table_init(0)] == [0xD2, 0x0B]
    assert encode_module(m) == wasm


@pytest.mark.parametrize("wat", [
    """(module (type $t (func (param i32) (result i32)))
      (func $f (type $t) (local.get 0)) (elem declare func $f)
      (table $tab 2 (ref null $t))
      (global $g (ref $t) (ref.func $f))
      (func (param (ref null $t)) (result i32)
        (local $l (ref $t))
        (local.set $l (ref.as_non_null (local.get 0)))
        (block $b (result (ref $t))
          (br_on_non_null $b (local.get 0))
          (return (i32.const -1)))
        (drop)
        (block $n (br_on_null $n (local.get 0)) (drop))
        (return_call_ref $t (i32.const 1) (local.get $l))))""",
    """(module (type $t (func)) (func $f (type $t)) (elem declare func $f)
      (func (result i32) (select (result (ref null $t)) (ref.func $f) (ref.null $t)
        (i32.const 1)) (ref.is_null)))""",
])
def test_encoder_is_byte_identical_to_wasm_tools(wat: str) -> None:
    wasm = tools.wat_to_wasm(wat)
    m = decode(wasm, FEATURES)
    validate(m, FEATURES)
    assert encode_module(m) == wasm
    assert wat2wasm(wat) == wasm        # polyjit's own text parser, the same bytes


# -- validation -----------------------------------------------------------------------------------

def test_ref_func_is_a_non_null_typed_reference() -> None:
    check("""(module (type $t (func)) (func $f (type $t)) (elem declare func $f)
      (func (result (ref $t)) (ref.func $f)))""")
    assert "type mismatch" in invalid("""(module (type $t (func)) (type $u (func (param i32)))
      (func $f (type $t)) (elem declare func $f) (func (result (ref $u)) (ref.func $f)))""")


def test_call_ref_checks_the_reference_type() -> None:
    check("""(module (type $t (func (param i32)))
      (func (param (ref $t)) (call_ref $t (i32.const 1) (local.get 0))))""")
    assert "type mismatch" in invalid("""(module (type $t (func (param i32)))
      (func (param funcref) (call_ref $t (i32.const 1) (local.get 0))))""")
    assert "unknown type" in invalid("""(module (func (param funcref)
      (call_ref 7 (local.get 0))))""")


def test_non_defaultable_locals_must_be_set_first() -> None:
    assert "uninitialized local" in invalid("""(module (type $t (func))
      (func (local (ref $t)) (drop (local.get 0))))""")
    check("""(module (type $t (func)) (func $f (type $t)) (elem declare func $f)
      (func (local (ref $t)) (local.set 0 (ref.func $f)) (drop (local.get 0))))""")
    # initialisation inside a block ends with the block
    assert "uninitialized local" in invalid("""(module (type $t (func)) (func $f (type $t))
      (elem declare func $f)
      (func (local (ref $t)) (block (local.set 0 (ref.func $f))) (drop (local.get 0))))""")


def test_non_nullable_table_needs_an_initialiser() -> None:
    assert "type mismatch" in invalid("(module (type $t (func)) (table 1 (ref $t)))")


def test_br_on_non_null_leaves_the_labels_types() -> None:
    # https://github.com/WebAssembly/gc/issues/516: the label's funcref, not (ref null $t)
    assert "type mismatch" in invalid("""(module (type $t (func))
      (func $f (param (ref null $t)) (result funcref) (local.get 0))
      (func (param funcref) (result funcref funcref)
        (ref.null $t) (local.get 0) (br_on_non_null 0) (call $f) (local.get 0)))""")
    assert "reference" in invalid("""(module (func (result i32)
      (block (result i32) (br_on_non_null 0 (ref.null func)) (i32.const 0))))""")
