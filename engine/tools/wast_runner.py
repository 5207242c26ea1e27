"""`polyjit wast`: run a spec test script through the public API and count the outcomes.

Scripts are read with engine.text.wast.parse_wast. Values cross the API as wasmtime-py's do:
floats as Python floats (so a signalling NaN argument may arrive quieted; NaN results are
checked by pattern), v128 values are not representable and their commands are skipped."""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import Any

from ..api import Engine, Store
from ..compile.module import Module
from ..errors import LinkError, Trap, TrapCode, UnsupportedError, WasmError
from ..runtime.func import Func
from ..runtime.globals import Global
from ..runtime.linker import Linker
from ..runtime.memory import Memory
from ..runtime.table import Table
from ..text import wast as W
from ..text.wast import AnyRef, Get, NanPattern, Value, parse_wast
from ..wasm.types import FuncType, GlobalType, Limits, MemoryType, TableType, ValType


class _Skip(Exception):
    """A command this runner cannot express through the API (the reason is the message)."""


class _Fail(Exception):
    """A command whose outcome differs from the script's expectation."""


@dataclass(slots=True)
class Report:
    """Counts of a script run; `failures` holds "line N: what" strings."""

    path: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)
    skip_reasons: dict[str, int] = field(default_factory=dict)
    verbose: bool = False

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def summary(self) -> str:
        lines = [f"{self.path}: {self.passed} passed, {self.failed} failed, "
                 f"{self.skipped} skipped"]
        shown = self.failures if self.verbose else self.failures[:10]
        lines += [f"  FAIL {f}" for f in shown]
        if len(shown) < len(self.failures):
            lines.append(f"  ... {len(self.failures) - len(shown)} more failures (-v lists all)")
        for reason, n in sorted(self.skip_reasons.items(), key=lambda kv: -kv[1]):
            lines.append(f"  skipped {n}: {reason}")
        return "\n".join(lines)


class _Extern:
    """The host value behind `ref.extern N` (identity preserved per N)."""

    __slots__ = ("n",)

    def __init__(self, n: int) -> None:
        self.n = n


