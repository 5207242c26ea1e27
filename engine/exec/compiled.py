"""The machine-code executor for the runtime (engine.runtime.executor.Executor): compiles a
module's IR with the backend of the Config's target and runs it natively (host target) or under
Unicorn (Config.emulate, or a foreign target).

The boundary, as wasmtime's VMContext: one machine per store (native.NativeMachine, or one
Unicorn per store, emulator.EmulatedMachine) runs the code of every instance of that store in
one address space, the host's (under Unicorn every piece of host memory the code reaches is
mapped at its own address). Machine memory is the only copy of the state: a Global's value is
its cell, a Table's elements are its machine words (TableDefinition), a Memory's length is its
MemoryDefinition, fuel and the epoch deadline are the store context's; the runtime objects'
methods read and write those same bytes (engine.runtime.globals, table, memory, store), so
nothing is copied in or out around a call or a host call.

Each instance's vmctx (engine.environ.vmctx) points at what it uses: the definitions and cells
of its memories, tables and globals (imported or its own), the store context, the helper
table. An import slot and a FuncRef record hold (code, ctx): for a wasm function of any
instance of the store, that instance's code and vmctx, so calls between instances (imports,
call_indirect through a shared table) stay in machine code; for a host function, the exit
trampoline of its signature and a HostCtx naming it.

Host calls: the exit trampoline spills the arguments into a buffer on the stack and calls helper
HOST_CALL(host_ctx, buf); `_host_caller` finds the HostCall for host_ctx (one dict lookup),
converts the arguments, calls the Python function and writes the results back into buf. A
machine-code stub can take an exit trampoline's place in an import slot with a HostCtx of its
own (the slot is all the caller reads).

References in machine code: a funcref is a FuncRef record address (0 for null); an externref is
a store-wide handle (0 for null); engine.runtime.refs maps them to Python objects.
"""

from __future__ import annotations

import ctypes
import functools
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from backends.base import func_symbol, sig_key, tier_up_request
from ..compile.driver import code_for, compile_jobs, held_code
from ..compile.environment import EngineState
from ..compile.registry import backend_for
from ..environ import vmctx as V
from ..environ.helpers import Helper
from ..environ.signatures import signature_id
from ..errors import Frame, ThrownException, Trap, TrapCode, UnsupportedError, WasmError
from ..runtime import libcalls
from ..runtime.backtrace import call_site, trap_site, wasm_frame
from ..runtime.exn import ExnRef
from ..runtime.func import Func, call_host
from ..wasm.module import SegmentMode
from ..wasm.types import FuncType, ValType
from . import native
from .emulator import EmulatedMachine
from .fastcalls import fast_target
from .lazy import lazy_code
from .symbols import CodeUnit, unit_at

_MASK32 = 0xFFFFFFFF
_V128 = ValType.V128


def _to_words(types: Sequence[ValType], values: Sequence[int]) -> list[int]:
    """Machine values as the 8-byte words of an argument/result buffer (a v128 is two, the
    low half first)."""
    if _V128 not in types:
        return list(values)
    out: list[int] = []
    for t, v in zip(types, values):
        if t is _V128:
            out += (v & 0xFFFFFFFFFFFFFFFF, v >> 64)
        else:
            out.append(v)
    return out


def _from_words(types: Sequence[ValType], words: Sequence[int]) -> list[int]:
    """The inverse of _to_words."""
    if _V128 not in types:
        return list(words)
    out, k = [], 0
    for t in types:
        if t is _V128:
            out.append(words[k] | words[k + 1] << 64)
            k += 2
        else:
            out.append(words[k])
            k += 1
    return out


def _nwords(types: Sequence[ValType]) -> int:
    """Buffer words of a list of values (two for a v128)."""
    return len(types) + sum(1 for t in types if t is _V128)
_MASK64 = 0xFFFFFFFFFFFFFFFF

_U64 = ctypes.c_uint64


def _put(addr: int, value: int) -> None:
    _U64.from_address(addr).value = value & _MASK64


