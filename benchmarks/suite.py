"""The benchmark programs: the kernels in kernels/*.wat and the generated large program, with
the problem sizes each is run at."""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from pathlib import Path

from .gen_large import LargeSpec, generate

KERNEL_DIR = Path(__file__).resolve().parent / "kernels"


class Size(enum.Enum):
    """Which problem size a run uses."""

    FULL = "full"      # wasmtime takes about 0.05-0.2 s per run: for machine code
    SMALL = "small"    # for the IR interpreter and emulated targets (far slower)
    SHORT = "short"    # CI: checksums only


@dataclass(slots=True, frozen=True)
class Program:
    """One benchmark: its WAT source, what it measures and its n per Size. Its export
    ``run(n: i32)`` returns a checksum of `result_bits` bits."""

    name: str
    what: str
    full: int
    small: int
    short: int
    result_bits: int = 64

    def n(self, size: Size) -> int:
        return {Size.FULL: self.full, Size.SMALL: self.small, Size.SHORT: self.short}[size]

    def source(self) -> str:
        if self.name == LARGE_NAME:
            return generate(LargeSpec())
        return (KERNEL_DIR / f"{self.name}.wat").read_text(encoding="utf-8")

    def wasm(self) -> bytes:
        return _binary(self.name)

    def normalise(self, value: int) -> int:
        """A result as an unsigned integer of the program's width (runtimes return signed)."""
        return int(value) & ((1 << self.result_bits) - 1)


LARGE_NAME = "large"

KERNELS: tuple[Program, ...] = (
    Program("fib", "recursive calls: fib(n)", 32, 22, 12, result_bits=32),
    Program("xorshift", "i64 shl/shr/xor/mul/add/rotl loop", 10_000_000, 100_000, 1000),
    Program("sieve", "sieve of Eratosthenes over memory bytes", 8_000_000, 100_000, 1000),
    Program("matmul", "f64 n x n matrix multiply", 250, 30, 6),
    Program("nbody", "five-body simulation, f64 with sqrt", 300_000, 500, 10),
    Program("bytecopy", "load8_u/store8 copy of a 4 KiB buffer, n passes", 8000, 20, 2),
    Program("callind", "call_indirect over 8 functions", 6_000_000, 60_000, 1000),
    # SIMD kernels, built from C with clang -msimd128 (kernels/simd/BUILD.md)
    Program("bytecount", "SIMD memchr-like scan: i8x16.eq counts over 64 KiB", 20_000, 1, 1),
    Program("saxpy", "SIMD f32x4 saxpy and dot product over 4096 floats", 50_000, 1, 1),
    Program("blur16", "SIMD i16x8 3x3 blur of a 128 x 128 8-bit image", 10_000, 1, 1),
)

LARGE = Program(LARGE_NAME, f"generated program, {LargeSpec().functions} functions + CRC/Adler/FNV",
                2000, 10, 2)

PROGRAMS: dict[str, Program] = {p.name: p for p in KERNELS + (LARGE,)}


@functools.lru_cache(maxsize=None)
def _binary(name: str) -> bytes:
    """The program's binary, converted once."""
    return to_binary(PROGRAMS[name].source())


def to_binary(text: str) -> bytes:
    """WAT to wasm by wasmtime's parser when it is installed (so both runtimes get the same bytes
    and polyjit's text parser is not on trial here), else by polyjit's."""
    try:
        import wasmtime
    except ImportError:
        from engine.text import wat2wasm
        return wat2wasm(text)
    return wasmtime.wat2wasm(text)
