"""The x86_64 backend: lowering (isel), shared register allocation, emission, Keystone assembly."""

from __future__ import annotations

import functools
from typing import Sequence

from ..base import CompiledCode, ModuleInfo, TargetDesc, func_symbol, register, sig_key
from ..regalloc import Allocator
from .emit import FunctionEmitter, SpillMoves, assemble, frame_for
from .isel import Lowering
from .target import TARGET
from .trampolines import TRAP, common_stubs, entry_trampoline, exit_trampoline

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
                    return frozenset(out)
    except OSError:
        pass
    return frozenset()


#: what Unicorn's x86_64 executes (measured), for code meant to run emulated
EMULATOR_FEATURES = frozenset({"sse4.1", "popcnt", "lzcnt", "bmi1"})


class X86_64Backend:
    """Compiles IR functions of one module to x86_64 machine code."""

    target: TargetDesc = TARGET

    def __init__(self, features: frozenset[str] | None = None) -> None:
        self.features = host_features() if features is None else features

    def compile_module(self, funcs: Sequence, info: ModuleInfo,
                       entry_sigs: Sequence[tuple] = (), exit_sigs: Sequence[tuple] = ()
                       ) -> CompiledCode:
        """`funcs`: IR functions with their wasm index set. `entry_sigs` / `exit_sigs`:
        (params, results) pairs that need an entry (host -> wasm) or exit (wasm -> host)
        trampoline, named ``entry_<sig_key>`` / ``exit_<sig_key>``."""
        parts: list[str] = []
        symbols: list[str] = []
        for f in funcs:
            parts += self.compile_function(f, info)
            symbols.append(func_symbol(f.index))
        parts += common_stubs()
        symbols.append(TRAP)
        mem0 = info.offsets.memory_base(0) if info.offsets.num_memories else None
        for params, results in dict.fromkeys(tuple(map(tuple, s)) for s in entry_sigs):
            name = "entry_" + sig_key(params, results)
            parts += entry_trampoline(name, params, results, mem0)
            symbols.append(name)
        for params, results in dict.fromkeys(tuple(map(tuple, s)) for s in exit_sigs):
            name = "exit_" + sig_key(params, results)
            parts += exit_trampoline(name, params, results)
            symbols.append(name)
        return assemble(parts, symbols, "x86_64", self.features)

    def compile_exit_stubs(self, exit_sigs: Sequence[tuple]) -> CompiledCode:
        """Exit trampolines for extra signatures, with their own copy of the trap stub (code
        that can be mapped on its own, e.g. for a host function of a type a module never
        declares that reaches it through a table)."""
        parts = common_stubs()
        symbols = [TRAP]
        for params, results in dict.fromkeys(tuple(map(tuple, s)) for s in exit_sigs):
            name = "exit_" + sig_key(params, results)
            parts += exit_trampoline(name, params, results)
            symbols.append(name)
        return assemble(parts, symbols, "x86_64", self.features)

    def compile_function(self, func, info: ModuleInfo) -> list[str]:
        lowering = Lowering(func, info, self.features)
        mf = lowering.run()
        Allocator(TARGET, SpillMoves()).run(mf)
        frame = frame_for(mf, lowering.outgoing)
        return FunctionEmitter(mf, frame, lowering.traps, info.offsets).render()


register("x86_64", X86_64Backend)