class _Runner:
    def __init__(self, config) -> None:
        self.engine = Engine(config)
        self.store = Store(self.engine)
        self.linker = Linker(self.engine)
        self.linker.allow_shadowing = True
        self.current = None
        self.named: dict[str, Any] = {}
        #: modules of `(module definition ...)`, by name; None: the last one defined
        self.definitions: dict[str | None, Module] = {}
        self.externs: dict[int, _Extern] = {}
        self.snan_arg = False
        self._spectest()

    def _spectest(self) -> None:
        s, lk = self.store, self.linker
        v = {"i32": ValType.i32(), "i64": ValType.i64(), "f32": ValType.f32(),
             "f64": ValType.f64()}
        for name, params in (("print", ()), ("print_i32", ("i32",)), ("print_i64", ("i64",)),
                             ("print_f32", ("f32",)), ("print_f64", ("f64",)),
                             ("print_i32_f32", ("i32", "f32")), ("print_f64_f64", ("f64", "f64"))):
            lk.define(s, "spectest", name,
                      Func(s, FuncType([v[p] for p in params], []), lambda *a: None))
        for t, val in (("i32", 666), ("i64", 666), ("f32", 666.6), ("f64", 666.6)):
            lk.define(s, "spectest", f"global_{t}", Global(s, GlobalType(v[t], False), val))
        lk.define(s, "spectest", "table",
                  Table(s, TableType(ValType.funcref(), Limits(10, 20)), None))
        lk.define(s, "spectest", "table64",
                  Table(s, TableType(ValType.funcref(), Limits(10, 20), is_64=True), None))
        lk.define(s, "spectest", "memory", Memory(s, MemoryType(Limits(1, 2))))

    # -- values ---------------------------------------------------------------------------------

    def arg(self, value) -> Any:
        t, x = value.type, value.value
        if t in ("i32", "i64"):
            return x
        if t in ("f32", "f64") and _signalling_nan(t, x):
            self.snan_arg = True       # may arrive quieted: a mismatch is then not a failure
        if t == "f32":
            return struct.unpack("<f", struct.pack("<I", x & 0xFFFFFFFF))[0]
        if t == "f64":
            return struct.unpack("<d", struct.pack("<Q", x & 0xFFFFFFFFFFFFFFFF))[0]
        if t == "funcref":
            if x is None:
                return None
            raise _Skip("funcref arguments other than null")
        if t == "externref":
            return None if x is None else self.externs.setdefault(x, _Extern(x))
        raise _Skip(f"{t} values cannot cross the Python API")

    def check(self, got, expected) -> None:
        if isinstance(expected, AnyRef):
            if got is None:
                raise _Fail(f"expected a non-null {expected.type}, got null")
            return
        if isinstance(expected, NanPattern):
            if not isinstance(got, float) or not math.isnan(got):
                raise _Fail(f"expected {expected.kind} NaN, got {got!r}")
            bits = _float_bits(expected.type, got)
            width = 32 if expected.type == "f32" else 64
            mant = 23 if width == 32 else 52
            payload = bits & ((1 << mant) - 1)
            quiet = 1 << (mant - 1)
            if expected.kind == "canonical" and payload != quiet:
                raise _Fail(f"expected canonical NaN, got bits {bits:#x}")
            if expected.kind == "arithmetic" and not payload & quiet:
                raise _Fail(f"expected arithmetic NaN, got bits {bits:#x}")
            return
        if not isinstance(expected, Value):
            raise _Skip("v128 results cannot cross the Python API")
        t, x = expected.type, expected.value
        if t in ("i32", "i64"):
            mask = (1 << (32 if t == "i32" else 64)) - 1
            if not isinstance(got, int) or (got - x) & mask:
                raise _Fail(f"expected {t} {x & mask}, got {got!r}")
        elif t in ("f32", "f64"):
            if isinstance(got, float) and math.isnan(got) and _signalling_nan(t, x):
                raise _Skip("a signalling-NaN result cannot cross a Python float unchanged")
            if not isinstance(got, float) or _float_bits(t, got) != x:
                raise _Fail(f"expected {t} bits {x:#x}, got {got!r}")
        elif t == "externref":
            want = None if x is None else self.externs.get(x)
            if got is not want:
                raise _Fail(f"expected externref {x}, got {got!r}")
        elif t in ("funcref", "ref"):
            if x is None and got is not None:
                raise _Fail(f"expected a null {t}, got {got!r}")
        else:
            raise _Skip(f"{t} results cannot cross the Python API")

    # -- commands -------------------------------------------------------------------------------

    def instance(self, name: str | None):
        inst = self.named.get(name) if name is not None else self.current
        if inst is None:
            raise _Fail(f"no module {name or '(current)'} to act on")
        return inst

    def action(self, action) -> list:
        inst = self.instance(action.module)
        item = inst.exports(self.store).get(action.name)
        if item is None:
            raise _Fail(f"no export {action.name!r}")
        if isinstance(action, Get):
            return [item.value(self.store)]
        args = [self.arg(a) for a in action.args]
        out = item(self.store, *args)
        n = len(item.type(self.store).results)
        if n == 0:
            return []
        return list(out) if n > 1 else [out]

    def compile(self, source):
        return Module(self.engine, source.encode(self.engine.features))

    def run(self, cmd) -> None:
        self.snan_arg = False
        try:
            self._run(cmd)
        except _Fail:
            if self.snan_arg:
                raise _Skip("a signalling-NaN argument cannot cross a Python float unchanged") \
                    from None
            raise

    def _run(self, cmd) -> None:
        if isinstance(cmd, W.ModuleCommand) and cmd.definition:
            module = self.compile(cmd.module)
            self.definitions[None] = module
            if cmd.module.name:
                self.definitions[cmd.module.name] = module
        elif isinstance(cmd, W.ModuleInstance):
            module = self.definitions.get(cmd.definition)
            if module is None:
                raise _Fail(f"no module definition {cmd.definition or '(last)'} to instantiate")
            self.current = None
            self.current = self.linker.instantiate(self.store, module)
            if cmd.instance:
                self.named[cmd.instance] = self.current
        elif isinstance(cmd, W.ModuleCommand):
            self.current = None
            inst = self.linker.instantiate(self.store, self.compile(cmd.module))
            self.current = inst
            if cmd.module.name:
                self.named[cmd.module.name] = inst
        elif isinstance(cmd, W.Register):
            self.linker.define_instance(self.store, cmd.as_name, self.instance(cmd.module))
        elif isinstance(cmd, W.ActionCommand):
            self.action(cmd.action)
        elif isinstance(cmd, W.AssertReturn):
            got = self.action(cmd.action)
            if len(got) != len(cmd.expected):
                raise _Fail(f"expected {len(cmd.expected)} results, got {len(got)}")
            for g, e in zip(got, cmd.expected):
                self.check(g, e)
        elif isinstance(cmd, (W.AssertTrap, W.AssertExhaustion)):
            try:
                if getattr(cmd, "module", None) is not None:
                    self.linker.instantiate(self.store, self.compile(cmd.module))
                else:
                    self.action(cmd.action)
            except Trap as t:
                if isinstance(cmd, W.AssertExhaustion) and t.trap_code != TrapCode.STACK_OVERFLOW:
                    raise _Fail(f"expected stack exhaustion, got {t}") from None
                return
            raise _Fail(f"expected a trap ({cmd.message})")
        elif isinstance(cmd, W.AssertModule):
            self.assert_module(cmd)
        else:
            raise _Skip(f"command {type(cmd).__name__}")

    def assert_module(self, cmd) -> None:
        kind = cmd.kind
        try:
            module = self.compile(cmd.module)
        except UnsupportedError:
            raise
        except WasmError:
            if kind in ("malformed", "invalid"):
                return
            raise _Fail(f"module rejected, expected it {kind}") from None
        if kind in ("malformed", "invalid"):
            raise _Fail(f"module accepted, expected {kind} ({cmd.message})")
        try:
            self.linker.instantiate(self.store, module)
        except Trap:
            if kind == "uninstantiable":
                return
            raise _Fail("instantiation trapped, expected a link error") from None
        except LinkError:
            if kind == "unlinkable":
                return
            raise _Fail("link error, expected a trap") from None
        except UnsupportedError:
            raise
        except WasmError:
            if kind == "unlinkable":
                return
            raise
        raise _Fail(f"instantiation succeeded, expected {kind} ({cmd.message})")


