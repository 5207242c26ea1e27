"""The WebAssembly instruction set: every opcode with its text name, immediate kind and, for the
plain numeric instructions, its operand and result types. Decoder, validator, text parser and
IR builder all read this one table."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .types import ValType
from .simd_opcodes import SIMD_TABLE


class Imm(enum.Enum):
    """The shape of an instruction's immediate operands (see Instr.imm for the Python value)."""

    NONE = "none"                # imm is None
    BLOCKTYPE = "blocktype"      # None (empty), a ValType, or a type index (int)
    LABEL = "label"              # int label depth
    BR_TABLE = "br_table"        # (tuple[int, ...] labels, int default)
    FUNC = "func"                # int function index
    TYPE = "type"                # int type index (call_ref, return_call_ref)
    CALL_INDIRECT = "call_indirect"  # (int type index, int table index)
    LOCAL = "local"              # int local index
    GLOBAL = "global"            # int global index
    TABLE = "table"              # int table index
    MEMARG = "memarg"            # MemArg
    MEMORY = "memory"            # int memory index (a 0x00 byte in 2.0)
    I32 = "i32"                  # int, signed 32-bit value
    I64 = "i64"                  # int, signed 64-bit value
    F32 = "f32"                  # int, the raw 32 bits (so NaN payloads survive)
    F64 = "f64"                  # int, the raw 64 bits
    REFTYPE = "reftype"          # a reference type (ref.null's: nullable, of the heap type)
    SELECT_T = "select_t"        # tuple[ValType, ...]
    MEMORY_INIT = "memory_init"  # (int data index, int memory index)
    DATA = "data"                # int data index
    MEMORY_COPY = "memory_copy"  # (int dst memory, int src memory)
    TABLE_INIT = "table_init"    # (int elem index, int table index)
    ELEM = "elem"                # int elem index
    TABLE_COPY = "table_copy"    # (int dst table, int src table)
    V128 = "v128"                # bytes, 16 of them
    SHUFFLE = "shuffle"          # bytes, 16 lane indices
    LANE = "lane"                # int lane index
    MEMARG_LANE = "memarg_lane"  # (MemArg, int lane index)
    TAG = "tag"                  # int tag index (throw)
    TRY_TABLE = "try_table"      # TryTable


class CatchKind(enum.IntEnum):
    """The kind of a try_table catch clause, by its binary encoding."""

    CATCH = 0           # catch x l: the tag's payload to label l
    CATCH_REF = 1       # catch_ref x l: the payload and the exception, (ref exn)
    CATCH_ALL = 2       # catch_all l: nothing
    CATCH_ALL_REF = 3   # catch_all_ref l: the exception, (ref exn)

    @property
    def has_tag(self) -> bool:
        """Whether the clause names a tag (catch, catch_ref)."""
        return self <= CatchKind.CATCH_REF

    @property
    def has_ref(self) -> bool:
        """Whether the clause also passes the exception reference (catch_ref, catch_all_ref)."""
        return self is CatchKind.CATCH_REF or self is CatchKind.CATCH_ALL_REF


@dataclass(slots=True, frozen=True)
class Catch:
    """One catch clause of a try_table.

    `label` is a relative label depth resolved in the context *enclosing* the try_table, as
    the 3.0 spec validates catch clauses (in C, not in C' that has the try_table's own label
    prepended): the try_table's own label is not in scope of its catch clauses, so label 0 is
    the innermost block (or the function) enclosing the try_table, label 1 the next one out,
    and so on. Equivalently: inside the try_table's body the same target is depth label + 1."""

    kind: CatchKind
    tag: int | None      # the tag index; None for catch_all / catch_all_ref
    label: int


@dataclass(slots=True, frozen=True)
class TryTable:
    """try_table's immediate: its block type (exactly as Imm.BLOCKTYPE gives it: None, a value
    type or a type index) and its catch clauses in order (the first that matches wins)."""

    blocktype: object
    catches: tuple[Catch, ...]


