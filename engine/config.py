"""Config: the settings an Engine is built from (wasmtime-py's Config, plus polyjit's target)."""

from __future__ import annotations

import os
import platform
import sys
import tomllib
from typing import Any
from dataclasses import dataclass

from .errors import ArgumentTypeError, ClosedError, FeatureDisabledError, UnsupportedError, WasmError


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
#: wasmtime's names for the strategy polyjit calls "compiler"
STRATEGY_ALIASES = {"auto": "compiler", "cranelift": "compiler"}
TARGETS = ("x86_64", "aarch64", "riscv64")
#: the architecture part of a target triple ("x86_64-unknown-linux-gnu") -> polyjit's target
TRIPLE_ARCHES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64",
                 "arm64": "aarch64", "riscv64": "riscv64", "riscv64gc": "riscv64"}
OPT_LEVELS = ("none", "speed", "speed_and_size")
PROFILERS = ("none", "jitdump", "vtune", "perfmap")

#: The proposals a Config turns on and off: Config name -> Features field.
PROPOSALS = {"wasm_bulk_memory": "bulk_memory", "wasm_multi_value": "multi_value",
             "wasm_reference_types": "reference_types", "wasm_simd": "simd",
             "wasm_tail_call": "tail_call", "wasm_extended_const": "extended_const",
             "wasm_multi_memory": "multi_memory", "wasm_memory64": "memory64",
             "wasm_function_references": "function_references",
             "wasm_exceptions": "exceptions"}

#: Config settings that change the machine code of a module (see code_settings)
CODE_SETTINGS = (*PROPOSALS, "epoch_interruption", "consume_fuel", "signals_based_traps",
                 "emulate")

#: later proposals polyjit does not implement; enabling one is a configuration error
UNSUPPORTED_PROPOSALS = ("wasm_threads", "wasm_relaxed_simd", "wasm_gc",
                         "wasm_component_model", "wasm_component_model_map",
                         "wasm_component_model_implements",
                         "wasm_wide_arithmetic", "wasm_custom_page_sizes", "wasm_stack_switching",
                         "shared_memory")

#: settings of wasmtime's that change nothing polyjit computes, only how wasmtime gets there
#: (debug info, unwind tables, memory reservation and guard sizes, ...): accepted and kept, so
#: that a wasmtime-py program's Config works unchanged; polyjit's own choices apply
TUNING_SETTINGS = ("debug_info", "cranelift_debug_verifier",
                   "wasm_relaxed_simd_deterministic", "gc_support", "native_unwind_info",
                   "macos_use_mach_ports", "memory_may_move",
                   "memory_reservation", "memory_guard_size", "memory_reservation_for_growth",
                   "memory_init_cow")

#: the largest Config.max_wasm_stack (wasmtime's default async_stack_size, which bounds it);
#: at run time the limit is further clamped to the calling thread's real stack
MAX_WASM_STACK = 2 << 20

#: the largest Config.tier_up_threshold (its counter, threshold * entry weight, is an i32)
MAX_TIER_UP_THRESHOLD = 1 << 24

_BOOL_SETTINGS = (*PROPOSALS, "emulate", "epoch_interruption", "consume_fuel",
                  "parallel_compilation", "lazy_compilation", "baseline_compilation",
                  "tiered_compilation", *UNSUPPORTED_PROPOSALS)


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
    #: compile a large module's functions in worker processes (changes no generated code)
    parallel_compilation: bool = True
    #: compile a function on its first call, not the whole module at instantiation (changes
    #: no generated code; precompile_module, serialize and the cache stay whole-module)
    lazy_compilation: bool = True
    #: under lazy compilation, compile a function first with the baseline tier (one pass from
    #: wasm to machine code; x86_64 only, others and what it does not handle get the
    #: optimising tier). Not in the code fingerprint: whole-module artifacts stay optimising
    baseline_compilation: bool = False
    #: under lazy compilation, the baseline tier first and the optimising tier for a function
    #: once it is hot (its calls and loop iterations counted; an activation hot in a loop moves
    #: to optimised code there; engine.exec.lazy). Not in the code fingerprint either
    tiered_compilation: bool = True
    #: calls (or TIER_UP_LOOP_WEIGHT loop iterations each) before a function tiers up
    tier_up_threshold: int = 1000
    #: 32-bit memories sit in a guarded reservation and their accesses are not checked: an
    #: out-of-bounds one faults and the fault handler (natively) or the emulator's hook makes
    #: it the trap
    signals_based_traps: bool = False

    def code_settings(self) -> dict[str, bool]:
        """The settings that change generated code, by Config name (an artifact's fingerprint
        and a cache key cover these)."""
        values = {name: getattr(self.features, field) for name, field in PROPOSALS.items()}
        values.update(epoch_interruption=self.epoch_interruption,
                      consume_fuel=self.consume_fuel)
        values["signals_based_traps"] = self.signals_based_traps
        # emulated code with guard pages keeps its stores checked (ModuleInfo.checked_stores):
        # native guard-page code must not run under Unicorn
        values["emulate"] = self.emulate and self.signals_based_traps
        return {name: values[name] for name in CODE_SETTINGS}


