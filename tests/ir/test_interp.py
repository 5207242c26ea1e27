"""The IR interpreter on IR stated as text: every opcode's translation against engine.ir.numerics,
control flow shapes (dispatch loops, big br_tables, deep inlining), and calls."""

from __future__ import annotations

import random

import pytest

from engine.errors import Trap, TrapCode
from engine.ir import numerics as N
from engine.exec.interp import compile_function
from engine.ir.parser import parse_function


class Ctx:
    """A stand-in instance: what bound code reads."""

    def __init__(self, funcs=(), mems=(), tables=(), globals_=(), types=()):
        self.funcs, self.mems, self.tables = list(funcs), list(mems), list(tables)
        self.globals, self.types = list(globals_), list(types)


def run(text: str, *args, ctx: Ctx | None = None):
    compiled = compile_function(parse_function(text))
    assert not compiled.is_generator
    return compiled.make(ctx or Ctx())(*args)


SPECIALS = {
    "i32": [0, 1, 2, 31, 32, 33, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0x7FFF_FFFF, 0x8000_0000,
            0xFFFF_FFFF, 0xFFFF_FFFE],
    "i64": [0, 1, 63, 64, 65, 0x80, 0x8000, 0x8000_0000, 0xFFFF_FFFF, (1 << 63) - 1, 1 << 63,
            N.M64, N.M64 - 1],
    "f32": [0, 0x8000_0000, 0x3F80_0000, 0xBF80_0000, 0x3FC0_0000, 0x7F80_0000, 0xFF80_0000,
            0x7FC0_0000, 0x7F80_0001, 0x4F00_0000, 0xCF00_0000, 0x0000_0001],
    "f64": [0, 1 << 63, 0x3FF0_0000_0000_0000, 0xBFF8_0000_0000_0000, 0x7FF0_0000_0000_0000,
            0x7FF8_0000_0000_0000, 0x7FF0_0000_0000_0001, 0x41E0_0000_0000_0000,
            0xC3E0_0000_0000_0000, 1],
}
WIDTH = {"i32": 32, "i64": 64, "f32": 32, "f64": 64}


def samples(t: str, n: int = 25) -> list[int]:
    rng = random.Random(t)
    return SPECIALS[t] + [rng.getrandbits(WIDTH[t]) for _ in range(n)]


# (IR opcode, IR operand type, IR result type, numerics function)
BINARY = [(op, t, t, getattr(N, f"{t}_{name}"))
          for t in ("i32", "i64")
          for op, name in (("iadd", "add"), ("isub", "sub"), ("imul", "mul"), ("band", "and"),
                           ("bor", "or"), ("bxor", "xor"), ("ishl", "shl"), ("sshr", "shr_s"),
                           ("ushr", "shr_u"), ("rotl", "rotl"), ("rotr", "rotr"),
                           ("sdiv", "div_s"), ("udiv", "div_u"), ("srem", "rem_s"),
                           ("urem", "rem_u"))]
BINARY += [(op, t, t, getattr(N, f"{t}_{name}"))
           for t in ("f32", "f64")
           for op, name in (("fadd", "add"), ("fsub", "sub"), ("fmul", "mul"), ("fdiv", "div"),
                            ("fmin", "min"), ("fmax", "max"), ("fcopysign", "copysign"))]
ICMP = [(cc, name) for cc, name in
        (("eq", "eq"), ("ne", "ne"), ("slt", "lt_s"), ("sle", "le_s"), ("sgt", "gt_s"),
         ("sge", "ge_s"), ("ult", "lt_u"), ("ule", "le_u"), ("ugt", "gt_u"), ("uge", "ge_u"))]
UNARY = [(op, t, t, getattr(N, f"{t}_{name}"))
         for t in ("i32", "i64")
         for op, name in (("clz", "clz"), ("ctz", "ctz"), ("popcnt", "popcnt"),
                          ("sext8", "extend8_s"), ("sext16", "extend16_s"))]
