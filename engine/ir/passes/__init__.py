"""IR passes, one file each (fold, copyprop, simplify, licm, gvn, dce, merge), and the pass manager
that runs them and, when asked, the verifier after every pass. The compile driver
(engine.compile.driver.function_ir) runs heapcheck (redundant bounds checks; exported here but
kept out of PASSES) and then DEFAULT_PIPELINE on every function, for every strategy."""

from __future__ import annotations

from typing import Callable, Sequence

from ...wasm.module import WasmModule
from ..errors import IRError, VerifierError
from ..gcpause import gc_paused
from ..ir import Function
from ..verifier import verify
from .copyprop import copyprop
from .dce import dce
from .fold import fold
from .gvn import gvn
from .heapcheck import eliminate_heap_checks
from .licm import licm
from .merge import merge_blocks
from .simplify import simplify

#: Pass name -> function(func) -> bool (True if it changed something).
PASSES: dict[str, Callable[[Function], bool]] = {
    "fold": fold,
    "copyprop": copyprop,
    "dce": dce,
    "merge": merge_blocks,
    "simplify": simplify,
    "licm": licm,
    "gvn": gvn,
}

#: The default pipeline.
DEFAULT_PIPELINE: tuple[str, ...] = ("copyprop", "fold", "simplify", "copyprop", "licm", "gvn",
                                     "dce", "merge")


def run_passes(func: Function, names: Sequence[str] = DEFAULT_PIPELINE, *,
               verify_each: bool = False, module: WasmModule | None = None) -> bool:
    """Run the named passes in order on `func`. With `verify_each`, run the verifier before the
    first pass and after every pass (a VerifierError then names the pass that broke the IR).
    Returns True if any pass changed the function."""
    with gc_paused():
        return _run_passes(func, names, verify_each, module)


def _run_passes(func: Function, names: Sequence[str], verify_each: bool,
                module: WasmModule | None) -> bool:
    if verify_each:
        verify(func, module)
    changed = False
    for name in names:
        fn = PASSES.get(name)
        if fn is None:
            raise IRError(f"unknown IR pass {name!r} (known: {', '.join(PASSES)})")
        if fn(func):
            changed = True
        if verify_each:
            try:
                verify(func, module)
            except VerifierError as e:
                raise VerifierError(f"after pass {name!r}: {e.reason}", e.function, e.block,
                                    e.inst) from None
    return changed


def optimize(func: Function, *, verify_each: bool = False, module: WasmModule | None = None,
             max_rounds: int = 8) -> None:
    """The standard optimisation: copy propagation and folding repeated until neither changes
    anything (folding a branch can make a parameter redundant, which can expose more folding;
    at most `max_rounds` rounds), then dead-code elimination and block merging."""
    with gc_paused():
        if verify_each:
            verify(func, module)
        for _ in range(max_rounds):
            if not _run_passes(func, ("copyprop", "fold", "simplify"), verify_each, module):
                break
        _run_passes(func, ("copyprop", "dce", "merge"), verify_each, module)


__all__ = ["PASSES", "DEFAULT_PIPELINE", "run_passes", "optimize", "fold", "dce", "copyprop",
           "merge_blocks", "simplify", "licm", "gvn", "eliminate_heap_checks"]
