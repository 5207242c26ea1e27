"""The WebAssembly text format: WAT in, binary out.

Modules: `lexer` (tokens), `sexpr` (nested lists), `numbers` (literals, exact float rounding),
`instructions` (flat and folded code), `parser` (module fields and abbreviations -> WasmModule ->
bytes through engine.wasm.encoder), `wast` (spec-test scripts)."""

from __future__ import annotations


def wat2wasm(text: str | bytes) -> bytes:
    """Parse WebAssembly text (a module) and return its binary encoding."""
    from .parser import parse_module_text
    return parse_module_text(text)


def parse_wast(text: str | bytes):
    """Read a .wast script into commands (see engine.text.wast)."""
    from .wast import parse_wast as _parse_wast
    return _parse_wast(text)
