"""The per-opcode cases every backend's op tests run: IR opcode, operand and result types, and
the engine.ir.numerics function that defines the expected result (bit patterns in, bit pattern
out); `ops_module` turns them into one IR module (one function per case) and `check_case` runs
one case through a Harness."""

from __future__ import annotations

import random

from engine.errors import Trap

from engine.ir import numerics as N

INT_EDGES = {
    "i32": [0, 1, 2, 5, 31, 32, 0x7F, 0x80, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
            0xFFFF_FFFE],
    "i64": [0, 1, 3, 63, 64, 0xFFFF_FFFF, 0x1_0000_0000, (1 << 63) - 1, 1 << 63, N.M64,
            N.M64 - 1],
}
FLOAT_EDGES = {
    # 0, -0, 1, -1.5, inf, -inf, canonical NaN, NaN with payload, signalling-looking NaN,
    # 2**31, -2**31, 2**32, 2**63, 2**64, 0.5, -0.5, smallest subnormal, 4294967295.5-ish
    "f32": [0, 0x8000_0000, 0x3F80_0000, 0xBFC0_0000, 0x7F80_0000, 0xFF80_0000, 0x7FC0_0000,
            0xFFC1_2345, 0x7F80_0001, 0x4F00_0000, 0xCF00_0000, 0x4F80_0000, 0x5F00_0000,
            0x5F80_0000, 0x3F00_0000, 0xBF00_0000, 0x0000_0001, 0x4040_0000, 0x3FC0_0000,
            0x4020_0000],
    "f64": [0, 1 << 63, 0x3FF0_0000_0000_0000, 0xBFF8_0000_0000_0000, 0x7FF0_0000_0000_0000,
            0xFFF0_0000_0000_0000, 0x7FF8_0000_0000_0000, 0xFFF8_0000_1234_5678,
            0x7FF0_0000_0000_0001, 0x41E0_0000_0000_0000, 0xC1E0_0000_0000_0000,
            0x41F0_0000_0000_0000, 0x43E0_0000_0000_0000, 0x43F0_0000_0000_0000,
            0x3FE0_0000_0000_0000, 0xBFE0_0000_0000_0000, 1, 0x41EF_FFFF_FFE0_0000,
            0x4004_0000_0000_0000, 0x3FF8_0000_0000_0000, 0xC3E0_0000_0000_0001],
}
WIDTH = {"i32": 32, "i64": 64, "f32": 32, "f64": 64}


def samples(t: str, extra: int = 6) -> list[int]:
    rng = random.Random(f"x86-{t}")
    edges = INT_EDGES.get(t) or FLOAT_EDGES[t]
    return edges + [rng.getrandbits(WIDTH[t]) for _ in range(extra)]


def _n(name: str):
    return getattr(N, name)


BINARY: list[tuple[str, str, str, object]] = []
for _t in ("i32", "i64"):
    for _op, _name in (("iadd", "add"), ("isub", "sub"), ("imul", "mul"), ("band", "and"),
                       ("bor", "or"), ("bxor", "xor"), ("ishl", "shl"), ("sshr", "shr_s"),
                       ("ushr", "shr_u"), ("rotl", "rotl"), ("rotr", "rotr"), ("sdiv", "div_s"),
                       ("udiv", "div_u"), ("srem", "rem_s"), ("urem", "rem_u")):
        BINARY.append((_op, _t, _t, _n(f"{_t}_{_name}")))
for _t in ("f32", "f64"):
    for _op, _name in (("fadd", "add"), ("fsub", "sub"), ("fmul", "mul"), ("fdiv", "div"),
                       ("fmin", "min"), ("fmax", "max"), ("fcopysign", "copysign")):
        BINARY.append((_op, _t, _t, _n(f"{_t}_{_name}")))

ICMP = [("eq", "eq"), ("ne", "ne"), ("slt", "lt_s"), ("sle", "le_s"), ("sgt", "gt_s"),
        ("sge", "ge_s"), ("ult", "lt_u"), ("ule", "le_u"), ("ugt", "gt_u"), ("uge", "ge_u")]
FCMP = ["eq", "ne", "lt", "le", "gt", "ge", "uno", "ord"]

UNARY: list[tuple[str, str, str, object]] = []
for _t in ("i32", "i64"):
    for _op, _name in (("clz", "clz"), ("ctz", "ctz"), ("popcnt", "popcnt"),
                       ("sext8", "extend8_s"), ("sext16", "extend16_s")):
        UNARY.append((_op, _t, _t, _n(f"{_t}_{_name}")))
UNARY += [("sext32", "i64", "i64", N.i64_extend32_s), ("eqz", "i32", "i32", N.i32_eqz),
          ("eqz", "i64", "i32", N.i64_eqz), ("ireduce", "i64", "i32", N.i32_wrap_i64),
          ("uextend", "i32", "i64", N.i64_extend_i32_u),
          ("sextend", "i32", "i64", N.i64_extend_i32_s),
          ("fpromote", "f32", "f64", N.f64_promote_f32),
          ("fdemote", "f64", "f32", N.f32_demote_f64),
          ("bitcast", "f32", "i32", lambda x: x), ("bitcast", "i64", "f64", lambda x: x)]
