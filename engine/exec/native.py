"""Running x86_64 machine code in this process: one NativeMachine per store, whose instances
share the process's address space (their state lives in the store's arena). Code pages are
mapped with mmap, written, then made read+execute (never writable and executable at once), once
per module's code for the whole process; runtime helpers are reached through generated stubs
that call Python via the C API (ctypes callbacks would put libffi closures on writable+executable
pages), assembled once per process and copied per machine; calls go through per-signature entry
trampolines and traps come back as a return code (see backends/x86_64/trampolines.py)."""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import _signal
import platform
import signal
import threading
import weakref
from typing import Callable, Sequence

from backends.base import TRAP_SYMBOL
from backends.keystone_asm import keystone_asm
from ..errors import Trap, TrapCode, WasmError
from ..environ import vmctx as V
from .exceptions import HOST_EXCEPTION, end_of_call, helper_status, raise_pending
from .faults import fault_handler
from .space import PAGE, HostSpace, SpaceError, read_u64, round_up, write_u64
from .symbols import CodeUnit

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                       ctypes.c_int, ctypes.c_long]
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]

_libc.pthread_self.restype = ctypes.c_ulong
_libc.pthread_getattr_np.argtypes = [ctypes.c_ulong, ctypes.c_void_p]
_libc.pthread_attr_getstack.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p),
                                        ctypes.POINTER(ctypes.c_size_t)]
_libc.pthread_attr_destroy.argtypes = [ctypes.c_void_p]

_MAP_FAILED = ctypes.c_void_p(-1).value
_MAP_NORESERVE = 0x4000

_ENTRY_CTYPE = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64)


def native_supported() -> bool:
    return platform.machine().lower() in ("x86_64", "amd64")


def _mmap(size: int, prot: int, flags: int = 0) -> int:
    addr = _libc.mmap(None, size, prot, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | flags, -1, 0)
    if addr in (None, _MAP_FAILED):
        raise SpaceError(f"mmap of {size} bytes failed (errno {ctypes.get_errno()})")
    return addr


def _mprotect(addr: int, size: int, prot: int) -> None:
    if size and _libc.mprotect(addr, size, prot) != 0:
        raise SpaceError(f"mprotect failed (errno {ctypes.get_errno()})")


class CodeRegion:
    """Machine code mapped read+execute. Written while read+write only."""

    def __init__(self, code: bytes) -> None:
        self.size = round_up(max(len(code), 1), PAGE)
        self.addr = _mmap(self.size, mmap.PROT_READ | mmap.PROT_WRITE)
        ctypes.memmove(self.addr, code, len(code))
        _mprotect(self.addr, self.size, mmap.PROT_READ | mmap.PROT_EXEC)

    def close(self, _munmap=_libc.munmap) -> None:
        # `_munmap` is bound at definition: at interpreter shutdown module globals may be None.
        if self.addr:
            _munmap(self.addr, self.size)
            self.addr = 0

    def __del__(self) -> None:
        self.close()


#: per thread: how many entries into wasm code are active, and the stack limit the outermost
#: one fixed (nested entries, through host calls or other instances, share that budget)
_tls = threading.local()



#: stack kept free below the wasm stack limit for what runs beneath wasm code near the limit:
#: the Python frames of a host call (the callback stub, the interpreter, ctypes and the entry
#: trampoline of a nested call, which then traps), the trap path and signal delivery
HOST_STACK_MARGIN = 128 * 1024


def tls_initialize() -> None:
    """Create the calling thread's entry record now (Engine.tls_eager_initialize)."""
    if getattr(_tls, "depth", None) is None:
        _tls.depth = 0
    thread_stack_low()


_host_sp: list = []


def host_sp() -> int:
    """The calling thread's stack pointer, read by a two-instruction stub (x86_64 hosts); 0
    on other hosts."""
    if not _host_sp:
        if not native_supported():
            return 0
        region = CodeRegion(_SP_CODE)
        _host_sp.extend((region, ctypes.CFUNCTYPE(ctypes.c_uint64)(region.addr)))
    return _host_sp[1]()


def thread_stack_low() -> int:
    """The lowest address of the calling thread's stack (glibc's pthread_getattr_np, which
    for the main thread derives it from RLIMIT_STACK and /proc/self/maps); 0 if unknown.
    Cached per thread."""
    low = getattr(_tls, "stack_low", None)
    if low is None:
        low = 0
        attr = ctypes.create_string_buffer(256)     # pthread_attr_t is 56 bytes on x86_64
        if _libc.pthread_getattr_np(_libc.pthread_self(), attr) == 0:
            addr, size = ctypes.c_void_p(), ctypes.c_size_t()
            if _libc.pthread_attr_getstack(attr, ctypes.byref(addr), ctypes.byref(size)) == 0:
                low = addr.value or 0
            _libc.pthread_attr_destroy(attr)
        _tls.stack_low = low
    return low


