"""Per-rule tests of engine.wasm.validator: valid and invalid modules, with the error message,
the function index and the byte offset of the offending instruction.

Modules are built directly as WasmModule objects so each test states exactly the structure it
checks; instruction offsets are synthetic (100, 101, ... in body order)."""

from __future__ import annotations

import pytest

from engine.config import Features
from engine.errors import FeatureDisabledError, InvalidError, WasmError
from engine.wasm.module import (DataSegment, ElemSegment, Export, FuncBody, Global, Import,
                                Instr, MemArg, SegmentMode, WasmModule)
from engine.wasm.opcodes import BY_NAME, Op
from engine.wasm.types import (ExternKind, FuncType, GlobalType, Limits, MemoryType, TableType,
                               ValType)
from engine.wasm.validator import block_signature, func_local_types, validate

I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64
V128, FUNCREF, EXTERNREF = ValType.V128, ValType.FUNCREF, ValType.EXTERNREF
ALL = Features()
BASE = 100   # offset of the first instruction of a body built by `code`


def code(*items) -> list[Instr]:
    """Instructions from names or (name, immediate) pairs; `end` is appended. The k-th
    instruction gets offset BASE + k."""
    out = []
    for k, item in enumerate(items + ("end",)):
        name, imm = (item, None) if isinstance(item, str) else item
        op = Op.SELECT_T if name == "select_t" else BY_NAME[name].code
        out.append(Instr(int(op), imm, BASE + k))
    return out


def const(name: str, value) -> list[Instr]:
    return [Instr(int(BY_NAME[name].code), value, 10), Instr(int(Op.END), None, 11)]


def module(*bodies, params=(), results=(), locals_=(), **fields) -> WasmModule:
    """A module whose defined functions all have type [params] -> [results]; `bodies` are
    instruction lists from `code`."""
    m = WasmModule(types=[FuncType(params, results)], **fields)
    for body in bodies:
        m.funcs.append(0)
        m.codes.append(FuncBody(tuple(locals_), body, BASE - 2))
    return m


def invalid(m: WasmModule, features: Features = ALL) -> InvalidError:
    with pytest.raises(InvalidError) as info:
        validate(m, features)
    return info.value


def expect_invalid(m: WasmModule, message: str, offset: int | None = None, func: int | None = 0,
                   features: Features = ALL) -> InvalidError:
    err = invalid(m, features)
    assert message in err.reason, err.reason
    if func is not None:
        assert err.func == func
    if offset is not None:
        assert err.offset == offset
    return err


def mem(min_=1, max_=None) -> MemoryType:
    return MemoryType(Limits(min_, max_))


# -- numeric instructions and the operand stack -----------------------------------------------

def test_numeric_valid():
    validate(module(code(("i32.const", 1), ("i32.const", 2), "i32.add"), results=(I32,)), ALL)


def test_operand_of_wrong_type():
    m = module(code(("i32.const", 1), ("i64.const", 2), "i32.add", "drop"))
    expect_invalid(m, "type mismatch", offset=BASE + 2)


def test_operand_missing():
    m = module(code(("i32.const", 1), "i32.add", "drop"))
    expect_invalid(m, "type mismatch", offset=BASE + 1)


def test_value_left_over_at_function_end():
    m = module(code(("i32.const", 1)))
    expect_invalid(m, "type mismatch", offset=BASE + 1)


def test_missing_result():
    expect_invalid(module(code(), results=(I32,)), "type mismatch", offset=BASE)


def test_conversion_signature_from_table():
    validate(module(code(("f64.const", 0), "i64.trunc_f64_s", "f32.convert_i64_u"),
                    results=(F32,)), ALL)
    expect_invalid(module(code(("f32.const", 0), "i64.trunc_f64_s", "drop")),
                   "type mismatch", offset=BASE + 1)


def test_function_index_counts_imports():
    m = module(code(), code(("i64.const", 0), "i32.eqz", "drop"))
    m.imports.append(Import("env", "f", ExternKind.FUNC, 0))
    expect_invalid(m, "type mismatch", func=2, offset=BASE + 1)


# -- unreachable code ------------------------------------------------------------------------

def test_unreachable_makes_stack_polymorphic():
    validate(module(code("unreachable", "i32.add", "i64.extend_i32_s"), results=(I64,)), ALL)


def test_unreachable_still_checks_known_types():
    m = module(code("unreachable", ("i64.const", 0), "i32.add", "drop"))
    expect_invalid(m, "type mismatch", offset=BASE + 2)


def test_code_after_br_is_polymorphic():
    m = module(code(("block", I32), ("i32.const", 0), ("br", 0), "f32.neg", "i32.trunc_f32_s",
                    "end"),
               results=(I32,))
    validate(m, ALL)


def test_unreachable_reset_at_block_end():
    m = module(code(("block", None), "unreachable", "end", "i32.add", "drop"))
    expect_invalid(m, "type mismatch", offset=BASE + 3)


# -- blocks, branches ------------------------------------------------------------------------

def test_block_result_and_branch():
    m = module(code(("block", I32), ("i32.const", 1), ("br", 0), "end"), results=(I32,))
    validate(m, ALL)