for _t in ("f32", "f64"):
    for _op, _name in (("fabs", "abs"), ("fneg", "neg"), ("fsqrt", "sqrt"), ("fceil", "ceil"),
                       ("ffloor", "floor"), ("ftrunc", "trunc"), ("fnearest", "nearest")):
        UNARY.append((_op, _t, _t, _n(f"{_t}_{_name}")))
for _s in ("s", "u"):
    for _src in ("f32", "f64"):
        for _dst in ("i32", "i64"):
            UNARY.append((f"fcvt_to_{_s}int_sat", _src, _dst,
                          _n(f"{_dst}_trunc_sat_{_src}_{_s}")))
            # trapping form: the precondition excludes NaN/out of range (the reference raises)
            UNARY.append((f"fcvt_to_{_s}int", _src, _dst, _n(f"{_dst}_trunc_{_src}_{_s}")))
    for _src in ("i32", "i64"):
        for _dst in ("f32", "f64"):
            UNARY.append((f"fcvt_from_{_s}int", _src, _dst, _n(f"{_dst}_convert_{_src}_{_s}")))


EXACT = {"fabs", "fneg", "fcopysign", "bitcast"}


def ops_module() -> tuple[str, list[tuple]]:
    """IR text with one function per case, and the cases: (index, kind, op, type, result
    type, reference)."""
    parts, cases = [], []

    def add(header: str, body: str, case: tuple) -> None:
        i = len(cases)
        parts.append(f'function {i} "c{i}"{header} {{\n{body}\n}}\n')
        cases.append((i, *case))

    for op, t, rt, ref in BINARY:
        add(f"({t}, {t}) -> ({rt})",
            f"block0(v0:{t}, v1:{t}):\n    v2:{rt} = {op} v0, v1\n    return v2",
            ("bin", op, t, rt, ref))
    for t in ("i32", "i64"):
        for cc, name in ICMP:
            add(f"({t}, {t}) -> (i32)",
                f"block0(v0:{t}, v1:{t}):\n    v2:i32 = icmp {cc} v0, v1\n    return v2",
                ("bin", f"icmp {cc}", t, "i32", getattr(N, f"{t}_{name}")))
            # the same compare fused into a branch
            add(f"({t}, {t}) -> (i32)",
                f"block0(v0:{t}, v1:{t}):\n    v2:i32 = icmp {cc} v0, v1\n"
                f"    brif v2, block1, block2\nblock1:\n    v3:i32 = iconst 1\n    return v3\n"
                f"block2:\n    v4:i32 = iconst 0\n    return v4",
                ("bin", f"brif icmp {cc}", t, "i32", getattr(N, f"{t}_{name}")))
    for t in ("f32", "f64"):
        for cc in FCMP:
            add(f"({t}, {t}) -> (i32)",
                f"block0(v0:{t}, v1:{t}):\n    v2:i32 = fcmp {cc} v0, v1\n    return v2",
                ("fcmp", cc, t, "i32", None))
            add(f"({t}, {t}) -> (i32)",
                f"block0(v0:{t}, v1:{t}):\n    v2:i32 = fcmp {cc} v0, v1\n"
                f"    brif v2, block1, block2\nblock1:\n    v3:i32 = iconst 1\n    return v3\n"
                f"block2:\n    v4:i32 = iconst 0\n    return v4",
                ("fcmp", cc, t, "i32", None))
    for op, t, rt, ref in UNARY:
        add(f"({t}) -> ({rt})", f"block0(v0:{t}):\n    v1:{rt} = {op} v0\n    return v1",
            ("un", op, t, rt, ref))
    return "".join(parts), cases


def fcmp_ref(cc: str, t: str, a: int, b: int) -> int:
    isnan = getattr(N, f"{t}_is_nan")
    conv = N.f32_to_float if t == "f32" else N.f64_to_float
    if cc == "uno":
        return int(isnan(a) or isnan(b))
    if cc == "ord":
        return int(not (isnan(a) or isnan(b)))
    x, y = conv(a), conv(b)
    return int({"eq": x == y, "ne": x != y, "lt": x < y, "le": x <= y, "gt": x > y,
                "ge": x >= y}[cc])


def same(op: str, rt: str, got: int, want: int) -> bool:
    """Equal bit patterns, except that any NaN matches a NaN for arithmetic (not exact) ops."""
    if rt in ("f32", "f64") and op not in EXACT and getattr(N, f"{rt}_is_nan")(want):
        return getattr(N, f"{rt}_is_nan")(got)
    return got == want


def check_case(harness, case: tuple) -> int:
    """Run one case of `ops_module` on its samples; assert each result; returns how many."""
    index, kind, op, t, rt, ref = case
    checked = 0
    if kind == "un":
        for a in samples(t):
            try:
                want = ref(a)
            except Trap:
                continue  # outside the opcode's precondition (the builder traps before)
            got = harness.call(index, a)[0]
            assert same(op, rt, got, want), (op, t, hex(a), hex(got), hex(want))
            checked += 1
        return checked
    for a in samples(t, 3):
        for b in samples(t, 3):
            if kind == "fcmp":
                want = fcmp_ref(op, t, a, b)
            else:
                if op == "srem" and b == (1 << WIDTH[t]) - 1:
                    continue  # precondition: the builder turns a divisor of -1 into 1
                try:
                    want = ref(a, b)
                except Trap:
                    continue
            got = harness.call(index, a, b)[0]
            assert same(op, rt, got, want), (op, t, hex(a), hex(b), hex(got), hex(want))
            checked += 1
    return checked
