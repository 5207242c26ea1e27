"""The WebAssembly 2.0 validator: module-level rules and the type checking of every function body
(the operand/control stack algorithm of the spec's appendix, one linear pass per body).

`validate(module, features)` raises InvalidError (FeatureDisabledError for a switched-off proposal)
for the first rule broken; `func` in the error is the index in the function index space (imports
first) and `offset` the byte offset of the offending instruction when there is one."""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable, Iterable, Sequence

from ..config import Features
from ..errors import FeatureDisabledError, InvalidError, WasmError
from .const_expr import func_refs, validate_const_expr
from .module import FuncBody, Instr, MemArg, SegmentMode, WasmModule
from .opcodes import INFO, OPS, Catch, Imm, Op, OpInfo, PREFIX_MISC, PREFIX_SIMD, TryTable
from .types import (MAX_PAGES, MAX_PAGES_64, MAX_TABLE_SIZE, MAX_TABLE_SIZE_64, ExternKind,
                    FuncType, GlobalType, HeapType, Limits, MemoryType, RefType, TableType,
                    ValType, ValueType, ref_type)
from .subtyping import Canon, defaultable

__all__ = ["validate", "block_signature", "func_local_types", "MAX_LOCALS"]

#: The most locals (parameters included) a function may have; wasmtime's limit.
MAX_LOCALS = 50000

I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64
V128, FUNCREF, EXTERNREF = ValType.V128, ValType.FUNCREF, ValType.EXTERNREF
EXNREF = ValType.EXNREF
#: (ref exn): what catch_ref and catch_all_ref pass to their label
_REF_EXN = ref_type(False, HeapType.EXN)
_NUM = frozenset((I32, I64, F32, F64))
_REF = frozenset((FUNCREF, EXTERNREF))

_EMPTY: tuple[ValType, ...] = ()
_NO_LOCALS: frozenset[int] = frozenset()
#: the types of a block without any (shared: frames' type lists are never changed)
_NO_TYPES: list[ValType] = []


# ---------------------------------------------------------------------------------------------
# Module context: what function bodies may refer to.
# ---------------------------------------------------------------------------------------------

class _Context:
    """The validation context C of the spec, built once per module."""

    __slots__ = ("module", "features", "types", "funcs", "tables", "mems", "globals", "elems",
                 "data_count", "refs", "imported_globals", "mem64", "canon", "typed_refs",
                 "func_type_indices", "tag_types", "call_sigs")

    def __init__(self, module: WasmModule, features: Features) -> None:
        self.module = module
        self.features = features
        self.types: list[FuncType] = module.types
        self.funcs: list[FuncType] = []          # filled after type indices are checked
        self.tables: list[TableType] = module.table_types()
        self.mems: list[MemoryType] = module.memory_types()
        #: per memory: is it 64-bit (memory64: its addresses are i64)
        self.mem64: list[bool] = [mt.is_64 for mt in self.mems]
        self.globals: list[GlobalType] = module.global_types()
        self.imported_globals: list[GlobalType] = [imp.desc for imp in module.imports
                                                   if imp.kind == ExternKind.GLOBAL]
        self.elems: list[ValType] = [seg.type for seg in module.elems]
        self.data_count: int | None = module.data_count
        self.refs: set[int] = set()
        #: subtyping and type equivalence of reference types (typed function references)
        self.canon = Canon(module.types)
        self.typed_refs = features.function_references
        self.func_type_indices: list[int] = module.func_type_indices()
        #: each tag's payload type, imports first (filled after the tags' types are checked)
        self.tag_types: list[FuncType] = []
        #: each function's (params, results) as lists (the main loop's calls; made with the
        #: bodies' validation)
        self.call_sigs: list[tuple[list, list]] = []


def block_signature(types: Sequence[FuncType], blocktype: object) -> tuple[tuple[ValType, ...],
                                                                          tuple[ValType, ...]]:
    """The (params, results) of a block type immediate: None, a ValType or a type index.
    Assumes a validated module (later stages use it to read block types)."""
    if blocktype is None:
        return _EMPTY, _EMPTY
    if isinstance(blocktype, (ValType, RefType)):
        return _EMPTY, (blocktype,)
    ft = types[blocktype]
    return ft.param_types, ft.result_types


def func_local_types(module: WasmModule, func_index: int) -> list[ValType]:
    """The types of every local of a defined function, parameters first, by its index in the
    function index space (imports first). Assumes a validated module."""
    defined = func_index - module.num_imported_funcs
    if not 0 <= defined < len(module.funcs):
        raise WasmError(f"function {func_index} is not a defined function of this module")
    return list(module.types[module.funcs[defined]].params) + module.codes[defined].local_types()


# ---------------------------------------------------------------------------------------------
# Natural alignment and lane counts, derived from the opcode names.
# ---------------------------------------------------------------------------------------------

_WIDTH_RE = re.compile(r"(?:load|store)(\d+)(x\d+)?")
_TYPE_BYTES_LOG2 = {"i32": 2, "f32": 2, "i64": 3, "f64": 3, "v128": 4}
_SHAPE_LANES = {"i8x16": 16, "i16x8": 8, "i32x4": 4, "i64x2": 2, "f32x4": 4, "f64x2": 2}


def _natural_align(info: OpInfo) -> int:
    """log2 of the number of bytes a load/store accesses: its natural alignment."""
    m = _WIDTH_RE.search(info.name)
    if m is not None:
        if m.group(2):                      # v128.load8x8_s and friends read 64 bits
            return 3
        return {8: 0, 16: 1, 32: 2, 64: 3}[int(m.group(1))]
    return _TYPE_BYTES_LOG2[info.name.split(".")[0]]


def _lane_count(info: OpInfo) -> int:
    """How many lanes a lane index of this instruction may select."""
    m = _WIDTH_RE.search(info.name)
    if m is not None:                       # v128.load16_lane: 128 / 16 lanes
        return 128 // int(m.group(1))
    return _SHAPE_LANES[info.name.split(".")[0]]


# ---------------------------------------------------------------------------------------------
# Function bodies.
# ---------------------------------------------------------------------------------------------

class _Frame:
    """A control frame: the block's opcode, its types, the operand stack height at entry and
    whether the rest of the block is unreachable. `labels` is what a branch to it passes: the
    params of a loop, the results of anything else."""

    __slots__ = ("op", "params", "results", "labels", "height", "unreachable", "offset",
                 "uninit")

    def __init__(self, op: int, params: Sequence[ValType], results: Sequence[ValType],
                 height: int, offset: int) -> None:
        self.op = op
        self.params = list(params)
        self.results = list(results)
        self.labels = self.params if op == _LOOP else self.results
        self.height = height
        self.unreachable = False
        self.offset = offset
        #: the non-defaultable locals still unset when the block began (restored at its end)
        self.uninit: frozenset[int] = _NO_LOCALS


_BLOCK, _LOOP, _IF, _ELSE, _END = int(Op.BLOCK), int(Op.LOOP), int(Op.IF), int(Op.ELSE), int(Op.END)
_FUNC_FRAME = -1
_LOCAL_GET, _LOCAL_SET, _LOCAL_TEE = int(Op.LOCAL_GET), int(Op.LOCAL_SET), int(Op.LOCAL_TEE)
_DROP = int(Op.DROP)
_BR, _BR_IF, _CALL = int(Op.BR), int(Op.BR_IF), int(Op.CALL)

Handler = Callable[["_BodyValidator", Instr], None]


