"""The aarch64 backend: lowering (isel), shared register allocation, emission, Keystone assembly.
Code runs natively on aarch64 hosts and under Unicorn everywhere."""

from __future__ import annotations

from ..base import CompiledCode, ModuleInfo, TargetDesc, register
from ..module_compile import ModuleCompiler
from .emit import FunctionEmitter, SpillMoves, assemble, frame_for
from .isel import Lowering
from .target import TARGET
from .trampolines import common_stubs, entry_trampoline, exit_trampoline

__all__ = ["AArch64Backend"]


class AArch64Backend(ModuleCompiler):
    """Compiles IR functions of one module to A64 machine code."""

    target: TargetDesc = TARGET

    def __init__(self, features: frozenset[str] | None = None) -> None:
        self.features = features or frozenset()

    def new_lowering(self, func, info: ModuleInfo) -> Lowering:
        return Lowering(func, info)

    def spill_moves(self) -> SpillMoves:
        return SpillMoves()

    def render(self, mf, lowering: Lowering, info: ModuleInfo) -> list[str]:
        frame = frame_for(mf, lowering.outgoing)
        return FunctionEmitter(mf, frame, lowering.traps, info.offsets,
                               lowering.uses_heap).render()

    def common_stubs(self) -> list[str]:
        return common_stubs()

    def entry_trampoline(self, name: str, params: tuple, results: tuple,
                         mem0: int | None) -> list[str]:
        # no heap base to set up: a function's prologue loads x27 when it uses memory 0
        return entry_trampoline(name, params, results)

    def exit_trampoline(self, name: str, params: tuple, results: tuple) -> list[str]:
        return exit_trampoline(name, params, results)

    def assemble(self, parts: list[str], symbols: list[str]) -> CompiledCode:
        code = assemble(parts, symbols)
        code.features = self.features
        return code


register("aarch64", AArch64Backend)
