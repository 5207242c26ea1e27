"""Shared helpers of the aarch64 backend tests: run modes and helpers that compile IR text for
aarch64 (into a Harness, or to assembly text)."""

from __future__ import annotations

from engine.exec.harness import Harness, HarnessSpec
from engine.ir.parser import parse_functions

#: where aarch64 code runs: Unicorn only (engine.exec.native's helper stubs are x86_64 code, so
#: native runs on aarch64 hosts are not available yet; Harness refuses them)
MODES = ["unicorn"]


def build(text: str, mode: str = "unicorn", spec: HarnessSpec | None = None) -> Harness:
    return Harness(parse_functions(text), spec, emulate=(mode == "unicorn"), target="aarch64")


def assembly(text: str) -> str:
    """The assembly the aarch64 backend emits for IR text (for checking instruction choice)."""
    from backends.aarch64 import AArch64Backend
    from backends.base import ModuleInfo
    from engine.runtime.vmctx import VMOffsets
    funcs = parse_functions(text)
    info = ModuleInfo(VMOffsets(1, 0, 0, 0, 0), [(tuple(f.params), tuple(f.results))
                                                 for f in funcs])
    backend = AArch64Backend()
    return "\n".join(line for f in funcs for line in backend.compile_function(f, info))
