"""Every spec-suite assertion the harness does not run, and the reference's known failures.

One place, each with its reason. A skipped assertion is counted as "skipped", never passed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True, frozen=True)
class Skip:
    """Skip one assertion (`line`) of `file` (a .wast stem), or the whole file (line None),
    of the suite named `suite` (suites.py)."""

    file: str
    line: int | None
    reason: str
    suite: str = "2.0/core"


# Python floats are doubles: an f32 signaling NaN is quieted by the f32<->double conversion
# at the API boundary, in wasmtime-py as in any API that passes f32 as float. Assertions
# whose outcome depends on an f32 sNaN crossing unchanged cannot run as written. (Those with
# an sNaN argument and a nan:arithmetic expectation still hold, so they are run.)
_SNAN_ARG = ("f32 signaling-NaN argument: quieted on its way in through a Python float, "
             "and the expected result keeps its exact bits")
_SNAN_RESULT = ("f32 signaling-NaN result: quieted on its way out through a Python float")

#: Assertions no API with wasmtime-py's value model can run as written.
SKIPS: tuple[Skip, ...] = (
    Skip("conversions", 628, _SNAN_RESULT),
    Skip("conversions", 629, _SNAN_RESULT),
    Skip("conversions", 657, _SNAN_ARG),
    Skip("conversions", 658, _SNAN_ARG),
    Skip("float_exprs", 1074, _SNAN_ARG),
    Skip("float_exprs", 1078, _SNAN_ARG),
    Skip("float_exprs", 1082, _SNAN_ARG),
    Skip("float_exprs", 1086, _SNAN_ARG),
    Skip("float_exprs", 1153, _SNAN_ARG),
    Skip("float_exprs", 1157, _SNAN_ARG),
    Skip("float_exprs", 1161, _SNAN_ARG),
    Skip("float_exprs", 1165, _SNAN_ARG),
    Skip("float_memory", 16, _SNAN_RESULT),
    Skip("float_memory", 22, _SNAN_RESULT),
    Skip("float_memory", 28, _SNAN_RESULT),
    Skip("float_memory", 68, _SNAN_RESULT),
    Skip("float_memory", 74, _SNAN_RESULT),
    Skip("float_memory", 80, _SNAN_RESULT),
    Skip("float_misc", 636, _SNAN_ARG),
    Skip("float_misc", 637, _SNAN_ARG),
    Skip("float_misc", 641, _SNAN_ARG),
    Skip("float_misc", 642, _SNAN_ARG),
    Skip("float_misc", 646, _SNAN_ARG),
    Skip("float_misc", 647, _SNAN_ARG),
    Skip("float_misc", 648, _SNAN_ARG),
    Skip("float_misc", 649, _SNAN_ARG),
    Skip("local_tee", 338, _SNAN_RESULT),
    Skip("simd_splat", 63, _SNAN_ARG, "2.0/simd"),
    Skip("select", 194, _SNAN_ARG),
    Skip("select", 200, _SNAN_ARG),
    Skip("select", 226, _SNAN_ARG),
    Skip("select", 232, _SNAN_ARG),
)

_GC = "not supported yet: the GC proposal (struct, array, i31, casts, subtyping)"
_GC_MODULE = ("not supported yet: the GC proposal; this module (or the module these commands "
              "use) needs it")
_RELAXED = "not supported yet: the relaxed SIMD proposal"


def _lines(file: str, lines: tuple[int, ...], reason: str) -> tuple[Skip, ...]:
    return tuple(Skip(file, line, reason, "3.0/core") for line in lines)


#: The 3.0 suite: the files of proposals polyjit does not implement yet, the GC modules (and
#: the commands that run on them) of files that are otherwise 3.0 without GC, and the same
#: signaling-NaN cases as in 2.0.
SKIPS_3_0: tuple[Skip, ...] = (
    *(Skip(f, None, _GC, "3.0/core") for f in (
        "array", "array_copy", "array_fill", "array_init_data", "array_init_elem",
        "array_new_data", "array_new_elem", "binary-gc", "br_on_cast", "br_on_cast_fail",
        "extern", "i31", "ref_cast", "ref_eq", "ref_null", "ref_test", "struct", "type-canon",
        "type-rec", "type-subtyping")),
    *(Skip(f, None, _RELAXED, "3.0/core") for f in (
        "i16x8_relaxed_q15mulr_s", "i32x4_relaxed_trunc", "i8x16_relaxed_swizzle",
        "relaxed_dot_product", "relaxed_laneselect", "relaxed_madd_nmadd", "relaxed_min_max")),
    *_lines("data", (89, 90), _GC_MODULE),
    *_lines("elem", (178, 182), _GC_MODULE),
    *_lines("global", (373, 374, 634, 659, 660, 661, 663, 664), _GC_MODULE),
    *_lines("table_init", (2272, 2286), _GC_MODULE),
    *_lines("table_init64", (2457, 2471), _GC_MODULE),
    *_lines("tag", (30, 40, 49), _GC_MODULE),
    *(Skip(s.file, s.line, s.reason, "3.0/core") for s in SKIPS
      if s.file not in ("select",)),
    *_lines("select", (230, 236, 262, 268), _SNAN_ARG),
    *_lines("float_memory0", (21, 27, 33), _SNAN_RESULT),
    *_lines("float_memory64", (16, 22, 28, 68, 74, 80), _SNAN_RESULT),
)

#: Assertions wasmtime-py (default features) fails for reasons that are not harness bugs:
#: it implements WebAssembly 3.0, which changed these rules, and its text parser is a WAT
#: parser with lints. Used only when checking the harness against wasmtime; polyjit (a 2.0
#: engine) must pass them.
_R_LEB = ("3.0 (memory64) reads memory limits as u64, so a 6-byte LEB128 limit is no "
          "longer too long")
_R_ZERO = ("3.0 (multi-memory, reference types) reads the reserved 0x00 byte of memory "
           "instructions / call_indirect as an index LEB128, so a long zero is accepted")
_R_CONST = ("3.0 (extended constant expressions) lets global.get in a constant expression "
            "name any earlier global, not only imported ones")
_R_MULTIMEM = "3.0 (multi-memory) allows more than one memory"
_R_QUOTE = ("text module check: wasmtime.wat2wasm parses WAT, not the script-only "
            "(module quote ...) form (wast2json numbers this module's line 0)")
_R_CONFUSABLE = ("text module check: wasmtime.wat2wasm refuses 'likely-confusing' Unicode "
                 "(U+202E) in names, which the spec allows")

REFERENCE_KNOWN_FAILURES: tuple[Skip, ...] = (
    Skip("binary-leb128", 218, _R_LEB),
    Skip("binary-leb128", 226, _R_LEB),
    Skip("comments", 0, _R_QUOTE),
    Skip("names", 19, _R_CONFUSABLE),
    Skip("binary", 146, _R_ZERO),
    Skip("binary", 166, _R_ZERO),
    Skip("binary", 185, _R_ZERO),
    Skip("binary", 204, _R_ZERO),
    Skip("binary", 243, _R_ZERO),
    Skip("binary", 262, _R_ZERO),
    Skip("binary", 280, _R_ZERO),
    Skip("binary", 298, _R_ZERO),
    Skip("data", 89, _R_CONST),
    Skip("data", 93, _R_CONST),
    Skip("elem", 171, _R_CONST),
    Skip("elem", 175, _R_CONST),
    Skip("global", 352, _R_CONST),
    Skip("global", 356, _R_CONST),
    Skip("imports", 488, _R_MULTIMEM),
    Skip("imports", 492, _R_MULTIMEM),
    Skip("imports", 496, _R_MULTIMEM),
    Skip("memory", 10, _R_MULTIMEM),
    Skip("memory", 11, _R_MULTIMEM),
)

_BY_KEY = {(s.suite, s.file, s.line): s for s in (*SKIPS, *SKIPS_3_0)}


def skip_for(file: str, line: int, suite: str = "2.0/core") -> Skip | None:
    """The Skip covering assertion `line` of `file` in `suite`, if any."""
    return _BY_KEY.get((suite, file, line)) or _BY_KEY.get((suite, file, None))