@pytest.mark.parametrize("items, results, error", [
    # the main loop's fast paths (operands exactly as taken) and the handlers they fall back to
    ((("block", None), ("i32.const", 1), ("br_if", 0), "end"), (), None),
    ((("loop", None), ("i64.const", 1), ("br_if", 0), "end"), (), (BASE + 2, "type mismatch")),
    ((("block", I32), ("i32.const", 7), ("i32.const", 1), ("br_if", 0), "end"), (I32,), None),
    ((("block", I32), ("i64.const", 7), ("i32.const", 1), ("br_if", 0), "drop",
      ("i32.const", 0), "end"), (I32,), (BASE + 3, "type mismatch")),
    ((("block", None), "unreachable", ("br_if", 0), "end"), (), None),
    ((("block", None), ("br", 1), "end"), (), None),
    ((("block", I32), ("br", 0), "end"), (I32,), (BASE + 1, "type mismatch")),
    ((("block", None), ("i32.const", 1), "end"), (), (BASE + 2, "type mismatch")),
    ((("block", I32), "unreachable", "end"), (I32,), None),
    ((("block", None), ("br_if", 5), "end"), (), (BASE + 1, "unknown label")),
    ((("i32.const", 1), ("call", 0), ("i32.const", 2), "i32.add"), (I32,), None),
    ((("i64.const", 1), ("call", 0), "drop"), (), (BASE + 1, "type mismatch")),
    ((("call", 3), "drop"), (), (BASE, "unknown function")),
])
def test_control_fast_paths_agree_with_the_rules(items, results, error):
    callee = code(("local.get", 0))
    m = WasmModule(types=[FuncType((I32,), (I32,)), FuncType((), results)],
                   funcs=[0, 1], codes=[FuncBody((), callee, BASE - 2),
                                        FuncBody((), code(*items), BASE - 2)])
    if error is None:
        validate(m, ALL)
    else:
        expect_invalid(m, error[1], offset=error[0], func=1)


def test_block_result_wrong_type():
    m = module(code(("block", I32), ("i64.const", 1), "end"), results=(I32,))
    expect_invalid(m, "type mismatch", offset=BASE + 2)


def test_branch_value_wrong_type():
    m = module(code(("block", I32), ("f32.const", 1), ("br", 0), "end"), results=(I32,))
    expect_invalid(m, "type mismatch", offset=BASE + 2)


def test_unknown_label():
    m = module(code(("block", None), ("br", 2), "end"))
    expect_invalid(m, "unknown label", offset=BASE + 1)


def test_branch_to_function_label_is_return():
    validate(module(code(("i32.const", 3), ("br", 0)), results=(I32,)), ALL)


def test_loop_label_takes_params():
    ft = FuncType([I32], [I64])
    m = module(code(("i32.const", 0), ("loop", 1), ("br_if", 0), ("i64.const", 0), "end"),
               results=(I64,))
    m.types.append(ft)
    # br_if 0 targets the loop: it needs an i32 condition and the loop's i32 parameter.
    expect_invalid(m, "type mismatch", offset=BASE + 2)
    m2 = module(code(("i32.const", 0), ("loop", 1), ("i32.const", 1), ("br_if", 0), "drop",
                     ("i64.const", 0), "end"), results=(I64,))
    m2.types.append(ft)
    validate(m2, ALL)


def test_br_if_refines_types():
    m = module(code(("block", I32), ("i32.const", 1), ("i32.const", 0), ("br_if", 0), "end"),
               results=(I32,))
    validate(m, ALL)


def test_br_table_arity_mismatch():
    m = module(code(("block", None), ("block", I32), "unreachable", ("br_table", ((0,), 1)),
                    "end", "end"))
    expect_invalid(m, "type mismatch", offset=BASE + 3)


def test_br_table_unknown_label():
    m = module(code(("block", None), ("i32.const", 0), ("br_table", ((0, 5), 0)), "end"))
    expect_invalid(m, "unknown label", offset=BASE + 2)


def test_br_table_unreachable_different_types_same_arity():
    # Operands of unknown type satisfy both [i32] and [f32] (spec: push_vals(pop_vals(...))).
    m = module(code(("block", F32), ("block", I32), "unreachable",
                    ("br_table", ((0,), 1)), "end", "drop", ("f32.const", 0), "end", "drop"))
    validate(m, ALL)


def test_br_table_known_operand_must_match_all_targets():
    m = module(code(("block", F32), ("block", I32), ("i32.const", 1), ("i32.const", 0),
                    ("br_table", ((0,), 1)), "end", "drop", ("f32.const", 0), "end", "drop"))
    expect_invalid(m, "type mismatch", offset=BASE + 4)


def test_if_without_else_must_not_produce_values():
    m = module(code(("i32.const", 1), ("if", I32), ("i32.const", 2), "end", "drop"))
    expect_invalid(m, "type mismatch", offset=BASE + 3)


def test_if_else_valid_and_condition_checked():
    validate(module(code(("i32.const", 1), ("if", I32), ("i32.const", 2), "else",
                         ("i32.const", 3), "end"), results=(I32,)), ALL)
    m = module(code(("i64.const", 1), ("if", None), "end"))
    expect_invalid(m, "type mismatch", offset=BASE + 1)


