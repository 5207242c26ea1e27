"""Canonical function types (engine.wasm.canonical): equivalence by structure across modules,
whatever the type indices, with each type its own recursion group (self references)."""

from __future__ import annotations

import pickle

import pytest

from engine.config import Features
from engine.errors import InvalidError, UnsupportedError
from engine.text import wat2wasm
from engine.wasm.canonical import SELF, DefinedType, canonical, defined_types
from engine.wasm.decoder import decode
from engine.wasm.module import WasmModule
from engine.wasm.subtyping import Canon
from engine.wasm.types import (FuncType, GlobalType, HeapType, Limits, RefType, TableType,
                               TagType, ValType, ref_type)
from engine.wasm.validator import validate

I32, F32 = ValType.I32, ValType.F32


def test_equivalent_types_at_different_indices_are_one_object() -> None:
    # module a: s0 = [i32] -> [f32]; t = [(ref s0)] -> []
    a = [FuncType([I32], [F32]), FuncType([ref_type(False, 0)], [])]
    # module b puts two unrelated types first
    b = [FuncType([], []), FuncType([F32], []), FuncType([I32], [F32]),
         FuncType([ref_type(False, 2)], [])]
    da, db = defined_types(a), defined_types(b)
    assert da[0] is db[2] and da[1] is db[3]
    assert da[1] is not db[1] and da[1] is not defined_types([FuncType([ref_type(True, 0)], [])])[0]
    # the form names earlier types by their canonical object
    assert da[1].form == FuncType([RefType(False, da[0])], [])
    assert da[1].functype is da[1].functype and da[1].functype.params[0].heap is da[0]


def test_self_references_are_equivalent_wherever_they_are() -> None:
    # (type $t (func (param i32 (ref $t)))) at index 0 in one module and 2 in another
    a = [FuncType([I32, ref_type(False, 0)], [])]
    b = [FuncType([], []), FuncType([I32], []), FuncType([I32, ref_type(False, 2)], [])]
    (ta,), tb = defined_types(a), defined_types(b)
    assert ta is tb[2]
    assert ta.form.params[1] == RefType(False, SELF) and repr(SELF) == "rec.0"
    # the unrolled type refers to the defined type itself
    assert ta.functype.params[1].heap is ta
    # a reference to an earlier equivalent type is not a self reference
    c = [FuncType([I32, ref_type(False, 0)], []), FuncType([I32, ref_type(False, 0)], [])]
    dc = defined_types(c)
    assert dc[0] is ta and dc[1] is not ta


def test_canonical_forms_of_table_global_tag_and_function_types() -> None:
    types = [FuncType([], []), FuncType([I32], [])]
    d = defined_types(types)
    tt = TableType(ref_type(True, 1), Limits(1), is_64=True)
    assert canonical(tt, d) == TableType(RefType(True, d[1]), Limits(1), is_64=True)
    assert canonical(GlobalType(ref_type(False, 0), True), d).content == RefType(False, d[0])
    assert canonical(TagType(FuncType([ref_type(False, 1)], [])), d) == \
        TagType(FuncType([RefType(False, d[1])], []))
    plain = TableType(ValType.FUNCREF, Limits(1))
    assert canonical(plain, d) is plain
    assert canonical(ref_type(False, HeapType.FUNC), d) == ref_type(False, HeapType.FUNC)
    m = WasmModule(types=types)
    assert m.canonical(FuncType([ref_type(False, 1)], [])) == FuncType([RefType(False, d[1])], [])
    assert m.defined_types() is m.defined_types()


def test_subtyping_of_canonical_types_needs_no_module() -> None:
    d = defined_types([FuncType([], []), FuncType([I32], [])])
    c = Canon([])
    assert c.sub(RefType(False, d[0]), RefType(True, d[0]))
    assert c.sub(RefType(False, d[0]), ValType.FUNCREF)
    assert not c.sub(RefType(False, d[0]), RefType(False, d[1]))
    assert c.sub(ref_type(True, HeapType.NOFUNC), RefType(True, d[1]))
    assert not c.sub(ValType.FUNCREF, RefType(True, d[1]))
    assert RefType(False, d[1]).top is ValType.FUNCREF
    # a module's index and the canonical object of the same type match both ways
    m = Canon([FuncType([], []), FuncType([I32], [])])
    assert m.sub(ref_type(False, 1), RefType(False, d[1]))
    assert m.sub(RefType(False, d[1]), ref_type(True, 1))


def test_defined_types_survive_pickling_as_the_same_object() -> None:
    (t,) = defined_types([FuncType([I32, ref_type(False, 0)], [])])
    assert pickle.loads(pickle.dumps(t)) is t
    assert isinstance(t, DefinedType)


def test_a_type_may_not_name_a_later_type() -> None:
    # (type $t1 (func (param (ref $t2)))) (type $t2 (func (param (ref $t1)))): each type is
    # its own recursion group, so $t1 cannot refer forward (type-equivalence.wast)
    m = WasmModule(types=[FuncType([ref_type(False, 1)], []), FuncType([ref_type(False, 0)], [])])
    with pytest.raises(InvalidError, match="unknown type 1"):
        validate(m, Features())
    # ... while a self reference is fine
    validate(WasmModule(types=[FuncType([ref_type(False, 0)], [])]), Features())


def test_the_text_format_binds_every_type_name_first() -> None:
    # a type naming itself, and one naming a later type (encoded; the validator refuses it)
    m = decode(wat2wasm("(module (type $t (func (param i32 (ref $t)))))"), Features())
    assert m.types[0].params == [I32, ref_type(False, 0)]
    m = decode(wat2wasm("""(module (type $a (func (param (ref $b))))
                                   (type $b (func (param (ref $a)))))"""), Features())
    assert m.types[0].params == [ref_type(False, 1)]
    with pytest.raises(InvalidError, match="unknown type"):
        validate(m, Features())


def test_gc_type_definitions_are_not_supported_yet() -> None:
    with pytest.raises(UnsupportedError, match="^not supported yet: the GC proposal \\(rec\\)"):
        wat2wasm("(module (rec (type $t (func))))")
    with pytest.raises(UnsupportedError, match="GC proposal \\(struct\\)"):
        wat2wasm("(module (type $t (struct)))")
    # the binary's rec group (0x4e) and struct (0x5f) forms
    for form in (b"\x4e\x01\x60\x00\x00", b"\x5f\x00"):
        body = b"\x01" + form
        wasm = b"\0asm\1\0\0\0\x01" + bytes([len(body)]) + body
        with pytest.raises(UnsupportedError, match="GC proposal"):
            decode(wasm, Features())