class _BodyValidator:
    """Type checks one function body. The operand stack holds ValTypes, or None for a value of
    unknown type (only ever produced in unreachable code)."""

    __slots__ = ("ctx", "func", "stack", "ctrls", "locals", "result_types", "uninit")

    def __init__(self, ctx: _Context, func: int, ftype: FuncType,
                 local_types: Sequence[ValType],
                 declared: Sequence[tuple[int, ValueType]]) -> None:
        """`local_types`: every local's type, parameters first; `declared`: the body's local
        declarations (FuncBody.locals)."""
        self.ctx = ctx
        self.func = func
        self.stack: list[ValType | None] = []
        self.locals = local_types
        results = list(ftype.result_types)
        self.result_types = results
        self.ctrls: list[_Frame] = [_Frame(_FUNC_FRAME, _EMPTY, results, 0, 0)]
        #: non-defaultable locals not yet set on this path (3.0's local initialisation)
        self.uninit: set[int] = set()
        if ctx.typed_refs:
            at = len(ftype.param_types)
            for count, t in declared:
                if t.__class__ is not ValType and not defaultable(t):
                    self.uninit.update(range(at, at + count))
                at += count

    # -- errors ----------------------------------------------------------------------------------

    def error(self, message: str, ins: Instr | None) -> InvalidError:
        return InvalidError(message, func=self.func, offset=None if ins is None else ins.offset)

    # -- operand stack ---------------------------------------------------------------------------

    def pop(self, ins: Instr) -> ValType | None:
        frame = self.ctrls[-1]
        stack = self.stack
        if len(stack) == frame.height:
            if frame.unreachable:
                return None
            raise self.error("type mismatch: operand stack is empty", ins)
        return stack.pop()

    def pop_expect(self, expect: ValType | None, ins: Instr) -> ValType | None:
        frame = self.ctrls[-1]
        stack = self.stack
        if len(stack) == frame.height:
            if frame.unreachable:
                return None
            raise self.error(f"type mismatch: expected {expect}, but the operand stack is empty",
                             ins)
        actual = stack.pop()
        if (actual is not expect and actual is not None and expect is not None
                and not self.ctx.canon.sub(actual, expect)):
            raise self.error(f"type mismatch: expected {expect}, got {actual}", ins)
        return actual

    def pop_vals(self, types: Sequence[ValType], ins: Instr) -> list[ValType | None]:
        """Pop values of `types` (last type on top); return what was popped, in stack order
        (None for a value of unknown type)."""
        n = len(types)
        if not n:
            return []
        stack = self.stack
        if len(stack) - n >= self.ctrls[-1].height and stack[-n:] == list(types):
            del stack[-n:]
            return list(types)
        frame = self.ctrls[-1]
        out: list[ValType | None] = [None] * n
        # Only the values above the frame's height need checking: below them an unreachable
        # frame yields unknowns (so a wide signature costs nothing per use in dead code).
        lowest = 0
        if frame.unreachable:
            lowest = max(0, n - (len(stack) - frame.height))
        for i in range(n - 1, lowest - 1, -1):
            out[i] = self.pop_expect(types[i], ins)
        return out

    def set_unreachable(self) -> None:
        frame = self.ctrls[-1]
        del self.stack[frame.height:]
        frame.unreachable = True

    # -- control stack ---------------------------------------------------------------------------

    def push_ctrl(self, op: int, params: Sequence[ValType], results: Sequence[ValType],
                  ins: Instr) -> None:
        frame = _Frame(op, params, results, len(self.stack), ins.offset)
        if self.uninit:
            frame.uninit = frozenset(self.uninit)
        self.ctrls.append(frame)
        self.stack.extend(params)

    def pop_ctrl(self, ins: Instr) -> _Frame:
        frame = self.ctrls[-1]
        self.pop_vals(frame.results, ins)
        if len(self.stack) != frame.height:
            extra = len(self.stack) - frame.height
            where = "function" if frame.op == _FUNC_FRAME else "block"
            raise self.error(f"type mismatch: {extra} value(s) left on the stack at the end of "
                             f"the {where}", ins)
        self.ctrls.pop()
        if frame.uninit:       # locals set inside the block are unset again after it
            self.uninit |= frame.uninit
        return frame

    def label(self, depth: object, ins: Instr) -> _Frame:
        ctrls = self.ctrls
        if not isinstance(depth, int) or not 0 <= depth < len(ctrls):
            raise self.error(f"unknown label {depth}", ins)
        return ctrls[-1 - depth]

    def block_type(self, blocktype: object, ins: Instr) -> tuple[Sequence[ValType], Sequence[ValType]]:
        if blocktype is None:
            return _EMPTY, _EMPTY
        if isinstance(blocktype, (ValType, RefType)):
            _check_valtype(blocktype, self.ctx.features, ins.offset, self.func,
                           len(self.ctx.types))
            return _EMPTY, (blocktype,)
        features = self.ctx.features
        if not features.multi_value:
            _require(features, "multi_value", ins.offset, self.func)
        types = self.ctx.types
        if not isinstance(blocktype, int) or not 0 <= blocktype < len(types):
            raise self.error(f"unknown type {blocktype}", ins)
        ft = types[blocktype]
        return ft.params, ft.results

    def bad_memarg(self, memarg: object, max_align: int, ins: Instr) -> None:
        """Raise the error for a load/store immediate that run() found wrong."""
        if not isinstance(memarg, MemArg):
            raise self.error("malformed memory immediate", ins)
        if not 0 <= memarg.memory < len(self.ctx.mems):
            raise self.error(f"unknown memory {memarg.memory}", ins)
        if memarg.offset >> 32 and not self.ctx.mem64[memarg.memory]:
            raise self.error("offset out of range: a 32-bit memory's offsets are below 2**32",
                             ins)
        if memarg.offset >> 64:
            raise self.error("offset out of range: a 64-bit memory's offsets are below 2**64",
                             ins)
        raise self.error(f"alignment must not be larger than natural ({1 << max_align} bytes)",
                         ins)

    # -- the main loop ---------------------------------------------------------------------------

    def run(self, body: Sequence[Instr], table: dict) -> None:
        """Check `body` (ending with the function's `end`) against the function's type. `table`
        (from _dispatch) gives each opcode's kind: the common instructions are checked inline,
        and when their operands are not exactly the types they take (or for the rest) the
        general rule applies (pop_vals, a handler)."""
        mem64 = self.ctx.mem64
        any64 = any(mem64)
        stack = self.stack
        ctrls = self.ctrls
        local_types = self.locals
        nlocals = len(local_types)
        nmems = len(self.ctx.mems)
        height = 0
        ins = None
        uninit = self.uninit
        # only locals unset at the start can be unset later: without any, none is checked
        checks_init = bool(uninit)
        call_sigs = self.ctx.call_sigs
        nfuncs = len(call_sigs)
        new = object.__new__
        # Kinds are compared as literals, the commonest first (see _dispatch and the _K_*).
        for ins in body:
            try:
                sig = table[ins.op]
            except KeyError:
                raise self.error(f"unknown instruction {ins.op:#x}", ins) from None
            k = sig[0]
            if k == 0:   # _K_LOCAL_GET
                index = ins.imm
                if type(index) is int and 0 <= index < nlocals:
                    if checks_init and index in uninit:
                        raise self.error(f"uninitialized local {index}", ins)
                    stack.append(local_types[index])
                    continue
                raise self.error(f"unknown local {index}", ins)
            elif k == 1:   # _K_PUSH
                stack.append(sig[1])
                continue
            elif k == 2:   # _K_BINARY
                top = len(stack) - 2
                if top >= height and stack[top + 1] is sig[4] and stack[top] is sig[3]:
                    stack.pop()
                    stack[top] = sig[5]
                else:
                    self.pop_vals(sig[1], ins)
                    stack += sig[2]
                continue
            elif k == 3:   # _K_LOCAL_SET (and local.tee)
                index = ins.imm
                if type(index) is not int or not 0 <= index < nlocals:
                    raise self.error(f"unknown local {index}", ins)
                t = local_types[index]
                if checks_init:
                    uninit.discard(index)
                top = len(stack) - 1
                if top >= height and stack[top] is t:
                    if sig[1]:
                        stack.pop()
                else:
                    self.pop_expect(t, ins)
                    if not sig[1]:
                        stack.append(t)
                continue
            elif k == 4:   # _K_LOAD
                memarg = ins.imm
                if (type(memarg) is not MemArg or memarg.align > sig[3] or memarg.offset >> 32
                        or not 0 <= memarg.memory < nmems):
                    self.bad_memarg(memarg, sig[3], ins)
                top = len(stack) - 1
                if top >= height and stack[top] is sig[4]:
                    stack[top] = sig[5]
                else:
                    self.pop_vals(sig[1], ins)
                    stack += sig[2]
                continue
            elif k == 5:   # _K_BR_IF
                depth = ins.imm
                if type(depth) is int and 0 <= depth < len(ctrls):
                    types = ctrls[-1 - depth].labels
                    n = len(types)
                    top = len(stack) - 1
                    if (top >= height + n and stack[top] is I32
                            and (not n or stack[top - n:top] == types)):
                        stack.pop()
                        continue
            elif k == 6:   # _K_END
                frame = ctrls[-1]
                results = frame.results
                n = len(results)
                if (frame.op != _IF and len(stack) == height + n
                        and (not n or stack[-n:] == results) and not frame.uninit):
                    ctrls.pop()
                    if not ctrls:
                        break
                    height = ctrls[-1].height
                    continue
            elif k == 7:   # _K_BLOCK (and loop)
                if ins.imm is None:
                    # _Frame(ins.op, _EMPTY, _EMPTY, len(stack), ins.offset) without the cost
                    # of calling the class
                    frame = new(_Frame)
                    frame.op = ins.op
                    frame.params = frame.results = frame.labels = _NO_TYPES
                    frame.height = height = len(stack)
                    frame.unreachable = False
                    frame.offset = ins.offset
                    frame.uninit = frozenset(uninit) if checks_init else _NO_LOCALS
                    ctrls.append(frame)
                    continue
            elif k == 8:   # _K_STORE
                memarg = ins.imm
                if (type(memarg) is not MemArg or memarg.align > sig[3] or memarg.offset >> 32
                        or not 0 <= memarg.memory < nmems):
                    self.bad_memarg(memarg, sig[3], ins)
                top = len(stack) - 2
                if top >= height and stack[top + 1] is sig[5] and stack[top] is sig[4]:
                    del stack[top:]
                else:
                    self.pop_vals(sig[1], ins)
                continue
            elif k == 9:   # _K_CALL
                index = ins.imm
                if type(index) is int and 0 <= index < nfuncs:
                    params, results = call_sigs[index]
                    n = len(params)
                    if not n:
                        stack += results
                        continue
                    if len(stack) - n >= height and stack[-n:] == params:
                        stack[-n:] = results
                        continue
            elif k == 10:   # _K_UNARY
                top = len(stack) - 1
                if top >= height and stack[top] is sig[3]:
                    stack[top] = sig[4]
                else:
                    self.pop_vals(sig[1], ins)
                    stack += sig[2]
                continue
            elif k == 11:   # _K_BR
                depth = ins.imm
                if type(depth) is int and 0 <= depth < len(ctrls):
                    types = ctrls[-1 - depth].labels
                    n = len(types)
                    if len(stack) >= height + n and (not n or stack[-n:] == types):
                        del stack[height:]
                        ctrls[-1].unreachable = True
                        continue
            elif k == 12:   # _K_DROP
                if len(stack) > height:
                    stack.pop()
                else:
                    self.pop(ins)
                continue
            elif k == 13:   # _K_SIMPLE
                _, params, results, align, n = sig
                if align >= 0:
                    memarg = ins.imm
                    if (type(memarg) is not MemArg or memarg.align > align
                            or not 0 <= memarg.memory < nmems):
                        self.bad_memarg(memarg, align, ins)
                    if any64 and mem64[memarg.memory]:
                        if memarg.offset >> 64:
                            self.bad_memarg(memarg, align, ins)
                        params = _addr64(params)
                    elif memarg.offset >> 32:
                        self.bad_memarg(memarg, align, ins)
                if not n:
                    stack += results
                elif len(stack) - n >= height and stack[-n:] == params:
                    stack[-n:] = results
                else:
                    self.pop_vals(params, ins)
                    stack += results
                continue
            # _K_SPECIAL, or a fast path above did not apply: the handler has the whole rule
            sig[1](self, ins)
            if not ctrls:
                break
            height = ctrls[-1].height
        if ctrls:
            raise self.error("function body is missing its final end", ins)
        if ins is not body[-1]:
            raise self.error("operators remaining after the end of the function", body[-1])