_SP_CODE = bytes([0x48, 0x89, 0xE0, 0xC3])  # mov rax, rsp; ret


def check_signals() -> None:
    """Run the Python handlers of signals that arrived (main thread only; elsewhere nothing);
    raises what a handler raises (KeyboardInterrupt for Ctrl-C)."""
    ctypes.pythonapi.PyErr_CheckSignals()


class _SigAction(ctypes.Structure):
    """struct sigaction of glibc on x86_64 Linux."""
    _fields_ = [("handler", ctypes.c_void_p), ("mask", ctypes.c_ubyte * 128),
                ("flags", ctypes.c_int), ("restorer", ctypes.c_void_p)]


_libc.sigaction.argtypes = [ctypes.c_int, ctypes.POINTER(_SigAction), ctypes.POINTER(_SigAction)]

#: signals whose arrival makes running wasm code (compiled with epoch checks) reach its next
#: epoch check's slow path, where Python's handlers run
BRIDGED_SIGNALS = (signal.SIGINT, signal.SIGALRM, signal.SIGTERM)


class SignalBridge:
    """A C-level signal handler in front of Python's own (x86_64 Linux, main thread).

    Python's handler only records a signal; its Python part runs when the interpreter loop
    next runs, which never happens while wasm code spins. While such code runs on the main
    thread, `cells[0]` holds the address of its store context's epoch deadline; the stub below
    stores 0 there (one aligned 8-byte store: async-signal-safe) and then jumps to the handler
    it displaced (Python's), with the arguments untouched. The code's next epoch check then
    takes its slow path (helper EPOCH), which restores the deadline and runs the handlers.
    Emulated code reads the same store context in place, so it is bridged the same way
    (engine.exec.emulator).
    The stub is (re)installed at each outermost entry, since signal.signal() replaces it."""

    def __init__(self) -> None:
        from keystone import KS_ARCH_X86, KS_MODE_64
        self.cells = (ctypes.c_uint64 * 66)()     # [0]: deadline address; [1 + sig]: previous
        base = ctypes.addressof(self.cells)
        text = "\n".join([
            f"movabs rax, {base}", "mov rax, qword ptr [rax]", "test rax, rax",
            "jz sig_chain", "mov qword ptr [rax], 0",
            "sig_chain:", f"movabs rax, {base + 8}", "movsxd rcx, edi",
            "mov rax, qword ptr [rax + rcx*8]", "test rax, rax", "jz sig_done", "jmp rax",
            "sig_done:", "ret"]) + "\n"
        self.region = CodeRegion(bytes(keystone_asm(KS_ARCH_X86, KS_MODE_64, text)))
        self.stub = self.region.addr
        #: the Python handlers (signal.getsignal) when the stub was last armed
        self.seen: tuple | None = None

    def arm(self) -> None:
        """Put the stub in front of every bridged signal that has a handler of Python's (not
        SIG_DFL / SIG_IGN, which need no help). The sigaction calls are skipped while the
        Python handlers are the ones seen last time (signal.signal, which replaces the stub,
        changes them; re-installing the very same handler object is not noticed)."""
        seen = tuple(map(_signal.getsignal, BRIDGED_SIGNALS))   # (signal.getsignal: ~6 us)
        if seen == self.seen:
            return
        self.seen = seen
        for sig in BRIDGED_SIGNALS:
            old = _SigAction()
            if _libc.sigaction(sig, None, ctypes.byref(old)) != 0:
                continue
            if old.handler in (None, 0, 1) or old.handler == self.stub:
                continue
            self.cells[1 + sig] = old.handler
            new = _SigAction()
            ctypes.memmove(ctypes.byref(new), ctypes.byref(old), ctypes.sizeof(_SigAction))
            new.handler = self.stub
            _libc.sigaction(sig, ctypes.byref(new), None)


_bridge: list[SignalBridge] = []


def signal_bridge() -> SignalBridge:
    if not _bridge:
        _bridge.append(SignalBridge())
    return _bridge[0]


def _capi(name: str) -> int:
    return ctypes.cast(getattr(ctypes.pythonapi, name), ctypes.c_void_p).value




#: placeholders in the callback stubs' template (patched per machine): target i's object, the
#: format string, the three exception slots
_PH = 0x5EED_0000_0000_0000
_PH_FMT = 0x5EED_F000_0000_0000
_PH_ERR = (0x5EED_F000_0000_0010, 0x5EED_F000_0000_0020, 0x5EED_F000_0000_0030)


