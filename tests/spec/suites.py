"""The spec suites the harness runs: where each one's files are, the tool that converts them,
and the Config settings of the WebAssembly version it tests.

A Target (targets.py) says which engine runs; a Suite says which scripts it runs and with which
proposals: the 2.0 suite runs an engine with the 3.0 proposals off (several of its assertions
are rules that 3.0 changed), the 3.0 suite runs polyjit's defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.config import PROPOSALS, Features

from .cache import SUITE_DIR, suite_files

SHARED_SUITES = SUITE_DIR.parent.parent


@dataclass(slots=True, frozen=True)
class Suite:
    """`name` is the suite's directory below spec-testsuite/ ("2.0/core"); `tool` a
    cache.CONVERTERS key; `settings` Config settings every target of it gets."""

    name: str
    directory: Path
    tool: str = "wast2json"
    settings: dict = field(default_factory=dict, hash=False)

    def files(self) -> list[Path]:
        return suite_files(self.directory)


#: The 3.0 proposals, off: a WebAssembly 2.0 engine (3.0 changed some of 2.0's rules: a
#: global.get of a module's own global in a constant expression, a second memory, 64-bit
#: limit encodings are invalid or malformed in 2.0).
WASM_2_0 = {"wasm_tail_call": False, "wasm_extended_const": False, "wasm_multi_memory": False,
            "wasm_memory64": False, "wasm_function_references": False, "wasm_exceptions": False}

#: The same, as the Features the front end reads (the text parser's 2.0 format too).
FEATURES_2_0 = Features(**{PROPOSALS[name]: on for name, on in WASM_2_0.items()})

#: WebAssembly 2.0's core suite (POLYJIT_SPEC_SUITE may point elsewhere).
CORE_2_0 = Suite("2.0/core", SUITE_DIR, settings=WASM_2_0)

#: WebAssembly 2.0's fixed-width SIMD suite.
SIMD_2_0 = Suite("2.0/simd", SHARED_SUITES / "2.0" / "simd", settings=WASM_2_0)

#: WebAssembly 3.0's core suite; wabt's wast2json reads only 173 of its 198 files.
CORE_3_0 = Suite("3.0/core", SHARED_SUITES / "3.0" / "core", tool="wasm-tools")
