"""First-tier code and what to compile it for first: the one definition lazy compilation
(engine.exec.lazy) and the compile-ahead process share.

A large module's first-tier code is compiled ahead of need by a forked process (a
forked.ForkedStream): the child that validates half of the module at Module() goes on, once
that half is valid, to compile the functions a program calls first (the start function, then
the exported functions, each followed depth-first by its callees in body order), then those
the element segments name. The Module keeps the stream until its LazyCode takes it; the
functions the program reaches before the child does are compiled where they are called.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..wasm.module import WasmModule
from ..wasm.opcodes import INFO, Imm, Op
from ..wasm.types import ExternKind
from .driver import function_ir

_CALLING = frozenset({int(Op.CALL), int(Op.RETURN_CALL), int(Op.REF_FUNC)})
_REF_FUNC = int(Op.REF_FUNC)
_UNREACHABLE = int(Op.UNREACHABLE)
#: the instructions after which the next one always runs (or the function traps): none that
#: opens or closes a block, branches, returns or throws
_STRAIGHT = frozenset(
    code for code, info in INFO.items()
    if info.imm not in (Imm.BLOCKTYPE, Imm.LABEL, Imm.BR_TABLE, Imm.TAG)
    and info.name not in ("else", "end", "return", "return_call", "return_call_indirect",
                          "return_call_ref", "throw_ref", "try_table", "unreachable"))


def first_tier(wasm: WasmModule, info: Any, backend: Any, index: int, baseline: bool,
               counted: bool, fuel: bool) -> tuple[bool, Any]:
    """(by the baseline tier, piece): defined function `index` compiled by the backend's
    baseline tier when `baseline` (with counting code for tier-up when `counted`), or by the
    optimising tier where the baseline refuses it or is not asked for."""
    piece = backend.baseline_function(wasm, info, index, counted) if baseline else None
    if piece is not None:
        return True, piece
    return False, backend.function_code(function_ir(wasm, index, fuel), info)


def callees(wasm: WasmModule, index: int) -> list[int]:
    """The defined functions that defined function `index` calls directly or takes a
    reference to, in the order of its body, but for calls on the way to a trap (the code
    after them reaches `unreachable` with no branch: a C program's abort or failed
    assertion, a Rust panic), which a program that runs as it should never makes: those
    callees are rarely needed (4% of such calls in five real programs, against 71% of the
    others), and an error report tends to be the largest callee."""
    out: dict[int, None] = {}
    first = wasm.num_imported_funcs
    end = first + len(wasm.funcs)
    body = wasm.codes[index - first].body
    last = len(body) - 1
    for k, ins in enumerate(body):
        if ins.op in _CALLING and first <= ins.imm < end and \
                ins.imm not in out:                             # type: ignore[operator]
            j = k + 1
            while j < last and body[j].op in _STRAIGHT:
                j += 1
            if body[j].op != _UNREACHABLE:
                out[ins.imm] = None                             # type: ignore[index]
    return list(out)


def compile_order(wasm: WasmModule, index: int) -> list[int]:
    """The callees of defined function `index` in the order the compile-ahead process takes
    them: the largest first (the longest compile the program would otherwise wait for, and
    the one that must start earliest to be ready in time), then the others in body order."""
    out = callees(wasm, index)
    if len(out) > 1:
        codes, first = wasm.codes, wasm.num_imported_funcs
        largest = max(out, key=lambda i: codes[i - first].weight())
        out.remove(largest)
        out.insert(0, largest)
    return out


def elem_functions(wasm: WasmModule) -> list[int]:
    """The defined functions the module's element segments name, in their order."""
    out: dict[int, None] = {}
    first = wasm.num_imported_funcs
    end = first + len(wasm.funcs)
    for seg in wasm.elems:
        for expr in seg.init:
            for ins in expr:
                if ins.op == _REF_FUNC and first <= ins.imm < end:  # type: ignore
                    out[ins.imm] = None                             # type: ignore
    return list(out)


def entry_functions(wasm: WasmModule) -> list[int]:
    """The defined functions a program is likely to call first: the start function, then
    the exported functions in export order."""
    out: dict[int, None] = {}
    first = wasm.num_imported_funcs
    if wasm.start is not None and wasm.start >= first:
        out[wasm.start] = None
    for exp in wasm.exports:
        if exp.kind == ExternKind.FUNC and exp.index >= first:
            out[exp.index] = None
    return list(out)


@dataclass(slots=True, frozen=True)
class AheadPlan:
    """How a module's first-tier code is compiled ahead of need: for `backend` (its class
    and ISA features name the LazyCode that may take the stream), with the first_tier flags
    `baseline`, `counted` and `fuel`."""

    backend: Any
    baseline: bool
    counted: bool
    fuel: bool

    def job(self, wasm: WasmModule, info: Callable[[], Any]) -> Callable[[int], Any]:
        """The child's job: a function index to its first_tier result (`info()` gives the
        module's ModuleInfo, built in the child)."""
        return lambda index: first_tier(wasm, info(), self.backend, index, self.baseline,
                                        self.counted, self.fuel)

    def fits(self, backend: Any) -> bool:
        """Whether code compiled by this plan is code for `backend`."""
        return type(backend) is type(self.backend) and \
            backend.features == self.backend.features