def callback_stubs(n: int, error_result: int, on_error: int = 0) -> str:
    """Assembly of `n` C-callable stubs: each takes six integer-register arguments, takes the
    GIL, calls ``target(a0, ..., a5)`` through the C API and returns the result as a u64 (or
    `error_result` if the call itself failed, its exception moved into three slots with
    PyErr_Fetch: it can be raised in the interpreter before the target's first line, e.g. by
    a signal handler; then C function `on_error`, if given, is called with the first argument).
    The targets, the format string and the slots are placeholders that CallbackStubs patches. Generated code instead of ctypes callbacks, whose libffi closures
    live on writable+executable pages."""
    ensure, release = _capi("PyGILState_Ensure"), _capi("PyGILState_Release")
    call, as_u64 = _capi("PyObject_CallFunction"), _capi("PyLong_AsUnsignedLongLongMask")
    decref, fetch = _capi("Py_DecRef"), _capi("PyErr_Fetch")
    lines = []
    for i in range(n):
        lines += [
            f"stub{i}:", "push rbx", "push r12", "push r13", "sub rsp, 64",
            "mov qword ptr [rsp + 16], rdi", "mov qword ptr [rsp + 24], rsi",
            "mov qword ptr [rsp + 32], rdx", "mov qword ptr [rsp + 40], rcx",
            "mov qword ptr [rsp + 48], r8", "mov qword ptr [rsp + 56], r9",
            f"movabs r11, {ensure}", "call r11", "mov ebx, eax",
            f"movabs rdi, {_PH + i}", f"movabs rsi, {_PH_FMT}",
            "mov rdx, qword ptr [rsp + 16]", "mov rcx, qword ptr [rsp + 24]",
            "mov r8, qword ptr [rsp + 32]", "mov r9, qword ptr [rsp + 40]",
            "mov rax, qword ptr [rsp + 48]", "mov qword ptr [rsp], rax",
            "mov rax, qword ptr [rsp + 56]", "mov qword ptr [rsp + 8], rax",
            "xor eax, eax", f"movabs r11, {call}", "call r11",
            "mov r12, rax", "test rax, rax", f"jz stub{i}_err",
            "mov rdi, rax", f"movabs r11, {as_u64}", "call r11", "mov r13, rax",
            "mov rdi, r12", f"movabs r11, {decref}", "call r11", f"jmp stub{i}_done",
            f"stub{i}_err:", f"movabs rdi, {_PH_ERR[0]}", f"movabs rsi, {_PH_ERR[1]}",
            f"movabs rdx, {_PH_ERR[2]}", f"movabs r11, {fetch}", "call r11",
            *([f"mov rdi, qword ptr [rsp + 16]", f"movabs r11, {on_error}", "call r11"]
              if on_error else []),
            f"mov r13, {error_result}",
            f"stub{i}_done:", "mov edi, ebx", f"movabs r11, {release}", "call r11",
            "mov rax, r13", "add rsp, 64", "pop r13", "pop r12", "pop rbx", "ret",
        ]
    return "\n".join(lines) + "\n"


#: (n, error result, on_error) -> (code, stub offsets, {placeholder: [offsets of its 8
#: bytes]}), assembled once
_TEMPLATES: dict[tuple, tuple[bytes, list[int], dict[int, list[int]]]] = {}
_TEMPLATE_LOCK = threading.Lock()


def _template(n: int, error_result: int, on_error: int):
    with _TEMPLATE_LOCK:
        t = _TEMPLATES.get((n, error_result, on_error))
        if t is None:
            from keystone import KS_ARCH_X86, KS_MODE_64
            header = "".join(f".quad stub{i}\n" for i in range(n))
            code = bytes(keystone_asm(KS_ARCH_X86, KS_MODE_64,
                                      header + callback_stubs(n, error_result, on_error)))
            offs = [int.from_bytes(code[8 * i:8 * i + 8], "little") for i in range(n)]
            where: dict[int, list[int]] = {}
            for ph in [_PH + i for i in range(n)] + [_PH_FMT, *_PH_ERR]:
                pat = ph.to_bytes(8, "little")
                at, k = [], code.find(pat)
                while k >= 0:
                    at.append(k)
                    k = code.find(pat, k + 1)
                where[ph] = at
            t = _TEMPLATES[(n, error_result, on_error)] = (code, offs, where)
        return t


