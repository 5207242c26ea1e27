"""SIMD for targets without vector registers, written once for all of them: an IR-to-IR
legalisation (legalise.py) that turns every v128 value into two i64 halves and every SIMD
opcode into scalar IR (rules.py over swar.py, lanes.py, ints.py, floats.py), which the
target's ordinary scalar lowering then compiles. A backend opts in with
`ModuleCompiler.scalar_simd`; its trampolines see v128 parameters and results as two i64."""

from __future__ import annotations

from .legalise import legal_types, legalise_function, uses_v128

__all__ = ["legal_types", "legalise_function", "uses_v128"]
