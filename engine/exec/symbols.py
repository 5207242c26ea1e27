"""Where code is: a CodeUnit is one CompiledCode mapped at a base address (a module's functions
and trampolines, or extra exit stubs), with its symbols; a machine finds the unit holding a
pc among its units. Shared by the native and the emulated machine."""

from __future__ import annotations

from typing import Any, Sequence


class CodeUnit:
    """Symbol -> address for one CompiledCode mapped at `base` (`size` bytes)."""

    __slots__ = ("base", "size", "symbols", "compiled", "_funcs")

    def __init__(self, base: int, size: int, compiled: Any) -> None:
        self.base = base
        self.size = size
        self.compiled = compiled
        self.symbols: dict[str, int] = compiled.symbols
        #: (offset, function index) of the defined functions, by offset; then the first
        #: offset that is not a function (stubs and trampolines follow the functions)
        funcs = sorted((off, int(name[4:])) for name, off in self.symbols.items()
                       if name.startswith("func") and name[4:].isdigit())
        end = min((off for name, off in self.symbols.items() if not name.startswith("func")),
                  default=size)
        self._funcs = (funcs, end)

    def address(self, symbol: str) -> int:
        return self.base + self.symbols[symbol]

    def __contains__(self, symbol: str) -> bool:
        return symbol in self.symbols

    def holds(self, pc: int) -> bool:
        return self.base <= pc < self.base + self.size

    def function_at(self, pc: int) -> int | None:
        """The defined function index whose code contains `pc`, or None."""
        rel = pc - self.base
        funcs, end = self._funcs
        best = None
        for off, idx in funcs:
            if off <= rel:
                best = idx
            else:
                break
        if best is None or rel >= end:
            return None
        return best


def unit_at(units: Sequence[CodeUnit], pc: int) -> CodeUnit | None:
    for u in units:
        if u.holds(pc):
            return u
    return None