class CallbackStubs:
    """Executable stubs that call Python callables (see callback_stubs); keeps them alive.
    The code is the process's template with this set's targets patched in (no assembler)."""

    _FMT = ctypes.create_string_buffer(b"KKKKKK")

    def __init__(self, targets: Sequence[Callable[..., int]], error_result: int,
                 on_error: int = 0) -> None:
        self.targets = list(targets)
        #: an exception raised before a target ran (type, value, traceback; new references)
        self.error = (ctypes.c_void_p * 3)()
        code, offs, where = _template(len(self.targets), error_result, on_error)
        values = {_PH + i: id(t) for i, t in enumerate(self.targets)}
        values[_PH_FMT] = ctypes.addressof(self._FMT)
        base = ctypes.addressof(self.error)
        values.update({ph: base + 8 * k for k, ph in enumerate(_PH_ERR)})
        patched = bytearray(code)
        for ph, at in where.items():
            v = values[ph].to_bytes(8, "little")
            for k in at:
                patched[k:k + 8] = v
        self.region = CodeRegion(bytes(patched))
        self.addresses = [self.region.addr + o for o in offs]

    def raise_error(self) -> None:
        """Raise the exception a stub fetched, if any (PyErr_Restore takes its references)."""
        err = self.error
        if err[0]:
            kind, value, tb = err[0], err[1], err[2]
            err[0] = err[1] = err[2] = None
            ctypes.pythonapi.PyErr_Restore(ctypes.c_void_p(kind), ctypes.c_void_p(value),
                                           ctypes.c_void_p(tb))

    def close(self) -> None:
        self.region.close()


#: CompiledCode -> its CodeRegion, once per process (the code is position independent and
#: reads everything instance specific through the vmctx, so every store runs the same copy)
_REGIONS: dict[int, CodeRegion] = {}
_REGIONS_LOCK = threading.Lock()


def code_region(compiled) -> CodeRegion:
    """The process's read+execute copy of `compiled`'s code (unmapped when `compiled` dies)."""
    key = id(compiled)
    region = _REGIONS.get(key)
    if region is None:
        with _REGIONS_LOCK:
            region = _REGIONS.get(key)
            if region is None:
                region = _REGIONS[key] = CodeRegion(compiled.code)
                weakref.finalize(compiled, _drop_region, key)
    return region


def _drop_region(key: int) -> None:
    region = _REGIONS.pop(key, None)
    if region is not None:
        region.close()


_ENTRIES: dict[int, Callable] = {}


