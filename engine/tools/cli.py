"""The `polyjit` command: run (binary, text or precompiled), validate, compile (precompile for
any target), inspect (modules and artifacts, with disassembly), wast (spec scripts), bench.
User errors are one line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any, Sequence

from ..api import Engine, Store
from ..compile import artifact
from ..compile.build import build_id
from ..compile.module import Module
from ..config import Config
from ..errors import ExitTrap, Trap, WasmError
from ..runtime.func import Func
from ..runtime.instance import Instance
from ..wasm.types import ValType
from .inspect import describe_artifact, describe_module
from .wasi_run import imports_wasi, run_command, wasi_instance
from .wast_runner import run_script


def _parse_arg(text: str, ty) -> Any:
    try:
        if ty in (ValType.I32, ValType.I64):
            return int(text, 0)
        if ty in (ValType.F32, ValType.F64):
            return float(text)
    except ValueError:
        raise WasmError(f"argument {text!r} is not a valid {ty}") from None
    raise WasmError(f"cannot pass a {ty} argument from the command line")


def _config_from(args: argparse.Namespace):
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


def _read_input(path: str) -> tuple[str, bytes | str]:
    """("artifact" | "binary" | "text", contents) of a file given on the command line."""
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(artifact.MAGIC):
        return "artifact", data
    if data.startswith(b"\0asm"):
        return "binary", data
    try:
        return "text", data.decode("utf-8")
    except UnicodeDecodeError:
        raise WasmError(f"{path}: neither a wasm binary, a polyjit artifact nor UTF-8 text") \
            from None


def _artifact_config(args: argparse.Namespace, data: bytes):
    """The Config to run an artifact with: its target and recorded settings, unless the
    command line says otherwise (then deserialize reports the mismatch)."""
    art = artifact.parse(data)
    config = _config_from(args)
    if config.strategy == "interpreter":
        raise WasmError("a precompiled artifact holds machine code; it cannot run with "
                        "--strategy interpreter")
    if args.target is None:
        config.target = art.target
    for name, value in art.code_settings.items():
        if hasattr(config, name):
            setattr(config, name, bool(value))
    return config


def _load_for_run(args: argparse.Namespace):
    """(engine, module) for `run`: a precompiled file is deserialized, anything else compiled."""
    kind, data = _read_input(args.file)
    if kind == "artifact":
        engine = Engine(_artifact_config(args, data))
        return engine, Module.deserialize(engine, data)
    config = _config_from(args)
    # epoch checks let Ctrl-C stop a spinning call (signals reach the next check; exit 130)
    config.epoch_interruption = True
    engine = Engine(config)
    return engine, Module(engine, data)


def cmd_run(args: argparse.Namespace) -> int:
    engine, module = _load_for_run(args)
    if imports_wasi(module):
        if args.invoke is None:
            return run_command(engine, module, args)
        store, instance = wasi_instance(engine, module, args)
    else:
        store = Store(engine)
        store.set_epoch_deadline(1 << 62)    # nothing increments the epoch: only signals interrupt
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
    Module.from_file(Engine(_config_from(args)), args.file)
    print(f"{args.file}: valid")
    return 0


class _Progress:
    """'compiling: k/n functions' on stderr, only when stderr is a terminal."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if self.enabled and total >= 20 and (done == total or done % 10 == 0):
            print(f"\r{self.label}: {done}/{total} functions", end="", file=sys.stderr,
                  flush=True)
            self.shown = True

    def finish(self) -> None:
        if self.shown:
            print(file=sys.stderr)


def cmd_compile(args: argparse.Namespace) -> int:
    kind, data = _read_input(args.file)
    if kind == "artifact":
        raise WasmError(f"{args.file} is already a precompiled artifact")
    config = _config_from(args)
    config.epoch_interruption = bool(args.epoch_interruption)
    config.consume_fuel = bool(args.consume_fuel)
    engine = Engine(config)
    progress = _Progress(f"compiling for {engine.target}")
    try:
        artifact.require_compiler(engine.settings, "precompile_module")
        out = Module(engine, data).precompiled(progress)
    finally:
        progress.finish()
    target = args.output
    try:
        with open(target, "wb") as f:
            f.write(out)
    except OSError as e:
        raise WasmError(f"cannot write {target}: {e.strerror or e}") from None
    print(f"{target}: {len(out)} bytes, {engine.target} code")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    kind, data = _read_input(args.file)
    if kind == "artifact":
        art = artifact.parse(data)
        flags = {k: v for k, v in art.code_settings.items() if k.startswith("wasm_")}
        module = Module(Engine(Config(strategy="interpreter", **flags)), art.wasm)
        lines = describe_artifact(art, module)
    else:
        engine = Engine(Config(strategy="interpreter"))
        lines = describe_module(Module(engine, data))
        print(f"{args.file}: {'binary' if kind == 'binary' else 'text'} WebAssembly module")
    for line in lines:
        print(line)
    return 0


