"""A generator of valid WebAssembly modules (as WAT text) aimed at the compilers.

The modules exercise: every i32/i64/f32/f64 operator on edge-value constants; multi-value blocks
(results feeding `select`, `br_if` carrying values), blocks with parameters; loops that always
terminate (a fresh counter per loop, at most 7 trips, loops nested at most twice); `br_table`;
register pressure (right-nested expression trees keeping many values live, many locals, calls
under live values); signatures with more parameters and results than registers (stack-passed
arguments, multi-value returns through memory); loads and stores of every width at addresses around the memory's end;
memory.size/grow/fill/copy; direct calls (to lower-numbered functions only, so no recursion),
`call_indirect` through a table with good, null, out-of-range and type-mismatched entries
(structurally equal types declared twice); globals of every type; table.get/set/size/grow.

Every decision comes from a Chooser (gen/choosers.py), so the same code serves hypothesis
(with shrinking), seeded campaigns and libFuzzer bytes."""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

from . import simd
from .choosers import Chooser, pick, weighted

TYPES = ("i32", "i64", "f32", "f64")
INT_BIN = ("add", "sub", "mul", "div_s", "div_u", "rem_s", "rem_u", "and", "or", "xor", "shl",
           "shr_s", "shr_u", "rotl", "rotr")
INT_BIN_SAFE = ("add", "sub", "mul", "and", "or", "xor", "shl", "shr_s", "shr_u", "rotl", "rotr")
FLOAT_BIN = ("add", "sub", "mul", "div", "min", "max", "copysign")
FLOAT_BIN_SAFE = ("add", "sub", "mul", "min", "max")
INT_UN = {"i32": ("clz", "ctz", "popcnt", "extend8_s", "extend16_s"),
          "i64": ("clz", "ctz", "popcnt", "extend8_s", "extend16_s", "extend32_s")}
FLOAT_UN = ("abs", "neg", "sqrt", "ceil", "floor", "trunc", "nearest")
INT_CMP = ("eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u")
FLOAT_CMP = ("eq", "ne", "lt", "gt", "le", "ge")
CONVERSIONS = {  # result type -> (instruction, operand type)
    "i32": (("i32.wrap_i64", "i64"), ("i32.trunc_f32_s", "f32"), ("i32.trunc_f32_u", "f32"),
            ("i32.trunc_f64_s", "f64"), ("i32.trunc_f64_u", "f64"),
            ("i32.trunc_sat_f32_s", "f32"), ("i32.trunc_sat_f32_u", "f32"),
            ("i32.trunc_sat_f64_s", "f64"), ("i32.trunc_sat_f64_u", "f64"),
            ("i32.reinterpret_f32", "f32")),
    "i64": (("i64.extend_i32_s", "i32"), ("i64.extend_i32_u", "i32"),
            ("i64.trunc_f32_s", "f32"), ("i64.trunc_f32_u", "f32"),
            ("i64.trunc_f64_s", "f64"), ("i64.trunc_f64_u", "f64"),
            ("i64.trunc_sat_f32_s", "f32"), ("i64.trunc_sat_f32_u", "f32"),
            ("i64.trunc_sat_f64_s", "f64"), ("i64.trunc_sat_f64_u", "f64"),
            ("i64.reinterpret_f64", "f64")),
    "f32": (("f32.convert_i32_s", "i32"), ("f32.convert_i32_u", "i32"),
            ("f32.convert_i64_s", "i64"), ("f32.convert_i64_u", "i64"),
            ("f32.demote_f64", "f64"), ("f32.reinterpret_i32", "i32")),
    "f64": (("f64.convert_i32_s", "i32"), ("f64.convert_i32_u", "i32"),
            ("f64.convert_i64_s", "i64"), ("f64.convert_i64_u", "i64"),
            ("f64.promote_f32", "f32"), ("f64.reinterpret_i64", "i64")),
}
LOADS = {"i32": (("i32.load", 4), ("i32.load8_s", 1), ("i32.load8_u", 1), ("i32.load16_s", 2),
                 ("i32.load16_u", 2)),
         "i64": (("i64.load", 8), ("i64.load8_s", 1), ("i64.load8_u", 1), ("i64.load16_s", 2),
                 ("i64.load16_u", 2), ("i64.load32_s", 4), ("i64.load32_u", 4)),
         "f32": (("f32.load", 4),), "f64": (("f64.load", 8),)}
