"""Module() and the cyclic collector (engine.compile.module): a large module's decoded
objects reach the collector's oldest generation before it runs again, so no young
collection scans them (on SQLite that scan was 10-15 ms of Module())."""

from __future__ import annotations

import gc

import pytest

from engine import Config, Engine, Module, wat2wasm

FUNCTIONS, INSTRUCTIONS = 100, 82


def _wat() -> str:
    body = "(local.get 0) (i32.const 3) (i32.mul) (local.set 0) " * 20
    return "(module " + "".join(f"(func (param i32) (result i32) {body} (local.get 0))"
                                for _ in range(FUNCTIONS)) + ")"


@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel"])
def test_no_collection_scans_a_large_modules_instructions_young(parallel: bool) -> None:
    engine = Engine(Config(parallel_compilation=parallel))
    wasm = wat2wasm(_wat())
    scanned: list[int] = []

    def watch(phase: str, info: dict) -> None:
        if phase == "start":
            scanned.append(sum(len(gc.get_objects(g)) for g in range(info["generation"] + 1)))
    gc.collect()
    gc.callbacks.append(watch)
    try:
        module = Module(engine, wasm)
    finally:
        gc.callbacks.remove(watch)
    body = module.wasm_module.codes[50].body
    assert len(body) == INSTRUCTIONS and gc.is_tracked(body[0])
    # (a collection started by another thread may come, but it finds few young objects)
    assert all(n < FUNCTIONS * INSTRUCTIONS // 2 for n in scanned), scanned
    young = {id(o) for o in gc.get_objects(0) + gc.get_objects(1)}
    assert not any(id(ins) in young for ins in body)
