"""The runtime configurations the benchmark compares, in one place.

wasmtime is the baseline every configuration is compared with, at the same n. polyjit's
configurations go through the public API (``engine.Config`` settings) unless ``via`` says
otherwise; one that raises UnsupportedError is reported as "n/a (reason)"."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .suite import Size


class Via(enum.Enum):
    """How a configuration loads and calls a module."""

    API = "api"            # engine.Module / engine.Instance with Config(**settings)
    HARNESS = "harness"    # engine.exec.harness: the x86_64 backend before it is wired into the API


@dataclass(slots=True, frozen=True)
class BenchConfig:
    """One polyjit configuration: a name for the table, how it runs, and its problem size."""

    name: str
    description: str
    settings: tuple[tuple[str, object], ...]
    size: Size
    via: Via = Via.API
    default: bool = True

    @property
    def emulate(self) -> bool:
        return bool(dict(self.settings).get("emulate"))


CONFIGS: tuple[BenchConfig, ...] = (
    BenchConfig("compiler", "polyjit's compiler for the host, native code",
                (("strategy", "compiler"),), Size.FULL),
    BenchConfig("x86_64-harness", "the x86_64 backend through engine.exec.harness (a preview "
                "until the compiler is wired into the API; duplicates `compiler`)", (), Size.FULL,
                via=Via.HARNESS, default=False),
    BenchConfig("interpreter", "polyjit's IR interpreter", (("strategy", "interpreter"),), Size.SMALL),
    BenchConfig("emu-x86_64", "x86_64 code under Unicorn",
                (("strategy", "compiler"), ("target", "x86_64"), ("emulate", True)), Size.SMALL),
    BenchConfig("emu-x86_64-harness", "x86_64 code under Unicorn through engine.exec.harness",
                (("emulate", True),), Size.SMALL, via=Via.HARNESS, default=False),
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
