"""The .wast script format of the spec tests: modules, register, actions and assertions, read
into command objects (each with the line of its keyword). Modules are kept unparsed until `encode()` so that an assert_malformed
module fails when the script runner asks for it, not while the script is read."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from typing import Union

from ..config import Features
from ..errors import MalformedError
from .lexer import Kind, Source, Token
from .numbers import NumberError, parse_float, parse_int
from .parser import module_form, guarded_parse, parse_module_node
from .sexpr import SList, read

# -- values -----------------------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class Value:
    """An argument or an exact expected result. `type` is i32, i64, f32, f64, v128, funcref or
    externref. Integers are signed Python ints; floats are their raw bits (so NaN payloads
    survive); v128 is 16 bytes; a null reference is None, `ref.extern n` is n."""

    type: str
    value: object


@dataclass(slots=True, frozen=True)
class NanPattern:
    """An expected float result that is any canonical or any arithmetic NaN."""

    type: str          # f32 or f64
    kind: str          # "canonical" or "arithmetic"


@dataclass(slots=True, frozen=True)
class LanePatterns:
    """An expected v128 given lane by lane, where float lanes may be NaN patterns."""

    shape: str                                   # e.g. f32x4
    lanes: tuple[Union[int, NanPattern], ...]    # raw lane bits, or a pattern


@dataclass(slots=True, frozen=True)
class AnyRef:
    """An expected non-null reference: `(ref.func)` or `(ref.extern)` without a value."""

    type: str


Expected = Union[Value, NanPattern, LanePatterns, AnyRef]

# -- commands ---------------------------------------------------------------------------------


@dataclass(slots=True)
class ModuleSource:
    """A module of the script: text, `binary` or `quote` form, encoded on demand."""

    line: int
    name: str | None
    kind: str                      # "text", "binary" or "quote"
    _src: Source = field(repr=False)
    _node: SList = field(repr=False)

    def encode(self, features: Features | None = None) -> bytes:
        """The module's binary (raises WasmError for a malformed module); `features` picks
        the text format's version (engine.text.parser.parse_module_items)."""
        parsed = guarded_parse(lambda: parse_module_node(self._src, self._node, features))
        return parsed if isinstance(parsed, bytes) else parsed.encode()

    def text(self) -> str:
        """The module's source text as written in the script."""
        return self._src.text[self._node.pos:self._node.end + 1]


@dataclass(slots=True)
class Invoke:
    line: int
    module: str | None
    name: str
    args: list[Value]


@dataclass(slots=True)
class Get:
    line: int
    module: str | None
    name: str


Action = Union[Invoke, Get]


@dataclass(slots=True)
class ModuleCommand:
    """A module to compile and instantiate, or with `definition` (3.0's `(module definition
    ...)`) only to compile, under its name, for later `(module instance ...)` commands."""

    line: int
    module: ModuleSource
    definition: bool = False


@dataclass(slots=True)
class ModuleInstance:
    """3.0's `(module instance $instance? $definition?)`: instantiate a defined module (the
    last one defined when unnamed), under the instance name."""

    line: int
    instance: str | None
    definition: str | None


@dataclass(slots=True)
class Register:
    line: int
    as_name: str
    module: str | None


@dataclass(slots=True)
class ActionCommand:
    line: int
    action: Action


@dataclass(slots=True)
class AssertReturn:
    line: int
    action: Action
    expected: list[Expected]


@dataclass(slots=True)
class AssertTrap:
    """A trapping action, or (with `module`) a module whose instantiation traps."""

    line: int
    action: Action | None
    module: ModuleSource | None
    message: str


@dataclass(slots=True)
class AssertExhaustion:
    line: int
    action: Action
    message: str


@dataclass(slots=True)
class AssertModule:
    """assert_malformed / assert_invalid / assert_unlinkable / assert_uninstantiable."""

    line: int
    kind: str                      # "malformed", "invalid", "unlinkable", "uninstantiable"
    module: ModuleSource
    message: str


Command = Union[ModuleCommand, ModuleInstance, Register, ActionCommand, AssertReturn,
                AssertTrap, AssertExhaustion, AssertModule]

# -- parsing ----------------------------------------------------------------------------------

_FLOAT_BITS = {"f32": 32, "f64": 64}
_INT_BITS = {"i32": 32, "i64": 64}
_SHAPES = {"i8x16": (16, 8), "i16x8": (8, 16), "i32x4": (4, 32), "i64x2": (2, 64),
           "f32x4": (4, 32), "f64x2": (2, 64)}


