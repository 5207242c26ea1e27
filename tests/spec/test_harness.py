"""Tests of the spec harness itself: command parsing, value rules, the runner's bookkeeping,
the conversion cache and the tool finder. (The reference run against wasmtime-py is in
test_reference.py.)"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import tools
from spec import cache
from spec.executor import LinkFailed, Rejected, Thrown, Trapped, Unsupported
from spec.results import Category, Note, Status, Tally, format_markdown_table, format_text_table
from spec.runner import ScriptRunner, category_of, trap_code_matches, wording_matches
from spec.source import ModuleSources, SourceError, parse_forms
from spec.textcheck import difference, module_form, without_optional_sections
from spec.values import (ConversionError, HostRef, f32_from_bits, from_python, is_signaling_nan_arg,
                         result_matches, to_python, value_matches)
from spec.wast import (AssertException, AssertModule, AssertReturn, Either, ModuleAssertKind,
                       ModuleDefinition, ModuleInstance, ModuleType, NanPattern, Value, ValueKind,
                       WastFormatError, WastScript, parse_command, parse_value)

# ----------------------------------------------------------------------------- parsing


def test_integers_keep_their_unsigned_bit_patterns() -> None:
    v = parse_value({"type": "i32", "value": "4294967295"})
    assert (v.kind, v.bits) == (ValueKind.I32, 0xFFFF_FFFF)
    assert parse_value({"type": "i64", "value": "9223372036854775808"}).bits == 1 << 63


def test_signed_integers_of_json_from_wast_become_bit_patterns() -> None:
    assert parse_value({"type": "i32", "value": "-1"}).bits == 0xFFFF_FFFF
    assert parse_value({"type": "i64", "value": str(-(1 << 63))}).bits == 1 << 63
    lanes = parse_value({"type": "v128", "lane_type": "i16", "value": ["-32768"] * 8})
    assert lanes.bits == int.from_bytes(b"\x00\x80" * 8, "little")


def test_json_from_wast_commands() -> None:
    definition = parse_command({"type": "module_definition", "line": 3, "name": "M",
                                "filename": "x.0.wasm", "module_type": "binary"})
    assert definition == ModuleDefinition(3, "x.0.wasm", "M")
    assert parse_command({"type": "module_instance", "line": 9, "instance": "I1",
                          "module": "M"}) == ModuleInstance(9, "I1", "M")
    thrown = parse_command({"type": "assert_exception", "line": 4,
                            "action": {"type": "invoke", "field": "f", "args": []}})
    assert isinstance(thrown, AssertException) and thrown.action.field == "f"
    quoted = parse_command({"type": "module", "line": 5, "filename": "x.1.wat",
                            "module_type": "text", "binary_filename": "x.1.wasm"})
    assert quoted.filename == "x.1.wasm"
    invalid = parse_command({"type": "assert_invalid", "line": 6, "filename": "x.2.wat",
                             "module_type": "text", "binary_filename": "x.2.wasm",
                             "text": "type mismatch"})
    assert (invalid.filename, invalid.module_type) == ("x.2.wasm", ModuleType.BINARY)


@pytest.mark.parametrize("raw", [{"type": "i32", "value": "4294967296"},
                                 {"type": "i32", "value": "-2147483649"},
                                 {"type": "f32", "value": "nan:canonical"},   # not an expectation
                                 {"type": "i32", "value": "nan:canonical"},
                                 {"type": "externref"},                       # argument w/o value
                                 {"type": "i31", "value": "0"}])
def test_bad_values_are_rejected(raw) -> None:
    with pytest.raises((WastFormatError, ValueError)):
        parse_value(raw)


def test_expected_patterns() -> None:
    nan = parse_value({"type": "f64", "value": "nan:arithmetic"}, pattern=True)
    assert nan.nan is NanPattern.ARITHMETIC
    any_func = parse_value({"type": "funcref"}, pattern=True)
    assert any_func.any_ref and not any_func.null
    assert parse_value({"type": "externref", "value": "null"}).null
    assert parse_value({"type": "externref", "value": "7"}).bits == 7


def test_v128_lanes_are_little_endian() -> None:
    v = parse_value({"type": "v128", "lane_type": "i32", "value": ["1", "2", "3", "4"]})
    assert v.bits == 1 | 2 << 32 | 3 << 64 | 4 << 96
    v8 = parse_value({"type": "v128", "lane_type": "i8", "value": ["255"] + ["0"] * 15})
    assert v8.bits == 0xFF
    with pytest.raises(WastFormatError):
        parse_value({"type": "v128", "lane_type": "i16", "value": ["0"] * 4})


def test_assert_return_with_either() -> None:
    cmd = parse_command({"type": "assert_return", "line": 3,
                         "action": {"type": "invoke", "field": "f", "args": []},
                         "expected": [{"type": "either", "values": [
                             {"type": "i32", "value": "1"}, {"type": "i32", "value": "2"}]}]})
    assert isinstance(cmd, AssertReturn) and isinstance(cmd.expected[0], Either)
    assert result_matches(cmd.expected[0], Value(ValueKind.I32, bits=2))
    assert not result_matches(cmd.expected[0], Value(ValueKind.I32, bits=3))


def test_unknown_command_is_a_format_error() -> None:
    with pytest.raises(WastFormatError):
        parse_command({"type": "assert_nonsense", "line": 1})
    with pytest.raises(WastFormatError):
        parse_command({"type": "assert_trap", "line": 1})  # no action


# ------------------------------------------------------------------------ value rules

F32 = ValueKind.F32
F64 = ValueKind.F64


@pytest.mark.parametrize("bits,canonical,arithmetic", [
    (0x7FC0_0000, True, True),      # the canonical NaN
    (0xFFC0_0000, True, True),      # either sign
    (0x7FC0_0001, False, True),     # quiet, other payload
    (0x7F80_0001, False, False),    # signaling
    (0x7F80_0000, False, False),    # infinity
    (0x3F80_0000, False, False),    # 1.0
])
def test_f32_nan_patterns(bits, canonical, arithmetic) -> None:
    got = Value(F32, bits=bits)
    assert value_matches(Value(F32, nan=NanPattern.CANONICAL), got) == canonical
    assert value_matches(Value(F32, nan=NanPattern.ARITHMETIC), got) == arithmetic


def test_f64_nan_patterns() -> None:
    assert value_matches(Value(F64, nan=NanPattern.CANONICAL), Value(F64, bits=0x7FF8 << 48))
    assert not value_matches(Value(F64, nan=NanPattern.CANONICAL),
                             Value(F64, bits=(0x7FF8 << 48) | 1))
    assert value_matches(Value(F64, nan=NanPattern.ARITHMETIC), Value(F64, bits=(0x7FF8 << 48) | 1))
    assert not value_matches(Value(F64, nan=NanPattern.ARITHMETIC), Value(F64, bits=0x7FF0 << 48 | 1))


def test_numbers_compare_bit_for_bit() -> None:
    assert not value_matches(Value(F32, bits=0x0000_0000), Value(F32, bits=0x8000_0000))  # +0/-0
    assert value_matches(Value(F32, bits=0x7FA0_0000), Value(F32, bits=0x7FA0_0000))
    assert not value_matches(Value(ValueKind.I32, bits=1), Value(ValueKind.I64, bits=1))


def test_v128_lane_nan_patterns() -> None:
    expected = Value(ValueKind.V128, lane_kind=F32, lanes=(
        Value(F32, nan=NanPattern.CANONICAL), Value(F32, bits=0x3F80_0000),
        Value(F32, bits=0), Value(F32, bits=0)))
    good = 0x7FC0_0000 | 0x3F80_0000 << 32
    assert value_matches(expected, Value(ValueKind.V128, bits=good))
    assert not value_matches(expected, Value(ValueKind.V128, bits=good | 1))


def test_references() -> None:
    null = Value(ValueKind.EXTERNREF, null=True)
    assert value_matches(null, from_python(ValueKind.EXTERNREF, None))
    assert value_matches(Value(ValueKind.EXTERNREF, bits=3),
                         from_python(ValueKind.EXTERNREF, HostRef(3)))
    assert not value_matches(Value(ValueKind.EXTERNREF, bits=3),
                             from_python(ValueKind.EXTERNREF, HostRef(4)))
    any_func = Value(ValueKind.FUNCREF, any_ref=True)
    assert value_matches(any_func, from_python(ValueKind.FUNCREF, "f", is_func=lambda o: True))
    assert not value_matches(any_func, from_python(ValueKind.FUNCREF, None))
    with pytest.raises(ConversionError):
        from_python(ValueKind.EXTERNREF, 3)   # not something the harness passed in


def test_python_conversions() -> None:
    assert to_python(Value(ValueKind.I32, bits=0xFFFF_FFFF)) == -1
    assert to_python(Value(ValueKind.I64, bits=5)) == 5
    assert from_python(ValueKind.I32, -1).bits == 0xFFFF_FFFF
    assert from_python(ValueKind.I64, -2).bits == (1 << 64) - 2
    assert to_python(Value(F32, bits=0x3FC0_0000)) == 1.5
    assert math.copysign(1.0, to_python(Value(F64, bits=1 << 63))) == -1.0
    assert from_python(F32, -0.0).bits == 0x8000_0000
    assert to_python(Value(ValueKind.EXTERNREF, bits=9)) == HostRef(9)
    for kind, bad in ((ValueKind.I32, 1.0), (ValueKind.I32, 1 << 32), (ValueKind.I32, True),
                      (F32, 1), (F32, 0.1), (F32, 1e39)):
        with pytest.raises(ConversionError):
            from_python(kind, bad)


def test_signaling_nan_detection() -> None:
    assert is_signaling_nan_arg(Value(F32, bits=0x7FA0_0000))
    assert is_signaling_nan_arg(Value(F32, bits=0xFF80_0001))
    assert not is_signaling_nan_arg(Value(F32, bits=0x7FC0_0000))
    assert not is_signaling_nan_arg(Value(F32, bits=0x7F80_0000))
    assert not is_signaling_nan_arg(Value(F64, bits=0x7FF0_0000_0000_0001))
    # The reason the skip list exists: a float round trip quiets an f32 sNaN.
    assert from_python(F32, f32_from_bits(0x7FA0_0000)).bits == 0x7FE0_0000


# ------------------------------------------------------------------------- messages


def test_wording_is_compared_loosely() -> None:
    assert wording_matches("unexpected end", "malformed at byte 0x8: unexpected end of section")
    assert wording_matches("type mismatch", "invalid (function 0): Type Mismatch: expected i32")
    assert not wording_matches("unknown global", "invalid: type mismatch")


def test_trap_codes() -> None:
    assert trap_code_matches("integer divide by zero", "INTEGER_DIVISION_BY_ZERO")
    assert not trap_code_matches("integer divide by zero", "INTEGER_OVERFLOW")
    assert trap_code_matches("uninitialized element 2", "INDIRECT_CALL_TO_NULL")
    assert trap_code_matches("undefined element", "TABLE_OUT_OF_BOUNDS")
    assert trap_code_matches("some future trap", "UNREACHABLE")   # unknown text: any code


# ----------------------------------------------------------------------- tallies


def test_tally_round_trips_and_tables_show_counts() -> None:
    t = Tally()
    t.add(Category.RETURN, Status.PASSED, 41)
    t.add(Category.RETURN, Status.FAILED)
    t.add(Category.TEXT, Status.NOT_RUN, 5)
    t.note(Note.WORDING, 2)
    back = Tally.from_json(t.to_json())
    assert back.counts == t.counts and back.notes == t.notes
    assert back.total(Status.PASSED) == 41 and back.assertions() == 47
    text = format_text_table(t)
    assert "41" in text and "wording differs: 2" in text
    md = format_markdown_table(t)
    assert "| return | 41 | 1 | 0 | 0 |" in md
    assert "| text | 0 | 0 | 5 | 0 |" in md


# -------------------------------------------------------------- runner bookkeeping

@dataclass
class FakeExecutor:
    """Scripted outcomes: `compile_outcomes[filename]` is an exception to raise, or None."""

    frontend: str | None = None
    text: str | None = None
    runtime: str | None = None
    compile_outcomes: dict = field(default_factory=dict)
    instantiate_outcome: BaseException | None = None
    results: list = field(default_factory=list)
    current: object = None
    instantiated: list = field(default_factory=list)

    name = "fake"

    def frontend_missing(self):
        return self.frontend

    def text_missing(self):
        return self.text

    def runtime_missing(self):
        return self.runtime

    def reset(self):
        pass

    def compile(self, wasm):
        outcome = self.compile_outcomes.get(wasm.decode())
        if outcome is not None:
            raise outcome
        return wasm

    def compile_text(self, text):
        return self.compile(text.encode())

    def instantiate(self, module, name, *, current=True):
        self.instantiated.append((module, current))
        if self.instantiate_outcome is not None:
            raise self.instantiate_outcome
        if current:
            self.current = module

    def forget_current(self):
        self.current = None

    def register(self, name, as_name):
        pass

    def invoke(self, module, field_name, args):
        outcome = self.results.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def get(self, module, field_name):
        return self.invoke(module, field_name, ())[0]


def _script(tmp_path: Path, commands: list[dict]) -> WastScript:
    for c in commands:
        if "filename" in c:
            (tmp_path / c["filename"]).write_text(c["filename"])
    return WastScript("fake", tmp_path, [parse_command(c) for c in commands])


_RET = {"type": "assert_return", "line": 3, "action": {"type": "invoke", "field": "f", "args": []},
        "expected": [{"type": "i32", "value": "7"}]}
_TRAP = {"type": "assert_trap", "line": 4, "action": {"type": "invoke", "field": "f", "args": []},
         "text": "unreachable", "expected": []}


def test_runtime_commands_are_not_yet_run_without_a_runtime(tmp_path) -> None:
    script = _script(tmp_path, [
        {"type": "module", "line": 1, "filename": "m.wasm"},
        {"type": "assert_malformed", "line": 2, "filename": "bad.wasm", "text": "x",
         "module_type": "binary"},
        {"type": "assert_malformed", "line": 2, "filename": "bad.wat", "text": "x",
         "module_type": "text"},
        _RET, _TRAP])
    ex = FakeExecutor(runtime="no runtime", text="no parser",
                      compile_outcomes={"bad.wasm": Rejected("x")})
    result = ScriptRunner(script, ex, "t", skip_for=lambda f, l: None).run()
    t = result.tally
    assert t.get(Category.MODULE, Status.PASSED) == 1
    assert t.get(Category.MALFORMED, Status.PASSED) == 1
    assert t.get(Category.TEXT, Status.NOT_RUN) == 1
    assert t.get(Category.RETURN, Status.NOT_RUN) == 1
    assert t.get(Category.TRAP, Status.NOT_RUN) == 1
    assert t.total(Status.FAILED) == 0 and not result.failures
    assert result.not_run_reasons == ["no parser", "no runtime"]


def test_not_supported_yet_is_never_a_pass(tmp_path) -> None:
    # refused as not implemented yet: not yet run (never passed), and so is what runs on it
    script = _script(tmp_path, [
        {"type": "assert_invalid", "line": 2, "filename": "bad.wasm", "text": "type mismatch",
         "module_type": "binary"},
        {"type": "module", "line": 5, "filename": "m.wasm"},
        {**_RET, "line": 6},
        {"type": "register", "line": 7, "as": "M"},
        {"type": "module", "line": 8, "filename": "ok.wasm"},
        {**_RET, "line": 9}])
    ex = FakeExecutor(compile_outcomes={
        "bad.wasm": Unsupported("not supported yet: typed function references"),
        "m.wasm": Unsupported("not supported yet: exception handling")},
        results=[[Value(ValueKind.I32, 7)]])
    result = ScriptRunner(script, ex, "t", skip_for=lambda f, l: None).run()
    t = result.tally
    assert t.get(Category.INVALID, Status.NOT_RUN) == 1
    assert t.get(Category.MODULE, Status.NOT_RUN) == 1
    assert t.get(Category.RETURN, Status.NOT_RUN) == 1       # line 6: on the refused module
    assert t.get(Category.MODULE, Status.PASSED) == 1
    assert t.get(Category.RETURN, Status.PASSED) == 1        # line 9: on ok.wasm
    assert t.total(Status.FAILED) == 0 and not result.failures
    assert "not supported yet: exception handling" in result.not_run_reasons


def test_an_uncaught_exception_is_the_outcome_of_assert_exception(tmp_path) -> None:
    action = {"type": "invoke", "field": "f", "args": []}
    script = _script(tmp_path, [
        {"type": "module", "line": 1, "filename": "m.wasm"},
        {"type": "assert_exception", "line": 2, "action": action},
        {"type": "assert_exception", "line": 3, "action": action},
        {"type": "assert_exception", "line": 4, "action": action}])
    ex = FakeExecutor(results=[Thrown("thrown Wasm exception"), Trapped("unreachable", None),
                               [Value(ValueKind.I32, 1)]])
    result = ScriptRunner(script, ex, "t", skip_for=lambda f, l: None).run()
    assert result.tally.get(Category.EXCEPTION, Status.PASSED) == 1
    assert result.tally.get(Category.EXCEPTION, Status.FAILED) == 2


def test_accepting_a_bad_module_or_crashing_fails(tmp_path) -> None:
    script = _script(tmp_path, [
        {"type": "assert_invalid", "line": 5, "filename": "a.wasm", "text": "type mismatch",
         "module_type": "binary"},
        {"type": "assert_malformed", "line": 6, "filename": "b.wasm", "text": "unexpected end",
         "module_type": "binary"},
        {"type": "assert_malformed", "line": 7, "filename": "c.wasm", "text": "unexpected end",
         "module_type": "binary"}])
    ex = FakeExecutor(runtime="none",
                      compile_outcomes={"b.wasm": IndexError("oops"),
                                        "c.wasm": Rejected("length out of bounds")})
    result = ScriptRunner(script, ex, "t", skip_for=lambda f, l: None).run()
    assert result.tally.get(Category.INVALID, Status.FAILED) == 1
    assert result.tally.get(Category.MALFORMED, Status.FAILED) == 1
    assert result.tally.get(Category.MALFORMED, Status.PASSED) == 1
    assert result.tally.notes[Note.WORDING] == 1       # rejected, other words: not a failure
    assert result.failed_lines == [5, 6]
    assert "module was accepted" in result.failures[0] and "IndexError" in result.failures[1]


def test_results_traps_and_skips(tmp_path) -> None:
    script = _script(tmp_path, [
        {"type": "module", "line": 1, "filename": "m.wasm"},
        _RET, {**_RET, "line": 30}, _TRAP, {**_TRAP, "line": 40}, {**_TRAP, "line": 41},
        {**_RET, "line": 50}])
    ex = FakeExecutor(results=[[Value(ValueKind.I32, bits=7)], [Value(ValueKind.I32, bits=8)],
                               Trapped("unreachable executed", "UNREACHABLE"),
                               [],                                       # no trap: fails
                               Trapped("integer overflow", "INTEGER_OVERFLOW")])  # wrong trap
    skip = {("fake", 50)}
    result = ScriptRunner(script, ex, "t", skip_for=lambda f, l: (f, l) in skip or None).run()
    t = result.tally
    assert t.get(Category.RETURN, Status.PASSED) == 1
    assert t.get(Category.RETURN, Status.FAILED) == 1
    assert t.get(Category.RETURN, Status.SKIPPED) == 1
    assert t.get(Category.TRAP, Status.PASSED) == 1
    assert t.get(Category.TRAP, Status.FAILED) == 2
    assert result.failed_lines == [30, 40, 41]


def test_unlinkable_needs_a_link_error_not_a_trap(tmp_path) -> None:
    commands = [{"type": "assert_unlinkable", "line": 9, "filename": "u.wasm",
                 "text": "unknown import", "module_type": "binary"},
                {"type": "assert_uninstantiable", "line": 10, "filename": "v.wasm",
                 "text": "unreachable", "module_type": "binary"}]
    linked = ScriptRunner(_script(tmp_path, commands),
                          FakeExecutor(instantiate_outcome=LinkFailed("unknown import: m.f")),
                          "t", skip_for=lambda f, l: None).run()
    assert linked.tally.get(Category.UNLINKABLE, Status.PASSED) == 1
    assert linked.tally.get(Category.UNINSTANTIABLE, Status.FAILED) == 1
    trapped = ScriptRunner(_script(tmp_path, commands),
                           FakeExecutor(instantiate_outcome=Trapped("unreachable", "UNREACHABLE")),
                           "t", skip_for=lambda f, l: None).run()
    assert trapped.tally.get(Category.UNLINKABLE, Status.FAILED) == 1
    assert trapped.tally.get(Category.UNINSTANTIABLE, Status.PASSED) == 1


def test_assertion_modules_do_not_replace_the_current_module(tmp_path) -> None:
    script = _script(tmp_path, [
        {"type": "module", "line": 1, "filename": "m.wasm"},
        {"type": "assert_unlinkable", "line": 2, "filename": "u.wasm", "text": "unknown import",
         "module_type": "binary"}])
    ex = FakeExecutor()
    ScriptRunner(script, ex, "t", skip_for=lambda f, l: None).run()
    assert ex.instantiated == [(b"m.wasm", True), (b"u.wasm", False)]
    assert ex.current == b"m.wasm"


def test_category_of_text_asserts() -> None:
    cmd = AssertModule(ModuleAssertKind.INVALID, 1, "x.wat", ModuleType.TEXT, "t")
    assert category_of(cmd) is Category.TEXT


# ---------------------------------------------------------------- cache and tools


def test_conversion_cache_is_keyed_by_content(tmp_path) -> None:
    wast = tmp_path / "tiny.wast"
    wast.write_text('(module (func (export "f") (result i32) (i32.const 7)))\n'
                    '(assert_return (invoke "f") (i32.const 7))\n')
    root = tmp_path / "cache"
    first = cache.converted(wast, root)
    assert first.is_file() and cache.converted(wast, root) == first
    data = json.loads(first.read_text())
    assert [c["type"] for c in data["commands"]] == ["module", "assert_return"]
    wast.write_text('(module)\n')
    second = cache.converted(wast, root)
    assert second != first and second.parent.parent == first.parent.parent
    assert not [p for p in first.parent.parent.iterdir() if p.name.startswith(".tmp-")]


def test_json_from_wast_conversion_has_its_own_cache_entry(tmp_path) -> None:
    wast = tmp_path / "tail.wast"
    wast.write_text('(module (func $f (export "f") (result i32) (return_call $g))\n'
                    '        (func $g (result i32) (i32.const 7)))\n'
                    '(assert_return (invoke "f") (i32.const 7))\n')
    root = tmp_path / "cache"
    by_wasm_tools = cache.converted(wast, root, tool="wasm-tools")
    assert by_wasm_tools.parent.name == cache.content_key(wast, "wasm-tools")
    assert cache.content_key(wast, "wasm-tools") != cache.content_key(wast)
    data = json.loads(by_wasm_tools.read_text())
    assert [c["type"] for c in data["commands"]] == ["module", "assert_return"]
    assert (by_wasm_tools.parent / data["commands"][0]["filename"]).is_file()


def test_tools_are_found() -> None:
    for name in ("wast2json", "wat2wasm", "wasm-tools"):
        path = tools.find_tool(name)
        assert path is not None and path.is_file(), name
    with pytest.raises(tools.ToolNotFound, match="no-such-tool"):
        tools.require_tool("no-such-tool-polyjit")


def test_wat_to_wasm_fixture(wat_to_wasm) -> None:
    assert wat_to_wasm("(module)") == b"\0asm\x01\0\0\0"
    with pytest.raises(RuntimeError):
        wat_to_wasm("(module (func (i32.const)))x")


# ------------------------------------------------------------ module sources and text check

_WAST = '''\
;; a (module) in a comment, and (; a block (; nested ;) one ;)
(module $a (func (export "f") (result i32) (i32.const 1)))
(assert_invalid
  (module (func (result i32) (i64.const ")(")))
  "type mismatch")
(
  module $b)
(assert_trap (module (start 0) (func unreachable)) "unreachable")
'''


def test_parse_forms_skips_strings_and_comments() -> None:
    forms = parse_forms(_WAST)
    assert [f.head for f in forms] == ["module", "assert_invalid", "module", "assert_trap"]
    assert [f.line for f in forms] == [2, 3, 7, 8]      # the head keyword's line
    with pytest.raises(SourceError):
        parse_forms("(module (func)")


def test_module_sources_follow_wast2json_lines() -> None:
    sources = ModuleSources(_WAST)
    assert sources.module_text(2, "module").startswith("(module $a (func")
    assert sources.module_text(4, "assert_invalid") == \
        '(module (func (result i32) (i64.const ")(")))'
    assert sources.module_text(8, "assert_uninstantiable").startswith("(module (start 0)")
    # wast2json sometimes says line 0: the next unused module of the type is taken.
    assert sources.module_text(0, "module") == "(\n  module $b)"
    assert sources.module_text(2, "module") is None


def test_a_script_of_bare_fields_is_one_module() -> None:
    sources = ModuleSources("(func) (memory 0)\n")
    assert sources.module_text(1, "module") == "(module (func) (memory 0)\n)"


def _module_with_body(body: bytes) -> bytes:
    """A module with one [] -> [] function whose code is `body` (without locals)."""
    def section(sid: int, payload: bytes) -> bytes:
        return bytes([sid, len(payload)]) + payload
    code = b"\x00" + body            # no local declarations
    return (b"\0asm\x01\0\0\0" + section(1, b"\x01\x60\x00\x00") + section(3, b"\x01\x00")
            + section(10, b"\x01" + bytes([len(code)]) + code))


def test_text_check_ignores_free_encoding_choices() -> None:
    plain = _module_with_body(b"\x41\x00\x04\x40\x0b\x0b")           # if (empty) end
    with_else = _module_with_body(b"\x41\x00\x04\x40\x05\x0b\x0b")   # if (empty) else end
    by_index = _module_with_body(b"\x41\x00\x04\x00\x0b\x0b")        # if (type 0) end
    assert difference(plain, plain) is None
    assert difference(with_else, plain) is None
    assert difference(by_index, plain) is None
    custom = plain + b"\x00\x03\x01x\x00"                             # a custom section
    assert without_optional_sections(custom) == plain
    assert difference(custom, plain) is None
    other = _module_with_body(b"\x41\x01\x04\x40\x0b\x0b")           # i32.const 1
    assert "code[0]" in difference(other, plain)
    assert difference(b"\0asm\x01\0\0\0\x01", plain) is not None


def test_module_form() -> None:
    assert module_form('(module binary "\\00asm")') == "binary"
    assert module_form('(module $m quote "(func)")') == "quote"
    assert module_form("(module (func))") == "text"
