"""The exceptions polyjit raises: WasmError for bad input of any kind, Trap for wasm traps."""

from __future__ import annotations

import enum


class WasmError(Exception):
    """Base of every error polyjit raises for bad input (mirrors wasmtime's WasmtimeError)."""


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


class Trap(Exception):
    """A WebAssembly trap. `trap_code` is a TrapCode, or None for a trap raised by a host function."""

    def __init__(self, message: str | None = None, trap_code: TrapCode | None = None,
                 frames: list[str] | None = None) -> None:
        if message is None:
            message = TRAP_MESSAGES.get(trap_code, "trap") if trap_code is not None else "trap"
        self.message = message
        self.trap_code = trap_code
        self.frames = frames or []
        super().__init__(message)

    def __str__(self) -> str:
        if not self.frames:
            return self.message
        trace = "\n".join(f"  {i}: {name}" for i, name in enumerate(self.frames))
        return f"{self.message}\nwasm backtrace:\n{trace}"


class ExitTrap(Trap, WasmError):
    """WASI proc_exit: the guest asked to exit with status `code` (wasmtime-py's ExitTrap, a
    WasmtimeError). A Trap too, so that it unwinds through host and wasm frames unchanged."""

    def __init__(self, code: int) -> None:
        self.code = code
        super().__init__(f"Exited with i32 exit status {code}")
