"""memory.copy and memory.fill in machine code: the same memory contents and traps as the IR
interpreter (which runs runtime.libcalls) on overlapping copies in both directions, zero
lengths at and past the end, ranges that straddle the end (nothing written), lengths with the
top bit set, and after memory.grow; and no runtime-helper call on the way."""

from __future__ import annotations

import random

import pytest

from engine import Config, Engine, Instance, Module, Store, Trap
from engine.runtime import libcalls

WAT = """(module
  (memory (export "mem") 1 4)
  (func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "seed") (param $n i32) (local $i i32) (local $x i32)
    (local.set $x (i32.const 7))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $x (i32.add (i32.mul (local.get $x) (i32.const 1103515245)) (i32.const 12345)))
      (i32.store8 (local.get $i) (i32.shr_u (local.get $x) (i32.const 16)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l))))
  ;; a copy and a fill with values live around them (they must survive in registers)
  (func (export "around") (param $a i32) (param $b i32) (result i32)
    (local $k i32)
    (local.set $k (i32.mul (local.get $a) (i32.const 3)))
    (memory.copy (local.get $b) (local.get $a) (i32.const 7))
    (memory.fill (local.get $a) (local.get $k) (i32.const 5))
    (i32.add (i32.add (local.get $k) (local.get $a)) (i32.load (local.get $b))))
)"""

PAGE = 65536

CONFIGS = {
    "x86_64": {},
    "x86_64-emulated": {"target": "x86_64", "emulate": True},
    "aarch64-emulated": {"target": "aarch64"},
    "riscv64-emulated": {"target": "riscv64"},
}


def _cases(seed: int) -> list[tuple]:
    rng = random.Random(seed)
    out: list[tuple] = []
    for _ in range(150):
        n = rng.choice([0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 100,
                        1000, 4096])
        s = rng.randrange(0, 8192)
        d = s + rng.choice([-n, -1, 0, 1, n // 2, n, -(n // 2), 17, -17])
        d = max(0, d)
        out.append(("copy", d, s, n))
        out.append(("fill", rng.randrange(0, 8192), rng.randrange(-300, 300), n))
    edge = [("copy", PAGE, 0, 0), ("copy", 0, PAGE, 0), ("copy", PAGE + 1, 0, 0),
            ("copy", PAGE - 10, 0, 11), ("copy", 0, PAGE - 10, 11), ("copy", PAGE - 10, 0, 10),
            ("copy", 0, 0, 0x80000000), ("copy", 0xFFFFFFF0, 0, 32), ("copy", 5, 9, -1),
            ("fill", PAGE, 1, 0), ("fill", PAGE + 1, 1, 0), ("fill", PAGE - 3, 9, 4),
            ("fill", PAGE - 3, 9, 3), ("fill", 0, 0x1FF, -1), ("fill", -1, 0, 1),
            ("grow", 1), ("copy", 2 * PAGE - 8, 100, 8), ("copy", 2 * PAGE - 8, 100, 9),
            ("fill", 2 * PAGE - 4, 77, 4), ("fill", 2 * PAGE - 4, 77, 5),
            ("copy", PAGE - 50, PAGE - 60, 100), ("copy", PAGE - 60, PAGE - 50, 100)]
    return out + edge


def _run(config: dict, cases: list[tuple]) -> tuple[list, bytes]:
    engine = Engine(Config(**config))
    store = Store(engine)
    inst = Instance(store, Module(engine, WAT), [])
    ex = inst.exports(store)
    ex["seed"](store, PAGE)
    outcomes = []
    for op, *args in cases:
        try:
            outcomes.append(ex[op](store, *args))
        except Trap as t:
            outcomes.append(("trap", t.trap_code))
    outcomes.append([ex["around"](store, a, b) for a, b in [(10, 200), (300, 303), (303, 300)]])
    return outcomes, bytes(ex["mem"].read(store, 0, ex["mem"].data_len(store)))


@pytest.fixture(scope="module")
def reference() -> tuple[list, bytes]:
    return _run({"strategy": "interpreter"}, _cases(1))


@pytest.mark.parametrize("name", list(CONFIGS))
def test_bulk_memory_matches_the_interpreter_without_helpers(name, reference, monkeypatch):
    calls: list[str] = []
    for op in ("memory_copy", "memory_fill"):
        real = getattr(libcalls, op)
        monkeypatch.setattr(libcalls, op,
                            lambda *a, _op=op, _real=real: calls.append(_op) or _real(*a))
    outcomes, memory = _run(CONFIGS[name], _cases(1))
    assert outcomes == reference[0]
    assert memory == reference[1]
    traps = [o for o in outcomes if isinstance(o, tuple)]
    assert len(traps) >= 10            # the edge cases do trap
    assert calls == [], "memory.copy/fill went through the runtime helper"
