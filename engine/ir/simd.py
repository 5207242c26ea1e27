"""Tables describing the IR's SIMD opcodes (engine/ir/README.md, "SIMD"): operand and result
types, lane shapes, memory access sizes, and the wasm instruction each opcode comes from.
Everything here is derived from the wasm opcode table (engine/wasm/simd_opcodes.py), so the
IR and the front end cannot disagree."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..wasm.opcodes import INFO, PREFIX_SIMD
from ..wasm.types import ValType
from .ir import SIMD_OPS, SIMD_STORES, ImmKind, Opcode

O = Opcode

#: wasm opcode number (``0xFD << 24 | sub-opcode``) -> IR opcode
FROM_WASM: dict[int, Opcode] = {code: Opcode(info.name) for code, info in INFO.items()
                                if code >> 24 == PREFIX_SIMD}

#: IR opcode -> (operand types, result types), as wasm types them
SIGNATURES: dict[Opcode, tuple[tuple[ValType, ...], tuple[ValType, ...]]] = {
    Opcode(info.name): (info.params, info.results) for code, info in INFO.items()
    if code >> 24 == PREFIX_SIMD}

#: SIMD opcodes that read memory (each follows a heap_check of its ACCESS_SIZE)
SIMD_LOADS = frozenset(op for op in SIMD_OPS if op.value.startswith("v128.load"))
SIMD_MEMORY = SIMD_LOADS | SIMD_STORES

_ACCESS_RE = re.compile(r"^v128\.(?:load|store)(\d+)?(x\d+)?(?:_([a-z]+))?")


def _access_size(op: Opcode) -> int:
    m = _ACCESS_RE.match(op.value)
    assert m is not None, op
    bits, by, _ = m.groups()
    if bits is None:
        return 16                       # v128.load / v128.store
    if by is not None:
        return 8                        # load8x8 / load16x4 / load32x2: 64 bits
    return int(bits) // 8               # splat, zero, lane forms: one lane


#: bytes each SIMD memory opcode reads or writes (the size of its heap_check)
ACCESS_SIZE: dict[Opcode, int] = {op: _access_size(op) for op in SIMD_MEMORY}


@dataclass(slots=True, frozen=True)
class Shape:
    """A lane interpretation of a v128: `bits` per lane, `count` lanes, float lanes or not."""

    bits: int
    count: int
    is_float: bool

    @property
    def mask(self) -> int:
        return (1 << self.bits) - 1


I8X16 = Shape(8, 16, False)
I16X8 = Shape(16, 8, False)
I32X4 = Shape(32, 4, False)
I64X2 = Shape(64, 2, False)
F32X4 = Shape(32, 4, True)
F64X2 = Shape(64, 2, True)
SHAPES = {"i8x16": I8X16, "i16x8": I16X8, "i32x4": I32X4, "i64x2": I64X2, "f32x4": F32X4,
          "f64x2": F64X2}


def shape_of(op: Opcode) -> Shape | None:
    """The lane shape an opcode's mnemonic names first (``i16x8.add`` -> I16X8; the result's
    shape for conversions such as ``i32x4.trunc_sat_f32x4_s``); None for ``v128.*``."""
    return SHAPES.get(op.value.partition(".")[0])


def lane_count(op: Opcode) -> int:
    """Lanes of an opcode with a LANE or MEM_LANE immediate (its index is below this)."""
    kind = op.info.imm
    if kind is ImmKind.MEM_LANE:
        return 16 // ACCESS_SIZE[op]
    if kind is ImmKind.LANE:
        return shape_of(op).count  # type: ignore[union-attr]
    raise ValueError(f"{op.value} has no lane immediate")
