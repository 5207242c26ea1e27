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
- v128: the 128 bits as an unsigned int ``0 <= x < 2**128``, little-endian: lane i of an
  MxN shape is bits ``[i*M, (i+1)*M)`` (byte i of memory is bits ``[8i, 8i+8)``).
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

from ..wasm.opcodes import INFO as _WASM_INFO, PREFIX_SIMD as _PREFIX_SIMD
from ..wasm.types import ValType

#: IR value types are the wasm value types (v128: the SIMD opcodes, see engine/ir/README.md).
Type = ValType

I32 = ValType.I32
I64 = ValType.I64
F32 = ValType.F32
F64 = ValType.F64
FUNCREF = ValType.FUNCREF
EXTERNREF = ValType.EXTERNREF
EXNREF = ValType.EXNREF
V128 = ValType.V128

INT_TYPES = (I32, I64)
FLOAT_TYPES = (F32, F64)
REF_TYPES = (FUNCREF, EXTERNREF, EXNREF)

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
    TYPE = "type"            # int type index (call_ref's signature); text: type2
    DATA = "data"            # int data segment index; text: data1
    ELEM = "elem"            # int element segment index; text: elem1
    MEMORY_INIT = "memory_init"  # SegmentImm(segment=data index, target=memory); text: data1 mem0
    TABLE_INIT = "table_init"    # SegmentImm(segment=elem index, target=table); text: elem1 table0
    MEMORY_COPY = "memory_copy"  # CopyImm(dst memory, src memory); text: mem0 mem0
    TABLE_COPY = "table_copy"    # CopyImm(dst table, src table); text: table0 table1
    LANE = "lane"                # int lane index; text: lane=3
    SHUFFLE = "shuffle"          # tuple of 16 ints in 0..31; text: 0.17.2.19.4.21.6.23.8...
    MEM_LANE = "mem_lane"        # MemLaneImm; text: mem0 offset=16 lane=3
    TAG = "tag"                  # int tag index; text: tag2
    FIELD = "field"              # FieldImm; text: field=1 offset=8


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
class MemLaneImm:
    """Immediate of the SIMD lane loads and stores (``v128.load8_lane`` ...): memory index,
    static offset (bytes) and the lane index."""

    memory: int
    offset: int
    lane: int