# -- handlers for the instructions whose typing is special --------------------------------------

def _h_unreachable(v: _BodyValidator, ins: Instr) -> None:
    v.set_unreachable()


def _h_block(v: _BodyValidator, ins: Instr) -> None:
    params, results = v.block_type(ins.imm, ins)
    v.pop_vals(params, ins)
    v.push_ctrl(ins.op, params, results, ins)


def _h_if(v: _BodyValidator, ins: Instr) -> None:
    params, results = v.block_type(ins.imm, ins)
    v.pop_expect(I32, ins)
    v.pop_vals(params, ins)
    v.push_ctrl(_IF, params, results, ins)


def _h_else(v: _BodyValidator, ins: Instr) -> None:
    if v.ctrls[-1].op != _IF:
        raise v.error("else without a matching if", ins)
    frame = v.pop_ctrl(ins)
    v.push_ctrl(_ELSE, frame.params, frame.results, ins)


def _h_end(v: _BodyValidator, ins: Instr) -> None:
    frame = v.pop_ctrl(ins)
    if frame.op == _IF and frame.params != frame.results:
        raise v.error("type mismatch: if without else must leave its parameters as results", ins)
    v.stack.extend(frame.results)


def _h_br(v: _BodyValidator, ins: Instr) -> None:
    v.pop_vals(v.label(ins.imm, ins).labels, ins)
    v.set_unreachable()


def _h_br_if(v: _BodyValidator, ins: Instr) -> None:
    types = v.label(ins.imm, ins).labels
    v.pop_expect(I32, ins)
    v.pop_vals(types, ins)
    v.stack.extend(types)


def _h_br_table(v: _BodyValidator, ins: Instr) -> None:
    try:
        labels, default = ins.imm
        labels = tuple(labels)
    except (TypeError, ValueError):
        raise v.error("malformed br_table immediate", ins) from None
    v.pop_expect(I32, ins)
    default_types = v.label(default, ins).labels
    arity = len(default_types)
    seen: set[int] = set()
    for depth in labels:
        if depth in seen:          # checking a target again changes nothing; keeps this linear
            continue
        seen.add(depth)
        types = v.label(depth, ins).labels
        if len(types) != arity:
            raise v.error(f"type mismatch: br_table targets have {len(types)} and {arity} values",
                          ins)
        if arity:
            v.stack.extend(v.pop_vals(types, ins))
    v.pop_vals(default_types, ins)
    v.set_unreachable()


def _h_return(v: _BodyValidator, ins: Instr) -> None:
    v.pop_vals(v.result_types, ins)
    v.set_unreachable()


def _h_call(v: _BodyValidator, ins: Instr) -> None:
    funcs = v.ctx.funcs
    index = ins.imm
    if type(index) is not int or not 0 <= index < len(funcs):
        raise v.error(f"unknown function {index}", ins)
    ft = funcs[index]
    v.pop_vals(ft.params, ins)
    v.stack.extend(ft.results)


def _h_call_indirect(v: _BodyValidator, ins: Instr) -> None:
    type_index, table = ins.imm
    ctx = v.ctx
    if table != 0:
        _require(ctx.features, "reference_types", ins.offset, v.func)
    tables = ctx.tables
    if type(table) is not int or not 0 <= table < len(tables):
        raise v.error(f"unknown table {table}", ins)
    tt = tables[table]
    if tt.element is not FUNCREF and not ctx.canon.sub(tt.element, FUNCREF):
        raise v.error(f"type mismatch: call_indirect needs a funcref table, table {table} holds "
                      f"{tt.element}", ins)
    types = ctx.types
    if type(type_index) is not int or not 0 <= type_index < len(types):
        raise v.error(f"unknown type {type_index}", ins)
    ft = types[type_index]
    v.pop_expect(tt.address_type, ins)
    v.pop_vals(ft.param_types, ins)
    v.stack.extend(ft.result_types)


