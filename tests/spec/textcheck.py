"""Is a text parser's binary the same module as wast2json's? (the "text module" check)

Two encoders may differ in choices the binary format leaves open (local-declaration runs,
element-segment encodings, custom sections, a data-count section, an empty `else`, a block
type as an index or inline), so: equal bytes outside custom and data-count sections is a
match; otherwise both are decoded with polyjit's decoder and their module contents
compared, ignoring those free choices.
"""

from __future__ import annotations

import re
from typing import Any

_FORM = re.compile(r"\(module(?:\s+\$[^\s()]+)?\s+(binary|quote)\b")


def module_form(module_text: str) -> str:
    """"binary", "quote" or "text": how a `(module ...)` is written."""
    m = _FORM.match(module_text)
    return m.group(1) if m else "text"


def _leb_u32(data: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if i >= len(data) or shift > 28:
            raise ValueError("bad LEB128")
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, i


_CUSTOM, _DATA_COUNT = 0, 12


def without_optional_sections(wasm: bytes) -> bytes | None:
    """The module's bytes without custom and data-count sections (whether an encoder writes
    a data count is its choice, as far as the module's meaning goes); None if the section
    structure is not well formed."""
    if wasm[:8] != b"\0asm\x01\0\0\0":
        return None
    out = [wasm[:8]]
    i = 8
    try:
        while i < len(wasm):
            start = i
            section_id = wasm[i]
            size, body = _leb_u32(wasm, i + 1)
            end = body + size
            if end > len(wasm):
                return None
            if section_id not in (_CUSTOM, _DATA_COUNT):
                out.append(wasm[start:end])
            i = end
    except ValueError:
        return None
    return b"".join(out)


_BLOCK, _LOOP, _IF, _ELSE, _END = 0x02, 0x03, 0x04, 0x05, 0x0B


def _expr(expr, types) -> tuple | None:
    """An instruction list as (op, immediate) pairs, with the encoder's free choices undone:
    an empty `else` is dropped, and a block type given as a type index whose type has no
    parameters and at most one result is written as that result (or none)."""
    if expr is None:
        return None
    out = []
    for i, ins in enumerate(expr):
        op, imm = ins.op, ins.imm
        if op == _ELSE and i + 1 < len(expr) and expr[i + 1].op == _END:
            continue
        if op in (_BLOCK, _LOOP, _IF) and isinstance(imm, int) and 0 <= imm < len(types):
            ft = types[imm]
            if not ft.params and len(ft.results) <= 1:
                imm = ft.results[0] if ft.results else None
        out.append((op, imm))
    return tuple(out)


def _contents(module) -> dict[str, Any]:
    t = module.types
    return {
        "types": list(t),
        "imports": list(module.imports),
        "functions": list(module.funcs),
        "tables": list(module.tables),
        "memories": list(module.mems),
        "globals": [(g.type, _expr(g.init, t)) for g in module.globals],
        "exports": list(module.exports),
        "start": module.start,
        "elems": [(e.mode, _elem_type(e), e.table, _expr(e.offset, t),
                   [_expr(x, t) for x in e.init]) for e in module.elems],
        "datas": [(d.mode, d.memory, _expr(d.offset, t), d.data) for d in module.datas],
        "code": [(tuple(c.local_types()), _expr(c.body, t)) for c in module.codes],
    }


def _elem_type(seg) -> object:
    """A segment's type, a segment of function indices ((ref func) in 3.0) compared as the
    funcref segment of ref.func expressions an older encoder writes for the same text."""
    from engine.wasm.types import HeapType, ValType, ref_type
    if seg.type == ref_type(False, HeapType.FUNC):
        return ValType.FUNCREF
    return seg.type


def difference(got: bytes, expected: bytes) -> str | None:
    """None if `got` encodes the same module as `expected`, else what differs first."""
    if got == expected:
        return None
    stripped = without_optional_sections(expected)
    if stripped is not None and stripped == without_optional_sections(got):
        return None
    from engine.errors import WasmError
    from engine.wasm.decoder import decode
    try:
        want = _contents(decode(expected))
    except WasmError:
        return "bytes differ (and the expected module does not decode, so only bytes count)"
    try:
        have = _contents(decode(got))
    except WasmError as e:
        return f"its binary does not decode: {e}"
    for key, value in want.items():
        if have[key] != value:
            if isinstance(value, list) and isinstance(have[key], list):
                if len(value) != len(have[key]):
                    return f"{key}: {len(have[key])} entries, expected {len(value)}"
                index = next(i for i, (a, b) in enumerate(zip(have[key], value)) if a != b)
                return f"{key}[{index}] differs: got {_short(have[key][index])}, " \
                       f"expected {_short(value[index])}"
            return f"{key} differs: got {_short(have[key])}, expected {_short(value)}"
    return None


def _short(obj: Any, limit: int = 160) -> str:
    text = repr(obj)
    return text if len(text) <= limit else text[:limit] + "..."
