"""The IR interpreter: runs SSA functions with exact wasm semantics (engine.ir.numerics).

Each IR function is translated once into Python source (one statement per IR instruction, SSA
values as Python locals, blocks with one incoming edge inlined at that edge, the remaining
blocks behind a binary dispatch tree in a loop), compiled, and bound per instance to the
instance's memories, tables and globals. Functions that call are generators: a call is a
``yield (callee, args)`` serviced by a driver loop that keeps an explicit frame stack, so wasm
recursion never recurses in Python and the depth limit is a plain counter
(Trap STACK_OVERFLOW "call stack exhausted"). A tail call returns a `_Tail` (callee, args) to
the driver, which runs the callee in the returning frame's place: tail recursion runs in
constant depth.
"""

from __future__ import annotations

import struct
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..compile.environment import EngineState
from ..errors import ThrownException, Trap, TrapCode, UnsupportedError
from ..ir import numerics as N
from ..ir.ir import (F32, F64, I32, I64, SIMD_OPS, BlockCall, FloatCC, Function, Inst, IntCC,
                     Opcode)
from ..runtime import libcalls
from ..runtime.backtrace import call_site, trap_site, wasm_frame
from ..runtime.exn import ExnRef, thrown_exn
from ..runtime.func import call_host
from . import interp_simd

if TYPE_CHECKING:
    from ..runtime.instance import Instance

O = Opcode

#: Deepest relative indentation for inlined blocks (Python's tokenizer allows 100 levels).
_INLINE_DEPTH = 48
#: Most blocks inlined into one another through jumps (each costs three Python frames of the
#: translator, block -> inst -> edge, even where the indentation stays the same); the next
#: block of a longer chain goes through the dispatch loop, whose blocks are translated one
#: after another, so deep nesting (thousands of blocks or loops) never exhausts Python's stack.
_INLINE_CHAIN = 100
#: Blocks of at most this many instructions ending in return/trap are duplicated at each edge.
_SMALL_EXIT = 4


# ---------------------------------------------------------------------------------------------
# Runtime helpers the generated code calls
# ---------------------------------------------------------------------------------------------


def _trap(code: int) -> Trap:
    return Trap(None, TrapCode(code))


def _out_of_fuel(store: Any) -> Trap:
    store._fuel = 0
    return Trap(None, TrapCode.OUT_OF_FUEL)


def _table_get(t: Any, i: int) -> Any:
    e = t.elements
    if i >= len(e):
        raise Trap(None, TrapCode.TABLE_OUT_OF_BOUNDS)
    return e[i]


def _table_set(t: Any, i: int, r: Any) -> None:
    e = t.elements
    if i >= len(e):
        raise Trap(None, TrapCode.TABLE_OUT_OF_BOUNDS)
    e[i] = r


def _indirect(t: Any, i: int, ty: Any) -> Any:
    """The callee of call_indirect, after the spec's checks in order."""
    e = t.elements
    if i >= len(e):
        raise Trap(None, TrapCode.TABLE_OUT_OF_BOUNDS)
    f = e[i]
    if f is None:
        raise Trap(None, TrapCode.INDIRECT_CALL_TO_NULL)
    if f.ftype is not ty and f.ftype != ty:
        raise Trap(None, TrapCode.BAD_SIGNATURE)
    return f


class _Tail(tuple):
    """What a function returns for return_call: (callee Func, args), run in its place."""

    __slots__ = ()


class _Code(tuple):
    """What the interpreter keeps in ``Func.code``: (bound function, is generator, instance,
    function index)."""

    __slots__ = ()


def _leaf_trap(e: Trap, code: _Code) -> Trap:
    """Record the frame of a leaf function called directly from generated code (the trap
    arose in its own code: a leaf calls nothing)."""
    _add_frames(e, [code])
    return e


def _add_frames(e: Trap, chain: list) -> None:
    """Append the frames of `chain` (bound code tuples, innermost first) to trap `e`, with the
    offsets engine.runtime.backtrace can tell: the trapping instruction of the innermost frame
    if the trap arose in it, each outer frame's call of the frame inside it."""
    callee = getattr(e, "_callee", None)     # the Func the innermost new frame called
    own = not e.frames and callee is None
    frames = list(e.frames)
    for c in chain:
        instance, index = c[2], c[3]
        if callee is not None:
            offset = call_site(instance, index, callee)
        else:
            offset = trap_site(instance.wasm, index, e.trap_code) if own else None
        frames.append(wasm_frame(instance.wasm, index, offset))
        callee = instance.funcs[index]
    e.frames = frames
    e._callee = callee


def _exn_new(inst: Any, tag: int, fields: tuple) -> ExnRef:
    """The exception a wasm `throw` of the instance's tag `tag` makes."""
    return ExnRef._new(inst.store, inst.tags[tag], list(fields))


