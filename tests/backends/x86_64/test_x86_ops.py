"""Every IR opcode on edge values (0, -1, INT_MIN, NaN payloads, -0.0, inf), compiled to x86_64
and run natively and under Unicorn, against engine.ir.numerics."""

from __future__ import annotations

import pytest

from engine.errors import Trap
from engine.ir import numerics as N

from x86_testlib import MODES, build
from x86_ops_table import BINARY, FCMP, ICMP, UNARY, samples

EXACT = {"fabs", "fneg", "fcopysign", "bitcast"}


def _module() -> tuple[str, list[tuple]]:
    """One function per case: (index, kind, op, types, ref)."""
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
    for op, t, rt, ref in UNARY:
        add(f"({t}) -> ({rt})", f"block0(v0:{t}):\n    v1:{rt} = {op} v0\n    return v1",
            ("un", op, t, rt, ref))
    return "".join(parts), cases


TEXT, CASES = _module()


@pytest.fixture(scope="module", params=[*MODES, "baseline"])
def harness(request):
    """The cases compiled for each run mode, and once more for a CPU without SSE4.1, POPCNT,
    LZCNT and BMI1 (the fallback sequences), run where x86_64 code runs."""
    if request.param == "baseline":
        from engine.ir.parser import parse_functions
        from engine.exec.harness import Harness
        h = Harness(parse_functions(TEXT), emulate=MODES == ["unicorn"], features=frozenset())
    else:
        h = build(TEXT, request.param)
    yield h
    h.close()


def _fcmp(cc: str, t: str, a: int, b: int) -> int:
    isnan = getattr(N, f"{t}_is_nan")
    conv = N.f32_to_float if t == "f32" else N.f64_to_float
    if cc == "uno":
        return int(isnan(a) or isnan(b))
    if cc == "ord":
        return int(not (isnan(a) or isnan(b)))
    x, y = conv(a), conv(b)
    return int({"eq": x == y, "ne": x != y, "lt": x < y, "le": x <= y, "gt": x > y,
                "ge": x >= y}[cc])


def _same(op: str, rt: str, got: int, want: int) -> bool:
    if rt in ("f32", "f64") and op not in EXACT and getattr(N, f"{rt}_is_nan")(want):
        return getattr(N, f"{rt}_is_nan")(got)
    return got == want


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[2]}-{c[3]}-{c[4]}")
def test_op_matches_numerics(harness, case):
    index, kind, op, t, rt, ref = case
    checked = 0
    if kind == "un":
        for a in samples(t):
            try:
                want = ref(a)
            except Trap:
                continue  # outside the opcode's precondition (the builder traps before)
            got = harness.call(index, a)[0]
            assert _same(op, rt, got, want), (op, t, hex(a), hex(got), hex(want))
            checked += 1
    else:
        for a in samples(t, 3):
            for b in samples(t, 3):
                if kind == "fcmp":
                    want = _fcmp(op, t, a, b)
                else:
                    if op == "srem" and b == (1 << (32 if t == "i32" else 64)) - 1:
                        continue  # precondition: the builder turns a divisor of -1 into 1
                    try:
                        want = ref(a, b)
                    except Trap:
                        continue
                got = harness.call(index, a, b)[0]
                assert _same(op, rt, got, want), (op, t, hex(a), hex(b), hex(got), hex(want))
                checked += 1
    assert checked > 0
