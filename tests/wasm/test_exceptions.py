"""Exception handling's instructions and types in the binary front end: throw, throw_ref and
try_table decode to the instruction forms of engine/wasm/opcodes.py (the IR builder's
contract), validate with the 3.0 typing rules (catch labels resolved outside the try_table,
payloads matched by subtyping), encode byte-identical to wasm-tools; exnref and the exn/noexn
heap types; with the proposal off everything is refused as in 2.0."""

from __future__ import annotations

import dataclasses

import pytest

import tools
from engine.config import Features
from engine.errors import FeatureDisabledError, InvalidError, MalformedError
from engine.wasm.decoder import decode
from engine.wasm.encoder import encode_module
from engine.wasm.module import Instr
from engine.wasm.opcodes import BY_NAME, INFO, Catch, CatchKind, Imm, Op, TryTable
from engine.wasm.types import HeapType, RefType, ValType, ref_type
from engine.wasm.validator import validate
from spec.suites import FEATURES_2_0

FEATURES = Features()
NO_EXCEPTIONS = dataclasses.replace(FEATURES, exceptions=False)
REF_EXN = RefType(False, HeapType.EXN)


def module(wat: str) -> tuple[bytes, object]:
    """wasm-tools' encoding of `wat`, and polyjit's decoding of it (validated)."""
    wasm = tools.wat_to_wasm(wat)
    m = decode(wasm, FEATURES)
    validate(m, FEATURES)
    return wasm, m


def invalid(wat: str) -> str:
    m = decode(tools.wat_to_wasm(wat), FEATURES)
    with pytest.raises(InvalidError) as e:
        validate(m, FEATURES)
    return str(e.value)


def body(m, index: int = 0) -> list[Instr]:
    return m.codes[index].body


# -- the instruction forms ------------------------------------------------------------------------

def test_opcode_table_entries() -> None:
    assert Op.THROW == 0x08 and INFO[0x08].imm is Imm.TAG and INFO[0x08].name == "throw"
    assert Op.THROW_REF == 0x0A and INFO[0x0A].imm is Imm.NONE
    assert Op.TRY_TABLE == 0x1F and INFO[0x1F].imm is Imm.TRY_TABLE
    assert BY_NAME["try_table"].code == 0x1F
    assert [int(k) for k in CatchKind] == [0, 1, 2, 3]
    assert [k.has_tag for k in CatchKind] == [True, True, False, False]
    assert [k.has_ref for k in CatchKind] == [False, True, False, True]
    for legacy in (0x06, 0x07, 0x09, 0x18, 0x19):
        assert legacy not in INFO


def test_throw_and_throw_ref_decode() -> None:
    _, m = module("""(module (tag (param i32)) (tag $e (param i64 f32))
      (func (param exnref) (throw $e (i64.const 1) (f32.const 2)))
      (func (param exnref) (throw_ref (local.get 0))))""")
    assert [(i.op, i.imm) for i in body(m)[2:]] == [(0x08, 1), (0x0B, None)]
    assert [(i.op, i.imm) for i in body(m, 1)] == [(0x20, 0), (0x0A, None), (0x0B, None)]


def test_try_table_decodes_to_its_immediate() -> None:
    _, m = module("""(module (type $bt (func (param i32) (result i32))) (tag $a) (tag $b (param i32))
      (func
        (block $outer (result i32 exnref)
          (block $mid (result i32)
            (block $inner (result exnref)
              (try_table (catch_all_ref $inner) (catch $b $mid) (catch_ref $b $outer)
                         (catch_all 3) (catch $a 3)
                (nop))
              (try_table (result i32) (i32.const 1)) (drop)
              (i32.const 0) (try_table (type $bt) (catch_all 3)) (drop)
              (return))
            (throw_ref))
          (unreachable))
        (unreachable)))""")
    tts = [i for i in body(m) if i.op == Op.TRY_TABLE]
    assert tts[0].imm == TryTable(None, (
        Catch(CatchKind.CATCH_ALL_REF, None, 0), Catch(CatchKind.CATCH, 1, 1),
        Catch(CatchKind.CATCH_REF, 1, 2), Catch(CatchKind.CATCH_ALL, None, 3),
        Catch(CatchKind.CATCH, 0, 3)))
    assert tts[1].imm == TryTable(ValType.I32, ())
    assert tts[2].imm == TryTable(0, (Catch(CatchKind.CATCH_ALL, None, 3),))
    # try_table's end is a plain end: the body decodes to the function's final end
    assert body(m)[-1].op == Op.END and sum(i.op == Op.END for i in body(m)) == 7


