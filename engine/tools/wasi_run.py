"""`polyjit run` for WASI command modules: the WasiConfig a command line asks for
(--dir HOST[::GUEST], --env NAME[=VALUE], the arguments), and running `_start` with proc_exit's
code as the exit status."""

from __future__ import annotations

import os
from typing import Any, Sequence

from ..api import Linker, Store
from ..errors import ExitTrap, WasmError
from ..runtime.func import Func
from ..runtime.wasi import WasiConfig


def imports_wasi(module: Any) -> bool:
    """Whether `module` imports anything from WASI preview 1."""
    return any(i.module == "wasi_snapshot_preview1" for i in module.imports)


def wasi_config(file: str, args: Sequence[str], dirs: Sequence[str], envs: Sequence[str]):
    """The WasiConfig of a `polyjit run` command line (as `wasmtime run` reads it)."""
    config = WasiConfig()
    config.argv = [file, *args]
    env = []
    for item in envs:
        name, eq, value = item.partition("=")
        if not name:
            raise WasmError(f"--env {item!r}: expected NAME=VALUE")
        if not eq:
            if name not in os.environ:
                continue
            value = os.environ[name]
        env.append((name, value))
    config.env = env
    for item in dirs:
        host, sep, guest = item.partition("::")
        config.preopen_dir(host, guest if sep else host)
    config.inherit_stdin()
    config.inherit_stdout()
    config.inherit_stderr()
    return config


def wasi_instance(engine: Any, module: Any, args: Any) -> tuple[Any, Any]:
    """(store, instance) of `module` linked with WASI as the command line configures it
    (for --invoke NAME the arguments are the function's, so the guest gets only FILE)."""
    linker = Linker(engine)
    linker.define_wasi()
    store = Store(engine)
    if engine.settings.epoch_interruption:
        store.set_epoch_deadline(1 << 62)    # nothing increments the epoch: only signals interrupt
    guest_args = args.args if args.invoke is None else []
    store.set_wasi(wasi_config(args.file, guest_args, args.dir or [], args.env or []))
    return store, linker.instantiate(store, module)


def run_command(engine: Any, module: Any, args: Any) -> int:
    """Instantiate `module` with WASI and call `_start`; the exit status (proc_exit's code,
    0 when `_start` returns)."""
    try:
        store, instance = wasi_instance(engine, module, args)
        func = instance.exports(store).get("_start")
        if not isinstance(func, Func):
            raise WasmError(f"{args.file}: imports WASI but exports no `_start` function "
                            f"(use --invoke NAME)")
        ty = func.type(store)
        if ty.params or ty.results:
            raise WasmError(f"{args.file}: `_start` must take and return nothing")
        func(store)
        return 0
    except ExitTrap as e:
        return e.code & 0xFF
