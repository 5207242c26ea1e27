"""The aarch64 backend: lowering (isel), shared register allocation, emission, Keystone assembly.
Code runs natively on aarch64 hosts and under Unicorn everywhere."""

from __future__ import annotations

from typing import Callable

from engine.environ.module_info import ModuleInfo
from ..base import CompiledCode, TargetDesc
from ..module_compile import ModuleCompiler
from . import emit, isel, trampolines
from .target import TARGET

__all__ = ["AArch64Backend"]


class AArch64Backend(ModuleCompiler):
    """Compiles IR functions of one module to A64 machine code."""

    target: TargetDesc = TARGET
    isel = isel
    emit = emit
    trampolines = trampolines

    def __init__(self, features: frozenset[str] | None = None) -> None:
        self.features = features or frozenset()

    def simd_missing(self) -> str | None:
        """None: NEON (Advanced SIMD) is part of every ARMv8-A core, so v128 and every SIMD
        opcode compile for any aarch64 CPU (isel_simd.py)."""
        return None

    def relocatable_function(self, piece: str, name: str, resolve: Callable[[str], int]
                             ) -> tuple[int, Callable[[int], bytes]]:
        code = emit.assemble_function(piece, name, resolve)
        return len(code), lambda address: code

    def assemble(self, parts: list[str], symbols: list[str]) -> CompiledCode:
        code = emit.assemble(parts, symbols)
        code.features = self.features
        return code

