"""Config: the settings an Engine is built from (wasmtime-py's Config, plus polyjit's target)."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass

from .errors import FeatureDisabledError, WasmError


@dataclass(slots=True, frozen=True)
class Features:
    """The WebAssembly proposals a module may use. Derived from a Config; read by decoder and validator."""

    bulk_memory: bool = True
    multi_value: bool = True
    reference_types: bool = True
    simd: bool = True
    sign_extension: bool = True
    saturating_float_to_int: bool = True
    mutable_globals: bool = True
    # WebAssembly 3.0 (wasmtime 50 enables each by default)
    tail_call: bool = True
    extended_const: bool = True
    multi_memory: bool = True
    memory64: bool = True
    function_references: bool = True
    exceptions: bool = True

    def require(self, name: str, offset: int | None = None) -> None:
        """Raise the error for a module that uses a disabled proposal."""
        if not getattr(self, name):
            raise FeatureDisabledError(f"{name.replace('_', ' ')} support is not enabled "
                                       f"(Config.wasm_{name})", offset=offset)


STRATEGIES = ("compiler", "interpreter")
TARGETS = ("x86_64", "aarch64", "riscv64")

#: The proposals a Config turns on and off: Config name -> Features field.
PROPOSALS = {"wasm_bulk_memory": "bulk_memory", "wasm_multi_value": "multi_value",
             "wasm_reference_types": "reference_types", "wasm_simd": "simd",
             "wasm_tail_call": "tail_call", "wasm_extended_const": "extended_const",
             "wasm_multi_memory": "multi_memory", "wasm_memory64": "memory64",
             "wasm_function_references": "function_references",
             "wasm_exceptions": "exceptions"}

#: Config settings that change the machine code of a module (see code_settings)
CODE_SETTINGS = (*PROPOSALS, "epoch_interruption", "consume_fuel")

#: later proposals polyjit does not implement; enabling one is a configuration error
UNSUPPORTED_PROPOSALS = ("wasm_threads", "wasm_relaxed_simd", "wasm_gc")

#: the largest Config.max_wasm_stack (wasmtime's default async_stack_size, which bounds it);
#: at run time the limit is further clamped to the calling thread's real stack
MAX_WASM_STACK = 2 << 20

_BOOL_SETTINGS = (*PROPOSALS, "emulate", "epoch_interruption", "consume_fuel",
                  *UNSUPPORTED_PROPOSALS)


def host_target() -> str:
    """The polyjit target name of this machine's architecture (or its own name if none)."""
    machine = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)


@dataclass(slots=True, frozen=True)
class Settings:
    """An Engine's settings, checked and resolved (the target is never None, `emulate` is true
    for a foreign target): the one typed, immutable object compile/, runtime/ and exec/ read."""

    features: Features
    strategy: str
    target: str
    emulate: bool
    epoch_interruption: bool
    consume_fuel: bool
    max_wasm_stack: int
    cache: str | None

    def code_settings(self) -> dict[str, bool]:
        """The settings that change generated code, by Config name (an artifact's fingerprint
        and a cache key cover these)."""
        values = {name: getattr(self.features, field) for name, field in PROPOSALS.items()}
        values.update(epoch_interruption=self.epoch_interruption,
                      consume_fuel=self.consume_fuel)
        return {name: values[name] for name in CODE_SETTINGS}


def check_config(config: Config, host: str) -> None:
    """Raise WasmError naming the settings when `config` is invalid or contradicts itself.
    `host` is the host architecture (a foreign target is always emulated)."""
    for name in _BOOL_SETTINGS:
        if not isinstance(getattr(config, name), bool):
            raise WasmError(f"Config.{name} must be True or False, "
                            f"not {getattr(config, name)!r}")
    if config.strategy not in STRATEGIES:
        raise WasmError(f"Config.strategy must be one of {', '.join(STRATEGIES)}, "
                        f"not {config.strategy!r}")
    if config.target is not None and config.target not in TARGETS:
        raise WasmError(f"Config.target {config.target!r} is not a known target "
                        f"(known: {', '.join(TARGETS)})")
    for name in UNSUPPORTED_PROPOSALS:
        if getattr(config, name):
            raise WasmError(f"Config.{name}: not supported yet by polyjit")
    if config.wasm_reference_types and not config.wasm_bulk_memory:
        raise WasmError("Config.wasm_reference_types requires Config.wasm_bulk_memory")
    if config.wasm_function_references and not config.wasm_reference_types:
        raise WasmError("Config.wasm_function_references requires Config.wasm_reference_types")
    if config.strategy == "interpreter":
        if config.emulate:
            raise WasmError("Config.emulate=True contradicts Config.strategy='interpreter' "
                            "(the interpreter runs no machine code to emulate)")
        if config.target is not None and config.target != host:
            raise WasmError(f"Config.target={config.target!r} contradicts "
                            f"Config.strategy='interpreter' (the interpreter runs on the host, "
                            f"{host})")
    stack = config.max_wasm_stack
    if isinstance(stack, bool) or not isinstance(stack, int) or stack <= 0:
        raise WasmError(f"Config.max_wasm_stack must be a positive number of bytes, "
                        f"not {stack!r}")
    if stack > MAX_WASM_STACK:
        # wasmtime-py refuses it too (its Engine aborts: "max_wasm_stack size cannot exceed
        # the async_stack_size", 2 MiB by default)
        raise WasmError(f"Config.max_wasm_stack of {stack} bytes exceeds the largest "
                        f"accepted, {MAX_WASM_STACK} (2 MiB, as wasmtime)")
    if config.cache is not None:
        _check_cache_dir(config.cache)


