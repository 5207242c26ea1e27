"""Section sizes of a wasm binary (just the section headers; the module is validated elsewhere)."""

from __future__ import annotations

CODE_SECTION = 10


def _uleb(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 28:
            raise ValueError("malformed section header in wasm binary")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def section_sizes(wasm: bytes) -> dict[int, int]:
    """Payload bytes per section id (custom sections summed under id 0)."""
    if wasm[:4] != b"\0asm":
        raise ValueError("not a wasm binary")
    sizes: dict[int, int] = {}
    pos = 8
    while pos < len(wasm):
        sid = wasm[pos]
        size, pos = _uleb(wasm, pos + 1)
        sizes[sid] = sizes.get(sid, 0) + size
        pos += size
    return sizes


def code_section_bytes(wasm: bytes) -> int:
    """Size of the code section's payload: the function bodies a compiler has to translate."""
    return section_sizes(wasm).get(CODE_SECTION, 0)
