"""The executors the tests in tests/exec run on, by name: the Config settings of each (one
table; a test picks the ones it needs with `settings`)."""

from __future__ import annotations

EXECUTORS: dict[str, dict] = {
    "interpreter": dict(strategy="interpreter"),
    "x86_64": dict(target="x86_64"),                  # the default: tiered
    "x86_64-optimising": dict(target="x86_64", tiered_compilation=False),
    "x86_64-eager": dict(target="x86_64", lazy_compilation=False, tiered_compilation=False),
    "x86_64-checked": dict(target="x86_64", signals_based_traps=False,
                           tiered_compilation=False),
    "x86_64-baseline": dict(target="x86_64", baseline_compilation=True),
    "x86_64-tiered": dict(target="x86_64", tiered_compilation=True, tier_up_threshold=1),
    "x86_64-emulated": dict(target="x86_64", emulate=True, tiered_compilation=False),
    "aarch64": dict(target="aarch64"),
    "riscv64": dict(target="riscv64"),
}

#: the five executors of the standards: the interpreter, x86_64 natively and emulated, aarch64
#: and riscv64 (both emulated)
FIVE = ("interpreter", "x86_64", "x86_64-emulated", "aarch64", "riscv64")


def settings(*names: str) -> dict[str, dict]:
    """name -> Config settings of the executors `names`, in that order."""
    return {name: EXECUTORS[name] for name in names}
