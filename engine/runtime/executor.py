"""The executor interface: what runs a defined wasm function of an instance. The runtime (store
objects, instantiation, the Python API) stays the same whichever executor a Config selects:
the IR interpreter, or machine code natively or under Unicorn (engine.exec). The Engine (an
API object) chooses one per engine; the runtime reaches it through the engine's state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, Sequence

from ..compile.environment import EngineState

if TYPE_CHECKING:
    from .instance import Instance


class Executor(Protocol):
    """Runs defined functions. Values cross in the runtime's internal form (see values.py)."""

    def prepare(self, instance: Instance) -> None:
        """Called once per instance before any of its code runs (compile, bind, allocate)."""

    def call(self, instance: Instance, func_index: int, args: Sequence[Any]) -> Sequence[Any]:
        """Run function `func_index` (a defined function of `instance`); return its results.
        Raises Trap for a trap (with a backtrace)."""

    def tls_initialize(self) -> None:
        """Set up the calling thread's state now rather than at its first call."""


def executor_for(state: EngineState) -> Executor:
    """The executor of an engine (one per engine, shared by its stores and instances)."""
    return state.executor
