"""The machine-code executor for the runtime (engine.runtime.executor.Executor): compiles a
module's IR with the backend of the Config's target, runs it natively (host target) or under
Unicorn (Config.emulate, or a foreign target), and keeps the runtime's store objects (Memory,
Table, Global, Func) authoritative. Under Unicorn, linear memories are the runtime's own host
buffers mapped into the guest (mem_map_ptr), so helpers and the API see the same bytes.

Boundary protocol: the vmctx mirrors the store objects while wasm code runs. On every entry
into wasm code and after every host call returns ("sync in") memory bases/lengths, global
values, table contents, fuel and the epoch are copied into the vmctx; before every host call,
table helper and on return or trap ("sync out") mutable globals, tables and fuel are copied
back. Memories are shared directly (the vmctx points at Memory.base_address(), which growth
does not move; growth updates the length).
References in machine code: a funcref is a FuncRef record address (0 for null); an externref is
a handle into a per-instance list (0 for null). Calls to host functions and to functions of
other instances go through exit trampolines and `engine.runtime.func.invoke`.
"""

from __future__ import annotations

import operator
import struct
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from backends.base import func_symbol, sig_key
from ..compile.driver import code_for
from ..compile.environment import EngineState
from ..compile.registry import backend_for
from ..environ import vmctx as V
from ..environ.helpers import Helper
from ..environ.signatures import signature_id
from ..errors import Trap, TrapCode, UnsupportedError
from ..runtime import libcalls
from ..runtime.backtrace import trap_site, wasm_frame
from ..runtime.func import invoke
from ..wasm.types import ValType
from . import native
from .fastcalls import fast_target
from .emulator import EmulatedMachine
from .space import read_u64, write_u64

_MASK32 = 0xFFFFFFFF
_MASK64 = 0xFFFFFFFFFFFFFFFF


_I64_MAX = (1 << 63) - 1


@dataclass(slots=True)
class _State:
    """An instance's machine, vmctx and reference bookkeeping."""

    machine: Any
    vmctx: int
    funcrefs: int
    records: dict[int, Any] = field(default_factory=dict)     # record address -> Func
    record_of: dict[int, int] = field(default_factory=dict)   # id(Func) -> record address
    foreign: list[Any] = field(default_factory=list)          # HostCtx id -> Func
    externs: list[Any] = field(default_factory=list)          # handle - 1 -> object
    extern_of: dict[int, int] = field(default_factory=dict)   # id(object) -> handle
    table_arrays: list[tuple[int, int]] = field(default_factory=list)  # (address, capacity)
    #: per table, what the machine array and Table.elements held at the last sync (elements
    #: list copy, array bytes), so an unchanged table is not converted again; None: no sync yet
    table_synced: list[tuple[list, bytes] | None] = field(default_factory=list)
    epoch_cell: int = 0
    offsets: Any = None
    #: function index -> (its entry trampoline's symbol, its code address)
    call_targets: dict[int, tuple[str, int]] = field(default_factory=dict)
    #: fuel held back from the vmctx's i64 at the last sync in (the store's fuel above 2**63-1)
    fuel_reserve: int = 0


