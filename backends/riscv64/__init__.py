"""The riscv64 backend: lowering (isel), shared register allocation, emission, and ``asm``, its
assembler (GNU-syntax RV64IMFD+Zicsr text to machine code; Keystone has no RISC-V)."""

from __future__ import annotations

from typing import Sequence

from ..base import CompiledCode, ModuleInfo, TargetDesc, func_symbol, register, sig_key
from ..regalloc import Allocator
from .asm import AsmError, Assembled, RelocKind, Relocation, apply_relocation, assemble

__all__ = ["AsmError", "Assembled", "RelocKind", "Relocation", "RiscV64Backend",
           "apply_relocation", "assemble"]


class RiscV64Backend:
    """Compiles IR functions of one module to riscv64 (RV64IMFD) machine code."""

    def __init__(self, features: frozenset[str] | None = None) -> None:
        from .target import TARGET
        self.target: TargetDesc = TARGET
        self.features = frozenset() if features is None else features

    def compile_module(self, funcs: Sequence, info: ModuleInfo,
                       entry_sigs: Sequence[tuple] = (), exit_sigs: Sequence[tuple] = ()
                       ) -> CompiledCode:
        """`funcs`: IR functions with their wasm index set. `entry_sigs` / `exit_sigs`:
        (params, results) pairs that need an entry (host -> wasm) or exit (wasm -> host)
        trampoline, named ``entry_<sig_key>`` / ``exit_<sig_key>``."""
        from . import emit
        from .trampolines import TRAP, common_stubs, entry_trampoline, exit_trampoline
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
        return emit.assemble(parts, symbols, self.features)

    def compile_exit_stubs(self, exit_sigs: Sequence[tuple]) -> CompiledCode:
        """Exit trampolines for extra signatures, with their own copy of the trap stub (code
        that can be mapped on its own, e.g. for a host function of a type a module never
        declares that reaches it through a table)."""
        from . import emit
        from .trampolines import TRAP, common_stubs, exit_trampoline
        parts = common_stubs()
        symbols = [TRAP]
        for params, results in dict.fromkeys(tuple(map(tuple, s)) for s in exit_sigs):
            name = "exit_" + sig_key(params, results)
            parts += exit_trampoline(name, params, results)
            symbols.append(name)
        return emit.assemble(parts, symbols, self.features)

    def compile_function(self, func, info: ModuleInfo) -> list[str]:
        from .emit import FunctionEmitter, SpillMoves, frame_for
        from .isel import Lowering
        lowering = Lowering(func, info)
        mf = lowering.run()
        Allocator(self.target, SpillMoves()).run(mf)
        frame = frame_for(mf, lowering.outgoing)
        return FunctionEmitter(mf, frame, lowering.traps, info.offsets).render()


register("riscv64", RiscV64Backend)
