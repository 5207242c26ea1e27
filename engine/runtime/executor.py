"""The executor interface: what runs a defined wasm function of an instance. The runtime (store
objects, instantiation, the Python API) stays the same whichever executor a Config selects;
the IR interpreter is the first implementation, machine-code backends plug in the same way."""

from __future__ import annotations

import platform
from typing import TYPE_CHECKING, Any, Protocol, Sequence

from ..errors import WasmError

if TYPE_CHECKING:
    from ..engine import Engine
    from .instance import Instance


class Executor(Protocol):
    """Runs defined functions. Values cross in the runtime's internal form (see values.py)."""

    def prepare(self, instance: Instance) -> None:
        """Called once per instance before any of its code runs (compile, bind, allocate)."""

    def call(self, instance: Instance, func_index: int, args: Sequence[Any]) -> Sequence[Any]:
        """Run function `func_index` (a defined function of `instance`); return its results.
        Raises Trap for a trap (with a backtrace)."""


def host_target() -> str:
    machine = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)


def executor_for(engine: Engine) -> Executor:
    """The executor an Engine's Config selects (one per engine, shared by its instances)."""
    state = engine._state
    ex = getattr(state, "executor", None)
    if ex is not None:
        return ex
    strategy = engine.settings.get("strategy")
    if strategy == "interpreter":
        from ..ir.interp import Interpreter
        ex = Interpreter(engine)
    elif strategy == "compiler":
        from ..exec.compiled import CompiledExecutor
        ex = CompiledExecutor(engine)
    else:
        raise WasmError(f"unknown execution strategy {strategy!r}")
    state.executor = ex
    return ex