def _signalling_nan(t: str, bits: int) -> bool:
    """A NaN with the quiet bit clear (Python floats quiet these on the way through)."""
    width, mant = (32, 23) if t == "f32" else (64, 52)
    bits &= (1 << width) - 1
    exp_mask = ((1 << (width - 1 - mant)) - 1) << mant
    payload = bits & ((1 << mant) - 1)
    return bits & exp_mask == exp_mask and payload != 0 and not payload >> (mant - 1)


def _float_bits(t: str, x: float) -> int:
    if t == "f32":
        return struct.unpack("<I", struct.pack("<f", x))[0]
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def run_script(path: str, config, verbose: bool = False) -> Report:
    """Run the .wast file at `path` on an Engine built from `config`."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
    except UnicodeDecodeError:
        raise WasmError(f"{path}: not UTF-8 text") from None
    commands = parse_wast(text)
    runner = _Runner(config)
    report = Report(path, verbose=verbose)
    for cmd in commands:
        line = getattr(cmd, "line", 0)
        try:
            runner.run(cmd)
            report.passed += 1
        except _Skip as e:
            report.skipped += 1
            report.skip_reasons[str(e)] = report.skip_reasons.get(str(e), 0) + 1
        except UnsupportedError as e:
            report.skipped += 1
            report.skip_reasons[str(e)] = report.skip_reasons.get(str(e), 0) + 1
        except _Fail as e:
            report.failed += 1
            report.failures.append(f"line {line}: {e}")
        except (Trap, WasmError, RecursionError) as e:
            report.failed += 1
            report.failures.append(f"line {line}: {type(e).__name__}: {e}")
    return report
