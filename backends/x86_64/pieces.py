"""x86_64 assembly one function at a time, and the module's layout: each function's text is
assembled on its own (so a worker process that compiled it can assemble it too, and the module's
text never has to be held, and assembled, all at once). A function refers outside itself only
to other functions (``call funcN``) and the stubs (``jmp __trap``, ``call __epoch_slow``); those
references are assembled against a far placeholder, so each takes the 32-bit-displacement form,
and a label after each one (read back through a ``.quad`` table appended to the text, then cut
off) tells where its displacement ends. `link` lays the stubs and trampolines out first (one
Keystone call), then the functions, 16-byte aligned, and patches every displacement."""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Iterable

from engine.errors import InternalError

from ..base import CompiledCode, func_symbol
from ..keystone_asm import keystone_asm_external

#: a line whose instruction refers to a symbol outside its function
_EXTERNAL_REF = re.compile(r"\s+(?:call|jmp|j[a-z]+) (func\d+|__trap|__epoch_slow)\s*$")
_PAD = b"\xcc"     # int3 between functions (never executed)
_REL32 = struct.Struct("<i")


@dataclass(slots=True, frozen=True)
class FunctionCode:
    """One function's machine code, assembled at address 0, and its outside references:
    (offset just past a 32-bit displacement relative to that offset, the symbol it reaches).
    `movable`: the loops (body positions) an activation of it can move to optimised code
    from (counted baseline code with on-stack replacement checks)."""

    code: bytes
    fixups: tuple[tuple[int, str], ...]
    movable: tuple[int, ...] = ()


def assemble_function(lines: list[str], name: str) -> FunctionCode:
    """Assemble one function's text lines (FunctionEmitter.render's result)."""
    from keystone import KS_ARCH_X86, KS_MODE_64, KsError

    out: list[str] = []
    refs: list[str] = []
    for line in lines:
        if line == f"{name}:":
            # the function starts at offset 0; a reference to itself (recursion, a tail call)
            # is patched like any other, so it takes the long form too
            continue
        out.append(line)
        m = _EXTERNAL_REF.match(line)
        if m is not None:
            out.append(f"{name}_x{len(refs)}:")
            refs.append(m.group(1))
    out += [f".quad {name}_x{k}" for k in range(len(refs))]
    try:
        encoding = keystone_asm_external(KS_ARCH_X86, KS_MODE_64, "\n".join(out) + "\n", refs)
    except KsError as e:  # an emitter bug; name it clearly
        raise InternalError(f"x86_64 assembler rejected generated code of {name}: {e}") from e
    if encoding is None:
        raise InternalError(f"x86_64 assembler produced no code for {name}")
    code = bytes(encoding)
    size = len(code) - 8 * len(refs)
    ends = struct.unpack_from(f"<{len(refs)}Q", code, size) if refs else ()
    return FunctionCode(code[:size], tuple(zip(ends, refs)))


def link(functions: Iterable[tuple[int, FunctionCode]], stubs: CompiledCode) -> CompiledCode:
    """The module: `stubs` (trap stub, trampolines: code at offset 0 with its symbols), then
    each function at the next 16-byte boundary, every outside reference patched."""
    out = bytearray(stubs.code)
    symbols = dict(stubs.symbols)
    placed: list[tuple[int, FunctionCode]] = []
    for index, fn in functions:
        out += _PAD * (-len(out) % 16)
        symbols[func_symbol(index)] = len(out)
        placed.append((len(out), fn))
        out += fn.code
    for base, fn in placed:
        for end, symbol in fn.fixups:
            target = symbols.get(symbol)
            if target is None:
                raise InternalError(f"x86_64 link: undefined symbol {symbol}")
            out[base + end - 4:base + end] = rel32(base + end, target, symbol)
    return CompiledCode(target=stubs.target, code=bytes(out), symbols=symbols,
                        features=stubs.features)


def rel32(end: int, target: int, symbol: str) -> bytes:
    """The 32-bit displacement that ends at `end` and reaches `target` (`symbol`'s address)."""
    disp = target - end
    if not -(1 << 31) <= disp < 1 << 31:
        raise InternalError(f"x86_64: {symbol} at {target:#x} is out of reach of {end:#x}")
    return struct.pack("<i", disp)


def place(fn: FunctionCode, name: str, address: int, resolve) -> bytes:
    """`fn` (function `name`) as code at `address`: each outside reference patched to the
    absolute address `resolve(symbol)` gives (a reference to `name` itself to `address`;
    each symbol resolved once)."""
    out = bytearray(fn.code)
    targets = {name: address}
    pack = _REL32.pack_into
    for end, symbol in fn.fixups:
        target = targets.get(symbol)
        if target is None:
            target = targets[symbol] = resolve(symbol)
        try:
            pack(out, end - 4, target - address - end)
        except struct.error:
            rel32(address + end, target, symbol)        # (raises the InternalError)
            raise
    return bytes(out)
