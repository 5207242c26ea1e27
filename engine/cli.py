"""The `polyjit` command: run, validate (and, as they land, compile, inspect, wast)."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

from .errors import Trap, WasmError


def _parse_arg(text: str, ty) -> Any:
    from .wasm.types import ValType
    try:
        if ty in (ValType.I32, ValType.I64):
            return int(text, 0)
        if ty in (ValType.F32, ValType.F64):
            return float(text)
    except ValueError:
        raise WasmError(f"argument {text!r} is not a valid {ty}") from None
    raise WasmError(f"cannot pass a {ty} argument from the command line")


def _config_from(args: argparse.Namespace):
    from .config import Config
    config = Config()
    if args.strategy:
        config.strategy = args.strategy
    if args.target:
        config.target = args.target
    if args.emulate:
        config.emulate = True
    return config


def _add_engine_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--strategy", choices=("compiler", "interpreter"),
                   help="execute compiled machine code (default) or the IR interpreter")
    p.add_argument("--target", choices=("x86_64", "aarch64", "riscv64"),
                   help="target architecture (default: the host)")
    p.add_argument("--emulate", action="store_true", help="run host-target code under Unicorn")


def cmd_run(args: argparse.Namespace) -> int:
    from . import Engine, Instance, Module, Store
    from .runtime.func import Func
    engine = Engine(_config_from(args))
    module = Module.from_file(engine, args.file)
    store = Store(engine)
    if module.imports:
        names = ", ".join(f"{i.module}.{i.name}" for i in module.imports)
        raise WasmError(f"{args.file}: the module imports {names}; `polyjit run` provides no imports")
    instance = Instance(store, module, [])
    exports = instance.exports(store)
    name = args.invoke
    if name is None:
        if "_start" not in exports:
            if args.args:
                raise WasmError("arguments given but no --invoke NAME")
            return 0
        name = "_start"
    if name not in exports:
        funcs = [n for n in exports if isinstance(exports[n], Func)]
        raise WasmError(f"no exported function {name!r} (exported functions: {', '.join(funcs) or 'none'})")
    func = exports[name]
    if not isinstance(func, Func):
        raise WasmError(f"export {name!r} is not a function")
    params = func.type(store).params
    if len(args.args) != len(params):
        raise WasmError(f"{name} takes {len(params)} argument(s), {len(args.args)} given")
    values = [_parse_arg(a, t) for a, t in zip(args.args, params)]
    result = func(store, *values)
    if result is None:
        results = []
    elif isinstance(result, (list, tuple)):
        results = list(result)
    else:
        results = [result]
    for r in results:
        print(r)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from . import Engine, Module
    Module.from_file(Engine(_config_from(args)), args.file)
    print(f"{args.file}: valid")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="polyjit",
                                     description="polyjit: a WebAssembly runtime with a multi-architecture JIT")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p_run = sub.add_parser("run", help="run an exported function of a module and print its results",
                           description="Instantiate FILE (binary .wasm or text .wat) and call an export.")
    p_run.add_argument("file", metavar="FILE")
    p_run.add_argument("--invoke", metavar="NAME", help="the exported function to call (default: _start)")
    p_run.add_argument("args", nargs="*", metavar="ARGS", help="arguments, parsed by the parameter types")
    _add_engine_options(p_run)
    p_run.set_defaults(handler=cmd_run)
    p_val = sub.add_parser("validate", help="decode and validate a module (binary or text)",
                           description="Decode and validate FILE; print an error naming the problem.")
    p_val.add_argument("file", metavar="FILE")
    _add_engine_options(p_val)
    p_val.set_defaults(handler=cmd_validate)
    try:
        from benchmarks.cli import add_parser as add_bench_parser
    except ImportError:  # installed without the benchmarks package
        pass
    else:
        add_bench_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # Arguments after `--invoke NAME` are the function's arguments, wherever argparse put them.
        if args.command != "run" or any(e.startswith("--") for e in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.args = list(args.args) + extra
    try:
        return args.handler(args)
    except Trap as e:
        print(f"polyjit: wasm trap: {e}", file=sys.stderr)
        return 2
    except (WasmError, OSError) as e:
        print(f"polyjit: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
