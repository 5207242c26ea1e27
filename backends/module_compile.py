"""How a backend compiles a whole module, written once for every target: each function through
lowering, the shared register allocator and emission, then the trap stub, an entry trampoline
per entry signature and an exit trampoline per exit signature, all assembled in one piece.
Each target's backend class derives from `ModuleCompiler`, names its `isel`, `emit` and
`trampolines` modules (which have the same shape on every target) and its assembler, and
overrides a hook only where its modules' signatures differ."""

from __future__ import annotations

from types import ModuleType
from typing import Callable, Iterable, Sequence

from engine.environ.fastcalls import FastCall
from engine.environ.module_info import ModuleInfo
from engine.errors import InternalError, UnsupportedError
from engine.wasm.types import ValType
from .base import TRAP_SYMBOL, CompiledCode, TargetDesc, func_symbol, lazy_symbol, \
    lazy_table_size, sig_key
from .regalloc import Allocator
from .simd_scalar import legal_types, legalise_function, uses_v128


def unique_sigs(sigs: Iterable[Sequence]) -> list[tuple[tuple, tuple]]:
    """(params, results) pairs as tuples, first occurrence order, without repeats."""
    return list(dict.fromkeys(tuple(map(tuple, s)) for s in sigs))


class ModuleCompiler:
    """The target-independent part of a Backend (see the module docstring)."""

    target: TargetDesc
    features: frozenset[str]
    #: whether SIMD goes through the shared scalar legalisation (backends/simd_scalar: v128 as
    #: two i64 halves, for targets without vector registers); its trampolines then see each
    #: v128 parameter or result as two i64, the halves' order in the argument buffer
    scalar_simd: bool = False
    #: the target's instruction selection (its `Lowering`), emission (`SpillMoves`,
    #: `frame_for`, `FunctionEmitter`) and trampolines (`common_stubs`, `entry_trampoline`,
    #: `exit_trampoline`) modules
    isel: ModuleType
    emit: ModuleType
    trampolines: ModuleType
    #: the target's native fast paths for host functions (`fast_call_stubs`), if it has any
    fastcalls: ModuleType | None = None
    #: whether placed code's direct calls can be repointed in place (`patchable_calls`)
    patchable: bool = False

    @classmethod
    def cpu_features(cls, emulated: bool) -> frozenset[str]:
        """ISA extensions the code may use on the CPU that runs it (none beyond the base ISA
        unless a target says otherwise)."""
        return frozenset()

    #: whether the target has a baseline tier (`baseline_function`): without one,
    #: Config.baseline_compilation and tiered_compilation change nothing
    has_baseline_tier = False

    # -- hooks ----------------------------------------------------------------------------------

    def baseline_function(self, wasm, info: ModuleInfo, index: int, counted: bool = False):
        """Defined function `index` of validated module `wasm` compiled by the target's
        baseline tier (what `relocatable_function` takes), or None where there is none or it
        does not handle the function (then the optimising tier compiles it). `counted`: its
        entry and loop headers count down its hotness counter (symbol hot_symbol(index)) and
        call TIER_UP_SYMBOL when it goes below zero (tiered compilation)."""
        return None

    def new_lowering(self, func, info: ModuleInfo):
        """The target's instruction selection (a LoweringBase) for one IR function."""
        return self.isel.Lowering(func, info)

    def spill_moves(self):
        """The target's spill/reload instruction maker for the register allocator."""
        return self.emit.SpillMoves()

    def render(self, mf, lowering, info: ModuleInfo) -> list[str]:
        """Assembly text of an allocated machine function (frame and emission)."""
        frame = self.emit.frame_for(mf, lowering.outgoing)
        return self.emit.FunctionEmitter(mf, frame, lowering.traps, info.offsets).render()

    def common_stubs(self) -> list[str]:
        """The trap stub (labelled TRAP_SYMBOL) and whatever else every unit needs."""
        return self.trampolines.common_stubs()

    def entry_trampoline(self, name: str, params: tuple, results: tuple) -> list[str]:
        """The host -> wasm trampoline `name` for a signature (no heap base to set up: a
        function that uses memory 0 loads its base itself)."""
        return self.trampolines.entry_trampoline(name, params, results)

    def exit_trampoline(self, name: str, params: tuple, results: tuple) -> list[str]:
        """The wasm -> host trampoline `name` for a signature."""
        return self.trampolines.exit_trampoline(name, params, results)

    def assemble(self, parts: list[str], symbols: list[str]) -> CompiledCode:
        """Hook: machine code for the text `parts`, recording the offsets of `symbols`."""
        raise NotImplementedError

    # -- the driver -----------------------------------------------------------------------------

    def compile_function(self, func, info: ModuleInfo) -> list[str]:
        """Assembly text of one IR function: lowering, register allocation, emission."""
        if self.simd_missing():
            self._refuse_simd((func,), ())
        if self.scalar_simd and uses_v128(func):
            func = legalise_function(func)
        lowering = self.new_lowering(func, info)
        mf = lowering.run()
        mf.may_fault = bool(lowering.fault_covered)
        Allocator(self.target, self.spill_moves()).run(mf)
        return self.render(mf, lowering, info)

    def function_code(self, func, info: ModuleInfo):
        """What `link` takes for one IR function: here its assembly text as one string (one
        string per function holds a module's text in a fraction of the memory of its lines,
        and pickles fast for a parent process compiling in parallel); a target that assembles
        function by function returns machine code instead."""
        return "\n".join(self.compile_function(func, info))

    def compile_module(self, funcs: Iterable, info: ModuleInfo,
                       entry_sigs: Sequence[tuple] = (), exit_sigs: Sequence[tuple] = ()
                       ) -> CompiledCode:
        """`funcs`: IR functions with their wasm index set (any iterable: a generator that
        builds each one on demand keeps one function's IR alive at a time). `entry_sigs` /
        `exit_sigs`: (params, results) pairs that need an entry (host -> wasm) or exit
        (wasm -> host) trampoline, named ``entry_<sig_key>`` / ``exit_<sig_key>``."""
        return self.link(((f.index, self.function_code(f, info)) for f in funcs), info,
                         entry_sigs, exit_sigs)

    def link(self, pieces: Iterable[tuple[int, object]], info: ModuleInfo,
             entry_sigs: Sequence[tuple] = (), exit_sigs: Sequence[tuple] = ()
             ) -> CompiledCode:
        """The module's machine code from its functions' function_code results (function index,
        result), in defined-function order, plus the trap stub and trampolines (see
        compile_module); here all the text assembled in one piece."""
        parts: list[str] = []
        symbols: list[str] = []
        for index, text in pieces:
            parts.append(text)
            symbols.append(func_symbol(index))
        stub_parts, stub_symbols = self.stubs(info, entry_sigs, exit_sigs)
        return self.assemble(parts + stub_parts, symbols + stub_symbols)

    def stubs(self, info: ModuleInfo, entry_sigs: Sequence[tuple] = (),
              exit_sigs: Sequence[tuple] = ()) -> tuple[list[str], list[str]]:
        """The text and symbols of what a module carries besides its functions: the trap stub
        (and epoch stub), an entry trampoline per entry signature and an exit trampoline per
        exit signature."""
        if self.simd_missing():
            self._refuse_simd((), (*entry_sigs, *exit_sigs))
        parts = self.common_stubs()
        symbols = [TRAP_SYMBOL]
        if info.epoch:
            # a target whose epoch checks call out of line (x86_64) adds that stub
            parts += getattr(self.trampolines, "epoch_stubs", list)()
        self._trampolines(parts, symbols, entry_sigs, "entry_", self.entry_trampoline)
        self._exits(parts, symbols, exit_sigs)
        return parts, symbols

    def _abi_sig(self, params: tuple, results: tuple) -> tuple[tuple, tuple]:
        """The signature a trampoline implements (v128 as two i64 under `scalar_simd`)."""
        if self.scalar_simd:
            return legal_types(params), legal_types(results)
        return params, results

    def simd_missing(self) -> str | None:
        """Hook: why this backend cannot compile v128 and the SIMD opcodes (None: it can). A
        target whose lowering, allocator moves and trampolines handle them answers None."""
        if self.scalar_simd:
            return None
        return f"SIMD (v128) on the {self.target.name} backend"

    def _refuse_simd(self, funcs: Sequence, sigs: Iterable[Sequence]) -> None:
        """UnsupportedError if the module uses v128 anywhere (code or signatures)."""
        v128 = ValType.V128
        if any(v128 in f.value_types for f in funcs) or \
                any(v128 in params or v128 in results for params, results in sigs):
            raise UnsupportedError(self.simd_missing())

    def compile_trampolines(self, entry_sigs: Sequence[tuple] = (),
                            exit_sigs: Sequence[tuple] = ()) -> CompiledCode:
        """Entry and exit trampolines for signatures a module's code does not carry, with
        their own copy of the trap stub (code that can be mapped on its own: for a host
        function of a type a module never declares that reaches it through a table, or a
        signature a lazy unit leaves out)."""
        if self.simd_missing():
            self._refuse_simd((), (*entry_sigs, *exit_sigs))
        parts = self.common_stubs()
        symbols = [TRAP_SYMBOL]
        self._trampolines(parts, symbols, entry_sigs, "entry_", self.entry_trampoline)
        self._exits(parts, symbols, exit_sigs)
        return self.assemble(parts, symbols)

    def compile_fast_calls(self) -> CompiledCode | None:
        """The target's native fast paths (engine.environ.fastcalls), one symbol per FastCall,
        or None where it has none."""
        if self.fastcalls is None:
            return None
        return self.assemble(self.fastcalls.fast_call_stubs(), [k.symbol for k in FastCall])

    # -- lazy compilation -----------------------------------------------------------------------

    def text_start(self, nsymbols: int) -> int:
        """Hook: the offset at which `assemble` places the first part, given how many symbols
        it records (the Keystone targets put an 8-byte table of the symbols' offsets first)."""
        return 8 * nsymbols

    def lazy_unit(self, info: ModuleInfo, first: int, count: int,
                  entry_sigs: Sequence[tuple] = (), exit_sigs: Sequence[tuple] = ()
                  ) -> CompiledCode:
        """What a module's code starts as when its functions are compiled on first call.
        For defined functions first .. first + count - 1, in order: a stub ``func<i>`` each,
        ``trampolines.LAZY_STUB_SIZE`` bytes apart from the unit's `text_start`, that jumps to
        the address in its slot (slot k is 8 bytes at the unit's base - lazy_table_size(count)
        + 8k: the caller maps the table there); a thunk ``lazy<i>`` each, the slot's first
        value, which calls helper LAZY_COMPILE and jumps to the code it returns; then the
        trap stub and trampolines of `stubs` (for the signatures given: the caller finds the
        others in `compile_trampolines` code), and the epoch slow path when the module has
        epoch checks. Functions compiled later (`relocatable_function`) reach these.
        Trampolines that encode the stubs and thunks themselves (x86_64's `lazy_stubs` and
        `lazy_thunks`, in place of the `lazy_stub` and `lazy_thunk` text) put them first,
        from offset 0, and only the rest is assembled."""
        tr = self.trampolines
        indices = range(first, first + count)
        stub_parts, stub_symbols = self.stubs(info, entry_sigs, exit_sigs)
        if info.epoch:
            stub_symbols.append(tr.EPOCH_SLOW)
        entry_symbols = [*getattr(tr, "LAZY_SYMBOLS", (tr.LAZY,)), *stub_symbols]
        if hasattr(tr, "lazy_stubs"):
            return self._encoded_lazy_unit(first, count, tr.lazy_entry() + stub_parts,
                                           entry_symbols)
        symbols = [*map(func_symbol, indices), *map(lazy_symbol, indices), *entry_symbols]
        start = self.text_start(len(symbols))
        distance = lazy_table_size(count) + start
        parts: list[str] = []
        for k, index in enumerate(indices):
            parts += tr.lazy_stub(func_symbol(index), k, distance)
        for index in indices:
            parts += tr.lazy_thunk(lazy_symbol(index), index)
        parts += tr.lazy_entry()
        code = self.assemble(parts + stub_parts, symbols)
        for k, index in enumerate(indices):
            if code.symbols[func_symbol(index)] != start + k * tr.LAZY_STUB_SIZE:
                raise InternalError(f"{self.target.name}: lazy stub of function {index} at "
                                    f"{code.symbols[func_symbol(index)]:#x}, not "
                                    f"{start + k * tr.LAZY_STUB_SIZE:#x}")
        return code

    def _encoded_lazy_unit(self, first: int, count: int, parts: list[str],
                           symbols: list[str]) -> CompiledCode:
        """lazy_unit for trampolines that encode the stubs and thunks themselves
        (`lazy_stubs`, `lazy_thunks`): those first, from offset 0, then the rest (`parts`,
        whose `symbols` are recorded) assembled."""
        tr = self.trampolines
        rest = self.assemble(parts, symbols)
        thunks_at = count * tr.LAZY_STUB_SIZE
        rest_at = thunks_at + count * tr.LAZY_THUNK_SIZE
        code = tr.lazy_stubs(count, lazy_table_size(count)) + \
            tr.lazy_thunks(first, count, thunks_at, rest_at + rest.symbols[tr.LAZY]) + rest.code
        offsets = {func_symbol(first + k): k * tr.LAZY_STUB_SIZE for k in range(count)}
        offsets.update((lazy_symbol(first + k), thunks_at + k * tr.LAZY_THUNK_SIZE)
                       for k in range(count))
        offsets.update((s, rest_at + off) for s, off in rest.symbols.items())
        return CompiledCode(target=rest.target, code=code, symbols=offsets,
                            features=rest.features)

    def relocatable_function(self, piece, name: str, resolve: Callable[[str], int]
                             ) -> tuple[int, Callable[[int], bytes]]:
        """Hook: for one function's function_code result `piece` (its symbol `name`), its
        size in bytes and a function that gives its code for a given address, every reference
        to a symbol outside it (another function, the trap stub, the epoch slow path) resolved
        to the absolute address `resolve` gives (within the reach of a call: the caller places
        code near the unit)."""
        raise UnsupportedError(f"lazy compilation on the {self.target.name} backend")

    def patchable_calls(self, piece) -> Sequence[tuple[int, str]]:
        """Hook: the direct calls (and tail calls) of a function_code result that can be
        repointed in place once it is placed at a 64-byte aligned address: (offset in its
        code, function symbol), the offset what `call_target_patch` takes. None here: calls
        keep going through the stubs."""
        return ()

    def call_target_patch(self, site: int, target: int) -> tuple[int, bytes]:
        """Hook: (address, bytes) to store so that the call at `site` (a patchable_calls
        offset, made absolute) reaches `target`; one aligned store the CPU sees whole."""
        raise InternalError(f"{self.target.name}: no patchable calls")

    def _exits(self, parts: list[str], symbols: list[str], exit_sigs: Sequence[tuple]) -> None:
        self._trampolines(parts, symbols, exit_sigs, "exit_", self.exit_trampoline)

    def _trampolines(self, parts: list[str], symbols: list[str], sigs: Sequence[tuple],
                     prefix: str, trampoline: Callable[[str, tuple, tuple], list[str]]
                     ) -> None:
        """A trampoline per signature, labelled prefix + sig_key; signatures whose
        trampolines would be the same code (the trampolines' `shape`, where the target
        defines one: x86_64 moves every integer and reference alike, every float alike)
        share one, under all their labels."""
        shape_of = getattr(self.trampolines, "shape", None)
        groups: dict[object, list[tuple[tuple, tuple]]] = {}
        for params, results in unique_sigs(sigs):
            abi = self._abi_sig(params, results)
            groups.setdefault(abi if shape_of is None else shape_of(*abi), []).append(
                (params, results))
        for group in groups.values():
            names = [prefix + sig_key(p, r) for p, r in group]
            parts += [f"{name}:" for name in names[1:]]
            parts += trampoline(names[0], *self._abi_sig(*group[0]))
            symbols += names
