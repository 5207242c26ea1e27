"""Property tests: on random arithmetic functions (straight code and diamonds, integer and
float operations, guarded divisions and conversions, constants that fold), the passes never
change what a function returns or how it traps. The IR interpreter is the judge."""

from __future__ import annotations

import types

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import Trap, TrapCode
from engine.ir import (F32, F64, I32, I64, BlockCall, FloatCC, Function, Inst, IntCC, Opcode)
from engine.ir.parser import parse_function
from engine.ir.passes import DEFAULT_PIPELINE, optimize, run_passes
from engine.ir.printer import print_function
from engine.ir.verifier import verify

O = Opcode
TYPES = (I32, I64, F32, F64)
BITS = {I32: 32, I64: 64, F32: 32, F64: 64}

INT_SPECIAL = [0, 1, 2, 3, 7, 31, 32, 63, 64, 0x7F, 0x80, 0xFF, 0x7FFF_FFFF, 0x8000_0000,
               0xFFFF_FFFF, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000,
               0xFFFF_FFFF_FFFF_FFFF]
F32_SPECIAL = [0, 0x8000_0000, 0x3F80_0000, 0xBF80_0000, 0x3FC0_0000, 0x4F00_0000, 0xCF00_0000,
               0x7F80_0000, 0xFF80_0000, 0x7FC0_0000, 0x7FA0_0001, 0xFFC0_0123, 0x0000_0001,
               0x7F7F_FFFF, 0x4B80_0000]
F64_SPECIAL = [0, 0x8000_0000_0000_0000, 0x3FF0_0000_0000_0000, 0xBFF0_0000_0000_0000,
               0x3FF8_0000_0000_0000, 0x41E0_0000_0000_0000, 0xC1E0_0000_0020_0000,
               0x7FF0_0000_0000_0000, 0xFFF0_0000_0000_0000, 0x7FF8_0000_0000_0000,
               0x7FF4_0000_0000_0001, 0x0000_0000_0000_0001, 0x43F0_0000_0000_0000,
               0x4330_0000_0000_0001]


def _bits_of(t):
    mask = (1 << BITS[t]) - 1
    special = {I32: INT_SPECIAL, I64: INT_SPECIAL, F32: F32_SPECIAL, F64: F64_SPECIAL}[t]
    return st.one_of(st.sampled_from([v & mask for v in special]),
                     st.integers(0, mask))


INT_BIN = [O.IADD, O.ISUB, O.IMUL, O.BAND, O.BOR, O.BXOR, O.ISHL, O.SSHR, O.USHR, O.ROTL, O.ROTR]
INT_UN = [O.CLZ, O.CTZ, O.POPCNT, O.SEXT8, O.SEXT16]
FL_BIN = [O.FADD, O.FSUB, O.FMUL, O.FDIV, O.FMIN, O.FMAX, O.FCOPYSIGN]
FL_UN = [O.FABS, O.FNEG, O.FSQRT, O.FCEIL, O.FFLOOR, O.FTRUNC, O.FNEAREST]


