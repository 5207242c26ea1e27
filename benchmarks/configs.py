"""The runtime configurations the benchmark compares, in one place.

wasmtime is the baseline every configuration is compared with, at the same n. polyjit's
configurations go through the public API (``engine.Config`` settings); one that raises
UnsupportedError is reported as "n/a (reason)"."""

from __future__ import annotations

from dataclasses import dataclass

from .suite import Size


@dataclass(slots=True, frozen=True)
class BenchConfig:
    """One polyjit configuration: a name for the table, how it runs, and its problem size."""

    name: str
    description: str
    settings: tuple[tuple[str, object], ...]
    size: Size
    default: bool = True

    @property
    def emulate(self) -> bool:
        return bool(dict(self.settings).get("emulate"))


CONFIGS: tuple[BenchConfig, ...] = (
    BenchConfig("compiler", "polyjit's compiler for the host, native code (the default "
                "Config: tiered on x86_64)", (("strategy", "compiler"),), Size.FULL),
    BenchConfig("optimising", "the optimising tier alone (Config.tiered_compilation off)",
                (("strategy", "compiler"), ("tiered_compilation", False)), Size.FULL),
    BenchConfig("compiler-eager", "the optimising tier with whole modules compiled before "
                "they run", (("strategy", "compiler"), ("lazy_compilation", False),
                             ("tiered_compilation", False)), Size.FULL, default=False),
    BenchConfig("baseline", "polyjit's x86_64 baseline tier first (Config.baseline_compilation)",
                (("strategy", "compiler"), ("baseline_compilation", True)), Size.FULL,
                default=False),

    BenchConfig("interpreter", "polyjit's IR interpreter", (("strategy", "interpreter"),), Size.SMALL),
    BenchConfig("emu-x86_64", "x86_64 code under Unicorn",
                (("strategy", "compiler"), ("target", "x86_64"), ("emulate", True)), Size.SMALL),
    BenchConfig("emu-aarch64", "aarch64 code under Unicorn",
                (("strategy", "compiler"), ("target", "aarch64"), ("emulate", True)), Size.SMALL),
    BenchConfig("emu-riscv64", "riscv64 code under Unicorn",
                (("strategy", "compiler"), ("target", "riscv64"), ("emulate", True)), Size.SMALL),
)

BY_NAME: dict[str, BenchConfig] = {c.name: c for c in CONFIGS}


def select(names: str | None) -> list[BenchConfig]:
    """The configurations named in a comma-separated list ("all" for every one; None for the defaults)."""
    if names is None:
        return [c for c in CONFIGS if c.default]
    if names.strip() == "all":
        return list(CONFIGS)
    chosen = []
    for name in (n.strip() for n in names.split(",")):
        if not name:
            continue
        if name not in BY_NAME:
            raise ValueError(f"unknown configuration {name!r} (known: {', '.join(BY_NAME)})")
        chosen.append(BY_NAME[name])
    if not chosen:
        raise ValueError("no configuration selected")
    return chosen