@dataclass(slots=True, frozen=True)
class FieldImm:
    """Immediate of ``exn_field``: the payload value's index and its byte offset in the
    payload (engine.wasm.types.buffer_offsets of the tag's parameter types)."""

    index: int
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
      ref_null             -> funcref | externref | exnref   the null reference of the result type
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
    Exceptions (exception handling; see Function.catches)
      throw imm args...             throw a new exception of tag imm with payload args (the
                                    tag's parameter types)
      throw_ref r                   throw exception r again. Precondition: r is not null
      exn_pending          -> exnref  the exception unwinding to this frame (null: none)
      exn_set r                     set the pending exception (null: it is caught)
      exn_tag r            -> i64   the identity of exception r's tag
      tag_id imm           -> i64   the identity of tag imm of the instance
      exn_field imm r      -> T     payload value imm.index of exception r
      unwind r                      terminator: leave the function with exception r, the
                                    pending one, unwinding on to the caller
      In a function whose `catches` is set, every call, throw and throw_ref is protected: an
      exception thrown inside it (by it, or unwinding from the callee) does not unwind this
      frame but makes it go on after the instruction with exn_pending set (the instruction's
      results undefined); the builder branches on exn_pending after each. Elsewhere an
      exception unwinds the frame to its caller.
    SIMD (WebAssembly 2.0 fixed-width SIMD, values of type v128)
      One opcode per wasm SIMD instruction, named by its wasm mnemonic (``i8x16.add``; the
      member is I8X16_ADD), with the wasm operands in wasm order and the wasm semantics. The
      immediates, memory forms and the per-opcode contract are in engine/ir/README.md
      ("SIMD"); engine/ir/simd.py has the tables (types, lane shapes, access sizes).
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
    CALL_REF = "call_ref"    # [funcref (never null: the builder checks), args...]; type index
    JUMP = "jump"
    BRIF = "brif"
    BR_TABLE = "br_table"
    RETURN = "return"
    RETURN_CALL = "return_call"
    RETURN_CALL_INDIRECT = "return_call_indirect"
    RETURN_CALL_REF = "return_call_ref"
    THROW = "throw"
    THROW_REF = "throw_ref"
    EXN_PENDING = "exn_pending"
    EXN_SET = "exn_set"
    EXN_TAG = "exn_tag"
    TAG_ID = "tag_id"
    EXN_FIELD = "exn_field"
    UNWIND = "unwind"
    # SIMD: the wasm mnemonic is the IR mnemonic (engine/ir/README.md, "SIMD")
    V128_LOAD = "v128.load"
    V128_LOAD8X8_S = "v128.load8x8_s"
    V128_LOAD8X8_U = "v128.load8x8_u"
    V128_LOAD16X4_S = "v128.load16x4_s"
    V128_LOAD16X4_U = "v128.load16x4_u"
    V128_LOAD32X2_S = "v128.load32x2_s"
    V128_LOAD32X2_U = "v128.load32x2_u"
    V128_LOAD8_SPLAT = "v128.load8_splat"
    V128_LOAD16_SPLAT = "v128.load16_splat"
    V128_LOAD32_SPLAT = "v128.load32_splat"
    V128_LOAD64_SPLAT = "v128.load64_splat"
    V128_STORE = "v128.store"
    V128_CONST = "v128.const"
    I8X16_SHUFFLE = "i8x16.shuffle"
    I8X16_SWIZZLE = "i8x16.swizzle"
    I8X16_SPLAT = "i8x16.splat"
    I16X8_SPLAT = "i16x8.splat"
    I32X4_SPLAT = "i32x4.splat"
    I64X2_SPLAT = "i64x2.splat"
    F32X4_SPLAT = "f32x4.splat"
    F64X2_SPLAT = "f64x2.splat"
    I8X16_EXTRACT_LANE_S = "i8x16.extract_lane_s"
    I8X16_EXTRACT_LANE_U = "i8x16.extract_lane_u"
    I8X16_REPLACE_LANE = "i8x16.replace_lane"
    I16X8_EXTRACT_LANE_S = "i16x8.extract_lane_s"
    I16X8_EXTRACT_LANE_U = "i16x8.extract_lane_u"
    I16X8_REPLACE_LANE = "i16x8.replace_lane"
    I32X4_EXTRACT_LANE = "i32x4.extract_lane"
    I32X4_REPLACE_LANE = "i32x4.replace_lane"
    I64X2_EXTRACT_LANE = "i64x2.extract_lane"
    I64X2_REPLACE_LANE = "i64x2.replace_lane"
    F32X4_EXTRACT_LANE = "f32x4.extract_lane"
    F32X4_REPLACE_LANE = "f32x4.replace_lane"
    F64X2_EXTRACT_LANE = "f64x2.extract_lane"
    F64X2_REPLACE_LANE = "f64x2.replace_lane"
    I8X16_EQ = "i8x16.eq"
    I8X16_NE = "i8x16.ne"
    I8X16_LT_S = "i8x16.lt_s"
    I8X16_LT_U = "i8x16.lt_u"
    I8X16_GT_S = "i8x16.gt_s"
    I8X16_GT_U = "i8x16.gt_u"
    I8X16_LE_S = "i8x16.le_s"
    I8X16_LE_U = "i8x16.le_u"
    I8X16_GE_S = "i8x16.ge_s"
    I8X16_GE_U = "i8x16.ge_u"
    I16X8_EQ = "i16x8.eq"
    I16X8_NE = "i16x8.ne"
    I16X8_LT_S = "i16x8.lt_s"
    I16X8_LT_U = "i16x8.lt_u"
    I16X8_GT_S = "i16x8.gt_s"
    I16X8_GT_U = "i16x8.gt_u"
    I16X8_LE_S = "i16x8.le_s"
    I16X8_LE_U = "i16x8.le_u"
    I16X8_GE_S = "i16x8.ge_s"
    I16X8_GE_U = "i16x8.ge_u"
    I32X4_EQ = "i32x4.eq"
    I32X4_NE = "i32x4.ne"
    I32X4_LT_S = "i32x4.lt_s"
    I32X4_LT_U = "i32x4.lt_u"
    I32X4_GT_S = "i32x4.gt_s"
    I32X4_GT_U = "i32x4.gt_u"
    I32X4_LE_S = "i32x4.le_s"
    I32X4_LE_U = "i32x4.le_u"
    I32X4_GE_S = "i32x4.ge_s"
    I32X4_GE_U = "i32x4.ge_u"
    F32X4_EQ = "f32x4.eq"
    F32X4_NE = "f32x4.ne"
    F32X4_LT = "f32x4.lt"
    F32X4_GT = "f32x4.gt"
    F32X4_LE = "f32x4.le"
    F32X4_GE = "f32x4.ge"
    F64X2_EQ = "f64x2.eq"
    F64X2_NE = "f64x2.ne"
    F64X2_LT = "f64x2.lt"
    F64X2_GT = "f64x2.gt"
    F64X2_LE = "f64x2.le"
    F64X2_GE = "f64x2.ge"
    V128_NOT = "v128.not"
    V128_AND = "v128.and"
    V128_ANDNOT = "v128.andnot"
    V128_OR = "v128.or"
    V128_XOR = "v128.xor"
    V128_BITSELECT = "v128.bitselect"
    V128_ANY_TRUE = "v128.any_true"
    V128_LOAD8_LANE = "v128.load8_lane"
    V128_LOAD16_LANE = "v128.load16_lane"
    V128_LOAD32_LANE = "v128.load32_lane"
    V128_LOAD64_LANE = "v128.load64_lane"
    V128_STORE8_LANE = "v128.store8_lane"
    V128_STORE16_LANE = "v128.store16_lane"
    V128_STORE32_LANE = "v128.store32_lane"
    V128_STORE64_LANE = "v128.store64_lane"
    V128_LOAD32_ZERO = "v128.load32_zero"
    V128_LOAD64_ZERO = "v128.load64_zero"
    F32X4_DEMOTE_F64X2_ZERO = "f32x4.demote_f64x2_zero"
    F64X2_PROMOTE_LOW_F32X4 = "f64x2.promote_low_f32x4"
    I8X16_ABS = "i8x16.abs"
    I8X16_NEG = "i8x16.neg"
    I8X16_POPCNT = "i8x16.popcnt"
    I8X16_ALL_TRUE = "i8x16.all_true"
    I8X16_BITMASK = "i8x16.bitmask"
    I8X16_NARROW_I16X8_S = "i8x16.narrow_i16x8_s"
    I8X16_NARROW_I16X8_U = "i8x16.narrow_i16x8_u"
    F32X4_CEIL = "f32x4.ceil"
    F32X4_FLOOR = "f32x4.floor"
    F32X4_TRUNC = "f32x4.trunc"
    F32X4_NEAREST = "f32x4.nearest"
    I8X16_SHL = "i8x16.shl"
    I8X16_SHR_S = "i8x16.shr_s"
    I8X16_SHR_U = "i8x16.shr_u"
    I8X16_ADD = "i8x16.add"
    I8X16_ADD_SAT_S = "i8x16.add_sat_s"
    I8X16_ADD_SAT_U = "i8x16.add_sat_u"
    I8X16_SUB = "i8x16.sub"
    I8X16_SUB_SAT_S = "i8x16.sub_sat_s"
    I8X16_SUB_SAT_U = "i8x16.sub_sat_u"
    F64X2_CEIL = "f64x2.ceil"
    F64X2_FLOOR = "f64x2.floor"
    I8X16_MIN_S = "i8x16.min_s"
    I8X16_MIN_U = "i8x16.min_u"
    I8X16_MAX_S = "i8x16.max_s"
    I8X16_MAX_U = "i8x16.max_u"
    F64X2_TRUNC = "f64x2.trunc"
    I8X16_AVGR_U = "i8x16.avgr_u"
    I16X8_EXTADD_PAIRWISE_I8X16_S = "i16x8.extadd_pairwise_i8x16_s"
    I16X8_EXTADD_PAIRWISE_I8X16_U = "i16x8.extadd_pairwise_i8x16_u"
    I32X4_EXTADD_PAIRWISE_I16X8_S = "i32x4.extadd_pairwise_i16x8_s"
    I32X4_EXTADD_PAIRWISE_I16X8_U = "i32x4.extadd_pairwise_i16x8_u"
    I16X8_ABS = "i16x8.abs"
    I16X8_NEG = "i16x8.neg"
    I16X8_Q15MULR_SAT_S = "i16x8.q15mulr_sat_s"
    I16X8_ALL_TRUE = "i16x8.all_true"
    I16X8_BITMASK = "i16x8.bitmask"
    I16X8_NARROW_I32X4_S = "i16x8.narrow_i32x4_s"
    I16X8_NARROW_I32X4_U = "i16x8.narrow_i32x4_u"
    I16X8_EXTEND_LOW_I8X16_S = "i16x8.extend_low_i8x16_s"
    I16X8_EXTEND_HIGH_I8X16_S = "i16x8.extend_high_i8x16_s"
    I16X8_EXTEND_LOW_I8X16_U = "i16x8.extend_low_i8x16_u"
    I16X8_EXTEND_HIGH_I8X16_U = "i16x8.extend_high_i8x16_u"
    I16X8_SHL = "i16x8.shl"
    I16X8_SHR_S = "i16x8.shr_s"
    I16X8_SHR_U = "i16x8.shr_u"
    I16X8_ADD = "i16x8.add"
    I16X8_ADD_SAT_S = "i16x8.add_sat_s"
    I16X8_ADD_SAT_U = "i16x8.add_sat_u"
    I16X8_SUB = "i16x8.sub"
    I16X8_SUB_SAT_S = "i16x8.sub_sat_s"
    I16X8_SUB_SAT_U = "i16x8.sub_sat_u"
    F64X2_NEAREST = "f64x2.nearest"
    I16X8_MUL = "i16x8.mul"
    I16X8_MIN_S = "i16x8.min_s"
    I16X8_MIN_U = "i16x8.min_u"
    I16X8_MAX_S = "i16x8.max_s"
    I16X8_MAX_U = "i16x8.max_u"
    I16X8_AVGR_U = "i16x8.avgr_u"
    I16X8_EXTMUL_LOW_I8X16_S = "i16x8.extmul_low_i8x16_s"
    I16X8_EXTMUL_HIGH_I8X16_S = "i16x8.extmul_high_i8x16_s"
    I16X8_EXTMUL_LOW_I8X16_U = "i16x8.extmul_low_i8x16_u"
    I16X8_EXTMUL_HIGH_I8X16_U = "i16x8.extmul_high_i8x16_u"
    I32X4_ABS = "i32x4.abs"
    I32X4_NEG = "i32x4.neg"
    I32X4_ALL_TRUE = "i32x4.all_true"
    I32X4_BITMASK = "i32x4.bitmask"
    I32X4_EXTEND_LOW_I16X8_S = "i32x4.extend_low_i16x8_s"
    I32X4_EXTEND_HIGH_I16X8_S = "i32x4.extend_high_i16x8_s"
    I32X4_EXTEND_LOW_I16X8_U = "i32x4.extend_low_i16x8_u"
    I32X4_EXTEND_HIGH_I16X8_U = "i32x4.extend_high_i16x8_u"
    I32X4_SHL = "i32x4.shl"
    I32X4_SHR_S = "i32x4.shr_s"
    I32X4_SHR_U = "i32x4.shr_u"
    I32X4_ADD = "i32x4.add"
    I32X4_SUB = "i32x4.sub"
    I32X4_MUL = "i32x4.mul"
    I32X4_MIN_S = "i32x4.min_s"
    I32X4_MIN_U = "i32x4.min_u"
    I32X4_MAX_S = "i32x4.max_s"
    I32X4_MAX_U = "i32x4.max_u"
    I32X4_DOT_I16X8_S = "i32x4.dot_i16x8_s"
    I32X4_EXTMUL_LOW_I16X8_S = "i32x4.extmul_low_i16x8_s"
    I32X4_EXTMUL_HIGH_I16X8_S = "i32x4.extmul_high_i16x8_s"
    I32X4_EXTMUL_LOW_I16X8_U = "i32x4.extmul_low_i16x8_u"
    I32X4_EXTMUL_HIGH_I16X8_U = "i32x4.extmul_high_i16x8_u"
    I64X2_ABS = "i64x2.abs"
    I64X2_NEG = "i64x2.neg"
    I64X2_ALL_TRUE = "i64x2.all_true"
    I64X2_BITMASK = "i64x2.bitmask"
    I64X2_EXTEND_LOW_I32X4_S = "i64x2.extend_low_i32x4_s"
    I64X2_EXTEND_HIGH_I32X4_S = "i64x2.extend_high_i32x4_s"
    I64X2_EXTEND_LOW_I32X4_U = "i64x2.extend_low_i32x4_u"
    I64X2_EXTEND_HIGH_I32X4_U = "i64x2.extend_high_i32x4_u"
    I64X2_SHL = "i64x2.shl"
    I64X2_SHR_S = "i64x2.shr_s"
    I64X2_SHR_U = "i64x2.shr_u"
    I64X2_ADD = "i64x2.add"
    I64X2_SUB = "i64x2.sub"
    I64X2_MUL = "i64x2.mul"
    I64X2_EQ = "i64x2.eq"
    I64X2_NE = "i64x2.ne"
    I64X2_LT_S = "i64x2.lt_s"
    I64X2_GT_S = "i64x2.gt_s"
    I64X2_LE_S = "i64x2.le_s"
    I64X2_GE_S = "i64x2.ge_s"
    I64X2_EXTMUL_LOW_I32X4_S = "i64x2.extmul_low_i32x4_s"
    I64X2_EXTMUL_HIGH_I32X4_S = "i64x2.extmul_high_i32x4_s"
    I64X2_EXTMUL_LOW_I32X4_U = "i64x2.extmul_low_i32x4_u"
    I64X2_EXTMUL_HIGH_I32X4_U = "i64x2.extmul_high_i32x4_u"
    F32X4_ABS = "f32x4.abs"
    F32X4_NEG = "f32x4.neg"
    F32X4_SQRT = "f32x4.sqrt"
    F32X4_ADD = "f32x4.add"
    F32X4_SUB = "f32x4.sub"
    F32X4_MUL = "f32x4.mul"
    F32X4_DIV = "f32x4.div"
    F32X4_MIN = "f32x4.min"
    F32X4_MAX = "f32x4.max"
    F32X4_PMIN = "f32x4.pmin"
    F32X4_PMAX = "f32x4.pmax"
    F64X2_ABS = "f64x2.abs"
    F64X2_NEG = "f64x2.neg"
    F64X2_SQRT = "f64x2.sqrt"
    F64X2_ADD = "f64x2.add"
    F64X2_SUB = "f64x2.sub"
    F64X2_MUL = "f64x2.mul"
    F64X2_DIV = "f64x2.div"
    F64X2_MIN = "f64x2.min"
    F64X2_MAX = "f64x2.max"
    F64X2_PMIN = "f64x2.pmin"
    F64X2_PMAX = "f64x2.pmax"
    I32X4_TRUNC_SAT_F32X4_S = "i32x4.trunc_sat_f32x4_s"
    I32X4_TRUNC_SAT_F32X4_U = "i32x4.trunc_sat_f32x4_u"
    F32X4_CONVERT_I32X4_S = "f32x4.convert_i32x4_s"
    F32X4_CONVERT_I32X4_U = "f32x4.convert_i32x4_u"
    I32X4_TRUNC_SAT_F64X2_S_ZERO = "i32x4.trunc_sat_f64x2_s_zero"
    I32X4_TRUNC_SAT_F64X2_U_ZERO = "i32x4.trunc_sat_f64x2_u_zero"
    F64X2_CONVERT_LOW_I32X4_S = "f64x2.convert_low_i32x4_s"
    F64X2_CONVERT_LOW_I32X4_U = "f64x2.convert_low_i32x4_u"

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
    _O.CALL_REF: OpInfo(_K.TYPE), _O.RETURN_CALL_REF: OpInfo(_K.TYPE),
    _O.THROW: OpInfo(_K.TAG), _O.TAG_ID: OpInfo(_K.TAG), _O.EXN_FIELD: OpInfo(_K.FIELD),
})