STORES = {"i32": (("i32.store", 4), ("i32.store8", 1), ("i32.store16", 2)),
          "i64": (("i64.store", 8), ("i64.store8", 1), ("i64.store16", 2), ("i64.store32", 4)),
          "f32": (("f32.store", 4),), "f64": (("f64.store", 8),)}

I32_EDGES = (0, 1, -1, 2, 3, 7, 8, 31, 32, 33, 63, 64, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000,
             0xFFFF, 0x10000, 0x7FFFFFFF, -0x80000000, -0x7FFFFFFF, 0x55555555, -2, 100, -100)
I64_EDGES = (0, 1, -1, 2, 31, 32, 63, 64, 65, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
             0x100000000, 0x7FFFFFFFFFFFFFFF, -0x8000000000000000, -0x7FFFFFFFFFFFFFFF,
             0x5555555555555555, -2, 1000, -1000, 1 << 53, (1 << 53) + 1, -(1 << 63) + (1 << 11))
FLOAT_EDGES = (0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 3.5, 0.49999999999999994,
               math.inf, -math.inf, math.nan, -math.nan, 2147483647.0, 2147483648.0,
               -2147483648.0, -2147483649.0, 4294967295.0, 4294967296.0, -1.0e-300,
               9223372036854775807.0, 9223372036854775808.0, -9223372036854775808.0,
               18446744073709551615.0, 18446744073709551616.0, 1e38, 3.4028234663852886e38,
               1.401298464324817e-45, 1.1754943508222875e-38, 5e-324, 1.7976931348623157e308,
               0.1, 123456.789, -0.75, 16777217.0, 9007199254740993.0)
#: NaN literals with a payload (arithmetic NaNs, a signalling NaN).
NAN_LITERALS = {"f32": ("nan:0x200000", "-nan:0x7fffff", "nan:0x1"),
                "f64": ("nan:0x8000000000000", "-nan:0xfffffffffffff", "nan:0x1")}
MAX_PAGES = 4
TABLE_MAX = 12


def _fmt_float(ty: str, x: float) -> str:
    if math.isnan(x):
        return "-nan" if math.copysign(1.0, x) < 0 else "nan"
    if math.isinf(x):
        return "-inf" if x < 0 else "inf"
    if ty == "f32":
        try:
            x = struct.unpack("<f", struct.pack("<f", x))[0]
        except OverflowError:
            x = math.copysign(3.4028234663852886e38, x)
    return x.hex()


@dataclass(slots=True)
class Sig:
    """A function type of the module (declared as `(type $name ...)`)."""

    name: str
    params: tuple[str, ...]
    results: tuple[str, ...]

    def wat(self) -> str:
        p = f" (param {' '.join(self.params)})" if self.params else ""
        r = f" (result {' '.join(self.results)})" if self.results else ""
        return f"(type ${self.name} (func{p}{r}))"


#: Signatures of the table's leaf functions. Multi-result ones end in (t t i32) so a `select`
#: consumes them; $dup is structurally $unary (call_indirect must accept either).
SIGS = (Sig("unary", ("i32",), ("i32",)), Sig("wide64", ("i64", "i32"), ("i64",)),
        Sig("fun64", ("f64",), ("f64",)), Sig("fbin32", ("f32", "f32"), ("f32",)),
        Sig("pair64", (), ("i64", "i64", "i32")), Sig("ibin", ("i32", "i32"), ("i32",)),
        Sig("pairf", ("f64",), ("f64", "f64", "i32")), Sig("dup", ("i32",), ("i32",)),
        Sig("none", (), ()))