def _tail_results(v: _BodyValidator, ft: FuncType, ins: Instr) -> None:
    """A tail call returns the callee's results as the caller's own: they must match them."""
    sub = v.ctx.canon.sub
    if (len(ft.result_types) != len(v.result_types)
            or not all(sub(a, b) for a, b in zip(ft.result_types, v.result_types))):
        raise v.error(f"type mismatch: tail call returns [{' '.join(map(str, ft.results))}], "
                      f"the function returns [{' '.join(map(str, v.result_types))}]", ins)


def _h_return_call(v: _BodyValidator, ins: Instr) -> None:
    _require(v.ctx.features, "tail_call", ins.offset, v.func)
    _h_call(v, ins)
    ft = v.ctx.funcs[ins.imm]
    _tail_results(v, ft, ins)
    if ins.imm < v.ctx.module.num_imported_funcs:
        v.ctx.module.tail_calls_leave = True
    v.pop_vals(ft.results, ins)
    v.set_unreachable()


def _h_return_call_indirect(v: _BodyValidator, ins: Instr) -> None:
    _require(v.ctx.features, "tail_call", ins.offset, v.func)
    _h_call_indirect(v, ins)
    ft = v.ctx.types[ins.imm[0]]
    _tail_results(v, ft, ins)
    v.ctx.module.tail_calls_leave = True
    v.pop_vals(ft.results, ins)
    v.set_unreachable()


def _pop_operands(v: _BodyValidator, types: Sequence[ValType], ins: Instr) -> None:
    """pop_vals, with the spec interpreter's wording when the operands do not match:
    "type mismatch: instruction requires [t*] but stack has [t'*]"."""
    stack = v.stack
    have = stack[max(v.ctrls[-1].height, len(stack) - len(types)):]
    try:
        v.pop_vals(types, ins)
    except InvalidError:
        raise v.error(f"type mismatch: instruction requires [{_types_text(types)}] but stack "
                      f"has [{_types_text(have)}]", ins) from None


def _types_text(types: Sequence[ValueType | None]) -> str:
    return " ".join("_" if t is None else str(t) for t in types)


def _tag_type(v: _BodyValidator, index: object, ins: Instr) -> FuncType:
    return _item(v, v.ctx.tag_types, index, "tag", ins)


def _h_throw(v: _BodyValidator, ins: Instr) -> None:
    """throw x : [t1* t*] -> [t2*], tag x of type [t*] -> []."""
    _pop_operands(v, _tag_type(v, ins.imm, ins).param_types, ins)
    v.set_unreachable()


def _h_throw_ref(v: _BodyValidator, ins: Instr) -> None:
    """throw_ref : [t1* exnref] -> [t2*]."""
    v.pop_expect(EXNREF, ins)
    v.set_unreachable()


def _check_catch(v: _BodyValidator, clause: object, ins: Instr) -> None:
    """A catch clause, checked in the context enclosing the try_table (before its frame is
    pushed): what it passes must match its label's types (see opcodes.Catch)."""
    if not isinstance(clause, Catch):
        raise v.error("malformed try_table immediate: a catch clause", ins)
    passed: list[ValueType] = []
    if clause.kind.has_tag:
        passed += _tag_type(v, clause.tag, ins).param_types
    if clause.kind.has_ref:
        passed.append(_REF_EXN)
    label_types = v.label(clause.label, ins).labels
    sub = v.ctx.canon.sub
    if len(passed) != len(label_types) or not all(map(sub, passed, label_types)):
        what = clause.kind.name.lower() + ("" if clause.tag is None else f" {clause.tag}")
        raise v.error(f"type mismatch: {what} {clause.label} passes [{_types_text(passed)}] to "
                      f"a label of [{_types_text(label_types)}]", ins)


def _h_try_table(v: _BodyValidator, ins: Instr) -> None:
    """try_table bt catch*: a block of type bt whose catch clauses send the exceptions they
    catch to labels outside it."""
    tt = ins.imm
    if not isinstance(tt, TryTable):
        raise v.error("malformed try_table immediate", ins)
    params, results = v.block_type(tt.blocktype, ins)
    for clause in tt.catches:
        _check_catch(v, clause, ins)
    v.pop_vals(params, ins)
    v.push_ctrl(ins.op, params, results, ins)


def _item(v: _BodyValidator, items: Sequence, index: object, what: str, ins: Instr):
    """items[index], or the "unknown <what>" error."""
    if type(index) is not int or not 0 <= index < len(items):
        raise v.error(f"unknown {what} {index}", ins)
    return items[index]


def _func_type_at(v: _BodyValidator, index: object, ins: Instr) -> FuncType:
    return _item(v, v.ctx.types, index, "type", ins)


def _h_call_ref(v: _BodyValidator, ins: Instr) -> None:
    ft = _func_type_at(v, ins.imm, ins)
    v.pop_expect(ref_type(True, ins.imm), ins)
    v.pop_vals(ft.params, ins)
    v.stack.extend(ft.results)


def _h_return_call_ref(v: _BodyValidator, ins: Instr) -> None:
    _require(v.ctx.features, "tail_call", ins.offset, v.func)
    _h_call_ref(v, ins)
    ft = v.ctx.types[ins.imm]
    _tail_results(v, ft, ins)
    v.ctx.module.tail_calls_leave = True
    v.pop_vals(ft.results, ins)
    v.set_unreachable()


def _pop_ref(v: _BodyValidator, ins: Instr) -> ValueType | None:
    """Pop a reference of any type (None: of unknown type, in unreachable code)."""
    t = v.pop(ins)
    if t is not None and not t.is_ref:
        raise v.error(f"type mismatch: {INFO[ins.op].name} needs a reference, got {t}", ins)
    return t


def _h_ref_as_non_null(v: _BodyValidator, ins: Instr) -> None:
    t = _pop_ref(v, ins)
    v.stack.append(None if t is None else ref_type(False, t.heap))


def _h_br_on_null(v: _BodyValidator, ins: Instr) -> None:
    t = _pop_ref(v, ins)
    types = v.label(ins.imm, ins).labels
    v.pop_vals(types, ins)
    v.stack.extend(types)            # the label's types, as br_if leaves them
    v.stack.append(None if t is None else ref_type(False, t.heap))


def _h_br_on_non_null(v: _BodyValidator, ins: Instr) -> None:
    types = v.label(ins.imm, ins).labels
    if not types or not types[-1].is_ref:
        raise v.error("type mismatch: br_on_non_null's label must take a reference last", ins)
    t = _pop_ref(v, ins)
    if t is not None and not v.ctx.canon.sub(ref_type(False, t.heap), types[-1]):
        raise v.error(f"type mismatch: expected {types[-1]}, got {ref_type(False, t.heap)}",
                      ins)
    v.pop_vals(types[:-1], ins)
    v.stack.extend(types[:-1])


def _h_select(v: _BodyValidator, ins: Instr) -> None:
    v.pop_expect(I32, ins)
    t1 = v.pop(ins)
    t2 = v.pop(ins)
    if not ((_is_num(t1) and _is_num(t2)) or (_is_vec(t1) and _is_vec(t2))):
        raise v.error("type mismatch: select without a type needs numeric or vector operands",
                      ins)
    if t1 is not t2 and t1 is not None and t2 is not None:
        raise v.error(f"type mismatch: select operands are {t2} and {t1}", ins)
    v.stack.append(t2 if t1 is None else t1)


def _h_select_t(v: _BodyValidator, ins: Instr) -> None:
    types = ins.imm
    if not isinstance(types, (tuple, list)) or len(types) != 1:
        raise v.error("invalid result arity: typed select needs exactly one type", ins)
    t = types[0]
    _check_valtype(t, v.ctx.features, ins.offset, v.func, len(v.ctx.types))
    v.pop_expect(I32, ins)
    v.pop_expect(t, ins)
    v.pop_expect(t, ins)
    v.stack.append(t)