def test_else_branch_checked():
    m = module(code(("i32.const", 1), ("if", I32), ("i32.const", 2), "else", ("f64.const", 0),
                    "end"), results=(I32,))
    expect_invalid(m, "type mismatch", offset=BASE + 5)


def test_else_without_if():
    m = module(code(("block", None), "else", "end"))
    expect_invalid(m, "else", offset=BASE + 1)


def test_multi_value_block_params():
    m = module(code(("i32.const", 1), ("i64.const", 2), ("block", 1), "drop", "end"),
               results=(I32,))
    m.types.append(FuncType([I32, I64], [I32]))
    validate(m, ALL)
    bad = module(code(("i64.const", 1), ("i64.const", 2), ("block", 1), "drop", "end"),
                 results=(I32,))
    bad.types.append(FuncType([I32, I64], [I32]))
    expect_invalid(bad, "type mismatch", offset=BASE + 2)


def test_block_params_are_not_visible_below():
    # A block may not pop values from outside its own frame.
    m = module(code(("i32.const", 1), ("block", None), "drop", "end"))
    expect_invalid(m, "type mismatch", offset=BASE + 2)


def test_block_type_unknown():
    m = module(code(("block", 7), "end"))
    expect_invalid(m, "unknown type", offset=BASE)


def test_block_signature_helper():
    types = [FuncType([I32], [I64, F32])]
    assert block_signature(types, None) == ((), ())
    assert block_signature(types, F64) == ((), (F64,))
    assert block_signature(types, 0) == ((I32,), (I64, F32))


def test_return_checks_function_results():
    validate(module(code(("block", None), ("i64.const", 1), "return", "end", ("i64.const", 2)),
                    results=(I64,)), ALL)
    m = module(code(("i32.const", 1), "return"), results=(I64,))
    expect_invalid(m, "type mismatch", offset=BASE + 1)


def test_deep_nesting_has_no_recursion_limit():
    depth = 20_000
    body = code(*([("block", None)] * depth + ["end"] * depth))
    validate(module(body), ALL)
    unbalanced = code(*([("block", None)] * depth + ["end"] * (depth - 1)))
    unbalanced.pop()          # drop the function's own end as well: body misses its final end
    err = expect_invalid(module(unbalanced), "missing")
    assert err.offset is not None


def test_operators_after_function_end():
    body = code("nop")
    body.append(Instr(int(Op.NOP), None, 500))
    expect_invalid(module(body), "after the end", offset=500)


# -- parametric ------------------------------------------------------------------------------

def test_select_numeric_and_mismatch():
    validate(module(code(("f32.const", 1), ("f32.const", 2), ("i32.const", 0), "select"),
                    results=(F32,)), ALL)
    m = module(code(("f32.const", 1), ("i32.const", 2), ("i32.const", 0), "select", "drop"))
    expect_invalid(m, "type mismatch", offset=BASE + 3)


def test_untyped_select_rejects_references():
    m = module(code(("ref.null", FUNCREF), ("ref.null", FUNCREF), ("i32.const", 0), "select",
                    "drop"))
    expect_invalid(m, "type mismatch", offset=BASE + 3)


def test_untyped_select_unknown_operands():
    validate(module(code("unreachable", "select", "i64.eqz"), results=(I32,)), ALL)
    # one known operand decides the result type
    m = module(code("unreachable", ("i64.const", 0), ("i32.const", 1), "select", "i32.eqz",
                    "drop"))
    expect_invalid(m, "type mismatch", offset=BASE + 4)


def test_typed_select():
    validate(module(code(("ref.null", EXTERNREF), ("ref.null", EXTERNREF), ("i32.const", 0),
                         ("select_t", (EXTERNREF,))), results=(EXTERNREF,)), ALL)
    m = module(code(("i32.const", 1), ("i32.const", 1), ("i32.const", 0),
                    ("select_t", (I32, I32)), "drop"))
    expect_invalid(m, "invalid result arity", offset=BASE + 3)
    m = module(code(("i32.const", 1), ("i64.const", 1), ("i32.const", 0),
                    ("select_t", (I64,)), "drop"))
    expect_invalid(m, "type mismatch", offset=BASE + 3)


def test_drop_needs_operand():
    expect_invalid(module(code("drop")), "type mismatch", offset=BASE)


# -- variables -------------------------------------------------------------------------------

def test_locals_params_first():
    m = module(code(("local.get", 0), ("local.get", 1), "f64.promote_f32", ("local.set", 2),
                    "i64.extend_i32_u"),
               params=(I32, F32), results=(I64,), locals_=((1, F64),))
    validate(m, ALL)


def test_func_local_types_helper():
    m = module(code(), code(), params=(I32, F32), locals_=((2, I64), (1, V128)))
    m.imports.append(Import("env", "f", ExternKind.FUNC, 0))
    validate(m, ALL)
    assert func_local_types(m, 2) == [I32, F32, I64, I64, V128]
    with pytest.raises(WasmError):
        func_local_types(m, 0)          # an imported function has no locals
    with pytest.raises(WasmError):
        func_local_types(m, 3)


