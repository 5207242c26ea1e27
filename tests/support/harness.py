"""Test support: a minimal instance around compiled IR functions, for testing a backend on IR
without the runtime: builds a vmctx (memory 0, globals, tables, host imports, funcrefs, signature
ids) in a native or emulated address space and implements the runtime helpers in Python.

Values cross as IR bit patterns (unsigned ints; floats as raw IEEE bits)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Callable, Sequence

from backends.base import func_symbol, sig_key
from engine.compile.registry import backend_class
from engine.environ import vmctx as V
from engine.environ.helpers import Helper
from engine.environ.module_info import ModuleInfo
from engine.errors import Trap, TrapCode, UnsupportedError, WasmError
from engine.exec.emulator import EmulatedMachine
from engine.exec.native import NativeMachine
from engine.exec.space import HostLinearMemory, read_u64, write_u64
from engine.runtime.arena import Arena
from engine.ir.builder import build_module
from engine.wasm.module import SegmentMode
from engine.wasm.opcodes import INFO
from engine.wasm.types import ValType

PAGE_BYTES = 65536
_MASK = {ValType.I32: 0xFFFFFFFF, ValType.F32: 0xFFFFFFFF}


@dataclass(slots=True)
class HostFunc:
    """An imported function implemented in Python on bit patterns."""

    params: tuple
    results: tuple
    fn: Callable[..., Sequence[int]]


@dataclass(slots=True)
class HarnessSpec:
    memory: tuple[int, int] | None = None           # (initial pages, maximum pages)
    globals: list[tuple[ValType, int]] = field(default_factory=list)
    tables: list[int] = field(default_factory=list)  # initial sizes (funcref, null)
    host_funcs: list[HostFunc] = field(default_factory=list)
    types: list[tuple[tuple, tuple]] = field(default_factory=list)
    fuel: int | None = None             # compile fuel checks and start with this much fuel
    epoch_deadline: int | None = None   # compile epoch checks with this deadline


class Harness:
    """Compiles `funcs` (defined functions; their `index` must follow the host imports) and runs
    them natively or under Unicorn."""

    def __init__(self, funcs: Sequence, spec: HarnessSpec | None = None, emulate: bool = False,
                 max_stack: int = 512 * 1024, features: frozenset[str] | None = None,
                 target: str = "x86_64") -> None:
        if target != "x86_64" and not emulate:
            raise UnsupportedError(f"harness: {target} code runs only emulated here")
        self.spec = spec = spec or HarnessSpec()
        self.funcs = {f.index: f for f in funcs}
        nimp = len(spec.host_funcs)
        sigs: list[tuple[tuple, tuple]] = [(h.params, h.results) for h in spec.host_funcs]
        for k, f in enumerate(funcs):
            if f.index != nimp + k:
                raise WasmError(f"harness: function {f.name} has index {f.index}, "
                                f"expected {nimp + k}")
            sigs.append((tuple(f.params), tuple(f.results)))
        self.sigs = sigs
        types = spec.types or list(dict.fromkeys(sigs))
        self.types = types
        self.offsets = V.VMOffsets(num_memories=1 if spec.memory else 0,
                                   num_globals=len(spec.globals), num_tables=len(spec.tables),
                                   num_imported_funcs=nimp, num_types=len(types))
        self.info = ModuleInfo(self.offsets, sigs, nimp, list(types),
                               [t for t, _ in spec.globals], epoch=spec.epoch_deadline is not None,
                               fuel=spec.fuel is not None)
        cls = backend_class(target)
        backend = cls(cls.cpu_features(emulate) if features is None else features)
        self.compiled = backend.compile_module(
            list(funcs), self.info, entry_sigs=[s for s in sigs[nimp:]],
            exit_sigs=[(h.params, h.results) for h in spec.host_funcs])
        helpers = self._helpers()
        self.arena = Arena()
        self.state = self.arena.alloc(V.STATE_SIZE)
        if emulate:
            self.machine = EmulatedMachine(target, self.arena, self.state, helpers)
        else:
            self.machine = NativeMachine(self.arena, self.state, helpers, max_stack)
        self.unit = self.machine.load(self.compiled)
        self.space = self.machine.space
        self._build_vmctx()

    # -- vmctx ----------------------------------------------------------------------------------

    def _build_vmctx(self) -> None:
        sp, off, spec = self.space, self.offsets, self.spec
        self.vmctx = vm = sp.alloc(off.size)
        write_u64(sp, vm + V.STATE, self.state)
        write_u64(sp, vm + V.HELPERS, self.machine.helper_table)
        self.machine.add_vmctx(vm)
        self.epoch_cell = sp.alloc(8)
        write_u64(sp, vm + V.EPOCH_PTR, self.epoch_cell)
        write_u64(sp, self.state + V.STATE_EPOCH_DEADLINE, spec.epoch_deadline or 0)
        write_u64(sp, self.state + V.STATE_FUEL, spec.fuel or 0)
        self.memory = None
        if spec.memory:
            initial, maximum = spec.memory
            self.memory = HostLinearMemory(initial * PAGE_BYTES, maximum * PAGE_BYTES)
            self.machine.map_memory(self.memory)
            self.max_pages = maximum
            write_u64(sp, vm + off.memory_base(0), self.memory.base)
            write_u64(sp, vm + off.memory_length(0), self.memory.length)
        self.global_cells = []
        for i, (_, value) in enumerate(spec.globals):
            cell = vm + off.global_cell(i)      # the harness's globals are all defined ones
            write_u64(sp, cell, value)
            write_u64(sp, vm + off.global_ptr(i), cell)
            self.global_cells.append(cell)
        nfuncs = len(self.sigs)
        self.sig_ids = {s: k + 1 for k, s in enumerate(dict.fromkeys(self.types))}
        for t, s in enumerate(self.types):
            write_u64(sp, vm + off.sig_id(t), self.sig_ids[s])
        funcrefs = sp.alloc(V.FUNCREF_SIZE * max(nfuncs, 1))
        write_u64(sp, vm + V.FUNCREFS, funcrefs)
        self.host_ctxs = []
        for i, h in enumerate(spec.host_funcs):
            ctx = sp.alloc(V.HOSTCTX_SIZE)
            write_u64(sp, ctx + V.HOSTCTX_STATE, self.state)
            write_u64(sp, ctx + V.HOSTCTX_ID, i)
            write_u64(sp, ctx + V.HOSTCTX_HELPERS, self.machine.helper_table)
            code = self.unit.address("exit_" + sig_key(h.params, h.results))
            write_u64(sp, vm + off.import_code(i), code)
            write_u64(sp, vm + off.import_vmctx(i), ctx)
            self._funcref(funcrefs, i, code, ctx)
            self.host_ctxs.append(ctx)
        for idx in self.funcs:
            self._funcref(funcrefs, idx, self.unit.address(func_symbol(idx)), vm)
        self.funcrefs = funcrefs
        self.tables = []
        for i, size in enumerate(spec.tables):
            base = sp.alloc(8 * max(size, 1))
            tdef = sp.alloc(V.TABLEDEF_SIZE)
            write_u64(sp, tdef + V.TABLEDEF_BASE, base)
            write_u64(sp, tdef + V.TABLEDEF_LENGTH, size)
            write_u64(sp, vm + off.table_def(i), tdef)
            self.tables.append(base)

    def _funcref(self, funcrefs: int, idx: int, code: int, ctx: int) -> None:
        rec = funcrefs + V.FUNCREF_SIZE * idx
        write_u64(self.space, rec + V.FUNCREF_CODE, code)
        write_u64(self.space, rec + V.FUNCREF_VMCTX, ctx)
        write_u64(self.space, rec + V.FUNCREF_SIG, self.sig_ids[self.sigs[idx]])

    def set_table(self, table: int, index: int, func: int | None) -> None:
        """Store a reference to function `func` (or null) in table slot `index`."""
        value = 0 if func is None else self.funcrefs + V.FUNCREF_SIZE * func
        write_u64(self.space, self.tables[table] + 8 * index, value)

    # -- calls ----------------------------------------------------------------------------------

    def call(self, index: int, *args: int) -> list[int]:
        params, results = self.sigs[index]
        if index not in self.funcs:
            raise WasmError(f"harness: function {index} is not a compiled function")
        bits = [a & _MASK.get(t, 0xFFFFFFFFFFFFFFFF) for a, t in zip(args, params)]
        raw = self.machine.call(self.unit.address("entry_" + sig_key(params, results)),
                                self.vmctx, self.unit.address(func_symbol(index)), bits,
                                len(results))
        return [r & _MASK.get(t, 0xFFFFFFFFFFFFFFFF) for r, t in zip(raw, results)]

    def read_memory(self, addr: int, n: int) -> bytes:
        return self.space.read(self.memory.base + addr, n)

    def write_memory(self, addr: int, data: bytes) -> None:
        self.space.write(self.memory.base + addr, data)

    def fuel(self) -> int:
        """Remaining fuel, signed: negative when code overdrew it after its last check."""
        v = read_u64(self.space, self.state + V.STATE_FUEL)
        return v - (1 << 64) if v >> 63 else v

    def set_epoch(self, epoch: int) -> None:
        write_u64(self.space, self.epoch_cell, epoch)

    def global_value(self, i: int) -> int:
        return read_u64(self.space, self.global_cells[i])

    # -- helpers --------------------------------------------------------------------------------

    def _helpers(self) -> list[Callable[..., int]]:
        impl = {
            Helper.MEMORY_GROW: self._memory_grow,
            Helper.HOST_CALL: self._host_call,
            Helper.EPOCH: self._epoch,
            Helper.BACKTRACE: lambda *_: 0,     # the harness reports no frames
        }

        def missing(h: Helper) -> Callable[..., int]:
            def fn(*_regs: int) -> int:
                raise UnsupportedError(f"harness runtime helper {h.value}")
            return fn
        return [impl.get(h) or missing(h) for h in Helper]

    def _epoch(self, vmctx: int, *_: int) -> int:
        """The epoch check's slow path (x86_64): trap once the epoch reached the deadline."""
        epoch = read_u64(self.space, read_u64(self.space, vmctx + V.EPOCH_PTR))
        return int(epoch >= read_u64(self.space, self.state + V.STATE_EPOCH_DEADLINE))

    def _memory_grow(self, vmctx: int, mem: int, delta: int, *_: int) -> int:
        delta &= 0xFFFFFFFF
        old = self.memory.length // PAGE_BYTES
        if old + delta > self.max_pages or not self.memory.grow_to((old + delta) * PAGE_BYTES):
            return 0xFFFFFFFF
        write_u64(self.space, self.vmctx + self.offsets.memory_length(0), self.memory.length)
        return old

    def _host_call(self, ctx: int, buf: int, *_: int) -> int:
        h = self.spec.host_funcs[read_u64(self.space, ctx + V.HOSTCTX_ID)]
        raw = struct.unpack(f"<{len(h.params)}Q", self.space.read(buf, 8 * len(h.params)))
        args = [a & _MASK.get(t, 0xFFFFFFFFFFFFFFFF) for a, t in zip(raw, h.params)]
        out = list(h.fn(*args))
        if len(out) != len(h.results):
            raise Trap(f"host function returned {len(out)} values, expected {len(h.results)}")
        for i, (v, t) in enumerate(zip(out, h.results)):
            write_u64(self.space, buf + 8 * i, v & _MASK.get(t, 0xFFFFFFFFFFFFFFFF))
        return 0

    def close(self) -> None:
        self.machine.close()


