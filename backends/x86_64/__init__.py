"""The x86_64 backend: lowering (isel), shared register allocation, emission, Keystone assembly
one function at a time (pieces.py), so workers compiling in parallel assemble too."""

from __future__ import annotations

import functools
from typing import Callable, Iterable, Sequence

from engine.environ.module_info import ModuleInfo
from ..base import CompiledCode, TargetDesc, func_symbol
from ..module_compile import ModuleCompiler
from . import emit, fastcalls, isel, pieces, trampolines
from .baseline.compiler import BaselineUnsupported, compile_function
from .target import TARGET

__all__ = ["X86_64Backend", "host_features"]


@functools.cache
def host_features() -> frozenset[str]:
    """ISA extensions of this CPU that the backend uses (from the kernel's cpuid report)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    out = set()
                    if "sse4_1" in flags:
                        out.add("sse4.1")
                    if "popcnt" in flags:
                        out.add("popcnt")
                    if "abm" in flags or "lzcnt" in flags:
                        out.add("lzcnt")
                    if "bmi1" in flags:
                        out.add("bmi1")
                    if "avx" in flags:
                        out.add("avx")
                    return frozenset(out)
    except OSError:
        pass
    return frozenset()


#: what Unicorn's x86_64 executes (measured), for code meant to run emulated
EMULATOR_FEATURES = frozenset({"sse4.1", "popcnt", "lzcnt", "bmi1"})


class X86_64Backend(ModuleCompiler):
    """Compiles IR functions of one module to x86_64 machine code."""

    target: TargetDesc = TARGET
    isel = isel
    emit = emit
    trampolines = trampolines
    fastcalls = fastcalls
    patchable = True
    has_baseline_tier = True

    def __init__(self, features: frozenset[str] | None = None) -> None:
        self.features = host_features() if features is None else features

    @classmethod
    def cpu_features(cls, emulated: bool) -> frozenset[str]:
        return EMULATOR_FEATURES if emulated else host_features()

    def simd_missing(self) -> str | None:
        """v128 and the SIMD opcodes need SSE4.1 (isel_simd.py). The code's features are
        recorded in its artifact, so SIMD code never runs on a CPU without them."""
        return None if "sse4.1" in self.features else "SIMD (v128) on x86_64 without SSE4.1"

    def new_lowering(self, func, info: ModuleInfo) -> isel.Lowering:
        return isel.Lowering(func, info, self.features)

    def assemble(self, parts: list[str], symbols: list[str]) -> CompiledCode:
        return emit.assemble(parts, symbols, "x86_64", self.features)

    def render(self, mf, lowering, info: ModuleInfo) -> list[str]:
        lines = super().render(mf, lowering, info)
        return emit.vex_forms(lines) if "avx" in self.features else lines

    def function_code(self, func, info: ModuleInfo) -> pieces.FunctionCode:
        return pieces.assemble_function(self.compile_function(func, info),
                                        func_symbol(func.index))

    def baseline_function(self, wasm, info: ModuleInfo, index: int, counted: bool = False
                          ) -> pieces.FunctionCode | None:
        """The baseline tier (baseline/compiler.py: one pass from the wasm body to machine
        code), or None for a function it does not handle."""
        try:
            return pieces.FunctionCode(*compile_function(wasm, info, index, self.features,
                                                         self.target, counted))
        except BaselineUnsupported:
            return None

    def relocatable_function(self, piece: pieces.FunctionCode, name: str,
                             resolve: Callable[[str], int]
                             ) -> tuple[int, Callable[[int], bytes]]:
        return len(piece.code), lambda address: pieces.place(piece, name, address, resolve)

    def patchable_calls(self, piece: pieces.FunctionCode) -> Sequence[tuple[int, str]]:
        # the rel32 of a call or jmp to another function, unless it straddles a cache line
        # (a store that does is not seen whole by a CPU fetching it)
        return [(end, symbol) for end, symbol in piece.fixups
                if symbol.startswith("func") and (end - 4) // 64 == (end - 1) // 64]

    def call_target_patch(self, site: int, target: int) -> tuple[int, bytes]:
        return site - 4, pieces.rel32(site, target, f"code at {target:#x}")

    def link(self, functions: Iterable[tuple[int, pieces.FunctionCode]], info: ModuleInfo,
             entry_sigs: Sequence[tuple] = (), exit_sigs: Sequence[tuple] = ()
             ) -> CompiledCode:
        parts, symbols = self.stubs(info, entry_sigs, exit_sigs)
        if info.epoch:
            symbols.append(trampolines.EPOCH_SLOW)      # epoch checks call it
        return pieces.link(functions, self.assemble(parts, symbols))