@dataclass(slots=True)
class FuncInfo:
    name: str
    params: tuple[str, ...]
    results: tuple[str, ...]
    exported: bool = True


@dataclass(slots=True)
class GeneratedModule:
    """A module's text and what the caller needs to drive it."""

    wat: str
    funcs: list[FuncInfo]                       # exported functions, callable from outside
    pages: int


@dataclass(slots=True)
class _Fn:
    """The function being generated: its locals and label counter."""

    locals: list[str]
    nparams: int
    results: tuple[str, ...]
    callees: list[FuncInfo]
    labels: int = 0
    loop_depth: int = 0
    counters: set[int] = field(default_factory=set)   # loop counters: never written elsewhere

    def label(self, prefix: str) -> str:
        self.labels += 1
        return f"${prefix}{self.labels}"

    def new_local(self, ty: str) -> int:
        self.locals.append(ty)
        return len(self.locals) - 1

    def writable(self, ty: str | None = None) -> list[int]:
        """Locals that statements may assign (of type `ty` if given): not loop counters."""
        return [i for i, t in enumerate(self.locals)
                if i not in self.counters and (ty is None or t == ty) and t != "v128"]


@dataclass(slots=True)
class Limits:
    """Size knobs (defaults keep one module in the low milliseconds on the interpreter)."""

    max_funcs: int = 5
    max_params: int = 4
    max_results: int = 3
    max_locals: int = 24
    max_stmts: int = 6
    max_depth: int = 4
    max_calls: int = 6
    #: modules may use SIMD (then backends without it are unavailable for them)
    simd: bool = True


