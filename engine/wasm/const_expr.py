"""Validation of constant expressions (global initialisers, segment offsets and element items),
and the function references they declare: WebAssembly 2.0's, and with extended constant
expressions (3.0) i32/i64 add, sub and mul and global.get of any earlier immutable global."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..config import Features
from ..errors import InvalidError
from .module import Expr
from .opcodes import Op
from .subtyping import Canon
from .types import GlobalType, RefType, ValType, ValueType, ref_type

_I32_CONST = int(Op.I32_CONST)
_I64_CONST = int(Op.I64_CONST)
_F32_CONST = int(Op.F32_CONST)
_F64_CONST = int(Op.F64_CONST)
_REF_NULL = int(Op.REF_NULL)
_REF_FUNC = int(Op.REF_FUNC)
_GLOBAL_GET = int(Op.GLOBAL_GET)
_END = int(Op.END)
#: v128.const (0xFD 12); absent from Op while the SIMD table is not loaded, so spelled out here.
_V128_CONST = 0xFD << 24 | 12

_CONST_TYPES = {_I32_CONST: ValType.I32, _I64_CONST: ValType.I64,
                _F32_CONST: ValType.F32, _F64_CONST: ValType.F64}

#: The extended constant expressions' arithmetic: opcode -> its operand (and result) type.
_EXTENDED = {int(Op.I32_ADD): ValType.I32, int(Op.I32_SUB): ValType.I32,
             int(Op.I32_MUL): ValType.I32, int(Op.I64_ADD): ValType.I64,
             int(Op.I64_SUB): ValType.I64, int(Op.I64_MUL): ValType.I64}


def validate_const_expr(expr: Expr, expected: ValueType, globals_: Sequence[GlobalType],
                        num_funcs: int, features: Features, start: int | None = None,
                        visible: int | None = None, canon: Canon | None = None,
                        func_types: Sequence[int] | None = None) -> None:
    """Check that `expr` is a constant expression producing exactly one `expected` value.

    The first `visible` globals of `globals_` (all if None) are the ones a constant expression
    may read: in WebAssembly 2.0 the imported globals, with extended constant expressions the
    globals before the one being initialised (all of them for segments). `start` is a byte
    offset to report for an empty expression. Raises InvalidError ("constant expression
    required", "type mismatch", "unknown global N", ...)."""
    visible = len(globals_) if visible is None else visible
    stack: list[ValType] = []
    offset = start
    ended = False
    for ins in expr:
        op = ins.op
        offset = ins.offset
        if ended:
            raise InvalidError("constant expression required: instructions after end", offset=offset)
        t = _CONST_TYPES.get(op)
        if t is not None:
            stack.append(t)
        elif op == _END:
            ended = True
        elif op == _GLOBAL_GET:
            index = ins.imm
            if not isinstance(index, int) or not 0 <= index < visible:
                raise InvalidError(f"unknown global {index}", offset=offset)
            gt = globals_[index]
            if gt.mutable:
                raise InvalidError("constant expression required: global.get of a mutable global",
                                   offset=offset)
            stack.append(gt.content)
        elif op == _REF_NULL:
            features.require("reference_types", offset)
            if not isinstance(ins.imm, (ValType, RefType)) or not ins.imm.is_ref:
                raise InvalidError("type mismatch: ref.null needs a reference type", offset=offset)
            stack.append(ins.imm)
        elif op == _REF_FUNC:
            index = ins.imm
            if not isinstance(index, int) or not 0 <= index < num_funcs:
                raise InvalidError(f"unknown function {index}", offset=offset)
            stack.append(ValType.FUNCREF if func_types is None
                         else ref_type(False, func_types[index]))
        elif op in _EXTENDED and features.extended_const:
            t = _EXTENDED[op]
            if len(stack) < 2 or stack[-1] is not t or stack[-2] is not t:
                raise InvalidError(f"type mismatch: {t} operands expected", offset=offset)
            stack.pop()
        elif op == _V128_CONST:
            features.require("simd", offset)
            stack.append(ValType.V128)
        else:
            raise InvalidError("constant expression required", offset=offset)
    if not ended:
        raise InvalidError("constant expression required: missing end", offset=offset)
    if len(stack) != 1 or not (stack[0] is expected
                               or canon is not None and canon.sub(stack[0], expected)):
        got = " ".join(map(str, stack)) or "nothing"
        raise InvalidError(f"type mismatch: constant expression produces [{got}], expected "
                           f"[{expected}]", offset=offset)


def func_refs(exprs: Iterable[Expr]) -> set[int]:
    """The function indices that `ref.func` names in the given constant expressions."""
    refs: set[int] = set()
    for expr in exprs:
        for ins in expr:
            if ins.op == _REF_FUNC and isinstance(ins.imm, int):
                refs.add(ins.imm)
    return refs
