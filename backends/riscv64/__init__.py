"""The riscv64 backend: lowering (isel), shared register allocation, emission, and ``asm``, its
assembler (GNU-syntax RV64IMFD+Zicsr text to machine code; Keystone has no RISC-V)."""

from __future__ import annotations

from typing import Callable

from ..base import CompiledCode, TargetDesc
from ..module_compile import ModuleCompiler
from . import emit, isel, trampolines
from .asm import AsmError, Assembled, RelocKind, Relocation, apply_relocation, assemble
from .target import TARGET

__all__ = ["AsmError", "Assembled", "RelocKind", "Relocation", "RiscV64Backend",
           "apply_relocation", "assemble"]


class RiscV64Backend(ModuleCompiler):
    """Compiles IR functions of one module to riscv64 (RV64IMFD) machine code."""

    target: TargetDesc = TARGET
    isel = isel
    emit = emit
    trampolines = trampolines
    #: SIMD through the shared scalar legalisation (RV64GC has no vector registers to assume)
    scalar_simd = True

    def __init__(self, features: frozenset[str] | None = None) -> None:
        self.features = frozenset() if features is None else features

    def text_start(self, nsymbols: int) -> int:
        return 0        # the assembler reports symbols itself

    def relocatable_function(self, piece: str, name: str, resolve: Callable[[str], int]
                             ) -> tuple[int, Callable[[int], bytes]]:
        return emit.relocatable_function(piece, name, resolve)

    def assemble(self, parts: list[str], symbols: list[str]) -> CompiledCode:
        return emit.assemble(parts, symbols, self.features)

