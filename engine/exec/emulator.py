"""Running compiled code under Unicorn: the same machine code as natively, one Uc per store.
The guest address space is the host's where it matters: the store's arena chunks, its linear
memories, the epoch counter and the code regions are mapped at their host addresses
(mem_map_ptr, shared, never copied), so the runtime objects, native code and emulated code see
the same bytes at the same addresses; so is the guest stack (a host mmap). Only the gate page
is the guest's own. Runtime helpers are gate addresses: a page of `ret` instructions whose slots a code hook
services in Python before the `ret` runs. Traps unwind through the same trap stub as natively.

The target-specific part is `_ARCH` (Unicorn mode, register ids, the return instruction and
how a call's return address is pushed); adding aarch64 or riscv64 means adding an entry."""

from __future__ import annotations

import ctypes
import mmap
import threading
from dataclasses import dataclass
from typing import Callable, Sequence

from backends.base import TRAP_SYMBOL
from ..environ.module_info import GUARDED_RESERVATION
from ..errors import Trap, TrapCode, UnsupportedError, WasmError
from ..environ import vmctx as V
from .space import PAGE, HostSpace, SpaceError, read_u64, round_up, write_u64
from .native import CallbackStubs, code_region, host_sp, native_supported, signal_bridge, \
    thread_stack_low
from .exceptions import HOST_EXCEPTION, end_of_call, helper_status, raise_pending
from .symbols import CodeUnit, unit_at

GATE_BASE = 0x0F00_0000
GATE_SLOT = 16
RETURN_GATE = GATE_BASE + 0x800
STACK_SIZE = 1 << 20
STACK_MARGIN = 64 * 1024
#: the most emulated calls active at once on one thread (wasm -> host -> wasm re-entry, or
#: calls between instances, which go through the host): each is an `emu_start` nested in a
#: hook of the one before, Unicorn allows at most 64 on one engine (UC_MAX_NESTED_LEVEL in
#: its uc_priv.h; the 64th crashes the process) and each holds host C stack. Beyond it a call
#: traps with STACK_OVERFLOW.
MAX_NESTED_CALLS = 48
#: host C stack an emulated call needs free below it (each nested level takes about 5.5 KiB:
#: Unicorn's emu_start, the hook's Python frames, the host call; plus room for the host
#: function itself); checked where the host's stack pointer is known (x86_64 hosts)
HOST_STACK_NEED = 96 * 1024
#: the least a linear memory's guest mapping grows by
MEMORY_STEP = 1 << 20


#: per thread: how many emulated calls are active (on any machine)
_tls = threading.local()


@dataclass(slots=True, frozen=True)
class _Arch:
    mode: int
    arch: int
    ret_bytes: bytes
    arg_regs: tuple[int, ...]
    result_reg: int
    sp: int
    pc: int = 0
    #: the link register (None: calls push the return address on the stack, as x86)
    lr: int | None = None
    #: (register, bits to OR in) set once after the Uc is created
    setup: tuple[tuple[int, int], ...] = ()


def _arch(name: str) -> _Arch:
    import unicorn as U
    from unicorn import x86_const as X
    if name == "x86_64":
        return _Arch(U.UC_MODE_64, U.UC_ARCH_X86, b"\xc3",
                     (X.UC_X86_REG_RDI, X.UC_X86_REG_RSI, X.UC_X86_REG_RDX, X.UC_X86_REG_RCX,
                      X.UC_X86_REG_R8, X.UC_X86_REG_R9), X.UC_X86_REG_RAX, X.UC_X86_REG_RSP,
                     X.UC_X86_REG_RIP)
    if name == "aarch64":
        from unicorn import arm64_const as A
        return _Arch(U.UC_MODE_ARM, U.UC_ARCH_ARM64, bytes.fromhex("c0035fd6"),
                     tuple(getattr(A, f"UC_ARM64_REG_X{i}") for i in range(6)),
                     A.UC_ARM64_REG_X0, A.UC_ARM64_REG_SP, A.UC_ARM64_REG_PC,
                     A.UC_ARM64_REG_X30)
    if name == "riscv64":
        from unicorn import riscv_const as R
        a = tuple(getattr(R, f"UC_RISCV_REG_A{i}") for i in range(6))  # helpers take <= 6
        # ret = jalr zero, 0(ra); mstatus.FS (bit 13) turns the FP unit on
        return _Arch(U.UC_MODE_RISCV64, U.UC_ARCH_RISCV, (0x00008067).to_bytes(4, "little"),
                     a, a[0], R.UC_RISCV_REG_SP, R.UC_RISCV_REG_PC, R.UC_RISCV_REG_RA,
                     ((R.UC_RISCV_REG_MSTATUS, 1 << 13),))
    raise UnsupportedError(f"emulating {name}")


