"""A fuzz case: one module (binary, and its text when generated) and the calls to make on it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from .values import Value


@dataclass(slots=True, frozen=True)
class Call:
    """Call export `name` with `args`."""

    name: str
    args: tuple[Value, ...]

    def to_json(self) -> dict:
        return {"name": self.name, "args": [a.to_json() for a in self.args]}

    @classmethod
    def from_json(cls, data: dict) -> Call:
        return cls(str(data["name"]), tuple(Value.from_json(a) for a in data["args"]))

    def __str__(self) -> str:
        return f"{self.name}({', '.join(str(a) for a in self.args)})"


@dataclass(slots=True)
class Case:
    """What every oracle runs: instantiate `wasm` (its imports: fuzz.host's functions, and
    with a `provider` the exports of that module's instance, module name "p", in the same
    store), then make `calls` in order."""

    wasm: bytes
    calls: list[Call]
    wat: str | None = None
    source: str = "generated"                  # "generated", "smith", "atheris", "corpus"
    meta: dict = field(default_factory=dict)
    #: a module instantiated first, whose exports `wasm` may import (calls between instances)
    provider: bytes | None = None

    def digest(self) -> str:
        h = hashlib.sha256(self.wasm)
        if self.provider is not None:
            h.update(self.provider)
        for c in self.calls:
            h.update(str(c.to_json()).encode())
        return h.hexdigest()[:12]
