"""SIMD expressions for the WAT generator (wat.py): a v128 computed from scalars, constants and
memory by random SIMD operators (every 2.0 operator can be drawn), reduced to a scalar by a
lane extraction, any_true, all_true or bitmask, sometimes stored to memory first.

Exported functions keep scalar signatures (wasmtime-py, the outside reference, cannot pass
v128 values). Float lanes are made canonical where their NaN bits would become observable:
after every float operator that may produce a NaN (the spec leaves its sign and payload to
the implementation), as wasm-smith's --canonicalize-nans does."""

from __future__ import annotations

from engine.ir.ir import ImmKind, Opcode, SIMD_OPS
from engine.ir.simd import ACCESS_SIZE, SIGNATURES, SIMD_LOADS, lane_count, shape_of
from engine.wasm.types import ValType

from .choosers import Chooser, pick

#: operators over v128 operands (and scalar operands where wasm has them) that give a v128
_VECTOR_OPS = tuple(sorted(
    (op for op in SIMD_OPS
     if op not in SIMD_LOADS and op not in ACCESS_SIZE and op is not Opcode.V128_CONST
     and SIGNATURES[op][1] == (ValType.V128,)),
    key=lambda op: op.value))
#: reductions v128 -> scalar, by scalar type
_REDUCE = {t: tuple(sorted((op for op in SIMD_OPS if SIGNATURES[op] == ((ValType.V128,), (vt,))),
                           key=lambda op: op.value))
           for t, vt in (("i32", ValType.I32), ("i64", ValType.I64), ("f32", ValType.F32),
                         ("f64", ValType.F64))}
#: float operators whose NaN results are not bit-exact across engines
_NAN_MAKERS = frozenset(op for op in _VECTOR_OPS if op.value.split(".")[1] in (
    "add", "sub", "mul", "div", "sqrt", "min", "max", "ceil", "floor", "trunc", "nearest",
    "splat", "replace_lane", "demote_f64x2_zero", "promote_low_f32x4"))
_LANE_EDGES = {8: (0, 1, 0x7F, 0x80, 0xFF, 0x10, 0x0F), 16: (0, 1, 0x7FFF, 0x8000, 0xFFFF, 0x100),
               32: (0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x3F800000, 0x7FC00000,
                    0x7F800000, 0x4F000000, 0xCF000000, 0x80000000),
               64: (0, 1, 0x7FFFFFFFFFFFFFFF, 1 << 63, (1 << 64) - 1, 0x3FF0000000000000,
                    0x7FF8000000000000, 0x41DFFFFFFFC00000, 0xC1E0000000000000)}
_PLAIN_LOADS = tuple(sorted((o for o in SIMD_LOADS if o.info.imm is ImmKind.MEM),
                           key=lambda o: o.value))
_LANE_LOADS = tuple(sorted((o for o in SIMD_LOADS if o.info.imm is ImmKind.MEM_LANE),
                          key=lambda o: o.value))
_STORES = ("v128.store", "v128.store8_lane", "v128.store16_lane", "v128.store32_lane",
           "v128.store64_lane")


def _const(c: Chooser) -> str:
    bits = pick(c, (8, 16, 32, 64))
    lanes = [pick(c, _LANE_EDGES[bits]) if c.chance(70) else c.integer(0, (1 << bits) - 1)
             for _ in range(128 // bits)]
    return f"(v128.const i{bits}x{128 // bits} {' '.join(str(x) for x in lanes)})"


def _canon(gen, op: Opcode, text: str) -> str:
    """`text` (the v128 result of `op`) with NaN lanes replaced by the canonical NaN."""
    shape = shape_of(op)
    if op not in _NAN_MAKERS or shape is None or not shape.is_float:
        return text
    p = "f32x4" if shape.bits == 32 else "f64x2"
    s = gen.fn.new_local("v128")
    nan = "nan nan nan nan" if shape.bits == 32 else "nan nan"
    return (f"(block (result v128) (local.set {s} {text}) (v128.bitselect "
            f"(v128.const {p} {nan}) (local.get {s}) ({p}.ne (local.get {s}) (local.get {s}))))")


def vexpr(gen, d: int) -> str:
    """A v128 expression of depth at most `d`."""
    c = gen.c
    if d <= 0 or c.chance(20):
        k = c.integer(0, 5)
        if k < 2:
            return _const(c)
        if k < 4:
            t = pick(c, ("i8x16", "i16x8", "i32x4", "i64x2", "f32x4", "f64x2"))
            scalar = {"i8x16": "i32", "i16x8": "i32", "i32x4": "i32"}.get(t, t[:3])
            return _canon(gen, Opcode(f"{t}.splat"), f"({t}.splat {gen.expr(scalar, max(d - 1, 0))})")
        op = pick(c, _PLAIN_LOADS)
        width = ACCESS_SIZE[op]
        return f"({op.value}{gen.memarg(width)} {gen.address(width, max(d - 1, 0))})"
    op = pick(c, _VECTOR_OPS)
    params = SIGNATURES[op][0]
    args = []
    for p in params:
        if p is ValType.V128:
            args.append(vexpr(gen, d - 1))
        else:
            args.append(gen.expr(str(p), max(d - 2, 0)))
    kind = op.info.imm
    imm = ""
    if kind is ImmKind.LANE:
        imm = f" {c.integer(0, lane_count(op) - 1)}"
    elif kind is ImmKind.SHUFFLE:
        imm = " " + " ".join(str(c.integer(0, 31)) for _ in range(16))
    return _canon(gen, op, f"({op.value}{imm} {' '.join(args)})")


def simd_expr(gen, t: str, d: int) -> str:
    """A scalar of type t computed through SIMD."""
    c = gen.c
    v = vexpr(gen, min(d, 3))
    red = pick(c, _REDUCE[t])
    imm = f" {c.integer(0, lane_count(red) - 1)}" if red.info.imm is ImmKind.LANE else ""
    out = f"({red.value}{imm} {v})"
    if c.chance(25):
        store = pick(c, _STORES)
        width = 16 if store == "v128.store" else int(store[10:].split("_")[0]) // 8
        lane = "" if store == "v128.store" else f" {c.integer(0, 16 // width - 1)}"
        stmt = (f"({store}{gen.memarg(width)}{lane} {gen.address(width, max(d - 1, 0))} "
                f"{vexpr(gen, min(d, 2))})")
        out = f"(block (result {t}) {stmt} {out})"
    if t == "i32" and c.chance(20):
        # a lane load into a vector, read back
        op = pick(c, _LANE_LOADS)
        width = ACCESS_SIZE[op]
        lane = c.integer(0, 16 // width - 1)
        red = pick(c, _REDUCE["i32"])
        loaded = (f"({op.value}{gen.memarg(width)} {lane} {gen.address(width, max(d - 1, 0))} "
                  f"{vexpr(gen, 1)})")
        imm = f" {c.integer(0, lane_count(red) - 1)}" if red.info.imm is ImmKind.LANE else ""
        out = f"(i32.xor {out} ({red.value}{imm} {loaded}))"
    return out
