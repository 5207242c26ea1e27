"""The riscv64 backend: lowering (isel), shared register allocation, emission, and ``asm``, its
assembler (GNU-syntax RV64IMFD+Zicsr text to machine code; Keystone has no RISC-V)."""

from __future__ import annotations

from ..base import CompiledCode, ModuleInfo, TargetDesc, register
from ..module_compile import ModuleCompiler
from .asm import AsmError, Assembled, RelocKind, Relocation, apply_relocation, assemble
from .emit import FunctionEmitter, SpillMoves, frame_for
from .emit import assemble as assemble_module
from .isel import Lowering
from .target import TARGET
from .trampolines import common_stubs, entry_trampoline, exit_trampoline

__all__ = ["AsmError", "Assembled", "RelocKind", "Relocation", "RiscV64Backend",
           "apply_relocation", "assemble"]


class RiscV64Backend(ModuleCompiler):
    """Compiles IR functions of one module to riscv64 (RV64IMFD) machine code."""

    target: TargetDesc = TARGET

    def __init__(self, features: frozenset[str] | None = None) -> None:
        self.features = frozenset() if features is None else features

    def new_lowering(self, func, info: ModuleInfo) -> Lowering:
        return Lowering(func, info)

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
        return assemble_module(parts, symbols, self.features)


register("riscv64", RiscV64Backend)