def test_unknown_local():
    m = module(code(("local.get", 3), "drop"), params=(I32,), locals_=((2, I64),))
    expect_invalid(m, "unknown local", offset=BASE)
    m = module(code(("i32.const", 0), ("local.set", 1)), params=(I32,))
    expect_invalid(m, "unknown local", offset=BASE + 1)


def test_local_set_and_tee_types():
    m = module(code(("i64.const", 0), ("local.set", 0)), params=(I32,))
    expect_invalid(m, "type mismatch", offset=BASE + 1)
    validate(module(code(("i32.const", 0), ("local.tee", 0)), params=(I32,), results=(I32,)),
             ALL)
    m = module(code(("i32.const", 0), ("local.tee", 0)), params=(I32,), results=(I64,))
    expect_invalid(m, "type mismatch", offset=BASE + 2)


def test_globals():
    g_mut = Global(GlobalType(I64, True), const("i64.const", 0))
    g_const = Global(GlobalType(I32, False), const("i32.const", 0))
    m = module(code(("global.get", 1), "i64.extend_i32_s", ("global.set", 0)),
               globals=[g_mut, g_const])
    validate(m, ALL)
    m = module(code(("i32.const", 1), ("global.set", 1)), globals=[g_mut, g_const])
    expect_invalid(m, "global is immutable", offset=BASE + 1)
    m = module(code(("global.get", 2), "drop"), globals=[g_mut, g_const])
    expect_invalid(m, "unknown global", offset=BASE)


def test_imported_global_comes_first():
    m = module(code(("global.get", 0), "f32.neg", "drop"),
               globals=[Global(GlobalType(I32, False), const("i32.const", 0))])
    m.imports.append(Import("env", "g", ExternKind.GLOBAL, GlobalType(F32, False)))
    validate(m, ALL)


# -- calls -----------------------------------------------------------------------------------

def test_call_signature():
    m = module(code(("i32.const", 1), ("call", 0)), params=(I32,))
    validate(m, ALL)
    m = module(code(("f32.const", 1), ("call", 0)), params=(I32,))
    expect_invalid(m, "type mismatch", offset=BASE + 1)
    expect_invalid(module(code(("call", 1))), "unknown function", offset=BASE)


def test_call_indirect():
    table = TableType(FUNCREF, Limits(1))
    m = module(code(("i32.const", 0), ("call_indirect", (0, 0))), tables=[table])
    validate(m, ALL)
    expect_invalid(module(code(("i32.const", 0), ("call_indirect", (0, 0)))),
                   "unknown table", offset=BASE + 1)
    m = module(code(("i32.const", 0), ("call_indirect", (0, 0))),
               tables=[TableType(EXTERNREF, Limits(1))])
    expect_invalid(m, "type mismatch", offset=BASE + 1)
    m = module(code(("i32.const", 0), ("call_indirect", (4, 0))), tables=[table])
    expect_invalid(m, "unknown type", offset=BASE + 1)
    m = module(code(("i64.const", 0), ("call_indirect", (0, 0))), tables=[table])
    expect_invalid(m, "type mismatch", offset=BASE + 1)


# -- tables and references -------------------------------------------------------------------

def test_table_instructions():
    tables = [TableType(FUNCREF, Limits(1)), TableType(EXTERNREF, Limits(1))]
    m = module(code(("i32.const", 0), ("table.get", 1), ("i32.const", 1), ("table.grow", 1),
                    "drop", ("table.size", 0), ("ref.null", FUNCREF), ("i32.const", 1),
                    ("table.fill", 0), ("i32.const", 0), ("ref.null", EXTERNREF),
                    ("table.set", 1)), tables=tables)
    validate(m, ALL)
    m = module(code(("i32.const", 0), ("ref.null", FUNCREF), ("table.set", 1)), tables=tables)
    expect_invalid(m, "type mismatch", offset=BASE + 2)
    expect_invalid(module(code(("table.size", 2), "drop"), tables=tables), "unknown table",
                   offset=BASE)


def test_table_copy_and_init_element_types():
    tables = [TableType(FUNCREF, Limits(1)), TableType(EXTERNREF, Limits(1))]
    elems = [ElemSegment(SegmentMode.PASSIVE, EXTERNREF, [])]
    args = [("i32.const", 0)] * 3
    m = module(code(*args, ("table.copy", (0, 1))), tables=tables, elems=elems)
    expect_invalid(m, "type mismatch", offset=BASE + 3)
    m = module(code(*args, ("table.init", (0, 0))), tables=tables, elems=elems)
    expect_invalid(m, "type mismatch", offset=BASE + 3)
    validate(module(code(*args, ("table.init", (0, 1)), ("elem.drop", 0)), tables=tables,
                    elems=elems), ALL)
    m = module(code(*args, ("table.init", (1, 1))), tables=tables, elems=elems)
    expect_invalid(m, "unknown elem segment", offset=BASE + 3)
    expect_invalid(module(code(("elem.drop", 3)), elems=elems), "unknown elem segment",
                   offset=BASE)


def test_ref_is_null_needs_reference():
    validate(module(code(("ref.null", EXTERNREF), "ref.is_null"), results=(I32,)), ALL)
    m = module(code(("i32.const", 0), "ref.is_null", "drop"))
    expect_invalid(m, "type mismatch", offset=BASE + 1)