def _check_cache_dir(cache) -> None:
    if not isinstance(cache, (str, os.PathLike)):
        raise WasmError(f"Config.cache must be a directory path or None, not {cache!r}")
    path = os.fspath(cache)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise WasmError(f"Config.cache: directory {path!r} is unusable: "
                        f"{e.strerror or e}") from None
    if not os.path.isdir(path) or not os.access(path, os.W_OK | os.X_OK):
        raise WasmError(f"Config.cache: directory {path!r} is not writable")


class Config:
    """Engine settings. Attributes are plain and writable, as in wasmtime-py:

    - ``wasm_bulk_memory``, ``wasm_multi_value``, ``wasm_reference_types``, ``wasm_simd``:
      WebAssembly 2.0 proposals (all on by default).
    - ``wasm_tail_call``, ``wasm_extended_const``, ``wasm_multi_memory``, ``wasm_memory64``,
      ``wasm_function_references``, ``wasm_exceptions``: WebAssembly 3.0 proposals, on by
      default as in wasmtime 50 (``wasm_extended_const`` is wasmtime's Rust setting; wasmtime-py
      has no switch for it). A part polyjit does not implement yet is refused when a module
      uses it ("not supported yet: ...").
    - ``wasm_threads``, ``wasm_relaxed_simd``, ``wasm_gc``: off; polyjit does not support them
      yet, so turning one on is a configuration error.
    - ``strategy``: "compiler" (machine code) or "interpreter" (the IR interpreter).
    - ``target``: None for the host, or "x86_64", "aarch64", "riscv64".
    - ``emulate``: run host-target code under Unicorn instead of natively.
    - ``epoch_interruption``, ``consume_fuel``: interruption checks compiled into code.
    - ``max_wasm_stack``: bytes of stack wasm code may use before "call stack exhausted"
      (at most 2 MiB, as wasmtime; never more than the calling thread's stack has left, less
      a margin for the Python frames of host calls).
    - ``cache``: a directory for compiled code, or None.
    """

    def __init__(self, **settings) -> None:
        self.wasm_bulk_memory = True
        self.wasm_multi_value = True
        self.wasm_reference_types = True
        self.wasm_simd = True
        self.wasm_tail_call = True
        self.wasm_extended_const = True
        self.wasm_multi_memory = True
        self.wasm_memory64 = True
        self.wasm_function_references = True
        self.wasm_exceptions = True
        self.wasm_threads = False
        self.wasm_relaxed_simd = False
        self.wasm_gc = False
        self.strategy = "compiler"
        self.target: str | None = None
        self.emulate = False
        self.epoch_interruption = False
        self.consume_fuel = False
        self.max_wasm_stack = 512 * 1024
        self.cache: str | None = None
        for name, value in settings.items():
            if not hasattr(self, name):
                raise WasmError(f"unknown Config setting {name!r}")
            setattr(self, name, value)

    def features(self) -> Features:
        return Features(**{field: bool(getattr(self, name)) for name, field in PROPOSALS.items()})

    def settings(self, host: str | None = None) -> Settings:
        """Check this Config (WasmError naming the setting) and resolve it for a machine whose
        architecture is `host` (default: this one) into frozen Settings."""
        host = host or host_target()
        check_config(self, host)
        target = self.target or host
        if self.strategy == "compiler" and target not in TARGETS:
            raise WasmError(f"this host ({host}) is not a polyjit target; set Config.target "
                            f"to one of {', '.join(TARGETS)} (emulated) or use "
                            f"Config(strategy='interpreter')")
        return Settings(features=self.features(), strategy=self.strategy, target=target,
                        emulate=bool(self.emulate) or target != host,
                        epoch_interruption=self.epoch_interruption,
                        consume_fuel=self.consume_fuel, max_wasm_stack=self.max_wasm_stack,
                        cache=None if self.cache is None else os.fspath(self.cache))

    def __repr__(self) -> str:
        return "Config(" + ", ".join(f"{k}={v!r}" for k, v in vars(self).items()) + ")"
