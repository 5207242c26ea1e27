"""The riscv64 backend. ``asm`` is its assembler: GNU-syntax RV64IMFD+Zicsr text to machine code."""

from .asm import AsmError, Assembled, RelocKind, Relocation, apply_relocation, assemble

__all__ = ["AsmError", "Assembled", "RelocKind", "Relocation", "apply_relocation", "assemble"]
