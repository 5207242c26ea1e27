"""The targets the spec suite runs on: the single list later work extends.

A target is an API ("polyjit" or the "wasmtime" reference) plus the Config settings of its
Engine. Whether it can run yet is asked of polyjit itself (see executor.polyjit_api): what it
cannot run is reported as not yet run; nothing is ever counted as passed unrun.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field

from engine.config import TARGETS as ARCHITECTURES


@dataclass(slots=True, frozen=True)
class Target:
    """A named engine configuration the suite runs on.

    `frontend_alone`: run the front-end checks (modules decode and validate, bad binaries are
    rejected) even while this target cannot execute code yet. The interpreter target does;
    the machine-code targets would only repeat the same checks, so until their backend runs
    every assertion of theirs is "not yet run".
    """

    name: str
    api: str = "polyjit"
    settings: dict = field(default_factory=dict, hash=False)
    frontend_alone: bool = False
    #: Part of the full matrix only (pytest marker `slow`; run with POLYJIT_FULL=1).
    slow: bool = False


def host_architecture() -> str:
    machine = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)


#: polyjit's targets: the IR interpreter, then machine code for each architecture of
#: engine.config.TARGETS (host code natively, others under Unicorn: Config picks), and the
#: host's code under Unicorn. CI runs them all.
TARGETS: tuple[Target, ...] = (
    Target("interpreter", settings={"strategy": "interpreter"}, frontend_alone=True),
    # The default Config: on x86_64 tiered (Config.tiered_compilation: counted baseline code
    # first, hot functions and hot loops moved to the optimising tier); aarch64 and riscv64
    # have the optimising tier alone.
    *(Target(arch, settings={"strategy": "compiler", "target": arch}) for arch in ARCHITECTURES),
    # The host's optimising tier's code under Unicorn: the machine code of the eager and
    # checked targets below, emulated (x86_64's tiers under Unicorn: x86_64-emulated-baseline
    # and tests/exec).
    Target(f"{host_architecture()}-emulated",
           settings={"strategy": "compiler", "target": host_architecture(), "emulate": True,
                     "tiered_compilation": False}),
    # Every target above compiles each function on its first call (Config.lazy_compilation,
    # the default); this one compiles whole modules, by the optimising tier, before they run.
    Target(f"{host_architecture()}-eager",
           settings={"strategy": "compiler", "target": host_architecture(),
                     "lazy_compilation": False, "tiered_compilation": False}),
    # x86_64's baseline tier first (Config.baseline_compilation: one pass from wasm to machine
    # code under lazy compilation; what it does not handle goes to the optimising tier).
    Target("x86_64-baseline",
           settings={"strategy": "compiler", "target": "x86_64", "baseline_compilation": True}),
    # ... and its code under Unicorn
    Target("x86_64-emulated-baseline",
           settings={"strategy": "compiler", "target": "x86_64", "emulate": True,
                     "baseline_compilation": True}, slow=True),
    # Tiered compilation with a threshold of one call: every function's counted baseline code
    # runs first and tiers up mid-run (on its second call or its 16th loop iteration), so
    # both tiers and the switch between them run the suites (Config.tiered_compilation).
    Target("x86_64-tiered",
           settings={"strategy": "compiler", "target": "x86_64", "tiered_compilation": True,
                     "tier_up_threshold": 1}),
    # Machine code leaves memory 0's bounds to guard pages by default (natively a fault
    # handler, under Unicorn its invalid-access hook makes the trap); these keep an explicit
    # check before every access (Config.signals_based_traps=False): the host's natively in
    # CI, the emulated targets' in the full matrix.
    # (the host's: the optimising tier alone, lazily)
    Target(f"{host_architecture()}-checked",
           settings={"strategy": "compiler", "target": host_architecture(),
                     "signals_based_traps": False, "tiered_compilation": False}),
    *(Target(f"{arch}-checked", settings={"strategy": "compiler", "target": arch,
                                          "signals_based_traps": False}, slow=True)
      for arch in ARCHITECTURES if arch != host_architecture()),
)

#: The reference API, for checking the harness itself (scripts/spec_report.py --api wasmtime).
REFERENCE = Target("wasmtime", api="wasmtime", frontend_alone=True)

BY_NAME: dict[str, Target] = {t.name: t for t in (*TARGETS, REFERENCE)}