def _is_num(t: ValType | None) -> bool:
    return t is None or t in _NUM


def _is_vec(t: ValType | None) -> bool:
    return t is None or t is V128


def _global(v: _BodyValidator, ins: Instr) -> GlobalType:
    index = ins.imm
    globals_ = v.ctx.globals
    if type(index) is not int or not 0 <= index < len(globals_):
        raise v.error(f"unknown global {index}", ins)
    return globals_[index]


def _h_global_get(v: _BodyValidator, ins: Instr) -> None:
    v.stack.append(_global(v, ins).content)


def _h_global_set(v: _BodyValidator, ins: Instr) -> None:
    gt = _global(v, ins)
    if not gt.mutable:
        raise v.error(f"global is immutable: global.set of global {ins.imm}", ins)
    v.pop_expect(gt.content, ins)


def _table(v: _BodyValidator, index: object, ins: Instr) -> TableType:
    return _item(v, v.ctx.tables, index, "table", ins)


def _h_table_get(v: _BodyValidator, ins: Instr) -> None:
    tt = _table(v, ins.imm, ins)
    v.pop_expect(tt.address_type, ins)
    v.stack.append(tt.element)


def _h_table_set(v: _BodyValidator, ins: Instr) -> None:
    tt = _table(v, ins.imm, ins)
    v.pop_expect(tt.element, ins)
    v.pop_expect(tt.address_type, ins)


def _h_table_size(v: _BodyValidator, ins: Instr) -> None:
    v.stack.append(_table(v, ins.imm, ins).address_type)


def _h_table_grow(v: _BodyValidator, ins: Instr) -> None:
    tt = _table(v, ins.imm, ins)
    v.pop_expect(tt.address_type, ins)
    v.pop_expect(tt.element, ins)
    v.stack.append(tt.address_type)


def _h_table_fill(v: _BodyValidator, ins: Instr) -> None:
    tt = _table(v, ins.imm, ins)
    v.pop_expect(tt.address_type, ins)
    v.pop_expect(tt.element, ins)
    v.pop_expect(tt.address_type, ins)


def _pop3(v: _BodyValidator, ins: Instr, dst: ValType, src: ValType, n: ValType) -> None:
    """The (destination, source, length) operands of a bulk copy or init."""
    v.pop_expect(n, ins)
    v.pop_expect(src, ins)
    v.pop_expect(dst, ins)


def _min_address(a: ValType, b: ValType) -> ValType:
    """The length type of a copy between two address types: i64 only if both are."""
    return I64 if a is I64 and b is I64 else I32


def _h_table_copy(v: _BodyValidator, ins: Instr) -> None:
    dst, src = ins.imm
    if dst != 0 or src != 0:
        _require(v.ctx.features, "reference_types", ins.offset, v.func)
    dst_tt = _table(v, dst, ins)
    src_tt = _table(v, src, ins)
    if not v.ctx.canon.sub(src_tt.element, dst_tt.element):
        raise v.error(f"type mismatch: table.copy from a {src_tt.element} table to a "
                      f"{dst_tt.element} table", ins)
    dst_at, src_at = dst_tt.address_type, src_tt.address_type
    _pop3(v, ins, dst_at, src_at, _min_address(dst_at, src_at))


def _elem(v: _BodyValidator, index: object, ins: Instr) -> ValType:
    elems = v.ctx.elems
    if type(index) is not int or not 0 <= index < len(elems):
        raise v.error(f"unknown elem segment {index}", ins)
    return elems[index]


def _h_table_init(v: _BodyValidator, ins: Instr) -> None:
    elem, table = ins.imm
    if table != 0:
        _require(v.ctx.features, "reference_types", ins.offset, v.func)
    tt = _table(v, table, ins)
    elem_t = _elem(v, elem, ins)
    if not v.ctx.canon.sub(elem_t, tt.element):
        raise v.error(f"type mismatch: table.init of a {elem_t} segment into a {tt.element} "
                      f"table", ins)
    _pop3(v, ins, tt.address_type, I32, I32)


def _h_elem_drop(v: _BodyValidator, ins: Instr) -> None:
    _elem(v, ins.imm, ins)


def _memory(v: _BodyValidator, index: object, ins: Instr) -> ValType:
    """Check a memory index; return the memory's address type."""
    if type(index) is not int or not 0 <= index < len(v.ctx.mems):
        raise v.error(f"unknown memory {index}", ins)
    return I64 if v.ctx.mem64[index] else I32


def _data(v: _BodyValidator, index: object, ins: Instr) -> None:
    count = v.ctx.data_count
    if count is None:
        # Without a data count section no data index is valid in code (in the binary format this
        # is malformed; a module built from text reports the index as unknown).
        if type(index) is int and 0 <= index < len(v.ctx.module.datas):
            raise v.error("data count section required", ins)
        raise v.error(f"unknown data segment {index}", ins)
    if type(index) is not int or not 0 <= index < count:
        raise v.error(f"unknown data segment {index}", ins)


def _h_memory_size(v: _BodyValidator, ins: Instr) -> None:
    v.stack.append(_memory(v, ins.imm, ins))


def _h_memory_grow(v: _BodyValidator, ins: Instr) -> None:
    at = _memory(v, ins.imm, ins)
    v.pop_expect(at, ins)
    v.stack.append(at)


def _h_memory_fill(v: _BodyValidator, ins: Instr) -> None:
    at = _memory(v, ins.imm, ins)
    _pop3(v, ins, at, I32, at)


def _h_memory_copy(v: _BodyValidator, ins: Instr) -> None:
    dst, src = ins.imm
    dst_at = _memory(v, dst, ins)
    src_at = _memory(v, src, ins)
    _pop3(v, ins, dst_at, src_at, _min_address(dst_at, src_at))


def _h_memory_init(v: _BodyValidator, ins: Instr) -> None:
    data, mem = ins.imm
    at = _memory(v, mem, ins)
    _data(v, data, ins)
    _pop3(v, ins, at, I32, I32)


def _h_data_drop(v: _BodyValidator, ins: Instr) -> None:
    _data(v, ins.imm, ins)


def _h_ref_null(v: _BodyValidator, ins: Instr) -> None:
    t = ins.imm
    if not isinstance(t, (ValType, RefType)) or not t.is_ref:
        raise v.error(f"type mismatch: ref.null needs a reference type, got {t}", ins)
    if isinstance(t.heap, int):
        _func_type_at(v, t.heap, ins)
    v.stack.append(t)


def _h_ref_is_null(v: _BodyValidator, ins: Instr) -> None:
    _pop_ref(v, ins)
    v.stack.append(I32)


def _h_ref_func(v: _BodyValidator, ins: Instr) -> None:
    index = ins.imm
    ctx = v.ctx
    if type(index) is not int or not 0 <= index < len(ctx.funcs):
        raise v.error(f"unknown function {index}", ins)
    if index not in ctx.refs:
        raise v.error(f"undeclared function reference {index}", ins)
    v.stack.append(ref_type(False, ctx.func_type_indices[index]) if ctx.typed_refs
                   else FUNCREF)


@functools.lru_cache(maxsize=None)
def _addr64_cached(params: tuple[ValType, ...]) -> list[ValType]:
    return [I64, *params[1:]]


def _addr64(params: list[ValType]) -> list[ValType]:
    """A memory instruction's operand types for a 64-bit memory: the address (the first
    operand) is an i64."""
    return _addr64_cached(tuple(params))


