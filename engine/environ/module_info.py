"""ModuleInfo: what code generation needs to know about the module around a function, built
once per module (and per interruption setting) from the decoded module."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..wasm.types import ValType
from .vmctx import VMOffsets

#: the address space a 32-bit memory is given under Config.signals_based_traps: every wasm
#: address (u32 index + u32 offset + access size <= 16) falls inside it, so an access beyond
#: the memory's length lands on a PROT_NONE page and faults instead of touching anything else
GUARDED_RESERVATION = (8 << 30) + (64 << 10)

#: the host's maximum for a 64-bit memory (memory64), in 64 KiB pages: just under 4 GiB, so
#: that every in-bounds i64 address fits in 32 bits and the IR builder can narrow i64
#: addresses to the 32-bit forms (engine/ir/addr64.py); a grow past it fails (-1) and a
#: larger minimum fails at instantiation. Such memories are always explicitly bounds checked.
MEMORY64_MAX_PAGES = 65535


@dataclass(slots=True)
class ModuleInfo:
    """What code generation needs to know about the module around a function.

    - ``offsets``: the vmctx layout (VMOffsets).
    - ``func_sigs``: (params, results) of every function index, imported ones first.
    - ``type_sigs``: (params, results) of every type index (call_indirect).
    - ``global_types``: value type of every global index.
    - ``epoch`` / ``fuel``: compile interruption checks in (Config.epoch_interruption /
      consume_fuel).
    - ``unchecked_memories``: memory indices whose accesses need no explicit bounds check
      (Config.signals_based_traps: memory 0 when it is 32-bit; its reservation covers every
      index + offset + size, see GUARDED_RESERVATION).
    - ``tail_calls_leave``: a function may tail-call another instance's function (WasmModule's
      fact of the same name): a direct call may then return with the vmctx changed.
    - ``checked_stores``: stores to the unchecked memories keep their explicit check (under
      Unicorn a store straddling the end of the memory writes its in-bounds bytes before it
      faults, where the host CPU writes none).
    - ``rethrows``: throw_ref may meet exceptions of this module (it has tags, or exnref values
      reach it through its types, globals or tables): instances fill the rethrower pair.
    """

    offsets: VMOffsets
    func_sigs: list[tuple[tuple, tuple]]
    num_imported_funcs: int = 0
    type_sigs: list[tuple[tuple, tuple]] = field(default_factory=list)
    global_types: list = field(default_factory=list)
    epoch: bool = False
    fuel: bool = False
    unchecked_memories: frozenset[int] = frozenset()
    checked_stores: bool = False
    tail_calls_leave: bool = False
    rethrows: bool = False

    @classmethod
    def for_module(cls, wasm, epoch: bool = False, fuel: bool = False,
                   guard_pages: bool = False, emulated: bool = False) -> ModuleInfo:
        """The record for a decoded engine.wasm.module.WasmModule."""
        mems = wasm.memory_types()
        unchecked = frozenset({0} if guard_pages and mems and not mems[0].is_64 else ())
        # what generated code sees: typed references as their representation (ValueType.top)
        types = wasm.top_types()
        return cls(VMOffsets.for_module(wasm),
                   [(types[i].param_types, types[i].result_types)
                    for i in wasm.func_type_indices()],
                   wasm.num_imported_funcs,
                   [(t.param_types, t.result_types) for t in types],
                   [g.content.top for g in wasm.global_types()], epoch=epoch, fuel=fuel,
                   unchecked_memories=unchecked, checked_stores=emulated,
                   tail_calls_leave=wasm.tail_calls_leave,
                   rethrows=_rethrows(wasm, types))


def _rethrows(wasm, types) -> bool:
    """ModuleInfo.rethrows."""
    if wasm.tag_type_indices():
        return True
    vals = [t for ft in types for t in ft.param_types + ft.result_types]
    vals += [g.content for g in wasm.global_types()] + [t.element for t in wasm.table_types()]
    return any(t.is_ref and t.top is ValType.EXNREF for t in vals)