def _recursion_limit(e: BaseException | None) -> bool:
    """Whether `e` (what a host function raised) is Python's recursion limit, raised as is or
    wrapped by ctypes while converting the arguments of a call (ctypes.ArgumentError)."""
    return isinstance(e, RecursionError) or (
        type(e).__name__ == "ArgumentError" and "RecursionError" in str(e))


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

    # -- Executor protocol ----------------------------------------------------------------------

    def prepare(self, instance) -> None:
        module = instance.module
        compiled = code_for(module, self.backend)
        helpers = [self._helper(instance, h) for h in Helper]
        if self.emulate:
            machine = EmulatedMachine(compiled, helpers, self.max_stack)
        else:
            machine = native.NativeMachine(compiled, helpers, self.max_stack, self.epoch)
        off = module.info.offsets
        sp = machine.space
        vm = sp.alloc(off.size)
        nfuncs = len(instance.wasm.func_type_indices())
        funcrefs = sp.alloc(V.FUNCREF_SIZE * max(nfuncs, 1))
        st = _State(machine, vm, funcrefs, offsets=off)
        instance.exec_state = st
        write_u64(sp, vm + V.STATE, machine.state)
        write_u64(sp, vm + V.HELPERS, machine.helper_table)
        write_u64(sp, vm + V.FUNCREFS, funcrefs)
        st.epoch_cell = self._epoch_pointer(machine)
        write_u64(sp, vm + V.EPOCH_PTR, st.epoch_cell)
        for t, ty in enumerate(instance.wasm.types):
            write_u64(sp, vm + off.sig_id(t), signature_id(ty.params, ty.results))
        for i, g in enumerate(instance.globals):
            cell = sp.alloc(V.GLOBAL_CELL_SIZE)
            write_u64(sp, vm + off.global_ptr(i), cell)
        st.table_arrays = [(0, 0)] * len(instance.tables)
        st.table_synced = [None] * len(instance.tables)
        nimp = instance.wasm.num_imported_funcs
        for idx, f in enumerate(instance.funcs):
            rec = funcrefs + V.FUNCREF_SIZE * idx
            if idx < nimp:
                code_addr, ctx = self._foreign_target(st, f)
                if not self.emulate:
                    fast = fast_target(machine, self.backend, f, (code_addr, ctx),
                                       self._memory_def(instance, vm))
                    if fast is not None:
                        code_addr, ctx = fast
                write_u64(sp, vm + off.import_code(idx), code_addr)
                write_u64(sp, vm + off.import_vmctx(idx), ctx)
            else:
                code_addr, ctx = machine.address(func_symbol(idx)), vm
            write_u64(sp, rec + V.FUNCREF_CODE, code_addr)
            write_u64(sp, rec + V.FUNCREF_VMCTX, ctx)
            write_u64(sp, rec + V.FUNCREF_SIG, signature_id(f.ftype.params, f.ftype.results))
            st.records[rec] = f
            st.record_of.setdefault(id(f), rec)

    @staticmethod
    def _memory_def(instance, vm: int) -> int | None:
        """The address of the (base, length) record of the instance's memory exported as
        "memory" (what WASI fast paths read), or None."""
        mem = instance.export_map.get("memory")
        for i, m in enumerate(instance.mems):
            if m is mem:
                return vm + instance.module.info.offsets.memory_base(i)
        return None

    def _epoch_pointer(self, machine) -> int:
        """The engine's epoch counter as the code sees it: its address natively, its page
        mapped into the guest under emulation (so Engine.increment_epoch reaches running code)."""
        counter = self.state.epoch_counter
        if not self.emulate:
            return counter.address
        page, size = counter.page
        return machine.map_host(("epoch",), page, size, owner=counter) + (counter.address - page)

    def call(self, instance, func_index: int, args: Sequence[Any]) -> Sequence[Any]:
        st: _State = instance.exec_state
        f = instance.funcs[func_index]
        ty = f.ftype
        raw = [self._to_machine(st, t, a) for t, a in zip(ty.params, args)]
        target = st.call_targets.get(func_index)
        if target is None:
            target = st.call_targets[func_index] = (
                "entry_" + sig_key(ty.params, ty.results),
                st.machine.address(func_symbol(func_index)))
        entry, code_addr = target
        self._sync_in(instance)
        out_of_fuel = False
        try:
            out = st.machine.call(entry, st.vmctx, code_addr, raw, len(ty.results))
        except Trap as e:
            if e.trap_code is not None and not e.frames and st.machine.trap_pc:
                # name the function whose code trapped (the innermost frame)
                idx = st.machine.function_at(st.machine.trap_pc)
                if idx is not None:
                    e.frames = [wasm_frame(instance.wasm, idx,
                                           trap_site(instance.wasm, idx, e.trap_code))]
            # a fuel check traps when the store's fuel minus the units the function has not
            # charged yet is <= 0: none is left (as in wasmtime, which stores its count then)
            out_of_fuel = e.trap_code == TrapCode.OUT_OF_FUEL
            raise
        finally:
            self._sync_out(instance)
            if out_of_fuel:
                instance.store._fuel = 0
        return [self._from_machine(st, t, v) for t, v in zip(ty.results, out)]

    # -- references -----------------------------------------------------------------------------

    def _foreign_target(self, st: _State, f) -> tuple[int, int]:
        """(code, ctx) calling Func f through an exit trampoline and the runtime."""
        sp = st.machine.space
        ctx = sp.alloc(V.HOSTCTX_SIZE)
        write_u64(sp, ctx + V.HOSTCTX_STATE, st.machine.state)
        write_u64(sp, ctx + V.HOSTCTX_ID, len(st.foreign))
        write_u64(sp, ctx + V.HOSTCTX_HELPERS, st.machine.helper_table)
        st.foreign.append(f)
        key = "exit_" + sig_key(f.ftype.params, f.ftype.results)
        if not st.machine.has_symbol(key):
            # a function of a type this module never declares (reached through a table)
            stubs = getattr(self.backend, "compile_exit_stubs", None)
            if stubs is None:
                raise UnsupportedError(f"{self.target}: calling a function of type {f.ftype} "
                                       f"that the module does not declare")
            st.machine.add_code(stubs([(f.ftype.params, f.ftype.results)]))
        return st.machine.address(key), ctx

    def _record(self, st: _State, f) -> int:
        rec = st.record_of.get(id(f))
        if rec is not None:
            return rec
        sp = st.machine.space
        rec = sp.alloc(V.FUNCREF_SIZE)
        code_addr, ctx = self._foreign_target(st, f)
        write_u64(sp, rec + V.FUNCREF_CODE, code_addr)
        write_u64(sp, rec + V.FUNCREF_VMCTX, ctx)
        write_u64(sp, rec + V.FUNCREF_SIG, signature_id(f.ftype.params, f.ftype.results))
        st.records[rec] = f
        st.record_of[id(f)] = rec
        return rec

    def collect(self, instance) -> None:
        """Forget every externref handle (no call is running, so none is live in a frame):
        the next entry hands out new ones from the store objects, whose global cells and
        table arrays it rewrites."""
        st: _State | None = instance.exec_state
        if st is None:
            return
        st.externs.clear()
        st.extern_of.clear()
        st.table_synced = [None] * len(st.table_synced)

    def _to_machine(self, st: _State, t: ValType, v: Any) -> int:
        if t is ValType.FUNCREF:
            return 0 if v is None else self._record(st, v)
        if t is ValType.EXTERNREF:
            if v is None:
                return 0
            h = st.extern_of.get(id(v))
            if h is None or st.externs[h - 1] is not v:
                st.externs.append(v)
                h = st.extern_of[id(v)] = len(st.externs)
            return h
        return v

    def _from_machine(self, st: _State, t: ValType, v: int) -> Any:
        if t is ValType.FUNCREF:
            return None if v == 0 else st.records[v]
        if t is ValType.EXTERNREF:
            return None if v == 0 else st.externs[v - 1]
        if t in (ValType.I32, ValType.F32):
            return v & _MASK32
        return v & _MASK64

    # -- synchronisation ------------------------------------------------------------------------

    def _mem_base(self, st: _State, index: int, mem) -> int:
        """Where machine code finds memory `index`: the host address, or its guest mapping."""
        if not self.emulate:
            return mem.base_address()
        return st.machine.map_host(("mem", index), mem.base_address(), mem.length, owner=mem)

    def _sync_in(self, instance) -> None:
        st: _State = instance.exec_state
        sp = st.machine.space
        vm = st.vmctx
        off = instance.exec_state.offsets
        for i, mem in enumerate(instance.mems):
            write_u64(sp, vm + off.memory_base(i), self._mem_base(st, i, mem))
            write_u64(sp, vm + off.memory_length(i), mem.length)
        for i, g in enumerate(instance.globals):
            cell = read_u64(sp, vm + off.global_ptr(i))
            write_u64(sp, cell, self._to_machine(st, g._type.content, g.value_))
        for i, table in enumerate(instance.tables):
            self._table_in(instance, i, table)
        store = instance.store
        if self.fuel:
            # the vmctx holds a signed i64; fuel beyond 2**63-1 waits in the store (no run can
            # consume 2**63 units, so code never sees the difference)
            fuel = store._fuel or 0
            active = min(fuel, _I64_MAX) if fuel > 0 else fuel
            st.fuel_reserve = fuel - active
            write_u64(sp, vm + V.FUEL, active & 0xFFFF_FFFF_FFFF_FFFF)
        if self.epoch:
            write_u64(sp, vm + V.EPOCH_DEADLINE, store._epoch_deadline)

    def _table_in(self, instance, i: int, table) -> None:
        st: _State = instance.exec_state
        sp = st.machine.space
        off = instance.exec_state.offsets
        elements = table.elements
        n = len(elements)
        addr, cap = st.table_arrays[i]
        synced = st.table_synced[i]
        if synced is not None and addr and len(synced[0]) == n and all(
                map(operator.is_, synced[0], elements)):
            return          # the machine array already holds exactly these elements
        if n > cap or addr == 0:
            cap = max(n, 2 * cap, 4)
            addr = sp.alloc(8 * cap)
            st.table_arrays[i] = (addr, cap)
        t = table.element
        data = struct.pack(f"<{n}Q", *(self._to_machine(st, t, e) for e in elements))
        sp.write(addr, data)
        st.table_synced[i] = (list(elements), data)
        write_u64(sp, st.vmctx + off.table_base(i), addr)
        write_u64(sp, st.vmctx + off.table_length(i), n)

    def _sync_out(self, instance) -> None:
        st: _State = instance.exec_state
        sp = st.machine.space
        vm = st.vmctx
        off = instance.exec_state.offsets
        for i, g in enumerate(instance.globals):
            if g._type.mutable:
                cell = read_u64(sp, vm + off.global_ptr(i))
                t = g._type.content
                g.value_ = self._from_machine(st, t, read_u64(sp, cell))
        for i, table in enumerate(instance.tables):
            self._table_out(instance, i, table)
        if self.fuel:
            fuel = read_u64(sp, vm + V.FUEL)
            if fuel >> 63:          # overdrawn since the last check
                fuel -= 1 << 64
            instance.store._fuel = fuel + st.fuel_reserve

    def _table_out(self, instance, i: int, table) -> None:
        st: _State = instance.exec_state
        synced = st.table_synced[i]
        if synced is None or not synced[1]:
            return          # never synced in (no array yet), or empty
        addr, _ = st.table_arrays[i]
        raw = st.machine.space.read(addr, len(synced[1]))
        if raw == synced[1]:
            return          # the code changed nothing since the last sync
        n = len(raw) // 8
        table.elements[:] = [self._from_machine(st, table.element, v)
                             for v in struct.unpack(f"<{n}Q", raw)]
        st.table_synced[i] = (list(table.elements), raw)

    # -- runtime helpers ------------------------------------------------------------------------

    def _helper(self, instance, h: Helper):
        name = "_h_" + h.value
        fn = getattr(self, name, None)
        if fn is None:
            def unsupported(*_regs: int) -> int:
                raise UnsupportedError(f"runtime helper {h.value}")
            return unsupported
        return lambda *regs: fn(instance, *regs)

    @staticmethod
    def _status(op: Callable[[], None]) -> int:
        """A libcall's outcome as the helper convention returns it: 0, or trap code + 1."""
        try:
            op()
        except Trap as t:
            return int(t.trap_code) + 1
        return 0

    def _h_memory_grow(self, instance, vm, mem, delta, *_):
        m = instance.mems[mem]
        old = libcalls.memory_grow(m, delta & _MASK32)
        off = instance.exec_state.offsets
        sp = instance.exec_state.machine.space
        st = instance.exec_state
        write_u64(sp, vm + off.memory_base(mem), self._mem_base(st, mem, m))
        write_u64(sp, vm + off.memory_length(mem), m.length)
        return _MASK32 if old < 0 else old

    def _h_memory_fill(self, instance, vm, mem, dst, val, n, *_):
        return self._status(lambda: libcalls.memory_fill(instance.mems[mem], dst & _MASK32,
                                                         val, n & _MASK32))

    def _h_memory_copy(self, instance, vm, dmem, smem, dst, src, n):
        return self._status(lambda: libcalls.memory_copy(
            instance.mems[dmem], instance.mems[smem], dst & _MASK32, src & _MASK32, n & _MASK32))

    def _h_memory_init(self, instance, vm, mem, seg, dst, src, n):
        return self._status(lambda: libcalls.memory_init(
            instance, instance.mems[mem], seg, dst & _MASK32, src & _MASK32, n & _MASK32))

    def _h_data_drop(self, instance, vm, seg, *_):
        libcalls.data_drop(instance, seg)
        return 0

    def _table_op(self, instance, tables: Sequence[int], op: Callable[[], Any]) -> Any:
        """Run op on Table objects with the machine copy synced out and back in."""
        for t in tables:
            self._table_out(instance, t, instance.tables[t])
        try:
            return op()
        finally:
            for t in tables:
                self._table_in(instance, t, instance.tables[t])

    def _h_table_grow(self, instance, vm, table, init, delta, *_):
        st: _State = instance.exec_state
        tab = instance.tables[table]
        value = self._from_machine(st, tab.element, init)
        old = self._table_op(instance, [table],
                             lambda: libcalls.table_grow(tab, delta & _MASK32, value))
        return _MASK32 if old < 0 else old

    def _h_table_fill(self, instance, vm, table, dst, val, n, *_):
        st: _State = instance.exec_state
        tab = instance.tables[table]
        value = self._from_machine(st, tab.element, val)
        return self._table_op(instance, [table], lambda: self._status(
            lambda: libcalls.table_fill(tab, dst & _MASK32, value, n & _MASK32)))

    def _h_table_copy(self, instance, vm, dt, stb, dst, src, n):
        d, s = instance.tables[dt], instance.tables[stb]
        return self._table_op(instance, sorted({dt, stb}), lambda: self._status(
            lambda: libcalls.table_copy(d, s, dst & _MASK32, src & _MASK32, n & _MASK32)))

    def _h_table_init(self, instance, vm, table, seg, dst, src, n):
        tab = instance.tables[table]
        return self._table_op(instance, [table], lambda: self._status(
            lambda: libcalls.table_init(instance, tab, seg, dst & _MASK32, src & _MASK32,
                                        n & _MASK32)))

    def _h_elem_drop(self, instance, vm, seg, *_):
        libcalls.elem_drop(instance, seg)
        return 0

    def _h_epoch(self, instance, vm, *_):
        """The epoch check's slow path (x86_64): the epoch reached the vmctx's deadline, or a
        signal zeroed that deadline so the code would come here (native.SignalBridge). Puts
        the Store's deadline back, runs pending Python signal handlers (their exception, such
        as KeyboardInterrupt, leaves the call), then traps INTERRUPT only if the epoch really
        reached the deadline."""
        st: _State = instance.exec_state
        sp = st.machine.space
        deadline = instance.store._epoch_deadline
        write_u64(sp, vm + V.EPOCH_DEADLINE, deadline)
        native.check_signals()
        deadline = instance.store._epoch_deadline      # a handler may have moved it
        write_u64(sp, vm + V.EPOCH_DEADLINE, deadline)
        return 1 if read_u64(sp, st.epoch_cell) >= deadline else 0

    def _h_host_call(self, instance, ctx, buf, *_):
        st: _State = instance.exec_state
        sp = st.machine.space
        f = st.foreign[read_u64(sp, ctx + V.HOSTCTX_ID)]
        ty = f.ftype
        raw = struct.unpack(f"<{len(ty.params)}Q", sp.read(buf, 8 * len(ty.params)))
        args = [self._from_machine(st, t, v) for t, v in zip(ty.params, raw)]
        self._sync_out(instance)
        try:
            results = invoke(f, args, instance)
        except Exception as e:
            # a host function's exception arrives as a Trap caused by it; a wasm function of
            # another instance raises its own
            cause = e.__cause__ if isinstance(e, Trap) and e.trap_code is None else e
            if _recursion_limit(cause):
                raise Trap("call stack exhausted: calls nested through the host (re-entry, "
                           "or calls between instances) reached Python's recursion limit",
                           TrapCode.STACK_OVERFLOW) from None
            raise
        finally:
            self._sync_in(instance)
        for i, (t, v) in enumerate(zip(ty.results, results)):
            write_u64(sp, buf + 8 * i, self._to_machine(st, t, v))
        return 0
