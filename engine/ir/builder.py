"""The wasm-to-SSA builder: one validated wasm function in, one IR Function out, in one pass.

Locals become SSA values with the on-the-fly construction of Braun et al. ("Simple and Efficient
Construction of Static Single Assignment Form", CC 2013), adapted to block parameters: a block
gets a parameter for a local only where a read reaches a merge point (or an unsealed loop
header), and a parameter whose incoming arguments are all one value (or itself) is removed at
once, recursively for the parameters that used it. Reads and parameter filling use explicit
work lists, so long chains of blocks never hit Python's recursion limit.

Structured control flow maps to blocks: ``block`` needs no new IR block (its end label is created
when the first branch targets it), ``loop`` gets a header block (sealed at its ``end``), ``if``
gets a then block and an else block (or branches straight to the end when there is no ``else``).
Branches to the function's outermost label become ``return``. Code after ``br``, ``br_table``,
``return`` and ``unreachable`` is skipped up to the end of its construct (stack-polymorphic code
is never translated).

Traps are explicit (see ir.Opcode): the builder emits the division-by-zero, signed-overflow and
float-to-int range checks, and a ``heap_check`` before every load and store.

Constant expressions (global initialisers, segment offsets) are left to the runtime; they are
not translated to IR.
"""

from __future__ import annotations

import struct

from ..errors import TrapCode, UnsupportedError
from ..wasm.module import FuncBody, WasmModule
from ..wasm.opcodes import INFO, PREFIX_SIMD, CatchKind, Op
from ..wasm.types import FuncType, RefType, ValType, buffer_offsets
from ..wasm.validator import block_signature
from .errors import IRError
from . import addr64
from .gcpause import gc_paused
from .osr import SELECTOR_TYPE, osr_body
from .ir import (EXNREF, F32, F64, I32, I64, Block, BlockCall, CallIndirectImm, CopyImm,
                 FieldImm, FloatCC, Function, HeapImm, Inst, IntCC, MemImm, Opcode, SegmentImm)
from .simd_builder import translate as simd_translate

O = Opcode
_M32 = 0xFFFF_FFFF
_M64 = 0xFFFF_FFFF_FFFF_FFFF