def test_ref_func_must_be_declared():
    m = module(code(("ref.func", 0), "drop"))
    expect_invalid(m, "undeclared function reference", offset=BASE)
    expect_invalid(module(code(("ref.func", 9), "drop")), "unknown function", offset=BASE)


@pytest.mark.parametrize("declared_by", ["export", "elem", "declarative elem", "global"])
def test_ref_func_declarations(declared_by):
    m = module(code(("ref.func", 0), "drop"))
    if declared_by == "export":
        m.exports.append(Export("f", ExternKind.FUNC, 0))
    elif declared_by == "elem":
        m.tables.append(TableType(FUNCREF, Limits(1)))
        m.elems.append(ElemSegment(SegmentMode.ACTIVE, FUNCREF, [const("ref.func", 0)], 0,
                                   const("i32.const", 0)))
    elif declared_by == "declarative elem":
        m.elems.append(ElemSegment(SegmentMode.DECLARATIVE, FUNCREF, [const("ref.func", 0)]))
    else:
        m.globals.append(Global(GlobalType(FUNCREF, False), const("ref.func", 0)))
    validate(m, ALL)


# -- memory ----------------------------------------------------------------------------------

def test_load_store_valid():
    m = module(code(("i32.const", 0), ("i32.const", 0), ("i64.load32_u", MemArg(2, 0)),
                    ("i64.store", MemArg(3, 8))), mems=[mem()])
    validate(m, ALL)


def test_memory_required():
    m = module(code(("i32.const", 0), ("i32.load", MemArg(2, 0)), "drop"))
    expect_invalid(m, "unknown memory", offset=BASE + 1)
    expect_invalid(module(code(("memory.size", 0), "drop")), "unknown memory", offset=BASE)


@pytest.mark.parametrize("name,natural", [("i32.load8_s", 0), ("i32.load16_u", 1),
                                          ("i32.load", 2), ("i64.load", 3), ("i64.load32_s", 2),
                                          ("f64.store", 3), ("i64.store16", 1)])
def test_alignment_limit(name, natural):
    store = "store" in name
    value = {"i32": ("i32.const", 0), "i64": ("i64.const", 0), "f32": ("f32.const", 0),
             "f64": ("f64.const", 0)}[name[:3]]
    ops = [("i32.const", 0)] + ([value] if store else [])
    tail = [] if store else ["drop"]
    validate(module(code(*ops, (name, MemArg(natural, 0)), *tail), mems=[mem()]), ALL)
    m = module(code(*ops, (name, MemArg(natural + 1, 0)), *tail), mems=[mem()])
    expect_invalid(m, "alignment must not be larger than natural", offset=BASE + len(ops))


def test_simd_alignment_and_lanes():
    m = module(code(("i32.const", 0), ("v128.load", MemArg(4, 0)), ("i8x16.extract_lane_s", 15)),
               mems=[mem()], results=(I32,))
    validate(m, ALL)
    m = module(code(("i32.const", 0), ("v128.load8x8_s", MemArg(4, 0)), "drop"), mems=[mem()])
    expect_invalid(m, "alignment must not be larger than natural", offset=BASE + 1)
    m = module(code(("i32.const", 0), ("v128.load", MemArg(4, 0)), ("i16x8.extract_lane_u", 8)),
               mems=[mem()], results=(I32,))
    expect_invalid(m, "invalid lane index", offset=BASE + 2)
    m = module(code(("i32.const", 0), ("i32.const", 0), ("v128.load", MemArg(0, 0)),
                    ("v128.load32_lane", (MemArg(2, 0), 4)), "drop"), mems=[mem()])
    expect_invalid(m, "invalid lane index", offset=BASE + 3)


def test_memory_grow_and_fill_and_copy():
    m = module(code(("i32.const", 1), ("memory.grow", 0), ("i32.const", 0), ("i32.const", 0),
                    ("memory.fill", 0), ("i32.const", 0), ("i32.const", 0), ("i32.const", 0),
                    ("memory.copy", (0, 0))), mems=[mem()])
    validate(m, ALL)
    m = module(code(("i64.const", 1), ("memory.grow", 0), "drop"), mems=[mem()])
    expect_invalid(m, "type mismatch", offset=BASE + 1)


def test_memory_init_and_data_drop():
    datas = [DataSegment(SegmentMode.PASSIVE, b"ab")]
    args = [("i32.const", 0)] * 3
    m = module(code(*args, ("memory.init", (0, 0)), ("data.drop", 0)), mems=[mem()],
               datas=datas, data_count=1)
    validate(m, ALL)
    m = module(code(*args, ("memory.init", (1, 0))), mems=[mem()], datas=datas, data_count=1)
    expect_invalid(m, "unknown data segment", offset=BASE + 3)
    m = module(code(("data.drop", 0)), mems=[mem()], datas=datas)
    expect_invalid(m, "data count section required", offset=BASE)
    expect_invalid(module(code(("data.drop", 0))), "unknown data segment 0", offset=BASE)
    m = module(code(*args, ("memory.init", (0, 0))), datas=datas, data_count=1)
    expect_invalid(m, "unknown memory", offset=BASE + 3)


# -- module level ----------------------------------------------------------------------------