UNARY += [("sext32", "i64", "i64", N.i64_extend32_s), ("eqz", "i32", "i32", N.i32_eqz),
          ("eqz", "i64", "i32", N.i64_eqz), ("ireduce", "i64", "i32", N.i32_wrap_i64),
          ("uextend", "i32", "i64", N.i64_extend_i32_u),
          ("sextend", "i32", "i64", N.i64_extend_i32_s),
          ("fpromote", "f32", "f64", N.f64_promote_f32), ("fdemote", "f64", "f32", N.f32_demote_f64),
          ("bitcast", "f32", "i32", N.i32_reinterpret_f32),
          ("bitcast", "i64", "f64", N.f64_reinterpret_i64)]
UNARY += [(op, t, t, getattr(N, f"{t}_{name}"))
          for t in ("f32", "f64")
          for op, name in (("fabs", "abs"), ("fneg", "neg"), ("fsqrt", "sqrt"), ("fceil", "ceil"),
                           ("ffloor", "floor"), ("ftrunc", "trunc"), ("fnearest", "nearest"))]
UNARY += [(f"fcvt_to_{s}int_sat", src, dst, getattr(N, f"{dst}_trunc_sat_{src}_{s[0]}"))
          for s in ("s", "u") for src in ("f32", "f64") for dst in ("i32", "i64")]
UNARY += [(f"fcvt_from_{s}int", src, dst, getattr(N, f"{dst}_convert_{src}_{s[0]}"))
          for s in ("s", "u") for src in ("i32", "i64") for dst in ("f32", "f64")]


def _expect(fn, *args):
    try:
        return fn(*args)
    except Trap as e:
        return e.trap_code


def _got(text, *args):
    try:
        return run(text, *args)[0]
    except Trap as e:
        return e.trap_code


@pytest.mark.parametrize("op, t, rt, ref", BINARY, ids=lambda x: x if isinstance(x, str) else "")
def test_binary_ops_match_numerics(op, t, rt, ref):
    text = f"""function "f"({t}, {t}) -> ({rt}) {{
block0(v0:{t}, v1:{t}):
    v2:{rt} = {op} v0, v1
    return v2
}}"""
    for a in samples(t, 12):
        for b in samples(t, 12):
            assert _got(text, a, b) == _expect(ref, a, b), (op, t, hex(a), hex(b))


@pytest.mark.parametrize("t", ["i32", "i64"])
@pytest.mark.parametrize("cc, ref", ICMP)
def test_icmp_matches_numerics(t, cc, ref):
    text = f"""function "f"({t}, {t}) -> (i32) {{
block0(v0:{t}, v1:{t}):
    v2:i32 = icmp {cc} v0, v1
    return v2
}}"""
    fn = getattr(N, f"{t}_{ref}")
    for a in samples(t, 10):
        for b in samples(t, 10):
            assert _got(text, a, b) == fn(a, b), (cc, hex(a), hex(b))


@pytest.mark.parametrize("t", ["f32", "f64"])
@pytest.mark.parametrize("cc", ["eq", "ne", "lt", "le", "gt", "ge", "uno", "ord"])
def test_fcmp(t, cc):
    text = f"""function "f"({t}, {t}) -> (i32) {{
block0(v0:{t}, v1:{t}):
    v2:i32 = fcmp {cc} v0, v1
    return v2
}}"""
    is_nan = getattr(N, f"{t}_is_nan")
    for a in samples(t, 8):
        for b in samples(t, 8):
            if cc == "uno":
                want = int(is_nan(a) or is_nan(b))
            elif cc == "ord":
                want = int(not (is_nan(a) or is_nan(b)))
            else:
                want = getattr(N, f"{t}_{cc}")(a, b)
            assert _got(text, a, b) == want


@pytest.mark.parametrize("op, t, rt, ref", UNARY, ids=lambda x: x if isinstance(x, str) else "")
def test_unary_ops_match_numerics(op, t, rt, ref):
    text = f"""function "f"({t}) -> ({rt}) {{
block0(v0:{t}):
    v1:{rt} = {op} v0
    return v1
}}"""
    for a in samples(t, 40):
        assert _got(text, a) == _expect(ref, a), (op, t, hex(a))