def test_catch_labels_count_from_outside_the_try_table() -> None:
    # label 0 of a catch clause is the function's label ([exnref]), not the try_table's ([])
    module("""(module (tag $e)
      (func (result exnref) (try_table (catch_ref $e 0) (catch_all_ref 0)) (unreachable)))""")
    # ... and inside the try_table the same target is one further out
    module("""(module (func (result exnref)
      (try_table (catch_all_ref 0) (br 1 (ref.null exn)))  (unreachable)))""")
    assert "unknown label" in invalid("(module (func (try_table (catch_all 1))))")
    assert "type mismatch" in invalid("(module (func (result i32) (try_table (catch_all 0)) "
                                      "(i32.const 0)))")


@pytest.mark.parametrize("wat", [
    """(module (tag $e (param i32)) (tag $f)
      (global $g (mut exnref) (ref.null exn))
      (global nullexnref (ref.null noexn))
      (table $t 2 exnref)
      (table 1 (ref null noexn))
      (func $thrower (param i32) (throw $e (local.get 0)))
      (func (param exnref (ref exn)) (local exnref)
        (block $h (result i32)
          (try_table (result i32) (catch $e $h) (catch_all 1)
            (call $thrower (i32.const 7)) (i32.const 0)))
        (drop)
        (block $r (result exnref)
          (try_table (catch_all_ref $r) (throw $f)) (unreachable))
        (local.set 2)
        (table.set $t (i32.const 0) (local.get 2))
        (global.set $g (table.get $t (i32.const 1)))
        (drop (ref.is_null (local.get 1)))
        (if (ref.is_null (ref.null noexn)) (then (throw_ref (local.get 0)))))
      (func (param i32) (result i32)
        block $z
          local.get 0
          try_table $t (param i32) (result i32) (catch_all $z)
            i32.const 1
            i32.add
            br $t
          end $t
          return
        end
        i32.const 0))""",
    """(module (type $t (func)) (tag $p (param (ref $t)))
      (func (result (ref null $t))
        (block $l (result (ref null $t)) (try_table (catch $p $l)) (unreachable))))""",
])
def test_encoder_and_text_parser_are_byte_identical_to_wasm_tools(wat: str) -> None:
    from engine.text import wat2wasm
    wasm, m = module(wat)
    assert encode_module(m) == wasm
    assert wat2wasm(wat) == wasm          # names (labels, tags) included


# -- types ----------------------------------------------------------------------------------------

def test_exnref_and_exception_heap_types_decode() -> None:
    _, m = module("""(module (func (param exnref (ref exn) (ref null exn) nullexnref
      (ref noexn)) (result exnref) (ref.null exn)))""")
    params = m.types[0].params
    assert params == [ValType.EXNREF, REF_EXN, ValType.EXNREF, ref_type(True, HeapType.NOEXN),
                      RefType(False, HeapType.NOEXN)]
    assert all(t.top is ValType.EXNREF for t in params)
    assert body(m)[0].imm is ValType.EXNREF


def test_exception_references_are_a_separate_hierarchy() -> None:
    module("(module (func (param (ref null noexn)) (result exnref) (local.get 0)))")
    assert "type mismatch" in invalid("(module (func (param exnref) (result funcref) "
                                      "(local.get 0)))")
    assert "type mismatch" in invalid("(module (func (param externref) (throw_ref "
                                      "(local.get 0))))")
    assert "uninitialized local" in invalid("(module (func (local (ref exn)) "
                                            "(drop (local.get 0))))")
    assert "type mismatch" in invalid("(module (table 1 (ref exn)))")


# -- validation -----------------------------------------------------------------------------------

def test_throw_takes_the_tags_payload_and_is_stack_polymorphic() -> None:
    module("""(module (tag $e (param i32 i64))
      (func (result f64) (throw $e (i32.const 1) (i64.const 2)) (f64.add)))""")
    assert invalid("(module (func (throw 0)))").endswith("unknown tag 0")
    assert invalid("(module (tag (param i32)) (func (i64.const 5) (throw 0)))").endswith(
        "type mismatch: instruction requires [i32] but stack has [i64]")
    assert invalid("(module (tag (param i32 f32)) (func (f32.const 5) (throw 0)))").endswith(
        "type mismatch: instruction requires [i32 f32] but stack has [f32]")


def test_throw_ref_takes_an_exception_reference() -> None:
    module("(module (func (param (ref exn)) (throw_ref (local.get 0))))")
    module("(module (func (result i32) (unreachable) (throw_ref)))")
    assert "type mismatch" in invalid("(module (func (throw_ref)))")
    assert "type mismatch" in invalid("(module (func (i32.const 0) (throw_ref)))")