@dataclass(slots=True)
class _HostCall:
    """What HOST_CALL needs for one HostCtx: the Func, the instance calling it (for Caller;
    None when reached through a record the host made), the argument/result types."""

    func: Any
    caller: Any
    nparams: int
    #: the ctypes type of the argument/result buffer (8 bytes a value)
    words: Any
    #: (index, top type) of the reference parameters and results (converted through refs)
    ref_params: tuple
    ref_results: tuple
    #: the signature when it has a v128 (two buffer words each), else None
    v128: Any = None


@dataclass(slots=True)
class _StoreMachine:
    """A store's machine and what its helpers look up: instance by vmctx, host call by ctx."""

    store: Any
    machine: Any
    instances: dict[int, Any] = field(default_factory=dict)
    hosts: dict[int, _HostCall] = field(default_factory=dict)
    #: (caller vmctx or 0, id(Func)) -> (code, ctx) calling that host function from there
    host_targets: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)
    #: trampoline symbol (entry_<sig>, exit_<sig>) -> a unit holding it (a module's own, or
    #: extra trampolines)
    trampolines: dict[str, CodeUnit] = field(default_factory=dict)
    #: id(Tag) (None: the rethrower) -> (the Tag, kept alive for its id; its (code, ctx))
    throwers: dict[Any, tuple] = field(default_factory=dict)
    #: id(Module) -> its data segments' (address, length) in this store (_data_images)
    data_images: dict[int, list] = field(default_factory=dict)
    #: the FuncRef records the host made before the store's first instance are bound (by
    #: that instance's prepare, once its module's exit trampolines are known)
    premade_bound: bool = False


@dataclass(slots=True)
class _InstanceState:
    """An instance's place in its store machine."""

    sm: _StoreMachine
    vmctx: int
    unit: CodeUnit
    #: function index -> (entry trampoline address, code address)
    call_targets: dict[int, tuple[int, int]] = field(default_factory=dict)
    #: the unit's LazyCode under tiered compilation (its background failures are raised from
    #: calls), else None
    tiered: Any = None


def _recursion_limit(e: BaseException | None) -> bool:
    """Whether `e` (what a host function raised) is Python's recursion limit, raised as is or
    wrapped by ctypes while converting the arguments of a call (ctypes.ArgumentError)."""
    return isinstance(e, RecursionError) or (
        type(e).__name__ == "ArgumentError" and "RecursionError" in str(e))


@functools.lru_cache(maxsize=4096)
def _entry_symbol(params: tuple, results: tuple) -> str:
    """The symbol of the entry trampoline for a signature."""
    return "entry_" + sig_key(params, results)


@functools.lru_cache(maxsize=4096)
def _exit_symbol(params: tuple, results: tuple) -> str:
    """The symbol of the exit trampoline for a signature (asked for every host function of
    every instance)."""
    return "exit_" + sig_key(params, results)


def _refs_of(types: Sequence[ValType]) -> tuple:
    return tuple((i, t.top) for i, t in enumerate(types) if t.is_ref)


@functools.lru_cache(maxsize=4096)
def _host_shape(params: tuple, results: tuple) -> tuple:
    """What a _HostCall of a signature holds besides its Func and caller: the argument
    words, the buffer's ctypes type, the reference parameters and results, and whether it
    has a v128 (made once per signature: every instance binds its host imports anew)."""
    return (_nwords(params), _U64 * max(_nwords(params), _nwords(results), 1),
            _refs_of(params), _refs_of(results), _V128 in params or _V128 in results)


