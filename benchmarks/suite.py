"""The benchmark programs, with the problem sizes each is run at: the hand-written kernels in
kernels/*.wat, the loop-nest kernels in C (kernels/c/*.c, built to kernels/c/*.wasm by
kernels/c/build.sh), two real WASI programs running a workload (wasi_programs.py) and the
generated large program."""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from pathlib import Path

from .gen_large import LargeSpec, generate
from .wasi_programs import WORKLOADS, WasiWorkload

KERNEL_DIR = Path(__file__).resolve().parent / "kernels"
C_DIR = KERNEL_DIR / "c"


class Kind(enum.Enum):
    """Where a program's binary comes from and how it is run."""

    WAT = "wat"        # kernels/NAME.wat (or the generated large program); export run(n)
    C = "c"            # kernels/c/NAME.wasm, built from NAME.c; export run(n)
    WASI = "wasi"      # a real wasm32-wasi program; _start runs a workload of size n


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
    kind: Kind = Kind.WAT

    @property
    def workload(self) -> WasiWorkload | None:
        """The WASI run (argv, stdin, files) of a Kind.WASI program, else None."""
        return WORKLOADS[self.name] if self.kind is Kind.WASI else None

    def n(self, size: Size) -> int:
        return {Size.FULL: self.full, Size.SMALL: self.small, Size.SHORT: self.short}[size]

    def source(self) -> str:
        """The WAT text of a Kind.WAT program."""
        if self.kind is not Kind.WAT:
            raise ValueError(f"{self.name} is a {self.kind.value} program, it has no WAT source")
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
    Program("bulkmem", "small memory.copy (overlapping) and memory.fill calls", 2_000_000,
            20_000, 100),
    # SIMD kernels, built from C with clang -msimd128 (kernels/simd/BUILD.md)
    Program("bytecount", "SIMD memchr-like scan: i8x16.eq counts over 64 KiB", 20_000, 1, 1),
    Program("saxpy", "SIMD f32x4 saxpy and dot product over 4096 floats", 50_000, 1, 1),
    Program("blur16", "SIMD i16x8 3x3 blur of a 128 x 128 8-bit image", 10_000, 1, 1),
)

#: PolyBench-kind loop nests in C (kernels/c), n is the matrix or grid dimension.
C_KERNELS: tuple[Program, ...] = (
    Program("gemm", "C: f64 C = a*A*B + b*C (i, k, j order)", 400, 24, 6, kind=Kind.C),
    Program("2mm", "C: f64 D = a*A*B*C + b*D", 300, 20, 5, kind=Kind.C),
    Program("3mm", "C: f64 G = (A*B)*(C*D)", 260, 20, 5, kind=Kind.C),
    Program("jacobi2d", "C: f64 5-point stencil, 40 steps", 720, 40, 8, kind=Kind.C),
    Program("fdtd2d", "C: f64 2-D FDTD, 40 steps", 600, 40, 8, kind=Kind.C),
    Program("floyd", "C: i32 Floyd-Warshall", 400, 40, 8, kind=Kind.C),
    Program("cholesky", "C: f64 Cholesky factorisation with sqrt", 640, 40, 8, kind=Kind.C),
    Program("lu", "C: f64 LU decomposition", 520, 36, 8, kind=Kind.C),
    Program("editdist", "C: i32 DP, Levenshtein distance over two rows", 3000, 240, 20, kind=Kind.C),
)

#: Real programs (tests/data/wasi) running a workload; the checksum hashes exit status and stdout.
WASI_PROGRAMS: tuple[Program, ...] = (
    Program("lua", "Lua 5.4 interpreter running benchmarks/programs/bench.lua", 40, 1, 1,
            kind=Kind.WASI),
    Program("minigzip", "zlib-ng minigzip -9 compressing n lines of text", 40_000, 1500, 200,
            kind=Kind.WASI),
)

LARGE = Program(LARGE_NAME, f"generated program, {LargeSpec().functions} functions + CRC/Adler/FNV",
                2000, 10, 2)

PROGRAMS: dict[str, Program] = {p.name: p for p in KERNELS + C_KERNELS + WASI_PROGRAMS + (LARGE,)}


@functools.lru_cache(maxsize=None)
def _binary(name: str) -> bytes:
    """The program's binary, read or converted once."""
    program = PROGRAMS[name]
    if program.kind is Kind.C:
        return (C_DIR / f"{name}.wasm").read_bytes()
    if program.kind is Kind.WASI:
        return program.workload.binary.read_bytes()
    return to_binary(program.source())


def to_binary(text: str) -> bytes:
    """WAT to wasm by wasmtime's parser when it is installed (so both runtimes get the same bytes
    and polyjit's text parser is not on trial here), else by polyjit's."""
    try:
        import wasmtime
    except ImportError:
        from engine.text import wat2wasm
        return wat2wasm(text)
    return wasmtime.wat2wasm(text)
