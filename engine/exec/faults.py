"""Out-of-bounds accesses as faults (Config.signals_based_traps, native x86_64 Linux).

Code compiled with guard pages does not check accesses to memory 0: the memory sits at the
start of a GUARDED_RESERVATION-byte reservation whose pages beyond its length are PROT_NONE,
so an out-of-bounds access faults. A SIGSEGV/SIGBUS handler, machine code assembled here and
installed with sigaction, looks at the faulting context: when the pc lies in registered
generated code and the fault address lies in [r14, r14 + GUARDED_RESERVATION) (r14 holds
memory 0's base in generated code), it rewrites the context so that the thread resumes in that
code's trap stub with the trap code MEMORY_OUT_OF_BOUNDS and the faulting pc, exactly where an
explicit check would have jumped. Every other fault goes to the handler installed before (or,
if that was SIG_DFL / SIG_IGN, the default action is restored and the fault re-raised by
returning), so a fault outside generated code crashes as before.

The handler reads a table of code ranges (count, then start, end, trap stub per range) through
a cell holding its address; registering a range builds a new table and swaps the cell (one
aligned store), so a handler running meanwhile sees one table or the other, never half of
one. Replaced tables are kept alive."""

from __future__ import annotations

import ctypes
import signal
import threading
import weakref

from backends.keystone_asm import keystone_asm
from ..environ.module_info import GUARDED_RESERVATION
from ..errors import TrapCode

# glibc x86_64: ucontext_t.uc_mcontext.gregs starts at byte 40; REG_R14 = 6, REG_RSI = 9,
# REG_RDX = 12, REG_RIP = 16. siginfo_t.si_addr is at byte 16.
_GREGS = 40
_R14, _RSI, _RDX, _RIP = (_GREGS + 8 * i for i in (6, 9, 12, 16))
_SI_ADDR = 16
_SA_SIGINFO = 4
_SA_ONSTACK = 0x08000000
_SYS_RT_SIGACTION = 13
FAULT_SIGNALS = (signal.SIGSEGV, signal.SIGBUS)


