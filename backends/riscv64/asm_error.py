"""The riscv64 assembler's error type (an internal compiler error, not bad user input)."""

from __future__ import annotations


class AsmError(Exception):
    """Assembly text the riscv64 assembler cannot encode.

    The backend generates the text, so this signals a bug in polyjit, not a bad module;
    it is deliberately not a WasmError. The message names the line and what is wrong.
    """
