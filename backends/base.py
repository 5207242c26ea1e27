"""What every backend shares: the Backend protocol, target descriptions and the compiled-code
record (bytes, symbols). The runtime-helper table and ModuleInfo are the environment's
(engine.environ), shared with the runtime; engine.compile.registry maps targets to backends."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Iterable, Protocol, Sequence

from engine.environ.module_info import ModuleInfo
from engine.errors import InternalError


class RegClass(enum.Enum):
    """Register classes the allocator knows: general-purpose integer, floating point, and
    128-bit vectors (v128; on x86_64 and aarch64 the same physical registers as FLOAT, so a
    target lists them in both; a vector spill takes two 8-byte slots)."""

    INT = "int"
    FLOAT = "float"
    VECTOR = "vector"


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
        raise InternalError(f"{self.name}: register {reg} belongs to no class")


@dataclass(slots=True, weakref_slot=True)
class CompiledCode:
    """Machine code for a whole module: `code` bytes positioned at offset 0 and position
    independent (calls and data go through the vmctx, never an absolute address), `symbols`
    mapping names to offsets (``func<N>`` for defined function N, ``__trap``, ``entry_<sig>``,
    ``exit_<sig>``), and the ISA features the code relies on."""

    target: str
    code: bytes
    symbols: dict[str, int] = field(default_factory=dict)
    features: frozenset[str] = frozenset()

    def func_offset(self, index: int) -> int:
        return self.symbols[func_symbol(index)]


def func_symbol(index: int) -> str:
    return f"func{index}"


#: the label of the trap stub every compiled unit carries (generated code jumps to it)
TRAP_SYMBOL = "__trap"
#: the label of the epoch check's out-of-line slow path (units compiled with epoch checks)
EPOCH_SYMBOL = "__epoch_slow"

#: the alignment of a lazy unit's slot table and code (a page on every target's host)
LAZY_PAGE = 4096


def hot_symbol(index: int) -> str:
    """The label of defined function `index`'s hotness counter (an i32 that baseline code
    compiled for tiering decrements; see engine.exec.lazy)."""
    return f"__hot{index}"


def calls_offset(defined_functions: int) -> int:
    """From a function's hotness counter to its call count (an i32 its counted code adds one
    to at every entry, in an array after the counters' of a module of that many defined
    functions)."""
    return 4 * defined_functions


#: what a hot function's baseline code calls: helper TIER_UP(vmctx, index in the target's
#: scratch register), every other register preserved (x86_64: trampolines.tier_up_stub)
TIER_UP_SYMBOL = "__tier_up"
#: the hotness counter's decrement at a function's entry and at a loop header: the counter
#: starts at Config.tier_up_threshold * TIER_UP_ENTRY_WEIGHT, so a call counts as much as
#: TIER_UP_ENTRY_WEIGHT / TIER_UP_LOOP_WEIGHT loop iterations
TIER_UP_ENTRY_WEIGHT = 16
TIER_UP_LOOP_WEIGHT = 1

#: on-stack replacement (engine.ir.osr): a loop header of counted code asks TIER_UP whether
#: its activation can move to optimised code there, in functions of at most this many locals
#: (the move passes every local as an argument)
OSR_MAX_LOCALS = 96


def osr_request(index: int, loop: int) -> int:
    """What counted code at the header of the loop at body position `loop` of function
    `index` passes TIER_UP (a function's entry passes its index alone)."""
    return index | (loop + 1) << 32


def tier_up_request(value: int) -> tuple[int, int | None]:
    """(function index, loop position or None) of what counted code passed TIER_UP."""
    return value & 0xFFFF_FFFF, (value >> 32) - 1 if value >> 32 else None


def lazy_symbol(index: int) -> str:
    """The label of defined function `index`'s lazy-compilation thunk (see
    ModuleCompiler.lazy_unit)."""
    return f"lazy{index}"


def lazy_table_size(count: int) -> int:
    """Bytes of a lazy unit's slot table for `count` functions (8 a slot, whole pages): the
    table ends this far before the unit's code."""
    return -(-max(8 * count, 8) // LAZY_PAGE) * LAZY_PAGE


def sig_key(params: Sequence[object], results: Sequence[object]) -> str:
    """A symbol-safe name for a signature, e.g. ``i32_i64__f64`` (params ``__`` results); a
    typed reference is named by its representation (``top``: funcref or externref)."""
    return ("_".join(str(p.top) for p in params) + "__"  # type: ignore[attr-defined]
            + "_".join(str(r.top) for r in results))  # type: ignore[attr-defined]


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

    def function_code(self, func: object, info: ModuleInfo) -> object:
        """What `link` takes for one IR function (lowering, register allocation, emission, and
        on some targets assembly); picklable, and depends on nothing but the function and
        `info`, so functions may be compiled in any order or in other processes."""

    def link(self, pieces: Iterable[tuple[int, object]], info: ModuleInfo,
             entry_sigs: Sequence[tuple] = (), exit_sigs: Sequence[tuple] = ()
             ) -> CompiledCode:
        """compile_module from the functions' function_code results: (wasm function index,
        result) in defined-function order."""

    @classmethod
    def cpu_features(cls, emulated: bool) -> frozenset[str]:
        """The ISA features of the CPU that will run this target's code: under Unicorn, what
        the emulator executes; natively, what this host's CPU reports."""
