"""Exception handling in the text format: `throw $t`, `throw_ref`, `try_table` plain and folded
with its catch clauses, the types exnref, nullexnref, (ref null? exn|noexn), symbolic tag and
label names. Encodings are compared with wasm-tools; the parse's structure with opcodes.py's
forms."""

from __future__ import annotations

import pytest

from engine.errors import MalformedError
from engine.text.parser import parse_module_text, parse_text
from engine.wasm.opcodes import Catch, CatchKind, Op, TryTable
from engine.wasm.types import HeapType, RefType, ValType

SNIPPETS = {
    "flat": """(module (tag $e (param i32)) (tag $f)
      (func $g (result i32)
        block $h (result i32)
          try_table $t (result i32) (catch $e $h) (catch_all 1)
            i32.const 1
            throw $e
          end $t
        end
        try_table (catch $f 0) (catch_all_ref 1) end
        unreachable))""",
    "folded": """(module (tag $e (param i32 i64))
      (func (param exnref) (result exnref)
        (block $outer (result exnref)
          (block $inner (result i32 i64 exnref)
            (try_table $body (type 0) (catch_ref $e $inner) (catch_all_ref $outer)
              (throw $e (i32.const 1) (i64.const 2))))
          (return))
        (throw_ref (local.get 0))))""",
    "blocktypes": """(module (type $bt (func (param i32) (result i64)))
      (func (result i64)
        (try_table (param) (result i64) (i64.const 0)) (drop)
        (try_table (type $bt) (param i32) (result i64) (i64.extend_i32_u (i32.const 1)))
        (i32.const 2) (try_table (param i32) (result i64) (i64.extend_i32_u))
        (drop)))""",
    "types": """(module (type $t (func))
      (global (mut exnref) (ref.null exn))
      (global nullexnref (ref.null noexn))
      (table 1 exnref) (table 1 (ref null noexn))
      (func (param (ref exn) (ref null exn) (ref noexn) (ref null $t)) (result exnref)
        (local exnref nullexnref)
        (ref.null exn)))""",
    "imported-tag-and-exports": """(module (import "m" "t" (tag $imp (param f32)))
      (tag $own (export "own")) (export "imp" (tag $imp))
      (func (throw $imp (f32.const 1))) (func (throw $own)) (func (throw 1)))""",
}


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_matches_wasm_tools(name: str, wat_to_wasm) -> None:
    text = SNIPPETS[name]
    assert parse_module_text(text) == wat_to_wasm(text)


def _code(text: str, index: int = 0):
    return parse_text(text).module.codes[index].body


def test_catch_labels_are_resolved_outside_the_try_table() -> None:
    body = _code("""(module (tag $e) (func
      (block $a (block $b (try_table $t (catch $e $b) (catch_all $a) (catch_all_ref 2)
        (br $t) (br $b))))))""")
    tt = body[2]
    assert tt.op == Op.TRY_TABLE
    assert tt.imm == TryTable(None, (Catch(CatchKind.CATCH, 0, 0),
                                     Catch(CatchKind.CATCH_ALL, None, 1),
                                     Catch(CatchKind.CATCH_ALL_REF, None, 2)))
    # inside its body the try_table is label 0 and $b label 1
    assert [(i.op, i.imm) for i in body[3:5]] == [(Op.BR, 0), (Op.BR, 1)]
    names = parse_text("(module (func (block $a (try_table $t (catch_all $a)))))").names
    assert names.labels == {0: {0: "a", 1: "t"}}


def test_types_parse_to_the_exception_references() -> None:
    parsed = parse_text("""(module (func (param exnref nullexnref (ref exn) (ref null noexn))
      (result (ref null exn)) (ref.null noexn)))""")
    ft = parsed.module.types[0]
    assert ft.params == [ValType.EXNREF, RefType(True, HeapType.NOEXN),
                         RefType(False, HeapType.EXN), RefType(True, HeapType.NOEXN)]
    assert ft.results == [ValType.EXNREF]
    assert parsed.module.codes[0].body[0].imm == RefType(True, HeapType.NOEXN)


@pytest.mark.parametrize("text, message", [
    ("(module (func (catch_all)))", "unexpected token"),
    ("(module (tag $e) (func (catch $e)))", "unexpected token"),
    ("(module (tag $e) (func (try_table $l (catch $e $l))))", "unknown label $l"),
    ("(module (func (try_table (catch_all))))", "unexpected token"),
    ("(module (tag $e) (func (try_table (catch $e))))", "unexpected token"),
    ("(module (func (try_table (catch_all_ref 0 0))))", "unexpected token"),
    ("(module (func (try_table (catch $nope 0))))", "unknown tag $nope"),
    ("(module (func (throw $nope)))", "unknown tag $nope"),
    ("(module (func try_table $a end $b))", "mismatching label"),
    ("(module (func try_table (nop) else end))", "unexpected token 'else'"),
    ("(module (func (param (ref exnn))))", "expected a heap type"),
])
def test_errors(text: str, message: str) -> None:
    with pytest.raises(MalformedError, match="unexpected|unknown|mismatching|expected") as info:
        parse_module_text(text)
    assert message in str(info.value)