class NativeMachine:
    """Runs code natively for one store: its instances' code units, the store's arena as the
    address space, the store context as ExecState. `helpers[i]` is the Python implementation
    of helper i (engine.environ.helpers order): called with the six integer argument
    registers."""

    HOST_EXCEPTION = HOST_EXCEPTION

    def __init__(self, arena, state: int, helpers: Sequence[Callable[..., int]],
                 max_stack: int = 512 * 1024, epoch: bool = False,
                 guard_pages: bool = False) -> None:
        if not native_supported():
            raise WasmError(f"native x86_64 execution on a {platform.machine()} host")
        #: the code leaves bounds to guard pages: its faults are traps (engine.exec.faults)
        self.faults = fault_handler(CodeRegion) if guard_pages else None
        self.space = HostSpace(arena)
        self.state = state
        self.max_stack = max_stack
        #: the code has epoch checks: signals are bridged to them (SignalBridge)
        self.epoch = epoch
        self._stubs = CallbackStubs([self._wrap(h) for h in helpers], self.HOST_EXCEPTION + 1)
        self.helper_table = arena.alloc(8 * max(len(helpers), 1))
        table = arena.u64s(self.helper_table, max(len(helpers), 1))
        for i, addr in enumerate(self._stubs.addresses):
            table[i] = addr
        self.units: list[CodeUnit] = []
        self._unit_of: dict[int, CodeUnit] = {}
        #: every vmctx of the store: they all hold the current stack limit
        self.vmctxs: list[int] = []
        self.limit = 0
        self._bufs: list[ctypes.Array] = []
        self.pending: BaseException | None = None
        #: where the last trap happened (an address in generated code; 0: in a host function)
        self.trap_pc = 0
        #: the trapping function's frame pointer then (the backtrace's chain starts there)
        self.trap_fp = 0
        #: (unit, function index) of the last trap's frames, when the trap stub recorded them
        #: (helper BACKTRACE), and whether the frames' memory outlives the call (read them
        #: after it)
        self.trap_chain: list | None = None
        self.stack_kept = False

    def _wrap(self, fn: Callable[..., int]) -> Callable[..., int]:
        def callback(*regs: int) -> int:
            try:
                return fn(*regs) & 0xFFFFFFFFFFFFFFFF
            except BaseException as e:  # handed back to the caller of call()
                return helper_status(self, e)
        return callback

    def load(self, compiled) -> CodeUnit:
        """`compiled`'s code as this machine runs it (mapped once per process)."""
        unit = self._unit_of.get(id(compiled))
        if unit is None:
            region = code_region(compiled)
            unit = self._unit_of[id(compiled)] = CodeUnit(region.addr, region.size, compiled)
            self.units.append(unit)
            if self.faults is not None and TRAP_SYMBOL in unit:
                self.faults.register(region, len(compiled.code), unit.address(TRAP_SYMBOL))
        return unit

    def load_lazy(self, lazy) -> CodeUnit:
        """A LazyCode (engine.exec.lazy) as this machine runs it: already mapped; its whole
        code part is guarded code for the fault handler."""
        unit = self._unit_of.get(id(lazy))
        if unit is None:
            unit = self._unit_of[id(lazy)] = lazy.view()
            self.units.append(unit)
            if self.faults is not None:
                self.faults.register(lazy.space, lazy.end - lazy.space.addr, lazy.trap_stub)
        return unit

    def add_vmctx(self, vmctx: int) -> None:
        self.vmctxs.append(vmctx)
        write_u64(self.space, vmctx + V.STACK_LIMIT, self.limit)

    def map_memory(self, mem) -> None:
        """Natively every memory is already in the address space."""

    def stack_limit(self) -> int:
        """The lowest stack pointer wasm code may reach from here: max_wasm_stack below the
        current one, but never closer than HOST_STACK_MARGIN to the end of this thread's real
        stack (above the current stack pointer when there is no room at all: the first
        function entry then traps)."""
        sp = host_sp()
        limit = sp - self.max_stack
        low = thread_stack_low()
        if low:
            limit = max(limit, low + HOST_STACK_MARGIN)
        return limit

    def _set_limit(self, limit: int) -> None:
        self.limit = limit
        for vm in self.vmctxs:
            ctypes.c_uint64.from_address(vm + V.STACK_LIMIT).value = limit

    def call(self, entry: int, vmctx: int, code_addr: int, args: Sequence[int],
             nresults: int) -> list[int]:
        """Call `code_addr` through the entry trampoline at `entry` with argument bit
        patterns; returns result bit patterns (8-byte slots) or raises Trap."""
        fn = _ENTRIES.get(entry)
        if fn is None:
            fn = _ENTRIES[entry] = _ENTRY_CTYPE(entry)
        depth = getattr(_tls, "depth", 0)
        if depth == 0:
            _tls.limit = self.stack_limit()
        if self.limit != _tls.limit:
            self._set_limit(_tls.limit)
        n = max(len(args), nresults, 1)
        bufs = self._bufs
        while len(bufs) <= depth:
            bufs.append((ctypes.c_uint64 * 0)())
        buf = bufs[depth]
        if len(buf) < n:
            buf = bufs[depth] = (ctypes.c_uint64 * max(n, 8)).from_address(
                self.space.alloc(8 * max(n, 8)))
        for i, a in enumerate(args):
            buf[i] = a & 0xFFFFFFFFFFFFFFFF
        self.pending = None
        _tls.depth = depth + 1
        cells = outer = None
        if self.epoch and threading.current_thread() is threading.main_thread():
            bridge = signal_bridge()
            if depth == 0:
                bridge.arm()
            cells = bridge.cells
            outer, cells[0] = cells[0], self.state + V.STATE_EPOCH_DEADLINE
        try:
            rc = fn(vmctx, code_addr, ctypes.addressof(buf))
        except ctypes.ArgumentError as e:
            # converting the arguments hit Python's recursion limit: wasm -> host -> wasm
            # re-entry nested deeper than the Python frames of the host calls allow
            if "RecursionError" not in str(e):
                raise
            raise Trap("call stack exhausted: wasm -> host -> wasm re-entry reached Python's "
                       "recursion limit", TrapCode.STACK_OVERFLOW) from None
        finally:
            _tls.depth = depth
            if cells is not None:
                cells[0] = outer
        if rc != 0:
            code = read_u64(self.space, self.state + V.STATE_TRAP_CODE)
            self.trap_pc = read_u64(self.space, self.state + V.STATE_TRAP_PC)
            self.trap_fp = read_u64(self.space, self.state + V.STATE_TRAP_FP)
            raise_pending(self)
            self._stubs.raise_error()
            raise end_of_call(self, code)
        raise_pending(self)
        return buf[:nresults]

    def close(self) -> None:
        self._stubs.close()
