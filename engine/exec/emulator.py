"""Running compiled code under Unicorn: the same machine code as natively, in a guest address
space (code, gates, stack, data blocks, linear memories). Runtime helpers and host functions
are gate addresses: a page of `ret` instructions whose slots a code hook services in Python
before the `ret` runs. Traps unwind through the same trap stub as natively.

The target-specific part is `_ARCH` (Unicorn mode, register ids, the return instruction and
how a call's return address is pushed); adding aarch64 or riscv64 means adding an entry."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Sequence

from ..errors import Trap, TrapCode, UnsupportedError, WasmError
from ..environ import vmctx as V
from .space import PAGE, SpaceError, read_u64, round_up, write_u64
from .native import host_sp, thread_stack_low
from .symbols import CodeSymbols

CODE_BASE = 0x1000_0000
GATE_BASE = 0x0F00_0000
GATE_SLOT = 16
RETURN_GATE = GATE_BASE + 0x800
DATA_BASE = 0x2000_0000
DATA_LIMIT = 0x6000_0000
STACK_BASE = 0x7000_0000
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
MEMORY_BASE = 0x1_0000_0000
MEMORY_STRIDE = 0x2_0000_0000  # 8 GiB of address space per linear memory


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


class EmulatedLinearMemory:
    """A linear memory at a fixed guest address; growth maps more pages after it."""

    def __init__(self, uc, base: int, initial: int, maximum: int) -> None:
        self.uc = uc
        self.base = base
        self.reserved = min(maximum, MEMORY_STRIDE)
        self.mapped = 0
        self.length = 0
        if not self.grow_to(initial):
            raise SpaceError("initial memory larger than its maximum")

    def grow_to(self, new_length: int) -> bool:
        from unicorn import UC_PROT_READ, UC_PROT_WRITE
        if new_length > self.reserved:
            return False
        need = round_up(new_length, PAGE)
        if need > self.mapped:
            self.uc.mem_map(self.base + self.mapped, need - self.mapped,
                            UC_PROT_READ | UC_PROT_WRITE)
            self.mapped = need
        self.length = new_length
        return True


class EmulatedSpace:
    """Guest memory: a bump allocator over a data region mapped on demand."""

    def __init__(self, uc) -> None:
        self.uc = uc
        self.next = DATA_BASE
        self.mapped_end = DATA_BASE
        self.memories = 0

    def alloc(self, size: int, align: int = 16) -> int:
        from unicorn import UC_PROT_READ, UC_PROT_WRITE
        addr = round_up(self.next, align)
        end = addr + max(size, 1)
        if end > DATA_LIMIT:
            raise SpaceError("emulated data region exhausted")
        if end > self.mapped_end:
            grow = round_up(end - self.mapped_end, 1 << 20)
            self.uc.mem_map(self.mapped_end, grow, UC_PROT_READ | UC_PROT_WRITE)
            self.mapped_end += grow
        self.next = end
        return addr

    def read(self, addr: int, n: int) -> bytes:
        return bytes(self.uc.mem_read(addr, n))

    def write(self, addr: int, data: bytes) -> None:
        self.uc.mem_write(addr, bytes(data))

    def linear_memory(self, initial: int, maximum: int) -> EmulatedLinearMemory:
        base = MEMORY_BASE + MEMORY_STRIDE * self.memories
        self.memories += 1
        return EmulatedLinearMemory(self.uc, base, initial, maximum)


class EmulatedMachine:
    """Runs one module's CompiledCode under Unicorn (same interface as native.NativeMachine)."""

    HOST_EXCEPTION = 254

    def __init__(self, compiled, helpers: Sequence[Callable[..., int]],
                 max_stack: int = 512 * 1024) -> None:
        from unicorn import (UC_HOOK_CODE, UC_HOOK_MEM_INVALID, UC_PROT_EXEC, UC_PROT_READ, UC_PROT_WRITE,
                             UC_TLB_VIRTUAL, Uc)
        self.arch = _arch(compiled.target)
        self.uc = uc = Uc(self.arch.arch, self.arch.mode)
        # The guest is a flat address space (guest address = mapping address, no guest page
        # tables): translate through Unicorn's virtual TLB, not the emulated CPU's MMU.
        uc.ctl_set_tlb_mode(UC_TLB_VIRTUAL)
        for reg, bits in self.arch.setup:
            uc.reg_write(reg, uc.reg_read(reg) | bits)
        size = round_up(max(len(compiled.code), 1), PAGE)
        uc.mem_map(CODE_BASE, size, UC_PROT_READ | UC_PROT_EXEC)
        uc.mem_write(CODE_BASE, compiled.code)
        uc.mem_map(GATE_BASE, PAGE, UC_PROT_READ | UC_PROT_EXEC)
        uc.mem_write(GATE_BASE, self.arch.ret_bytes * (PAGE // len(self.arch.ret_bytes)))
        uc.mem_map(STACK_BASE, STACK_SIZE, UC_PROT_READ | UC_PROT_WRITE)
        self.symbols = CodeSymbols(CODE_BASE, compiled.symbols)
        self._code_end = CODE_BASE + size
        self._host_maps: dict[object, list[int]] = {}
        #: owners of host buffers mapped into the guest, kept alive while this machine lives:
        #: Unicorn keeps raw host pointers, so a mapped buffer must never be freed (and its
        #: pages reused by the host) while the emulator can still reach it
        self._host_owners: list[object] = []
        self.space = EmulatedSpace(uc)
        self.state = self.space.alloc(V.STATE_SIZE)
        self.helpers = list(helpers)
        self.helper_table = self.space.alloc(8 * max(len(helpers), 1))
        for i in range(len(helpers)):
            write_u64(self.space, self.helper_table + 8 * i, GATE_BASE + GATE_SLOT * i)
        uc.hook_add(UC_HOOK_CODE, self._gate, begin=GATE_BASE, end=GATE_BASE + PAGE - 1)
        uc.hook_add(UC_HOOK_MEM_INVALID, self._invalid_access)
        #: (kind, address, size) of the last access to unmapped or protected guest memory
        self.last_fault: tuple[str, int, int] | None = None
        self.pending: BaseException | None = None
        #: where the last trap happened (an address in generated code; 0: in a host function)
        self.trap_pc = 0
        self.hook_error: BaseException | None = None
        self.depth = 0
        self.max_stack = max_stack
        #: the stack limit the outermost call fixed (nested calls share its budget)
        self.limit = STACK_BASE + STACK_MARGIN
        self._bufs: list[tuple[int, int]] = []

    def function_at(self, pc: int) -> int | None:
        """The defined function index whose code contains `pc`, or None."""
        return self.symbols.function_at(pc)

    def address(self, symbol: str) -> int:
        return self.symbols.address(symbol)

    def has_symbol(self, symbol: str) -> bool:
        return symbol in self.symbols

    def add_code(self, compiled) -> None:
        """Map more code after what is mapped (new symbols become addressable)."""
        from unicorn import UC_PROT_EXEC, UC_PROT_READ
        size = round_up(max(len(compiled.code), 1), PAGE)
        base = self._code_end
        self.uc.mem_map(base, size, UC_PROT_READ | UC_PROT_EXEC)
        self.uc.mem_write(base, compiled.code)
        self._code_end += size
        self.symbols.add(base, compiled.symbols)

    def map_host(self, key: object, host_addr: int, length: int, owner: object = None) -> int:
        """Map host memory [host_addr, host_addr + length) into the guest (shared, not copied)
        at an address fixed per `key`; extended when the host buffer grew in place, remapped
        when it moved or shrank.
        `owner` (the object that owns the host memory) is kept alive as long as this machine.
        Returns the guest address."""
        from unicorn import UC_PROT_READ, UC_PROT_WRITE
        slot = self._host_maps.get(key)
        if slot is None:
            guest = MEMORY_BASE + MEMORY_STRIDE * self.space.memories
            self.space.memories += 1
            slot = self._host_maps[key] = [guest, 0, 0]
        guest, addr, size = slot
        need = round_up(max(length, PAGE), PAGE)
        if need > MEMORY_STRIDE:
            raise SpaceError("linear memory larger than its emulated address range")
        if addr == host_addr and 0 < size < need:
            # grown in place (the host memory never moves): map only the new part; unmapping
            # inside a running emulation costs about 10 ms (its translations are flushed)
            self.uc.mem_map_ptr(guest + size, need - size, UC_PROT_READ | UC_PROT_WRITE,
                                host_addr + size)
            slot[2] = need
        elif addr != host_addr or size != need:
            if size:
                self.uc.mem_unmap(guest, size)
            self.uc.mem_map_ptr(guest, need, UC_PROT_READ | UC_PROT_WRITE, host_addr)
            slot[1], slot[2] = host_addr, need
            if owner is not None and not any(o is owner for o in self._host_owners):
                self._host_owners.append(owner)
        return guest

    def _gate(self, uc, address: int, size: int, user_data) -> None:
        if address == RETURN_GATE:
            return
        index = (address - GATE_BASE) // GATE_SLOT
        regs = [uc.reg_read(r) for r in self.arch.arg_regs]
        try:
            result = self.helpers[index](*regs) & 0xFFFFFFFFFFFFFFFF
        except Trap as t:
            self.pending = t
            result = (t.trap_code if t.trap_code is not None else self.HOST_EXCEPTION) + 1
        except BaseException as e:
            self.pending = e
            result = self.HOST_EXCEPTION + 1
        uc.reg_write(self.arch.result_reg, result)

    def _invalid_access(self, uc, access: int, address: int, size: int, value: int,
                        user_data) -> bool:
        from unicorn import UC_MEM_FETCH_PROT, UC_MEM_FETCH_UNMAPPED, UC_MEM_READ_PROT, \
            UC_MEM_READ_UNMAPPED
        kind = ("read" if access in (UC_MEM_READ_UNMAPPED, UC_MEM_READ_PROT) else
                "fetch" if access in (UC_MEM_FETCH_UNMAPPED, UC_MEM_FETCH_PROT) else "write")
        self.last_fault = (kind, address, size)
        return False        # not handled: emulation stops with the UcError

    def call(self, entry_symbol: str, vmctx: int, code_addr: int, args: Sequence[int],
             nresults: int) -> list[int]:
        """Run `code_addr` through trampoline `entry_symbol`. Re-entry from a host function
        (wasm -> host -> wasm on this machine) nests: the interrupted context is saved, the
        nested call runs below its stack pointer, and the context is restored afterwards."""
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
        for i, a in enumerate(args):
            write_u64(self.space, buf + 8 * i, a)
        saved = None
        if depth == 0:
            sp = STACK_BASE + STACK_SIZE - 64
            # max_wasm_stack below the first stack pointer, within the guest stack's margin
            self.limit = max(STACK_BASE + STACK_MARGIN, sp - self.max_stack)
        else:
            saved = uc.context_save()
            # below the interrupted code's stack, clear of any red zone, 16-byte aligned
            sp = ((uc.reg_read(arch.sp) - 256) & ~15) - 8 * (arch.lr is None)
            if sp < self.limit:
                raise Trap(trap_code=TrapCode.STACK_OVERFLOW)
        write_u64(self.space, vmctx + V.STACK_LIMIT, self.limit)
        if arch.lr is None:
            write_u64(self.space, sp, RETURN_GATE)
        uc.reg_write(arch.sp, sp)
        if arch.lr is not None:
            uc.reg_write(arch.lr, RETURN_GATE)
        for reg, value in zip(arch.arg_regs, (vmctx, code_addr, buf)):
            uc.reg_write(reg, value)
        self.pending = None
        self.last_fault = None
        self.depth = depth + 1
        _tls.active = active + 1
        try:
            uc.emu_start(self.address(entry_symbol), RETURN_GATE)
        except UcError as e:
            access = ""
            if self.last_fault is not None:
                kind, address, size = self.last_fault
                access = f" ({kind} of {size} bytes at {address:#x})"
            raise WasmError(f"emulated code faulted at {uc.reg_read(self._pc()):#x}: "
                            f"{e}{access}") from None
        finally:
            self.depth = depth
            _tls.active = active
        rc = uc.reg_read(arch.result_reg) & 0xFFFFFFFF
        results = [read_u64(self.space, buf + 8 * i) for i in range(nresults)]
        if saved is not None:
            uc.context_restore(saved)
        if rc != 0:
            code = read_u64(self.space, self.state + V.STATE_TRAP_CODE)
            self.trap_pc = read_u64(self.space, self.state + V.STATE_TRAP_PC)
            pending, self.pending = self.pending, None
            if pending is not None:
                raise pending
            raise Trap(trap_code=TrapCode(code))
        return results

    def _pc(self) -> int:
        return self.arch.pc

    def close(self) -> None:
        self.uc = None
