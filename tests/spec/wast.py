"""Typed commands of a spec-suite script, read from the JSON that wast2json writes.

Values keep the suite's exact bit patterns: integers and floats as unsigned ints of their
width, v128 as a 128-bit int, references as null / a host id / "any non-null".
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Union


class WastFormatError(ValueError):
    """The JSON does not have the shape wast2json produces."""


class ValueKind(enum.Enum):
    I32 = "i32"
    I64 = "i64"
    F32 = "f32"
    F64 = "f64"
    V128 = "v128"
    FUNCREF = "funcref"
    EXTERNREF = "externref"
    EXNREF = "exnref"
    #: `(ref.null)` without a heap type (json-from-wast): a null of any reference type.
    REFNULL = "refnull"
    # The GC proposal's reference types: read so that GC scripts load (they are skipped).
    ANYREF = "anyref"
    EQREF = "eqref"
    I31REF = "i31ref"
    STRUCTREF = "structref"
    ARRAYREF = "arrayref"
    NULLREF = "nullref"
    NULLFUNCREF = "nullfuncref"
    NULLEXTERNREF = "nullexternref"
    NULLEXNREF = "nullexnref"

    @property
    def bits(self) -> int:
        """Width of a number kind in bits (0 for references)."""
        return _WIDTH.get(self, 0)

    @property
    def is_float(self) -> bool:
        return self in (ValueKind.F32, ValueKind.F64)

    @property
    def is_ref(self) -> bool:
        return self not in _WIDTH


_WIDTH = {ValueKind.I32: 32, ValueKind.I64: 64, ValueKind.F32: 32, ValueKind.F64: 64,
          ValueKind.V128: 128}


class NanPattern(enum.Enum):
    """The NaN results the suite accepts without naming one bit pattern."""

    CANONICAL = "nan:canonical"
    ARITHMETIC = "nan:arithmetic"


@dataclass(slots=True, frozen=True)
class Value:
    """One wasm value (an argument or a result), or an expected-result pattern.

    - numbers: `bits` is the unsigned bit pattern; `nan` set for a NaN pattern instead.
    - v128: `bits` is the 128-bit little-endian value; `lanes` the per-lane patterns when
      an expected v128 holds NaN patterns (then `lane_kind` names the lanes' kind).
    - references: `null` for ref.null; otherwise `bits` is the host id of an externref;
      `any_ref` for a pattern that accepts any non-null reference.
    """

    kind: ValueKind
    bits: int = 0
    nan: NanPattern | None = None
    null: bool = False
    any_ref: bool = False
    lane_kind: ValueKind | None = None
    lanes: tuple[Value, ...] = ()

    def __str__(self) -> str:
        if self.nan is not None:
            return f"{self.kind.value}:{self.nan.value}"
        if self.kind.is_ref:
            if self.null:
                return f"ref.null {self.kind.value}"
            return f"{self.kind.value}:any" if self.any_ref else f"ref.extern {self.bits}"
        if self.kind is ValueKind.V128:
            if self.lanes:
                return f"v128 {self.lane_kind.value} " + " ".join(map(str, self.lanes))
            return f"v128 0x{self.bits:032x}"
        digits = self.kind.bits // 4
        return f"{self.kind.value}:0x{self.bits:0{digits}x}"


@dataclass(slots=True, frozen=True)
class Either:
    """An expected result that may be any one of several values."""

    alternatives: tuple[Value, ...]

    def __str__(self) -> str:
        return "(either " + " ".join(map(str, self.alternatives)) + ")"


Expected = Union[Value, Either]


class ActionKind(enum.Enum):
    INVOKE = "invoke"
    GET = "get"


@dataclass(slots=True, frozen=True)
class Action:
    """Call an exported function, or read an exported global, of a module (None: the latest)."""

    kind: ActionKind
    module: str | None
    field: str
    args: tuple[Value, ...] = ()

    def __str__(self) -> str:
        where = f"{self.module}." if self.module else ""
        if self.kind is ActionKind.GET:
            return f"get {where}{self.field!r}"
        return f"invoke {where}{self.field!r}({', '.join(map(str, self.args))})"


class ModuleType(enum.Enum):
    BINARY = "binary"
    TEXT = "text"


@dataclass(slots=True, frozen=True)
class ModuleCommand:
    """Define (decode, validate, instantiate) a module; `name` is its $id if it has one."""

    line: int
    filename: str
    name: str | None


@dataclass(slots=True, frozen=True)
class Register:
    """Make a module's exports importable under `as_name` (`name` None: the latest module)."""

    line: int
    name: str | None
    as_name: str


@dataclass(slots=True, frozen=True)
class ActionCommand:
    """Perform an action for its effect; it must not trap."""

    line: int
    action: Action


@dataclass(slots=True, frozen=True)
class AssertReturn:
    line: int
    action: Action
    expected: tuple[Expected, ...]


@dataclass(slots=True, frozen=True)
class AssertTrap:
    line: int
    action: Action
    text: str


@dataclass(slots=True, frozen=True)
class AssertExhaustion:
    line: int
    action: Action
    text: str


class ModuleAssertKind(enum.Enum):
    MALFORMED = "assert_malformed"
    INVALID = "assert_invalid"
    UNLINKABLE = "assert_unlinkable"
    UNINSTANTIABLE = "assert_uninstantiable"


@dataclass(slots=True, frozen=True)
class AssertModule:
    """A module that must be rejected (malformed, invalid) or fail to instantiate."""

    kind: ModuleAssertKind
    line: int
    filename: str
    module_type: ModuleType
    text: str


@dataclass(slots=True, frozen=True)
class ModuleDefinition:
    """Decode and validate a module without instantiating it (json-from-wast's
    `(module definition $name ...)`); `name` lets module_instance commands instantiate it."""

    line: int
    filename: str
    name: str | None


@dataclass(slots=True, frozen=True)
class ModuleInstance:
    """Instantiate the defined module `module` as `instance` (and make it the current one)."""

    line: int
    instance: str | None
    module: str


@dataclass(slots=True, frozen=True)
class AssertException:
    """The action must throw a wasm exception (the exception-handling proposal)."""

    line: int
    action: Action


Command = Union[ModuleCommand, Register, ActionCommand, AssertReturn, AssertTrap,
                AssertExhaustion, AssertModule, ModuleDefinition, ModuleInstance,
                AssertException]


@dataclass(slots=True)
class WastScript:
    """The commands of one .wast file, and where its module files are."""

    name: str
    directory: Path
    commands: list[Command]
    #: The .wast the commands came from (for the modules' source text), if known.
    source_path: Path | None = None

    def module_bytes(self, filename: str) -> bytes:
        return (self.directory / filename).read_bytes()

    def module_text(self, filename: str) -> str | bytes:
        """A text module's source; its bytes if they are not UTF-8 (a malformed module the
        text parser must refuse)."""
        raw = (self.directory / filename).read_bytes()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw


# ---------------------------------------------------------------------------------- parsing

def load_script(json_path: Path, name: str | None = None,
                source_path: Path | None = None) -> WastScript:
    """Read a wast2json output file into a WastScript (`source_path`: the .wast it came from)."""
    try:
        data = json.loads(Path(json_path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise WastFormatError(f"{json_path}: cannot read JSON: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("commands"), list):
        raise WastFormatError(f"{json_path}: no 'commands' list")
    commands = [parse_command(c) for c in data["commands"]]
    return WastScript(name or Path(json_path).stem, Path(json_path).parent, commands, source_path)


def parse_command(c: dict) -> Command:
    """One JSON command object -> its typed command."""
    try:
        kind = c["type"]
        line = int(c["line"])
        if kind == "module":
            return ModuleCommand(line, _binary_filename(c), c.get("name"))
        if kind == "module_definition":
            return ModuleDefinition(line, _binary_filename(c), c.get("name"))
        if kind == "module_instance":
            return ModuleInstance(line, c.get("instance"), c["module"])
        if kind == "assert_exception":
            return AssertException(line, parse_action(c["action"]))
        if kind == "register":
            return Register(line, c.get("name"), c["as"])
        if kind == "action":
            return ActionCommand(line, parse_action(c["action"]))
        if kind == "assert_return":
            return AssertReturn(line, parse_action(c["action"]),
                                tuple(parse_expected(e) for e in c["expected"]))
        if kind == "assert_trap":
            return AssertTrap(line, parse_action(c["action"]), c["text"])
        if kind == "assert_exhaustion":
            return AssertExhaustion(line, parse_action(c["action"]), c["text"])
        if kind in {k.value for k in ModuleAssertKind}:
            if "binary_filename" in c:  # a quoted text module json-from-wast could encode
                return AssertModule(ModuleAssertKind(kind), line, c["binary_filename"],
                                    ModuleType.BINARY, c["text"])
            return AssertModule(ModuleAssertKind(kind), line, c["filename"],
                                ModuleType(c.get("module_type", "binary")), c["text"])
    except (KeyError, TypeError, ValueError) as e:
        raise WastFormatError(f"bad {c.get('type', '?')} command at line "
                              f"{c.get('line', '?')}: {e!r}") from None
    raise WastFormatError(f"unknown command type {kind!r} at line {line}")


def _binary_filename(c: dict) -> str:
    """The binary of a module command: json-from-wast writes a quoted text module as .wat
    and, beside it, the .wasm it encodes to."""
    return c.get("binary_filename", c["filename"])


def parse_action(a: dict) -> Action:
    kind = ActionKind(a["type"])
    args = tuple(parse_value(v) for v in a.get("args", ()))
    return Action(kind, a.get("module"), a["field"], args)


def parse_expected(e: dict) -> Expected:
    if e["type"] == "either":
        return Either(tuple(parse_value(v, pattern=True) for v in e["values"]))
    return parse_value(e, pattern=True)


def parse_value(v: dict, pattern: bool = False) -> Value:
    """A JSON value; `pattern` allows NaN patterns and value-less references (expected results)."""
    kind = ValueKind(v["type"])
    if kind is ValueKind.V128:
        return _parse_v128(v, pattern)
    raw = v.get("value")
    if kind.is_ref:
        if raw is None:
            if not pattern:
                raise WastFormatError(f"{kind.value} argument without a value")
            return Value(kind, any_ref=True)
        if raw == "null":
            return Value(kind, null=True)
        return Value(kind, bits=int(raw))
    return _parse_number(kind, raw, pattern)


def _parse_number(kind: ValueKind, raw, pattern: bool) -> Value:
    if not isinstance(raw, str):
        raise WastFormatError(f"{kind.value} value must be a string, got {raw!r}")
    if raw.startswith("nan:"):
        if not pattern or not kind.is_float:
            raise WastFormatError(f"{raw} is only allowed in an expected float")
        return Value(kind, nan=NanPattern(raw))
    bits = _unsigned(int(raw), kind.bits)
    if not 0 <= bits < (1 << kind.bits):
        raise WastFormatError(f"{kind.value} bit pattern {raw} out of range")
    return Value(kind, bits=bits)


def _unsigned(value: int, width: int) -> int:
    """json-from-wast writes negative integers signed; wast2json writes the bit pattern."""
    return value + (1 << width) if -(1 << (width - 1)) <= value < 0 else value


def _parse_v128(v: dict, pattern: bool) -> Value:
    lane_type = v["lane_type"]
    narrow = {"i8": 8, "i16": 16}
    # i8/i16 lanes only ever hold exact bits; they are kept as (narrow) i32 lane values.
    lane_kind = ValueKind.I32 if lane_type in narrow else ValueKind(lane_type)
    width = narrow.get(lane_type, lane_kind.bits)
    raw_lanes = v["value"]
    if width * len(raw_lanes) != 128:
        raise WastFormatError(f"v128 with {len(raw_lanes)} {v['lane_type']} lanes")
    bits = 0
    lanes = []
    has_nan = False
    for i, raw in enumerate(raw_lanes):
        if raw.startswith("nan:"):
            if not pattern or not lane_kind.is_float:
                raise WastFormatError(f"{raw} is only allowed in an expected float lane")
            lanes.append(Value(lane_kind, nan=NanPattern(raw)))
            has_nan = True
            continue
        lane = _unsigned(int(raw), width)
        if not 0 <= lane < (1 << width):
            raise WastFormatError(f"v128 lane {raw} out of range for {v['lane_type']}")
        bits |= lane << (i * width)
        lanes.append(Value(lane_kind, bits=lane))
    if not has_nan:
        return Value(ValueKind.V128, bits=bits)
    return Value(ValueKind.V128, bits=bits, lane_kind=lane_kind, lanes=tuple(lanes))
