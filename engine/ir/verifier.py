"""The IR verifier: structure (ids, terminators, edges), SSA (single definition, dominance of
every use), and types (per-opcode operand/result rules, block arguments against parameters,
return values against the signature). Given the WasmModule, it also checks indices and the types
of calls, globals, tables and memories. Raises VerifierError naming function, block, instruction."""

from __future__ import annotations

from ..errors import TrapCode
from ..wasm.module import WasmModule
from ..wasm.types import ValType
from .cfg import CFG
from .errors import VerifierError
from .gcpause import gc_paused
from .ir import (BITS, EXITS, FLOAT_TYPES, INT_TYPES, REF_TYPES, CallIndirectImm, CopyImm,
                 FieldImm, FloatCC, Function, HeapImm, ImmKind, Inst, IntCC, MemImm, MemLaneImm, Opcode,
                 SegmentImm)
from .printer import format_inst
from .simd import SIGNATURES as _SIMD_SIGNATURES, lane_count

O = Opcode
_NUM = (ValType.I32, ValType.I64, ValType.F32, ValType.F64)
_ANY = tuple(ValType)
#: type classes of the signature mini-language: each letter is a variable bound on first use
_CLASSES = {"I": INT_TYPES, "F": FLOAT_TYPES, "N": _NUM, "R": REF_TYPES, "A": _ANY}
_CONCRETE = {str(t): t for t in ValType}


