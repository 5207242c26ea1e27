"""Shared helpers of the riscv64 backend tests: compile IR text for riscv64 into a Harness
(run under Unicorn) or to assembly text."""

from __future__ import annotations

from engine.exec.harness import Harness, HarnessSpec
from engine.ir.parser import parse_functions

#: where riscv64 code runs: Unicorn only (no native riscv64 execution in engine.exec)
MODES = ["unicorn"]


def build(text: str, mode: str = "unicorn", spec: HarnessSpec | None = None) -> Harness:
    return Harness(parse_functions(text), spec, emulate=(mode == "unicorn"), target="riscv64")


def assembly(text: str) -> str:
    """The assembly the riscv64 backend emits for IR text (for checking instruction choice)."""
    from backends.base import ModuleInfo
    from backends.riscv64 import RiscV64Backend
    from engine.runtime.vmctx import VMOffsets
    funcs = parse_functions(text)
    info = ModuleInfo(VMOffsets(1, 0, 0, 0, 0), [(tuple(f.params), tuple(f.results))
                                                 for f in funcs])
    backend = RiscV64Backend()
    return "\n".join(line for f in funcs for line in backend.compile_function(f, info))