def _memarg_lane_handler(info: OpInfo) -> Handler:
    """A SIMD lane load or store: checks the lane index, the memory and the alignment, then
    applies the instruction's fixed signature. (Plain loads and stores are checked inline in
    _BodyValidator.run.)"""
    max_align = _natural_align(info)
    params = list(info.params or ())
    results = list(info.results or ())
    lanes = _lane_count(info)

    def handler(v: _BodyValidator, ins: Instr) -> None:
        memarg, lane = ins.imm
        if type(lane) is not int or not 0 <= lane < lanes:
            raise v.error(f"invalid lane index {lane}", ins)
        if (type(memarg) is not MemArg or memarg.align > max_align
                or not 0 <= memarg.memory < len(v.ctx.mems)
                or memarg.offset >> (64 if v.ctx.mem64[memarg.memory] else 32)):
            v.bad_memarg(memarg, max_align, ins)
        v.pop_vals(_addr64(params) if v.ctx.mem64[memarg.memory] else params, ins)
        v.stack.extend(results)

    return handler


def _lane_handler(info: OpInfo) -> Handler:
    """extract_lane / replace_lane: a lane index below the shape's lane count."""
    lanes = _lane_count(info)
    params = list(info.params or ())
    results = list(info.results or ())

    def handler(v: _BodyValidator, ins: Instr) -> None:
        lane = ins.imm
        if type(lane) is not int or not 0 <= lane < lanes:
            raise v.error(f"invalid lane index {lane}", ins)
        v.pop_vals(params, ins)
        v.stack.extend(results)

    return handler


def _shuffle_handler(info: OpInfo) -> Handler:
    params = list(info.params or ())
    results = list(info.results or ())

    def handler(v: _BodyValidator, ins: Instr) -> None:
        lanes = ins.imm
        if len(lanes) != 16 or any(lane >= 32 for lane in lanes):
            raise v.error("invalid lane index: i8x16.shuffle lanes must be below 32", ins)
        v.pop_vals(params, ins)
        v.stack.extend(results)

    return handler


def _disabled_handler(feature: str) -> Handler:
    def handler(v: _BodyValidator, ins: Instr) -> None:
        _require(v.ctx.features, feature, ins.offset, v.func)

    return handler


_SPECIAL: dict[int, Handler] = {
    int(Op.UNREACHABLE): _h_unreachable,
    int(Op.BLOCK): _h_block,
    int(Op.LOOP): _h_block,
    int(Op.IF): _h_if,
    int(Op.ELSE): _h_else,
    int(Op.END): _h_end,
    int(Op.BR): _h_br,
    int(Op.BR_IF): _h_br_if,
    int(Op.BR_TABLE): _h_br_table,
    int(Op.RETURN): _h_return,
    int(Op.CALL): _h_call,
    int(Op.CALL_INDIRECT): _h_call_indirect,
    int(Op.RETURN_CALL): _h_return_call,
    int(Op.THROW): _h_throw,
    int(Op.THROW_REF): _h_throw_ref,
    int(Op.TRY_TABLE): _h_try_table,
    int(Op.REF_AS_NON_NULL): _h_ref_as_non_null,
    int(Op.BR_ON_NULL): _h_br_on_null,
    int(Op.BR_ON_NON_NULL): _h_br_on_non_null,
    int(Op.CALL_REF): _h_call_ref,
    int(Op.RETURN_CALL_REF): _h_return_call_ref,
    int(Op.RETURN_CALL_INDIRECT): _h_return_call_indirect,
    int(Op.SELECT): _h_select,
    int(Op.SELECT_T): _h_select_t,
    int(Op.GLOBAL_GET): _h_global_get,
    int(Op.GLOBAL_SET): _h_global_set,
    int(Op.TABLE_GET): _h_table_get,
    int(Op.TABLE_SET): _h_table_set,
    int(Op.TABLE_SIZE): _h_table_size,
    int(Op.TABLE_GROW): _h_table_grow,
    int(Op.TABLE_FILL): _h_table_fill,
    int(Op.TABLE_COPY): _h_table_copy,
    int(Op.TABLE_INIT): _h_table_init,
    int(Op.ELEM_DROP): _h_elem_drop,
    int(Op.MEMORY_SIZE): _h_memory_size,
    int(Op.MEMORY_GROW): _h_memory_grow,
    int(Op.MEMORY_FILL): _h_memory_fill,
    int(Op.MEMORY_COPY): _h_memory_copy,
    int(Op.MEMORY_INIT): _h_memory_init,
    int(Op.DATA_DROP): _h_data_drop,
    int(Op.REF_NULL): _h_ref_null,
    int(Op.REF_IS_NULL): _h_ref_is_null,
    int(Op.REF_FUNC): _h_ref_func,
}

_SIGN_EXT = {int(Op.I32_EXTEND8_S), int(Op.I32_EXTEND16_S), int(Op.I64_EXTEND8_S),
             int(Op.I64_EXTEND16_S), int(Op.I64_EXTEND32_S)}
_REF_TYPES_OPS = {int(Op.SELECT_T), int(Op.TABLE_GET), int(Op.TABLE_SET), int(Op.TABLE_SIZE),
                  int(Op.TABLE_GROW), int(Op.TABLE_FILL), int(Op.REF_NULL), int(Op.REF_IS_NULL),
                  int(Op.REF_FUNC)}
_FUNC_REF_OPS = {int(Op.REF_AS_NON_NULL), int(Op.BR_ON_NULL), int(Op.BR_ON_NON_NULL),
                 int(Op.CALL_REF), int(Op.RETURN_CALL_REF)}
_EXCEPTION_OPS = {int(Op.THROW), int(Op.THROW_REF), int(Op.TRY_TABLE)}


def _feature_of(info: OpInfo) -> str | None:
    """The Features flag an instruction belongs to (None for MVP instructions)."""
    code = info.code
    if info.prefix == PREFIX_SIMD:
        return "simd"
    if info.prefix == PREFIX_MISC:
        return "saturating_float_to_int" if info.sub < 8 else (
            "reference_types" if info.sub >= 15 else "bulk_memory")
    if code in _SIGN_EXT:
        return "sign_extension"
    if code in _REF_TYPES_OPS:
        return "reference_types"
    if code in _FUNC_REF_OPS:
        return "function_references"
    if code in _EXCEPTION_OPS:
        return "exceptions"
    return None


# The kinds of instructions _BodyValidator.run checks itself (its loop compares them as
# literals). An entry of _dispatch's table is (kind, ...):
_K_LOCAL_GET = 0        # ()
_K_PUSH = 1             # (t): [] -> [t]
_K_BINARY = 2           # (params, results, t1, t2, t): [t1 t2] -> [t]
_K_LOCAL_SET = 3        # (pops: True for local.set, False for local.tee)
_K_LOAD = 4             # (params, results, align, t1, t): [t1] -> [t] with a memarg
_K_BR_IF = 5            # (handler)
_K_END = 6              # (handler)
_K_BLOCK = 7            # (handler): block and loop
_K_STORE = 8            # (params, results, align, t1, t2): [t1 t2] -> [] with a memarg
_K_CALL = 9             # (handler)
_K_UNARY = 10           # (params, results, t1, t): [t1] -> [t]
_K_BR = 11              # (handler)
_K_DROP = 12            # ()
_K_SIMPLE = 13          # (params, results, align or -1, number of params): any fixed signature
_K_SPECIAL = 14         # (handler)

#: the control instructions run() has fast paths for, and their kinds
_CONTROL_KINDS = {_BR_IF: _K_BR_IF, _END: _K_END, _BLOCK: _K_BLOCK, _LOOP: _K_BLOCK,
                  _CALL: _K_CALL, _BR: _K_BR}


def _simple_entry(params: list, results: list, align: int, any64: bool) -> tuple:
    """The table entry of an instruction with a fixed signature (`align`: a load or store's
    natural alignment, or -1). With a 64-bit memory in the module, loads and stores take the
    general path (their address type depends on the memory)."""
    n = len(params)
    if align < 0:
        if n == 0 and len(results) == 1:
            return (_K_PUSH, results[0])
        if n == 2 and len(results) == 1:
            return (_K_BINARY, params, results, params[0], params[1], results[0])
        if n == 1 and len(results) == 1:
            return (_K_UNARY, params, results, params[0], results[0])
    elif not any64:
        if n == 1 and len(results) == 1:
            return (_K_LOAD, params, results, align, params[0], results[0])
        if n == 2 and not results:
            return (_K_STORE, params, results, align, params[0], params[1])
    return (_K_SIMPLE, params, results, align, n)


