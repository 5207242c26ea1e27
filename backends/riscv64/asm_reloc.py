"""Relocation records of assembled riscv64 code, and how to apply one once a symbol's address
is known. Fields to be relocated are left zero in the code (RELA style: the addend is in the
record), as GNU as does."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .asm_error import AsmError
from .asm_isa import hi_lo, imm_i, imm_s

_U_KEEP, _I_KEEP, _S_KEEP = 0x00000FFF, 0x000FFFFF, 0x01FFF07F


class RelocKind(enum.Enum):
    """What a relocation patches and how its value is computed (S = symbol address,
    A = addend, P = address of the relocated instruction, H = address of the paired auipc)."""

    CALL = "call"                  # auipc+jalr pair at P: S + A - P split hi20/lo12 (R_RISCV_CALL)
    PCREL_HI20 = "pcrel_hi20"      # auipc at P: hi20 of S + A - P
    PCREL_LO12_I = "pcrel_lo12_i"  # I-type at P: lo12 of S + A - H
    PCREL_LO12_S = "pcrel_lo12_s"  # S-type at P: lo12 of S + A - H
    HI20 = "hi20"                  # lui at P: hi20 of S + A
    LO12_I = "lo12_i"              # I-type at P: lo12 of S + A
    LO12_S = "lo12_s"              # S-type at P: lo12 of S + A
    ABS32 = "abs32"                # 4 data bytes: S + A
    ABS64 = "abs64"                # 8 data bytes: S + A


@dataclass(slots=True, frozen=True)
class Relocation:
    """A reference to a symbol the assembled text does not define.

    ``offset`` is the byte offset of the patched instruction (of the auipc, for CALL) or data
    from the start of the code; ``hi_offset`` is, for PCREL_LO12_*, the offset of the auipc whose
    pc the low part is relative to (None otherwise)."""

    kind: RelocKind
    offset: int
    symbol: str
    addend: int = 0
    hi_offset: int | None = None


def _word(code: bytearray, at: int) -> int:
    return int.from_bytes(code[at:at + 4], "little")


def _put(code: bytearray, at: int, word: int) -> None:
    code[at:at + 4] = word.to_bytes(4, "little")


def apply_relocation(code: bytearray, base: int, reloc: Relocation, address: int) -> None:
    """Patch ``code`` (placed at ``base``) in place for ``reloc``, whose symbol is at ``address``.

    Raises AsmError if the value does not fit the relocated field."""
    off, kind = reloc.offset, reloc.kind
    value = address + reloc.addend
    if kind is RelocKind.ABS64:
        code[off:off + 8] = (value & ((1 << 64) - 1)).to_bytes(8, "little")
        return
    if kind is RelocKind.ABS32:
        if not -(1 << 31) <= value < (1 << 32):
            raise AsmError(f"{reloc.symbol}: {value:#x} does not fit a 32-bit data word")
        code[off:off + 4] = (value & 0xFFFFFFFF).to_bytes(4, "little")
        return
    try:
        if kind is RelocKind.CALL or kind is RelocKind.PCREL_HI20:
            hi, lo = hi_lo(value - (base + off))
            _put(code, off, (_word(code, off) & _U_KEEP) | hi << 12)
            if kind is RelocKind.CALL:
                _put(code, off + 4, (_word(code, off + 4) & _I_KEEP) | imm_i(lo))
        elif kind is RelocKind.HI20:
            _put(code, off, (_word(code, off) & _U_KEEP) | hi_lo(value)[0] << 12)
        else:
            if kind is RelocKind.PCREL_LO12_I or kind is RelocKind.PCREL_LO12_S:
                if reloc.hi_offset is None:
                    raise AsmError(f"{kind.name} relocation without hi_offset")
                value -= base + reloc.hi_offset
            lo = hi_lo(value)[1]
            if kind is RelocKind.PCREL_LO12_S or kind is RelocKind.LO12_S:
                _put(code, off, (_word(code, off) & _S_KEEP) | imm_s(lo))
            else:
                _put(code, off, (_word(code, off) & _I_KEEP) | imm_i(lo))
    except AsmError as exc:
        raise AsmError(f"relocation {kind.name} against {reloc.symbol} at {off:#x}: {exc}") from None
