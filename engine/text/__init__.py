"""The WebAssembly text format: WAT in, binary out."""

from __future__ import annotations


def wat2wasm(text: str) -> bytes:
    """Parse WebAssembly text (a module) and return its binary encoding."""
    from .parser import parse_module_text
    return parse_module_text(text)