def test_select_consts_and_traps():
    text = """function "f"(i32) -> (i64) {
block0(v0:i32):
    v1:i64 = iconst 0xffffffffffffffff
    v2:i64 = iconst 7
    v3:i64 = select v0, v1, v2
    trapnz integer_overflow v0
    return v3
}"""
    assert run(text, 0) == (7,)
    with pytest.raises(Trap) as info:
        run(text, 5)
    assert info.value.trap_code == TrapCode.INTEGER_OVERFLOW


def test_loop_through_the_dispatch_loop():
    text = """function "sum"(i32) -> (i32) {
block0(v0:i32):
    v1:i32 = iconst 0
    jump block1(v0, v1)
block1(v2:i32, v3:i32):
    brif v2, block2, block3
block2:
    v4:i32 = iadd v3, v2
    v5:i32 = iconst 1
    v6:i32 = isub v2, v5
    jump block1(v6, v4)
block3:
    return v3
}"""
    assert run(text, 100) == (5050,)
    assert run(text, 0) == (0,)


def test_block_params_swap_in_parallel():
    text = """function "swap"(i32, i32, i32) -> (i32, i32) {
block0(v0:i32, v1:i32, v2:i32):
    jump block1(v0, v1, v2)
block1(v3:i32, v4:i32, v5:i32):
    brif v5, block2, block3
block2:
    v6:i32 = iconst 1
    v7:i32 = isub v5, v6
    jump block1(v4, v3, v7)
block3:
    return v3, v4
}"""
    assert run(text, 1, 2, 3) == (2, 1)
    assert run(text, 1, 2, 4) == (1, 2)


def _chain(n: int) -> str:
    """n blocks each with one predecessor: inlined until the nesting limit, then dispatched."""
    lines = ['function "chain"(i32) -> (i32) {', "block0(v0:i32):"]
    for i in range(n):
        lines += [f"    v{3 * i + 1}:i32 = iconst 1",
                  f"    v{3 * i + 2}:i32 = iadd v{3 * i}, v{3 * i + 1}",
                  f"    brif v{3 * i + 2}, block{i + 1}(v{3 * i + 2}), block{n + 1}",
                  f"block{i + 1}(v{3 * i + 3}:i32):"]
    lines += [f"    return v{3 * n}", f"block{n + 1}:", "    v99999:i32 = iconst 0",
              "    return v99999", "}"]
    return "\n".join(lines)


def test_deep_nesting_is_split_into_dispatched_blocks():
    assert run(_chain(300), 5) == (305,)
    assert run(_chain(300), 0xFFFF_FFFF) == (0,)        # first add wraps to 0: takes the exit


def _jump_chain(n: int) -> str:
    """n blocks joined by plain jumps: same indentation, but one translator frame each."""
    lines = ['function "jumps"(i32) -> (i32) {', "block0(v0:i32):"]
    for i in range(n):
        lines += [f"    v{2 * i + 1}:i32 = iconst 1", f"    v{2 * i + 2}:i32 = iadd v{2 * i}, v{2 * i + 1}",
                  f"    jump block{i + 1}", f"block{i + 1}:"]
    lines += [f"    return v{2 * n}", "}"]
    return "\n".join(lines)


def test_long_jump_chains_translate():
    assert run(_jump_chain(5000), 5) == (5005,)