class CompiledExecutor:
    """Runs defined functions as machine code of the engine's target, natively or under Unicorn
    (see the module docstring)."""

    def __init__(self, state: EngineState) -> None:
        self.state = state
        settings = state.settings
        self.target = settings.target
        self.emulate = settings.emulate
        self.backend = backend_for(settings)
        self.fuel = settings.consume_fuel
        self.epoch = settings.epoch_interruption
        self.max_stack = settings.max_wasm_stack

    def tls_initialize(self) -> None:
        """Natively: create this thread's entry record (call depth, stack limit) now."""
        if not self.emulate:
            native.tls_initialize()

    # -- the store's machine --------------------------------------------------------------------

    def _machine_for(self, store) -> _StoreMachine:
        sm = store.exec_data
        if sm is not None:
            return sm
        helpers: list[Callable[..., int]] = []
        sm = _StoreMachine(store, None)
        for h in Helper:
            helpers.append(self._helper(sm, h))
        if self.emulate:
            # signals reach spinning code where its epoch checks have a slow path (x86_64)
            slow_path = hasattr(getattr(self.backend, "trampolines", None), "epoch_stubs")
            machine = EmulatedMachine(self.target, store.arena, store.context, helpers,
                                      self.max_stack, self.epoch and slow_path)
            counter = self.state.epoch_counter
            page, size = counter.page
            machine.map_host(page, size, owner=counter)
        else:
            machine = native.NativeMachine(store.arena, store.context, helpers,
                                           self.max_stack, self.epoch,
                                           self.state.settings.signals_based_traps)
        sm.machine = machine
        #: the exception object of a record (an uncaught wasm exception, exec.exceptions)
        machine.exn_at = store.refs.exn_at
        store.exec_data = sm
        store.refs.binder = lambda func, rec: self._bind(sm, func, rec, 0)
        return sm

    def _bind_premade(self, sm: _StoreMachine, instance) -> None:
        """Bind the records the host made before any instance (a linker's WASI functions,
        say): after the first module's exit trampolines are known, so that those reach them
        instead of assembling extra stubs per signature. The records of `instance`'s own
        block are left to its prepare (which binds its imports for it as the caller)."""
        sm.premade_bound = True
        start = instance.funcrefs
        end = start + V.FUNCREF_SIZE * len(instance.funcs)
        for rec, func in list(sm.store.refs.funcs.items()):
            if func.host is not None and not start <= rec < end:
                self._bind(sm, func, rec, 0)

    def _helper(self, sm: _StoreMachine, h: Helper) -> Callable[..., int]:
        if h is Helper.HOST_CALL:
            return self._host_caller(sm)
        fn = getattr(self, "_h_" + h.value, None)
        if fn is None:
            def unsupported(*_regs: int) -> int:
                raise UnsupportedError(f"runtime helper {h.value}")
            return unsupported
        instances = sm.instances
        return lambda vm, *regs: fn(instances[vm], vm, *regs)

    # -- Executor protocol ----------------------------------------------------------------------

    def prepare(self, instance) -> None:
        store = instance.store
        sm = self._machine_for(store)
        machine = sm.machine
        module = instance.module
        unit = self._unit(machine, module)
        for key in unit.trampolines():
            sm.trampolines.setdefault(key, unit)
        if not sm.premade_bound:
            self._bind_premade(sm, instance)
        off = module.info.offsets
        vm = store.arena.alloc(off.size)
        words = store.arena.u64s(vm, off.size // 8)
        words[V.STATE // 8] = store.context
        words[V.HELPERS // 8] = machine.helper_table
        words[V.EPOCH_PTR // 8] = self.state.epoch_counter.address
        words[V.FUNCREFS // 8] = instance.funcrefs
        # canonical types: ids agree across modules
        type_sigs = [signature_id(ty.param_types, ty.result_types) for ty in instance.types]
        words[off.sigs_start // 8:off.sigs_start // 8 + len(type_sigs)] = type_sigs
        for i, mem in enumerate(instance.mems):
            machine.map_memory(mem)
            words[off.memory_base(i) // 8] = mem.base_address()
            mem.mirror_length(vm + off.memory_length(i))
        for i, g in enumerate(instance.globals):
            if i >= off.num_imported_globals:
                g._rehome(vm + off.global_cell(i))      # code reads it in the vmctx
            words[off.global_ptr(i) // 8] = g.cell
        for i, table in enumerate(instance.tables):
            words[off.table_def(i) // 8] = table.tdef
        for i, tag in enumerate(instance.tags):
            words[off.tag_def(i) // 8] = tag.definition
            pair = off.tag_thrower(i) // 8
            words[pair], words[pair + 1] = self._thrower(sm, tag)
        for i, (addr, length) in enumerate(self._data_images(sm, module)):
            words[off.data_segment(i) // 8] = addr
            words[off.data_segment(i) // 8 + 1] = length
        if module.info.rethrows:
            pair = off.rethrower // 8
            words[pair], words[pair + 1] = self._thrower(sm, None)
        st = _InstanceState(sm, vm, unit)
        lazy = getattr(unit, "lazy", None)
        if lazy is not None and lazy.tiered:
            st.tiered = lazy
        instance.exec_state = st
        sm.instances[vm] = instance
        machine.add_vmctx(vm)
        nimp = instance.wasm.num_imported_funcs
        for idx in range(nimp):
            f = instance.funcs[idx]
            code_addr, ctx = self._target(sm, f, vm)
            words[off.import_code(idx) // 8] = code_addr
            words[off.import_vmctx(idx) // 8] = ctx
            self._fill(instance.funcrefs + V.FUNCREF_SIZE * idx, code_addr, ctx, f)
        self._fill_defined(instance, unit, vm, nimp, type_sigs)

    @staticmethod
    def _fill_defined(instance, unit: CodeUnit, vm: int, nimp: int, type_sigs: list[int]
                      ) -> None:
        """The FuncRef records of the instance's defined functions (from index `nimp`), in
        one write: their code, the instance's vmctx and the signature ids of their types."""
        type_indices = instance.wasm.funcs
        n = len(type_indices)
        if not n:
            return
        stride = V.FUNCREF_SIZE // 8
        words = [0] * (stride * n)
        words[V.FUNCREF_CODE // 8::stride] = unit.functions(nimp, n)
        words[V.FUNCREF_VMCTX // 8::stride] = [vm] * n
        words[V.FUNCREF_SIG // 8::stride] = list(map(type_sigs.__getitem__, type_indices))
        (_U64 * len(words)).from_address(instance.funcrefs + V.FUNCREF_SIZE * nimp)[:] = words

    def _unit(self, machine, module) -> CodeUnit:
        """`module`'s code as `machine` runs it: compiled on first call (engine.exec.lazy)
        unless Config.lazy_compilation is off, Config.cache is on (it stores whole modules)
        or the module's whole code is at hand; else the whole module's code. Tiered
        compilation with lazy compilation off compiles every function at once with the
        baseline tier (in worker processes for a large module), then tiers up hot ones."""
        settings = self.state.settings
        eager_tiers = settings.tiered_compilation and not settings.baseline_compilation and \
            not settings.lazy_compilation and self.backend.has_baseline_tier
        if (settings.lazy_compilation or eager_tiers) and settings.cache is None and \
                held_code(module, self.backend) is None and module.wasm_module.funcs:
            lazy = lazy_code(module, self.backend)
            if lazy is not None:
                if eager_tiers:
                    lazy.compile_all(compile_jobs(module))
                return machine.load_lazy(lazy)
        return machine.load(code_for(module, self.backend))

    @staticmethod
    def _fill(rec: int, code_addr: int, ctx: int, f) -> None:
        _put(rec + V.FUNCREF_CODE, code_addr)
        _put(rec + V.FUNCREF_VMCTX, ctx)
        _put(rec + V.FUNCREF_SIG, signature_id(f.ftype.param_types, f.ftype.result_types))

    def _bind(self, sm: _StoreMachine, func, rec: int, caller_vm: int) -> None:
        """Fill FuncRef record `rec` for `func` (a record made outside an instance's block)."""
        if func.host is None and func.instance.exec_state is None:
            return          # its instance's prepare fills it
        code_addr, ctx = self._target(sm, func, caller_vm)
        self._fill(rec, code_addr, ctx, func)

    def _target(self, sm: _StoreMachine, f, caller_vm: int) -> tuple[int, int]:
        """(code, ctx) that calls Func f from machine code of this store."""
        if f._store is not sm.store:
            raise WasmError("a function of a different Store cannot be called from this one")
        if f.host is None:
            st: _InstanceState = f.instance.exec_state
            return st.unit.function(f.index), st.vmctx
        key = (caller_vm, id(f))
        target = sm.host_targets.get(key)
        if target is None:
            target = sm.host_targets[key] = self._host_target(sm, f, caller_vm)
        return target

    @staticmethod
    def _data_images(sm: _StoreMachine, module) -> list[tuple[int, int]]:
        """(address, length) per data segment of `module` for memory.init in machine code:
        the store's copy of each passive segment (made once per store and module); an active
        segment's length is 0 (instantiation applies it, then it is dropped)."""
        images = sm.data_images.get(id(module))
        if images is None:
            images = []
            for seg in module.wasm_module.datas:
                if seg.mode != SegmentMode.PASSIVE or not seg.data:
                    images.append((0, 0))
                    continue
                addr = sm.store.arena.alloc(len(seg.data))
                ctypes.memmove(addr, seg.data, len(seg.data))
                images.append((addr, len(seg.data)))
            sm.data_images[id(module)] = images
        return images

    def _thrower(self, sm: _StoreMachine, tag) -> tuple[int, int]:
        """(code, ctx) of what `throw` of `tag` calls (None: throw_ref's rethrower): a host
        function raising the exception, which its exit trampoline's trap path unwinds. One
        per tag (and one rethrower) per store: every instance that has the tag shares it."""
        key = None if tag is None else id(tag)
        made = sm.throwers.get(key)
        if made is None:
            made = sm.throwers[key] = (tag, self._new_thrower(sm, tag))
        return made[1]

    def _new_thrower(self, sm: _StoreMachine, tag) -> tuple[int, int]:
        store = sm.store
        if tag is None:
            def rethrow(exn):
                raise ThrownException(exn)
            f = Func(store, FuncType([ValType.EXNREF], []), rethrow)
        else:
            params = tag._type.functype.param_types

            def throw(*fields):
                raise ThrownException(ExnRef(store, tag, fields))
            f = Func(store, FuncType([t.top for t in params], []), throw)
        return self._host_target(sm, f, 0, fast=False)

    def _host_target(self, sm: _StoreMachine, f, caller_vm: int, fast: bool = True
                     ) -> tuple[int, int]:
        """A new (code, ctx) for host Func f called from the instance at caller_vm: its
        HostCtx and exit trampoline, or natively its fast path in front of them."""
        ctx = sm.store.arena.alloc(V.HOSTCTX_SIZE)
        _put(ctx + V.HOSTCTX_STATE, sm.store.context)
        _put(ctx + V.HOSTCTX_ID, len(sm.hosts))
        _put(ctx + V.HOSTCTX_HELPERS, sm.machine.helper_table)
        ty = f.ftype
        nparams, words, ref_params, ref_results, wide = _host_shape(ty.param_types,
                                                                    ty.result_types)
        sm.hosts[ctx] = _HostCall(f, sm.instances.get(caller_vm), nparams, words, ref_params,
                                  ref_results, ty if wide else None)
        target = self._trampoline(sm, _exit_symbol(ty.param_types, ty.result_types),
                                  ty), ctx
        if self.emulate or not fast:
            return target
        return fast_target(sm.machine, sm.store.arena, self.backend, f,
                           sm.instances.get(caller_vm), target) or target

    def _trampoline(self, sm: _StoreMachine, symbol: str, ftype) -> int:
        """The address of trampoline `symbol` (entry_ or exit_ and the key of `ftype`) in
        the store's machine: in a unit loaded there, or in extra trampolines loaded now (a
        type no module of the store declares, reached through a table; or one a lazy unit
        leaves out: engine.exec.lazy.host_signatures)."""
        unit = sm.trampolines.get(symbol)
        if unit is None:
            compile_ = getattr(self.backend, "compile_trampolines", None)
            if compile_ is None:
                raise UnsupportedError(f"{self.target}: calling a function of type {ftype} "
                                       f"that the module does not declare")
            unit = sm.trampolines[symbol] = sm.machine.load(
                _extra_trampolines(self.backend, compile_, symbol, ftype))
        return unit.address(symbol)

    def call(self, instance, func_index: int, args: Sequence[Any]) -> Sequence[Any]:
        st: _InstanceState = instance.exec_state
        f = instance.funcs[func_index]
        ty = f.ftype
        refs = instance.store.refs
        raw = [refs.word(t.top, a) if t.is_ref else a
               for t, a in zip(ty.params, args)]
        wide = _V128 in ty.params or _V128 in ty.results
        if wide:
            raw = _to_words(ty.params, raw)
        target = st.call_targets.get(func_index)
        if target is None:
            target = st.call_targets[func_index] = (
                self._trampoline(st.sm, _entry_symbol(ty.param_types, ty.result_types), ty),
                st.unit.address(func_symbol(func_index)))
        entry, code_addr = target
        machine = st.sm.machine
        tiered = st.tiered
        if tiered is not None and tiered.failures:
            tiered.raise_failure()
        try:
            out = machine.call(entry, st.vmctx, code_addr, raw,
                               _nwords(ty.results) if wide else len(ty.results))
            if wide:
                out = _from_words(ty.results, out)
            if tiered is not None and tiered.failures:
                tiered.raise_failure()     # a background compile failed during the call
        except Trap as e:
            if e.trap_code is not None and not e.frames and machine.trap_pc:
                e.frames = self._backtrace(st.sm, machine, e.trap_code)
            # a fuel check traps when the store's fuel minus the units the function has not
            # charged yet is <= 0: none is left (as in wasmtime, which stores its count then)
            if e.trap_code == TrapCode.OUT_OF_FUEL:
                instance.store._fuel = 0
            raise
        return [_from_machine(refs, t, v) for t, v in zip(ty.results, out)]

    def _backtrace(self, sm: _StoreMachine, machine, code: TrapCode) -> list[Frame]:
        """The wasm frames of the trap `machine` just took, innermost first (`_chain`, read
        by helper BACKTRACE while the stack held them, or now where the stack outlives the
        call: an emulator's). Offsets as backtrace says: the trapping instruction, then each
        caller's call of the frame inside it."""
        chain, machine.trap_chain = machine.trap_chain, None
        if chain is None:
            if not machine.stack_kept:
                return []
            chain = self._chain(machine, machine.trap_pc, machine.trap_fp)
        frames: list[Frame] = []
        callee = None
        sites: dict[tuple, int | None] = {}
        for unit, idx in chain:
            inst = _instance_of(sm, unit)
            if inst is None:
                break
            key = (id(unit), idx, id(callee))
            if key not in sites:
                sites[key] = trap_site(inst.wasm, idx, code) if callee is None else \
                    call_site(inst, idx, callee)
            frames.append(wasm_frame(inst.wasm, idx, sites[key]))
            callee = inst.funcs[idx]
        return frames

    def _chain(self, machine, pc: int, fp: int) -> list[tuple[CodeUnit, int]]:
        """(unit, function index) of the wasm frames from a trap at `pc` whose function's
        frame pointer is `fp` (every trap path has a frame: the backends' trap_stub): its
        callers' along the chain of frame pointers (backend trampolines.FRAME_LINK /
        FRAME_RETURN), until a return address is not in a wasm function (the entry
        trampoline's). A return address is just past its call: the call itself is the byte
        before it."""
        tr = self.backend.trampolines
        link, ret = tr.FRAME_LINK, tr.FRAME_RETURN
        units = machine.units
        chain: list[tuple[CodeUnit, int]] = []
        moved = False
        while len(chain) < MAX_BACKTRACE:
            unit = unit_at(units, pc)
            idx = None if unit is None else unit.function_at(pc)
            if idx is None:
                break
            if not moved:       # (the activation that moved to the frame inside is that one)
                chain.append((unit, idx))
            moved = unit.moved_at(pc)
            if not fp:
                break
            pc, up = _U64.from_address(fp + ret).value - 1, _U64.from_address(fp + link).value
            if up <= fp:        # the chain only ever goes up the stack
                break
            fp = up
        return chain

    # -- runtime helpers ------------------------------------------------------------------------

    @staticmethod
    def _status(op: Callable[[], None]) -> int:
        """A libcall's outcome as the helper convention returns it: 0, or trap code + 1."""
        try:
            op()
        except Trap as t:
            return int(t.trap_code) + 1
        return 0

    def _h_memory_grow(self, instance, vm, mem, delta, *_):
        old = libcalls.memory_grow(instance.mems[mem], delta & _MASK32)
        return _MASK32 if old < 0 else old

    def _h_memory_init(self, instance, vm, mem, seg, dst, src, n):
        return self._status(lambda: libcalls.memory_init(
            instance, instance.mems[mem], seg, dst & _MASK32, src & _MASK32, n & _MASK32))

    def _h_data_drop(self, instance, vm, seg, *_):
        libcalls.data_drop(instance, seg)
        _put(vm + instance.module.info.offsets.data_segment(seg) + 8, 0)  # for machine code
        return 0

    def _h_table_grow(self, instance, vm, table, init, delta, *_):
        tab = instance.tables[table]
        old = libcalls.table_grow(tab, delta & _MASK32, tab.value_of(init))
        return _MASK32 if old < 0 else old

    def _h_table_fill(self, instance, vm, table, dst, val, n, *_):
        tab = instance.tables[table]
        value = tab.value_of(val)
        return self._status(lambda: libcalls.table_fill(tab, dst & _MASK32, value, n & _MASK32))

    def _h_table_copy(self, instance, vm, dt, stb, dst, src, n):
        d, s = instance.tables[dt], instance.tables[stb]
        return self._status(
            lambda: libcalls.table_copy(d, s, dst & _MASK32, src & _MASK32, n & _MASK32))

    def _h_table_init(self, instance, vm, table, seg, dst, src, n):
        tab = instance.tables[table]
        return self._status(lambda: libcalls.table_init(
            instance, tab, seg, dst & _MASK32, src & _MASK32, n & _MASK32))

    def _h_elem_drop(self, instance, vm, seg, *_):
        libcalls.elem_drop(instance, seg)
        return 0

    def _h_backtrace(self, instance, vm, fp, pc, *_):
        """The trap stub's call (natively the frames' stack is reused once the entry returns):
        record the trap's chain of frames on the store's machine for `_backtrace`."""
        machine = instance.exec_state.sm.machine
        machine.trap_chain = self._chain(machine, pc, fp)
        return 0

    def _h_lazy_compile(self, instance, vm, index, *_):
        """Compile defined function `index` of the instance's module on its first call; its
        code address (engine.exec.lazy). The FuncRef records of the function in this store's
        instances of the module (call_indirect, ref.func, calls from the host) then point at
        the code itself, past the stub, if it is its code for good (counted baseline code is
        reached through the stub until the optimised code replaces it)."""
        st: _InstanceState = instance.exec_state
        lazy = st.unit.lazy
        addr = lazy.compile(index)
        if lazy.final(index) == addr:
            self._point_funcrefs(st, index, addr)
        return addr

    def _h_tier_up(self, instance, vm, request, *_):
        """A defined function is hot in its baseline code (tiered compilation): queue it for
        the background compiler (engine.exec.lazy), which points its FuncRef records in this
        store at the optimised code once installed; returns at once. From a loop header
        (backends.base.osr_request), the address of that loop's on-stack replacement entry
        once there is one, else 0."""
        st: _InstanceState = instance.exec_state
        index, loop = tier_up_request(request)
        try:
            return st.unit.lazy.hot(index, loop,
                                    lambda addr: self._point_funcrefs(st, index, addr))
        except BaseException as e:      # (a KeyboardInterrupt, a bug): raised when the call
            st.sm.machine.pending = e   # returns; what returns here is a code address
            return 0

    @staticmethod
    def _point_funcrefs(st: _InstanceState, index: int, addr: int) -> None:
        """Point function `index`'s FuncRef records in the store's instances of st's unit
        at `addr`."""
        for other in list(st.sm.instances.values()):    # (a background thread too)
            if other.exec_state.unit is st.unit:
                _put(other.funcrefs + V.FUNCREF_SIZE * index + V.FUNCREF_CODE, addr)

    def _h_epoch(self, instance, vm, *_):
        """The epoch check's slow path (x86_64): the epoch reached the store's deadline, or a
        signal zeroed the context's deadline so the code would come here
        (native.SignalBridge). Puts the Store's deadline back, runs pending Python signal
        handlers (their exception, such as KeyboardInterrupt, leaves the call), then traps
        INTERRUPT only if the epoch really reached the deadline."""
        store = instance.store
        store._epoch_deadline = store._deadline
        native.check_signals()
        deadline = store._deadline      # a handler may have moved it
        store._epoch_deadline = deadline
        return 1 if self.state.epoch_counter.value >= deadline else 0

    @staticmethod
    def _host_caller(sm: _StoreMachine) -> Callable[..., int]:
        """Helper HOST_CALL(host_ctx, buf) of a store machine: the HostCall of host_ctx, its
        arguments read from buf, its results written back (see the module docstring)."""
        hosts, refs = sm.hosts, sm.store.refs

        def host_call(ctx: int, buf: int, *_: int) -> int:
            h = hosts[ctx]
            words = h.words.from_address(buf)
            args = words[:h.nparams]
            if h.v128 is not None:
                args = _from_words(h.v128.params, args)
            for i, top in h.ref_params:
                args[i] = refs.value(top, args[i])
            try:
                results = call_host(h.func, args, h.caller)
            except Exception as e:
                cause = e.__cause__ if isinstance(e, Trap) and e.trap_code is None else e
                if _recursion_limit(cause):
                    raise Trap("call stack exhausted: calls nested through the host reached "
                               "Python's recursion limit", TrapCode.STACK_OVERFLOW) from None
                raise
            for i, top in h.ref_results:
                results[i] = refs.word(top, results[i])
            if h.v128 is not None:
                results = _to_words(h.v128.results, results)
            if len(results) == 1:
                words[0] = results[0]
            elif results:
                words[:len(results)] = results
            return 0
        return host_call


def _from_machine(refs, t: ValType, v: int) -> Any:
    if t.is_ref:
        return refs.value(t.top, v)
    if t is ValType.I32 or t is ValType.F32:
        return v & _MASK32
    return v


#: the most frames a machine-code trap's backtrace lists (a stack overflow's recursion is
#: tens of thousands deep; the frames beyond these are left out)
MAX_BACKTRACE = 100_000


def _instance_of(sm: _StoreMachine, unit: CodeUnit):
    """An instance of the store whose code is `unit` (any one: they run the same code)."""
    for inst in sm.instances.values():
        if inst.exec_state.unit is unit:
            return inst
    return None


#: (backend class, ISA features, trampoline symbol) -> CompiledCode of extra trampolines,
#: per process
_EXTRA_TRAMPOLINES: dict[tuple, Any] = {}


def _extra_trampolines(backend, compile_trampolines, symbol: str, ftype):
    k = (type(backend), backend.features, symbol)
    code = _EXTRA_TRAMPOLINES.get(k)
    if code is None:
        sig = [(ftype.param_types, ftype.result_types)]
        entry = symbol.startswith("entry_")
        code = _EXTRA_TRAMPOLINES[k] = compile_trampolines(sig if entry else (),
                                                           () if entry else sig)
    return code