def _namespace() -> dict[str, Any]:
    ns: dict[str, Any] = {name: fn for name, fn in vars(N).items()
                          if callable(fn) and name[:3] in ("i32", "i64", "f32", "f64")}
    for name, fmt in (("_ld8s", "<b"), ("_ld16", "<H"), ("_ld16s", "<h"), ("_ld32", "<I"),
                      ("_ld32s", "<i"), ("_ld64", "<Q")):
        ns[name] = struct.Struct(fmt).unpack_from
    for name, fmt in (("_st16", "<H"), ("_st32", "<I"), ("_st64", "<Q")):
        ns[name] = struct.Struct(fmt).pack_into
    ns.update(_Code=_Code, _Tail=_Tail, _leaf_trap=_leaf_trap, _TrapType=Trap, _trap=_trap,
              _out_of_fuel=_out_of_fuel, _table_get=_table_get, _table_set=_table_set,
              _indirect=_indirect, _Thrown=ThrownException, _exn_new=_exn_new,
              _thrown_exn=thrown_exn)
    ns.update({"_" + name: getattr(libcalls, name) for name in _LIBCALLS})
    ns.update(interp_simd.namespace())
    return ns


#: the runtime libcalls generated code calls, by name (``_memory_fill`` is libcalls.memory_fill)
_LIBCALLS = ("memory_grow", "memory_fill", "memory_copy", "memory_init", "data_drop",
             "table_grow", "table_fill", "table_copy", "table_init", "elem_drop")
_NS = _namespace()


# ---------------------------------------------------------------------------------------------
# Translation of one IR function to Python source
# ---------------------------------------------------------------------------------------------

_MASK = {I32: "0xFFFFFFFF", I64: "0xFFFFFFFFFFFFFFFF"}
_SIGN = {I32: "0x80000000", I64: "0x8000000000000000"}
_WIDTH = {I32: 32, I64: 64, F32: 32, F64: 64}
_TN = {I32: "i32", I64: "i64", F32: "f32", F64: "f64"}

_INT_BIN = {O.IADD: "+", O.ISUB: "-", O.IMUL: "*"}
_BITWISE = {O.BAND: "&", O.BOR: "|", O.BXOR: "^"}
_INT_CALL = {O.SDIV: "div_s", O.UDIV: "div_u", O.SREM: "rem_s", O.UREM: "rem_u",
             O.ROTL: "rotl", O.ROTR: "rotr", O.CTZ: "ctz"}
_FLOAT_CALL = {O.FADD: "add", O.FSUB: "sub", O.FMUL: "mul", O.FDIV: "div", O.FMIN: "min",
               O.FMAX: "max", O.FSQRT: "sqrt", O.FCEIL: "ceil", O.FFLOOR: "floor",
               O.FTRUNC: "trunc", O.FNEAREST: "nearest"}
_ICMP = {IntCC.EQ: ("==", False), IntCC.NE: ("!=", False), IntCC.ULT: ("<", False),
         IntCC.ULE: ("<=", False), IntCC.UGT: (">", False), IntCC.UGE: (">=", False),
         IntCC.SLT: ("<", True), IntCC.SLE: ("<=", True), IntCC.SGT: (">", True),
         IntCC.SGE: (">=", True)}
_FCMP = {FloatCC.EQ: "eq", FloatCC.NE: "ne", FloatCC.LT: "lt", FloatCC.LE: "le",
         FloatCC.GT: "gt", FloatCC.GE: "ge"}
_LOAD_FN = {(O.LOAD, I32): "_ld32", (O.LOAD, F32): "_ld32", (O.LOAD, I64): "_ld64",
            (O.LOAD, F64): "_ld64", (O.SLOAD8, None): "_ld8s", (O.ULOAD16, None): "_ld16",
            (O.SLOAD16, None): "_ld16s", (O.ULOAD32, None): "_ld32", (O.SLOAD32, None): "_ld32s"}
_SIGNED_LOADS = {O.SLOAD8, O.SLOAD16, O.SLOAD32}
#: instructions whose first operand is an i32 condition
_CONDITIONS = frozenset({O.BRIF, O.TRAPZ, O.TRAPNZ, O.SELECT})


@dataclass(slots=True)
class CompiledFunction:
    """The translation of one IR function: a factory that binds it to an instance."""

    name: str
    source: str
    make: Callable[[Any], Callable[..., Any]]
    is_generator: bool


