"""The glue between the Engine / artifact layer and the machine-code executors: compile a module
for an Engine's target without running it, hand precompiled code to an executor instead of
compiling, and per-thread initialisation. Only calls the backends' and executors' public
functions (plus the CompiledExecutor's per-module code cache, documented here)."""

from __future__ import annotations

from typing import Any

from ..errors import UnsupportedError, WasmError


def backend_for(engine) -> Any:
    """The code generator for the engine's target, with the ISA features its code may use:
    the host CPU's for native x86_64, what Unicorn executes for emulated x86_64."""
    target = engine.target
    if target == "x86_64":
        from backends.x86_64 import EMULATOR_FEATURES, X86_64Backend
        return X86_64Backend(EMULATOR_FEATURES if engine.emulated else None)
    from backends.base import get_backend
    return get_backend(target)


def available_features(engine) -> frozenset[str]:
    """The ISA features the CPU that will run this engine's code has (host or emulated)."""
    if engine.target == "x86_64":
        from backends.x86_64 import EMULATOR_FEATURES, host_features
        return EMULATOR_FEATURES if engine.emulated else host_features()
    return frozenset(backend_for(engine).features)


def module_info(engine, wasm) -> Any:
    """The backends.base.ModuleInfo for a decoded module under the engine's settings (the same
    record CompiledExecutor builds)."""
    from backends.base import ModuleInfo
    from ..runtime import vmctx as V
    settings = engine.settings
    return ModuleInfo(V.VMOffsets.for_module(wasm),
                      [(tuple(t.params), tuple(t.results)) for t in wasm.func_types()],
                      wasm.num_imported_funcs,
                      [(tuple(t.params), tuple(t.results)) for t in wasm.types],
                      [g.content for g in wasm.global_types()],
                      epoch=bool(settings.get("epoch_interruption")),
                      fuel=bool(settings.get("consume_fuel")))


def compile_for_engine(engine, module, progress=None) -> Any:
    """Machine code (backends.base.CompiledCode) for every defined function of `module` (an
    engine.module.Module) plus the entry/exit trampolines of every type, for the engine's
    target. Runs nothing. `progress(done, total)` is called as functions are lowered."""
    wasm = module.wasm_module
    info = module_info(engine, wasm)
    nimp = wasm.num_imported_funcs
    total = len(wasm.funcs)
    funcs = []
    for i in range(total):
        funcs.append(module.ir_function(nimp + i))
        if progress is not None:
            progress(i + 1, total)
    types = info.type_sigs
    backend = backend_for(engine)
    return backend.compile_module(funcs, info, entry_sigs=types, exit_sigs=types)


def compiled_executor(engine) -> Any:
    """The machine-code executor of a compiler-strategy engine (the one executor_for installs:
    engine.exec.compiled.CompiledExecutor, native or under Unicorn as the engine says)."""
    if engine.settings.get("strategy") != "compiler":
        raise WasmError("compiled code needs Config.strategy='compiler'")
    from ..runtime.executor import executor_for
    with engine._state.lock:
        return executor_for(engine)


def install_code(engine, module, compiled) -> bool:
    """Give precompiled code for `module` to the engine's executor so it is not compiled again.
    True when an executor took it; False when the engine has no machine-code executor (yet)."""
    ex = engine._state.executor
    cache = getattr(ex, "_modules", None)
    if ex is None or cache is None:
        return False
    from .compiled import _ModuleCode
    info = module_info(engine, module.wasm_module)
    code = _ModuleCode(compiled, info)
    put = getattr(cache, "put", None)
    if put is not None:
        put(module, code)
    else:
        cache[id(module)] = (module, code)
    return True


def tls_initialize(engine) -> None:
    """Engine.tls_eager_initialize: load the execution machinery and set up this thread's state.
    An executor's own ``tls_initialize()`` is called when it has one. Natively, the thread's
    entry record of engine.exec.native (call depth, stack limit) is created here."""
    state = engine._state
    ex = state.executor
    if ex is None:
        try:
            from ..runtime.executor import executor_for
            ex = executor_for(engine)
        except UnsupportedError:
            ex = None
    hook = getattr(ex, "tls_initialize", None)
    if callable(hook):
        hook()
    if engine.settings.get("strategy") == "compiler" and not engine.emulated:
        from . import native
        tls = native._tls
        if getattr(tls, "depth", None) is None:
            tls.depth = 0
        import backends.x86_64  # noqa: F401  (code generation machinery, loaded once)
    elif engine.settings.get("strategy") == "compiler":
        from . import emulator  # noqa: F401
        import unicorn  # noqa: F401
    else:
        from ..ir import interp  # noqa: F401
