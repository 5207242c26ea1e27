"""`polyjit run` for WASI command modules: the WasiConfig a command line asks for
(--dir HOST[::GUEST], --env NAME[=VALUE], the arguments), and running `_start` with proc_exit's
code as the exit status."""

from __future__ import annotations

import os
from typing import Any, Sequence

from .errors import ExitTrap, WasmError

WASI_MODULES = ("wasi_snapshot_preview1", "wasi_unstable")


def imports_wasi(module: Any) -> bool:
    """Whether `module` imports anything from WASI preview 1."""
    return any(i.module == "wasi_snapshot_preview1" for i in module.imports)


def wasi_config(file: str, args: Sequence[str], dirs: Sequence[str], envs: Sequence[str]):
    """The WasiConfig of a `polyjit run` command line (as `wasmtime run` reads it)."""
    from .runtime.wasi import WasiConfig
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


def run_command(engine: Any, module: Any, args: Any) -> int:
    """Instantiate `module` with WASI and call `_start` (or --invoke NAME); the exit status."""
    from . import Linker, Store
    from .runtime.func import Func
    linker = Linker(engine)
    linker.define_wasi()
    store = Store(engine)
    store.set_wasi(wasi_config(args.file, args.args if args.invoke is None else [],
                               args.dir or [], args.env or []))
    try:
        instance = linker.instantiate(store, module)
        exports = instance.exports(store)
        name = args.invoke or "_start"
        func = exports.get(name) if hasattr(exports, "get") else None
        if not isinstance(func, Func):
            raise WasmError(f"{args.file}: no exported function {name!r}")
        if args.invoke is None:
            if func.type(store).params or func.type(store).results:
                raise WasmError(f"{args.file}: `_start` must take and return nothing")
            func(store)
            return 0
        return -1       # the caller runs --invoke NAME with its own argument handling
    except ExitTrap as e:
        return e.code & 0xFF
