"""What a runtime helper raised, as the status machine code sees (both machines), and the
exception a call into machine code ends with: a Trap, or a wasm exception that no handler
caught (vmctx.EXCEPTION: its record in the store context)."""

from __future__ import annotations

from typing import Any

from ..environ import vmctx as V
from ..errors import ThrownException, Trap, TrapCode, WasmError
from ..runtime.exn import thrown_exn
from .space import read_u64, write_u64

#: the status of a helper that raised something other than a Trap or a wasm exception (the
#: exception is kept as the machine's `pending` and raised by its call)
HOST_EXCEPTION = 254


def helper_status(machine: Any, e: BaseException) -> int:
    """The status a helper that raised `e` returns to machine code (trap code + 1): a wasm
    exception of the machine's store becomes the pending exception (it unwinds to a handler
    in machine code); anything else is kept in machine.pending."""
    if isinstance(e, ThrownException):
        try:
            exn = thrown_exn(e, machine.state)
        except WasmError as bad:
            e = bad
        else:
            write_u64(machine.space, machine.state + V.STATE_EXN, exn.record)
            return V.EXCEPTION + 1
    machine.pending = e
    if isinstance(e, Trap) and e.trap_code is not None:
        return int(e.trap_code) + 1
    return HOST_EXCEPTION + 1


def raise_pending(machine: Any) -> None:
    """Raise (once) what a helper of `machine` kept for the end of the call (helper_status;
    TIER_UP, which cannot trap, keeps what it raised there too)."""
    pending, machine.pending = machine.pending, None
    if pending is not None:
        raise pending


def end_of_call(machine: Any, code: int) -> BaseException:
    """What a call that machine code left with trap code `code` raises: the wasm exception
    still pending (taken from the store context), or the Trap."""
    if code == V.EXCEPTION:
        addr = read_u64(machine.space, machine.state + V.STATE_EXN)
        write_u64(machine.space, machine.state + V.STATE_EXN, 0)
        return ThrownException(machine.exn_at(addr))
    return Trap(trap_code=TrapCode(code))
