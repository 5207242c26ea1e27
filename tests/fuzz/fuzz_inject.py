"""Deliberate bugs for tests/fuzz/test_catches_bug.py, installed in the fuzzer's worker processes
(OraclePool's worker_init) and nowhere else."""

from __future__ import annotations

X86_ORACLES = ("x86_64", "emu-x86_64")


def x86_sub_is_add(oracle: str) -> None:
    """x86_64 instruction selection lowers isub to `add` (a + b instead of a - b)."""
    if oracle in X86_ORACLES:
        from backends.x86_64 import isel
        from engine.ir.ir import Opcode
        isel._ALU[Opcode.ISUB] = "add"


def interp_sub_is_add(oracle: str) -> None:
    """The IR interpreter computes isub as a + b."""
    if oracle == "interp":
        from engine.exec import interp
        interp._INT_BIN[interp.O.ISUB] = "+"


def interp_xor_is_or(oracle: str) -> None:
    """The IR interpreter computes bxor as a | b (leaves loop counters alone: smith's fuel
    counters subtract, so an isub bug only makes its modules time out)."""
    if oracle == "interp":
        from engine.exec import interp
        interp._BITWISE[interp.O.BXOR] = "|"
