"""The aarch64 backend: lowering (isel), shared register allocation, emission, Keystone assembly.
Code runs natively on aarch64 hosts and under Unicorn everywhere."""

from __future__ import annotations

from typing import Sequence

from ..base import CompiledCode, ModuleInfo, TargetDesc, func_symbol, register, sig_key
from ..regalloc import Allocator
from .emit import FunctionEmitter, SpillMoves, assemble, frame_for
from .isel import Lowering
from .target import TARGET
from .trampolines import TRAP, common_stubs, entry_trampoline, exit_trampoline

__all__ = ["AArch64Backend"]


class AArch64Backend:
    """Compiles IR functions of one module to A64 machine code."""

    target: TargetDesc = TARGET

    def __init__(self, features: frozenset[str] | None = None) -> None:
        self.features = features or frozenset()

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
        for params, results in dict.fromkeys(tuple(map(tuple, s)) for s in entry_sigs):
            name = "entry_" + sig_key(params, results)
            parts += entry_trampoline(name, params, results)
            symbols.append(name)
        for params, results in dict.fromkeys(tuple(map(tuple, s)) for s in exit_sigs):
            name = "exit_" + sig_key(params, results)
            parts += exit_trampoline(name, params, results)
            symbols.append(name)
        code = assemble(parts, symbols)
        code.features = self.features
        return code

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
        code = assemble(parts, symbols)
        code.features = self.features
        return code

    def compile_function(self, func, info: ModuleInfo) -> list[str]:
        lowering = Lowering(func, info)
        mf = lowering.run()
        Allocator(TARGET, SpillMoves()).run(mf)
        frame = frame_for(mf, lowering.outgoing)
        return FunctionEmitter(mf, frame, lowering.traps, info.offsets,
                               lowering.uses_heap).render()


register("aarch64", AArch64Backend)