#: The SIMD opcodes (exactly those whose mnemonic has a dot, as wasm's).
SIMD_OPS = frozenset(op for op in Opcode if "." in op.value)
_SIMD_IMM = {"none": _K.NONE, "memarg": _K.MEM, "v128": _K.BITS, "shuffle": _K.SHUFFLE,
             "lane": _K.LANE, "memarg_lane": _K.MEM_LANE}
OPINFO.update({_O(info.name): OpInfo(_SIMD_IMM[info.imm.value])
               for code, info in _WASM_INFO.items() if code >> 24 == _PREFIX_SIMD})
#: SIMD opcodes that write memory (``v128.store``, ``v128.storeN_lane``)
SIMD_STORES = frozenset({_O.V128_STORE, _O.V128_STORE8_LANE, _O.V128_STORE16_LANE,
                         _O.V128_STORE32_LANE, _O.V128_STORE64_LANE})

TERMINATORS = frozenset({_O.JUMP, _O.BRIF, _O.BR_TABLE, _O.RETURN, _O.TRAP, _O.RETURN_CALL,
                         _O.RETURN_CALL_INDIRECT, _O.RETURN_CALL_REF, _O.UNWIND})
#: the terminators that leave the function (no successor blocks)
EXITS = frozenset({_O.RETURN, _O.TRAP, _O.RETURN_CALL, _O.RETURN_CALL_INDIRECT,
                   _O.RETURN_CALL_REF, _O.UNWIND})