@functools.lru_cache(maxsize=16)
def _dispatch(features: Features, any64: bool) -> dict[int, tuple]:
    """The dispatch table of _BodyValidator.run for a feature set and whether the module has a
    64-bit memory: each opcode's (kind, ...), see the _K_* kinds. Instructions of a disabled
    proposal get a handler that raises; opcodes not in it are unknown."""
    table: dict[int, tuple] = {}
    for info in OPS:
        code = info.code
        feature = _feature_of(info)
        if feature is not None and not getattr(features, feature):
            table[code] = (_K_SPECIAL, _disabled_handler(feature))
        elif code == _LOCAL_GET:
            table[code] = (_K_LOCAL_GET,)
        elif code == _LOCAL_SET or code == _LOCAL_TEE:
            table[code] = (_K_LOCAL_SET, code == _LOCAL_SET)
        elif code == _DROP:
            table[code] = (_K_DROP,)
        elif code in _CONTROL_KINDS:
            table[code] = (_CONTROL_KINDS[code], _SPECIAL[code])
        elif code in _SPECIAL:
            table[code] = (_K_SPECIAL, _SPECIAL[code])
        elif info.imm is Imm.MEMARG:
            table[code] = _simple_entry(list(info.params), list(info.results),
                                        _natural_align(info), any64)
        elif info.imm is Imm.MEMARG_LANE:
            table[code] = (_K_SPECIAL, _memarg_lane_handler(info))
        elif info.imm is Imm.LANE:
            table[code] = (_K_SPECIAL, _lane_handler(info))
        elif info.imm is Imm.SHUFFLE:
            table[code] = (_K_SPECIAL, _shuffle_handler(info))
        elif info.params is not None and info.results is not None:
            table[code] = _simple_entry(list(info.params), list(info.results), -1, any64)
        # anything else is unknown to the validator and is rejected when met
    return table


# ---------------------------------------------------------------------------------------------
# Module-level rules.
# ---------------------------------------------------------------------------------------------

def _require(features: Features, name: str, offset: int | None, func: int | None) -> None:
    """features.require, with the function index added to the error."""
    if not getattr(features, name):
        try:
            features.require(name, offset)
        except FeatureDisabledError as e:
            raise FeatureDisabledError(e.reason, func=func, offset=offset) from None


def _check_valtype(t: object, features: Features, offset: int | None = None,
                   func: int | None = None, num_types: int | None = None) -> None:
    """A value type: its proposal enabled, a concrete heap type's index below `num_types`."""
    if isinstance(t, RefType):
        _require(features, "function_references", offset, func)
        if isinstance(t.heap, int):
            if num_types is not None and t.heap >= num_types:
                raise InvalidError(f"unknown type {t.heap}", func=func, offset=offset)
        elif t.heap.top is HeapType.EXN:
            _require(features, "exceptions", offset, func)
        return
    if not isinstance(t, ValType):
        raise InvalidError(f"malformed value type {t!r}", func=func, offset=offset)
    if t is V128:
        _require(features, "simd", offset, func)
    elif t is FUNCREF or t is EXTERNREF:
        _require(features, "reference_types", offset, func)
    elif t is EXNREF:
        _require(features, "exceptions", offset, func)


def _check_functype(ft: FuncType, features: Features, num_types: int | None = None) -> None:
    for t in ft.params:
        _check_valtype(t, features, num_types=num_types)
    for t in ft.results:
        _check_valtype(t, features, num_types=num_types)
    if len(ft.results) > 1 and not features.multi_value:
        features.require("multi_value")


def _check_limits(limits: Limits, bound: int, what: str) -> None:
    if limits.min > bound:
        raise InvalidError(f"{what} must be at most {_bound_text(bound, what)}")
    if limits.max is not None:
        if limits.max > bound:
            raise InvalidError(f"{what} must be at most {_bound_text(bound, what)}")
        if limits.min > limits.max:
            raise InvalidError(f"size minimum must not be greater than maximum "
                               f"({limits.min} > {limits.max})")


def _bound_text(bound: int, what: str) -> str:
    if what == "memory size":
        return "65536 pages (4GiB)" if bound == MAX_PAGES else "2**48 pages (2**64 bytes)"
    return f"{bound} elements"


def _check_table_type(tt: TableType, features: Features, num_types: int | None = None) -> None:
    if not isinstance(tt.element, (ValType, RefType)) or not tt.element.is_ref:
        raise InvalidError(f"malformed reference type {tt.element!r} in a table type")
    if isinstance(tt.element, RefType) or tt.element is EXNREF:
        _check_valtype(tt.element, features, num_types=num_types)
    if tt.element is EXTERNREF:
        features.require("reference_types")
    if tt.is_64:
        features.require("memory64")
    _check_limits(tt.limits, MAX_TABLE_SIZE_64 if tt.is_64 else MAX_TABLE_SIZE, "table size")


def _check_memory_type(mt: MemoryType, features: Features) -> None:
    if mt.is_64:
        features.require("memory64")
    if mt.shared:
        raise InvalidError("shared memories need the threads proposal, which is not supported")
    _check_limits(mt.limits, MAX_PAGES_64 if mt.is_64 else MAX_PAGES, "memory size")


def _check_global_type(gt: GlobalType, features: Features, num_types: int | None = None) -> None:
    _check_valtype(gt.content, features, num_types=num_types)


def _check_tag_type(module, type_index: int) -> None:
    """A tag's type: a function type (an exception's payload) without results."""
    _index_in(type_index, len(module.types), "type")
    if module.types[type_index].results:
        raise InvalidError("non-empty tag result type")

def _index_in(index: object, count: int, what: str, offset: int | None = None) -> None:
    if type(index) is not int or not 0 <= index < count:
        raise InvalidError(f"unknown {what} {index}", offset=offset)


