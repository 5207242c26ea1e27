"""The ``li`` pseudo-instruction: the sequence GNU as emits to load a 64-bit constant on RV64.

A 12-bit value is one ``addi rd, zero, imm``. A sign-extended 32-bit value is ``lui`` and/or
``addiw``. A wider value is split into a signed low 12 bits and an upper part; the upper part,
shifted right past its trailing zeros, is built recursively and then ``slli`` back into place,
followed by ``addi`` of the low part when it is not zero.
"""

from __future__ import annotations

from .asm_error import AsmError

_MASK64 = (1 << 64) - 1


def _sext12(value: int) -> int:
    return ((value & 0xFFF) ^ 0x800) - 0x800


def _to_signed64(value: int) -> int:
    return value - (1 << 64) if value >= (1 << 63) else value


def li_sequence(value: int) -> list[tuple[str, int]]:
    """The instructions that load ``value`` (a signed or unsigned 64-bit integer) into a
    register, as ``(mnemonic, immediate)`` pairs: ``lui`` (20-bit field value), ``addiw``/
    ``addi`` (source ``zero`` for the first instruction, the register itself after), ``slli``."""
    if not -(1 << 63) <= value <= _MASK64:
        raise AsmError(f"li: {value:#x} does not fit in 64 bits")
    value = _to_signed64(value & _MASK64)
    if -2048 <= value < 2048:
        return [("addi", value)]
    out: list[tuple[str, int]] = []
    _load_const(value, out)
    return out


def _load_const(value: int, out: list[tuple[str, int]]) -> None:
    lower = _sext12(value)
    upper = _to_signed64((value - lower) & _MASK64)  # wraps as GNU as's 64-bit arithmetic
    if not -(1 << 31) <= value < (1 << 31):
        shift = 12
        while not (upper >> shift) & 1:
            shift += 1
        _load_const(upper >> shift, out)
        out.append(("slli", shift))
        if lower:
            out.append(("addi", lower))
        return
    started = False
    if upper:
        out.append(("lui", (upper >> 12) & 0xFFFFF))
        started = True
    if lower or not started:
        out.append(("addiw", lower))