class _Gen:
    """Builds a random function through the data types (the verifier checks it)."""

    def __init__(self, draw) -> None:
        self.draw = draw
        self.f = Function("rand", list(TYPES), list(TYPES))
        self.block = self.f.new_block()
        self.block.params = [self.f.new_value(t) for t in TYPES]
        self.pool = {t: [p] for t, p in zip(TYPES, self.block.params)}

    def val(self, t):
        if self.draw(st.integers(0, 3)) == 0:        # often a fresh constant: folding food
            return self.const(t)
        return self.draw(st.sampled_from(self.pool[t]))

    def emit(self, op, args, rt, imm=None):
        if rt is None:
            self.block.insts.append(Inst(op, args, [], imm))
            return None
        v = self.f.new_value(rt)
        self.block.insts.append(Inst(op, args, [v], imm))
        self.pool[rt].append(v)
        return v

    def const(self, t):
        op = O.ICONST if t in (I32, I64) else O.FCONST
        return self.emit(op, [], t, self.draw(_bits_of(t)))

    def step(self) -> None:
        d = self.draw
        kind = d(st.integers(0, 11))
        it = d(st.sampled_from([I32, I64]))
        ft = d(st.sampled_from([F32, F64]))
        if kind == 0:
            self.emit(d(st.sampled_from(INT_BIN)), [self.val(it), self.val(it)], it)
        elif kind == 1:
            op = d(st.sampled_from(INT_UN + ([O.SEXT32] if it is I64 else [])))
            self.emit(op, [self.val(it)], it)
        elif kind == 2:
            self.emit(O.ICMP, [self.val(it), self.val(it)], I32, d(st.sampled_from(list(IntCC))))
        elif kind == 3:
            self.emit(d(st.sampled_from(FL_BIN)), [self.val(ft), self.val(ft)], ft)
        elif kind == 4:
            self.emit(d(st.sampled_from(FL_UN)), [self.val(ft)], ft)
        elif kind == 5:
            self.emit(O.FCMP, [self.val(ft), self.val(ft)], I32, d(st.sampled_from(list(FloatCC))))
        elif kind == 6:          # conversions that never trap
            choice = d(st.integers(0, 6))
            if choice == 0:
                self.emit(O.IREDUCE, [self.val(I64)], I32)
            elif choice == 1:
                self.emit(d(st.sampled_from([O.UEXTEND, O.SEXTEND])), [self.val(I32)], I64)
            elif choice == 2:
                self.emit(d(st.sampled_from([O.FCVT_TO_SINT_SAT, O.FCVT_TO_UINT_SAT])),
                          [self.val(ft)], it)
            elif choice == 3:
                self.emit(d(st.sampled_from([O.FCVT_FROM_SINT, O.FCVT_FROM_UINT])),
                          [self.val(it)], ft)
            elif choice == 4:
                self.emit(O.FPROMOTE, [self.val(F32)], F64)
            elif choice == 5:
                self.emit(O.FDEMOTE, [self.val(F64)], F32)
            else:
                src = d(st.sampled_from(TYPES))
                dst = {I32: F32, F32: I32, I64: F64, F64: I64}[src]
                self.emit(O.BITCAST, [self.val(src)], dst)
        elif kind == 7:          # guarded division, as the builder emits it
            a, b = self.val(it), self.val(it)
            op = d(st.sampled_from([O.SDIV, O.UDIV, O.SREM, O.UREM]))
            self.emit(O.TRAPZ, [b], None, TrapCode.INTEGER_DIVISION_BY_ZERO)
            if op is O.SDIV:
                m1 = self.emit(O.ICONST, [], it, (1 << BITS[it]) - 1)
                c1 = self.emit(O.ICMP, [b, m1], I32, IntCC.EQ)
                mn = self.emit(O.ICONST, [], it, 1 << (BITS[it] - 1))
                c2 = self.emit(O.ICMP, [a, mn], I32, IntCC.EQ)
                both = self.emit(O.BAND, [c1, c2], I32)
                self.emit(O.TRAPNZ, [both], None, TrapCode.INTEGER_OVERFLOW)
            elif op is O.SREM:
                m1 = self.emit(O.ICONST, [], it, (1 << BITS[it]) - 1)
                c1 = self.emit(O.ICMP, [b, m1], I32, IntCC.EQ)
                one = self.emit(O.ICONST, [], it, 1)
                b = self.emit(O.SELECT, [c1, one, b], it)
            self.emit(op, [a, b], it)
        elif kind == 8:          # guarded trapping conversion (bounds as the builder's)
            from engine.ir.builder import _TRUNC_SPECS
            spec = d(st.sampled_from(sorted(_TRUNC_SPECS.values(), key=repr)))
            rt, st_, signed, cc, lo, hi = spec
            x = self.val(st_)
            u = self.emit(O.FCMP, [x, x], I32, FloatCC.UNO)
            self.emit(O.TRAPNZ, [u], None, TrapCode.BAD_CONVERSION_TO_INTEGER)
            lov = self.emit(O.FCONST, [], st_, lo)
            c1 = self.emit(O.FCMP, [x, lov], I32, cc)
            hiv = self.emit(O.FCONST, [], st_, hi)
            c2 = self.emit(O.FCMP, [x, hiv], I32, FloatCC.LT)
            ok = self.emit(O.BAND, [c1, c2], I32)
            self.emit(O.TRAPZ, [ok], None, TrapCode.INTEGER_OVERFLOW)
            self.emit(O.FCVT_TO_SINT if signed else O.FCVT_TO_UINT, [x], rt)
        elif kind == 9:
            t = d(st.sampled_from(TYPES))
            self.emit(O.SELECT, [self.val(I32), self.val(t), self.val(t)], t)
        elif kind == 10:
            self.emit(O.EQZ, [self.val(it)], I32)
        else:
            self.diamond()

    def diamond(self) -> None:
        """brif c, then, else; each arm computes; they merge with one parameter per type."""
        d = self.draw
        cond = self.val(I32)
        f = self.f
        then_b, else_b, join = f.new_block(), f.new_block(), f.new_block()
        self.block.insts.append(Inst(O.BRIF, [cond], [], None,
                                     [BlockCall(then_b.id), BlockCall(else_b.id)]))
        saved = {t: list(v) for t, v in self.pool.items()}
        join.params = [f.new_value(t) for t in TYPES]
        for arm in (then_b, else_b):
            self.block = arm
            self.pool = {t: list(v) for t, v in saved.items()}
            for _ in range(d(st.integers(0, 4))):
                self.step()          # may nest a diamond: then self.block is its join
            args = [self.val(t) for t in TYPES]
            self.block.insts.append(Inst(O.JUMP, [], [], None, [BlockCall(join.id, args)]))
        self.block = join
        self.pool = saved
        for t, p in zip(TYPES, join.params):
            self.pool[t].append(p)

    def finish(self) -> Function:
        self.block.insts.append(Inst(O.RETURN, [self.pool[t][-1] for t in TYPES]))
        return self.f