def _nested(n: int, kind: str) -> str:
    """Wasm text: n structures of `kind` nested in one function of a parameter $p."""
    if kind == "loop":        # plain nested loops (no back edge taken)
        body = "(loop (result i32) " * n + "i32.const 7" + ")" * n
    elif kind == "block-br":  # the innermost block branches out of all of them
        body = "(block (result i32) " * n + f"(br {n - 1} (i32.const 3))" + ")" * n
    elif kind == "loop-br":   # every loop counts $p down through its own back edge
        body = ("(loop $l " * n + "(br_if $l (i32.ne (local.tee $p (i32.sub (local.get $p) (i32.const 1)))"
                " (i32.const 0)))" + ")" * n + " (local.get $p) (i32.const 11) (i32.add)")
    else:                     # nested ifs on the parameter, each adding 1 on the way out
        body = ("(if (result i32) (local.get $p) (then " * n + "i32.const 0"
                + ") (else i32.const 100)) i32.const 1 i32.add" * n)
    return f'(module (func (export "f") (param $p i32) (result i32) {body}))'


@pytest.mark.parametrize("kind,n,arg,expected", [
    ("loop", 5000, 0, 7), ("block-br", 5000, 0, 3), ("loop-br", 2000, 50, 11), ("if", 2000, 1, 2000),
])
def test_deep_wasm_nesting_runs_like_compiled_code(kind, n, arg, expected):
    """5,000 nested loops trapped STACK_OVERFLOW in the interpreter (the translator recursed once
    per inlined block); compiled code and wasmtime return the result."""
    from engine import Config, Engine, Instance, Module, Store
    for cfg in (Config(strategy="interpreter"), Config()):
        store = Store(Engine(cfg))
        f = Instance(store, Module(store.engine, _nested(n, kind)), []).exports(store)["f"]
        assert f(store, arg) == expected, cfg.strategy


def test_big_br_table():
    n = 500
    lines = ['function "bt"(i32) -> (i32) {', "block0(v0:i32):"]
    targets = ", ".join(f"block{1 + (i % 7)}" for i in range(n))
    lines.append(f"    br_table v0, [{targets}], block8")
    for k in range(1, 9):
        lines += [f"block{k}:", f"    v{k}:i32 = iconst {k * 10}", f"    return v{k}"]
    lines.append("}")
    text = "\n".join(lines)
    for i in (0, 1, 6, 7, 499):
        assert run(text, i) == ((1 + i % 7) * 10,)
    assert run(text, 500) == (80,) and run(text, 0xFFFF_FFFF) == (80,)


def test_small_br_table_with_args():
    text = """function "bt"(i32, i32) -> (i32) {
block0(v0:i32, v1:i32):
    br_table v0, [block1(v1), block2], block1(v0)
block1(v2:i32):
    return v2
block2:
    v3:i32 = iconst 42
    return v3
}"""
    assert run(text, 0, 9) == (9,)
    assert run(text, 1, 9) == (42,)
    assert run(text, 5, 9) == (5,)


def test_calls_make_a_generator():
    text = """function "c"(i32) -> (i32, i32) {
block0(v0:i32):
    v1:i32, v2:i32 = call fn0 v0
    return v2, v1
}"""
    compiled = compile_function(parse_function(text))
    assert compiled.is_generator
    import types
    sentinel = types.SimpleNamespace(code=None)       # not bound: the call yields
    gen = compiled.make(Ctx(funcs=[sentinel]))(3)
    callee, args = gen.send(None)
    assert callee is sentinel and args == (3,)
    with pytest.raises(StopIteration) as stop:
        gen.send((10, 20))
    assert stop.value.value == (20, 10)


def test_run_function_with_ir_callees_and_recursion_limit():
    from engine.exec.interp import StandaloneContext, run_function
    fact = parse_function("""function 0 "fact"(i64) -> (i64) {
block0(v0:i64):
    brif v0, block1, block2
block1:
    v1:i64 = iconst 1
    v2:i64 = isub v0, v1
    v3:i64 = call fn0 v2
    v4:i64 = imul v0, v3
    return v4
block2:
    v5:i64 = iconst 1
    return v5
}""")
    ctx = StandaloneContext(funcs=[fact])
    assert run_function(fact, [20], ctx) == (2432902008176640000,)
    with pytest.raises(Trap) as info:
        run_function(fact, [50_000], ctx, max_depth=1000)
    assert info.value.trap_code == TrapCode.STACK_OVERFLOW
