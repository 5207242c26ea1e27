"""The runtime executor for emulated engines (``Config(target=...)`` on a foreign host, or
``emulate=True``): engine.exec.compiled.CompiledExecutor's boundary protocol and runtime
helpers, with the code running under Unicorn (engine.exec.emulator.EmulatedMachine).

Linear memories stay the runtime's own host mappings (Memory.buf): each is mapped into the
emulated address space at its host address with Unicorn's ``mem_map_ptr``, so the vmctx memory
base written by the shared protocol is valid for guest code, and the helpers' direct ctypes
accesses see what the guest sees. A memory that moved (grown by the host or by memory.grow) is
re-mapped before code runs again. The engine's epoch page is mapped the same way, so
Engine.increment_epoch() from any thread reaches running guest code.

Limits: a host function may not call back into emulated wasm (EmulatedMachine refuses
re-entry with UnsupportedError); a host function whose type the module never declares cannot be
put in a table (no exit trampoline is compiled for it)."""

from __future__ import annotations

from ..errors import UnsupportedError
from ..runtime import vmctx as V
from .compiled import CompiledExecutor, _SigIds, _State
from .space import write_u64


class _EmuState(_State):
    """_State plus the memory mappings made in this instance's emulator."""

    __slots__ = ("mapped",)


class EmulatedExecutor(CompiledExecutor):
    """CompiledExecutor whose machines are Unicorn emulators for the engine's target."""

    def __init__(self, engine) -> None:
        from .precompiled import backend_for
        super().__init__(engine)
        self.backend = backend_for(engine)

    def prepare(self, instance) -> None:
        from backends.base import Helper, func_symbol
        from .emulator import EmulatedMachine
        from .precompiled import map_epoch_page
        code = self._code_for(instance.module)
        helpers = [self._helper(instance, h) for h in Helper]
        machine = EmulatedMachine(code.compiled, helpers)
        off = code.info.offsets
        sp = machine.space
        vm = sp.alloc(off.size)
        nfuncs = len(instance.wasm.func_type_indices())
        funcrefs = sp.alloc(V.FUNCREF_SIZE * max(nfuncs, 1))
        st = _EmuState(machine, vm, funcrefs, offsets=off)
        st.mapped = {}       # memory index -> (address, size) mapped into the emulator
        instance.exec_state = st
        write_u64(sp, vm + V.STATE, machine.state)
        write_u64(sp, vm + V.HELPERS, machine.helper_table)
        write_u64(sp, vm + V.FUNCREFS, funcrefs)
        st.epoch_cell = sp.alloc(8)
        write_u64(sp, vm + V.EPOCH_PTR, map_epoch_page(machine, self.engine) if self.epoch
                  else st.epoch_cell)
        for t, ty in enumerate(instance.wasm.types):
            write_u64(sp, vm + off.sig_id(t), _SigIds.of(ty.params, ty.results))
        for i, _ in enumerate(instance.globals):
            write_u64(sp, vm + off.global_ptr(i), sp.alloc(V.GLOBAL_CELL_SIZE))
        st.table_arrays = [(0, 0)] * len(instance.tables)
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
        self._map_memories(instance)

    def _foreign_target(self, st: _State, f) -> tuple[int, int]:
        from backends.base import sig_key
        key = "exit_" + sig_key(f.ftype.params, f.ftype.results)
        if key not in st.machine.symbols:
            raise UnsupportedError(f"emulated code calling a host function of type {f.ftype} "
                                   f"that the module does not declare")
        return super()._foreign_target(st, f)

    def _map_memories(self, instance) -> None:
        """Map every memory's current host buffer into the emulator at its host address."""
        from unicorn import UC_PROT_READ, UC_PROT_WRITE
        st = instance.exec_state
        uc = st.machine.uc
        for i, mem in enumerate(instance.mems):
            want = (mem.base_address(), len(mem.buf))
            have = st.mapped.get(i)
            if have == want:
                continue
            if have is not None and not any(v == have for k, v in st.mapped.items() if k != i):
                uc.mem_unmap(*have)
            if not any(v == want for v in st.mapped.values()):
                uc.mem_map_ptr(want[0], want[1], UC_PROT_READ | UC_PROT_WRITE, want[0])
            st.mapped[i] = want

    def _sync_in(self, instance) -> None:
        self._map_memories(instance)
        super()._sync_in(instance)

    def _h_memory_grow(self, instance, vm, mem, delta, *rest):
        result = super()._h_memory_grow(instance, vm, mem, delta, *rest)
        self._map_memories(instance)
        return result