def _f32_bits(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def _f64_bits(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


# -- the plain one-to-one instructions: wasm op -> (IR opcode, operand count, result type, imm) ---

def _simple_table() -> dict[int, tuple[Opcode, int, ValType, object]]:
    t: dict[int, tuple[Opcode, int, ValType, object]] = {}
    ty = {"i32": I32, "i64": I64, "f32": F32, "f64": F64}
    int_bin = {"add": O.IADD, "sub": O.ISUB, "mul": O.IMUL, "and": O.BAND, "or": O.BOR,
               "xor": O.BXOR, "shl": O.ISHL, "shr_s": O.SSHR, "shr_u": O.USHR, "rotl": O.ROTL,
               "rotr": O.ROTR}
    int_un = {"clz": O.CLZ, "ctz": O.CTZ, "popcnt": O.POPCNT, "extend8_s": O.SEXT8,
              "extend16_s": O.SEXT16, "extend32_s": O.SEXT32}
    icmp = {"eq": IntCC.EQ, "ne": IntCC.NE, "lt_s": IntCC.SLT, "lt_u": IntCC.ULT,
            "gt_s": IntCC.SGT, "gt_u": IntCC.UGT, "le_s": IntCC.SLE, "le_u": IntCC.ULE,
            "ge_s": IntCC.SGE, "ge_u": IntCC.UGE}
    fl_bin = {"add": O.FADD, "sub": O.FSUB, "mul": O.FMUL, "div": O.FDIV, "min": O.FMIN,
              "max": O.FMAX, "copysign": O.FCOPYSIGN}
    fl_un = {"abs": O.FABS, "neg": O.FNEG, "sqrt": O.FSQRT, "ceil": O.FCEIL, "floor": O.FFLOOR,
             "trunc": O.FTRUNC, "nearest": O.FNEAREST}
    fcmp = {"eq": FloatCC.EQ, "ne": FloatCC.NE, "lt": FloatCC.LT, "gt": FloatCC.GT,
            "le": FloatCC.LE, "ge": FloatCC.GE}
    conv = {"i32.wrap_i64": O.IREDUCE, "i64.extend_i32_s": O.SEXTEND,
            "i64.extend_i32_u": O.UEXTEND, "f32.demote_f64": O.FDEMOTE,
            "f64.promote_f32": O.FPROMOTE}
    for code, info in INFO.items():
        name = info.name
        if "." not in name or code >> 24 == PREFIX_SIMD:
            continue
        prefix, _, op = name.partition(".")
        if prefix not in ty:
            continue
        rt = ty[prefix]
        if prefix in ("i32", "i64"):
            if op in int_bin:
                t[code] = (int_bin[op], 2, rt, None)
            elif op in int_un:
                t[code] = (int_un[op], 1, rt, None)
            elif op in icmp:
                t[code] = (O.ICMP, 2, I32, icmp[op])
            elif op == "eqz":
                t[code] = (O.EQZ, 1, I32, None)
            elif op.startswith("trunc_sat_f"):
                t[code] = (O.FCVT_TO_SINT_SAT if op.endswith("_s") else O.FCVT_TO_UINT_SAT, 1,
                           rt, None)
            elif op.startswith("reinterpret_"):
                t[code] = (O.BITCAST, 1, rt, None)
        else:
            if op in fl_bin:
                t[code] = (fl_bin[op], 2, rt, None)
            elif op in fl_un:
                t[code] = (fl_un[op], 1, rt, None)
            elif op in fcmp:
                t[code] = (O.FCMP, 2, I32, fcmp[op])
            elif op.startswith("convert_i"):
                t[code] = (O.FCVT_FROM_SINT if op.endswith("_s") else O.FCVT_FROM_UINT, 1, rt,
                           None)
            elif op.startswith("reinterpret_"):
                t[code] = (O.BITCAST, 1, rt, None)
        if name in conv:
            t[code] = (conv[name], 1, rt, None)
    # results of comparisons are i32 even for i64/f32/f64 operands (set above)
    return t


SIMPLE = _simple_table()

#: trapping float -> int truncations: wasm op -> (IR op, result type, source type, signed)
_TRUNC = {
    Op.I32_TRUNC_F32_S: (I32, F32, True), Op.I32_TRUNC_F32_U: (I32, F32, False),
    Op.I32_TRUNC_F64_S: (I32, F64, True), Op.I32_TRUNC_F64_U: (I32, F64, False),
    Op.I64_TRUNC_F32_S: (I64, F32, True), Op.I64_TRUNC_F32_U: (I64, F32, False),
    Op.I64_TRUNC_F64_S: (I64, F64, True), Op.I64_TRUNC_F64_U: (I64, F64, False),
}


def trunc_bounds(rt: ValType, st: ValType, signed: bool) -> tuple[FloatCC, int, int]:
    """(condition for the lower bound, lower bound bits, upper bound bits): the truncation of x
    fits the result iff ``x <cond> lower and x < upper`` (NaN excluded before)."""
    n = 32 if rt is I32 else 64
    bits = _f32_bits if st is F32 else _f64_bits
    if signed:
        upper = float(2 ** (n - 1))
        low = -float(2 ** (n - 1)) - 1.0
        # -2**(n-1) - 1 is exact only in f64 for n = 32; otherwise compare >= -2**(n-1)
        if st is F64 and n == 32:
            return FloatCC.GT, bits(low), bits(upper)
        return FloatCC.GE, bits(-float(2 ** (n - 1))), bits(upper)
    return FloatCC.GT, bits(-1.0), bits(float(2 ** n))


_TRUNC_SPECS = {op: (rt, st, signed, *trunc_bounds(rt, st, signed))
                for op, (rt, st, signed) in _TRUNC.items()}

#: loads and stores: wasm op -> (IR op, value type, access size)
_LOADS = {
    Op.I32_LOAD: (O.LOAD, I32, 4), Op.I64_LOAD: (O.LOAD, I64, 8),
    Op.F32_LOAD: (O.LOAD, F32, 4), Op.F64_LOAD: (O.LOAD, F64, 8),
    Op.I32_LOAD8_S: (O.SLOAD8, I32, 1), Op.I32_LOAD8_U: (O.ULOAD8, I32, 1),
    Op.I32_LOAD16_S: (O.SLOAD16, I32, 2), Op.I32_LOAD16_U: (O.ULOAD16, I32, 2),
    Op.I64_LOAD8_S: (O.SLOAD8, I64, 1), Op.I64_LOAD8_U: (O.ULOAD8, I64, 1),
    Op.I64_LOAD16_S: (O.SLOAD16, I64, 2), Op.I64_LOAD16_U: (O.ULOAD16, I64, 2),
    Op.I64_LOAD32_S: (O.SLOAD32, I64, 4), Op.I64_LOAD32_U: (O.ULOAD32, I64, 4),
}
_STORES = {
    Op.I32_STORE: (O.STORE, 4), Op.I64_STORE: (O.STORE, 8),
    Op.F32_STORE: (O.STORE, 4), Op.F64_STORE: (O.STORE, 8),
    Op.I32_STORE8: (O.ISTORE8, 1), Op.I32_STORE16: (O.ISTORE16, 2),
    Op.I64_STORE8: (O.ISTORE8, 1), Op.I64_STORE16: (O.ISTORE16, 2),
    Op.I64_STORE32: (O.ISTORE32, 4),
}

_ZERO = {I32: (O.ICONST, 0), I64: (O.ICONST, 0), F32: (O.FCONST, 0), F64: (O.FCONST, 0),
         ValType.FUNCREF: (O.REF_NULL, None), ValType.EXTERNREF: (O.REF_NULL, None),
         EXNREF: (O.REF_NULL, None), ValType.V128: (O.V128_CONST, 0)}

# wasm opcode numbers the main loop compares with, as plain ints (comparing an int with an
# IntEnum member looks the member up on the class every time)
_W_BLOCK = int(Op.BLOCK)
_W_BR = int(Op.BR)
_W_BR_IF = int(Op.BR_IF)
_W_BR_TABLE = int(Op.BR_TABLE)
_W_DROP = int(Op.DROP)
_W_ELSE = int(Op.ELSE)
_W_END = int(Op.END)
_W_F32_CONST = int(Op.F32_CONST)
_W_F64_CONST = int(Op.F64_CONST)
_W_I32_CONST = int(Op.I32_CONST)
_W_I64_CONST = int(Op.I64_CONST)
_W_IF = int(Op.IF)
_W_LOCAL_GET = int(Op.LOCAL_GET)
_W_LOCAL_SET = int(Op.LOCAL_SET)
_W_LOCAL_TEE = int(Op.LOCAL_TEE)
_W_LOOP = int(Op.LOOP)
_W_NOP = int(Op.NOP)
_W_RETURN = int(Op.RETURN)
_W_SELECT = int(Op.SELECT)
_W_SELECT_T = int(Op.SELECT_T)
_W_UNREACHABLE = int(Op.UNREACHABLE)
_W_THROW = int(Op.THROW)
_W_THROW_REF = int(Op.THROW_REF)
_W_TRY_TABLE = int(Op.TRY_TABLE)
_CATCH, _CATCH_REF = CatchKind.CATCH, CatchKind.CATCH_REF
_CATCH_ALL, _CATCH_ALL_REF = CatchKind.CATCH_ALL, CatchKind.CATCH_ALL_REF

# control-frame kinds
_FUNC, _BLOCK, _LOOP, _IF = range(4)

# Fuel, as wasmtime charges it: every operator costs 1 except these, which generate no work
# of their own; each function entry costs 1 more.
_FUEL_FREE = frozenset({_W_NOP, _W_DROP, _W_BLOCK, _W_LOOP, _W_UNREACHABLE, _W_RETURN, _W_ELSE,
                        _W_END})
# Operators before which the cost counted since the last one is added to the function's hidden
# fuel local (the units used since the store's fuel was last charged): every control transfer
# and call, so the local is exact at every check, call and exit.
_W_RETURN_CALL = int(Op.RETURN_CALL)
_W_RETURN_CALL_INDIRECT = int(Op.RETURN_CALL_INDIRECT)
_W_RETURN_CALL_REF = int(Op.RETURN_CALL_REF)
_W_BR_ON_NULL = int(Op.BR_ON_NULL)
_W_BR_ON_NON_NULL = int(Op.BR_ON_NON_NULL)
_FUEL_CALLS = frozenset({int(Op.CALL), int(Op.CALL_INDIRECT), int(Op.CALL_REF), _W_RETURN_CALL,
                         _W_RETURN_CALL_INDIRECT, _W_RETURN_CALL_REF})
_FUEL_COUNT_BEFORE = frozenset({_W_LOOP, _W_IF, _W_ELSE, _W_END, _W_BR, _W_BR_IF, _W_BR_TABLE,
                                _W_BR_ON_NULL, _W_BR_ON_NON_NULL, _W_RETURN, _W_UNREACHABLE,
                                *_FUEL_CALLS})


class _Frame:
    """A wasm control frame while building."""

    __slots__ = ("kind", "height", "params", "results", "label", "else_block", "param_values",
                 "dead", "has_else", "handlers", "dispatch")

    def __init__(self, kind: int, height: int, params: tuple, results: tuple,
                 dead: bool = False) -> None:
        self.kind = kind
        self.height = height          # operand stack height below the frame's params
        self.params = params
        self.results = results
        self.label: int | None = None     # IR block branches go to (loop header / end block)
        self.else_block: int | None = None
        self.param_values: list[int] = []
        self.dead = dead              # the whole construct is unreachable: skip it
        self.has_else = False
        #: try_table: its catch clauses with the frame each one branches to
        self.handlers: list[tuple[object, _Frame]] | None = None
        #: try_table: the block (param: the exception) its protected instructions land in
        self.dispatch: int | None = None


class _Builder:
    def __init__(self, module: WasmModule, func_index: int, fuel: bool = False,
                 osr_loops: tuple[int, ...] | None = None) -> None:
        n_imported = module.num_imported_funcs
        if not n_imported <= func_index < n_imported + len(module.funcs):
            raise IRError(f"function {func_index} is not a defined function of the module")
        self.module = module
        #: the module's types as the IR sees them (reference types as funcref/externref)
        self.types = module.top_types()
        self.n_imported = n_imported
        # the module's index spaces, made on first need (each costs a pass over the module)
        self._func_types: list[FuncType] | None = None
        self._global_types: list | None = None
        #: indices of the 64-bit memories and tables (memory64; see addr64)
        self.mem64 = frozenset(i for i, mt in enumerate(module.memory_types()) if mt.is_64)
        self.table64 = frozenset(i for i, tt in enumerate(module.table_types()) if tt.is_64)
        #: i64 address -> (block id, its narrowed i32): an address narrowed (and its high bits
        #: checked) earlier in the same block is reused, so heap-check elimination sees one value
        self.narrowed: dict[int, tuple[int, int]] = {}
        ftype: FuncType = self.types[module.funcs[func_index - n_imported]]
        self.body: FuncBody = module.codes[func_index - n_imported]
        declared = self.body.local_types()
        if any(type(t) is RefType for _, t in self.body.locals):
            declared = [t.top for t in declared]
        if osr_loops is not None:   # the entry at those loops: every local is a parameter
            ftype, self.body, declared = self._osr_entry(ftype, declared, osr_loops,
                                                         func_index)
        self.local_types = list(ftype.params) + declared
        self.func = Function(module.func_name(func_index), list(ftype.params),
                             list(ftype.results), index=func_index)
        #: exception handling: the function has a try_table with a catch clause, so its
        #: throwing instructions are protected (Function.catches); the try_tables open now,
        #: innermost last; the block that unwinds an exception no handler here catches
        self.catches = self.func.catches = any(
            ins.op == _W_TRY_TABLE and ins.imm.catches for ins in self.body.body)
        self.tries: list[_Frame] = []
        self.unwind_block: int | None = None
        self._tag_types: list[int] | None = None
        self.ftype = ftype
        # Braun et al. state, per IR block id
        self.defs: list[dict[int, int]] = []
        self.preds: list[list[tuple[int, BlockCall]]] = []
        self.sealed: list[bool] = []
        self.incomplete: list[list[tuple[int, int]]] = []
        self.n_wasm_params: list[int] = []
        self.param_block: dict[int, int] = {}       # builder-created parameter -> its block
        self.users: dict[int, list[int]] = {}        # parameter -> parameters it is an argument of
        self.alias: dict[int, int] = {}              # removed parameter -> replacement
        self.filling: set[int] = set()
        self.order: list[int] = []                   # blocks in the order they were entered
        self.prelude: list[Inst] = []                # zero constants for declared locals
        self.zeros: dict[ValType, int] = {}
        entry = self.new_block(())
        self.sealed[0] = True
        entry.params = [self.func.new_value(t) for t in ftype.params]
        for i, v in enumerate(entry.params):
            self.defs[0][i] = v
        self.cur: Block | None = entry
        self.order.append(0)
        #: fuel accounting (Config.consume_fuel), as wasmtime keeps it: the store's fuel is
        #: charged only before calls, returns and unreachable (so a trap or a host function
        #: sees what wasmtime shows); in between, the units used live in a hidden i64 local
        #: (index fuel_var), which checks subtract first. fuel_pending: operators' cost not yet
        #: added to it.
        self.fuel = fuel
        self.fuel_pending = 0
        if fuel:    # function entry: 1 unit, then out of fuel if none is left
            self.fuel_var = len(self.local_types)
            self.local_types.append(I64)
            self.defs[0][self.fuel_var] = used = self.iconst(I64, 1)
            self.emit(O.FUEL_CHECK, [used], None)

    def _osr_entry(self, ftype: FuncType, declared: list, loops: tuple[int, ...],
                   func_index: int) -> tuple[FuncType, FuncBody, list]:
        """(type, body, declared locals) of the on-stack replacement entry at the loops at
        body positions `loops` (engine.ir.osr: every local, then the selector, parameters)."""
        locals_ = [*ftype.param_types, *declared]
        entry = osr_body(self.body.body, loops, len(locals_), self.module.types)
        if entry is None:
            raise IRError(f"no on-stack replacement entry at positions {list(loops)} of "
                          f"function {func_index}: block parameters around the loops")
        return (FuncType([*locals_, SELECTOR_TYPE], ftype.result_types),
                FuncBody(((1, SELECTOR_TYPE),), entry.body, self.body.offset,
                         self.body.start), [SELECTOR_TYPE])

    def func_type(self, index: int) -> FuncType:
        """The type of function `index` (function index space)."""
        if index >= self.n_imported:
            return self.types[self.module.funcs[index - self.n_imported]]
        if self._func_types is None:
            self._func_types = [self.types[i] for i in self.module.func_type_indices()]
        return self._func_types[index]

    # -- blocks and edges -----------------------------------------------------------------------

    def new_block(self, param_types: tuple | list) -> Block:
        b = self.func.new_block()
        self.defs.append({})
        self.preds.append([])
        self.sealed.append(False)
        self.incomplete.append([])
        self.n_wasm_params.append(len(param_types))
        new_value = self.func.new_value
        b.params = [new_value(t) for t in param_types]
        for p in b.params:
            self.param_block[p] = b.id
        return b

    def enter(self, block_id: int) -> Block:
        self.cur = self.func.blocks[block_id]
        self.order.append(block_id)
        return self.cur

    def edge(self, src: int, target: int, args: list[int]) -> BlockCall:
        bc = BlockCall(target, args)
        self.preds[target].append((src, bc))
        if args:
            params = self.func.blocks[target].params
            param_block = self.param_block
            for i, a in enumerate(args):
                if a in param_block:
                    self.users.setdefault(a, []).append(params[i])
        return bc

    def seal(self, block_id: int) -> None:
        self.sealed[block_id] = True
        for var, p in self.incomplete[block_id]:
            self.fill(var, block_id, p)
        self.incomplete[block_id] = []
        block = self.func.blocks[block_id]
        for p in list(block.params[:self.n_wasm_params[block_id]]):
            self.try_remove_trivial(p)

    def resolve(self, v: int) -> int:
        alias = self.alias
        if v not in alias:
            return v
        root = v
        while root in alias:
            root = alias[root]
        while v in alias and alias[v] != root:
            alias[v], v = root, alias[v]
        return root

    # -- variables (Braun et al.) ---------------------------------------------------------------

    def read_local(self, var: int) -> int:
        b = self.cur.id  # type: ignore[union-attr]
        d = self.defs[b].get(var)
        if d is not None:
            return self.resolve(d) if d in self.alias else d
        return self.read_slow(var, b)

    def read_slow(self, var: int, block: int) -> int:
        """Read `var` at the end of `block` with explicit work lists (no Python recursion)."""
        results: list[int] = []
        work: list[tuple[int, int, int, int]] = [(0, block, 0, 0)]   # (kind, block, param, i)
        defs, sealed, preds = self.defs, self.sealed, self.preds
        while work:
            kind, b, p, i = work.pop()
            if kind == 0:   # read var at the end of block b
                path = []
                pending = False
                while True:
                    d = defs[b].get(var)
                    if d is not None:
                        val = self.resolve(d)
                        break
                    if not sealed[b]:
                        val = self.add_param(b, var)
                        self.incomplete[b].append((var, val))
                        defs[b][var] = val
                        break
                    ps = preds[b]
                    if len(ps) == 1:
                        path.append(b)
                        b = ps[0][0]
                        continue
                    if not ps:
                        if b != 0:
                            raise IRError(f"internal: read of local {var} in block{b}, "
                                          "which has no predecessors")
                        val = self.zero(self.local_types[var])
                        defs[0][var] = val
                        break
                    val = self.add_param(b, var)
                    defs[b][var] = val
                    self.filling.add(val)
                    work.append((1, b, val, 0))
                    pending = True
                    break
                for x in path:
                    defs[x][var] = val
                if not pending:
                    results.append(val)
            else:           # fill parameter p of block b: edge i's argument is on `results`
                ps = preds[b]
                if i > 0:
                    a = results.pop()
                    ps[i - 1][1].args.append(a)
                    if a in self.param_block:
                        self.users.setdefault(a, []).append(p)
                if i < len(ps):
                    work.append((1, b, p, i + 1))
                    work.append((0, ps[i][0], 0, 0))
                else:
                    self.filling.discard(p)
                    self.try_remove_trivial(p)
                    results.append(self.resolve(p))
        return results.pop()

    def fill(self, var: int, block: int, p: int) -> None:
        """Give the incomplete parameter p of a now sealed block its argument on every edge."""
        self.filling.add(p)
        ps = self.preds[block]
        for src, bc in ps:
            d = self.defs[src].get(var)
            a = self.resolve(d) if d is not None else self.read_slow(var, src)
            bc.args.append(a)
            if a in self.param_block:
                self.users.setdefault(a, []).append(p)
        self.filling.discard(p)
        self.try_remove_trivial(p)

    def add_param(self, block: int, var: int) -> int:
        v = self.func.new_value(self.local_types[var])
        self.func.blocks[block].params.append(v)
        self.param_block[v] = block
        return v

    def try_remove_trivial(self, q0: int) -> None:
        work = [q0]
        alias, sealed, filling, resolve = self.alias, self.sealed, self.filling, self.resolve
        while work:
            q = work.pop()
            if q in alias or q in filling:
                continue
            b = self.param_block[q]
            if not sealed[b]:
                continue
            block = self.func.blocks[b]
            try:
                idx = block.params.index(q)
            except ValueError:
                continue
            ps = self.preds[b]
            same = -1
            trivial = True
            for _, bc in ps:
                if idx >= len(bc.args):
                    trivial = False     # this edge has not received its argument yet
                    break
                a = resolve(bc.args[idx])
                if a == q or a == same:
                    continue
                if same != -1:
                    trivial = False
                    break
                same = a
            if not trivial or same == -1:
                continue
            alias[q] = same
            del block.params[idx]
            if idx < self.n_wasm_params[b]:
                self.n_wasm_params[b] -= 1
            for _, bc in ps:
                del bc.args[idx]
            us = self.users.pop(q, None)
            if us:
                if same in self.param_block:
                    self.users.setdefault(same, []).extend(us)
                work.extend(us)

    def zero(self, t: ValType) -> int:
        v = self.zeros.get(t)
        if v is None:
            if t not in _ZERO:
                raise UnsupportedError(f"{t} locals in the IR builder (function {self.func.index})")
            op, imm = _ZERO[t]
            v = self.func.new_value(t)
            self.prelude.append(Inst(op, [], [v], imm))
            self.zeros[t] = v
        return v

    # -- emission helpers -----------------------------------------------------------------------

    def emit(self, op: Opcode, args: list[int], rtype: ValType | None, imm: object = None) -> int:
        if rtype is None:
            self.cur.insts.append(Inst(op, args, [], imm))  # type: ignore[union-attr]
            return -1
        v = self.func.new_value(rtype)
        self.cur.insts.append(Inst(op, args, [v], imm))  # type: ignore[union-attr]
        return v

    def iconst(self, t: ValType, value: int) -> int:
        return self.emit(O.ICONST, [], t, value & (_M32 if t is I32 else _M64))

    def terminate(self, inst: Inst) -> None:
        if self.fuel and (inst.opcode is O.RETURN or inst.opcode is O.TRAP):
            self.fuel_charge()          # wasmtime stores its count before return / unreachable
        self.cur.insts.append(inst)  # type: ignore[union-attr]
        self.cur = None

    # -- fuel -----------------------------------------------------------------------------------

    def fuel_used(self) -> int:
        """The hidden fuel local's value in the current block."""
        d = self.defs[self.cur.id].get(self.fuel_var)  # type: ignore[union-attr]
        if d is None:
            return self.read_slow(self.fuel_var, self.cur.id)  # type: ignore[union-attr]
        return self.resolve(d) if d in self.alias else d

    def fuel_count(self) -> None:
        """Add the operators counted since the last time to the hidden fuel local."""
        v = self.emit(O.IADD, [self.fuel_used(), self.iconst(I64, self.fuel_pending)], I64)
        self.defs[self.cur.id][self.fuel_var] = v  # type: ignore[union-attr]
        self.fuel_pending = 0

    def fuel_charge(self) -> None:
        """Charge the store the units the hidden local holds, which starts again from 0."""
        self.emit(O.FUEL, [self.fuel_used()], None)
        self.defs[self.cur.id][self.fuel_var] = self.iconst(I64, 0)  # type: ignore[union-attr]

    def label_target(self, frame: _Frame, args: list[int]) -> BlockCall | None:
        """The edge from the current block to a frame's label (None for the function label)."""
        if frame.kind == _FUNC:
            return None
        if frame.label is None:
            frame.label = self.new_block(frame.results).id
        return self.edge(self.cur.id, frame.label, args)  # type: ignore[union-attr]

    def label_arity(self, frame: _Frame) -> int:
        return len(frame.params) if frame.kind == _LOOP else len(frame.results)

    def return_block(self, values: list[int]) -> BlockCall:
        """A new block that returns `values` (for conditional branches to the function label)."""
        b = self.new_block(())
        self.sealed[b.id] = True
        bc = self.edge(self.cur.id, b.id, [])  # type: ignore[union-attr]
        if self.fuel:   # b's one predecessor is this block: its fuel local reaches b as it is
            b.insts.append(Inst(O.FUEL, [self.fuel_used()]))
        b.insts.append(Inst(O.RETURN, list(values)))
        self.order.append(b.id)
        return bc

    # -- the main loop --------------------------------------------------------------------------

    def build(self) -> Function:
        body = self.body.body
        has_else: dict[int, bool] | None = None     # scanned at the first `if`
        stack: list[int] = []
        frames = [_Frame(_FUNC, 0, (), tuple(self.ftype.results))]
        simple = SIMPLE
        types = self.types
        value_types = self.func.value_types
        fuel = self.fuel
        for pos, ins in enumerate(body):
            op = ins.op
            if fuel and self.cur is not None:
                if op not in _FUEL_FREE:
                    self.fuel_pending += 1
                if op in _FUEL_COUNT_BEFORE and self.fuel_pending:
                    self.fuel_count()
                if op in _FUEL_CALLS:
                    self.fuel_charge()
            if self.cur is None:
                # unreachable code: only structure matters
                if op == _W_BLOCK or op == _W_LOOP or op == _W_IF or op == _W_TRY_TABLE:
                    frames.append(_Frame(_BLOCK, len(stack), (), (), dead=True))
                elif op == _W_ELSE:
                    f = frames[-1]
                    if not f.dead:
                        self.start_else(f, stack)
                elif op == _W_END:
                    f = frames.pop()
                    if not f.dead:
                        if f.handlers is not None:
                            self.end_try(f)
                        self.end_frame(f, stack, frames)
                continue
            spec = simple.get(op)
            if spec is not None:
                irop, nargs, rt, imm = spec
                if nargs == 2:
                    b = stack.pop()
                    args = [stack.pop(), b]
                else:
                    args = [stack.pop()]
                value_types.append(rt)          # Function.new_value, inlined
                v = len(value_types) - 1
                self.cur.insts.append(Inst(irop, args, [v], imm))
                stack.append(v)
                continue
            if op == _W_LOCAL_GET:
                # read_local, inlined: most reads find the local defined in this block
                d = self.defs[self.cur.id].get(ins.imm)
                if d is None:
                    d = self.read_slow(ins.imm, self.cur.id)  # type: ignore[arg-type]
                elif d in self.alias:
                    d = self.resolve(d)
                stack.append(d)
            elif op == _W_LOCAL_SET:
                self.defs[self.cur.id][ins.imm] = stack.pop()  # type: ignore[index]
            elif op == _W_LOCAL_TEE:
                self.defs[self.cur.id][ins.imm] = stack[-1]  # type: ignore[index]
            elif op == _W_I32_CONST:
                v = self.func.new_value(I32)
                self.cur.insts.append(Inst(O.ICONST, [], [v], ins.imm & _M32))  # type: ignore
                stack.append(v)
            elif op == _W_I64_CONST:
                v = self.func.new_value(I64)
                self.cur.insts.append(Inst(O.ICONST, [], [v], ins.imm & _M64))  # type: ignore
                stack.append(v)
            elif op == _W_F32_CONST:
                stack.append(self.emit(O.FCONST, [], F32, ins.imm))
            elif op == _W_F64_CONST:
                stack.append(self.emit(O.FCONST, [], F64, ins.imm))
            elif op in _LOADS:
                irop, rt, size = _LOADS[op]
                m = ins.imm
                addr = stack.pop()
                offset = m.offset
                if m.memory in self.mem64:
                    addr, offset = self.narrow_address(self.emit, addr, offset)
                self.emit(O.HEAP_CHECK, [addr], None, HeapImm(m.memory, offset, size))
                stack.append(self.emit(irop, [addr], rt, MemImm(m.memory, offset)))
            elif op in _STORES:
                irop, size = _STORES[op]
                m = ins.imm
                val = stack.pop()
                addr = stack.pop()
                offset = m.offset
                if m.memory in self.mem64:
                    addr, offset = self.narrow_address(self.emit, addr, offset)
                self.emit(O.HEAP_CHECK, [addr], None, HeapImm(m.memory, offset, size))
                self.emit(irop, [addr, val], None, MemImm(m.memory, offset))
            elif op == _W_TRY_TABLE:
                self.try_table(ins.imm, stack, frames)
            elif op == _W_BLOCK or op == _W_LOOP or op == _W_IF:
                params, results = block_signature(types, ins.imm)
                if type(ins.imm) is RefType:
                    results = (ins.imm.top,)
                if op == _W_IF:
                    cond = stack.pop()
                f = _Frame(_BLOCK, len(stack) - len(params), params, results)
                frames.append(f)
                if op == _W_LOOP:
                    f.kind = _LOOP
                    header = self.new_block(params)
                    f.label = header.id
                    vals = stack[f.height:]
                    self.terminate(Inst(O.JUMP, [], [], None,
                                        [self.edge(self.cur.id, header.id, vals)]))
                    del stack[f.height:]
                    stack.extend(header.params)
                    self.enter(header.id)
                    if fuel:    # every entry of a loop header checks for fuel left
                        self.emit(O.FUEL_CHECK, [self.fuel_used()], None)
                elif op == _W_IF:
                    f.kind = _IF
                    f.param_values = stack[f.height:]
                    src = self.cur.id
                    then_b = self.new_block(())
                    then_edge = self.edge(src, then_b.id, [])
                    if has_else is None:
                        has_else = self._scan_else(body)
                    if has_else.get(pos):
                        f.has_else = True
                        else_b = self.new_block(())
                        f.else_block = else_b.id
                        else_edge = self.edge(src, else_b.id, [])
                        self.sealed[else_b.id] = True
                    else:
                        else_edge = self.label_target(f, list(f.param_values))  # type: ignore
                    self.terminate(Inst(O.BRIF, [cond], [], None, [then_edge, else_edge]))
                    self.sealed[then_b.id] = True
                    self.enter(then_b.id)
            elif op == _W_ELSE:
                f = frames[-1]
                res = stack[len(stack) - len(f.results):]
                self.terminate(Inst(O.JUMP, [], [], None, [self.label_target(f, res)]))
                self.start_else(f, stack)
            elif op == _W_END:
                f = frames.pop()
                if f.handlers is not None:
                    self.end_try(f)
                self.end_frame(f, stack, frames)
            elif op == _W_THROW or op == _W_THROW_REF:
                self.throw(op, ins.imm, stack)
                del stack[frames[-1].height:]
            elif op == _W_BR:
                f = frames[-1 - ins.imm]  # type: ignore[operator]
                k = self.label_arity(f)
                vals = stack[len(stack) - k:] if k else []
                self.branch(f, vals)
                del stack[frames[-1].height:]
            elif op == _W_BR_IF:
                self.branch_if(stack.pop(), frames[-1 - ins.imm], stack)  # type: ignore
            elif op == _W_BR_ON_NULL:
                ref = stack.pop()
                self.branch_if(self.emit(O.REF_IS_NULL, [ref], I32), frames[-1 - ins.imm], stack)
                stack.append(ref)
            elif op == _W_BR_ON_NON_NULL:
                null = self.emit(O.REF_IS_NULL, [stack[-1]], I32)
                self.branch_if(self.emit(O.EQZ, [null], I32), frames[-1 - ins.imm], stack)
                stack.pop()
            elif op == _W_BR_TABLE:
                labels, default = ins.imm  # type: ignore[misc]
                index = stack.pop()
                ret: BlockCall | None = None
                targets = []
                for depth in (*labels, default):
                    f = frames[-1 - depth]
                    k = self.label_arity(f)
                    vals = stack[len(stack) - k:] if k else []
                    bc = self.label_target(f, list(vals))
                    if bc is None:
                        if ret is None:
                            ret = self.return_block(vals)
                        bc = BlockCall(ret.block, [])
                        self.preds[ret.block].append((self.cur.id, bc))
                    targets.append(bc)
                self.terminate(Inst(O.BR_TABLE, [index], [], None, targets))
                del stack[frames[-1].height:]
            elif op == _W_RETURN:
                k = len(self.ftype.results)
                self.terminate(Inst(O.RETURN, stack[len(stack) - k:] if k else []))
                del stack[frames[-1].height:]
            elif op == _W_UNREACHABLE:
                self.terminate(Inst(O.TRAP, [], [], TrapCode.UNREACHABLE))
                del stack[frames[-1].height:]
            elif (op == _W_RETURN_CALL or op == _W_RETURN_CALL_INDIRECT
                  or op == _W_RETURN_CALL_REF):
                self.return_call(op, ins.imm, stack)
                del stack[frames[-1].height:]
            elif op == _W_NOP:
                pass
            elif op == _W_DROP:
                stack.pop()
            elif op == _W_SELECT or op == _W_SELECT_T:
                c = stack.pop()
                b = stack.pop()
                a = stack.pop()
                stack.append(self.emit(O.SELECT, [c, a, b], self.func.value_types[a]))
            else:
                self.other(ins, op, stack)
        self.finish()
        return self.func

    def branch_if(self, cond: int, f: _Frame, stack: list[int]) -> None:
        """br_if to frame `f` on `cond`, its label's values on top of `stack`."""
        k = self.label_arity(f)
        vals = stack[len(stack) - k:] if k else []
        src = self.cur.id
        taken = self.label_target(f, vals)
        if taken is None:
            taken = self.return_block(vals)
        cont = self.new_block(())
        fall = self.edge(src, cont.id, [])
        self.terminate(Inst(O.BRIF, [cond], [], None, [taken, fall]))
        self.sealed[cont.id] = True
        self.enter(cont.id)

    def non_null(self, ref: int) -> int:
        """Trap (null reference) unless `ref` is non-null; return it."""
        self.emit(O.TRAPNZ, [self.emit(O.REF_IS_NULL, [ref], I32)], None,
                  TrapCode.NULL_REFERENCE)
        return ref

    def return_call(self, op: int, imm, stack: list[int]) -> None:
        """return_call / return_call_indirect / return_call_ref: a terminator that passes the
        operands on."""
        if op == _W_RETURN_CALL:
            k = len(self.func_type(imm).params)
            args = stack[len(stack) - k:] if k else []
            self.terminate(Inst(O.RETURN_CALL, args, [], imm))
            return
        if op == _W_RETURN_CALL_REF:
            ref = self.non_null(stack.pop())
            k = len(self.types[imm].params)
            args = stack[len(stack) - k:] if k else []
            self.terminate(Inst(O.RETURN_CALL_REF, [ref, *args], [], imm))
            return
        type_index, table = imm
        k = len(self.types[type_index].params)
        index = self.table_index(stack.pop(), table)
        args = stack[len(stack) - k:] if k else []
        self.terminate(Inst(O.RETURN_CALL_INDIRECT, [index, *args], [],
                            CallIndirectImm(type_index, table)))

    def branch(self, f: _Frame, vals: list[int]) -> None:
        bc = self.label_target(f, list(vals))
        if bc is None:
            self.terminate(Inst(O.RETURN, list(vals)))
        else:
            self.terminate(Inst(O.JUMP, [], [], None, [bc]))

    def start_else(self, f: _Frame, stack: list[int]) -> None:
        del stack[f.height:]
        stack.extend(f.param_values)
        self.enter(f.else_block)  # type: ignore[arg-type]
        f.else_block = None

    def end_frame(self, f: _Frame, stack: list[int], frames: list[_Frame]) -> None:
        if f.kind == _FUNC:
            if self.cur is not None:
                k = len(f.results)
                self.terminate(Inst(O.RETURN, stack[len(stack) - k:] if k else []))
            return
        if f.kind == _LOOP:
            self.seal(f.label)  # type: ignore[arg-type]
            if self.cur is None:
                del stack[f.height:]
            return
        if f.kind == _IF and f.else_block is not None:
            raise IRError("internal: if with an else block that was never entered")
        if self.cur is not None and f.label is not None:
            k = len(f.results)
            res = stack[len(stack) - k:] if k else []
            self.terminate(Inst(O.JUMP, [], [], None,
                                [self.edge(self.cur.id, f.label, list(res))]))
        if f.label is None:
            if self.cur is None:
                del stack[f.height:]
            return      # fall through in the current block (or stay unreachable)
        label = self.func.blocks[f.label]
        wasm_params = label.params[:len(f.results)]
        self.seal(f.label)
        del stack[f.height:]
        stack.extend(self.resolve(p) for p in wasm_params)
        self.enter(f.label)

    def other(self, ins, op: int, stack: list[int]) -> None:
        imm = ins.imm
        emit = self.emit
        if op in _TRUNC_SPECS:
            rt, st, signed, cc, lo, hi = _TRUNC_SPECS[op]
            x = stack.pop()
            uno = emit(O.FCMP, [x, x], I32, FloatCC.UNO)
            emit(O.TRAPNZ, [uno], None, TrapCode.BAD_CONVERSION_TO_INTEGER)
            lov = emit(O.FCONST, [], st, lo)
            c1 = emit(O.FCMP, [x, lov], I32, cc)
            hiv = emit(O.FCONST, [], st, hi)
            c2 = emit(O.FCMP, [x, hiv], I32, FloatCC.LT)
            ok = emit(O.BAND, [c1, c2], I32)
            emit(O.TRAPZ, [ok], None, TrapCode.INTEGER_OVERFLOW)
            stack.append(emit(O.FCVT_TO_SINT if signed else O.FCVT_TO_UINT, [x], rt))
        elif op in (Op.I32_DIV_S, Op.I64_DIV_S, Op.I32_REM_S, Op.I64_REM_S):
            t = I32 if op in (Op.I32_DIV_S, Op.I32_REM_S) else I64
            b = stack.pop()
            a = stack.pop()
            emit(O.TRAPZ, [b], None, TrapCode.INTEGER_DIVISION_BY_ZERO)
            minus1 = self.iconst(t, -1)
            is_m1 = emit(O.ICMP, [b, minus1], I32, IntCC.EQ)
            if op in (Op.I32_DIV_S, Op.I64_DIV_S):
                imin = self.iconst(t, 1 << (31 if t is I32 else 63))
                is_min = emit(O.ICMP, [a, imin], I32, IntCC.EQ)
                both = emit(O.BAND, [is_min, is_m1], I32)
                emit(O.TRAPNZ, [both], None, TrapCode.INTEGER_OVERFLOW)
                stack.append(emit(O.SDIV, [a, b], t))
            else:
                one = self.iconst(t, 1)
                safe = emit(O.SELECT, [is_m1, one, b], t)
                stack.append(emit(O.SREM, [a, safe], t))
        elif op in (Op.I32_DIV_U, Op.I64_DIV_U, Op.I32_REM_U, Op.I64_REM_U):
            t = I32 if op in (Op.I32_DIV_U, Op.I32_REM_U) else I64
            b = stack.pop()
            a = stack.pop()
            emit(O.TRAPZ, [b], None, TrapCode.INTEGER_DIVISION_BY_ZERO)
            stack.append(emit(O.UDIV if op in (Op.I32_DIV_U, Op.I64_DIV_U) else O.UREM, [a, b], t))
        elif op == Op.CALL:
            ft = self.func_type(imm)
            k = len(ft.params)
            args = stack[len(stack) - k:] if k else []
            if k:
                del stack[-k:]
            res = [self.func.new_value(t) for t in ft.results]
            self.cur.insts.append(Inst(O.CALL, args, res, imm))  # type: ignore[union-attr]
            if self.catches:
                self.landing()
            stack.extend(res)
        elif op == Op.CALL_INDIRECT:
            type_index, table = imm
            ft = self.types[type_index]
            index = self.table_index(stack.pop(), table)
            k = len(ft.params)
            args = stack[len(stack) - k:] if k else []
            if k:
                del stack[-k:]
            res = [self.func.new_value(t) for t in ft.results]
            self.cur.insts.append(Inst(O.CALL_INDIRECT, [index, *args], res,  # type: ignore
                                       CallIndirectImm(type_index, table)))
            if self.catches:
                self.landing()
            stack.extend(res)
        elif op == Op.CALL_REF:
            ft = self.types[imm]
            ref = self.non_null(stack.pop())
            k = len(ft.params)
            args = stack[len(stack) - k:] if k else []
            if k:
                del stack[-k:]
            res = [self.func.new_value(t) for t in ft.results]
            self.cur.insts.append(Inst(O.CALL_REF, [ref, *args], res, imm))  # type: ignore
            if self.catches:
                self.landing()
            stack.extend(res)
        elif op == Op.REF_AS_NON_NULL:
            self.non_null(stack[-1])
        elif op == Op.GLOBAL_GET:
            if self._global_types is None:
                self._global_types = self.module.global_types()
            stack.append(emit(O.GLOBAL_GET, [], self._global_types[imm].content.top, imm))
        elif op == Op.GLOBAL_SET:
            emit(O.GLOBAL_SET, [stack.pop()], None, imm)
        elif op == Op.MEMORY_SIZE:
            size = emit(O.MEMORY_SIZE, [], I32, imm)
            stack.append(addr64.widen_size(emit, size) if imm in self.mem64 else size)
        elif op == Op.MEMORY_GROW:
            if imm in self.mem64:
                delta = addr64.narrow_delta(emit, stack.pop())
                stack.append(addr64.widen_grow(emit, emit(O.MEMORY_GROW, [delta], I32, imm)))
            else:
                stack.append(emit(O.MEMORY_GROW, [stack.pop()], I32, imm))
        elif op in (Op.MEMORY_INIT, Op.MEMORY_COPY, Op.MEMORY_FILL, Op.TABLE_COPY,
                    Op.TABLE_INIT, Op.TABLE_FILL):
            c = stack.pop()
            b = stack.pop()
            a = stack.pop()
            wide = self.bulk_wide(op, imm)
            if wide is not None:
                code = (TrapCode.MEMORY_OUT_OF_BOUNDS if op in (Op.MEMORY_INIT, Op.MEMORY_COPY,
                                                                Op.MEMORY_FILL)
                        else TrapCode.TABLE_OUT_OF_BOUNDS)
                a, b, c = addr64.narrow_bulk(emit, [a, b, c], wide, code)
            if op == Op.MEMORY_INIT:
                emit(O.MEMORY_INIT, [a, b, c], None, SegmentImm(imm[0], imm[1]))
            elif op == Op.MEMORY_COPY:
                emit(O.MEMORY_COPY, [a, b, c], None, CopyImm(imm[0], imm[1]))
            elif op == Op.MEMORY_FILL:
                emit(O.MEMORY_FILL, [a, b, c], None, imm)
            elif op == Op.TABLE_COPY:
                emit(O.TABLE_COPY, [a, b, c], None, CopyImm(imm[0], imm[1]))
            elif op == Op.TABLE_INIT:
                emit(O.TABLE_INIT, [a, b, c], None, SegmentImm(imm[0], imm[1]))
            else:
                emit(O.TABLE_FILL, [a, b, c], None, imm)
        elif op == Op.DATA_DROP:
            emit(O.DATA_DROP, [], None, imm)
        elif op == Op.ELEM_DROP:
            emit(O.ELEM_DROP, [], None, imm)
        elif op == Op.TABLE_GET:
            et = self.module.table_types()[imm].element.top
            stack.append(emit(O.TABLE_GET, [self.table_index(stack.pop(), imm)], et, imm))
        elif op == Op.TABLE_SET:
            r = stack.pop()
            emit(O.TABLE_SET, [self.table_index(stack.pop(), imm), r], None, imm)
        elif op == Op.TABLE_SIZE:
            size = emit(O.TABLE_SIZE, [], I32, imm)
            stack.append(addr64.widen_size(emit, size) if imm in self.table64 else size)
        elif op == Op.TABLE_GROW:
            n = stack.pop()
            r = stack.pop()
            if imm in self.table64:
                grown = emit(O.TABLE_GROW, [r, addr64.narrow_delta(emit, n)], I32, imm)
                stack.append(addr64.widen_grow(emit, grown))
            else:
                stack.append(emit(O.TABLE_GROW, [r, n], I32, imm))
        elif op == Op.REF_NULL:
            stack.append(emit(O.REF_NULL, [], imm.top))
        elif op == Op.REF_IS_NULL:
            stack.append(emit(O.REF_IS_NULL, [stack.pop()], I32))
        elif op == Op.REF_FUNC:
            stack.append(emit(O.REF_FUNC, [], ValType.FUNCREF, imm))
        elif op >> 24 == PREFIX_SIMD:
            simd_translate(emit, op, imm, stack,
                           self.narrow_address if self.mem64 else None, self.mem64)
        else:
            info = INFO.get(op)
            name = info.name if info is not None else hex(op)
            raise UnsupportedError(f"the IR builder has no translation for `{name}` "
                                   f"(function {self.func.index})")

    # -- exception handling ---------------------------------------------------------------------

    def try_table(self, imm, stack: list[int], frames: list[_Frame]) -> None:
        """try_table: a block whose catch clauses branch to labels of the enclosing context."""
        params, results = block_signature(self.types, imm.blocktype)
        if type(imm.blocktype) is RefType:
            results = (imm.blocktype.top,)
        f = _Frame(_BLOCK, len(stack) - len(params), params, results)
        if imm.catches:
            f.handlers = [(c, frames[-1 - c.label]) for c in imm.catches]
            self.tries.append(f)
        frames.append(f)

    def tag_params(self, tag: int) -> tuple:
        """The payload types of tag `tag` (the tag index space made on first need)."""
        if self._tag_types is None:
            self._tag_types = self.module.tag_type_indices()
        return self.types[self._tag_types[tag]].params

    def handler(self) -> int:
        """The block an exception in the current code goes to: the innermost try_table's
        dispatch, or (outside every try_table) the block that unwinds it further."""
        if self.tries:
            f = self.tries[-1]
            if f.dispatch is None:
                f.dispatch = self.new_block((EXNREF,)).id
            return f.dispatch
        if self.unwind_block is None:
            b = self.new_block((EXNREF,))
            b.insts.append(Inst(O.UNWIND, [b.params[0]]))
            self.unwind_block = b.id
            self.order.append(b.id)
        return self.unwind_block

    def landing(self) -> None:
        """After a protected instruction: on to the handler if an exception is pending."""
        e = self.emit(O.EXN_PENDING, [], EXNREF)
        null = self.emit(O.REF_IS_NULL, [e], I32)
        src = self.cur.id  # type: ignore[union-attr]
        cont = self.new_block(())
        self.terminate(Inst(O.BRIF, [null], [], None,
                            [self.edge(src, cont.id, []), self.edge(src, self.handler(), [e])]))
        self.sealed[cont.id] = True
        self.enter(cont.id)

    def throw(self, op: int, imm, stack: list[int]) -> None:
        """throw / throw_ref: in a function that catches, on to the handler; elsewhere the
        exception unwinds the frame (the code after is never reached)."""
        if op == _W_THROW:
            k = len(self.tag_params(imm))
            args = stack[len(stack) - k:] if k else []
            self.emit(O.THROW, args, None, imm)
        else:
            self.emit(O.THROW_REF, [self.non_null(stack.pop())], None)
        if not self.catches:
            self.terminate(Inst(O.TRAP, [], [], TrapCode.UNREACHABLE))
            return
        e = self.emit(O.EXN_PENDING, [], EXNREF)
        self.terminate(Inst(O.JUMP, [], [], None,
                            [self.edge(self.cur.id, self.handler(), [e])]))  # type: ignore

    def end_try(self, f: _Frame) -> None:
        """The end of a try_table: its dispatch block, testing the clauses in order (a tag's
        clause compares the exception's tag identity with the instance's tag), each taking
        the payload (and the exnref) to its label; no match goes on to the enclosing
        handler."""
        self.tries.pop()
        if f.dispatch is None:
            return          # nothing inside could throw
        saved = self.cur
        emit = self.emit
        e = self.func.blocks[f.dispatch].params[0]
        self.seal(f.dispatch)
        e = self.resolve(e)
        self.enter(f.dispatch)
        for clause, target in f.handlers:  # type: ignore[union-attr]
            kind = clause.kind
            vals: list[int] = []
            if kind == _CATCH or kind == _CATCH_REF:
                c = emit(O.ICMP, [emit(O.EXN_TAG, [e], I64),
                                  emit(O.TAG_ID, [], I64, clause.tag)], I32, IntCC.EQ)
                src = self.cur.id  # type: ignore[union-attr]
                match, nxt = self.new_block(()), self.new_block(())
                self.terminate(Inst(O.BRIF, [c], [], None,
                                    [self.edge(src, match.id, []), self.edge(src, nxt.id, [])]))
                self.sealed[match.id] = self.sealed[nxt.id] = True
                self.enter(match.id)
                types = [t.top for t in self.tag_params(clause.tag)]
                vals = [emit(O.EXN_FIELD, [e], t, FieldImm(i, off))
                        for i, (t, off) in enumerate(zip(types, buffer_offsets(types)))]
            if kind == _CATCH_REF or kind == _CATCH_ALL_REF:
                vals.append(e)
            emit(O.EXN_SET, [self.zero(EXNREF)], None)
            self.branch(target, vals)
            if kind == _CATCH or kind == _CATCH_REF:
                self.enter(nxt.id)
            else:
                break       # catch_all: the clauses after it are never reached
        if self.cur is not None:
            self.terminate(Inst(O.JUMP, [], [], None,
                                [self.edge(self.cur.id, self.handler(), [e])]))
        self.cur = saved

    def narrow_address(self, emit, addr: int, offset: int) -> tuple[int, int]:
        """addr64.narrow_address, reusing the narrowing of the same address earlier in the
        current block."""
        block = self.cur.id  # type: ignore[union-attr]
        seen = self.narrowed.get(addr)
        if seen is not None and seen[0] == block and offset <= addr64.MAX_NARROW_OFFSET:
            return seen[1], offset
        narrowed, offset_out = addr64.narrow_address(emit, addr, offset)
        if offset <= addr64.MAX_NARROW_OFFSET:
            self.narrowed[addr] = (block, narrowed)
        return narrowed, offset_out

    def table_index(self, index: int, table: int) -> int:
        """A table instruction's index operand as the i32 the IR takes (narrowed with a
        bounds trap for a 64-bit table, see addr64)."""
        if table in self.table64:
            return addr64.narrow(self.emit, [index], TrapCode.TABLE_OUT_OF_BOUNDS)[0]
        return index

    def bulk_wide(self, op: int, imm) -> tuple[bool, bool, bool] | None:
        """Which of a bulk instruction's (destination, source or value, length) operands are
        i64 (the address types of its memories or tables, the length the narrower of the
        two); None if none is."""
        if op in (Op.MEMORY_FILL, Op.MEMORY_INIT, Op.MEMORY_COPY):
            wide64 = self.mem64
        else:
            wide64 = self.table64
        if not wide64:
            return None
        if op == Op.MEMORY_FILL or op == Op.TABLE_FILL:
            w = imm in wide64
            return (w, False, w)
        if op == Op.MEMORY_INIT or op == Op.TABLE_INIT:
            return (imm[1] in wide64, False, False)
        dst, src = imm[0] in wide64, imm[1] in wide64
        return (dst, src, dst and src)

    def _scan_else(self, body: list) -> dict[int, bool]:
        """Which `if` instructions (by position) have an `else`."""
        out: dict[int, bool] = {}
        opens: list[int] = []
        for pos, ins in enumerate(body):
            op = ins.op
            if op == _W_IF:
                opens.append(pos)
            elif op == _W_BLOCK or op == _W_LOOP or op == _W_TRY_TABLE:
                opens.append(-1)
            elif op == _W_ELSE:
                out[opens[-1]] = True
            elif op == _W_END and opens:
                opens.pop()
        return out

    def finish(self) -> None:
        func = self.func
        if self.prelude:
            func.blocks[0].insts[:0] = self.prelude
        if self.alias:
            resolve = self.resolve
            alias = self.alias
            for b in func.blocks:
                for inst in b.insts:
                    args = inst.args
                    for j, a in enumerate(args):
                        if a in alias:
                            args[j] = resolve(a)
                    if inst.targets:
                        for bc in inst.targets:
                            bargs = bc.args
                            for j, a in enumerate(bargs):
                                if a in alias:
                                    bargs[j] = resolve(a)
        # lay blocks out in the order they were entered (structured order), drop never-entered
        seen: set[int] = set()
        order = [b for b in self.order if not (b in seen or seen.add(b))]  # type: ignore[func-returns-value]
        if len(order) != len(func.blocks) or order != list(range(len(order))):
            entered = set(order)
            for b in func.blocks:
                if b.id not in entered and self.preds[b.id]:
                    raise IRError(f"internal: block{b.id} has predecessors but was never built")
            func.blocks = [func.blocks[b] for b in order]
            func.renumber_blocks()


def build_function(module: WasmModule, func_index: int, fuel: bool = False,
                   osr_loops: tuple[int, ...] | None = None) -> Function:
    """Translate defined function `func_index` (function index space) of a validated module.
    With `fuel`, the function charges fuel as wasmtime does (see _FUEL_FREE): it counts the
    units it uses in a hidden local, checked by `fuel_check` at entry (after the entry's 1) and
    at every loop header, and charged to the store by `fuel` before calls, returns and traps.
    `osr_loops`: build instead its on-stack replacement entry at the loops at those
    positions of its body (engine.ir.osr: every local, then the selector, a parameter;
    IRError where there is none; engine.ir.osr.osr_targets numbers the loops)."""
    try:
        with gc_paused():
            return _Builder(module, func_index, fuel, osr_loops).build()
    except RecursionError:  # pragma: no cover - the builder uses work lists; a safety net
        raise IRError(f"function {func_index} is too deeply nested for the IR builder") from None


def build_module(module: WasmModule, fuel: bool = False) -> list[Function]:
    """IR for every defined function, in function index order."""
    base = module.num_imported_funcs
    with gc_paused():
        return [build_function(module, base + i, fuel) for i in range(len(module.funcs))]
