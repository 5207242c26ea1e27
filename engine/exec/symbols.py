"""Where a machine's code symbols are: the module's code at one base address, plus code added
later (exit stubs for signatures the module does not declare) at bases of its own. Shared by
the native and the emulated machine."""

from __future__ import annotations


class CodeSymbols:
    """Symbol -> address for one module's code mapped at `base`, and code added afterwards."""

    __slots__ = ("base", "symbols", "_extra")

    def __init__(self, base: int, symbols: dict[str, int]) -> None:
        self.base = base
        self.symbols = symbols
        self._extra: dict[str, int] = {}

    def address(self, symbol: str) -> int:
        extra = self._extra.get(symbol)
        if extra is not None:
            return extra
        return self.base + self.symbols[symbol]

    def __contains__(self, symbol: str) -> bool:
        return symbol in self.symbols or symbol in self._extra

    def add(self, base: int, symbols: dict[str, int]) -> None:
        """Code mapped at `base`: its new names become addressable (existing ones keep their
        place)."""
        for name, off in symbols.items():
            if name not in self.symbols:
                self._extra.setdefault(name, base + off)

    def function_at(self, pc: int) -> int | None:
        """The defined function index whose code contains `pc`, or None (functions come
        first in the module's code, stubs and trampolines after them)."""
        rel = pc - self.base
        best, best_off = None, -1
        end = min((off for name, off in self.symbols.items() if not name.startswith("func")),
                  default=None)
        for name, off in self.symbols.items():
            if name.startswith("func") and name[4:].isdigit() and best_off < off <= rel:
                best, best_off = int(name[4:]), off
        if best is None or (end is not None and end > best_off and rel >= end):
            return None
        return best