def _validate_module_fields(ctx: _Context) -> None:
    module = ctx.module
    features = ctx.features

    ntypes = len(module.types)
    for i, ft in enumerate(module.types):
        # each type is a recursion group of its own (no GC `rec`): it names itself and
        # earlier types only
        _check_functype(ft, features, i + 1)

    # Imports.
    for imp in module.imports:
        if imp.kind == ExternKind.FUNC:
            _index_in(imp.desc, len(module.types), "type")
        elif imp.kind == ExternKind.TABLE:
            _check_table_type(imp.desc, features, ntypes)
        elif imp.kind == ExternKind.MEMORY:
            _check_memory_type(imp.desc, features)
        elif imp.kind == ExternKind.GLOBAL:
            _check_global_type(imp.desc, features, ntypes)
            if imp.desc.mutable:
                features.require("mutable_globals")
        elif imp.kind == ExternKind.TAG:
            _check_tag_type(module, imp.desc)
        else:  # pragma: no cover - the decoder only produces these kinds
            raise InvalidError(f"unknown import kind {imp.kind!r}")

    for type_index in module.funcs:
        _index_in(type_index, len(module.types), "type")
    ctx.funcs = module.func_types()
    for type_index in module.tags:
        _check_tag_type(module, type_index)
    ctx.tag_types = [module.types[i] for i in module.tag_type_indices()]

    typed = ctx.canon, (module.func_type_indices() if ctx.typed_refs else None)
    for i, tt in enumerate(module.tables):
        init = module.table_init(i)
        _check_table_type(tt, features, ntypes)
        if init is not None:
            validate_const_expr(init, tt.element, ctx.imported_globals, len(ctx.funcs), features,
                                init[0].offset if init else None, None, *typed)
        elif not defaultable(tt.element):
            raise InvalidError(f"type mismatch: a table of {tt.element} needs an initialiser")
    if len(ctx.tables) > 1:
        features.require("reference_types")
    for mt in module.mems:
        _check_memory_type(mt, features)
    if len(ctx.mems) > 1 and not features.multi_memory:
        raise InvalidError("multiple memories: at most one memory is allowed "
                           "(Config.wasm_multi_memory)")

    # Globals: initialisers see the imported globals (2.0), or every global before theirs
    # (extended constant expressions); segments see the imported ones (2.0), or all.
    num_funcs = len(ctx.funcs)
    const_globals = ctx.globals if features.extended_const else ctx.imported_globals
    imported = len(ctx.imported_globals)
    for i, g in enumerate(module.globals):
        _check_global_type(g.type, features, ntypes)
        start = g.init[0].offset if g.init else None
        validate_const_expr(g.init, g.type.content, const_globals, num_funcs, features,
                            start, imported + i if features.extended_const else None, *typed)

    # Element segments.
    for seg in module.elems:
        if not isinstance(seg.type, (ValType, RefType)) or not seg.type.is_ref:
            raise InvalidError(f"malformed reference type {seg.type!r} in an element segment")
        if seg.type is EXTERNREF:
            features.require("reference_types")
        elif isinstance(seg.type, RefType) or seg.type is EXNREF:
            _check_valtype(seg.type, features, num_types=ntypes)
        for item in seg.init:
            validate_const_expr(item, seg.type, const_globals, num_funcs, features,
                                item[0].offset if item else None, None, *typed)
        if seg.mode is SegmentMode.ACTIVE:
            _index_in(seg.table, len(ctx.tables), "table")
            if seg.offset is None:
                raise InvalidError("active element segment without an offset")
            validate_const_expr(seg.offset, ctx.tables[seg.table].address_type, const_globals,
                                num_funcs, features, seg.offset[0].offset if seg.offset else None)
            table_t = ctx.tables[seg.table].element
            if not ctx.canon.sub(seg.type, table_t):
                raise InvalidError(f"type mismatch: element segment of {seg.type} for a "
                                   f"{table_t} table")
        else:
            features.require("bulk_memory" if seg.mode is SegmentMode.PASSIVE
                             else "reference_types")

    # Data segments.
    if module.data_count is not None and module.data_count != len(module.datas):
        raise InvalidError("data count and data section have inconsistent lengths")
    for seg in module.datas:
        if seg.mode is SegmentMode.ACTIVE:
            _index_in(seg.memory, len(ctx.mems), "memory")
            if seg.offset is None:
                raise InvalidError("active data segment without an offset")
            validate_const_expr(seg.offset, I64 if ctx.mem64[seg.memory] else I32,
                                const_globals, num_funcs, features,
                                seg.offset[0].offset if seg.offset else None)
        elif seg.mode is SegmentMode.PASSIVE:
            features.require("bulk_memory")
        else:
            raise InvalidError("a data segment cannot be declarative")

    # Start function.
    if module.start is not None:
        _index_in(module.start, num_funcs, "function")
        ft = ctx.funcs[module.start]
        if ft.params or ft.results:
            raise InvalidError(f"start function must have type [] -> [], function "
                               f"{module.start} has type {ft}")

    # Exports.
    spaces = {ExternKind.FUNC: (num_funcs, "function"),
              ExternKind.TABLE: (len(ctx.tables), "table"),
              ExternKind.MEMORY: (len(ctx.mems), "memory"),
              ExternKind.GLOBAL: (len(ctx.globals), "global"),
              ExternKind.TAG: (len(module.tag_type_indices()), "tag")}
    names: set[str] = set()
    for exp in module.exports:
        if exp.kind not in spaces:  # pragma: no cover - the decoder only produces these kinds
            raise InvalidError(f"unknown export kind {exp.kind!r}")
        count, what = spaces[exp.kind]
        _index_in(exp.index, count, what)
        if exp.kind == ExternKind.GLOBAL and ctx.globals[exp.index].mutable:
            features.require("mutable_globals")
        if exp.name in names:
            raise InvalidError(f"duplicate export name {exp.name!r}")
        names.add(exp.name)

    # C.refs: functions referenced outside function bodies may be used by ref.func.
    refs = func_refs(g.init for g in module.globals)
    for seg in module.elems:
        refs |= func_refs(seg.init)
        if seg.offset is not None:
            refs |= func_refs([seg.offset])
    for seg in module.datas:
        if seg.offset is not None:
            refs |= func_refs([seg.offset])
    refs.update(exp.index for exp in module.exports if exp.kind == ExternKind.FUNC)
    ctx.refs = refs


def _local_types(ctx: _Context, func: int, ftype: FuncType,
                 body: FuncBody) -> Sequence[ValType]:
    features = ctx.features
    total = len(ftype.param_types)
    for count, t in body.locals:
        if type(count) is not int or count < 0:
            raise InvalidError(f"malformed local count {count!r}", func=func, offset=body.offset)
        total += count
        if total > MAX_LOCALS:
            raise InvalidError(f"too many locals: more than {MAX_LOCALS}", func=func,
                               offset=body.offset)
        if t is not I32 and t is not I64 and t is not F32 and t is not F64:
            _check_valtype(t, features, body.offset, func, len(ctx.types))
    if total <= _EXPAND_LOCALS or total <= 4 * len(body.body):
        out = list(ftype.param_types)
        for count, t in body.locals:
            out += [t] * count
        return out
    return _RunLengthLocals([(1, t) for t in ftype.param_types]
                            + [(c, t) for c, t in body.locals if c], total)


#: Locals are expanded into a plain list when there are at most this many (or not many more than
#: the body has instructions), so the work stays linear in the size of the module.
_EXPAND_LOCALS = 256


class _RunLengthLocals:
    """Local types of a function that declares far more locals than its body is long: looked up
    by binary search over the declaration runs instead of being expanded."""

    __slots__ = ("ends", "types", "total")

    def __init__(self, runs: list[tuple[int, ValType]], total: int) -> None:
        self.ends: list[int] = []
        self.types: list[ValType] = []
        end = 0
        for count, t in runs:
            end += count
            self.ends.append(end)
            self.types.append(t)
        self.total = total

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, index: int) -> ValType:
        if not 0 <= index < self.total:
            raise IndexError(index)
        return self.types[bisect.bisect_right(self.ends, index)]


def _validate_code(ctx: _Context, functions: Iterable[int] | None = None) -> None:
    module = ctx.module
    if len(module.codes) != len(module.funcs):
        raise InvalidError("function and code section have inconsistent lengths")
    table = _dispatch(ctx.features, any(ctx.mem64))
    base = module.num_imported_funcs
    ctx.call_sigs = [(list(ft.param_types), list(ft.result_types)) for ft in ctx.funcs]
    for i in range(len(module.codes)) if functions is None else functions:
        body = module.codes[i]
        func = base + i
        ftype = ctx.funcs[func]
        local_types = _local_types(ctx, func, ftype, body)
        instrs = body.body
        if not instrs:
            raise InvalidError("function body is missing its final end", func=func,
                               offset=body.offset)
        _BodyValidator(ctx, func, ftype, local_types, body.locals).run(instrs, table)


def validate(module: WasmModule, features: Features,
             functions: Iterable[int] | None = None) -> None:
    """Check every validation rule of WebAssembly 2.0 (restricted to `features`); of the
    function bodies only those at `functions` (positions in the code section: any iterable,
    read as validation goes) if given, so that processes can share the bodies of a large
    module (engine.compile.parallel, whose processes claim them one at a time).

    Raises InvalidError for the first rule broken (FeatureDisabledError when the module uses a
    proposal that `features` switches off). Returns None for a valid module."""
    try:
        ctx = _Context(module, features)
        _validate_module_fields(ctx)
        _validate_code(ctx, functions)
    except WasmError:
        raise
    except (TypeError, ValueError, AttributeError, IndexError, KeyError) as e:
        # Only reachable for a WasmModule built by hand with wrongly shaped fields.
        raise InvalidError(f"malformed module structure: {type(e).__name__}: {e}") from None
