"""The vmctx layout: the offsets of every field generated code reads, computed once per module
and shared by all backends and the runtime (the role of wasmtime's VMOffsets).

Fixed header (8-byte slots):
  0  state        pointer to the ExecState shared by all instances of a store (see below)
  8  stack_limit  lowest stack address wasm code may use; prologues trap below it
 16  helpers      pointer to the runtime-helper table (backends.base.Helper order, 8 bytes each)
 24  epoch_ptr    pointer to the engine's epoch counter (u64)
 32  epoch_deadline (u64)
 40  fuel         remaining fuel (i64; out of fuel when it becomes negative)
 48  funcrefs     pointer to this instance's FuncRef records, one per function index
 56  reserved
Then, in order: per memory (base, length in bytes) 16 bytes; per global a pointer to its 16-byte
cell; per table (base, length in elements) 16 bytes, base pointing at 8-byte entries, each null
or a pointer to a FuncRef record; per imported function (code, vmctx) 16 bytes; per type index
the signature id (8 bytes; structurally equal types share an id).

ExecState (shared, 32 bytes): entry_sp, trap_code, trap_pc, reserved. The entry trampoline
saves its stack pointer in entry_sp (restoring the previous value on return, so host -> wasm ->
host -> wasm nests); the trap stub writes trap_code/trap_pc and unwinds to entry_sp.

FuncRef record (24 bytes): code pointer, callee vmctx, signature id. A host function's "vmctx"
is a HostCtx: state pointer at offset 0 and helper table at 16 (the same places as in a vmctx),
the host function id at 8.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..wasm.types import ExternKind

STATE = 0
STACK_LIMIT = 8
HELPERS = 16
EPOCH_PTR = 24
EPOCH_DEADLINE = 32
FUEL = 40
FUNCREFS = 48
HEADER_SIZE = 64

STATE_ENTRY_SP = 0
STATE_TRAP_CODE = 8
STATE_TRAP_PC = 16
STATE_SIZE = 32

FUNCREF_CODE = 0
FUNCREF_VMCTX = 8
FUNCREF_SIG = 16
FUNCREF_SIZE = 24

HOSTCTX_STATE = 0
HOSTCTX_ID = 8
HOSTCTX_HELPERS = 16      # same offset as a vmctx's helper table
HOSTCTX_SIZE = 24

GLOBAL_CELL_SIZE = 16


@dataclass(slots=True, frozen=True)
class VMOffsets:
    """Offsets of one module's vmctx fields (see the module docstring)."""

    num_memories: int
    num_globals: int
    num_tables: int
    num_imported_funcs: int
    num_types: int

    @property
    def memories_start(self) -> int:
        return HEADER_SIZE

    def memory_base(self, i: int) -> int:
        return HEADER_SIZE + 16 * i

    def memory_length(self, i: int) -> int:
        return HEADER_SIZE + 16 * i + 8

    @property
    def globals_start(self) -> int:
        return HEADER_SIZE + 16 * self.num_memories

    def global_ptr(self, i: int) -> int:
        return self.globals_start + 8 * i

    @property
    def tables_start(self) -> int:
        return self.globals_start + 8 * self.num_globals

    def table_base(self, i: int) -> int:
        return self.tables_start + 16 * i

    def table_length(self, i: int) -> int:
        return self.tables_start + 16 * i + 8

    @property
    def imports_start(self) -> int:
        return self.tables_start + 16 * self.num_tables

    def import_code(self, i: int) -> int:
        return self.imports_start + 16 * i

    def import_vmctx(self, i: int) -> int:
        return self.imports_start + 16 * i + 8

    @property
    def sigs_start(self) -> int:
        return self.imports_start + 16 * self.num_imported_funcs

    def sig_id(self, type_index: int) -> int:
        return self.sigs_start + 8 * type_index

    @property
    def size(self) -> int:
        return self.sigs_start + 8 * self.num_types

    @classmethod
    def for_module(cls, module) -> VMOffsets:
        """The layout for a decoded engine.wasm.module.WasmModule."""
        imports = list(getattr(module, "imports", []))

        def count(kind, defined) -> int:
            return sum(1 for im in imports if im.kind == kind) + len(defined)

        n_imp_funcs = sum(1 for im in imports if im.kind == ExternKind.FUNC)
        return cls(num_memories=count(ExternKind.MEMORY, module.mems),
                   num_globals=count(ExternKind.GLOBAL, module.globals),
                   num_tables=count(ExternKind.TABLE, module.tables),
                   num_imported_funcs=n_imp_funcs,
                   num_types=len(module.types))
