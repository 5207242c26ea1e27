"""The machine-code executor for the runtime (engine.runtime.executor.Executor): compiles a
module's IR with the backend of the Config's target, runs it natively (host target) or under
Unicorn (Config.emulate, or a foreign target), and keeps the runtime's store objects (Memory,
Table, Global, Func) authoritative. Under Unicorn, linear memories are the runtime's own host
buffers mapped into the guest (mem_map_ptr), so helpers and the API see the same bytes.

Boundary protocol: the vmctx mirrors the store objects while wasm code runs. On every entry
into wasm code and after every host call returns ("sync in") memory bases/lengths, global
values, table contents, fuel and the epoch are copied into the vmctx; before every host call,
table helper and on return or trap ("sync out") mutable globals, tables and fuel are copied
back. Memories are shared directly (the vmctx points into Memory.buf; growth updates it).
References in machine code: a funcref is a FuncRef record address (0 for null); an externref is
a handle into a per-instance list (0 for null). Calls to host functions and to functions of
other instances go through exit trampolines and `engine.runtime.func.invoke`.
"""

from __future__ import annotations

import ctypes
import operator
import struct
import threading
from dataclasses import dataclass, field
from typing import Any, Sequence

from backends.base import Helper, ModuleInfo, func_symbol, sig_key
from ..errors import Trap, TrapCode, UnsupportedError
from ..runtime import vmctx as V
from ..wasm.types import ValType
from .space import read_u64, write_u64

_MASK32 = 0xFFFFFFFF
_MASK64 = 0xFFFFFFFFFFFFFFFF


class _SigIds:
    """Process-wide structural signature ids (equal FuncTypes share an id, never 0)."""

    lock = threading.Lock()
    ids: dict[tuple, int] = {}

    @classmethod
    def of(cls, params: Sequence, results: Sequence) -> int:
        key = (tuple(params), tuple(results))
        with cls.lock:
            return cls.ids.setdefault(key, len(cls.ids) + 1)


@dataclass(slots=True)
class _ModuleCode:
    compiled: Any
    info: ModuleInfo


class _CodeTable:
    """An executor's compiled code per Module, stored on the Module itself (attribute
    ``_machine_code``: {executor key: _ModuleCode}) so the code lives exactly as long as the
    Module and the executor keeps no Module alive. Accepts the ``table[id(module)] = (module,
    code)`` form engine.exec.precompiled.install_code uses."""

    __slots__ = ("key",)

    def __init__(self, key: tuple) -> None:
        self.key = key

    def lookup(self, module) -> _ModuleCode | None:
        table = module.__dict__.get("_machine_code")
        return None if table is None else table.get(self.key)

    def put(self, module, code: _ModuleCode) -> None:
        module.__dict__.setdefault("_machine_code", {})[self.key] = code

    def __setitem__(self, _module_id: int, entry: tuple[Any, _ModuleCode]) -> None:
        module, code = entry
        self.put(module, code)


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


