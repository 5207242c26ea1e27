"""The compile driver, the one path from a validated module to machine code for every user of
it (the machine-code executor, precompile_module, serialize, the cache):

    WasmModule --(ir.builder)--> IR --(heapcheck, then DEFAULT_PIPELINE)--> IR
               --(backend)--> CompiledCode

`function_ir` is the IR pipeline every strategy shares (the interpreter runs its output too);
`code_for` returns a Module's machine code for a backend, compiling it only when neither the
Module nor Config.cache has it."""

from __future__ import annotations

from typing import Any, Callable, Iterator

from backends.base import Backend, CompiledCode
from ..ir.builder import build_function
from ..ir.gcpause import gc_paused
from ..ir.ir import Function
from ..ir.passes import DEFAULT_PIPELINE, run_passes
from ..ir.passes.heapcheck import eliminate_heap_checks
from ..wasm.module import WasmModule
from . import cache
from .parallel import MIN_PARALLEL_INSTRUCTIONS, can_fork, compile_parallel, worker_count


def function_ir(wasm: WasmModule, index: int, fuel: bool = False,
                osr_loops: tuple[int, ...] | None = None) -> Function:
    """The SSA IR of defined function `index` (function index space) of a validated module:
    built (with wasmtime's fuel accounting when `fuel`; its on-stack replacement entry at the
    loops at body positions `osr_loops` if given), then cleaned by the pipeline every strategy
    runs: redundant heap checks removed, then engine.ir.passes.DEFAULT_PIPELINE (copy
    propagation, constant folding, simplification, loop-invariant code motion, global value
    numbering, dead code elimination, block merging)."""
    fn = build_function(wasm, index, fuel=fuel, osr_loops=osr_loops)
    eliminate_heap_checks(fn)
    run_passes(fn, DEFAULT_PIPELINE)
    return fn


def compile_module(module: Any, backend: Backend,
                   progress: Callable[[int, int], None] | None = None,
                   jobs: int | None = None) -> CompiledCode:
    """Machine code for every defined function of `module` (an engine.compile.module.Module)
    plus an entry and an exit trampoline per type, by `backend`. Runs nothing.
    Each function goes through backend.function_code (IR -> lowering -> registers -> text or
    machine code) and is freed once that is made; backend.link puts the pieces together. A
    large module's functions are compiled by `jobs` worker processes (default: one per CPU)
    when the engine's Config.parallel_compilation allows, else here one at a time.
    `progress(done, total)` is called as functions are compiled."""
    wasm = module.wasm_module
    info = module.info
    nimp = wasm.num_imported_funcs
    total = len(wasm.funcs)

    def piece(p: int):
        return backend.function_code(module.take_ir(nimp + p), info)

    # compilation allocates many short-lived acyclic objects: the cyclic collector's passes
    # over a large heap would cost more than the work
    with gc_paused():
        jobs = compile_jobs(module, jobs)
        if jobs > 1:
            sizes = [len(c.body) for c in wasm.codes]
            pieces = compile_parallel(piece, sizes, jobs, progress)
        else:
            pieces = _serial(piece, total, progress)
        compiled = backend.link(zip(range(nimp, nimp + total), pieces), info,
                                entry_sigs=info.type_sigs, exit_sigs=info.type_sigs)
    return compiled


def compile_jobs(module: Any, jobs: int | None = None) -> int:
    """Worker processes for compiling the whole of `module` (1: compile here): `jobs`, or
    one per CPU for a large module under Config.parallel_compilation."""
    if jobs is None:
        if not module.state.settings.parallel_compilation:
            return 1
        if module.wasm_module.instruction_count() < MIN_PARALLEL_INSTRUCTIONS:
            return 1
        jobs = worker_count()
    return jobs if jobs > 1 and can_fork() else 1


def _serial(piece: Callable[[int], Any], total: int,
            progress: Callable[[int, int], None] | None) -> Iterator[Any]:
    for p in range(total):
        yield piece(p)
        if progress is not None:
            progress(p + 1, total)


def held_code(module: Any, backend: Backend) -> CompiledCode | None:
    """The whole-module code `module` already holds (compiled before, or loaded from an
    artifact) if it is for the backend's target and uses no feature the backend's CPU lacks."""
    code = module.code
    if code is not None and code.target == backend.target.name and \
            code.features <= backend.features:
        return code
    return None


def code_for(module: Any, backend: Backend,
             progress: Callable[[int, int], None] | None = None) -> CompiledCode:
    """`module`'s machine code for `backend`: the code it already holds (held_code); else
    Config.cache's entry; else compiled now. The result is kept on the Module
    (Module.serialize writes it) and in the cache."""
    code = held_code(module, backend)
    if code is not None:
        return code
    settings = module.state.settings
    code = cache.load(settings, module.binary, backend.features)
    if code is None:
        code = compile_module(module, backend, progress)
        cache.store(settings, module.binary, backend.features, code)
    module.code = code
    return code
