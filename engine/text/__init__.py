"""The WebAssembly text format: WAT in, binary out.

Modules: `lexer` (tokens), `sexpr` (nested lists), `numbers` (literals, exact float rounding),
`instructions` (flat and folded code), `parser` (module fields and abbreviations -> WasmModule ->
bytes through engine.wasm.encoder), `wast` (spec-test scripts)."""

from __future__ import annotations

from .parser import parse_module_text
from .wast import parse_wast


def wat2wasm(text: str | bytes) -> bytes:
    """Parse WebAssembly text (a module) and return its binary encoding."""
    return parse_module_text(text)


__all__ = ["parse_wast", "wat2wasm"]
