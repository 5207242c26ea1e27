"""The `name` custom section (appendix of the spec): module name, function names and local
names. Custom sections are not validated, so a malformed name section is ignored as a whole."""

from __future__ import annotations

from ..errors import MalformedError
from .module import Names
from .reader import Reader

_MODULE = 0
_FUNCTIONS = 1
_LOCALS = 2


def parse_names(data: bytes, pos: int, end: int) -> Names:
    """Parse the payload data[pos:end] of a `name` section (after its name). Returns empty
    Names when the payload is malformed in any way."""
    try:
        return _parse(Reader(data, pos, end))
    except MalformedError:
        return Names()


def _name_map(r: Reader) -> dict[int, str]:
    out: dict[int, str] = {}
    last = -1
    for _ in range(r.count()):
        at = r.pos
        index = r.u32()
        if index <= last:
            raise MalformedError("name map indices out of order", at)
        last = index
        out[index] = r.name()
    return out


def _parse(r: Reader) -> Names:
    names = Names()
    last_id = -1
    while not r.at_end():
        at = r.pos
        sub_id = r.byte()
        size = r.u32()
        if size > r.remaining:
            raise MalformedError("length out of bounds", at)
        if sub_id <= last_id:
            raise MalformedError("name subsections out of order or duplicated", at)
        last_id = sub_id
        sub = Reader(r.data, r.pos, r.pos + size)
        r.pos += size
        if sub_id == _MODULE:
            names.module = sub.name()
        elif sub_id == _FUNCTIONS:
            names.functions = _name_map(sub)
        elif sub_id == _LOCALS:
            last = -1
            for _ in range(sub.count()):
                func_at = sub.pos
                func = sub.u32()
                if func <= last:
                    raise MalformedError("indirect name map indices out of order", func_at)
                last = func
                names.locals[func] = _name_map(sub)
        else:
            continue        # later extensions (labels, types, ...): skipped, not an error
        if not sub.at_end():
            raise MalformedError("name subsection size mismatch", sub.pos)
    return names
