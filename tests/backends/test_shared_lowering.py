"""The shared backend pieces (backends/lowering.py, emitter.py, module_compile.py, callconv.py):
every target fills in every hook, the shared rule tables cover what they claim, and the cached
argument placement agrees with the rule written out by hand."""

from __future__ import annotations

import importlib

import pytest

from backends import callconv
from engine.environ.helpers import Helper
from backends.base import RegClass
from backends.emitter import EmitterBase
from backends.lowering import HELPER_CALLS, LoweringBase, common_rules
from backends.module_compile import ModuleCompiler
from engine.compile.registry import backend_class
from engine.ir.ir import Opcode
from engine.wasm.types import ValType

TARGETS = ["x86_64", "aarch64", "riscv64"]


def _hooks(base: type) -> list[str]:
    """Methods of `base` that only raise NotImplementedError (the hooks a target fills in)."""
    out = []
    for name, fn in vars(base).items():
        code = getattr(fn, "__code__", None)
        if code is not None and "NotImplementedError" in code.co_names:
            out.append(name)
    return out


def test_the_bases_declare_hooks():
    assert {"helper", "branch_if", "index_branch", "callee_ref", "materialize"} <= set(
        _hooks(LoweringBase))
    assert {"inst", "invertible", "inverted", "trap_stub"} <= set(_hooks(EmitterBase))
    assert "assemble" in _hooks(ModuleCompiler)


@pytest.mark.parametrize("target", TARGETS)
def test_every_hook_is_filled_in(target):
    isel = importlib.import_module(f"backends.{target}.isel")
    emit = importlib.import_module(f"backends.{target}.emit")
    backend = backend_class(target)
    for base, cls in ((LoweringBase, isel.Lowering), (EmitterBase, emit.FunctionEmitter),
                      (ModuleCompiler, backend)):
        missing = [h for h in _hooks(base) if getattr(cls, h) is getattr(base, h)]
        assert not missing, f"{target} {cls.__name__} lacks {missing}"


@pytest.mark.parametrize("target", TARGETS)
def test_common_rules_are_in_every_target_table(target):
    isel = importlib.import_module(f"backends.{target}.isel")
    common = common_rules(isel.Lowering)
    # bulk operations a target does in machine code instead of the runtime helper
    own = {Opcode.MEMORY_INIT, Opcode.TABLE_COPY, Opcode.TABLE_FILL}
    for op, rule in common.items():
        if op in own:
            assert isel.Lowering.RULES_BY_ID[id(op)] is not rule, op
            continue
        assert isel.Lowering.RULES_BY_ID[id(op)] is rule, op
    # the target adds its own arithmetic rules on top
    assert len(isel.Lowering.RULES_BY_ID) > len(common)
    assert id(Opcode.IADD) in isel.Lowering.RULES_BY_ID


def test_helper_calls_cover_every_called_helper():
    called = {h for h, _, _ in HELPER_CALLS.values()}
    # EPOCH is called from the out-of-line epoch paths (trampolines.epoch_stubs), LAZY_COMPILE
    # from the lazy units' thunks (trampolines.lazy_entry), TIER_UP from the lazy unit's
    # __tier_up (counted baseline code)
    assert called == set(Helper) - {Helper.HOST_CALL, Helper.TRAP, Helper.EPOCH,
                                    Helper.LAZY_COMPILE, Helper.BACKTRACE, Helper.TIER_UP}
    # the helpers that report a trap code are exactly the ones documented "0 / code + 1"
    trapping = {h for h, _, traps in HELPER_CALLS.values() if traps}
    assert trapping == {Helper.MEMORY_INIT, Helper.TABLE_FILL, Helper.TABLE_COPY,
                        Helper.TABLE_INIT}


def _by_hand(target, types, results):
    pools = target.ret_regs if results else target.arg_regs
    nint = nfloat = nstack = 0
    out = []
    for t in types:
        if t in (ValType.F32, ValType.F64):
            regs, k = pools[RegClass.FLOAT], nfloat
        else:
            regs, k = pools[RegClass.INT], nint
        if k < len(regs):
            out.append((regs[k], None))
            if t in (ValType.F32, ValType.F64):
                nfloat += 1
            else:
                nint += 1
        else:
            out.append((None, nstack))
            nstack += 1
    return out, nstack


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("results", [False, True])
def test_assign_matches_the_rule_and_is_stable(target, results):
    desc = backend_class(target).target
    mix = [ValType.I32, ValType.F64, ValType.I64, ValType.F32, ValType.FUNCREF] * 5
    for n in range(len(mix) + 1):
        types = mix[:n]
        locs, nstack = callconv.assign(desc, types, results)
        want, wstack = _by_hand(desc, types, results)
        assert [(loc.reg, loc.stack) for loc in locs] == want
        assert nstack == wstack
        # a second answer (from the cache) is the same
        assert callconv.assign(desc, list(types), results) == (locs, nstack)