class _Translator:
    """Turns one Function into the source of ``def __make(ctx): ... return fn``."""

    def __init__(self, fn: Function, fuel: bool = False, epoch: bool = False) -> None:
        self.fn = fn
        self.fuel = fuel
        self.epoch = epoch
        self.vt = fn.value_types
        self.preds = [0] * len(fn.blocks)
        self.preds[0] = 1                       # the function entry
        for b in fn.blocks:
            for target in b.successors():
                self.preds[target] += 1
        self.dispatch: list[int] = []           # blocks reached through the dispatch loop
        self.in_dispatch: set[int] = set()
        self.uses_dispatch = False
        self.mems: set[int] = set()
        self.tables: set[int] = set()
        self.globals: set[int] = set()
        self.types: set[int] = set()
        self.consts: list[str] = []             # extra factory-level definitions
        self.is_generator = False
        self.needs_yield = False                # tail calls only: make fn a generator anyway
        # constants are written as literals at their uses
        self.lit: dict[int, str] = {}
        uses = [0] * len(fn.value_types)
        for b in fn.blocks:
            for inst in b.insts:
                if inst.opcode is O.ICONST or inst.opcode is O.FCONST:
                    self.lit[inst.results[0]] = f"{inst.imm:#x}"
                for x in inst.args:
                    uses[x] += 1
                for bc in inst.targets or ():
                    for x in bc.args:
                        uses[x] += 1
        # comparisons used once, as the condition of a brif/trapz/trapnz/select of their own
        # block, are written into that condition instead of materialising 0/1
        self.fusable: set[int] = set()
        for b in fn.blocks:
            defined: dict[int, Opcode] = {}
            for inst in b.insts:
                op = inst.opcode
                if op in _CONDITIONS and uses[inst.args[0]] == 1 and inst.args[0] in defined:
                    self.fusable.add(inst.args[0])
                if op in (O.ICMP, O.EQZ, O.FCMP):
                    defined[inst.results[0]] = op
        self.cond: dict[int, str] = {}
        self.chain = 0                          # blocks being inlined one inside another now
        # small blocks that end the function (return / trap) are copied into each predecessor
        self.small_exits = {
            b.id for b in fn.blocks
            if b.id != 0 and len(b.insts) <= _SMALL_EXIT and b.insts
            and b.insts[-1].opcode in (O.RETURN, O.TRAP)
            and not any(i.opcode in (O.CALL, O.CALL_INDIRECT, O.CALL_REF) for i in b.insts)}

    # -- driver --------------------------------------------------------------------------------

    def translate(self) -> str:
        fn = self.fn
        bodies: dict[int, list[tuple[int, str]]] = {}
        self._want_dispatch(0)
        i = 0
        while i < len(self.dispatch):
            bid = self.dispatch[i]
            out: list[tuple[int, str]] = []
            self.block(bid, 0, out)
            bodies[bid] = out
            i += 1
        params = ", ".join(f"v{p}" for p in fn.entry.params)
        lines = ["def __make(ctx):"]
        for m in sorted(self.mems):
            lines.append(f"    mem{m} = ctx.mems[{m}]")
        for t in sorted(self.tables):
            lines.append(f"    tab{t} = ctx.tables[{t}]")
        for g in sorted(self.globals):
            lines.append(f"    glb{g} = ctx.globals[{g}]")
        for t in sorted(self.types):
            lines.append(f"    typ{t} = ctx.types[{t}]")
        lines.append("    F = ctx.funcs")
        lines.append("    inst = ctx")
        if self.fuel or self.epoch:
            lines.append("    st = ctx.store")
            lines.append("    eng = st.engine._state")
        lines.extend("    " + c for c in self.consts)
        lines.append(f"    def fn({params}):")
        if self.fn.catches:
            lines.append("        _x = None")
        if self.needs_yield:
            lines.append("        if 0: yield")
        epoch_check = "if eng.epoch >= st._epoch_deadline: raise _trap(10)"
        if self.epoch:
            lines.append("        " + epoch_check)
        if not self.uses_dispatch:
            lines.extend("        " + "    " * d + s for d, s in bodies[0])
        else:
            lines.append("        _b = 0")
            lines.append("        while True:")
            if self.epoch:
                lines.append("            " + epoch_check)
            out: list[tuple[int, str]] = []
            self._tree("_b", sorted(bodies),
                       lambda k, d: out.extend((d + dd, s) for dd, s in bodies[k]), 0, out)
            lines.extend("            " + "    " * d + s for d, s in out)
        lines.append("    return fn")
        return "\n".join(lines) + "\n"

    def _want_dispatch(self, bid: int) -> None:
        if bid not in self.in_dispatch:
            self.in_dispatch.add(bid)
            self.dispatch.append(bid)

    def _tree(self, var: str, keys: list[int], case: Callable[[int, int], None], depth: int,
              out: list[tuple[int, str]]) -> None:
        """A binary search over sorted `keys` on `var`, calling case(key, depth) at each leaf."""
        if len(keys) == 1:
            case(keys[0], depth)
            return
        mid = len(keys) // 2
        out.append((depth, f"if {var} < {keys[mid]}:"))
        self._tree(var, keys[:mid], case, depth + 1, out)
        out.append((depth, "else:"))
        self._tree(var, keys[mid:], case, depth + 1, out)

    # -- blocks and edges ------------------------------------------------------------------

    def block(self, bid: int, depth: int, out: list[tuple[int, str]]) -> None:
        insts = self.fn.blocks[bid].insts
        self.chain += 1
        for inst in insts:
            self.inst(inst, depth, out)
        self.chain -= 1

    def edge(self, bc: BlockCall, depth: int, out: list[tuple[int, str]]) -> None:
        target = self.fn.blocks[bc.block]
        pairs = [(p, a) for p, a in zip(target.params, bc.args) if p != a]
        if pairs:
            lhs = ", ".join(f"v{p}" for p, _ in pairs)
            rhs = ", ".join(self.lit.get(a) or f"v{a}" for _, a in pairs)
            out.append((depth, f"{lhs} = {rhs}"))
        inline = depth < _INLINE_DEPTH and self.chain < _INLINE_CHAIN
        if self.preds[bc.block] == 1 and inline and bc.block not in self.in_dispatch:
            self.block(bc.block, depth, out)
        elif bc.block in self.small_exits and inline:
            self.block(bc.block, depth, out)        # duplicated: cheaper than a dispatch
        else:
            self._want_dispatch(bc.block)
            self.uses_dispatch = True
            out.append((depth, f"_b = {bc.block}"))
            out.append((depth, "continue"))

    # -- instructions ----------------------------------------------------------------------

    def inst(self, inst: Inst, d: int, out: list[tuple[int, str]]) -> None:
        op = inst.opcode
        lit = self.lit
        a = [lit.get(x) or f"v{x}" for x in inst.args]
        r = f"v{inst.results[0]}" if inst.results else None
        if r is not None and inst.results[0] in self.fusable:
            self._fuse(inst, a)
            return
        c0 = self.cond.get(inst.args[0]) if inst.args else None
        vt = self.vt
        t = vt[inst.results[0]] if inst.results else None
        at = vt[inst.args[0]] if inst.args else None
        emit = lambda s: out.append((d, s))  # noqa: E731

        if op is O.ICONST or op is O.FCONST:
            pass                                    # written as a literal at each use
        elif op in _INT_BIN:
            emit(f"{r} = ({a[0]} {_INT_BIN[op]} {a[1]}) & {_MASK[t]}")
        elif op in _BITWISE:
            emit(f"{r} = {a[0]} {_BITWISE[op]} {a[1]}")
        elif op in _INT_CALL:
            emit(f"{r} = {_TN[t]}_{_INT_CALL[op]}({', '.join(a)})")
        elif op is O.ISHL:
            emit(f"{r} = ({a[0]} << ({a[1]} & {_WIDTH[t] - 1})) & {_MASK[t]}")
        elif op is O.USHR:
            emit(f"{r} = {a[0]} >> ({a[1]} & {_WIDTH[t] - 1})")
        elif op is O.SSHR:
            s = _SIGN[t]
            emit(f"{r} = ((({a[0]} ^ {s}) - {s}) >> ({a[1]} & {_WIDTH[t] - 1})) & {_MASK[t]}")
        elif op is O.CLZ:
            emit(f"{r} = {_WIDTH[t]} - {a[0]}.bit_length()")
        elif op is O.POPCNT:
            emit(f"{r} = {a[0]}.bit_count()")
        elif op in (O.SEXT8, O.SEXT16, O.SEXT32):
            bits = {O.SEXT8: 8, O.SEXT16: 16, O.SEXT32: 32}[op]
            lo, sb = (1 << bits) - 1, 1 << (bits - 1)
            emit(f"{r} = ((({a[0]} & {lo:#x}) ^ {sb:#x}) - {sb:#x}) & {_MASK[t]}")
        elif op is O.EQZ:
            emit(f"{r} = 0 if {a[0]} else 1")
        elif op is O.ICMP:
            sym, signed = _ICMP[inst.imm]
            if signed:
                s = _SIGN[at]
                emit(f"{r} = 1 if ({a[0]} ^ {s}) {sym} ({a[1]} ^ {s}) else 0")
            else:
                emit(f"{r} = 1 if {a[0]} {sym} {a[1]} else 0")
        elif op in _FLOAT_CALL:
            emit(f"{r} = {_TN[t]}_{_FLOAT_CALL[op]}({', '.join(a)})")
        elif op is O.FABS:
            emit(f"{r} = {a[0]} & {(1 << (_WIDTH[t] - 1)) - 1:#x}")
        elif op is O.FNEG:
            emit(f"{r} = {a[0]} ^ {1 << (_WIDTH[t] - 1):#x}")
        elif op is O.FCOPYSIGN:
            sb = 1 << (_WIDTH[t] - 1)
            emit(f"{r} = ({a[0]} & {sb - 1:#x}) | ({a[1]} & {sb:#x})")
        elif op is O.FCMP:
            tn = _TN[at]
            cc = inst.imm
            if cc in _FCMP:
                emit(f"{r} = {tn}_{_FCMP[cc]}({a[0]}, {a[1]})")
            else:
                nan = f"{tn}_is_nan({a[0]}) or {tn}_is_nan({a[1]})"
                emit(f"{r} = 1 if {nan} else 0" if cc is FloatCC.UNO else f"{r} = 0 if {nan} else 1")
        elif op is O.IREDUCE:
            emit(f"{r} = {a[0]} & 0xFFFFFFFF")
        elif op is O.UEXTEND or op is O.BITCAST:
            emit(f"{r} = {a[0]}")
        elif op is O.SEXTEND:
            emit(f"{r} = (({a[0]} ^ 0x80000000) - 0x80000000) & 0xFFFFFFFFFFFFFFFF")
        elif op in (O.FCVT_TO_SINT, O.FCVT_TO_UINT, O.FCVT_TO_SINT_SAT, O.FCVT_TO_UINT_SAT):
            sat = "sat_" if op in (O.FCVT_TO_SINT_SAT, O.FCVT_TO_UINT_SAT) else ""
            sign = "s" if op in (O.FCVT_TO_SINT, O.FCVT_TO_SINT_SAT) else "u"
            emit(f"{r} = {_TN[t]}_trunc_{sat}{_TN[at]}_{sign}({a[0]})")
        elif op is O.FCVT_FROM_SINT or op is O.FCVT_FROM_UINT:
            sign = "s" if op is O.FCVT_FROM_SINT else "u"
            emit(f"{r} = {_TN[t]}_convert_{_TN[at]}_{sign}({a[0]})")
        elif op is O.FPROMOTE:
            emit(f"{r} = f64_promote_f32({a[0]})")
        elif op is O.FDEMOTE:
            emit(f"{r} = f32_demote_f64({a[0]})")
        elif op is O.SELECT:
            emit(f"{r} = {a[1]} if {c0 or a[0]} else {a[2]}")
        elif op is O.REF_NULL:
            emit(f"{r} = None")
        elif op is O.REF_IS_NULL:
            emit(f"{r} = 1 if {a[0]} is None else 0")
        elif op is O.REF_FUNC:
            emit(f"{r} = F[{inst.imm}]")
        elif op is O.TRAP:
            emit(f"raise _trap({int(inst.imm)})")
        elif op is O.TRAPZ:
            emit(f"if not ({c0 or a[0]}): raise _trap({int(inst.imm)})")
        elif op is O.TRAPNZ:
            emit(f"if {c0 or a[0]}: raise _trap({int(inst.imm)})")
        elif op is O.FUEL:
            self.fuel = True
            emit(f"st._fuel -= {a[0]}")
        elif op is O.FUEL_CHECK:
            self.fuel = True
            emit(f"if st._fuel - {a[0]} <= 0: raise _out_of_fuel(st)")
        elif op is O.HEAP_CHECK:
            h = inst.imm
            self.mems.add(h.memory)
            emit(f"if {a[0]} + {h.offset + h.size} > mem{h.memory}.length: raise _trap(1)")
        elif op in (O.LOAD, O.ULOAD8, O.SLOAD8, O.ULOAD16, O.SLOAD16, O.ULOAD32, O.SLOAD32):
            m = inst.imm
            self.mems.add(m.memory)
            addr = f"{a[0]} + {m.offset}" if m.offset else a[0]
            if op is O.ULOAD8:
                emit(f"{r} = mem{m.memory}.buf[{addr}]")
            else:
                fn = _LOAD_FN[(op, t if op is O.LOAD else None)]
                tail = f" & {_MASK[t]}" if op in _SIGNED_LOADS else ""
                emit(f"{r} = {fn}(mem{m.memory}.buf, {addr})[0]{tail}")
        elif op in (O.STORE, O.ISTORE8, O.ISTORE16, O.ISTORE32):
            m = inst.imm
            self.mems.add(m.memory)
            addr = f"{a[0]} + {m.offset}" if m.offset else a[0]
            vtype = vt[inst.args[1]]
            if op is O.ISTORE8:
                emit(f"mem{m.memory}.buf[{addr}] = {a[1]} & 0xFF")
            elif op is O.ISTORE16:
                emit(f"_st16(mem{m.memory}.buf, {addr}, {a[1]} & 0xFFFF)")
            elif op is O.ISTORE32:
                emit(f"_st32(mem{m.memory}.buf, {addr}, {a[1]} & 0xFFFFFFFF)")
            else:
                fn = "_st32" if _WIDTH[vtype] == 32 else "_st64"
                emit(f"{fn}(mem{m.memory}.buf, {addr}, {a[1]})")
        elif op is O.MEMORY_SIZE:
            self.mems.add(inst.imm)
            emit(f"{r} = mem{inst.imm}.length >> 16")
        elif op is O.MEMORY_GROW:
            self.mems.add(inst.imm)
            emit(f"{r} = _memory_grow(mem{inst.imm}, {a[0]}) & 0xFFFFFFFF")
        elif op is O.MEMORY_INIT:
            s = inst.imm
            self.mems.add(s.target)
            emit(f"_memory_init(inst, mem{s.target}, {s.segment}, {', '.join(a)})")
        elif op is O.MEMORY_COPY:
            c = inst.imm
            self.mems.update((c.dst, c.src))
            emit(f"_memory_copy(mem{c.dst}, mem{c.src}, {', '.join(a)})")
        elif op is O.MEMORY_FILL:
            self.mems.add(inst.imm)
            emit(f"_memory_fill(mem{inst.imm}, {', '.join(a)})")
        elif op is O.DATA_DROP:
            emit(f"_data_drop(inst, {inst.imm})")
        elif op is O.GLOBAL_GET:
            self.globals.add(inst.imm)
            emit(f"{r} = glb{inst.imm}.value_")
        elif op is O.GLOBAL_SET:
            self.globals.add(inst.imm)
            emit(f"glb{inst.imm}.value_ = {a[0]}")
        elif op is O.TABLE_GET:
            self.tables.add(inst.imm)
            emit(f"{r} = _table_get(tab{inst.imm}, {a[0]})")
        elif op is O.TABLE_SET:
            self.tables.add(inst.imm)
            emit(f"_table_set(tab{inst.imm}, {a[0]}, {a[1]})")
        elif op is O.TABLE_SIZE:
            self.tables.add(inst.imm)
            emit(f"{r} = len(tab{inst.imm}.elements)")
        elif op is O.TABLE_GROW:
            self.tables.add(inst.imm)
            emit(f"{r} = _table_grow(tab{inst.imm}, {a[1]}, {a[0]}) & 0xFFFFFFFF")
        elif op is O.TABLE_FILL:
            self.tables.add(inst.imm)
            emit(f"_table_fill(tab{inst.imm}, {', '.join(a)})")
        elif op is O.TABLE_COPY:
            c = inst.imm
            self.tables.update((c.dst, c.src))
            emit(f"_table_copy(tab{c.dst}, tab{c.src}, {', '.join(a)})")
        elif op is O.TABLE_INIT:
            s = inst.imm
            self.tables.add(s.target)
            emit(f"_table_init(inst, tab{s.target}, {s.segment}, {', '.join(a)})")
        elif op is O.ELEM_DROP:
            emit(f"_elem_drop(inst, {inst.imm})")
        elif op is O.CALL:
            self._call(f"F[{inst.imm}]", a, inst.results, d, out)
        elif op is O.CALL_INDIRECT:
            c = inst.imm
            self.tables.add(c.table)
            self.types.add(c.type_index)
            self._call(f"_indirect(tab{c.table}, {a[0]}, typ{c.type_index})", a[1:], inst.results,
                       d, out)
        elif op is O.CALL_REF:      # a Func (the builder checked it is not null)
            self._call(a[0], a[1:], inst.results, d, out)
        elif op is O.JUMP:
            self.edge(inst.targets[0], d, out)
        elif op is O.BRIF:
            t0, t1 = inst.targets
            if t0.block == t1.block and t0.args == t1.args:
                self.edge(t0, d, out)
            else:
                emit(f"if {c0 or a[0]}:")
                self.edge(t0, d + 1, out)
                emit("else:")
                self.edge(t1, d + 1, out)
        elif op is O.BR_TABLE:
            self._br_table(inst, a[0], d, out)
        elif op is O.RETURN:
            emit(f"return ({', '.join(a)}{',' if a else ''})")
        elif op is O.RETURN_CALL:
            self._tail(f"F[{inst.imm}]", a, d, out)
        elif op is O.RETURN_CALL_INDIRECT:
            c = inst.imm
            self.tables.add(c.table)
            self.types.add(c.type_index)
            self._tail(f"_indirect(tab{c.table}, {a[0]}, typ{c.type_index})", a[1:], d, out)
        elif op is O.RETURN_CALL_REF:
            self._tail(a[0], a[1:], d, out)
        elif op is O.THROW:
            exn = f"_exn_new(inst, {inst.imm}, ({', '.join(a)}{',' if a else ''}))"
            # protected in a function that catches: it lands here with the exception pending
            emit(f"_x = {exn}" if self.fn.catches else f"raise _Thrown({exn})")
        elif op is O.THROW_REF:
            emit(f"_x = {a[0]}" if self.fn.catches else f"raise _Thrown({a[0]})")
        elif op is O.EXN_PENDING:
            emit(f"{r} = _x")
        elif op is O.EXN_SET:
            emit(f"_x = {a[0]}")
        elif op is O.EXN_TAG:
            emit(f"{r} = {a[0]}._tag.definition")
        elif op is O.TAG_ID:
            emit(f"{r} = inst.tags[{inst.imm}].definition")
        elif op is O.EXN_FIELD:
            emit(f"{r} = {a[0]}._fields[{inst.imm.index}]")
        elif op is O.UNWIND:
            emit(f"raise _Thrown({a[0]})")
        elif op in SIMD_OPS:
            interp_simd.translate(inst, a, r, self.mems.add, emit)
        else:
            raise UnsupportedError(f"IR interpreter: opcode {op.value}")

    def _fuse(self, inst: Inst, a: list[str]) -> None:
        """Record a comparison's condition expression for its single (fusable) use."""
        op = inst.opcode
        if op is O.EQZ:
            expr = f"{a[0]} == 0"
        elif op is O.ICMP:
            sym, signed = _ICMP[inst.imm]
            if signed:
                sb = _SIGN[self.vt[inst.args[0]]]
                expr = f"({a[0]} ^ {sb}) {sym} ({a[1]} ^ {sb})"
            else:
                expr = f"{a[0]} {sym} {a[1]}"
        else:
            tn = _TN[self.vt[inst.args[0]]]
            cc = inst.imm
            if cc in _FCMP:
                expr = f"{tn}_{_FCMP[cc]}({a[0]}, {a[1]})"
            else:
                nan = f"({tn}_is_nan({a[0]}) or {tn}_is_nan({a[1]}))"
                expr = nan if cc is FloatCC.UNO else f"not {nan}"
        self.cond[inst.results[0]] = f"({expr})"

    def _call(self, callee: str, args: list[str], results: list[int], d: int,
              out: list[tuple[int, str]]) -> None:
        """A call: straight into a bound leaf function (no calls of its own, so no recursion),
        else a ``yield`` to the driver, which keeps the frame stack."""
        self.is_generator = True
        packed = f"({', '.join(args)}{',' if args else ''})"
        lhs = ", ".join(f"v{x}" for x in results) + ", = " if results else ""
        if self.fn.catches:
            # protected: an exception from the callee lands here, pending in _x
            out.append((d, "try:"))
            self._call_body(callee, packed, lhs, d + 1, out)
            out.append((d, "except _Thrown as _t:"))
            out.append((d + 1, "_x = _thrown_exn(_t, inst.store.context)"))
            return
        self._call_body(callee, packed, lhs, d, out)

    @staticmethod
    def _call_body(callee: str, packed: str, lhs: str, d: int,
                   out: list[tuple[int, str]]) -> None:
        out.append((d, f"_f = {callee}"))
        out.append((d, "_c = _f.code"))
        out.append((d, "if _c.__class__ is _Code and not _c[1]:"))
        out.append((d + 1, "try:"))
        out.append((d + 2, f"{lhs}_c[0]{packed}"))
        out.append((d + 1, "except _TrapType as _e:"))
        out.append((d + 2, "raise _leaf_trap(_e, _c)"))
        out.append((d, "else:"))
        out.append((d + 1, f"{lhs}yield _f, {packed}"))

    def _tail(self, callee: str, args: list[str], d: int, out: list[tuple[int, str]]) -> None:
        """A tail call: the function (a generator, so the driver sees its return) hands the
        callee and arguments back to the driver, which runs the callee in its place."""
        self.is_generator = True
        self.needs_yield = True
        packed = f"({', '.join(args)}{',' if args else ''})"
        out.append((d, f"return _Tail(({callee}, {packed}))"))

    def _br_table(self, inst: Inst, index: str, d: int, out: list[tuple[int, str]]) -> None:
        targets = inst.targets
        unique: dict[tuple, int] = {}
        edges: list[BlockCall] = []
        case_of: list[int] = []
        for bc in targets:
            key = (bc.block, tuple(bc.args))
            k = unique.get(key)
            if k is None:
                k = unique[key] = len(edges)
                edges.append(bc)
            case_of.append(k)
        if len(edges) == 1:
            self.edge(edges[0], d, out)
            return
        default = case_of[-1]
        cases = case_of[:-1]
        if len(cases) <= 3:
            first = True
            for i, k in enumerate(cases):
                out.append((d, f"{'if' if first else 'elif'} {index} == {i}:"))
                self.edge(edges[k], d + 1, out)
                first = False
            out.append((d, "else:"))
            self.edge(edges[default], d + 1, out)
            return
        name = f"_bt{len(self.consts)}"
        self.consts.append(f"{name} = {tuple(cases)!r}")
        out.append((d, f"_k = {name}[{index}] if {index} < {len(cases)} else {default}"))
        self._tree("_k", list(range(len(edges))), lambda k, dd: self.edge(edges[k], dd, out), d, out)


