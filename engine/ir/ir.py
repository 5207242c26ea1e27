"""The SSA intermediate representation: value types, opcodes (with their semantics), instructions,
blocks with block parameters (no phis), and functions.

Shape
-----
A `Function` is a list of `Block`s in layout order; ``blocks[0]`` is the entry block and its
parameters are the function's parameters. Invariant (checked by the verifier): ``block.id`` equals
the block's position in ``Function.blocks``. A block is a list of parameters (values) and a list of
instructions whose last instruction, and only that one, is a terminator (`Opcode.is_terminator`).

Values are small ints (``v0``, ``v1``, ...) indexing ``Function.value_types``. A value is defined
exactly once: as a block parameter or as a result of an instruction. Numbers of values that were
deleted by a pass simply stay unused.

Control transfers pass arguments to the target's parameters through a `BlockCall`
(``block3(v1, v2)``); a block's parameters take the arguments of the edge that entered it.

Value representation (shared by the interpreter, constant folder and backends)
-----------------------------------------------------------------------------
- i32 / i64: the two's-complement bit pattern as an unsigned Python int ``0 <= x < 2**N``.
  Opcodes say when they read their operands as signed.
- f32 / f64: the raw IEEE-754 bit pattern as an unsigned int (so NaN payloads and -0.0 survive).
- funcref / externref: opaque references; null is a distinct value (``ref_null``).
- The instance context (vmctx: memories, tables, globals, functions) is implicit.

Traps
-----
Everything that can trap is either an explicit trap instruction (``trap``, ``trapz``,
``trapnz``, ``heap_check``) or an instruction documented as trapping below (calls, table accesses,
bulk memory/table operations, ``memory_grow`` never traps). Arithmetic instructions never trap: the
builder emits the checks (division by zero, signed overflow, float-to-int range) in front of them,
and those instructions are *unspecified* (any result, but no trap and no other effect) when their
stated precondition does not hold. A constant folder must not fold them then.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from ..wasm.types import ValType

#: IR value types are the wasm value types (v128 is reserved: no opcode uses it yet).
Type = ValType

I32 = ValType.I32
I64 = ValType.I64
F32 = ValType.F32
F64 = ValType.F64
FUNCREF = ValType.FUNCREF
EXTERNREF = ValType.EXTERNREF

INT_TYPES = (I32, I64)
FLOAT_TYPES = (F32, F64)
REF_TYPES = (FUNCREF, EXTERNREF)

#: Bit width of each numeric type.
BITS: dict[ValType, int] = {I32: 32, I64: 64, F32: 32, F64: 64, ValType.V128: 128}

#: IR text names of types, and back.
TYPE_NAMES: dict[ValType, str] = {t: str(t) for t in ValType}
TYPE_BY_NAME: dict[str, ValType] = {str(t): t for t in ValType}


class IntCC(enum.Enum):
    """Integer comparison conditions (operands read as unsigned for u*, signed for s*)."""

    __hash__ = object.__hash__

    EQ = "eq"
    NE = "ne"
    SLT = "slt"
    SLE = "sle"
    SGT = "sgt"
    SGE = "sge"
    ULT = "ult"
    ULE = "ule"
    UGT = "ugt"
    UGE = "uge"


class FloatCC(enum.Enum):
    """Float comparison conditions. All are *ordered* (false when an operand is NaN) except
    NE (true when unordered, as wasm's fNN.ne) and UNO (true exactly when an operand is NaN).
    ORD is true when neither operand is NaN."""

    __hash__ = object.__hash__

    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    UNO = "uno"
    ORD = "ord"


class ImmKind(enum.Enum):
    """The shape of an instruction's `Inst.imm`, and its text form."""

    __hash__ = object.__hash__

    NONE = "none"            # None
    INT = "int"              # int: iconst's unsigned bit pattern; text: signed decimal or hex
    BITS = "bits"            # int: fconst's raw IEEE bits; text: 0x... hex
    INTCC = "intcc"          # IntCC; text: eq, slt, ...
    FLOATCC = "floatcc"      # FloatCC
    TRAP = "trap"            # TrapCode; text: lower-case name, e.g. integer_overflow
    HEAP = "heap"            # HeapImm; text: mem0 offset=16 size=4
    MEM = "mem"              # MemImm; text: mem0 offset=16
    MEMORY = "memory"        # int memory index; text: mem0
    GLOBAL = "global"        # int global index; text: g3
    TABLE = "table"          # int table index; text: table0
    FUNC = "func"            # int function index; text: fn5
    CALL_INDIRECT = "call_indirect"  # CallIndirectImm; text: type2 table0
    DATA = "data"            # int data segment index; text: data1
    ELEM = "elem"            # int element segment index; text: elem1
    MEMORY_INIT = "memory_init"  # SegmentImm(segment=data index, target=memory); text: data1 mem0
    TABLE_INIT = "table_init"    # SegmentImm(segment=elem index, target=table); text: elem1 table0
    MEMORY_COPY = "memory_copy"  # CopyImm(dst memory, src memory); text: mem0 mem0
    TABLE_COPY = "table_copy"    # CopyImm(dst table, src table); text: table0 table1


@dataclass(slots=True, frozen=True)
class HeapImm:
    """Immediate of ``heap_check``: memory index, static offset, access size in bytes."""

    memory: int
    offset: int
    size: int


@dataclass(slots=True, frozen=True)
class MemImm:
    """Immediate of loads and stores: memory index and static offset (bytes)."""

    memory: int
    offset: int


@dataclass(slots=True, frozen=True)
class CallIndirectImm:
    """Immediate of ``call_indirect``: the expected signature (type index) and the table."""

    type_index: int
    table: int


@dataclass(slots=True, frozen=True)
class SegmentImm:
    """Immediate of ``memory_init`` / ``table_init``: segment index and target memory/table."""

    segment: int
    target: int


@dataclass(slots=True, frozen=True)
class CopyImm:
    """Immediate of ``memory_copy`` / ``table_copy``: destination and source memory/table."""

    dst: int
    src: int


class Opcode(enum.Enum):
    """IR opcodes. The value is the text mnemonic. Below, T is the type of the result (or of the
    operands where stated), "iN" an integer type (i32 or i64), "fN" a float type (f32 or f64).
    Operands are listed in `Inst.args` order.

    Constants
      iconst imm           -> iN   the bit pattern imm (unsigned, < 2**N)
      fconst imm           -> fN   the raw IEEE bits imm
    Integer arithmetic (operands and result of one type iN; wrap modulo 2**N)
      iadd a b, isub a b, imul a b
      sdiv a b             signed quotient rounded toward zero. Precondition: b != 0 and not
                           (a == INT_MIN and b == -1) (the builder traps before).
      udiv a b             unsigned quotient. Precondition: b != 0.
      srem a b             signed remainder with the sign of a. Precondition as sdiv (the builder
                           replaces a divisor of -1 by 1, which gives the same result, 0).
      urem a b             unsigned remainder. Precondition: b != 0.
      band a b, bor a b, bxor a b
      ishl a b, sshr a b, ushr a b   shift by (b mod N); sshr is arithmetic
      rotl a b, rotr a b   rotate by (b mod N)
      clz a, ctz a, popcnt a        (result N for clz/ctz of 0)
      sext8 a, sext16 a, sext32 a   sign-extend the low 8/16/32 bits of a to the full width
                                     (sext32 only on i64)
      eqz a                -> i32  1 if a == 0 else 0
      icmp cc a b          -> i32  1 if (a cc b) else 0; operands of one iN type
    Float arithmetic (operands and result of one type fN; IEEE-754 round-to-nearest-even,
    wasm NaN rules: a NaN result is a quiet NaN, canonical unless an operand NaN propagates)
      fadd a b, fsub a b, fmul a b, fdiv a b
      fmin a b, fmax a b   wasm semantics: NaN if either is NaN; -0 < +0
      fcopysign a b        bits of a with the sign bit of b (exact bit operation)
      fabs a, fneg a       clear / flip the sign bit (exact bit operations, NaN payload kept)
      fsqrt a, fceil a, ffloor a, ftrunc a, fnearest a (round half to even)
      fcmp cc a b          -> i32  see FloatCC
    Conversions (source type = type of the operand, destination = type of the result)
      ireduce a            i64 -> i32, the low 32 bits
      uextend a, sextend a i32 -> i64, zero / sign extension
      fcvt_to_sint a       fN -> iN, truncate toward zero. Precondition: a is not NaN and its
                           truncation fits the signed result type (the builder emits
                           ``fcmp uno`` + ``trapnz bad_conversion_to_integer`` and range checks +
                           ``trapz integer_overflow`` before).
      fcvt_to_uint a       as fcvt_to_sint, unsigned result.
      fcvt_to_sint_sat a, fcvt_to_uint_sat a   saturating (NaN -> 0); never trap
      fcvt_from_sint a, fcvt_from_uint a       iN -> fN, rounded to nearest-even (once)
      fpromote a           f32 -> f64 (NaN -> quiet NaN)
      fdemote a            f64 -> f32, rounded to nearest-even (NaN -> quiet NaN)
      bitcast a            reinterpret the bits between iN and fN of the same width
    Other pure instructions
      select c a b         -> T    a if c (i32) != 0 else b; a, b, result of one type (any type)
      ref_null             -> funcref | externref    the null reference of the result type
      ref_is_null r        -> i32  1 if r is null
      ref_func imm         -> funcref   the function with index imm
    Traps
      trap imm             terminator: always traps with TrapCode imm
      trapz imm c          traps with imm if c (iN) == 0
      trapnz imm c         traps with imm if c (iN) != 0
    Fuel (only in functions built with Config.consume_fuel; the builder places them)
      fuel u               subtract u (i64) from the store's remaining fuel (no check)
      fuel_check u         traps OUT_OF_FUEL if the remaining fuel minus u (i64) is <= 0
    Linear memory (index operands are i32, read unsigned; effective address = index + offset)
      heap_check imm i     traps MEMORY_OUT_OF_BOUNDS unless i + imm.offset + imm.size <= the
                           current byte length of memory imm.memory (computed without overflow)
      load imm i           -> T     load T (little-endian) at the effective address
      uload8/sload8/uload16/sload16/uload32/sload32 imm i  -> iN  load 8/16/32 bits and zero /
                           sign extend (uload32/sload32 only to i64)
      store imm i v        store v (its whole width)
      istore8/istore16/istore32 imm i v   store the low 8/16/32 bits of v (istore32 only i64)
                           Loads and stores: precondition: a heap_check covering the access
                           dominates them (the builder emits one per access).
      memory_size imm      -> i32   current size in 64 KiB pages of memory imm
      memory_grow imm d    -> i32   grow by d pages; old size, or -1 (0xffffffff) on failure
      memory_init imm d s n         wasm memory.init; traps MEMORY_OUT_OF_BOUNDS
      memory_copy imm d s n         wasm memory.copy; traps MEMORY_OUT_OF_BOUNDS
      memory_fill imm d v n         wasm memory.fill; traps MEMORY_OUT_OF_BOUNDS
      data_drop imm                 wasm data.drop
    Globals
      global_get imm       -> T     value of global imm
      global_set imm v              set global imm (mutable) to v
    Tables (indices i32, read unsigned)
      table_get imm i      -> ref   traps TABLE_OUT_OF_BOUNDS if i >= size
      table_set imm i r             traps TABLE_OUT_OF_BOUNDS if i >= size
      table_size imm       -> i32
      table_grow imm r n   -> i32   wasm table.grow (init value r): old size or -1
      table_fill imm i r n          wasm table.fill; traps TABLE_OUT_OF_BOUNDS
      table_copy imm d s n          wasm table.copy; traps TABLE_OUT_OF_BOUNDS
      table_init imm d s n          wasm table.init; traps TABLE_OUT_OF_BOUNDS
      elem_drop imm                 wasm elem.drop
    Calls (results: the callee's results, any number)
      call imm args...              call function imm (imported or defined)
      call_indirect imm idx args... call through table imm.table at index idx (i32, the first
                           operand) with signature imm.type_index. Traps, in this order:
                           TABLE_OUT_OF_BOUNDS (idx >= size), INDIRECT_CALL_TO_NULL (null entry),
                           BAD_SIGNATURE (the entry's type differs structurally).
                           Calls may trap with anything the callee traps with, and
                           STACK_OVERFLOW.
    Terminators (the last instruction of every block, and only there)
      jump             targets[0]                  unconditional branch
      brif c           targets[0], targets[1]      to targets[0] if c (i32) != 0, else targets[1]
      br_table i       targets[:-1], targets[-1]   to targets[i] if i (i32, unsigned) <
                                                   len(targets) - 1, else to the default (last)
      return args...                               return args as the function's results
      trap imm                                     (see Traps)
      return_call imm args...                      tail call: call function imm in place of
                                                   this frame and return its results (which
                                                   are this function's result types)
      return_call_indirect imm idx args...         the same through a table, with
                                                   call_indirect's checks and traps
    """

    ICONST = "iconst"
    FCONST = "fconst"
    IADD = "iadd"
    ISUB = "isub"
    IMUL = "imul"
    SDIV = "sdiv"
    UDIV = "udiv"
    SREM = "srem"
    UREM = "urem"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"
    ISHL = "ishl"
    SSHR = "sshr"
    USHR = "ushr"
    ROTL = "rotl"
    ROTR = "rotr"
    CLZ = "clz"
    CTZ = "ctz"
    POPCNT = "popcnt"
    SEXT8 = "sext8"
    SEXT16 = "sext16"
    SEXT32 = "sext32"
    EQZ = "eqz"
    ICMP = "icmp"
    FADD = "fadd"
    FSUB = "fsub"
    FMUL = "fmul"
    FDIV = "fdiv"
    FMIN = "fmin"
    FMAX = "fmax"
    FCOPYSIGN = "fcopysign"
    FABS = "fabs"
    FNEG = "fneg"
    FSQRT = "fsqrt"
    FCEIL = "fceil"
    FFLOOR = "ffloor"
    FTRUNC = "ftrunc"
    FNEAREST = "fnearest"
    FCMP = "fcmp"
    IREDUCE = "ireduce"
    UEXTEND = "uextend"
    SEXTEND = "sextend"
    FCVT_TO_SINT = "fcvt_to_sint"
    FCVT_TO_UINT = "fcvt_to_uint"
    FCVT_TO_SINT_SAT = "fcvt_to_sint_sat"
    FCVT_TO_UINT_SAT = "fcvt_to_uint_sat"
    FCVT_FROM_SINT = "fcvt_from_sint"
    FCVT_FROM_UINT = "fcvt_from_uint"
    FPROMOTE = "fpromote"
    FDEMOTE = "fdemote"
    BITCAST = "bitcast"
    SELECT = "select"
    REF_NULL = "ref_null"
    REF_IS_NULL = "ref_is_null"
    REF_FUNC = "ref_func"
    TRAP = "trap"
    TRAPZ = "trapz"
    TRAPNZ = "trapnz"
    HEAP_CHECK = "heap_check"
    FUEL = "fuel"
    FUEL_CHECK = "fuel_check"
    LOAD = "load"
    ULOAD8 = "uload8"
    SLOAD8 = "sload8"
    ULOAD16 = "uload16"
    SLOAD16 = "sload16"
    ULOAD32 = "uload32"
    SLOAD32 = "sload32"
    STORE = "store"
    ISTORE8 = "istore8"
    ISTORE16 = "istore16"
    ISTORE32 = "istore32"
    MEMORY_SIZE = "memory_size"
    MEMORY_GROW = "memory_grow"
    MEMORY_INIT = "memory_init"
    MEMORY_COPY = "memory_copy"
    MEMORY_FILL = "memory_fill"
    DATA_DROP = "data_drop"
    GLOBAL_GET = "global_get"
    GLOBAL_SET = "global_set"
    TABLE_GET = "table_get"
    TABLE_SET = "table_set"
    TABLE_SIZE = "table_size"
    TABLE_GROW = "table_grow"
    TABLE_FILL = "table_fill"
    TABLE_COPY = "table_copy"
    TABLE_INIT = "table_init"
    ELEM_DROP = "elem_drop"
    CALL = "call"
    CALL_INDIRECT = "call_indirect"
    JUMP = "jump"
    BRIF = "brif"
    BR_TABLE = "br_table"
    RETURN = "return"
    RETURN_CALL = "return_call"
    RETURN_CALL_INDIRECT = "return_call_indirect"

    #: Members are singletons compared by identity, so the identity hash is consistent with
    #: equality and keeps dict/set lookups keyed by opcode in C (Enum's own hash is Python).
    __hash__ = object.__hash__

    @property
    def info(self) -> OpInfo:
        return OPINFO[self]

    @property
    def is_terminator(self) -> bool:
        return self in TERMINATORS

    @property
    def has_side_effects(self) -> bool:
        """True for instructions that may trap, write state or call: never removed when unused."""
        return self in SIDE_EFFECTS


@dataclass(slots=True, frozen=True)
class OpInfo:
    """Static facts about an opcode: its immediate shape and memory access width."""

    imm: ImmKind = ImmKind.NONE
    #: bytes accessed by loads/stores (None: the full width of the value type)
    access_size: int | None = None
    #: loads: whether the narrow value is sign-extended
    signed: bool = False


_O = Opcode
_K = ImmKind

OPINFO: dict[Opcode, OpInfo] = {op: OpInfo() for op in Opcode}
OPINFO.update({
    _O.ICONST: OpInfo(_K.INT), _O.FCONST: OpInfo(_K.BITS),
    _O.ICMP: OpInfo(_K.INTCC), _O.FCMP: OpInfo(_K.FLOATCC),
    _O.TRAP: OpInfo(_K.TRAP), _O.TRAPZ: OpInfo(_K.TRAP), _O.TRAPNZ: OpInfo(_K.TRAP),
    _O.HEAP_CHECK: OpInfo(_K.HEAP),
    _O.LOAD: OpInfo(_K.MEM),
    _O.ULOAD8: OpInfo(_K.MEM, 1), _O.SLOAD8: OpInfo(_K.MEM, 1, True),
    _O.ULOAD16: OpInfo(_K.MEM, 2), _O.SLOAD16: OpInfo(_K.MEM, 2, True),
    _O.ULOAD32: OpInfo(_K.MEM, 4), _O.SLOAD32: OpInfo(_K.MEM, 4, True),
    _O.STORE: OpInfo(_K.MEM),
    _O.ISTORE8: OpInfo(_K.MEM, 1), _O.ISTORE16: OpInfo(_K.MEM, 2), _O.ISTORE32: OpInfo(_K.MEM, 4),
    _O.MEMORY_SIZE: OpInfo(_K.MEMORY), _O.MEMORY_GROW: OpInfo(_K.MEMORY),
    _O.MEMORY_INIT: OpInfo(_K.MEMORY_INIT), _O.MEMORY_COPY: OpInfo(_K.MEMORY_COPY),
    _O.MEMORY_FILL: OpInfo(_K.MEMORY), _O.DATA_DROP: OpInfo(_K.DATA),
    _O.GLOBAL_GET: OpInfo(_K.GLOBAL), _O.GLOBAL_SET: OpInfo(_K.GLOBAL),
    _O.TABLE_GET: OpInfo(_K.TABLE), _O.TABLE_SET: OpInfo(_K.TABLE),
    _O.TABLE_SIZE: OpInfo(_K.TABLE), _O.TABLE_GROW: OpInfo(_K.TABLE),
    _O.TABLE_FILL: OpInfo(_K.TABLE), _O.TABLE_COPY: OpInfo(_K.TABLE_COPY),
    _O.TABLE_INIT: OpInfo(_K.TABLE_INIT), _O.ELEM_DROP: OpInfo(_K.ELEM),
    _O.REF_FUNC: OpInfo(_K.FUNC),
    _O.CALL: OpInfo(_K.FUNC), _O.CALL_INDIRECT: OpInfo(_K.CALL_INDIRECT),
    _O.RETURN_CALL: OpInfo(_K.FUNC), _O.RETURN_CALL_INDIRECT: OpInfo(_K.CALL_INDIRECT),
})

TERMINATORS = frozenset({_O.JUMP, _O.BRIF, _O.BR_TABLE, _O.RETURN, _O.TRAP, _O.RETURN_CALL,
                         _O.RETURN_CALL_INDIRECT})
#: the terminators that leave the function (no successor blocks)
EXITS = frozenset({_O.RETURN, _O.TRAP, _O.RETURN_CALL, _O.RETURN_CALL_INDIRECT})

LOADS = frozenset({_O.LOAD, _O.ULOAD8, _O.SLOAD8, _O.ULOAD16, _O.SLOAD16, _O.ULOAD32, _O.SLOAD32})
STORES = frozenset({_O.STORE, _O.ISTORE8, _O.ISTORE16, _O.ISTORE32})

SIDE_EFFECTS = frozenset({
    _O.TRAP, _O.TRAPZ, _O.TRAPNZ, _O.HEAP_CHECK, _O.FUEL, _O.FUEL_CHECK, *STORES,
    _O.MEMORY_GROW, _O.MEMORY_INIT, _O.MEMORY_COPY, _O.MEMORY_FILL, _O.DATA_DROP,
    _O.GLOBAL_SET, _O.TABLE_GET, _O.TABLE_SET, _O.TABLE_GROW, _O.TABLE_FILL, _O.TABLE_COPY,
    _O.TABLE_INIT, _O.ELEM_DROP, _O.CALL, _O.CALL_INDIRECT, *TERMINATORS,
})

OPCODE_BY_NAME: dict[str, Opcode] = {op.value: op for op in Opcode}


@dataclass(slots=True)
class BlockCall:
    """A control-flow edge: the target block's id and the arguments for its parameters."""

    block: int
    args: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Inst:
    """One instruction: opcode, operand values, result values, immediate (see ImmKind) and, for
    branching terminators, the outgoing edges (see Opcode: jump / brif / br_table)."""

    opcode: Opcode
    args: list[int] = field(default_factory=list)
    results: list[int] = field(default_factory=list)
    imm: object = None
    targets: list[BlockCall] | None = None


@dataclass(slots=True)
class Block:
    """A basic block: its id (== its index in Function.blocks), parameters, instructions."""

    id: int
    params: list[int] = field(default_factory=list)
    insts: list[Inst] = field(default_factory=list)

    @property
    def terminator(self) -> Inst | None:
        if self.insts and self.insts[-1].opcode in TERMINATORS:
            return self.insts[-1]
        return None

    def successors(self) -> list[int]:
        """Target block ids of the terminator's edges (with repeats, in edge order)."""
        term = self.terminator
        if term is None or term.targets is None:
            return []
        return [bc.block for bc in term.targets]


@dataclass(slots=True)
class Function:
    """An SSA function. `params`/`results` are the signature; the entry block's parameters are
    the parameter values. `index` is the wasm function index (-1 when not from a module)."""

    name: str
    params: list[ValType] = field(default_factory=list)
    results: list[ValType] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    value_types: list[ValType] = field(default_factory=list)
    index: int = -1

    @property
    def entry(self) -> Block:
        return self.blocks[0]

    def new_value(self, ty: ValType) -> int:
        self.value_types.append(ty)
        return len(self.value_types) - 1

    def new_block(self) -> Block:
        block = Block(len(self.blocks))
        self.blocks.append(block)
        return block

    def renumber_blocks(self) -> None:
        """Restore ``block.id == position`` after blocks were removed or reordered, rewriting
        every edge."""
        mapping = {b.id: i for i, b in enumerate(self.blocks)}
        if all(k == v for k, v in mapping.items()):
            return
        for b in self.blocks:
            b.id = mapping[b.id]
            term = b.terminator
            if term is not None and term.targets:
                for bc in term.targets:
                    bc.block = mapping[bc.block]

    def num_insts(self) -> int:
        return sum(len(b.insts) for b in self.blocks)

    def __str__(self) -> str:
        return print_function(self)


# The printer formats the classes above; imported last because it imports them.
from .printer import print_function  # noqa: E402
