"""Exception tags as module entities (exception handling, 3.0): the tag section, tag imports and
exports decode, validate, encode and parse from text like wasm-tools; instances define, import
(type-checked) and export Tag objects; with the proposal off a tag is malformed, as in 2.0; an
exception no try_table catches leaves wasm as ThrownException."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from engine import (Config, Engine, FuncType, Instance, LinkError, Linker, Module, Store, Tag,
                    TagType, ValType)
from engine.errors import InvalidError, MalformedError, ThrownException, WasmError
from engine.text.parser import parse_text
from engine.wasm.decoder import decode
from engine.wasm.encoder import encode_module
from engine.wasm.types import ExternKind
from engine.wasm.validator import validate
from spec.suites import FEATURES_2_0

WAT = """(module
  (type $p (func (param i32 f32)))
  (import "env" "e" (tag $imported (param i32)))
  (tag $own (export "own") (type $p))
  (tag (param i64))
  (export "again" (tag $imported)))"""


def _wasm_tools(text: str) -> bytes:
    tool = shutil.which("wasm-tools")
    if tool is None:
        pytest.skip("wasm-tools is not installed (dev extra)")
    return subprocess.run([tool, "parse", "-"], input=text.encode(), capture_output=True,
                          check=True).stdout


def test_tags_decode_encode_and_parse_like_wasm_tools():
    binary = _wasm_tools(WAT)
    m = decode(binary)
    assert [imp.kind for imp in m.imports] == [ExternKind.TAG]
    assert m.tag_type_indices() == [1, 0, 2]
    assert [(e.name, e.kind, e.index) for e in m.exports] == [
        ("own", ExternKind.TAG, 1), ("again", ExternKind.TAG, 0)]
    assert encode_module(m) == binary
    parsed = parse_text(WAT)
    assert encode_module(parsed.module, parsed.names, parsed.hints) == binary


def test_a_tag_has_no_results_and_a_known_type():
    with pytest.raises(InvalidError, match="non-empty tag result type"):
        Module(Engine(), "(module (tag (result i32)))")
    with pytest.raises(InvalidError, match="non-empty tag result type"):
        Module(Engine(), '(module (import "" "" (tag (result i32))))')
    m = decode(_wasm_tools("(module (tag (param i32)))"))
    m.tags = [5]
    with pytest.raises(InvalidError, match="unknown type 5"):
        validate(m, Config().features())


def test_without_the_proposal_a_tag_is_malformed():
    binary = _wasm_tools("(module (tag))")
    with pytest.raises(MalformedError, match="malformed section id"):
        decode(binary, FEATURES_2_0)
    with pytest.raises(MalformedError):
        decode(_wasm_tools('(module (import "" "" (tag)))'), FEATURES_2_0)
    with pytest.raises(WasmError, match="unknown module field 'tag'"):
        parse_text("(module (tag))", FEATURES_2_0)
    with pytest.raises(WasmError):
        Module(Engine(Config(wasm_exceptions=False)), binary)


def test_instances_define_import_and_export_tags():
    engine = Engine()
    store = Store(engine)
    module = Module(engine, WAT)
    assert [str(t.type.functype) for t in module.imports] == [str(FuncType([ValType.i32()], []))]
    assert [type(e.type) for e in module.exports] == [TagType, TagType]
    payload = TagType(FuncType([ValType.i32()], []))
    given = Tag(store, payload)
    inst = Instance(store, module, [given])
    ex = inst.exports(store)
    assert ex["again"] is given
    own = ex["own"]
    assert isinstance(own, Tag) and not own.eq(store, given) and own.eq(store, own)
    assert own.type(store).functype.params == [ValType.i32(), ValType.f32()]
    # two instances define two tags
    assert not Instance(store, module, [given]).exports(store)["own"].eq(store, own)
    # an import of another payload type does not link
    with pytest.raises(LinkError, match="incompatible import type"):
        Instance(store, module, [Tag(store, TagType(FuncType([ValType.i64()], [])))])
    with pytest.raises(LinkError):
        Instance(store, module, [])
    linker = Linker(engine)
    linker.define(store, "env", "e", given)
    assert linker.instantiate(store, module).exports(store)["again"] is given


def test_the_api_objects_check_their_arguments():
    with pytest.raises(TypeError):
        TagType("not a functype")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Tag(Store(), "not a tagtype")  # type: ignore[arg-type]
    assert TagType(FuncType([], [])) == TagType(FuncType([], []))


def test_an_uncaught_exception_leaves_as_thrown_exception():
    # (the front end's side: tests/wasm/test_exceptions.py)
    wat = '(module (tag $e (export "e")) (func (export "f") (throw $e)))'
    for config in (Config(strategy="interpreter"), Config(lazy_compilation=False)):
        engine = Engine(config)
        store = Store(engine)
        exports = Instance(store, Module(engine, wat), []).exports(store)
        with pytest.raises(ThrownException) as info:
            exports["f"](store)
        exn = info.value.exn
        assert exn.tag(store).eq(store, exports["e"]) and exn.fields(store) == []


@pytest.mark.parametrize("strategy", ["interpreter", "compiler"])
def test_an_exception_the_start_function_leaves_uncaught_fails_the_instantiation(strategy):
    """As wasmtime-py 50: an error of the instantiation (WasmtimeError), not a Trap; the
    same throw from a call is a Trap (ThrownException)."""
    from engine.errors import Trap
    wat = '(module (tag $e) (func $s (throw $e)) (start $s))'
    engine = Engine(Config(strategy=strategy))
    with pytest.raises(WasmError) as info:
        Instance(Store(engine), Module(engine, wat), [])
    assert not isinstance(info.value, Trap)
    assert isinstance(info.value.__cause__, ThrownException)
    assert str(info.value).startswith("error while executing")
