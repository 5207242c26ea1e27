"""The riscv64 assembler against GNU as: the same programs, byte for byte.

Needs ``riscv64-linux-gnu-as``/``-ld``/``-objcopy`` (Debian: binutils-riscv64-linux-gnu); the
tests skip, saying so, when they are not installed. GNU's output is linked (``--no-relax``) at
the same base with the external symbols defined, and compared with ``Assembled.link``: that
checks the code, the resolution of local references and the relocation records at once.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from backends.riscv64 import assemble

from .asm_cases import cascade_program, li_values, pseudo_cases, real_cases, relaxation_program

_TOOLS = {name: shutil.which(f"riscv64-linux-gnu-{name}") for name in ("as", "ld", "objcopy")}
pytestmark = pytest.mark.skipif(
    not all(_TOOLS.values()),
    reason="GNU riscv64 binutils not installed (apt-get install binutils-riscv64-linux-gnu)")

BASE = 0x10000
MARCH = "rv64imfd_zicsr_zifencei"


def gnu_assemble(text: str, tmp: Path, base: int = BASE,
                 symbols: dict[str, int] | None = None) -> bytes:
    """Assemble and link ``text`` with GNU binutils; the .text bytes at ``base``."""
    src, obj, elf, out = tmp / "prog.s", tmp / "prog.o", tmp / "prog.elf", tmp / "prog.bin"
    src.write_text(text + "\n")
    subprocess.run([_TOOLS["as"], f"-march={MARCH}", "-mabi=lp64d", "-mno-relax", "-o", obj, src],
                   check=True, capture_output=True, text=True)
    defsyms = [f"--defsym={name}={value:#x}" for name, value in (symbols or {}).items()]
    subprocess.run([_TOOLS["ld"], "--no-relax", f"-Ttext={base:#x}", f"-e{base:#x}", *defsyms,
                    "-o", elf, obj], check=True, capture_output=True, text=True)
    subprocess.run([_TOOLS["objcopy"], "-O", "binary", "-j", ".text", elf, out],
                   check=True, capture_output=True, text=True)
    return out.read_bytes()


def compare(text: str, tmp: Path, symbols: dict[str, int] | None = None,
            case_labels: dict[int, str] | None = None) -> None:
    mine = assemble(text, BASE)
    code = mine.link(symbols or {})
    gnu = gnu_assemble(text, tmp, BASE, symbols)
    # GNU pads the end of the section to its alignment; anything beyond our code must be that.
    assert len(gnu) >= len(code) and len(gnu) - len(code) < 16
    assert set(gnu[len(code):]) <= {0x00, 0x01, 0x13}
    if code == gnu[:len(code)]:
        return
    at = next(i for i in range(len(code)) if code[i] != gnu[i]) & ~3
    where = ""
    if case_labels:
        owner = max((off for off in case_labels if off <= at), default=None)
        where = f" in {case_labels[owner]!r}" if owner is not None else ""
    pytest.fail(f"first difference at {at:#x}{where}: ours {code[at:at + 4].hex()} "
                f"GNU {gnu[at:at + 4].hex()}")


def _labelled(sources: list[str]) -> tuple[str, dict[str, str]]:
    """One program of many cases, each after a label naming it."""
    lines, names = [], {}
    for n, source in enumerate(sources):
        names[f".Lcase{n}"] = source
        lines.append(f".Lcase{n}:")
        lines.append(source)
    return "\n".join(lines), names


def _compare_cases(sources: list[str], tmp: Path) -> None:
    text, names = _labelled(sources)
    symbols = assemble(text).symbols
    compare(text, tmp, case_labels={symbols[label]: src for label, src in names.items()})


def test_every_real_instruction_form(tmp_path: Path) -> None:
    sources = [c.source for c in real_cases() if c.gnu]
    assert len(sources) > 1500
    _compare_cases(sources, tmp_path)


def test_every_pseudo_instruction(tmp_path: Path) -> None:
    sources = []
    for n, case in enumerate(pseudo_cases()):
        if case.gnu:  # make the short labels unique across cases
            sources.append(re.sub(r"\b([LMK])\b", rf"\g<1>{n}", case.source))
    _compare_cases(sources, tmp_path)


def test_li_sequences(tmp_path: Path) -> None:
    values = li_values(600, seed=99)
    sources = [f"li x{5 + n % 27}, {v if v < 0 else hex(v)}" for n, v in enumerate(values)]
    _compare_cases(sources, tmp_path)


@pytest.mark.parametrize("gap", [4000, 4084, 4088, 4092, 5000, 100_000])
def test_branch_relaxation(gap: int, tmp_path: Path) -> None:
    compare(relaxation_program(gap), tmp_path)


def test_relaxation_cascade(tmp_path: Path) -> None:
    compare(cascade_program(), tmp_path)


def test_external_symbols_and_relocations(tmp_path: Path) -> None:
    text = """
        call helper
        call a0, helper
        tail other + 16
        la a0, table
        lla a1, table + 0x7ff
        lui a1, %hi(gvar)
        addi a1, a1, %lo(gvar)
        sw a2, %lo(gvar)(a1)
        ld a3, gvar
        fsd fa0, gvar, t2
    1:  auipc a4, %pcrel_hi(table - 8)
        lw a4, %pcrel_lo(1b)(a4)
        .p2align 3
        .dword helper + 4
        .word table
    """
    symbols = {"helper": 0x7FFF0000, "other": 0x9000, "table": 0x12345678, "gvar": 0x2468ACE,
               "gvar2": 0x10000}
    compare(text, tmp_path, symbols)


def test_data_alignment_and_local_references(tmp_path: Path) -> None:
    text = """
    start:
        la a0, data
        lui a1, %hi(data)
        addi a1, a1, %lo(data)
        ld a2, %lo(data)(a1)
        lw a3, data + 4
        fld fa0, data, t0
        sw a3, data, t1
        call start
        tail data
        j 1f
        .byte 1, 2, 3
        .p2align 3
    1:  nop
        .half 0x1234, -1
        .p2align 4, 0x5a
        .byte 7
        .balign 16
    data:
        .dword start, data - start
        .word 0x12345678, data
        .zero 5
        .space 3, 0xee
        .2byte 2
        .4byte 4
        .8byte 8
        .quad -8
        .equ SIZE, 24
        .short SIZE * 2
    """
    compare(text, tmp_path)
