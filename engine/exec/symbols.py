"""Where code is: a CodeUnit is one CompiledCode mapped at a base address (a module's functions
and trampolines, or extra trampolines), with its symbols; a machine finds the unit holding a
pc among its units. Shared by the native and the emulated machine."""

from __future__ import annotations

import bisect
from typing import Any, Sequence

from backends.base import func_symbol


class CodeUnit:
    """Symbol -> address for one CompiledCode mapped at `base` (`size` bytes)."""

    __slots__ = ("base", "size", "symbols", "compiled", "_funcs", "_trampolines")

    def __init__(self, base: int, size: int, compiled: Any) -> None:
        self.base = base
        self.size = size
        self.compiled = compiled
        self.symbols: dict[str, int] = compiled.symbols
        #: (start, end, function index) of the defined functions, by start, once asked for
        #: (`function_at`: traps and backtraces; a lazy unit has its own)
        self._funcs: list[tuple[int, int, int]] | None = None
        self._trampolines: list[str] | None = None

    def _function_ranges(self) -> list[tuple[int, int, int]]:
        """(start, end, index) of each defined function by start: a function ends where the
        next symbol (another function, a stub or a trampoline) begins."""
        size = self.size
        starts = sorted(set(self.symbols.values()) | {size})
        funcs = []
        for name, off in self.symbols.items():
            if name.startswith("func") and name[4:].isdigit():
                end = starts[bisect.bisect_right(starts, off)] if off < size else size
                funcs.append((off, end, int(name[4:])))
        funcs.sort()
        return funcs

    def trampolines(self) -> list[str]:
        """The symbols of its entry and exit trampolines (``entry_...``, ``exit_...``: one
        per signature)."""
        if self._trampolines is None:
            self._trampolines = [name for name in self.symbols
                                 if name.startswith(("entry_", "exit_"))]
        return self._trampolines

    def address(self, symbol: str) -> int:
        return self.base + self.symbols[symbol]

    def function(self, index: int) -> int:
        """The address to call defined function `index` at."""
        return self.base + self.symbols[func_symbol(index)]

    def functions(self, first: int, count: int) -> list[int]:
        """`function(i)` for defined functions first .. first + count - 1."""
        return [self.function(i) for i in range(first, first + count)]

    def __contains__(self, symbol: str) -> bool:
        return symbol in self.symbols

    def holds(self, pc: int) -> bool:
        return self.base <= pc < self.base + self.size

    def function_at(self, pc: int) -> int | None:
        """The defined function index whose code contains `pc`, or None."""
        rel = pc - self.base
        funcs = self._funcs
        if funcs is None:
            funcs = self._funcs = self._function_ranges()
        i = bisect.bisect_right(funcs, (rel, float("inf"))) - 1
        if i >= 0:
            start, end, idx = funcs[i]
            if start <= rel < end:
                return idx
        return None

    def moved_at(self, pc: int) -> bool:
        """Whether `pc` is in code an activation moved to from its caller frame, which is
        then the same wasm frame (on-stack replacement; only lazily compiled code has it)."""
        return False


def unit_at(units: Sequence[CodeUnit], pc: int) -> CodeUnit | None:
    for u in units:
        if u.holds(pc):
            return u
    return None