@dataclass(slots=True, frozen=True)
class OpInfo:
    """Static description of one opcode."""

    code: int                 # single byte, or prefix << 24 | sub-opcode for 0xFC / 0xFD
    name: str                 # text-format mnemonic, e.g. "i32.add"
    imm: Imm
    params: tuple[ValType, ...] | None = None   # fixed operand types, None when the rule is special
    results: tuple[ValType, ...] | None = None

    @property
    def prefix(self) -> int | None:
        return self.code >> 24 if self.code > 0xFF else None

    @property
    def sub(self) -> int:
        return self.code & 0xFFFFFF


_T = {"i32": ValType.I32, "i64": ValType.I64, "f32": ValType.F32, "f64": ValType.F64,
      "v128": ValType.V128, "funcref": ValType.FUNCREF, "externref": ValType.EXTERNREF}

# code  name  immediate  [params -> results]   ("-" for an instruction whose typing is special)
_TABLE = """
00 unreachable none -
01 nop none : ->
02 block blocktype -
03 loop blocktype -
04 if blocktype -
05 else none -
08 throw tag -
0a throw_ref none -
0b end none -
0c br label -
0d br_if label -
0e br_table br_table -
0f return none -
10 call func -
11 call_indirect call_indirect -
12 return_call func -
13 return_call_indirect call_indirect -
14 call_ref type -
15 return_call_ref type -
1a drop none -
1b select none -
1c select_t select_t -
1f try_table try_table -
20 local.get local -
21 local.set local -
22 local.tee local -
23 global.get global -
24 global.set global -
25 table.get table -
26 table.set table -
28 i32.load memarg : i32 -> i32
29 i64.load memarg : i32 -> i64
2a f32.load memarg : i32 -> f32
2b f64.load memarg : i32 -> f64
2c i32.load8_s memarg : i32 -> i32
2d i32.load8_u memarg : i32 -> i32
2e i32.load16_s memarg : i32 -> i32
2f i32.load16_u memarg : i32 -> i32
30 i64.load8_s memarg : i32 -> i64
31 i64.load8_u memarg : i32 -> i64
32 i64.load16_s memarg : i32 -> i64
33 i64.load16_u memarg : i32 -> i64
34 i64.load32_s memarg : i32 -> i64
35 i64.load32_u memarg : i32 -> i64
36 i32.store memarg : i32 i32 ->
37 i64.store memarg : i32 i64 ->
38 f32.store memarg : i32 f32 ->
39 f64.store memarg : i32 f64 ->
3a i32.store8 memarg : i32 i32 ->
3b i32.store16 memarg : i32 i32 ->
3c i64.store8 memarg : i32 i64 ->
3d i64.store16 memarg : i32 i64 ->
3e i64.store32 memarg : i32 i64 ->
3f memory.size memory : -> i32
40 memory.grow memory : i32 -> i32
41 i32.const i32 : -> i32
42 i64.const i64 : -> i64
43 f32.const f32 : -> f32
44 f64.const f64 : -> f64
45 i32.eqz none : i32 -> i32
46 i32.eq none : i32 i32 -> i32
47 i32.ne none : i32 i32 -> i32
48 i32.lt_s none : i32 i32 -> i32
49 i32.lt_u none : i32 i32 -> i32
4a i32.gt_s none : i32 i32 -> i32
4b i32.gt_u none : i32 i32 -> i32
4c i32.le_s none : i32 i32 -> i32
4d i32.le_u none : i32 i32 -> i32
4e i32.ge_s none : i32 i32 -> i32
4f i32.ge_u none : i32 i32 -> i32
50 i64.eqz none : i64 -> i32
51 i64.eq none : i64 i64 -> i32
52 i64.ne none : i64 i64 -> i32
53 i64.lt_s none : i64 i64 -> i32
54 i64.lt_u none : i64 i64 -> i32
55 i64.gt_s none : i64 i64 -> i32
56 i64.gt_u none : i64 i64 -> i32
57 i64.le_s none : i64 i64 -> i32
58 i64.le_u none : i64 i64 -> i32
59 i64.ge_s none : i64 i64 -> i32
5a i64.ge_u none : i64 i64 -> i32
5b f32.eq none : f32 f32 -> i32
5c f32.ne none : f32 f32 -> i32
5d f32.lt none : f32 f32 -> i32
5e f32.gt none : f32 f32 -> i32
5f f32.le none : f32 f32 -> i32
60 f32.ge none : f32 f32 -> i32
61 f64.eq none : f64 f64 -> i32
62 f64.ne none : f64 f64 -> i32
63 f64.lt none : f64 f64 -> i32
64 f64.gt none : f64 f64 -> i32
65 f64.le none : f64 f64 -> i32
66 f64.ge none : f64 f64 -> i32
67 i32.clz none : i32 -> i32
68 i32.ctz none : i32 -> i32
69 i32.popcnt none : i32 -> i32
6a i32.add none : i32 i32 -> i32
6b i32.sub none : i32 i32 -> i32
6c i32.mul none : i32 i32 -> i32
6d i32.div_s none : i32 i32 -> i32
6e i32.div_u none : i32 i32 -> i32
6f i32.rem_s none : i32 i32 -> i32
70 i32.rem_u none : i32 i32 -> i32
71 i32.and none : i32 i32 -> i32
72 i32.or none : i32 i32 -> i32
73 i32.xor none : i32 i32 -> i32
74 i32.shl none : i32 i32 -> i32
75 i32.shr_s none : i32 i32 -> i32
76 i32.shr_u none : i32 i32 -> i32
77 i32.rotl none : i32 i32 -> i32
78 i32.rotr none : i32 i32 -> i32
79 i64.clz none : i64 -> i64
7a i64.ctz none : i64 -> i64
7b i64.popcnt none : i64 -> i64
7c i64.add none : i64 i64 -> i64
7d i64.sub none : i64 i64 -> i64
7e i64.mul none : i64 i64 -> i64
7f i64.div_s none : i64 i64 -> i64
80 i64.div_u none : i64 i64 -> i64
81 i64.rem_s none : i64 i64 -> i64
82 i64.rem_u none : i64 i64 -> i64
83 i64.and none : i64 i64 -> i64
84 i64.or none : i64 i64 -> i64
85 i64.xor none : i64 i64 -> i64
86 i64.shl none : i64 i64 -> i64
87 i64.shr_s none : i64 i64 -> i64
88 i64.shr_u none : i64 i64 -> i64
89 i64.rotl none : i64 i64 -> i64
8a i64.rotr none : i64 i64 -> i64
8b f32.abs none : f32 -> f32
8c f32.neg none : f32 -> f32
8d f32.ceil none : f32 -> f32
8e f32.floor none : f32 -> f32
8f f32.trunc none : f32 -> f32
90 f32.nearest none : f32 -> f32
91 f32.sqrt none : f32 -> f32
92 f32.add none : f32 f32 -> f32
93 f32.sub none : f32 f32 -> f32
94 f32.mul none : f32 f32 -> f32
95 f32.div none : f32 f32 -> f32
96 f32.min none : f32 f32 -> f32
97 f32.max none : f32 f32 -> f32
98 f32.copysign none : f32 f32 -> f32
99 f64.abs none : f64 -> f64
9a f64.neg none : f64 -> f64
9b f64.ceil none : f64 -> f64
9c f64.floor none : f64 -> f64
9d f64.trunc none : f64 -> f64
9e f64.nearest none : f64 -> f64
9f f64.sqrt none : f64 -> f64
a0 f64.add none : f64 f64 -> f64
a1 f64.sub none : f64 f64 -> f64
a2 f64.mul none : f64 f64 -> f64
a3 f64.div none : f64 f64 -> f64
a4 f64.min none : f64 f64 -> f64
a5 f64.max none : f64 f64 -> f64
a6 f64.copysign none : f64 f64 -> f64
a7 i32.wrap_i64 none : i64 -> i32
a8 i32.trunc_f32_s none : f32 -> i32
a9 i32.trunc_f32_u none : f32 -> i32
aa i32.trunc_f64_s none : f64 -> i32
ab i32.trunc_f64_u none : f64 -> i32
ac i64.extend_i32_s none : i32 -> i64
ad i64.extend_i32_u none : i32 -> i64
ae i64.trunc_f32_s none : f32 -> i64
af i64.trunc_f32_u none : f32 -> i64
b0 i64.trunc_f64_s none : f64 -> i64
b1 i64.trunc_f64_u none : f64 -> i64
b2 f32.convert_i32_s none : i32 -> f32
b3 f32.convert_i32_u none : i32 -> f32
b4 f32.convert_i64_s none : i64 -> f32
b5 f32.convert_i64_u none : i64 -> f32
b6 f32.demote_f64 none : f64 -> f32
b7 f64.convert_i32_s none : i32 -> f64
b8 f64.convert_i32_u none : i32 -> f64
b9 f64.convert_i64_s none : i64 -> f64
ba f64.convert_i64_u none : i64 -> f64
bb f64.promote_f32 none : f32 -> f64
bc i32.reinterpret_f32 none : f32 -> i32
bd i64.reinterpret_f64 none : f64 -> i64
be f32.reinterpret_i32 none : i32 -> f32
bf f64.reinterpret_i64 none : i64 -> f64
c0 i32.extend8_s none : i32 -> i32
c1 i32.extend16_s none : i32 -> i32
c2 i64.extend8_s none : i64 -> i64
c3 i64.extend16_s none : i64 -> i64
c4 i64.extend32_s none : i64 -> i64
d0 ref.null reftype -
d1 ref.is_null none -
d2 ref.func func -
d4 ref.as_non_null none -
d5 br_on_null label -
d6 br_on_non_null label -
fc:0 i32.trunc_sat_f32_s none : f32 -> i32
fc:1 i32.trunc_sat_f32_u none : f32 -> i32
fc:2 i32.trunc_sat_f64_s none : f64 -> i32
fc:3 i32.trunc_sat_f64_u none : f64 -> i32
fc:4 i64.trunc_sat_f32_s none : f32 -> i64
fc:5 i64.trunc_sat_f32_u none : f32 -> i64
fc:6 i64.trunc_sat_f64_s none : f64 -> i64
fc:7 i64.trunc_sat_f64_u none : f64 -> i64
fc:8 memory.init memory_init : i32 i32 i32 ->
fc:9 data.drop data : ->
fc:10 memory.copy memory_copy : i32 i32 i32 ->
fc:11 memory.fill memory : i32 i32 i32 ->
fc:12 table.init table_init : i32 i32 i32 ->
fc:13 elem.drop elem : ->
fc:14 table.copy table_copy : i32 i32 i32 ->
fc:15 table.grow table -
fc:16 table.size table : -> i32
fc:17 table.fill table -
"""

