"""Shared helpers of the aarch64 backend tests: run modes (Unicorn everywhere, native on an
aarch64 host) and a helper that compiles IR text into a Harness for aarch64."""

from __future__ import annotations

import platform

from engine.exec.harness import Harness, HarnessSpec
from engine.ir.parser import parse_functions

NATIVE = platform.machine().lower() in ("aarch64", "arm64")
MODES = ["native", "unicorn"] if NATIVE else ["unicorn"]


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
