"""ModuleInfo: what code generation needs to know about the module around a function, built
once per module (and per interruption setting) from the decoded module."""

from __future__ import annotations

from dataclasses import dataclass, field

from .vmctx import VMOffsets


@dataclass(slots=True)
class ModuleInfo:
    """What code generation needs to know about the module around a function.

    - ``offsets``: the vmctx layout (VMOffsets).
    - ``func_sigs``: (params, results) of every function index, imported ones first.
    - ``type_sigs``: (params, results) of every type index (call_indirect).
    - ``global_types``: value type of every global index.
    - ``epoch`` / ``fuel``: compile interruption checks in (Config.epoch_interruption /
      consume_fuel).
    """

    offsets: VMOffsets
    func_sigs: list[tuple[tuple, tuple]]
    num_imported_funcs: int = 0
    type_sigs: list[tuple[tuple, tuple]] = field(default_factory=list)
    global_types: list = field(default_factory=list)
    epoch: bool = False
    fuel: bool = False

    @classmethod
    def for_module(cls, wasm, epoch: bool = False, fuel: bool = False) -> ModuleInfo:
        """The record for a decoded engine.wasm.module.WasmModule."""
        return cls(VMOffsets.for_module(wasm),
                   [(tuple(t.params), tuple(t.results)) for t in wasm.func_types()],
                   wasm.num_imported_funcs,
                   [(tuple(t.params), tuple(t.results)) for t in wasm.types],
                   [g.content for g in wasm.global_types()], epoch=epoch, fuel=fuel)