class CompiledExecutor:
    """Runs defined functions as native x86_64 code (see the module docstring)."""

    def __init__(self, engine) -> None:
        from backends.base import get_backend
        from ..runtime.executor import host_target
        self.engine = engine
        settings = engine.settings
        self.target = settings.get("target") or host_target()
        self.emulate = bool(settings.get("emulate")) or self.target != host_target()
        if self.target == "x86_64":
            from backends.x86_64 import EMULATOR_FEATURES, X86_64Backend
            self.backend = X86_64Backend(EMULATOR_FEATURES if self.emulate else None)
        else:
            self.backend = get_backend(self.target)
        self.fuel = bool(settings.get("consume_fuel"))
        self.epoch = bool(settings.get("epoch_interruption"))
        self.max_stack = int(settings.get("max_wasm_stack") or 512 * 1024)
        self._modules = _CodeTable((self.target, self.emulate, self.fuel, self.epoch,
                                    frozenset(self.backend.features)))

    # -- compilation ----------------------------------------------------------------------------

    def _code_for(self, module) -> _ModuleCode:
        hit = self._modules.lookup(module)
        if hit is not None:
            return hit
        wasm = module.wasm_module
        offsets = V.VMOffsets.for_module(wasm)
        sigs = [(tuple(t.params), tuple(t.results)) for t in wasm.func_types()]
        types = [(tuple(t.params), tuple(t.results)) for t in wasm.types]
        info = ModuleInfo(offsets, sigs, wasm.num_imported_funcs, types,
                          [g.content for g in wasm.global_types()], epoch=self.epoch,
                          fuel=self.fuel)
        compiled = self._cached(module)
        if compiled is None:
            from ..ir.gcpause import gc_paused
            # compilation allocates many short-lived acyclic objects: the cyclic collector's
            # passes over a large heap would cost more than the work
            with gc_paused():
                funcs = [module.ir_function(wasm.num_imported_funcs + i)
                         for i in range(len(wasm.funcs))]
                compiled = self.backend.compile_module(funcs, info, entry_sigs=types,
                                                       exit_sigs=types)
            self._store(module, compiled)
            # the IR is only needed to compile; the interpreter strategy builds its own
            module.__dict__.pop("_ir", None)
        code = _ModuleCode(compiled, info)
        self._modules.put(module, code)
        if getattr(module, "engine", None) is self.engine and \
                getattr(module, "_precompiled", None) is None:
            module._precompiled = compiled      # Module.serialize reuses it
        return code

    def _cached(self, module) -> Any | None:
        """Compiled code from Config.cache (None when off, on a miss or a bad entry)."""
        if self.engine.settings.get("cache") is None:
            return None
        from ..cache import load
        return load(self.engine, module.binary, frozenset(self.backend.features))

    def _store(self, module, compiled) -> None:
        if self.engine.settings.get("cache") is not None:
            from ..cache import store
            store(self.engine, module.binary, frozenset(self.backend.features), compiled)

    # -- Executor protocol ----------------------------------------------------------------------

    def prepare(self, instance) -> None:
        code = self._code_for(instance.module)
        helpers = [self._helper(instance, h) for h in Helper]
        if self.emulate:
            from .emulator import EmulatedMachine
            machine = EmulatedMachine(code.compiled, helpers)
        else:
            from .native import NativeMachine
            machine = NativeMachine(code.compiled, helpers, self.max_stack)
        off = code.info.offsets
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
            write_u64(sp, vm + off.sig_id(t), _SigIds.of(ty.params, ty.results))
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
                write_u64(sp, vm + off.import_code(idx), code_addr)
                write_u64(sp, vm + off.import_vmctx(idx), ctx)
            else:
                code_addr, ctx = machine.address(func_symbol(idx)), vm
            write_u64(sp, rec + V.FUNCREF_CODE, code_addr)
            write_u64(sp, rec + V.FUNCREF_VMCTX, ctx)
            write_u64(sp, rec + V.FUNCREF_SIG, _SigIds.of(f.ftype.params, f.ftype.results))
            st.records[rec] = f
            st.record_of.setdefault(id(f), rec)

    def _epoch_pointer(self, machine) -> int:
        """The engine's epoch counter as the code sees it: its address natively, its page
        mapped into the guest under emulation (so Engine.increment_epoch reaches running code)."""
        counter = getattr(self.engine._state, "epoch_counter", None)
        if counter is None:
            return machine.space.alloc(8)
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
                    e.frames = [instance.wasm.func_name(idx)]
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
        write_u64(sp, rec + V.FUNCREF_SIG, _SigIds.of(f.ftype.params, f.ftype.results))
        st.records[rec] = f
        st.record_of[id(f)] = rec
        return rec

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
        return st.machine.map_host(("mem", index), mem.base_address(), mem.length, owner=mem.buf)

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
    def _oob(code: TrapCode) -> int:
        return int(code) + 1

    def _h_memory_grow(self, instance, vm, mem, delta, *_):
        m = instance.mems[mem]
        old = m.grow_pages(delta & _MASK32)
        off = instance.exec_state.offsets
        sp = instance.exec_state.machine.space
        st = instance.exec_state
        write_u64(sp, vm + off.memory_base(mem), self._mem_base(st, mem, m))
        write_u64(sp, vm + off.memory_length(mem), m.length)
        return _MASK32 if old < 0 else old

    def _h_memory_fill(self, instance, vm, mem, dst, val, n, *_):
        m = instance.mems[mem]
        dst, n = dst & _MASK32, n & _MASK32
        if dst + n > m.length:
            return self._oob(TrapCode.MEMORY_OUT_OF_BOUNDS)
        if n:
            ctypes.memset(m.base_address() + dst, val & 0xFF, n)
        return 0

    def _h_memory_copy(self, instance, vm, dmem, smem, dst, src, n):
        d, s = instance.mems[dmem], instance.mems[smem]
        dst, src, n = dst & _MASK32, src & _MASK32, n & _MASK32
        if dst + n > d.length or src + n > s.length:
            return self._oob(TrapCode.MEMORY_OUT_OF_BOUNDS)
        if n:
            ctypes.memmove(d.base_address() + dst, s.base_address() + src, n)
        return 0

    def _h_memory_init(self, instance, vm, mem, seg, dst, src, n):
        m = instance.mems[mem]
        data = instance.datas[seg]
        dst, src, n = dst & _MASK32, src & _MASK32, n & _MASK32
        if dst + n > m.length or src + n > len(data):
            return self._oob(TrapCode.MEMORY_OUT_OF_BOUNDS)
        if n:
            ctypes.memmove(m.base_address() + dst, bytes(data[src:src + n]), n)
        return 0

    def _h_data_drop(self, instance, vm, seg, *_):
        instance.datas[seg] = b""
        return 0

    def _table_op(self, instance, tables: Sequence[int], op) -> int:
        """Run op on Table objects with the machine copy synced out and back in."""
        st: _State = instance.exec_state
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

        def op() -> int:
            old = tab.grow_elements(delta & _MASK32, value)
            return _MASK32 if old < 0 else old
        return self._table_op(instance, [table], op)

    def _h_table_fill(self, instance, vm, table, dst, val, n, *_):
        st: _State = instance.exec_state
        tab = instance.tables[table]
        value = self._from_machine(st, tab.element, val)
        dst, n = dst & _MASK32, n & _MASK32

        def op() -> int:
            if dst + n > len(tab.elements):
                return self._oob(TrapCode.TABLE_OUT_OF_BOUNDS)
            tab.elements[dst:dst + n] = [value] * n
            return 0
        return self._table_op(instance, [table], op)

    def _h_table_copy(self, instance, vm, dt, stb, dst, src, n):
        d, s = instance.tables[dt], instance.tables[stb]
        dst, src, n = dst & _MASK32, src & _MASK32, n & _MASK32

        def op() -> int:
            if dst + n > len(d.elements) or src + n > len(s.elements):
                return self._oob(TrapCode.TABLE_OUT_OF_BOUNDS)
            d.elements[dst:dst + n] = s.elements[src:src + n]
            return 0
        return self._table_op(instance, sorted({dt, stb}), op)

    def _h_table_init(self, instance, vm, table, seg, dst, src, n):
        tab = instance.tables[table]
        items = instance.elems[seg]
        dst, src, n = dst & _MASK32, src & _MASK32, n & _MASK32

        def op() -> int:
            if dst + n > len(tab.elements) or src + n > len(items):
                return self._oob(TrapCode.TABLE_OUT_OF_BOUNDS)
            tab.elements[dst:dst + n] = items[src:src + n]
            return 0
        return self._table_op(instance, [table], op)

    def _h_elem_drop(self, instance, vm, seg, *_):
        instance.elems[seg] = []
        return 0

    def _h_host_call(self, instance, ctx, buf, *_):
        from ..runtime.func import invoke
        st: _State = instance.exec_state
        sp = st.machine.space
        f = st.foreign[read_u64(sp, ctx + V.HOSTCTX_ID)]
        ty = f.ftype
        raw = struct.unpack(f"<{len(ty.params)}Q", sp.read(buf, 8 * len(ty.params)))
        args = [self._from_machine(st, t, v) for t, v in zip(ty.params, raw)]
        self._sync_out(instance)
        try:
            results = invoke(f, args, instance)
        finally:
            self._sync_in(instance)
        for i, (t, v) in enumerate(zip(ty.results, results)):
            write_u64(sp, buf + 8 * i, self._to_machine(st, t, v))
        return 0