def test_catch_clauses_match_their_labels() -> None:
    # covariance: a (ref $t) payload goes to a label of (ref null $t), not the other way round
    module("""(module (type $t (func)) (tag $e (param (ref $t)))
      (func (block $l (result (ref null $t)) (try_table (catch $e $l)) (unreachable)) (drop)))""")
    assert "type mismatch" in invalid("""(module (type $t (func)) (tag $e (param (ref null $t)))
      (func (block $l (result (ref $t)) (try_table (catch $e $l)) (unreachable)) (drop)))""")
    # a loop's label takes its parameters
    module("""(module (tag $e (param i32))
      (func (i32.const 0) (loop $l (param i32) (drop) (try_table (catch $e $l)))))""")
    assert "type mismatch" in invalid("(module (tag) (func (try_table (catch_ref 0 0))))")
    assert "type mismatch" in invalid("(module (func (result exnref) (try_table (catch_all 0)) "
                                      "(unreachable)))")
    assert "unknown tag 2" in invalid("(module (tag) (func (try_table (catch 2 0))))")
    assert "unknown tag 1" in invalid("(module (tag) (func (block (result exnref) "
                                      "(try_table (catch_ref 1 1)) (unreachable)) (drop)))")


def test_try_table_is_a_block() -> None:
    module("""(module (type $bt (func (param i32 i32) (result i64)))
      (func (result i64) (i32.const 1) (i32.const 2)
        (try_table (type $bt) (drop) (drop) (br 0 (i64.const 3)))))""")
    assert "type mismatch" in invalid("(module (func (result i32) (try_table (result i32))))")
    assert "type mismatch" in invalid("(module (func (result i32) "
                                      "(try_table (result i32) (i64.const 42))))")
    assert "type mismatch" in invalid("(module (func (try_table (param i32) (drop))))")
    # hand-built: else belongs to an if only
    wasm, m = module("(module (func (try_table) (nop)))")
    m.codes[0].body[1] = Instr(Op.ELSE, None, m.codes[0].body[1].offset)
    with pytest.raises(InvalidError, match="else"):
        validate(m, FEATURES)


def test_malformed_try_table_immediates() -> None:
    wasm = tools.wat_to_wasm("(module (tag) (func (try_table (catch 0 0))))")
    at = wasm.index(bytes((0x1F, 0x40, 0x01, 0x00, 0x00, 0x00)))
    bad_kind = wasm[:at + 3] + b"\x04" + wasm[at + 4:]
    with pytest.raises(MalformedError, match="malformed catch clause kind 0x04"):
        decode(bad_kind, FEATURES)
    huge_count = wasm[:at + 2] + b"\x7f" + wasm[at + 3:]
    with pytest.raises(MalformedError):
        decode(huge_count, FEATURES)
    bad_blocktype = wasm[:at + 1] + b"\x7a" + wasm[at + 2:]
    with pytest.raises(MalformedError, match="block type"):
        decode(bad_blocktype, FEATURES)


# -- with the proposal off ------------------------------------------------------------------------

@pytest.mark.parametrize("wat, message", [
    ("(module (func (throw 0)))", "illegal opcode 0x08"),
    ("(module (func (try_table)))", "illegal opcode 0x1f"),
    ("(module (func (param exnref) (throw_ref (local.get 0))))", "malformed value type"),
    ("(module (func (ref.null exn) (drop)))", "malformed reference type"),
    ("(module (func (block (result exnref) (unreachable)) (drop)))", "malformed value type"),
])
def test_without_the_proposal_the_encodings_are_malformed(wat: str, message: str) -> None:
    wasm = tools.wat_to_wasm(wat)
    for features in (NO_EXCEPTIONS, FEATURES_2_0):
        with pytest.raises(MalformedError, match=message):
            decode(wasm, features)


def test_throw_ref_opcode_is_illegal_without_the_proposal() -> None:
    wasm = tools.wat_to_wasm("(module (func (unreachable) (throw_ref)))")
    with pytest.raises(MalformedError, match="illegal opcode 0x0a"):
        decode(wasm, NO_EXCEPTIONS)


def test_the_legacy_exception_opcodes_stay_illegal() -> None:
    wasm = tools.wat_to_wasm("(module (func (nop)))")
    at = wasm.index(b"\x01\x0b", len(wasm) - 8)
    for legacy in (0x06, 0x07, 0x09, 0x18, 0x19):
        with pytest.raises(MalformedError, match=f"illegal opcode {legacy:#04x}"):
            decode(wasm[:at] + bytes((legacy,)) + wasm[at + 1:], FEATURES)


def test_the_validator_refuses_a_hand_built_module_without_the_proposal() -> None:
    _, m = module("(module (tag) (func (throw 0)))")
    with pytest.raises(FeatureDisabledError, match="exceptions"):
        validate(m, NO_EXCEPTIONS)
    _, m = module("(module (func (param exnref)))")
    with pytest.raises(FeatureDisabledError, match="exceptions"):
        validate(m, NO_EXCEPTIONS)