# SIMD (0xFD prefix) opcodes are listed in simd_opcodes.py and merged below.


def _parse_table(text: str) -> list[OpInfo]:
    infos = []
    for line in text.strip().splitlines():
        head, _, sig = line.partition(" : ")
        parts = head.split()
        code_s, name, imm = parts[0], parts[1], parts[2]
        if ":" in code_s:
            pre, sub = code_s.split(":")
            code = int(pre, 16) << 24 | int(sub)
        else:
            code = int(code_s, 16)
        params = results = None
        if sig:
            p, _, r = sig.partition("->")
            params = tuple(_T[t] for t in p.split())
            results = tuple(_T[t] for t in r.split())
        infos.append(OpInfo(code, name, Imm(imm), params, results))
    return infos


def _all_infos() -> list[OpInfo]:
    return _parse_table(_TABLE) + _parse_table(SIMD_TABLE)


OPS: tuple[OpInfo, ...] = tuple(_all_infos())

#: Python identifiers for opcodes: Op.I32_ADD, Op.MEMORY_GROW, Op.SELECT_T, ...
Op = enum.IntEnum("Op", {info.name.replace(".", "_").upper(): info.code for info in OPS})
Op.__doc__ = "Opcode numbers: the byte, or prefix << 24 | sub-opcode for prefixed instructions."

INFO: dict[int, OpInfo] = {info.code: info for info in OPS}
BY_NAME: dict[str, OpInfo] = {info.name: info for info in OPS if info.name != "select_t"}

PREFIX_MISC = 0xFC
PREFIX_SIMD = 0xFD


def prefixed(prefix: int, sub: int) -> int:
    """The Op number of a prefixed instruction."""
    return prefix << 24 | sub