@pytest.mark.parametrize("limits,message", [
    (Limits(65537), "memory size must be at most 65536 pages (4GiB)"),
    (Limits(0, 65537), "memory size must be at most 65536 pages (4GiB)"),
    (Limits(2, 1), "size minimum must not be greater than maximum"),
])
def test_memory_limits(limits, message):
    # MemoryType(...) refuses such limits itself (as wasmtime-py's); a decoded module's memory
    # type is unchecked and the validator reports it
    expect_invalid(WasmModule(mems=[MemoryType.decoded(limits)]), message, func=None)
    validate(WasmModule(mems=[MemoryType(Limits(0, 65536))]), ALL)


def test_table_limits():
    expect_invalid(WasmModule(tables=[TableType(FUNCREF, Limits(3, 2))]),
                   "size minimum must not be greater than maximum", func=None)


def test_multiple_memories_and_tables():
    m = WasmModule(mems=[mem()])
    m.imports.append(Import("env", "m", ExternKind.MEMORY, mem()))
    expect_invalid(m, "multiple memories", func=None, features=WASM_2_0)
    validate(m, ALL)                                    # multi-memory
    validate(WasmModule(tables=[TableType(FUNCREF, Limits(0)), TableType(EXTERNREF, Limits(0))]),
             ALL)


def test_import_type_index():
    m = WasmModule(types=[FuncType()], imports=[Import("a", "b", ExternKind.FUNC, 3)])
    expect_invalid(m, "unknown type", func=None)


def test_function_type_index():
    m = WasmModule(types=[FuncType()], funcs=[1], codes=[FuncBody((), code(), 0)])
    expect_invalid(m, "unknown type", func=None)


WASM_2_0 = Features(tail_call=False, extended_const=False, multi_memory=False, memory64=False,
                   function_references=False, exceptions=False)


def _g(t, init, mutable=False):
    return Global(GlobalType(t, mutable), init)


def test_global_initialisers():
    g = _g
    validate(WasmModule(globals=[g(I32, const("i32.const", 5)), g(FUNCREF, const("ref.null",
                                                                               FUNCREF))]), ALL)
    expect_invalid(WasmModule(globals=[g(I32, const("i64.const", 5))]), "type mismatch",
                   func=None, offset=11)
    expect_invalid(WasmModule(globals=[g(I32, code(("i32.const", 1), ("i32.const", 1),
                                                   "i32.add"))]),
                   "constant expression required", func=None, offset=BASE + 2,
                   features=WASM_2_0)
    expect_invalid(WasmModule(globals=[g(I32, code(("i32.const", 1), ("i32.const", 2)))]),
                   "type mismatch", func=None)
    expect_invalid(WasmModule(globals=[g(I32, code())]), "type mismatch", func=None)
    # global.get sees only imported globals (2.0), and only immutable ones
    two = WasmModule(globals=[g(I32, const("i32.const", 0)), g(I32, const("global.get", 0))])
    expect_invalid(two, "unknown global", func=None, offset=10, features=WASM_2_0)
    imported = Import("env", "g", ExternKind.GLOBAL, GlobalType(I32, False))
    validate(WasmModule(imports=[imported], globals=[g(I32, const("global.get", 0))]), ALL)
    mut = Import("env", "g", ExternKind.GLOBAL, GlobalType(I32, True))
    expect_invalid(WasmModule(imports=[mut], globals=[g(I32, const("global.get", 0))]),
                   "constant expression required", func=None, offset=10)


def test_memory_indices_of_memory_instructions():
    two = dict(mems=[mem(), mem()])
    validate(module(code(("i32.const", 0), ("i32.load", MemArg(2, 0, 1)), "drop",
                         ("memory.size", 1), "drop",
                         ("i32.const", 0), ("i32.const", 0), ("i32.const", 0),
                         ("memory.copy", (1, 0))), **two), ALL)
    expect_invalid(module(code(("i32.const", 0), ("i32.load", MemArg(2, 0, 2)), "drop"),
                          **two), "unknown memory 2")
    expect_invalid(module(code(("memory.size", 2), "drop"), **two), "unknown memory 2")
    expect_invalid(module(code(("i32.const", 0), ("i32.load", MemArg(2, 1 << 32, 0)), "drop"),
                          **two), "offset out of range")


