"""Shared fixtures of the x86_64 backend tests: run modes (native on an x86_64 host, Unicorn
everywhere) and a helper that compiles IR text into a Harness."""

from __future__ import annotations

import platform

from support.harness import Harness, HarnessSpec
from engine.ir.parser import parse_functions

NATIVE = platform.machine().lower() in ("x86_64", "amd64")
MODES = ["native", "unicorn"] if NATIVE else ["unicorn"]


def build(text: str, mode: str, spec: HarnessSpec | None = None) -> Harness:
    return Harness(parse_functions(text), spec, emulate=(mode == "unicorn"))
