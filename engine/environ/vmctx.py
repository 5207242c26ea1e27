"""The vmctx layout: the offsets of every field generated code reads, computed once per module
and shared by all backends and the runtime (the role of wasmtime's VMOffsets).

Everything generated code reads is machine state the runtime objects own; nothing is copied
in or out around calls (see engine/exec/compiled.py for the boundary):

Fixed header (8-byte slots):
  0  state        pointer to the store context shared by every instance of the store (below)
  8  stack_limit  lowest stack address wasm code may use; prologues trap below it (the same
                  value in every vmctx of a store: set on entry when it changes)
 16  helpers      pointer to the runtime-helper table (engine.environ.helpers order, 8 bytes each)
 24  epoch_ptr    pointer to the engine's epoch counter (u64)
 32  reserved
 40  reserved
 48  funcrefs     pointer to this instance's FuncRef records, one per function index
 56  reserved
Then, in order: per memory (base, length) 16 bytes: the base never changes for the memory's
life; the length is the Memory's current length in bytes, which the Memory writes into every
vmctx that uses it whenever it grows (so a heap check is one load from the vmctx, as wasmtime's
for a defined memory; the authoritative record is the MemoryDefinition the Memory owns, which
the runtime and native fast paths read);
per global a pointer to its 16-byte cell (owned by the Global); per table a pointer to its
TableDefinition (owned by the Table); per imported function (code, vmctx) 16 bytes; per type
index the signature id (8 bytes; equivalent types, of any module, share an id); per tag (definition
address, thrower code, thrower ctx) 24 bytes, the thrower an exit trampoline of the tag's
payload signature whose host function raises the exception; then (code, ctx) of the rethrower
(throw_ref: signature (exnref) -> ()); per data segment (address, length) 16 bytes: the bytes
memory.init copies from (the store's copy of a passive segment; length 0 once dropped, and
for an active one, which instantiation drops).

Store context (one per store, 64 bytes): entry_sp, trap_code, trap_pc, fuel (i64; out of fuel
when it becomes negative), epoch_deadline, trap_fp, exn, catch. The entry trampoline saves its stack
pointer in entry_sp (restoring the previous value on return, so host -> wasm -> host -> wasm
nests); the trap stub writes trap_code/trap_pc and the trapping function's frame pointer
(trap_fp: the frames' chain the backtrace walks, every trap path has a frame) and unwinds to
entry_sp. Fuel and the epoch
deadline are store-wide: a call into another instance of the store charges the same fuel.

Exceptions (exception handling): `exn` is the record of the exception being thrown (0: none);
`catch` the innermost catch record of the running entry (0: none; the entry trampoline saves
it, sets 0 and restores it, as it does entry_sp). A function with handlers (IR
Function.catches) makes every call a protected call: it links a catch record in its frame
(prev, sp, fp, landing pc just after the call, vmctx) before the call and unlinks it after.
An exception unwinds through the trap stub with code EXCEPTION: to the innermost catch
record if there is one (sp, fp, vmctx restored, to its landing pc, where the function looks
at `exn`), else to entry_sp as a trap. Exception record (store arena): the tag's definition
address, then the payload as buffer words (backends/callconv.buffer_offsets).

MemoryDefinition (16 bytes): base, length in bytes. TableDefinition (16 bytes): base (8-byte
entries, each 0 or a FuncRef record address for funcref, 0 or an externref handle), length in
elements; growth may move the entries and updates base.

FuncRef record (24 bytes): code pointer, callee vmctx, signature id. For a function of another
instance of the same store the record (and an import slot) holds that instance's code and vmctx:
such calls never leave machine code. A host function's "vmctx" is a HostCtx: the store context
pointer at offset 0 and the helper table at 16 (the same places as in a vmctx), the host
function's id at 8; its code is the exit trampoline of its signature.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..wasm.types import ExternKind

STATE = 0
STACK_LIMIT = 8
HELPERS = 16
EPOCH_PTR = 24
FUNCREFS = 48
HEADER_SIZE = 64

STATE_ENTRY_SP = 0
STATE_TRAP_CODE = 8
STATE_TRAP_PC = 16
STATE_FUEL = 24
STATE_EPOCH_DEADLINE = 32
STATE_TRAP_FP = 40
STATE_EXN = 48
STATE_CATCH = 56
STATE_SIZE = 64

#: the code an exception unwinds with (through the trap stub, as a trap code would; not a
#: TrapCode): a pending exception, its record in STATE_EXN
EXCEPTION = 0xFA

CATCH_PREV = 0
CATCH_SP = 8
CATCH_FP = 16
CATCH_PC = 24
CATCH_VMCTX = 32
CATCH_WORDS = 5

EXN_TAG = 0
EXN_FIELDS = 8

MEMDEF_BASE = 0
MEMDEF_LENGTH = 8
MEMDEF_SIZE = 16

TABLEDEF_BASE = 0
TABLEDEF_LENGTH = 8
TABLEDEF_SIZE = 16

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
    num_tags: int = 0
    num_datas: int = 0

    @property
    def memories_start(self) -> int:
        return HEADER_SIZE

    def memory_base(self, i: int) -> int:
        return HEADER_SIZE + 16 * i

    def memory_length(self, i: int) -> int:
        """Memory i's current length in bytes (the Memory keeps it equal to its definition's
        in every vmctx that uses it)."""
        return HEADER_SIZE + 16 * i + 8

    @property
    def globals_start(self) -> int:
        return HEADER_SIZE + 16 * self.num_memories

    def global_ptr(self, i: int) -> int:
        return self.globals_start + 8 * i

    @property
    def tables_start(self) -> int:
        return self.globals_start + 8 * self.num_globals

    def table_def(self, i: int) -> int:
        """The slot holding a pointer to table i's TableDefinition."""
        return self.tables_start + 8 * i

    @property
    def imports_start(self) -> int:
        return self.tables_start + 8 * self.num_tables

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
    def tags_start(self) -> int:
        return self.sigs_start + 8 * self.num_types

    def tag_def(self, i: int) -> int:
        """The slot holding tag i's definition address (its identity)."""
        return self.tags_start + 24 * i

    def tag_thrower(self, i: int) -> int:
        """The (code, ctx) pair that throws an exception of tag i."""
        return self.tags_start + 24 * i + 8

    @property
    def rethrower(self) -> int:
        """The (code, ctx) pair of throw_ref."""
        return self.tags_start + 24 * self.num_tags

    def data_segment(self, i: int) -> int:
        """Data segment i's (address, length) pair."""
        return self.rethrower + 16 + 16 * i

    @property
    def size(self) -> int:
        return self.rethrower + 16 + 16 * self.num_datas

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
                   num_types=len(module.types),
                   num_tags=count(ExternKind.TAG, getattr(module, "tags", ())),
                   num_datas=len(getattr(module, "datas", ())))