class EmulatedMachine:
    """Runs one store's code under Unicorn (same interface as native.NativeMachine)."""

    HOST_EXCEPTION = HOST_EXCEPTION

    def __init__(self, target: str, arena, state: int, helpers: Sequence[Callable[..., int]],
                 max_stack: int = 512 * 1024, epoch: bool = False) -> None:
        """`epoch`: the code's epoch checks have a slow path (helper EPOCH) that runs Python's
        signal handlers: signals are bridged to it as natively (native.SignalBridge zeroes
        the store context's deadline, which the guest reads in place)."""
        from unicorn import UC_HOOK_CODE, UC_HOOK_MEM_INVALID, UC_PROT_EXEC, UC_PROT_READ, \
            UC_PROT_WRITE, UC_TLB_VIRTUAL, Uc
        self.arch = _arch(target)
        self.uc = uc = Uc(self.arch.arch, self.arch.mode)
        # The guest is a flat address space (guest address = mapping address, no guest page
        # tables): translate through Unicorn's virtual TLB, not the emulated CPU's MMU.
        uc.ctl_set_tlb_mode(UC_TLB_VIRTUAL)
        for reg, bits in self.arch.setup:
            uc.reg_write(reg, uc.reg_read(reg) | bits)
        uc.mem_map(GATE_BASE, PAGE, UC_PROT_READ | UC_PROT_EXEC)
        uc.mem_write(GATE_BASE, self.arch.ret_bytes * (PAGE // len(self.arch.ret_bytes)))
        self.space = HostSpace(arena)
        #: the guest stack: host memory too (host functions read the arguments an exit
        #: trampoline spilled there)
        self._stack = mmap.mmap(-1, STACK_SIZE)
        self.stack_base = ctypes.addressof(ctypes.c_char.from_buffer(self._stack))
        uc.mem_map_ptr(self.stack_base, STACK_SIZE, UC_PROT_READ | UC_PROT_WRITE,
                       self.stack_base)
        #: host buffers mapped into the guest -> mapped size; their owners are kept alive
        #: while this machine lives: Unicorn keeps raw host pointers, so a mapped buffer must
        #: never be freed (and its pages reused by the host) while the emulator can reach it
        self._mapped: dict[int, int] = {}
        self._owners: list[object] = []
        self._owners.append(arena)
        for addr, size in arena.chunks:
            self._map(addr, size, UC_PROT_READ | UC_PROT_WRITE)
        arena.on_chunk.append(self._on_chunk)
        self.state = state
        self.helpers = list(helpers)
        self.helper_table = arena.alloc(8 * max(len(helpers), 1))
        for i in range(len(helpers)):
            write_u64(self.space, self.helper_table + 8 * i, GATE_BASE + GATE_SLOT * i)
        # the gate reads the argument registers and writes the result through Unicorn's C
        # API in one batch (its Python register accessors cost ~20 us per gate)
        from unicorn.unicorn_py3.unicorn import uclib
        n = len(self.arch.arg_regs)
        self._uclib, self._uch = uclib, uc._uch
        self._reg_ids = (ctypes.c_int * n)(*self.arch.arg_regs)
        self._reg_vals = (ctypes.c_uint64 * n)()
        self._reg_ptrs = (ctypes.c_void_p * n)(
            *[ctypes.addressof(self._reg_vals) + 8 * i for i in range(n)])
        self._result = ctypes.c_uint64()
        #: signals reach the code's epoch checks (see __init__)
        self.epoch = epoch and native_supported()
        self._hook_stubs = None
        if native_supported():
            # the gate hook is a C-callable stub of ours (native.CallbackStubs), not a ctypes
            # callback: an exception raised before its Python code runs (a signal handler's
            # KeyboardInterrupt) is kept and stops the emulation, where ctypes would print
            # and drop it and the guest would go on with a garbage helper result
            self._hook_stubs = CallbackStubs(
                [lambda _uc, address, *_: self._gate(uc, address, 0, None) or 0], 0,
                ctypes.cast(uclib.uc_emu_stop, ctypes.c_void_p).value)
            handle = ctypes.c_size_t()
            uclib.uc_hook_add(self._uch, ctypes.byref(handle), UC_HOOK_CODE,
                              ctypes.c_void_p(self._hook_stubs.addresses[0]), None,
                              ctypes.c_uint64(GATE_BASE), ctypes.c_uint64(GATE_BASE + PAGE - 1))
        else:
            uc.hook_add(UC_HOOK_CODE, self._gate, begin=GATE_BASE, end=GATE_BASE + PAGE - 1)
        uc.hook_add(UC_HOOK_MEM_INVALID, self._invalid_access)
        #: the thread running emulated code on this machine (None when none is), and the
        #: memory growth other threads made meanwhile, for that thread to map
        self._emulating: int | None = None
        #: held while `_emulating` changes and while another thread maps grown memory
        self._emulation_lock = threading.Lock()
        self._pending: list[tuple[object, int]] = []
        self.units: list[CodeUnit] = []
        #: the reservations of the guarded memories mapped (Config.signals_based_traps)
        self._guarded: list[tuple[int, int]] = []
        self._unit_of: dict[int, CodeUnit] = {}
        #: (kind, address, size) of the last access to unmapped or protected guest memory
        self.last_fault: tuple[str, int, int] | None = None
        self.pending: BaseException | None = None
        #: where the last trap happened (an address in generated code; 0: in a host function)
        self.trap_pc = 0
        #: the trapping function's frame pointer then (the backtrace's chain starts there)
        self.trap_fp = 0
        #: (unit, function index) of the last trap's frames, when the trap stub recorded them
        #: (helper BACKTRACE), and whether the frames' memory outlives the call (read them
        #: after it)
        self.trap_chain: list | None = None
        self.stack_kept = True
        self.depth = 0
        self.max_stack = max_stack
        #: the stack limit of every call (max_wasm_stack below the guest stack's top, within
        #: its margin): nested calls share its budget
        top = self.stack_base + STACK_SIZE - 64
        self.limit = max(self.stack_base + STACK_MARGIN, top - max_stack)
        self._bufs: list[tuple[int, int]] = []

    def _on_chunk(self, addr: int, size: int) -> None:
        from unicorn import UC_PROT_READ, UC_PROT_WRITE
        self._map(addr, size, UC_PROT_READ | UC_PROT_WRITE)

    def _map(self, addr: int, size: int, prot: int) -> None:
        """Map host [addr, addr + size) at the same guest address (page aligned), or the part
        beyond what is mapped there already."""
        have = self._mapped.get(addr, 0)
        if size > have:
            self.uc.mem_map_ptr(addr + have, size - have, prot, addr + have)
            self._mapped[addr] = size

    def map_host(self, addr: int, size: int, owner: object = None) -> int:
        """Map host memory (page aligned) into the guest at its own address; returns it."""
        from unicorn import UC_PROT_READ, UC_PROT_WRITE
        self._map(addr, round_up(size, PAGE), UC_PROT_READ | UC_PROT_WRITE)
        if owner is not None and not any(o is owner for o in self._owners):
            self._owners.append(owner)
        return addr

    def map_memory(self, mem) -> None:
        """Map a linear memory's committed pages at its host address, and its growth later,
        in steps that at least double (mapping inside a running emulation flushes its
        translations, about 10 ms: one-page growth mapped page by page cost that each time)."""
        base = mem.base_address() if hasattr(mem, "base_address") else mem.base
        if base in self._mapped:
            return
        if getattr(mem, "guarded", False):
            # bounds left to guard pages: exactly the memory's pages are mapped, an access
            # past them faults (_guard_fault)
            self._guarded.append((base, base + GUARDED_RESERVATION))
            self._owners.append(mem)
            self._mapped[base] = 0
            self._map_exact(mem, base)
        else:
            self.map_host(base, mem.committed(), owner=mem)

        def grown(m, b=base) -> None:
            # under the lock: mapping releases the GIL, and an emulation starting meanwhile
            # in another thread would run beside it (the lock holds that start back)
            with self._emulation_lock:
                running = self._emulating
                if running is not None and running != threading.get_ident():
                    # grown by another thread while this one emulates: Unicorn is not
                    # thread-safe, so the emulating thread maps it, when its code first
                    # touches the new pages (_invalid_access) or at its next call
                    self._pending.append((m, b))
                    return
                self._map_growth(m, b)
        mem.watchers.append(grown)

    def _map_growth(self, m, base: int) -> None:
        if getattr(m, "guarded", False):
            self._map_exact(m, base)
            return
        have = self._mapped[base]
        if m.length > have:
            self.map_host(base, m.commit_ahead(max(m.length, 2 * have, MEMORY_STEP)))

    def _map_exact(self, m, base: int) -> None:
        from unicorn import UC_PROT_READ, UC_PROT_WRITE
        self._map(base, m.length, UC_PROT_READ | UC_PROT_WRITE)

    def _guard_fault(self) -> int | None:
        """After emulation stopped at an invalid access: the trap stub to resume at when the
        access was wasm code's, inside a guarded memory's reservation (the MEMORY_OUT_OF_BOUNDS
        an explicit check would have raised), else None."""
        if self.last_fault is None or not self._guarded:
            return None
        address = self.last_fault[1]
        if not any(lo <= address < hi for lo, hi in self._guarded):
            return None
        pc = self.uc.reg_read(self.arch.pc)
        unit = unit_at(self.units, pc)
        if unit is None or unit.function_at(pc) is None or TRAP_SYMBOL not in unit:
            return None
        return unit.address(TRAP_SYMBOL)

    def _map_pending(self) -> bool:
        """Map the growth other threads left to this one; whether there was any."""
        done = False
        while self._pending:
            m, base = self._pending.pop()
            self._map_growth(m, base)
            done = True
        return done

    def load(self, compiled) -> CodeUnit:
        """`compiled`'s code as this machine runs it: the process's copy, mapped read+exec."""
        from unicorn import UC_PROT_EXEC, UC_PROT_READ
        unit = self._unit_of.get(id(compiled))
        if unit is None:
            region = code_region(compiled)
            self._map(region.addr, region.size, UC_PROT_READ | UC_PROT_EXEC)
            self._owners.append(region)
            unit = self._unit_of[id(compiled)] = CodeUnit(region.addr, region.size, compiled)
            self.units.append(unit)
        return unit

    def load_lazy(self, lazy) -> CodeUnit:
        """A LazyCode (engine.exec.lazy) as this machine runs it: its slot table mapped
        read-only (its hotness counters before it read+write), the rest of its code space (the
        unit, and the room its functions are compiled into) read+exec, once."""
        from unicorn import UC_PROT_EXEC, UC_PROT_READ, UC_PROT_WRITE
        unit = self._unit_of.get(id(lazy))
        if unit is None:
            lazy.emulated()
            base = lazy.space.addr
            if lazy.slot_table > base:
                self._map(base, lazy.slot_table - base, UC_PROT_READ | UC_PROT_WRITE)
            self._map(lazy.slot_table, lazy.code_base - lazy.slot_table, UC_PROT_READ)
            self._map(lazy.code_base, lazy.end - lazy.code_base, UC_PROT_READ | UC_PROT_EXEC)
            self._owners.append(lazy)
            unit = self._unit_of[id(lazy)] = lazy.view()
            self.units.append(unit)
        return unit

    def add_vmctx(self, vmctx: int) -> None:
        write_u64(self.space, vmctx + V.STACK_LIMIT, self.limit)

    def _gate(self, uc, address: int, size: int, user_data) -> None:
        if address == RETURN_GATE:
            return
        index = (address - GATE_BASE) // GATE_SLOT
        vals = self._reg_vals
        self._uclib.uc_reg_read_batch(self._uch, self._reg_ids, self._reg_ptrs, len(vals))
        try:
            result = self.helpers[index](*vals) & 0xFFFFFFFFFFFFFFFF
        except BaseException as e:
            result = helper_status(self, e)
        self._result.value = result
        self._uclib.uc_reg_write(self._uch, self.arch.result_reg, ctypes.byref(self._result))

    def _invalid_access(self, uc, access: int, address: int, size: int, value: int,
                        user_data) -> bool:
        from unicorn import UC_MEM_FETCH_PROT, UC_MEM_FETCH_UNMAPPED, UC_MEM_READ_PROT, \
            UC_MEM_READ_UNMAPPED
        kind = ("read" if access in (UC_MEM_READ_UNMAPPED, UC_MEM_READ_PROT) else
                "fetch" if access in (UC_MEM_FETCH_UNMAPPED, UC_MEM_FETCH_PROT) else "write")
        if self._map_pending():
            return True     # memory another thread grew: mapped now, the access is retried
        self.last_fault = (kind, address, size)
        return False        # not handled: emulation stops with the UcError

    def call(self, entry: int, vmctx: int, code_addr: int, args: Sequence[int],
             nresults: int) -> list[int]:
        """Run `code_addr` through the entry trampoline at `entry`. Re-entry from a host
        function (wasm -> host -> wasm on this machine) nests: the interrupted context is
        saved, the nested call runs below its stack pointer, and the context is restored
        afterwards."""
        from unicorn import UcError
        uc, arch = self.uc, self.arch
        depth = self.depth
        active = getattr(_tls, "active", 0)
        if active >= MAX_NESTED_CALLS:
            raise Trap(f"call stack exhausted: more than {MAX_NESTED_CALLS} emulated calls "
                       f"nested through the host (the emulator's limit)",
                       TrapCode.STACK_OVERFLOW)
        low, sp = thread_stack_low(), host_sp()
        if low and sp and sp - low < HOST_STACK_NEED:
            raise Trap("call stack exhausted: the host thread's stack has "
                       f"{sp - low} bytes left, an emulated call needs {HOST_STACK_NEED}",
                       TrapCode.STACK_OVERFLOW)
        n = max(len(args), nresults, 1)
        while len(self._bufs) <= depth:
            self._bufs.append((0, 0))
        buf, cap = self._bufs[depth]
        if cap < n:
            buf, cap = self.space.alloc(8 * max(n, 8)), max(n, 8)
            self._bufs[depth] = (buf, cap)
        words = (ctypes.c_uint64 * n).from_address(buf)
        for i, a in enumerate(args):
            words[i] = a & 0xFFFFFFFFFFFFFFFF
        saved = None
        if depth == 0:
            sp = self.stack_base + STACK_SIZE - 64
        else:
            saved = uc.context_save()
            # below the interrupted code's stack, clear of any red zone, 16-byte aligned
            sp = ((uc.reg_read(arch.sp) - 256) & ~15) - 8 * (arch.lr is None)
            if sp < self.limit:
                raise Trap(trap_code=TrapCode.STACK_OVERFLOW)
        if arch.lr is None:
            uc.mem_write(sp, RETURN_GATE.to_bytes(8, "little"))
        uc.reg_write(arch.sp, sp)
        if arch.lr is not None:
            uc.reg_write(arch.lr, RETURN_GATE)
        for reg, value in zip(arch.arg_regs, (vmctx, code_addr, buf)):
            uc.reg_write(reg, value)
        self.pending = None
        self.last_fault = None
        self.depth = depth + 1
        _tls.active = active + 1
        entry_sp = read_u64(self.space, self.state + V.STATE_ENTRY_SP)
        catch = read_u64(self.space, self.state + V.STATE_CATCH)
        cells = outer = None
        if self.epoch and threading.current_thread() is threading.main_thread():
            bridge = signal_bridge()
            if active == 0:
                bridge.arm()
            cells = bridge.cells
            outer, cells[0] = cells[0], self.state + V.STATE_EPOCH_DEADLINE
        if depth == 0:
            with self._emulation_lock:
                self._emulating = threading.get_ident()
        self._map_pending()
        try:
            start = entry
            while True:
                try:
                    uc.emu_start(start, RETURN_GATE)
                    break
                except UcError as e:
                    stub = self._guard_fault()
                    if stub is None:
                        access = ""
                        if self.last_fault is not None:
                            kind, address, size = self.last_fault
                            access = f" ({kind} of {size} bytes at {address:#x})"
                        raise WasmError(f"emulated code faulted at "
                                        f"{uc.reg_read(self.arch.pc):#x}: {e}{access}") from None
                    # resume at the trap stub as the explicit check would branch there
                    code_reg, pc_reg = arch.arg_regs[1], arch.arg_regs[2]
                    uc.reg_write(pc_reg, uc.reg_read(arch.pc))
                    uc.reg_write(code_reg, int(TrapCode.MEMORY_OUT_OF_BOUNDS))
                    self.last_fault = None
                    start = stub
        finally:
            self.depth = depth
            if depth == 0:
                with self._emulation_lock:
                    self._emulating = None
            _tls.active = active
            if cells is not None:
                cells[0] = outer
        stubs = self._hook_stubs
        if stubs is not None and stubs.error[0]:
            # a gate stopped the emulation with an exception raised before the helper ran:
            # the call is abandoned (as when a trap unwinds it), the exception raised
            write_u64(self.space, self.state + V.STATE_ENTRY_SP, entry_sp)
            write_u64(self.space, self.state + V.STATE_CATCH, catch)
            if saved is not None:
                uc.context_restore(saved)
            stubs.raise_error()
        rc = uc.reg_read(arch.result_reg) & 0xFFFFFFFF
        results = words[:nresults]
        if saved is not None:
            uc.context_restore(saved)
        if rc != 0:
            code = read_u64(self.space, self.state + V.STATE_TRAP_CODE)
            self.trap_pc = read_u64(self.space, self.state + V.STATE_TRAP_PC)
            self.trap_fp = read_u64(self.space, self.state + V.STATE_TRAP_FP)
            raise_pending(self)
            raise end_of_call(self, code)
        raise_pending(self)
        return results

    def close(self) -> None:
        self.uc = None