class _ScriptParser:
    def __init__(self, src: Source) -> None:
        self.src = src

    def err(self, pos: int, message: str) -> MalformedError:
        return self.src.error(pos, message)

    def line(self, pos: int) -> int:
        return int(self.src.where(pos).split(":")[0])

    def string(self, item, what: str) -> str:
        if type(item) is not Token or item.kind is not Kind.STRING:
            raise self.err(getattr(item, "pos", 0), f"expected {what} (a string)")
        try:
            return item.value.decode("utf-8")
        except UnicodeDecodeError:
            raise self.err(item.pos, "malformed UTF-8 encoding") from None

    def module(self, node: SList) -> ModuleSource:
        if _is_definition(node):
            node = SList([node.items[0]] + node.items[2:], node.pos, node.end)
        name_tok, kind, _ = module_form(self.src, node)
        return ModuleSource(self.line(node.items[0].pos), name_tok.value if name_tok else None,
                            "text" if kind == "fields" else kind, self.src, node)

    def opt_name(self, items: list, i: int) -> tuple[str | None, int]:
        if i < len(items) and type(items[i]) is Token and items[i].kind is Kind.ID:
            return items[i].value, i + 1
        return None, i

    def action(self, node) -> Action:
        if type(node) is not SList or node.head() not in ("invoke", "get"):
            raise self.err(getattr(node, "pos", 0), "expected (invoke ...) or (get ...)")
        items = node.items
        module, i = self.opt_name(items, 1)
        if i >= len(items):
            raise self.err(node.end, "expected an export name")
        name = self.string(items[i], "an export name")
        if node.head() == "get":
            if i + 1 != len(items):
                raise self.err(items[i + 1].pos, "unexpected token after (get ...)")
            return Get(self.line(items[0].pos), module, name)
        return Invoke(self.line(items[0].pos), module, name, [self.const(a) for a in items[i + 1:]])

    def num(self, fn, tok, bits: int) -> int:
        if type(tok) is not Token:
            raise self.err(getattr(tok, "pos", 0), "expected a number")
        try:
            return fn(tok.text, bits)
        except NumberError as exc:
            raise self.err(tok.pos, str(exc)) from None

    def const(self, node) -> Value:
        if type(node) is not SList or not node.head():
            raise self.err(getattr(node, "pos", 0), "expected a constant such as (i32.const 0)")
        head = node.head()
        args = node.items[1:]
        if head in ("i32.const", "i64.const"):
            self._arity(node, 1)
            return Value(head[:3], self.num(parse_int, args[0], _INT_BITS[head[:3]]))
        if head in ("f32.const", "f64.const"):
            self._arity(node, 1)
            return Value(head[:3], self.num(parse_float, args[0], _FLOAT_BITS[head[:3]]))
        if head == "v128.const":
            return Value("v128", self._v128(node, allow_patterns=False))
        if head == "ref.null":
            self._arity(node, 1)
            kind = args[0].text if type(args[0]) is Token else ""
            if kind not in ("func", "extern"):
                raise self.err(args[0].pos, "expected func or extern")
            return Value(kind + "ref", None)
        if head == "ref.extern":
            self._arity(node, 1)
            return Value("externref", self.num(parse_int, args[0], 64) & 0xFFFF_FFFF_FFFF_FFFF)
        raise self.err(node.pos, f"unknown constant {head}")

    def expected(self, node) -> Expected:
        if type(node) is SList and node.head() in ("f32.const", "f64.const"):
            self._arity(node, 1)
            tok = node.items[1]
            if type(tok) is Token and tok.text in ("nan:canonical", "nan:arithmetic"):
                return NanPattern(node.head()[:3], tok.text[4:])
        if type(node) is SList and node.head() == "v128.const":
            lanes = self._v128(node, allow_patterns=True)
            return lanes if isinstance(lanes, LanePatterns) else Value("v128", lanes)
        if type(node) is SList and node.head() in ("ref.func", "ref.extern") and len(node.items) == 1:
            return AnyRef("funcref" if node.head() == "ref.func" else "externref")
        if type(node) is SList and node.head() == "ref.null" and len(node.items) == 1:
            return Value("ref", None)     # 3.0: a null reference of any type
        return self.const(node)

    def _arity(self, node: SList, n: int) -> None:
        if len(node.items) != n + 1:
            raise self.err(node.pos, f"expected {n} operand(s) in ({node.head()} ...)")

    def _v128(self, node: SList, allow_patterns: bool):
        items = node.items
        if len(items) < 2 or type(items[1]) is not Token or items[1].text not in _SHAPES:
            raise self.err(node.pos, "expected a lane shape after v128.const")
        shape = items[1].text
        count, width = _SHAPES[shape]
        if len(items) != count + 2:
            raise self.err(node.pos, f"expected {count} lanes for {shape}")
        lanes: list = []
        patterned = False
        for tok in items[2:]:
            if shape[0] == "f":
                if allow_patterns and type(tok) is Token and tok.text in ("nan:canonical", "nan:arithmetic"):
                    lanes.append(NanPattern(f"f{width}", tok.text[4:]))
                    patterned = True
                    continue
                lanes.append(self.num(parse_float, tok, width))
            else:
                lanes.append(self.num(parse_int, tok, width) & ((1 << width) - 1))
        if patterned:
            return LanePatterns(shape, tuple(lanes))
        return b"".join(v.to_bytes(width // 8, "little") for v in lanes)

    def message(self, node: SList, i: int) -> str:
        if i >= len(node.items):
            raise self.err(node.end, "expected a failure message")
        return self.string(node.items[i], "a failure message")

    def command(self, node) -> Command:
        if type(node) is not SList:
            raise self.err(node.pos, f"unexpected token {node.text}, expected a command")
        head = node.head()
        items = node.items
        line = self.line(items[0].pos if items else node.pos)   # the line of the command's keyword
        if head == "module":
            if len(items) > 1 and type(items[1]) is Token and items[1].kind is Kind.KEYWORD \
                    and items[1].text == "instance":
                instance, i = self.opt_name(items, 2)
                definition, i = self.opt_name(items, i)
                if i != len(items):
                    raise self.err(items[i].pos, "unexpected token in (module instance ...)")
                return ModuleInstance(line, instance, definition)
            return ModuleCommand(line, self.module(node), _is_definition(node))
        if head == "register":
            if len(items) < 2:
                raise self.err(node.pos, "expected (register \"name\" $module?)")
            name = self.string(items[1], "a registration name")
            module, i = self.opt_name(items, 2)
            if i != len(items):
                raise self.err(items[i].pos, "unexpected token in (register ...)")
            return Register(line, name, module)
        if head in ("invoke", "get"):
            return ActionCommand(line, self.action(node))
        if head == "assert_return":
            if len(items) < 2:
                raise self.err(node.pos, "expected an action")
            return AssertReturn(line, self.action(items[1]), [self.expected(e) for e in items[2:]])
        if head == "assert_trap":
            if len(items) != 3:
                raise self.err(node.pos, "expected (assert_trap <action or module> \"message\")")
            target = items[1]
            if type(target) is SList and target.head() == "module":
                return AssertTrap(line, None, self.module(target), self.message(node, 2))
            return AssertTrap(line, self.action(target), None, self.message(node, 2))
        if head == "assert_exhaustion":
            if len(items) != 3:
                raise self.err(node.pos, "expected (assert_exhaustion <action> \"message\")")
            return AssertExhaustion(line, self.action(items[1]), self.message(node, 2))
        if head in ("assert_malformed", "assert_invalid", "assert_unlinkable", "assert_uninstantiable"):
            if len(items) != 3 or type(items[1]) is not SList or items[1].head() != "module":
                raise self.err(node.pos, f"expected ({head} (module ...) \"message\")")
            return AssertModule(line, head[len("assert_"):], self.module(items[1]), self.message(node, 2))
        raise self.err(node.pos, f"unknown command {head or '('}")


_FIELDS = {"type", "import", "func", "table", "memory", "global", "export", "start", "elem", "data"}


def _is_definition(node: SList) -> bool:
    items = node.items
    return len(items) > 1 and type(items[1]) is Token and items[1].kind is Kind.KEYWORD \
        and items[1].text == "definition"


def parse_wast(text: str | bytes) -> list[Command]:
    """Read a .wast script into commands. A script made only of module fields (no commands)
    is one module command."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedError(f"malformed UTF-8 encoding at byte {exc.start}") from None
    src = Source(text)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        items = read(src)
    finally:
        if gc_was_enabled:
            gc.enable()
    if items and all(type(i) is SList and i.head() in _FIELDS for i in items):
        whole = SList([Token(Kind.KEYWORD, "module", 0)] + items, 0, len(text))
        return [ModuleCommand(1, ModuleSource(1, None, "text", src, whole))]
    parser = _ScriptParser(src)
    return [parser.command(node) for node in items]


__all__ = ["parse_wast", "Command", "ModuleCommand", "Register", "ActionCommand", "AssertReturn",
           "AssertTrap", "AssertExhaustion", "AssertModule", "ModuleSource", "Invoke", "Get",
           "Value", "NanPattern", "LanePatterns", "AnyRef", "Expected"]