def check_config(config: Config, host: str) -> None:
    """Raise WasmError naming the settings when `config` is invalid or contradicts itself.
    `host` is the host architecture (a foreign target is always emulated)."""
    for name in _BOOL_SETTINGS:
        if not isinstance(getattr(config, name), bool):
            raise WasmError(f"Config.{name} must be True or False, "
                            f"not {getattr(config, name)!r}")
    _check_strategy(config.strategy)
    _target_name(config.target)
    for name in UNSUPPORTED_PROPOSALS:
        if getattr(config, name):
            raise WasmError(f"Config.{name}: not supported yet by polyjit")
    if config.wasm_reference_types and not config.wasm_bulk_memory:
        raise WasmError("Config.wasm_reference_types requires Config.wasm_bulk_memory")
    if config.wasm_function_references and not config.wasm_reference_types:
        raise WasmError("Config.wasm_function_references requires Config.wasm_reference_types")
    if STRATEGY_ALIASES.get(config.strategy, config.strategy) == "interpreter":
        if config.emulate:
            raise WasmError("Config.emulate=True contradicts Config.strategy='interpreter' "
                            "(the interpreter runs no machine code to emulate)")
        if config.target is not None and config.target != host:
            raise WasmError(f"Config.target={config.target!r} contradicts "
                            f"Config.strategy='interpreter' (the interpreter runs on the host, "
                            f"{host})")
    sbt = config.signals_based_traps
    if sbt is not None and not isinstance(sbt, bool):
        raise WasmError(f"Config.signals_based_traps must be True, False or None, not {sbt!r}")
    if sbt and not guard_pages_possible(config, host):
        raise WasmError("Config.signals_based_traps=True: not supported yet for this "
                        "configuration (native x86_64 code or emulated code on a 64-bit host; "
                        "the interpreter checks every access explicitly)")
    threshold = config.tier_up_threshold
    if isinstance(threshold, bool) or not isinstance(threshold, int) or \
            not 0 <= threshold <= MAX_TIER_UP_THRESHOLD:
        raise WasmError(f"Config.tier_up_threshold must be a number of calls from 0 to "
                        f"{MAX_TIER_UP_THRESHOLD}, not {threshold!r}")
    stack = config.max_wasm_stack
    if isinstance(stack, bool) or not isinstance(stack, int) or stack <= 0:
        raise WasmError(f"Config.max_wasm_stack must be a positive number of bytes, "
                        f"not {stack!r}")
    if stack > MAX_WASM_STACK:
        # wasmtime-py refuses it too (its Engine aborts: "max_wasm_stack size cannot exceed
        # the async_stack_size", 2 MiB by default)
        raise WasmError(f"Config.max_wasm_stack of {stack} bytes exceeds the largest "
                        f"accepted, {MAX_WASM_STACK} (2 MiB, as wasmtime)")
    if config.cranelift_nan_canonicalization:
        raise UnsupportedError("Config.cranelift_nan_canonicalization (polyjit keeps the NaN "
                               "bits the spec allows)")
    if config.profiler != "none":
        raise UnsupportedError(f"Config.profiler {config.profiler!r}")
    if config.cache is not None:
        _cache_directory(config.cache)


