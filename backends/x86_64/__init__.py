"""The x86_64 backend: lowering (isel), shared register allocation, emission, Keystone assembly."""

from __future__ import annotations

import functools

from ..base import CompiledCode, ModuleInfo, TargetDesc, register
from ..module_compile import ModuleCompiler
from .emit import FunctionEmitter, SpillMoves, assemble, frame_for
from .isel import Lowering
from .target import TARGET
from .trampolines import common_stubs, entry_trampoline, exit_trampoline

__all__ = ["X86_64Backend", "host_features"]


@functools.cache
def host_features() -> frozenset[str]:
    """ISA extensions of this CPU that the backend uses (from the kernel's cpuid report)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    out = set()
                    if "sse4_1" in flags:
                        out.add("sse4.1")
                    if "popcnt" in flags:
                        out.add("popcnt")
                    if "abm" in flags or "lzcnt" in flags:
                        out.add("lzcnt")
                    if "bmi1" in flags:
                        out.add("bmi1")
                    return frozenset(out)
    except OSError:
        pass
    return frozenset()


#: what Unicorn's x86_64 executes (measured), for code meant to run emulated
EMULATOR_FEATURES = frozenset({"sse4.1", "popcnt", "lzcnt", "bmi1"})


class X86_64Backend(ModuleCompiler):
    """Compiles IR functions of one module to x86_64 machine code."""

    target: TargetDesc = TARGET

    def __init__(self, features: frozenset[str] | None = None) -> None:
        self.features = host_features() if features is None else features

    def new_lowering(self, func, info: ModuleInfo) -> Lowering:
        return Lowering(func, info, self.features)

    def spill_moves(self) -> SpillMoves:
        return SpillMoves()

    def render(self, mf, lowering: Lowering, info: ModuleInfo) -> list[str]:
        frame = frame_for(mf, lowering.outgoing)
        return FunctionEmitter(mf, frame, lowering.traps, info.offsets).render()

    def common_stubs(self) -> list[str]:
        return common_stubs()

    def entry_trampoline(self, name: str, params: tuple, results: tuple,
                         mem0: int | None) -> list[str]:
        return entry_trampoline(name, params, results, mem0)

    def exit_trampoline(self, name: str, params: tuple, results: tuple) -> list[str]:
        return exit_trampoline(name, params, results)

    def assemble(self, parts: list[str], symbols: list[str]) -> CompiledCode:
        return assemble(parts, symbols, "x86_64", self.features)


register("x86_64", X86_64Backend)