def _const_value(expr, global_values: list[int]) -> int | None:
    """The value of a constant expression (bit pattern; funcref as function index + 1, 0 for
    null), or None for one the harness cannot evaluate."""
    if len(expr) < 1:
        return None
    ins = expr[0]
    name = INFO[ins.op].name
    if name == "i32.const":
        return ins.imm & 0xFFFFFFFF
    if name == "i64.const":
        return ins.imm & 0xFFFFFFFFFFFFFFFF
    if name in ("f32.const", "f64.const"):
        return ins.imm
    if name == "ref.null":
        return 0
    if name == "ref.func":
        return ins.imm + 1
    if name == "global.get":
        return global_values[ins.imm]
    return None


def harness_for_module(module, emulate: bool = False, target: str = "x86_64") -> Harness:
    """A Harness for a decoded module without imports: its memory, globals, table and active
    segments (constant offsets) set up as instantiation would. Raises UnsupportedError for
    what the harness does not model (imports, several memories or tables, passive segments)."""
    if module.imports:
        raise UnsupportedError("harness: modules with imports")
    if len(module.mems) > 1 or len(module.tables) > 1:
        raise UnsupportedError("harness: several memories or tables")
    if any(t.element != ValType.FUNCREF for t in module.tables):
        raise UnsupportedError("harness: externref tables")
    gvals: list[int] = []
    globals_ = []
    for g in module.globals:
        v = _const_value(g.init, gvals)
        if v is None:
            raise UnsupportedError("harness: global initialiser")
        gvals.append(v)
        globals_.append((g.type.content, v))
    memory = None
    if module.mems:
        lim = module.mems[0].limits
        memory = (lim.min, lim.max if lim.max is not None else 65536)
    spec = HarnessSpec(memory=memory, globals=globals_,
                       tables=[t.limits.min for t in module.tables],
                       types=[(tuple(t.params), tuple(t.results)) for t in module.types])
    h = Harness(build_module(module), spec, emulate=emulate, target=target)
    for i, (t, v) in enumerate(globals_):
        if t == ValType.FUNCREF and v:
            write_u64(h.space, h.global_cells[i], h.funcrefs + V.FUNCREF_SIZE * (v - 1))
    for seg in module.elems:
        if seg.mode != SegmentMode.ACTIVE:
            continue
        off = _const_value(seg.offset, gvals)
        if off is None or off + len(seg.init) > spec.tables[seg.table]:
            raise UnsupportedError("harness: element segment")
        for k, e in enumerate(seg.init):
            v = _const_value(e, gvals)
            h.set_table(seg.table, off + k, None if not v else v - 1)
    for seg in module.datas:
        if seg.mode != SegmentMode.ACTIVE:
            continue
        off = _const_value(seg.offset, gvals)
        if off is None or h.memory is None or off + len(seg.data) > h.memory.length:
            raise UnsupportedError("harness: data segment")
        h.write_memory(off, seg.data)
    return h