@dataclass(slots=True)
class ModuleGen:
    c: Chooser
    limits: Limits = field(default_factory=Limits)
    pages: int = 1
    table_size: int = 8
    leaves: dict[str, str] = field(default_factory=dict)   # sig name -> leaf function name
    fn: _Fn | None = None
    allow_calls: bool = True
    imports: list[FuncInfo] = field(default_factory=list)   # host functions imported
    simd: bool = False                      # this module computes through SIMD (gen/simd.py)

    # -- constants ---------------------------------------------------------------------------

    def const(self, t: str) -> str:
        c = self.c
        if t in ("i32", "i64"):
            bits = 32 if t == "i32" else 64
            kind = c.integer(0, 9)
            if kind < 7:
                v = pick(c, I32_EDGES if t == "i32" else I64_EDGES)
            elif kind < 9:
                v = c.integer(-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
            else:
                v = c.integer(-300, 300)
            v = (v + (1 << (bits - 1))) % (1 << bits) - (1 << (bits - 1))
            return f"({t}.const {v})"
        kind = c.integer(0, 9)
        if kind < 7:
            text = _fmt_float(t, pick(c, FLOAT_EDGES))
        elif kind < 8:
            text = pick(c, NAN_LITERALS[t])
        else:
            m = c.integer(-(1 << 20), 1 << 20)
            e = c.integer(-30, 30)
            text = _fmt_float(t, math.ldexp(m, e))
        return f"({t}.const {text})"

    # -- expressions ---------------------------------------------------------------------------

    def canon(self, t: str, text: str) -> str:
        """`text` (a float value) with any NaN replaced by the canonical positive NaN. Used where
        NaN bits would become observable (stores, reinterpretations, copysign's sign): the spec
        leaves the sign and payload of a NaN result to the implementation, so without this two
        correct engines disagree (wasm-smith's --canonicalize-nans does the same)."""
        if t not in ("f32", "f64"):
            return text
        s = self.fn.new_local(t)
        return (f"(block (result {t}) (local.set {s} {text}) (select ({t}.const nan) "
                f"(local.get {s}) ({t}.ne (local.get {s}) (local.get {s}))))")

    def leaf(self, t: str) -> str:
        fn = self.fn
        idx = [i for i, lt in enumerate(fn.locals) if lt == t]
        k = self.c.integer(0, 5)
        if k >= 2 and idx:
            return f"(local.get {pick(self.c, idx)})"
        if k == 1:
            return f"(global.get $g_{t})"
        return self.const(t)

    def expr(self, t: str, depth: int) -> str:
        if t == "v128":
            return simd.vexpr(self, depth)
        if depth <= 0:
            return self.leaf(t)
        c, d = self.c, depth - 1
        kind = weighted(c, (
            (6, "leaf"), (14, "binop"), (5, "unop"), (6, "compare"), (6, "convert"), (3, "select"),
            (4, "if"), (3, "multivalue"), (2, "blockparams"), (3, "loop"), (6, "load"),
            (4, "call"), (3, "call_indirect"), (2, "br_table"), (2, "memory"), (2, "table"),
            (3, "pressure"), (2, "tee"), (1, "sum_locals"), (2, "global_const"), (4, "simd")))
        return getattr(self, "_e_" + kind)(t, d)

    def _e_simd(self, t: str, d: int) -> str:
        if not self.simd:
            return self._e_binop(t, d)
        return simd.simd_expr(self, t, d)

    def _e_leaf(self, t: str, d: int) -> str:
        return self.leaf(t)

    def _e_global_const(self, t: str, d: int) -> str:
        return "(global.get $gc)" if t == "i32" else self.leaf(t)

    def _e_binop(self, t: str, d: int) -> str:
        op = pick(self.c, INT_BIN if t[0] == "i" else FLOAT_BIN)
        if op == "copysign":
            return f"({t}.{op} {self.expr(t, d)} {self.canon(t, self.expr(t, d))})"
        return f"({t}.{op} {self.expr(t, d)} {self.expr(t, d)})"

    def _e_unop(self, t: str, d: int) -> str:
        if t[0] == "i":
            if t == "i32" and self.c.chance(25):
                ot = pick(self.c, ("i32", "i64"))
                return f"({ot}.eqz {self.expr(ot, d)})"
            return f"({t}.{pick(self.c, INT_UN[t])} {self.expr(t, d)})"
        return f"({t}.{pick(self.c, FLOAT_UN)} {self.expr(t, d)})"

    def _e_compare(self, t: str, d: int) -> str:
        if t != "i32":
            return self._e_convert(t, d)
        ot = pick(self.c, TYPES)
        op = pick(self.c, INT_CMP if ot[0] == "i" else FLOAT_CMP)
        return f"({ot}.{op} {self.expr(ot, d)} {self.expr(ot, d)})"

    def _e_convert(self, t: str, d: int) -> str:
        ins, ot = pick(self.c, CONVERSIONS[t])
        operand = self.expr(ot, d)
        if "reinterpret" in ins:
            operand = self.canon(ot, operand)
        return f"({ins} {operand})"

    def _e_select(self, t: str, d: int) -> str:
        typed = f" (result {t})" if self.c.chance(50) else ""
        return f"(select{typed} {self.expr(t, d)} {self.expr(t, d)} {self.expr('i32', d)})"

    def _e_if(self, t: str, d: int) -> str:
        cond = self.expr("i32", d)
        then = self.block_body(t, d)
        other = self.block_body(t, d)
        return f"(if (result {t}) {cond} (then {then}) (else {other}))"

    def block_body(self, t: str, d: int) -> str:
        """Statements then a value of type t (a block's or branch's contents)."""
        stmts = [self.stmt(max(d - 1, 0)) for _ in range(self.c.integer(0, 2))]
        return " ".join(stmts + [self.expr(t, d)])

    def _e_multivalue(self, t: str, d: int) -> str:
        """A block of results (t t i32) that may exit early through br_if carrying them all."""
        lab = self.fn.label("mv")
        vals = f"{self.expr(t, d)} {self.expr(t, d)} {self.expr('i32', d)}"
        early = ""
        if self.c.chance(70):
            early = f" (br_if {lab} {self.expr('i32', d)}) (drop) (drop) (drop) {vals}"
        if t == "i32" and self.c.chance(30):
            inner = f"(block {lab} (result i32 i32) {self.expr(t, d)} {self.expr('i32', d)}"
            if self.c.chance(60):
                inner += f" (br_if {lab} {self.expr('i32', d)}) (drop) (drop) (i32.const 5) (i32.const 6)"
            return f"(i32.sub {inner}))"
        return f"(select (block {lab} (result {t} {t} i32) {vals}{early}))"

    def _e_blockparams(self, t: str, d: int) -> str:
        """Two operands on the stack consumed by a block with parameters."""
        op = pick(self.c, INT_BIN_SAFE if t[0] == "i" else FLOAT_BIN_SAFE)
        return (f"(block (result {t}) {self.expr(t, d)} {self.expr(t, d)} "
                f"(block (param {t} {t}) (result {t}) ({t}.{op})))")

    def _e_loop(self, t: str, d: int) -> str:
        fn = self.fn
        if fn.loop_depth >= 2:
            return self._e_binop(t, d)
        counter = fn.new_local("i32")
        fn.counters.add(counter)
        loop, out = fn.label("loop"), fn.label("out")
        fn.loop_depth += 1
        trips = f"(i32.and {self.expr('i32', d)} (i32.const 7))"
        body = [self.stmt(max(d - 1, 0)) for _ in range(self.c.integer(1, 3))]
        if self.c.chance(30):
            body.append(f"(drop (br_if {out} {self.expr(t, d)} {self.expr('i32', d)}))")
        body.append(f"(br_if {loop} (i32.gt_s (local.tee {counter} (i32.add (local.get {counter}) "
                    f"(i32.const -1))) (i32.const 0)))")
        body.append(self.expr(t, d))
        fn.loop_depth -= 1
        return (f"(block {out} (result {t}) (local.set {counter} {trips}) "
                f"(loop {loop} (result {t}) {' '.join(body)}))")

    def address(self, width: int, d: int) -> str:
        c = self.c
        k = c.integer(0, 19)
        if k < 4:
            end = self.pages * 65536
            base = pick(c, (0, 1, 8, 100, end - width, end - width + 1, end - 1, end, end + 1,
                            end - 8, end - 16, 65536 * MAX_PAGES, 0xFFFFFFFF, 0xFFFFFFF8, 0x7FFFFFFF))
            return f"(i32.const {base & 0xFFFFFFFF})"
        if k < 8:
            delta = c.integer(0, 20)
            return f"(i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const {delta}))"
        if k < 19:
            mask = pick(c, (0xFFF8, 0xFFFF, 0x7FF, 0xFF, 0x1FFFF))
            return f"(i32.and {self.expr('i32', d)} (i32.const {mask}))"
        return self.expr("i32", d)

    def memarg(self, width: int) -> str:
        c = self.c
        k = c.integer(0, 9)
        if k < 6:
            offset = 0
        elif k < 9:
            offset = pick(c, (1, 2, 3, 4, 7, 8, 16, 100))
        else:
            offset = pick(c, (65535, 65536, 0xFFFFFFFF, 0x7FFFFFFF))
        text = f" offset={offset}" if offset else ""
        if c.chance(15):
            text += f" align={pick(c, [a for a in (1, 2, 4, 8) if a <= width])}"
        return text

    def _e_load(self, t: str, d: int) -> str:
        ins, width = pick(self.c, LOADS[t])
        return f"({ins}{self.memarg(width)} {self.address(width, d)})"

    def _e_call(self, t: str, d: int) -> str:
        fn, c = self.fn, self.c
        if not self.allow_calls:
            return self._e_binop(t, d)
        options = [f for f in fn.callees if t in f.results and fn.loop_depth == 0]
        options += [f for f in self.imports if t in f.results]
        options += [FuncInfo(self.leaves[s.name], s.params, s.results) for s in SIGS
                    if s.results and s.results[0] == t and s.name in self.leaves]
        if not options:
            return self._e_binop(t, d)
        f = pick(c, options)
        args = " ".join(self.expr(p, d) for p in f.params)
        call = f"(call ${f.name}{' ' + args if args else ''})"
        return self.pick_result(f.results, t, call)

    def pick_result(self, results: tuple[str, ...], t: str, seq: str) -> str:
        """An expression of type t from instructions leaving `results` on the stack: keep one of
        the t results in a scratch local, drop the others."""
        if results == (t,):
            return seq
        if len(results) == 3 and results[0] == results[1] == t and results[2] == "i32" \
                and self.c.chance(70):
            return f"(select {seq})"
        fn = self.fn
        keep = [i for i, r in enumerate(results) if r == t]
        k = pick(self.c, keep)
        scratch = fn.new_local(t)
        tail = []
        for i in range(len(results) - 1, -1, -1):
            tail.append(f"(local.set {scratch})" if i == k else "(drop)")
        return f"(block (result {t}) {seq} {' '.join(tail)} (local.get {scratch}))"

    def _e_call_indirect(self, t: str, d: int) -> str:
        if not self.allow_calls:
            return self._e_binop(t, d)
        options = [s for s in SIGS if t in s.results]
        sig = pick(self.c, options)
        args = " ".join(self.expr(p, d) for p in sig.params)
        idx = self.table_index(d)
        call = f"(call_indirect $tab (type ${sig.name}){' ' + args if args else ''} {idx})"
        return self.pick_result(sig.results, t, call)

    def table_index(self, d: int) -> str:
        if self.c.chance(60):
            return f"(i32.const {self.c.integer(0, self.table_size + 2)})"
        return f"(i32.and {self.expr('i32', d)} (i32.const {pick(self.c, (7, 15, 3))}))"

    def _e_br_table(self, t: str, d: int) -> str:
        fn, c = self.fn, self.c
        n = c.integer(1, 4)
        out = fn.label("bt")
        cases = [fn.label("case") for _ in range(n)]
        targets = [pick(c, cases) for _ in range(c.integer(0, 5))] + [pick(c, cases)]
        if c.chance(50):
            idx = f"(i32.const {c.integer(0, len(targets) + 1)})"
        else:
            idx = self.expr("i32", d)
        text = f"(block {cases[0]} (br_table {' '.join(targets)} {idx}))"
        for i in range(1, n):
            text = f"(block {cases[i]} {text} (br {out} {self.expr(t, d)}))"
        if c.chance(40):
            # a value carried by br_table into a block with a result
            lab = fn.label("carry")
            inner = (f"(block {lab} (result {t}) {self.expr(t, d)} (br_table {lab} {out} "
                     f"{self.expr('i32', d)}))")
            return f"(block {out} (result {t}) {text} {inner})"
        return f"(block {out} (result {t}) {text} {self.expr(t, d)})"

    def _e_memory(self, t: str, d: int) -> str:
        if t != "i32":
            return self._e_load(t, d)
        if self.c.chance(50):
            return "(memory.size)"
        delta = pick(self.c, ("(i32.const 0)", "(i32.const 1)", "(i32.const 2)", "(i32.const -1)",
                              f"(i32.and {self.expr('i32', d)} (i32.const 3))"))
        return f"(memory.grow {delta})"

    def _e_table(self, t: str, d: int) -> str:
        if t != "i32":
            return self._e_call_indirect(t, d)
        k = self.c.integer(0, 2)
        if k == 0:
            return "(table.size $tab)"
        if k == 1:
            return f"(ref.is_null (table.get $tab {self.table_index(d)}))"
        return f"(table.grow $tab (ref.null func) (i32.and {self.expr('i32', d)} (i32.const 3)))"

    def _e_pressure(self, t: str, d: int) -> str:
        """A right-nested chain: every left operand stays live while the rest is computed;
        optionally a call at the bottom (live values across a call)."""
        n = self.c.integer(4, 20)
        ops = INT_BIN_SAFE if t[0] == "i" else FLOAT_BIN_SAFE
        inner = self._e_call(t, 1) if self.c.chance(40) else self.expr(t, 1)
        for _ in range(n):
            inner = f"({t}.{pick(self.c, ops)} {self.expr(t, min(d, 1))} {inner})"
        return inner

    def _e_tee(self, t: str, d: int) -> str:
        idx = self.fn.writable(t)
        if not idx:
            return self._e_binop(t, d)
        return f"(local.tee {pick(self.c, idx)} {self.expr(t, d)})"

    def _e_sum_locals(self, t: str, d: int) -> str:
        idx = [i for i, lt in enumerate(self.fn.locals) if lt == t]
        if not idx:
            return self.leaf(t)
        op = "add"
        text = f"(local.get {idx[0]})"
        for i in idx[1:]:
            text = f"({t}.{op} {text} (local.get {i}))"
        return text

    # -- statements ----------------------------------------------------------------------------

    def stmt(self, depth: int) -> str:
        c, fn = self.c, self.fn
        kind = weighted(c, ((8, "set"), (5, "store"), (3, "global"), (2, "if"), (2, "drop"),
                            (1, "return"), (1, "table_set"), (1, "bulk"), (1, "trap"), (1, "nop")))
        t = pick(c, TYPES)
        if kind == "set" and fn.writable():
            i = pick(c, fn.writable())
            return f"(local.set {i} {self.expr(fn.locals[i], depth)})"
        if kind == "store":
            ins, width = pick(c, STORES[t])
            value = self.canon(t, self.expr(t, depth))
            return f"({ins}{self.memarg(width)} {self.address(width, depth)} {value})"
        if kind == "global":
            return f"(global.set $g_{t} {self.expr(t, depth)})"
        if kind == "if":
            then = " ".join(self.stmt(max(depth - 1, 0)) for _ in range(c.integer(1, 2)))
            other = " ".join(self.stmt(max(depth - 1, 0)) for _ in range(c.integer(0, 2)))
            els = f" (else {other})" if other else ""
            return f"(if {self.expr('i32', depth)} (then {then}){els})"
        if kind == "drop":
            return f"(drop {self.expr(t, depth)})"
        if kind == "return":
            vals = " ".join(self.expr(r, max(depth - 1, 0)) for r in fn.results)
            return f"(if {self.expr('i32', depth)} (then (return{' ' + vals if vals else ''})))"
        if kind == "table_set":
            if self.leaves and c.chance(70):
                val = f"(ref.func ${pick(c, sorted(self.leaves.values()))})"
            else:
                val = "(ref.null func)"
            return f"(table.set $tab {self.table_index(depth)} {val})"
        if kind == "bulk":
            n = f"(i32.const {pick(c, (0, 1, 4, 16, 100))})"
            dst = self.address(16, depth)
            if c.chance(50):
                return f"(memory.fill {dst} {self.expr('i32', max(depth - 1, 0))} {n})"
            return f"(memory.copy {dst} {self.address(16, depth)} {n})"
        if kind == "trap":
            return f"(if {self.expr('i32', depth)} (then (unreachable)))"
        return "(nop)"

    # -- whole module --------------------------------------------------------------------------

    def function(self, name: str, params: tuple[str, ...], results: tuple[str, ...],
                 callees: list[FuncInfo], export: bool, nstmts: int, depth: int,
                 nlocals: int) -> str:
        c = self.c
        extra = [pick(c, TYPES) for _ in range(nlocals)]
        self.fn = _Fn(list(params) + extra, len(params), results, callees)
        body = [self.stmt(depth) for _ in range(nstmts)]
        body += [self.expr(r, depth) for r in results]
        fn_locals = self.fn.locals[len(params):]
        self.fn = None
        head = f"(func ${name}"
        if export:
            head += f' (export "{name}")'
        if params:
            head += f" (param {' '.join(params)})"
        if results:
            head += f" (result {' '.join(results)})"
        if fn_locals:
            head += f" (local {' '.join(fn_locals)})"
        return head + "\n    " + "\n    ".join(body) + ")"

    def module(self) -> GeneratedModule:
        c, lim = self.c, self.limits
        self.pages = pick(c, (1, 1, 1, 2, 0))
        self.table_size = c.integer(2, 8)
        self.simd = lim.simd and c.chance(30)
        parts = ["(module"]
        parts += ["  " + s.wat() for s in SIGS]
        from ..host import HOST_FUNCS
        self.imports = []
        for name, (params, results, _) in HOST_FUNCS.items():
            if c.chance(40):
                p = f" (param {' '.join(params)})" if params else ""
                r = f" (result {' '.join(results)})" if results else ""
                parts.append(f'  (import "host" "{name}" (func ${name}{p}{r}))')
                self.imports.append(FuncInfo(name, params, results, exported=False))
        parts.append(f'  (memory $mem (export "mem") {self.pages} {MAX_PAGES})')
        parts.append(f'  (table $tab (export "tab") {self.table_size} {TABLE_MAX} funcref)')
        for t in TYPES:
            parts.append(f'  (global $g_{t} (export "g_{t}") (mut {t}) {self.const(t)})')
        parts.append(f'  (global $gc (export "gc") i32 {self.const("i32")})')
        # leaf functions: one per table signature (some omitted), no calls, no loops
        self.allow_calls = False
        leaf_sigs = [s for s in SIGS if s.name != "dup" and (s.name == "unary" or c.chance(75))]
        for s in leaf_sigs:
            name = f"leaf_{s.name}"
            self.leaves[s.name] = name
            parts.append("  " + self.function(name, s.params, s.results, [], False,
                                              c.integer(0, 2), 2, c.integer(0, 2)).replace(
                f"(func ${name}", f"(func ${name} (type ${s.name})", 1))
        self.allow_calls = True
        # the table: leaves in some slots, the rest null
        slots = []
        for _ in range(c.integer(0, self.table_size)):
            slots.append(self.leaves[pick(c, leaf_sigs).name])
        if slots:
            offset = c.integer(0, self.table_size - len(slots))
            parts.append(f"  (elem (i32.const {offset}) func {' '.join('$' + n for n in slots)})")
        parts.append(f"  (elem declare func {' '.join('$' + n for n in self.leaves.values())})")
        if self.pages and c.chance(70):
            size = c.integer(1, 24)
            at = pick(c, (0, 16, 1000, self.pages * 65536 - size))
            data = "".join(f"\\{c.integer(0, 255):02x}" for _ in range(size))
            parts.append(f'  (data (i32.const {at}) "{data}")')
        funcs: list[FuncInfo] = []
        for i in range(c.integer(1, lim.max_funcs)):
            # now and then more parameters/results than any ABI passes in registers
            nparams = c.integer(0, lim.max_params) if not c.chance(15) else c.integer(6, 14)
            nresults = c.integer(0, lim.max_results) if not c.chance(10) else c.integer(4, 6)
            params = tuple(pick(c, TYPES) for _ in range(nparams))
            results = tuple(pick(c, TYPES) for _ in range(nresults))
            info = FuncInfo(f"f{i}", params, results)
            parts.append("  " + self.function(info.name, params, results, list(funcs), True,
                                              c.integer(0, lim.max_stmts),
                                              c.integer(1, lim.max_depth),
                                              c.integer(0, lim.max_locals)))
            funcs.append(info)
        parts.append(")")
        return GeneratedModule("\n".join(parts) + "\n", funcs, self.pages)


def generate(c: Chooser, limits: Limits | None = None) -> GeneratedModule:
    """A module's text and its exported functions, every decision taken from `c`."""
    return ModuleGen(c, limits or Limits()).module()
