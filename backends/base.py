"""What every backend shares: the Backend protocol, target descriptions, the compiled-code record
(bytes, symbols, relocations), the runtime-helper names, and the registry of targets by name."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence

from engine.errors import UnsupportedError, WasmError


class RegClass(enum.Enum):
    """Register classes the allocator knows: general-purpose integer and floating point."""

    INT = "int"
    FLOAT = "float"


@dataclass(slots=True, frozen=True)
class TargetDesc:
    """A machine's registers and internal calling convention, as the register allocator and the
    ABI code see them. Registers are small ints (physical register numbers); `reg_names` names
    them for emission and debugging.

    - ``allocatable``: registers the allocator may hand out, per class, in preference order.
    - ``caller_saved``: registers a call clobbers (the allocator keeps values live across a call
      out of them); ``callee_saved``: registers a function must restore if it writes them.
    - ``scratch``: per class, registers reserved for spill reloads and move-cycle breaking (never
      allocatable); at least two per class.
    - ``arg_regs`` / ``ret_regs``: per class, the internal convention's argument/result registers.
    """

    name: str
    pointer_size: int
    stack_align: int
    reg_names: dict[int, str]
    allocatable: dict[RegClass, tuple[int, ...]]
    caller_saved: frozenset[int]
    callee_saved: frozenset[int]
    scratch: dict[RegClass, tuple[int, ...]]
    arg_regs: dict[RegClass, tuple[int, ...]]
    ret_regs: dict[RegClass, tuple[int, ...]]

    def reg_class(self, reg: int) -> RegClass:
        for cls, regs in self.allocatable.items():
            if reg in regs:
                return cls
        for cls, regs in self.scratch.items():
            if reg in regs:
                return cls
        raise WasmError(f"{self.name}: register {reg} belongs to no class")


class Helper(enum.Enum):
    """Runtime helpers generated code calls through the vmctx helper table (C calling convention,
    first argument the caller's vmctx). The value is the symbol name; the index in the table is
    the member's position in this enum (see HELPER_INDEX)."""

    MEMORY_GROW = "memory_grow"      # (vmctx, mem, delta) -> old pages or -1
    MEMORY_FILL = "memory_fill"      # (vmctx, mem, dst, val, n) -> 0 or trap code + 1
    MEMORY_COPY = "memory_copy"      # (vmctx, dst_mem, src_mem, dst, src, n) -> 0 / code + 1
    MEMORY_INIT = "memory_init"      # (vmctx, mem, seg, dst, src, n) -> 0 / code + 1
    DATA_DROP = "data_drop"          # (vmctx, seg) -> 0
    TABLE_GROW = "table_grow"        # (vmctx, table, init, delta) -> old size or -1
    TABLE_FILL = "table_fill"        # (vmctx, table, dst, val, n) -> 0 / code + 1
    TABLE_COPY = "table_copy"        # (vmctx, dst_table, src_table, dst, src, n) -> 0 / code + 1
    TABLE_INIT = "table_init"        # (vmctx, table, seg, dst, src, n) -> 0 / code + 1
    ELEM_DROP = "elem_drop"          # (vmctx, seg) -> 0
    HOST_CALL = "host_call"          # (host_ctx, buffer) -> 0 or nonzero when the host raised
    TRAP = "trap"                    # the trap entry: not called, jumped to (see exec)


HELPER_INDEX: dict[Helper, int] = {h: i for i, h in enumerate(Helper)}


class RelocKind(enum.Enum):
    """How a relocation is patched: a PC-relative 32-bit displacement, or an absolute address."""

    PCREL32 = "pcrel32"
    ABS64 = "abs64"


@dataclass(slots=True, frozen=True)
class Reloc:
    """A place in the code to patch once addresses are known. `target` is a function index
    (int) or a runtime helper / symbol name (str)."""

    kind: RelocKind
    offset: int
    target: int | str
    addend: int = 0


@dataclass(slots=True)
class CompiledCode:
    """Machine code for a whole module: `code` bytes positioned at offset 0, `symbols` mapping
    names to offsets (``func<N>`` for defined function N, ``trap_stub``, ``entry_<sig>``,
    ``exit_<sig>``), relocations still to apply, and the ISA features the code relies on."""

    target: str
    code: bytes
    symbols: dict[str, int] = field(default_factory=dict)
    relocs: list[Reloc] = field(default_factory=list)
    features: frozenset[str] = frozenset()

    def func_offset(self, index: int) -> int:
        return self.symbols[func_symbol(index)]


def func_symbol(index: int) -> str:
    return f"func{index}"


#: the label of the trap stub every compiled unit carries (generated code jumps to it)
TRAP_SYMBOL = "__trap"


def sig_key(params: Sequence[object], results: Sequence[object]) -> str:
    """A symbol-safe name for a signature, e.g. ``i32_i64__f64`` (params ``__`` results)."""
    return "_".join(str(p) for p in params) + "__" + "_".join(str(r) for r in results)


class Backend(Protocol):
    """A code generator for one target."""

    target: TargetDesc
    #: ISA extensions the generated code may use (recorded in CompiledCode.features)
    features: frozenset[str]

    def compile_module(self, funcs: Sequence[object], info: ModuleInfo,
                       entry_sigs: Sequence[tuple] = (), exit_sigs: Sequence[tuple] = ()
                       ) -> CompiledCode:
        """Compile IR functions (engine.ir.Function with their wasm `index`, in defined-
        function order) of one module into one CompiledCode with symbols ``func<N>``, the trap
        stub, and an entry trampoline ``entry_<sig_key>`` / exit trampoline ``exit_<sig_key>``
        for each (params, results) pair asked for."""


_REGISTRY: dict[str, Callable[[], Backend]] = {}


def register(name: str, factory: Callable[[], Backend]) -> None:
    """Make a backend available under a target name ("x86_64", "aarch64", "riscv64")."""
    _REGISTRY[name] = factory


def get_backend(name: str) -> Backend:
    """The backend for target `name`; raises UnsupportedError for an unknown or unbuilt one."""
    if name not in _REGISTRY:
        # importing a target package registers it
        import importlib
        try:
            importlib.import_module(f"backends.{name}")
        except ImportError:
            pass
    factory = _REGISTRY.get(name)
    if factory is None:
        raise UnsupportedError(f"code generation for target {name!r}")
    return factory()


@dataclass(slots=True)
class ModuleInfo:
    """What code generation needs to know about the module around a function.

    - ``offsets``: the vmctx layout (engine.runtime.vmctx.VMOffsets).
    - ``func_sigs``: (params, results) of every function index, imported ones first.
    - ``type_sigs``: (params, results) of every type index (call_indirect).
    - ``global_types``: value type of every global index.
    - ``epoch`` / ``fuel``: compile interruption checks in (Config.epoch_interruption /
      consume_fuel).
    """

    offsets: object
    func_sigs: list[tuple[tuple, tuple]]
    num_imported_funcs: int = 0
    type_sigs: list[tuple[tuple, tuple]] = field(default_factory=list)
    global_types: list = field(default_factory=list)
    epoch: bool = False
    fuel: bool = False