def cmd_wast(args: argparse.Namespace) -> int:
    report = run_script(args.file, _config_from(args), verbose=args.verbose)
    print(report.summary())
    return 0 if report.ok else 3


class _VersionAction(argparse.Action):
    """--version, computing the build id only when asked (it hashes the sources)."""

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"polyjit {build_id()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="polyjit",
                                     description="polyjit: a WebAssembly runtime with a multi-architecture JIT")
    parser.add_argument("--version", action=_VersionAction, nargs=0,
                        help="print the polyjit build (version+source digest) and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p_run = sub.add_parser("run", help="run an exported function of a module and print its results",
                           description="Instantiate FILE (binary .wasm, text .wat or a "
                                       "precompiled artifact from `polyjit compile`) and call "
                                       "an export.")
    p_run.add_argument("file", metavar="FILE")
    p_run.add_argument("--invoke", metavar="NAME", help="the exported function to call (default: _start)")
    p_run.add_argument("args", nargs="*", metavar="ARGS",
                       help="arguments: the WASI program's, or --invoke's, parsed by its parameter types")
    p_run.add_argument("--dir", action="append", metavar="HOST[::GUEST]",
                       help="preopen a host directory for a WASI program (repeatable)")
    p_run.add_argument("--env", action="append", metavar="NAME[=VALUE]",
                       help="an environment variable for a WASI program (repeatable)")
    _add_engine_options(p_run)
    p_run.set_defaults(handler=cmd_run)
    p_val = sub.add_parser("validate", help="decode and validate a module (binary or text)",
                           description="Decode and validate FILE; print an error naming the problem.")
    p_val.add_argument("file", metavar="FILE")
    _add_engine_options(p_val)
    p_val.set_defaults(handler=cmd_validate)
    p_comp = sub.add_parser("compile", help="precompile a module for a target into an artifact",
                            description="Compile FILE (binary or text) to machine code for "
                                        "--target (default: the host) and write a precompiled "
                                        "artifact (docs/artifact-format.md) that `polyjit run` "
                                        "and Module.deserialize load.")
    p_comp.add_argument("file", metavar="FILE")
    p_comp.add_argument("-o", "--output", metavar="OUT", required=True,
                        help="where to write the artifact")
    p_comp.add_argument("--target", choices=("x86_64", "aarch64", "riscv64"),
                        help="target architecture (default: the host)")
    p_comp.add_argument("--emulate", action="store_true",
                        help="for the host target: code for the emulated CPU's ISA features")
    p_comp.add_argument("--epoch-interruption", action="store_true",
                        help="compile epoch checks in (Config.epoch_interruption)")
    p_comp.add_argument("--consume-fuel", action="store_true",
                        help="compile fuel accounting in (Config.consume_fuel)")
    p_comp.set_defaults(handler=cmd_compile, strategy="compiler")
    p_ins = sub.add_parser("inspect", help="describe a module or a precompiled artifact",
                           description="Print FILE's sections, imports, exports and functions; "
                                       "for a precompiled artifact also its header fields and "
                                       "the disassembly of every function (Capstone).")
    p_ins.add_argument("file", metavar="FILE")
    p_ins.set_defaults(handler=cmd_inspect)
    p_wast = sub.add_parser("wast", help="run a spec test script (.wast) and report",
                            description="Run the modules, actions and assertions of a .wast "
                                        "script and print how many passed, failed or were "
                                        "skipped (exit status 3 when any failed).")
    p_wast.add_argument("file", metavar="FILE")
    p_wast.add_argument("-v", "--verbose", action="store_true", help="list every failure")
    _add_engine_options(p_wast)
    p_wast.set_defaults(handler=cmd_wast)
    for package in ("benchmarks", "fuzz"):   # developer tools: present in a source checkout
        try:
            tool = importlib.import_module(f"{package}.cli")
        except ImportError:
            continue
        tool.add_parser(sub)
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
    except ExitTrap as e:           # WASI proc_exit under --invoke
        return e.code & 0xFF
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