class _SigAction(ctypes.Structure):
    """struct sigaction of glibc on x86_64 Linux."""
    _fields_ = [("handler", ctypes.c_void_p), ("mask", ctypes.c_ubyte * 128),
                ("flags", ctypes.c_int), ("restorer", ctypes.c_void_p)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.sigaction.argtypes = [ctypes.c_int, ctypes.POINTER(_SigAction), ctypes.POINTER(_SigAction)]


def handler_text(table_cell: int, previous: int, default_action: int) -> str:
    """Assembly of the handler (rdi = signal, rsi = siginfo, rdx = ucontext). `table_cell`
    holds the address of the range table, `previous` is an array of the displaced handlers
    indexed by signal, `default_action` a kernel sigaction record of SIG_DFL."""
    return "\n".join([
        f"mov rax, qword ptr [rdx + {_RIP}]",
        f"movabs r8, {table_cell}", "mov r8, qword ptr [r8]",
        "mov rcx, qword ptr [r8]", "add r8, 8",
        "scan:", "test rcx, rcx", "jz chain",
        "cmp rax, qword ptr [r8]", "jb next",
        "cmp rax, qword ptr [r8 + 8]", "jb in_code",
        "next:", "add r8, 24", "dec rcx", "jmp scan",
        "in_code:",
        f"mov r9, qword ptr [rsi + {_SI_ADDR}]",
        f"sub r9, qword ptr [rdx + {_R14}]", "jb chain",
        f"movabs r10, {GUARDED_RESERVATION}", "cmp r9, r10", "jae chain",
        "mov r9, qword ptr [r8 + 16]",
        f"mov qword ptr [rdx + {_RDX}], rax",
        f"mov qword ptr [rdx + {_RSI}], {int(TrapCode.MEMORY_OUT_OF_BOUNDS)}",
        f"mov qword ptr [rdx + {_RIP}], r9",
        "ret",
        "chain:",
        f"movabs rax, {previous}", "movsxd rcx, edi", "mov rax, qword ptr [rax + rcx*8]",
        "cmp rax, 1", "jbe restore_default", "jmp rax",
        "restore_default:",
        f"movabs rsi, {default_action}", "xor edx, edx", "mov r10d, 8",
        f"mov eax, {_SYS_RT_SIGACTION}", "syscall", "ret",
    ]) + "\n"


class FaultHandler:
    """The process's handler for faults in guarded generated code (one per process)."""

    def __init__(self, code_region) -> None:
        from keystone import KS_ARCH_X86, KS_MODE_64
        self._lock = threading.Lock()
        self._ranges: dict[int, tuple[int, int, int]] = {}
        self._dead: list[tuple[int, int, int]] = []
        self._tables: list[ctypes.Array] = []
        self.cell = (ctypes.c_uint64 * 1)()
        self.previous = (ctypes.c_uint64 * 65)()
        self.default_action = (ctypes.c_uint64 * 4)()     # handler, flags, restorer, mask: 0
        self._publish()
        text = handler_text(ctypes.addressof(self.cell), ctypes.addressof(self.previous),
                            ctypes.addressof(self.default_action))
        self.region = code_region(bytes(keystone_asm(KS_ARCH_X86, KS_MODE_64, text)))
        self.address = self.region.addr

    def _publish(self) -> None:
        ranges = list(self._ranges.values())
        table = (ctypes.c_uint64 * (1 + 3 * max(len(ranges), 1)))()
        table[0] = len(ranges)
        for i, (start, end, trap) in enumerate(ranges):
            table[1 + 3 * i:4 + 3 * i] = [start, end, trap]
        self._tables.append(table)
        self.cell[0] = ctypes.addressof(table)

    def register(self, region, size: int, trap_stub: int) -> None:
        """Faults at pcs in the first `size` bytes of code `region` (a native CodeRegion) that
        hit a guarded memory trap at `trap_stub`; the range is dropped with the region."""
        start = region.addr
        entry = (start, start + size, trap_stub)
        with self._lock:
            self._drop_dead()
            self._ranges[start] = entry
            self._publish()
            self._arm()
        # the finalizer may run inside a garbage collection anywhere, even in register():
        # it only queues the range (list.append is atomic), the next registration drops it
        weakref.finalize(region, self._dead.append, entry)

    def _drop_dead(self) -> None:
        while self._dead:
            entry = self._dead.pop()
            if self._ranges.get(entry[0]) == entry:
                del self._ranges[entry[0]]

    def unregister(self, start: int) -> None:
        """Forget the range at `start` (its code is about to be unmapped)."""
        with self._lock:
            self._drop_dead()
            if self._ranges.pop(start, None) is not None:
                self._publish()

    def _arm(self) -> None:
        """Install the handler for SIGSEGV and SIGBUS unless it is installed already (someone
        may have replaced it since: it then goes in front again, chaining to theirs)."""
        for sig in FAULT_SIGNALS:
            old = _SigAction()
            if _libc.sigaction(sig, None, ctypes.byref(old)) != 0:
                raise OSError(ctypes.get_errno(), f"sigaction({sig}) query failed")
            if old.handler == self.address:
                continue
            self.previous[sig] = old.handler or 0
            new = _SigAction()
            new.handler = self.address
            new.flags = _SA_SIGINFO | _SA_ONSTACK
            if _libc.sigaction(sig, ctypes.byref(new), None) != 0:
                raise OSError(ctypes.get_errno(), f"sigaction({sig}) failed")


_handler: list[FaultHandler] = []
_handler_lock = threading.Lock()


def fault_handler(code_region) -> FaultHandler:
    """The process's FaultHandler, created (its code mapped by `code_region(bytes)`) on first use."""
    with _handler_lock:
        if not _handler:
            _handler.append(FaultHandler(code_region))
        return _handler[0]