def guard_pages_possible(config: Config, host: str) -> bool:
    """Whether out-of-bounds accesses of `config`'s machine code can fault into guard pages
    instead of being checked: on a host with 64-bit pointers, native x86_64 code (a signal
    handler turns the fault into the trap) or any code under Unicorn (its invalid-access hook
    does)."""
    target = config.target or host
    emulated = bool(config.emulate) or target != host
    return (config.strategy == "compiler" and sys.maxsize > 2 ** 32
            and (emulated or target == host == "x86_64"))


def default_cache_directory() -> str:
    """Where ``Config.cache = True`` keeps compiled code: $XDG_CACHE_HOME/polyjit, or
    ~/.cache/polyjit."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "polyjit")


def _cache_directory(cache: object) -> str | None:
    """The cache directory a Config.cache value names (None: caching off); WasmError if the
    value is not usable. True is the default directory; a path is either a directory (polyjit's
    own form) or a wasmtime cache configuration file (TOML: ``[cache]`` with ``enabled`` and
    ``directory``), which must exist, as in wasmtime."""
    if cache is True:
        return _usable_dir(default_cache_directory())
    if not isinstance(cache, (str, os.PathLike)):
        raise WasmError(f"Config.cache must be True, a directory, a cache config file or None, "
                        f"not {cache!r}")
    path = os.fspath(cache)
    if os.path.isdir(path):
        return _usable_dir(path)
    try:
        with open(path, "rb") as f:
            text = f.read()
    except OSError as e:
        raise WasmError(f"Config.cache: failed to read cache config file {path!r}: "
                        f"{e.strerror or e}") from None
    try:
        table = tomllib.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise WasmError(f"Config.cache: cache config file {path!r} is not valid TOML: {e}") from None
    section = table.get("cache")
    if not isinstance(section, dict):
        raise WasmError(f"Config.cache: cache config file {path!r} has no [cache] table")
    if not section.get("enabled", True):
        return None
    directory = section.get("directory", default_cache_directory())
    if not isinstance(directory, str):
        raise WasmError(f"Config.cache: cache.directory in {path!r} must be a string")
    directory = os.path.join(os.path.dirname(os.path.abspath(path)), os.path.expanduser(directory))
    return _usable_dir(directory)


def _usable_dir(path: str) -> str:
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise WasmError(f"Config.cache: directory {path!r} is unusable: "
                        f"{e.strerror or e}") from None
    if not os.path.isdir(path) or not os.access(path, os.W_OK | os.X_OK):
        raise WasmError(f"Config.cache: directory {path!r} is not writable")
    return path


def _target_name(target: object) -> str | None:
    """polyjit's name for a Config.target value (a polyjit target or a target triple)."""
    if target is None:
        return None
    if not isinstance(target, str):
        raise WasmError(f"Config.target must be a target name or triple, not {target!r}")
    if target in TARGETS:
        return target
    arch = target.split("-", 1)[0]
    if arch.startswith("pulley"):
        raise UnsupportedError(f"Config.target {target!r}: the Pulley interpreter (polyjit's "
                               f"own is Config.strategy='interpreter')")
    if "-" in target and arch in TRIPLE_ARCHES:
        return TRIPLE_ARCHES[arch]
    raise WasmError(f"Config.target {target!r} is not a known target "
                    f"(known: {', '.join(TARGETS)}, or a triple of one of them)")