def test_extended_constant_expressions():
    g = _g
    validate(WasmModule(globals=[g(I32, code(("i32.const", 1), ("i32.const", 1), "i32.add")),
                                 g(I64, code(("i64.const", 1), ("i64.const", 3), "i64.mul",
                                             ("i64.const", 2), "i64.sub"))]), ALL)
    # any earlier immutable global, never a later one or the global itself
    validate(WasmModule(globals=[g(I32, const("i32.const", 0)),
                                 g(I32, code(("global.get", 0), ("i32.const", 2), "i32.mul"))]),
             ALL)
    expect_invalid(WasmModule(globals=[g(I32, const("global.get", 0))]), "unknown global 0",
                   func=None, offset=10)
    expect_invalid(WasmModule(globals=[g(I32, const("global.get", 1)),
                                       g(I32, const("i32.const", 0))]),
                   "unknown global 1", func=None)
    expect_invalid(WasmModule(globals=[g(I32, const("i32.const", 0), mutable=True),
                                       g(I32, const("global.get", 0))]),
                   "constant expression required", func=None)
    # operands of the wrong type, too few, and operators that stay non-constant
    expect_invalid(WasmModule(globals=[g(I32, code(("i64.const", 1), ("i64.const", 1),
                                                   "i32.add"))]), "type mismatch", func=None)
    expect_invalid(WasmModule(globals=[g(I32, code(("i32.const", 1), "i32.sub"))]),
                   "type mismatch", func=None)
    expect_invalid(WasmModule(globals=[g(I32, code(("i32.const", 1), ("i32.const", 1),
                                                   "i32.div_s"))]),
                   "constant expression required", func=None)
    # a segment offset may read a defined global
    data = WasmModule(mems=[mem()], globals=[g(I32, const("i32.const", 4))],
                      datas=[DataSegment(SegmentMode.ACTIVE, b"x", 0,
                                         code(("global.get", 0), ("i32.const", 1), "i32.add"))])
    validate(data, ALL)
    expect_invalid(data, "unknown global 0", func=None, features=WASM_2_0)


def test_element_segments():
    table = TableType(FUNCREF, Limits(1))
    f = module(code())
    f.tables.append(table)
    f.elems.append(ElemSegment(SegmentMode.ACTIVE, FUNCREF, [const("ref.func", 0)], 0,
                               const("i32.const", 0)))
    validate(f, ALL)
    f.elems[0].offset = const("i64.const", 0)
    expect_invalid(f, "type mismatch", func=None)
    f.elems[0].offset = const("i32.const", 0)
    f.elems[0].table = 1
    expect_invalid(f, "unknown table", func=None)
    f.elems[0].table = 0
    f.elems[0].type = EXTERNREF
    f.elems[0].init = [const("ref.null", EXTERNREF)]
    expect_invalid(f, "type mismatch", func=None)
    f.elems[0] = ElemSegment(SegmentMode.PASSIVE, EXTERNREF, [const("ref.func", 0)])
    expect_invalid(f, "type mismatch", func=None)
    f.elems[0] = ElemSegment(SegmentMode.PASSIVE, FUNCREF, [const("ref.func", 4)])
    expect_invalid(f, "unknown function", func=None)


def test_data_segments():
    seg = DataSegment(SegmentMode.ACTIVE, b"x", 0, const("i32.const", 0))
    validate(WasmModule(mems=[mem()], datas=[seg]), ALL)
    expect_invalid(WasmModule(datas=[seg]), "unknown memory", func=None)
    bad = DataSegment(SegmentMode.ACTIVE, b"x", 0, const("f32.const", 0))
    expect_invalid(WasmModule(mems=[mem()], datas=[bad]), "type mismatch", func=None)


def test_start_function():
    m = module(code())
    m.start = 0
    validate(m, ALL)
    m.start = 1
    expect_invalid(m, "unknown function", func=None)
    m = module(code(("local.get", 0), "drop"), params=(I32,))
    m.start = 0
    expect_invalid(m, "start function", func=None)


def test_exports():
    m = module(code(), mems=[mem()])
    m.exports = [Export("a", ExternKind.FUNC, 0), Export("b", ExternKind.MEMORY, 0)]
    validate(m, ALL)
    m.exports.append(Export("a", ExternKind.MEMORY, 0))
    expect_invalid(m, "duplicate export name", func=None)
    m.exports[-1] = Export("c", ExternKind.GLOBAL, 0)
    expect_invalid(m, "unknown global", func=None)
    m.exports[-1] = Export("c", ExternKind.TABLE, 0)
    expect_invalid(m, "unknown table", func=None)


def test_function_and_code_counts():
    m = module(code())
    m.funcs.append(0)
    expect_invalid(m, "inconsistent lengths", func=None)


# -- features --------------------------------------------------------------------------------

@pytest.mark.parametrize("feature,body,kw", [
    ("sign_extension", code(("i32.const", 0), "i32.extend8_s", "drop"), {}),
    ("saturating_float_to_int", code(("f32.const", 0), "i32.trunc_sat_f32_s", "drop"), {}),
    ("bulk_memory", code(("i32.const", 0), ("i32.const", 0), ("i32.const", 0),
                         ("memory.fill", 0)), {"mems": [MemoryType(Limits(1))]}),
    ("reference_types", code(("ref.null", EXTERNREF), "drop"), {}),
    ("simd", code(("v128.const", bytes(16)), "drop"), {}),
    ("multi_value", code(("block", 1), "end"), {}),
])
def test_disabled_feature_rejects_instruction(feature, body, kw):
    m = module(body, **kw)
    m.types.append(FuncType([], [I32, I32]) if feature != "multi_value" else FuncType([], []))
    validate(m, ALL)
    off = Features(**{feature: False})
    err = invalid(m, off)
    assert isinstance(err, FeatureDisabledError)
    assert feature.replace("_", " ") in str(err)
    assert err.func == 0 and err.offset is not None and err.offset >= BASE