def compile_function(fn: Function, fuel: bool = False, epoch: bool = False) -> CompiledFunction:
    """Translate and compile one IR function (done once per module function).

    `fuel`: the function's `fuel` / `fuel_check` instructions (placed by the IR builder)
    charge and check the store's fuel (Trap OUT_OF_FUEL, the store then holding 0). `epoch`: check the engine's epoch against the
    store's deadline at function entry and at every transfer through the dispatch loop (every
    loop back edge goes through it): Trap INTERRUPT."""
    tr = _Translator(fn, fuel, epoch)
    source = tr.translate()
    try:
        code = compile(source, f"<wasm function {fn.index}>", "exec")
    except (SyntaxError, RecursionError, MemoryError, ValueError) as e:
        raise UnsupportedError(f"IR interpreter cannot translate function {fn.name}: {e}") from None
    ns = dict(_NS)
    exec(code, ns)
    return CompiledFunction(fn.name, source, ns["__make"], tr.is_generator)


# ---------------------------------------------------------------------------------------------
# The executor
# ---------------------------------------------------------------------------------------------

class Interpreter:
    """The executor for Config.strategy == "interpreter" (see engine.runtime.executor)."""

    def __init__(self, state: EngineState) -> None:
        settings = state.settings
        self.fuel = settings.consume_fuel
        self.epoch = settings.epoch_interruption
        #: wasm frames allowed per store before "call stack exhausted"
        self.max_depth = max(64, settings.max_wasm_stack // 32)
        #: per Module, its functions' translations (made once, shared by its instances)
        self._translations: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def prepare(self, instance: Instance) -> None:
        """Nothing to do up front: each function is translated and bound on its first call
        (the bound code is kept in its Func's ``code`` slot)."""

    def tls_initialize(self) -> None:
        """Nothing per thread: the interpreter keeps its call depth in the Store."""

    def translation(self, module: Any, index: int) -> CompiledFunction:
        """The translation of defined function `index` of `module`, made on first use."""
        table = self._translations.get(module)
        if table is None:
            table = self._translations.setdefault(module, {})
        compiled = table.get(index)
        if compiled is None:
            compiled = table[index] = compile_function(module.ir_function(index),
                                                       fuel=self.fuel, epoch=self.epoch)
        return compiled

    def _bound(self, instance: Instance, index: int) -> tuple:
        """(bound code, is generator, instance, index) of a defined function, made once."""
        func = instance.funcs[index]
        code = func.code
        if code.__class__ is not _Code:
            compiled = self.translation(instance.module, index)
            code = func.code = _Code((compiled.make(instance), compiled.is_generator, instance, index))
        return code

    def call(self, instance: Instance, func_index: int, args: Sequence[Any]) -> Sequence[Any]:
        try:
            return self._run(instance, func_index, args)
        except RecursionError:
            raise Trap(None, TrapCode.STACK_OVERFLOW) from None

    @staticmethod
    def _outside(store: Any, depth: int, base: int, callee: Any, cargs: tuple,
                 caller: Any) -> Sequence[Any]:
        """Call a host function or another executor's function from the driver."""
        store.depth = depth
        try:
            if callee.host is not None:
                return call_host(callee, cargs, caller)
            return callee.instance.executor.call(callee.instance, callee.index, cargs)
        finally:
            store.depth = base

    def _run(self, instance: Instance, func_index: int, args: Sequence[Any]) -> Sequence[Any]:
        store = instance.store
        base = store.depth
        limit = self.max_depth - 1
        if base >= limit:
            raise Trap(None, TrapCode.STACK_OVERFLOW)
        cur = self._bound(instance, func_index)
        stack: list[tuple] = []              # suspended callers: (generator, code)
        push, pop = stack.append, stack.pop
        depth = base + 1                      # frames live now, counting the current one
        leaf: tuple | None = None
        #: a wasm exception for the current frame's generator: raised at its call (`throw`),
        #: where a protected call catches it; one it does not catch goes to its caller
        exc: ThrownException | None = None
        try:
            if not cur[1]:
                return cur[0](*args)
            gen = cur[0](*args)
            send = gen.send
            value: Any = None
            while True:
                try:
                    if exc is None:
                        callee, cargs = send(value)
                    else:
                        exc, thrown = None, exc
                        callee, cargs = gen.throw(thrown)
                except StopIteration as stop:
                    value = stop.value
                    started = False
                    while value.__class__ is _Tail:     # run the callee in this frame's place
                        callee, cargs = value
                        code = callee.code
                        try:
                            if code.__class__ is not _Code:
                                if callee.host is not None or \
                                        callee.instance.executor is not self:
                                    value = self._outside(store, depth, base, callee, cargs,
                                                          cur[2])
                                    continue
                                code = self._bound(callee.instance, callee.index)
                            if not code[1]:
                                leaf = code
                                value = code[0](*cargs)
                                leaf = None
                                continue
                        except ThrownException as t:
                            exc = t     # the tail callee's: this frame's caller gets it
                            leaf = None
                            break
                        gen = code[0](*cargs)
                        send = gen.send
                        cur = code
                        started = True
                        break
                    if started:
                        value = None
                        continue
                    if not stack:
                        if exc is not None:
                            raise exc
                        return value
                    gen, cur = pop()
                    send = gen.send
                    depth -= 1
                    continue
                except ThrownException as t:
                    # the frame did not catch it: it unwinds to its caller
                    if not stack:
                        raise
                    exc = t
                    gen, cur = pop()
                    send = gen.send
                    depth -= 1
                    continue
                code = callee.code
                try:
                    if code.__class__ is not _Code:       # host, another executor's, or unbound
                        if callee.host is not None or callee.instance.executor is not self:
                            value = self._outside(store, depth, base, callee, cargs, cur[2])
                            continue
                        code = self._bound(callee.instance, callee.index)
                    if depth >= limit:
                        raise Trap(None, TrapCode.STACK_OVERFLOW)
                    if not code[1]:
                        leaf = code
                        value = code[0](*cargs)
                        leaf = None
                        continue
                except ThrownException as t:
                    exc = t     # to the frame that made the call
                    leaf = None
                    continue
                push((gen, cur))
                depth += 1
                gen = code[0](*cargs)
                send = gen.send
                cur = code
                value = None
        except Trap as e:
            # frames already on the trap are inner ones (a leaf called from generated code,
            # or the frames of a nested call through the host)
            chain = [] if leaf is None else [leaf]
            chain.append(cur)
            chain.extend(c for _, c in reversed(stack))
            _add_frames(e, chain)
            raise


# ---------------------------------------------------------------------------------------------
# Running IR without a module instance (tests, constant folding checks, pass validation)
# ---------------------------------------------------------------------------------------------

class _Callee:
    """A standalone call target as generated code sees it (``code`` None: always yields)."""

    __slots__ = ("target", "code")

    def __init__(self, target: Any) -> None:
        self.target = target
        self.code = None


class StandaloneContext:
    """What bound code reads from an instance, for IR run outside any module instance.
    `funcs` holds, per function index, an IR Function (called through the interpreter) or a
    Python callable taking and returning internal values (a tuple of results)."""

    def __init__(self, funcs: Sequence[Any] = (), mems: Sequence[Any] = (),
                 tables: Sequence[Any] = (), globals_: Sequence[Any] = (),
                 types: Sequence[Any] = ()) -> None:
        self.funcs = [_Callee(f) for f in funcs]
        self.mems = list(mems)
        self.tables = list(tables)
        self.globals = list(globals_)
        self.types = list(types)
        self.elems: list[list[Any]] = []
        self.datas: list[bytes] = []


def run_function(fn: Function, args: Sequence[int], ctx: StandaloneContext | None = None,
                 max_depth: int = 10_000) -> tuple:
    """Run IR function `fn` on internal values (see numerics: unsigned ints, float bits) and
    return its results as a tuple. Calls go to ``ctx.funcs[index]`` (IR Functions or Python
    callables). Traps raise Trap."""
    ctx = ctx or StandaloneContext()
    bound: dict[int, tuple[Callable[..., Any], bool]] = {}

    def code_of(f: Function) -> tuple[Callable[..., Any], bool]:
        entry = bound.get(id(f))
        if entry is None:
            compiled = compile_function(f)
            entry = bound[id(f)] = (compiled.make(ctx), compiled.is_generator)
        return entry

    main, is_gen = code_of(fn)
    if not is_gen:
        return main(*args)
    stack: list[Any] = []
    gen = main(*args)
    value: Any = None
    while True:
        try:
            callee, cargs = gen.send(value)
        except StopIteration as stop:
            value = stop.value
            if value.__class__ is _Tail:        # the callee takes the returning frame's place
                callee, cargs = value
                callee = callee.target
                if not isinstance(callee, Function):
                    value = tuple(callee(*cargs))
                else:
                    code, g = code_of(callee)
                    if g:
                        gen = code(*cargs)
                        value = None
                        continue
                    value = code(*cargs)
            if not stack:
                return value
            gen = stack.pop()
            continue
        callee = callee.target
        if not isinstance(callee, Function):
            value = tuple(callee(*cargs))
            continue
        code, g = code_of(callee)
        if len(stack) + 1 >= max_depth:
            raise Trap(None, TrapCode.STACK_OVERFLOW)
        if not g:
            value = code(*cargs)
            continue
        stack.append(gen)
        gen = code(*cargs)
        value = None
