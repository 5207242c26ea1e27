"""The backend registry: which code generator serves a target, and which ISA features its code
may use (the host CPU's natively, the emulator's under Unicorn). The one place that decides
both; a backend package is imported only when its target is first asked for."""

from __future__ import annotations

import functools
import importlib

from backends.base import Backend
from ..config import TARGETS, Settings
from ..errors import UnsupportedError

#: target name -> (package, backend class); the package is imported on first use
_BACKENDS = {
    "x86_64": ("backends.x86_64", "X86_64Backend"),
    "aarch64": ("backends.aarch64", "AArch64Backend"),
    "riscv64": ("backends.riscv64", "RiscV64Backend"),
}
assert tuple(_BACKENDS) == TARGETS


@functools.cache
def backend_class(target: str) -> type:
    """The Backend class of `target`; UnsupportedError for a target polyjit has no backend for."""
    entry = _BACKENDS.get(target)
    if entry is None:
        raise UnsupportedError(f"code generation for target {target!r}")
    package, name = entry
    return getattr(importlib.import_module(package), name)


def cpu_features(target: str, emulated: bool) -> frozenset[str]:
    """The ISA features of the CPU that runs `target` code: the emulated one, or this host's."""
    return backend_class(target).cpu_features(emulated)


def backend_for(settings: Settings) -> Backend:
    """The code generator for an engine: its target, using every feature its CPU has."""
    cls = backend_class(settings.target)
    return cls(cls.cpu_features(settings.emulate))