def test_disabled_feature_rejects_types():
    with pytest.raises(FeatureDisabledError):
        validate(module(code(), params=(V128,)), Features(simd=False))
    with pytest.raises(FeatureDisabledError):
        validate(module(code("unreachable"), results=(I32, I32)), Features(multi_value=False))
    with pytest.raises(FeatureDisabledError):
        validate(module(code(), locals_=((1, EXTERNREF),)), Features(reference_types=False))
    validate(module(code(), locals_=((1, EXTERNREF),)), ALL)


# -- robustness ------------------------------------------------------------------------------

def test_badly_shaped_module_raises_wasm_error():
    m = module(code(("br_table", 5)))
    with pytest.raises(WasmError):
        validate(m, ALL)
    m = module(code(("local.get", "x"), "drop"))
    with pytest.raises(WasmError):
        validate(m, ALL)


# -- decoded binaries: offsets point at the real opcode bytes ---------------------------------

def _wat(text: str) -> bytes:
    import subprocess
    import tempfile
    from pathlib import Path

    from tests.tools import find_tool
    tool = find_tool("wat2wasm")
    if tool is None:
        pytest.fail("wat2wasm is not installed (pip install the dev extras)")
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "m.wat", Path(tmp) / "m.wasm"
        src.write_text(text)
        subprocess.run([str(tool), "--no-check", str(src), "-o", str(out)], check=True,
                       capture_output=True)
        return out.read_bytes()


def _decode_and_validate(data: bytes) -> None:
    from engine.wasm.decoder import decode
    validate(decode(data, ALL), ALL)


def test_binary_offset_of_bad_operand():
    data = _wat("(module (func (drop (i32.add (i32.const 1) (i64.const 2)))))")
    with pytest.raises(InvalidError) as info:
        _decode_and_validate(data)
    at = data.index(bytes([0x42, 0x02, 0x6A])) + 2          # i64.const 2, then i32.add
    assert info.value.offset == at and info.value.func == 0
    assert "type mismatch" in str(info.value) and f"{at:#x}" in str(info.value)


def test_binary_offset_of_missing_result_is_final_end():
    data = _wat("(module (func (result i32) (i64.const 0)))")
    with pytest.raises(InvalidError) as info:
        _decode_and_validate(data)
    assert data[-1] == 0x0B and info.value.offset == len(data) - 1


def test_binary_function_index_after_imports():
    data = _wat('(module (import "a" "b" (func)) (import "a" "c" (global i32)) (func) '
                '(func (drop (local.get 5))))')
    with pytest.raises(InvalidError) as info:
        _decode_and_validate(data)
    assert info.value.func == 2 and "unknown local 5" in info.value.reason
    assert data[info.value.offset] == 0x20                   # the local.get opcode


def test_binary_valid_module():
    _decode_and_validate(_wat("""
      (module
        (type $pair (func (param i32) (result i32 i64)))
        (memory 1) (table 2 funcref) (global $g (mut i32) (i32.const 0))
        (elem declare func $f)
        (func $f (type $pair) (local.get 0) (i64.extend_i32_u (local.get 0)))
        (func (export "run") (param i32) (result i64) (local i64)
          (local.get 0)
          (block (type $pair) (call $f) (br 0))
          (local.set 1) (drop)
          (drop (ref.func $f))
          (global.set $g (i32.load offset=4 align=4 (local.get 0)))
          (local.get 1)))
    """))


def test_br_table_with_many_labels_is_fast():
    import time
    n_results = 2000
    wide = FuncType([], [I64] * n_results)
    body = code(("block", 1), *[("i64.const", 0)] * n_results, ("i32.const", 0),
                ("br_table", ((0,) * 200_000, 0)), "end", *["drop"] * n_results)
    m = module(body)
    m.types.append(wide)
    start = time.perf_counter()
    validate(m, ALL)
    assert time.perf_counter() - start < 5.0


def test_wide_calls_in_dead_code_are_cheap():
    import time
    wide = FuncType([I64] * 5000, [])
    m = module(code("unreachable", *[("call", 0)] * 20_000))
    m.types[0] = wide
    start = time.perf_counter()
    validate(m, ALL)
    assert time.perf_counter() - start < 5.0
    # a known operand among the unknowns is still checked
    m.codes[0].body = code("unreachable", ("i32.const", 0), ("call", 0))
    expect_invalid(m, "type mismatch", offset=BASE + 2)


def test_many_locals_in_many_small_functions():
    import time
    locals_ = ((20_000, I32), (29_000, F64))
    # local 0: the i64 parameter; 1..20000: i32; 20001..49000: f64
    m = module(*[code(("local.get", 48_999), "drop", ("local.get", 20_001), "f64.neg",
                      ("local.set", 30_000)) for _ in range(2000)], params=(I64,),
               locals_=locals_)
    start = time.perf_counter()
    validate(m, ALL)
    assert time.perf_counter() - start < 5.0
    m.codes[0].body = code(("local.get", 20_001), "i32.eqz", "drop")
    expect_invalid(m, "type mismatch", offset=BASE + 1)
    m.codes[0].body = code(("local.get", 49_001), "drop")
    expect_invalid(m, "unknown local 49001", offset=BASE)
    m.codes[0].body = code(("local.get", 0), "i64.eqz", ("local.set", 1))
    validate(m, ALL)


def test_too_many_locals():
    m = module(code(), locals_=((50_001, I32),))
    expect_invalid(m, "too many locals")
