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
    """Install (once) and return the machine-code executor for a compiler-strategy engine:
    engine.exec.compiled.CompiledExecutor for native x86_64, engine.exec.emulated_runtime's
    EmulatedExecutor (Unicorn) for an emulated engine of any target."""
    state = engine._state
    with state.lock:
        ex = state.executor
        if ex is not None:
            return ex
        if engine.settings.get("strategy") != "compiler":
            raise WasmError("compiled code needs Config.strategy='compiler'")
        if engine.emulated:
            from .emulated_runtime import EmulatedExecutor
            ex = state.executor = EmulatedExecutor(engine)
            return ex
        ex = state.executor = _executor_class()(engine)
        return ex


#: where map_epoch_page puts the engine's epoch page in an emulated address space (below the
#: emulator's gate page, above nothing it maps)
EPOCH_GUEST_ADDRESS = 0x0E00_0000


def map_epoch_page(machine, engine) -> int:
    """Map the engine's epoch page (host memory) into an EmulatedMachine's address space,
    read-only, with Unicorn's mem_map_ptr: emulated code then reads the live counter that
    Engine.increment_epoch() bumps. Returns the guest address of the counter."""
    from unicorn import UC_PROT_READ
    addr, size = engine._state.epoch_counter.page
    machine.uc.mem_map_ptr(EPOCH_GUEST_ADDRESS, size, UC_PROT_READ, addr)
    return EPOCH_GUEST_ADDRESS


_EXECUTOR_CLASS: list = []


def _executor_class():
    """CompiledExecutor, with the vmctx epoch pointer aimed at the engine's own counter (so an
    increment_epoch() from any thread reaches running code without a boundary sync)."""
    if _EXECUTOR_CLASS:
        return _EXECUTOR_CLASS[0]
    from ..runtime import vmctx as V
    from .compiled import CompiledExecutor
    from .space import write_u64

    class EngineEpochExecutor(CompiledExecutor):
        def prepare(self, instance) -> None:
            super().prepare(instance)
            if self.epoch:
                st = instance.exec_state
                write_u64(st.machine.space, st.vmctx + V.EPOCH_PTR, self.engine.epoch_address)

    _EXECUTOR_CLASS.append(EngineEpochExecutor)
    return EngineEpochExecutor


def install_code(engine, module, compiled) -> bool:
    """Give precompiled code for `module` to the engine's executor so it is not compiled again.
    True when an executor took it; False when the engine has no machine-code executor (yet)."""
    ex = engine._state.executor
    cache = getattr(ex, "_modules", None)
    if ex is None or cache is None:
        return False
    from .compiled import _ModuleCode
    info = module_info(engine, module.wasm_module)
    cache[id(module)] = (module, _ModuleCode(compiled, info))
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