LOADS = frozenset({_O.LOAD, _O.ULOAD8, _O.SLOAD8, _O.ULOAD16, _O.SLOAD16, _O.ULOAD32, _O.SLOAD32})
STORES = frozenset({_O.STORE, _O.ISTORE8, _O.ISTORE16, _O.ISTORE32})

SIDE_EFFECTS = frozenset({
    _O.TRAP, _O.TRAPZ, _O.TRAPNZ, _O.HEAP_CHECK, _O.FUEL, _O.FUEL_CHECK, *STORES,
    _O.MEMORY_GROW, _O.MEMORY_INIT, _O.MEMORY_COPY, _O.MEMORY_FILL, _O.DATA_DROP,
    _O.GLOBAL_SET, _O.TABLE_GET, _O.TABLE_SET, _O.TABLE_GROW, _O.TABLE_FILL, _O.TABLE_COPY,
    _O.TABLE_INIT, _O.ELEM_DROP, _O.CALL, _O.CALL_INDIRECT, _O.CALL_REF, *TERMINATORS,
    *SIMD_STORES, _O.THROW, _O.THROW_REF, _O.EXN_PENDING, _O.EXN_SET,
})
#: the instructions an exception may come out of (protected in a function that catches)
THROWING = frozenset({_O.CALL, _O.CALL_INDIRECT, _O.CALL_REF, _O.THROW, _O.THROW_REF})

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
    #: the function has exception handlers: its THROWING instructions are protected (see
    #: Opcode, "Exceptions")
    catches: bool = False

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