class Config:
    """Engine settings. Attributes are plain and writable, as in wasmtime-py:

    - ``wasm_bulk_memory``, ``wasm_multi_value``, ``wasm_reference_types``, ``wasm_simd``:
      WebAssembly 2.0 proposals (all on by default).
    - ``wasm_tail_call``, ``wasm_extended_const``, ``wasm_multi_memory``, ``wasm_memory64``,
      ``wasm_function_references``, ``wasm_exceptions``: WebAssembly 3.0 proposals, on by
      default as in wasmtime 50 (``wasm_extended_const`` is wasmtime's Rust setting; wasmtime-py
      has no switch for it). A part polyjit does not implement yet is refused when a module
      uses it ("not supported yet: ...").
    - ``wasm_threads``, ``wasm_relaxed_simd``, ``wasm_gc``, ``wasm_component_model``,
      ``wasm_custom_page_sizes``, ``wasm_wide_arithmetic``, ``wasm_stack_switching``,
      ``shared_memory``: later proposals, off; an Engine refuses them (polyjit does not
      support them yet).
    - ``strategy``: "compiler" (machine code; wasmtime's "auto" and "cranelift" mean the same)
      or "interpreter" (the IR interpreter). Checked when set.
    - ``target``: None for the host, or "x86_64", "aarch64", "riscv64", or a target triple
      ("aarch64-unknown-linux-gnu"). Checked when set.
    - ``emulate``: run host-target code under Unicorn instead of natively.
    - ``epoch_interruption``, ``consume_fuel``: interruption checks compiled into code.
    - ``max_wasm_stack``: bytes of stack wasm code may use before "call stack exhausted"
      (at most 2 MiB, as wasmtime; never more than the calling thread's stack has left, less
      a margin for the Python frames of host calls).
    - ``cache``: None (off), True (the default directory), a directory for compiled code, or
      a wasmtime cache configuration file naming one. Checked when set.
    - ``cranelift_opt_level`` ("none", "speed", "speed_and_size") and ``profiler`` ("none";
      "jitdump", "vtune", "perfmap" are refused by Engine): checked when set.
    - wasmtime's tuning settings (TUNING_SETTINGS: debug_info, memory_reservation, ...) are
      accepted and change nothing.
    - ``parallel_compilation``: compile a large module's functions in a pool of worker
      processes, one per CPU (on by default, as in wasmtime; the code is the same either way).
    - ``lazy_compilation``: compile each function of a module on its first call, instead of
      every function when the module is first instantiated (on by default; False compiles the
      whole module up front). precompile_module, Module.serialize and Config.cache always
      compile the whole module, and a module whose whole code is at hand (deserialized,
      cached, compiled before) runs that code.
    - ``baseline_compilation``: under lazy compilation, compile each function first with the
      baseline tier, a single pass from wasm to machine code (much faster to compile, slower
      code; x86_64 only: other targets, and functions it does not handle, get the optimising
      tier). Off by default while it is new. Whole-module compilation is always optimising.
      It forces the baseline tier: no function tiers up (tiered_compilation has no effect).
    - ``tiered_compilation``: under lazy compilation, compile each function first with the
      baseline tier, and again with the optimising tier once it is hot: after
      ``tier_up_threshold`` calls, loop iterations counting a fraction of a call (x86_64 only;
      on by default; False: the optimising tier alone). The hot function is compiled in the
      background (engine/exec/tierup.py) while its baseline code keeps running; calls after
      the optimised code is installed run it, and an activation hot in a loop moves to
      optimised code at that loop's header (on-stack replacement, engine/ir/osr.py). With
      lazy compilation off, every function is compiled by the baseline tier at the first
      instantiation, then hot ones tier up. ``tier_up_threshold`` (default 1000) is that
      number of calls. Nothing tiers up while the program is still starting up (first-tier
      compiles coming fast: engine.exec.lazy.STARTUP_COMPILES / STARTUP_WINDOW, the window in
      proportion to the threshold).
    - ``signals_based_traps``: None (default) for guard pages wherever they work (machine code
      on a 64-bit host, native x86_64 or emulated: 32-bit memories are reserved 8 GiB of
      address space and accesses are not checked; an out-of-bounds one faults and becomes the
      same Trap; under Unicorn stores keep their check), False for an explicit bounds check
      before every access.

    An Engine consumes its Config (a second Engine of it, or setting anything afterwards, is a
    ClosedError, a ValueError), as in wasmtime-py; ``close()`` does the same."""

    def __init__(self, **settings: Any) -> None:
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
        for name in UNSUPPORTED_PROPOSALS:
            setattr(self, name, False)
        self.strategy = "compiler"
        self.target: str | None = None
        self.emulate = False
        self.epoch_interruption = False
        self.consume_fuel = False
        self.max_wasm_stack = 512 * 1024
        self.cache: str | bool | None = None
        self.cranelift_opt_level = "speed"
        self.profiler = "none"
        self.cranelift_nan_canonicalization = False
        for name in TUNING_SETTINGS:
            setattr(self, name, None)
        self.cranelift_flags: dict[str, str] = {}
        self.parallel_compilation = True
        self.lazy_compilation = True
        self.baseline_compilation = False
        self.tiered_compilation = True
        self.tier_up_threshold = 1000
        self.signals_based_traps: bool | None = None
        for name, value in settings.items():
            if not hasattr(self, name):
                raise WasmError(f"unknown Config setting {name!r}")
            setattr(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        if self.__dict__.get("_closed"):
            raise ClosedError("this Config is closed (an Engine was made from it, or it "
                              "was closed)")
        check = _SET_CHECKS.get(name)
        if check is not None:
            value = check(value)
        object.__setattr__(self, name, value)

    def cranelift_flag_enable(self, flag: str) -> None:
        """wasmtime's Cranelift flag switch: recorded, no effect on polyjit's compiler."""
        self.cranelift_flag_set(flag, "true")

    def cranelift_flag_set(self, flag: str, value: str) -> None:
        """wasmtime's Cranelift flag setting: recorded, no effect on polyjit's compiler."""
        if not isinstance(flag, str) or not isinstance(value, str):
            raise ArgumentTypeError("Config.cranelift_flag_set expects two strings")
        flags = dict(self.cranelift_flags)
        flags[flag] = value
        self.cranelift_flags = flags

    def close(self) -> None:
        """Make this Config unusable (what an Engine does to the Config it is made from)."""
        object.__setattr__(self, "_closed", True)

    @property
    def closed(self) -> bool:
        return bool(self.__dict__.get("_closed"))

    def __enter__(self) -> Config:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def features(self) -> Features:
        return Features(**{field: bool(getattr(self, name)) for name, field in PROPOSALS.items()})

    def settings(self, host: str | None = None) -> Settings:
        """Check this Config (WasmError naming the setting) and resolve it for a machine whose
        architecture is `host` (default: this one) into frozen Settings."""
        if self.closed:
            raise ClosedError("this Config is closed (an Engine was made from it, or it was "
                              "closed)")
        host = host or host_target()
        check_config(self, host)
        target = self.target or host
        strategy = STRATEGY_ALIASES.get(self.strategy, self.strategy)
        if strategy == "compiler" and target not in TARGETS:
            raise WasmError(f"this host ({host}) is not a polyjit target; set Config.target "
                            f"to one of {', '.join(TARGETS)} (emulated) or use "
                            f"Config(strategy='interpreter')")
        return Settings(features=self.features(), strategy=strategy, target=target,
                        emulate=bool(self.emulate) or target != host,
                        epoch_interruption=self.epoch_interruption,
                        consume_fuel=self.consume_fuel, max_wasm_stack=self.max_wasm_stack,
                        cache=None if self.cache is None else _cache_directory(self.cache),
                        parallel_compilation=self.parallel_compilation,
                        lazy_compilation=self.lazy_compilation,
                        baseline_compilation=self.baseline_compilation,
                        tiered_compilation=self.tiered_compilation,
                        tier_up_threshold=self.tier_up_threshold,
                        signals_based_traps=self.signals_based_traps is not False
                        and guard_pages_possible(self, host))

    def __repr__(self) -> str:
        shown = {k: v for k, v in vars(self).items() if not k.startswith("_")
                 and k not in TUNING_SETTINGS and k != "cranelift_flags"}
        return "Config(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"


def _check_strategy(value: object) -> object:
    if value not in STRATEGIES and value not in STRATEGY_ALIASES:
        raise WasmError(f"Config.strategy must be one of "
                        f"{', '.join(STRATEGIES + tuple(STRATEGY_ALIASES))}, not {value!r}")
    return value


def _check_cache(value: object) -> object:
    if value is None or value is False:
        return None
    _cache_directory(value)
    return value


def _check_choice(name: str, choices: tuple[str, ...]):
    def check(value: object) -> object:
        if value not in choices:
            raise WasmError(f"Config.{name} must be one of {', '.join(choices)}, not {value!r}")
        return value
    return check


_SET_CHECKS = {"strategy": _check_strategy, "target": _target_name, "cache": _check_cache,
               "cranelift_opt_level": _check_choice("cranelift_opt_level", OPT_LEVELS),
               "profiler": _check_choice("profiler", PROFILERS)}