@st.composite
def functions(draw):
    g = _Gen(draw)
    for _ in range(draw(st.integers(1, 25))):
        g.step()
    f = g.finish()
    verify(f)
    return f


def _run(func: Function, args):
    from engine.exec.interp import compile_function
    ctx = types.SimpleNamespace(funcs=[], mems=[], tables=[], globals=[], types=[])
    fn = compile_function(func).make(ctx)
    try:
        return ("ok", tuple(fn(*args)))
    except Trap as e:
        return ("trap", e.trap_code)


def _interp_available() -> bool:
    try:
        from engine.exec.interp import compile_function  # noqa: F401
    except ImportError:
        return False
    return True


args_strategy = st.tuples(*[_bits_of(t) for t in TYPES])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(functions(), st.lists(args_strategy, min_size=1, max_size=4))
def test_passes_preserve_results(func, arg_lists):
    if not _interp_available():
        import pytest
        pytest.xfail("engine/ir/interp.py (the IR interpreter) is not there yet")
    original = parse_function(print_function(func))
    optimized = parse_function(print_function(func))
    run_passes(optimized, DEFAULT_PIPELINE, verify_each=True)
    best = parse_function(print_function(func))
    optimize(best, verify_each=True)
    for args in arg_lists:
        assert _run(original, args) == _run(best, args), print_function(best)
        assert _run(original, args) == _run(optimized, args), print_function(optimized)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(functions(), args_strategy)
def test_each_pass_alone_preserves_results(func, args):
    if not _interp_available():
        import pytest
        pytest.xfail("engine/ir/interp.py (the IR interpreter) is not there yet")
    expected = _run(func, args)
    for name in ("fold", "copyprop", "dce", "merge"):
        g = parse_function(print_function(func))
        run_passes(g, [name], verify_each=True)
        assert _run(g, args) == expected, (name, print_function(g))


@settings(max_examples=50, deadline=None)
@given(functions())
def test_folding_all_constant_functions_leaves_only_constants(func):
    # replace the parameters by constants: after the pipeline, no arithmetic is left
    if not _interp_available():
        import pytest
        pytest.xfail("engine/ir/interp.py (the IR interpreter) is not there yet")
    text = print_function(func)
    g = parse_function(text)
    entry = g.blocks[0]
    consts = []
    for p, t in zip(entry.params, TYPES):
        newv = g.new_value(t)
        consts.append(Inst(O.ICONST if t in (I32, I64) else O.FCONST, [], [newv], 1))
        from engine.ir.rewrite import replace_uses
        replace_uses(g, {p: newv})
    entry.insts[:0] = consts
    before = _run(g, (0, 0, 0, 0))
    optimize(g, verify_each=True)
    assert _run(g, (0, 0, 0, 0)) == before
    leftover = {i.opcode for b in g.blocks for i in b.insts} - {
        O.ICONST, O.FCONST, O.RETURN, O.TRAP, O.JUMP,
        # operations whose precondition fails are kept behind their (now certain) trap
        O.SDIV, O.UDIV, O.SREM, O.UREM, O.FCVT_TO_SINT, O.FCVT_TO_UINT}
    assert not leftover, print_function(g)
