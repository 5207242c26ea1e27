"""The exceptions polyjit raises: WasmError for bad input of any kind, Trap for wasm traps."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class WasmError(Exception):
    """Base of every error polyjit raises for bad input (mirrors wasmtime's WasmtimeError)."""


#: wasmtime-py's name for WasmError
WasmtimeError = WasmError


class ArgumentTypeError(WasmError, TypeError, AttributeError):
    """An argument of the wrong type (an int where a Store is expected, a str for an i32).
    Also a TypeError and an AttributeError: wasmtime-py raises one or the other depending on
    the argument (TypeError from its checks, AttributeError where it reads a missing attribute
    of the object passed), so code written for it catches either."""


class ClosedError(WasmError, ValueError):
    """An object used after ``close()`` (or a Config used after an Engine consumed it); a
    ValueError, as in wasmtime-py."""


class MalformedError(WasmError):
    """The bytes (or text) are not a well-formed module. The message names the offset."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        self.offset = offset
        self.reason = message
        super().__init__(message if offset is None else f"malformed at byte {offset:#x}: {message}")


class InvalidError(WasmError):
    """The module is well formed but breaks a validation rule."""

    def __init__(self, message: str, func: int | None = None, offset: int | None = None) -> None:
        self.func = func
        self.offset = offset
        self.reason = message
        where = []
        if func is not None:
            where.append(f"function {func}")
        if offset is not None:
            where.append(f"at byte {offset:#x}")
        prefix = f"invalid ({', '.join(where)}): " if where else "invalid: "
        super().__init__(prefix + message)


class FeatureDisabledError(InvalidError):
    """The module uses a proposal that the Config has switched off."""


class UnsupportedError(WasmError):
    """A valid module uses something polyjit does not implement yet."""

    def __init__(self, what: str) -> None:
        super().__init__(f"not supported yet: {what}")


class LinkError(WasmError):
    """Imports do not match what the module asks for (unknown import, incompatible type)."""


class IncompatibleArtifactError(WasmError):
    """A precompiled artifact cannot run on this Engine (damaged, foreign target, other settings)."""


class InternalError(Exception):
    """A bug in polyjit itself (a broken compiler or runtime invariant), never the user's input.
    Not a WasmError: code that handles bad input must not swallow it."""

    def __init__(self, message: str) -> None:
        super().__init__(f"internal error in polyjit: {message} (this is a bug in polyjit; "
                         f"please report it with the module that triggered it)")


class TrapCode(enum.IntEnum):
    """Trap codes, with the names and values of wasmtime-py's TrapCode."""

    STACK_OVERFLOW = 0
    MEMORY_OUT_OF_BOUNDS = 1
    HEAP_MISALIGNED = 2
    TABLE_OUT_OF_BOUNDS = 3
    INDIRECT_CALL_TO_NULL = 4
    BAD_SIGNATURE = 5
    INTEGER_OVERFLOW = 6
    INTEGER_DIVISION_BY_ZERO = 7
    BAD_CONVERSION_TO_INTEGER = 8
    UNREACHABLE = 9
    INTERRUPT = 10
    OUT_OF_FUEL = 11
    NULL_REFERENCE = 13

    def __str__(self) -> str:
        return f"TrapCode.{self.name}"      # as wasmtime-py's (an Enum) prints


TRAP_MESSAGES: dict[TrapCode, str] = {
    TrapCode.STACK_OVERFLOW: "call stack exhausted",
    TrapCode.MEMORY_OUT_OF_BOUNDS: "out of bounds memory access",
    TrapCode.HEAP_MISALIGNED: "misaligned memory access",
    TrapCode.TABLE_OUT_OF_BOUNDS: "undefined element: out of bounds table access",
    TrapCode.INDIRECT_CALL_TO_NULL: "uninitialized element",
    TrapCode.BAD_SIGNATURE: "indirect call type mismatch",
    TrapCode.INTEGER_OVERFLOW: "integer overflow",
    TrapCode.INTEGER_DIVISION_BY_ZERO: "integer divide by zero",
    TrapCode.BAD_CONVERSION_TO_INTEGER: "invalid conversion to integer",
    TrapCode.UNREACHABLE: "unreachable",
    TrapCode.INTERRUPT: "interrupt",
    TrapCode.OUT_OF_FUEL: "all fuel consumed by WebAssembly",
    TrapCode.NULL_REFERENCE: "null reference",
}


#: how wasmtime words a trap's cause where it differs from TRAP_MESSAGES (the spec's text)
_WASMTIME_CAUSES: dict[TrapCode, str] = {
    TrapCode.UNREACHABLE: "wasm `unreachable` instruction executed",
}


@dataclass(slots=True, frozen=True)
class Frame:
    """One wasm frame of a trap's backtrace (wasmtime-py's Frame), innermost first.

    ``func_index`` is the function's index in its module's function index space;
    ``func_name`` and ``module_name`` come from the module's name section (None without one);
    ``module_offset`` is the byte offset in the module's binary of the instruction that trapped
    (innermost frame) or of the call (outer frames), None when the executor cannot tell;
    ``func_offset`` is the same offset from the start of the function's body."""

    func_index: int
    func_name: str | None = None
    module_name: str | None = None
    module_offset: int | None = None
    func_offset: int | None = None

    def __str__(self) -> str:
        where = "       ?" if self.module_offset is None else f"{self.module_offset:#8x}"
        module = self.module_name if self.module_name is not None else "<unknown>"
        name = (self.func_name if self.func_name is not None
                else f"<wasm function {self.func_index}>")
        return f"{where} - {module}!{name}"


class Trap(Exception):
    """A WebAssembly trap. `trap_code` is a TrapCode, or None for a trap made by a host
    function (``Trap("message")``). `frames` is the wasm backtrace, a list of Frame (innermost
    first). `message` is the trap's reason; ``str(trap)`` adds the backtrace as wasmtime does."""

    def __init__(self, message: str | None = None, trap_code: TrapCode | None = None,
                 frames: list[Frame] | None = None) -> None:
        if message is None:
            message = TRAP_MESSAGES.get(trap_code, "trap") if trap_code is not None else "trap"
        self.message = message
        self.trap_code = trap_code
        self.frames: list[Frame] = frames or []
        super().__init__(message)

    def __str__(self) -> str:
        if not self.frames:
            return self.message
        trace = "".join(f"  {i:>3}: {f}\n" for i, f in enumerate(self.frames))
        cause = self.message
        if self.trap_code is not None:
            cause = "wasm trap: " + _WASMTIME_CAUSES.get(self.trap_code, self.message)
        return f"error while executing at wasm backtrace:\n{trace}\nCaused by:\n    {cause}\n"

    def __repr__(self) -> str:
        code = "" if self.trap_code is None else f", TrapCode.{self.trap_code.name}"
        return f"Trap({self.message!r}{code})"


class ExitTrap(Trap, WasmError):
    """WASI proc_exit: the guest asked to exit with status `code` (wasmtime-py's ExitTrap, a
    WasmtimeError). A Trap too, so that it unwinds through host and wasm frames unchanged."""

    def __init__(self, code: int) -> None:
        self.code = code
        super().__init__(f"Exited with i32 exit status {code}")


class ThrownException(Trap, WasmError):
    """A WebAssembly exception (exception handling) that left the wasm code that threw it:
    `exn` is the exception object (engine.runtime.exn.ExnRef: its tag and payload), as
    wasmtime's ThrownException with the store's pending exception. A Trap without a trap code
    as wasmtime-py raises for it ("thrown Wasm exception"), so `except Trap` code keeps working.
    A host function raises one (``raise ThrownException(ExnRef(store, tag, [1]))``) to throw
    into the wasm code that called it, where try_table may catch it."""

    def __init__(self, exn: object) -> None:
        self.exn = exn
        super().__init__("thrown Wasm exception")

    def __repr__(self) -> str:
        return f"ThrownException({self.exn!r})"