def _sig(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    a, _, r = text.partition("->")
    return tuple(a.split()), tuple(r.split())


_INT_BIN = "I I -> I"
_SIGS: dict[Opcode, tuple[tuple[str, ...], tuple[str, ...]]] = {op: _sig(s) for op, s in {
    O.ICONST: "-> I", O.FCONST: "-> F",
    **{op: _INT_BIN for op in (O.IADD, O.ISUB, O.IMUL, O.SDIV, O.UDIV, O.SREM, O.UREM, O.BAND,
                               O.BOR, O.BXOR, O.ISHL, O.SSHR, O.USHR, O.ROTL, O.ROTR)},
    **{op: "I -> I" for op in (O.CLZ, O.CTZ, O.POPCNT, O.SEXT8, O.SEXT16)},
    O.SEXT32: "i64 -> i64", O.EQZ: "I -> i32", O.ICMP: "I I -> i32",
    **{op: "F F -> F" for op in (O.FADD, O.FSUB, O.FMUL, O.FDIV, O.FMIN, O.FMAX, O.FCOPYSIGN)},
    **{op: "F -> F" for op in (O.FABS, O.FNEG, O.FSQRT, O.FCEIL, O.FFLOOR, O.FTRUNC, O.FNEAREST)},
    O.FCMP: "F F -> i32",
    O.IREDUCE: "i64 -> i32", O.UEXTEND: "i32 -> i64", O.SEXTEND: "i32 -> i64",
    **{op: "F -> I" for op in (O.FCVT_TO_SINT, O.FCVT_TO_UINT, O.FCVT_TO_SINT_SAT,
                               O.FCVT_TO_UINT_SAT)},
    O.FCVT_FROM_SINT: "I -> F", O.FCVT_FROM_UINT: "I -> F",
    O.FPROMOTE: "f32 -> f64", O.FDEMOTE: "f64 -> f32",
    O.SELECT: "i32 A A -> A", O.REF_NULL: "-> R", O.REF_IS_NULL: "R -> i32",
    O.REF_FUNC: "-> funcref",
    O.TRAP: "->", O.TRAPZ: "I ->", O.TRAPNZ: "I ->", O.HEAP_CHECK: "i32 ->",
    O.FUEL: "i64 ->", O.FUEL_CHECK: "i64 ->",
    O.LOAD: "i32 -> N", O.ULOAD8: "i32 -> I", O.SLOAD8: "i32 -> I", O.ULOAD16: "i32 -> I",
    O.SLOAD16: "i32 -> I", O.ULOAD32: "i32 -> i64", O.SLOAD32: "i32 -> i64",
    O.STORE: "i32 N ->", O.ISTORE8: "i32 I ->", O.ISTORE16: "i32 I ->",
    O.ISTORE32: "i32 i64 ->",
    O.MEMORY_SIZE: "-> i32", O.MEMORY_GROW: "i32 -> i32", O.MEMORY_INIT: "i32 i32 i32 ->",
    O.MEMORY_COPY: "i32 i32 i32 ->", O.MEMORY_FILL: "i32 i32 i32 ->", O.DATA_DROP: "->",
    O.GLOBAL_GET: "-> A", O.GLOBAL_SET: "A ->",
    O.TABLE_GET: "i32 -> R", O.TABLE_SET: "i32 R ->", O.TABLE_SIZE: "-> i32",
    O.TABLE_GROW: "R i32 -> i32", O.TABLE_FILL: "i32 R i32 ->", O.TABLE_COPY: "i32 i32 i32 ->",
    O.TABLE_INIT: "i32 i32 i32 ->", O.ELEM_DROP: "->",
    O.JUMP: "->", O.BRIF: "i32 ->", O.BR_TABLE: "i32 ->",
    O.THROW_REF: "exnref ->", O.EXN_PENDING: "-> exnref", O.EXN_SET: "exnref ->",
    O.EXN_TAG: "exnref -> i64", O.TAG_ID: "-> i64", O.EXN_FIELD: "exnref -> A", O.UNWIND: "exnref ->",
}.items()}
_SIGS.update({op: (tuple(map(str, a)), tuple(map(str, r)))
              for op, (a, r) in _SIMD_SIGNATURES.items()})

_BITCASTS = {(ValType.I32, ValType.F32), (ValType.F32, ValType.I32),
             (ValType.I64, ValType.F64), (ValType.F64, ValType.I64)}

_IMM_TYPES: dict[ImmKind, type | tuple[type, ...]] = {
    ImmKind.NONE: type(None), ImmKind.INT: int, ImmKind.BITS: int, ImmKind.INTCC: IntCC,
    ImmKind.FLOATCC: FloatCC, ImmKind.TRAP: TrapCode, ImmKind.HEAP: HeapImm, ImmKind.MEM: MemImm,
    ImmKind.MEMORY: int, ImmKind.GLOBAL: int, ImmKind.TABLE: int, ImmKind.FUNC: int,
    ImmKind.DATA: int, ImmKind.ELEM: int, ImmKind.TYPE: int,
    ImmKind.CALL_INDIRECT: CallIndirectImm,
    ImmKind.MEMORY_INIT: SegmentImm, ImmKind.TABLE_INIT: SegmentImm,
    ImmKind.MEMORY_COPY: CopyImm, ImmKind.TABLE_COPY: CopyImm, ImmKind.LANE: int,
    ImmKind.SHUFFLE: tuple, ImmKind.MEM_LANE: MemLaneImm, ImmKind.TAG: int,
    ImmKind.FIELD: FieldImm,
}
_N_TARGETS = {O.JUMP: 1, O.BRIF: 2}


class _Verifier:
    def __init__(self, func: Function, module: WasmModule | None) -> None:
        self.func = func
        self.module = module
        self.block = None
        self.inst: Inst | None = None
        if module is not None:
            self.func_types = [module.top_types()[i] for i in module.func_type_indices()]
            self.global_types = module.global_types()
            self.table_types = module.table_types()
            self.n_memories = len(module.memory_types())

    def fail(self, message: str) -> VerifierError:
        text = None
        if self.inst is not None:
            try:
                text = format_inst(self.func, self.inst)
            except Exception:  # the instruction may be too broken to print
                text = f"{self.inst.opcode.value} ..."
        return VerifierError(message, self.func.name, self.block, text)

    # -- structure ------------------------------------------------------------------------------

    def run(self) -> None:
        f = self.func
        if not f.blocks:
            raise self.fail("function has no blocks")
        nvals = len(f.value_types)
        def_block = [-1] * nvals
        def_pos = [0] * nvals

        def define(v: int, pos: int) -> None:
            if not isinstance(v, int) or not 0 <= v < nvals:
                raise self.fail(f"value v{v} has no entry in the value type table")
            if def_block[v] != -1:
                raise self.fail(f"value v{v} is defined more than once")
            def_block[v] = self.block  # type: ignore[assignment]
            def_pos[v] = pos

        for i, b in enumerate(f.blocks):
            self.block, self.inst = i, None
            if b.id != i:
                raise self.fail(f"block at position {i} has id {b.id}")
            for p in b.params:
                define(p, -1)
            if not b.insts:
                raise self.fail("block is empty (it needs a terminator)")
            last = len(b.insts) - 1
            for j, inst in enumerate(b.insts):
                self.inst = inst
                if not isinstance(inst.opcode, Opcode):
                    raise self.fail(f"bad opcode {inst.opcode!r}")
                if inst.opcode.is_terminator and j != last:
                    raise self.fail("terminator in the middle of the block")
                if j == last and not inst.opcode.is_terminator:
                    raise self.fail("block does not end with a terminator")
                for r in inst.results:
                    define(r, j)
                if inst.targets:
                    if not inst.opcode.is_terminator:
                        raise self.fail(f"{inst.opcode.value} cannot have successor blocks")
                    for bc in inst.targets:
                        if not isinstance(bc.block, int) or not 0 <= bc.block < len(f.blocks):
                            raise self.fail(f"branch to missing block{bc.block}")
        entry = f.blocks[0]
        self.block, self.inst = 0, None
        if [f.value_types[p] for p in entry.params] != list(f.params):
            raise self.fail("entry block parameters do not match the function's parameters")

        cfg = CFG(f)
        for b in f.blocks:
            if not cfg.reachable(b.id):
                self.block, self.inst = b.id, None
                raise self.fail("block is unreachable")

        vt = f.value_types
        for b in f.blocks:
            self.block = b.id
            for j, inst in enumerate(b.insts):
                self.inst = inst
                for a in inst.args:
                    self.check_use(a, b.id, j, def_block, def_pos, cfg)
                if inst.targets is not None:
                    for bc in inst.targets:
                        for a in bc.args:
                            self.check_use(a, b.id, j, def_block, def_pos, cfg)
                self.check_types(inst, vt)

    def check_use(self, v: int, block: int, pos: int, def_block: list[int], def_pos: list[int],
                  cfg: CFG) -> None:
        if not isinstance(v, int) or not 0 <= v < len(def_block) or def_block[v] == -1:
            raise self.fail(f"use of undefined value v{v}")
        db = def_block[v]
        if db == block:
            if def_pos[v] >= pos:
                raise self.fail(f"use of v{v} before its definition")
        elif not cfg.dominates(db, block):
            raise self.fail(f"use of v{v} is not dominated by its definition in block{db}")

    # -- types ----------------------------------------------------------------------------------

    def check_types(self, inst: Inst, vt: list[ValType]) -> None:
        op = inst.opcode
        kind = op.info.imm
        if not isinstance(inst.imm, _IMM_TYPES[kind]) or isinstance(inst.imm, bool):
            raise self.fail(f"immediate {inst.imm!r} is not a {kind.value} immediate")
        args = [vt[a] for a in inst.args]
        results = [vt[r] for r in inst.results]
        if op.is_terminator:
            if results:
                raise self.fail("a terminator has no results")
            self.check_targets(inst, vt)
        if op is O.RETURN:
            if args != list(self.func.results):
                raise self.fail(f"returns ({', '.join(map(str, args))}) but the function returns "
                                f"({', '.join(map(str, self.func.results))})")
            return
        if op is O.CALL or op is O.CALL_INDIRECT or op is O.CALL_REF:
            self.check_call(inst, args, results)
            return
        if op is O.RETURN_CALL or op is O.RETURN_CALL_INDIRECT or op is O.RETURN_CALL_REF:
            # the callee's results are this function's
            self.check_call(inst, args, list(self.func.results))
            return
        if op is O.THROW:
            if self.module is not None:
                tags = self.module.tag_type_indices()
                self.index(inst.imm, len(tags), "tag")  # type: ignore[arg-type]
                want = [t.top for t in self.module.types[tags[inst.imm]].param_types]
                if args != want or results:
                    raise self.fail(f"throw's payload does not match tag {inst.imm}")
            elif results:
                raise self.fail("throw has no results")
            return
        if op is O.BITCAST:
            if len(args) != 1 or len(results) != 1 or (args[0], results[0]) not in _BITCASTS:
                raise self.fail("bitcast converts between iN and fN of one width")
            return
        sig_args, sig_results = _SIGS[op]
        if len(args) != len(sig_args):
            raise self.fail(f"{op.value} takes {len(sig_args)} operand(s), got {len(args)}")
        if len(results) != len(sig_results):
            raise self.fail(f"{op.value} has {len(sig_results)} result(s), got {len(results)}")
        bound: dict[str, ValType] = {}
        for what, ts, pats in (("operand", args, sig_args), ("result", results, sig_results)):
            for i, (t, pat) in enumerate(zip(ts, pats)):
                if pat in _CONCRETE:
                    ok = t is _CONCRETE[pat]
                elif pat in bound:
                    ok = t is bound[pat]
                else:
                    ok = t in _CLASSES[pat]
                    bound[pat] = t
                if not ok:
                    raise self.fail(f"{what} {i} of {op.value} has type {t}, which does not fit")
        self.check_imm(inst, results)

    def check_imm(self, inst: Inst, results: list[ValType]) -> None:
        op, imm = inst.opcode, inst.imm
        if op is O.ICONST or op is O.FCONST or op is O.V128_CONST:
            if not 0 <= imm < (1 << BITS[results[0]]):  # type: ignore[operator]
                raise self.fail(f"constant {imm} is not a {BITS[results[0]]}-bit pattern")
        elif op.info.imm is ImmKind.LANE or op.info.imm is ImmKind.MEM_LANE:
            lane = imm if op.info.imm is ImmKind.LANE else imm.lane  # type: ignore[union-attr]
            if isinstance(lane, bool) or not isinstance(lane, int) or \
                    not 0 <= lane < lane_count(op):
                raise self.fail(f"lane index {lane!r} out of range for {op.value}")
            if op.info.imm is ImmKind.MEM_LANE and imm.offset < 0:  # type: ignore[union-attr]
                raise self.fail("negative memory offset")
        elif op.info.imm is ImmKind.SHUFFLE:
            if len(imm) != 16 or not all(isinstance(i, int) and not isinstance(i, bool)  # type: ignore
                                         and 0 <= i < 32 for i in imm):  # type: ignore
                raise self.fail("a shuffle takes 16 lane indices in 0..31")
        elif op is O.HEAP_CHECK:
            if imm.offset < 0 or imm.size not in (1, 2, 4, 8, 16):  # type: ignore[union-attr]
                raise self.fail("heap_check needs offset >= 0 and a size of 1, 2, 4, 8 or 16")
        elif op.info.imm is ImmKind.MEM:
            if imm.offset < 0:  # type: ignore[union-attr]
                raise self.fail("negative memory offset")
            if op is O.LOAD or op is O.STORE:
                pass
        if self.module is None:
            return
        m = self.module
        kind = op.info.imm
        if kind in (ImmKind.HEAP, ImmKind.MEM, ImmKind.MEM_LANE):
            self.index(imm.memory, self.n_memories, "memory")  # type: ignore[union-attr]
        elif kind is ImmKind.MEMORY:
            self.index(imm, self.n_memories, "memory")
        elif kind is ImmKind.MEMORY_COPY:
            self.index(imm.dst, self.n_memories, "memory")  # type: ignore[union-attr]
            self.index(imm.src, self.n_memories, "memory")  # type: ignore[union-attr]
        elif kind is ImmKind.MEMORY_INIT:
            self.index(imm.target, self.n_memories, "memory")  # type: ignore[union-attr]
            self.index(imm.segment, len(m.datas), "data segment")  # type: ignore[union-attr]
        elif kind is ImmKind.DATA:
            self.index(imm, len(m.datas), "data segment")
        elif kind is ImmKind.ELEM:
            self.index(imm, len(m.elems), "element segment")
        elif kind is ImmKind.FUNC:
            self.index(imm, len(self.func_types), "function")
        elif kind is ImmKind.GLOBAL:
            self.index(imm, len(self.global_types), "global")
            gt = self.global_types[imm]  # type: ignore[index]
            t = self.func.value_types[inst.results[0] if op is O.GLOBAL_GET else inst.args[0]]
            if t is not gt.content:
                raise self.fail(f"global {imm} has type {gt.content}, not {t}")
            if op is O.GLOBAL_SET and not gt.mutable:
                raise self.fail(f"global {imm} is immutable")
        elif kind is ImmKind.TABLE:
            self.index(imm, len(self.table_types), "table")
            elem = self.table_types[imm].element  # type: ignore[index]
            vt = self.func.value_types
            ref = {O.TABLE_GET: lambda: vt[inst.results[0]], O.TABLE_SET: lambda: vt[inst.args[1]],
                   O.TABLE_GROW: lambda: vt[inst.args[0]],
                   O.TABLE_FILL: lambda: vt[inst.args[1]]}.get(op)
            if ref is not None and ref() is not elem:
                raise self.fail(f"table {imm} holds {elem}, not {ref()}")
        elif kind is ImmKind.TABLE_COPY:
            self.index(imm.dst, len(self.table_types), "table")  # type: ignore[union-attr]
            self.index(imm.src, len(self.table_types), "table")  # type: ignore[union-attr]
        elif kind is ImmKind.TABLE_INIT:
            self.index(imm.target, len(self.table_types), "table")  # type: ignore[union-attr]
            self.index(imm.segment, len(m.elems), "element segment")  # type: ignore[union-attr]

    def index(self, i: int, n: int, what: str) -> None:
        if not 0 <= i < n:
            raise self.fail(f"{what} index {i} out of range (the module has {n})")

    def check_call(self, inst: Inst, args: list[ValType], results: list[ValType]) -> None:
        indirect = inst.opcode is O.CALL_INDIRECT or inst.opcode is O.RETURN_CALL_INDIRECT
        by_ref = inst.opcode is O.CALL_REF or inst.opcode is O.RETURN_CALL_REF
        if indirect:
            if not args or args[0] is not ValType.I32:
                raise self.fail("call_indirect's first operand is the i32 table index")
            args = args[1:]
        if by_ref:
            if not args or args[0] is not ValType.FUNCREF:
                raise self.fail("call_ref's first operand is the funcref it calls")
            args = args[1:]
        if self.module is None:
            return
        if by_ref:
            self.index(inst.imm, len(self.module.types), "type")  # type: ignore[arg-type]
            ft = self.module.top_types()[inst.imm]  # type: ignore[index]
        elif not indirect:
            self.index(inst.imm, len(self.func_types), "function")  # type: ignore[arg-type]
            ft = self.func_types[inst.imm]  # type: ignore[index]
        else:
            imm = inst.imm
            self.index(imm.type_index, len(self.module.types), "type")  # type: ignore[union-attr]
            self.index(imm.table, len(self.table_types), "table")  # type: ignore[union-attr]
            ft = self.module.top_types()[imm.type_index]  # type: ignore[union-attr]
        if tuple(args) != ft.param_types or tuple(results) != ft.result_types:
            raise self.fail(f"call does not match the callee's signature {ft}")

    def check_targets(self, inst: Inst, vt: list[ValType]) -> None:
        op = inst.opcode
        targets = inst.targets
        if op in EXITS:
            if targets:
                raise self.fail(f"{op.value} has no successor blocks")
            return
        if not targets or (op in _N_TARGETS and len(targets) != _N_TARGETS[op]):
            raise self.fail(f"{op.value} has the wrong number of successor blocks")
        blocks = self.func.blocks
        for bc in targets:
            if not isinstance(bc.block, int) or not 0 <= bc.block < len(blocks):
                raise self.fail(f"branch to missing block{bc.block}")
            if bc.block == 0:
                raise self.fail("branch to the entry block")
            params = blocks[bc.block].params
            if len(bc.args) != len(params):
                raise self.fail(f"block{bc.block} takes {len(params)} argument(s), "
                                f"got {len(bc.args)}")
            for i, (a, p) in enumerate(zip(bc.args, params)):
                if vt[a] is not vt[p]:
                    raise self.fail(f"argument {i} to block{bc.block} has type {vt[a]}, "
                                    f"parameter v{p} has type {vt[p]}")


def verify(func: Function, module: WasmModule | None = None) -> None:
    """Raise VerifierError if `func` breaks a rule. With `module`, also check indices and the
    types of calls, globals and tables against it."""
    with gc_paused():
        _Verifier(func, module).run()
