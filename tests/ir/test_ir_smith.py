"""Random valid modules from `wasm-tools smith` (WebAssembly 2.0 without SIMD, fixed seeds):
every function builds, verifies against its module, and verifies after the optimiser."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from engine.ir.builder import build_function
from engine.ir.passes import optimize
from engine.ir.verifier import verify
from engine.wasm.decoder import decode
from engine.wasm.validator import validate
from tests.wasm.test_smith_validates import FEATURES_2_0_NO_SIMD, _smith, _wasm_tools

SEEDS = range(1000, 1120)


@pytest.fixture(scope="module")
def modules() -> dict[int, bytes]:
    tool = _wasm_tools()
    with ThreadPoolExecutor(max_workers=4) as pool:
        outputs = list(pool.map(lambda s: _smith(tool, s), SEEDS))
    return {seed: out for seed, out in zip(SEEDS, outputs) if out is not None}


def test_smith_functions_build_and_verify(modules):
    assert len(modules) >= len(SEEDS) // 2
    built = 0
    failures = []
    for seed, data in modules.items():
        m = decode(data, FEATURES_2_0_NO_SIMD)
        validate(m, FEATURES_2_0_NO_SIMD)
        base = m.num_imported_funcs
        for i in range(len(m.funcs)):
            try:
                f = build_function(m, base + i)
                verify(f, m)
                optimize(f, verify_each=True, module=m)
            except Exception as e:          # collect every failure with its seed
                failures.append(f"seed {seed} function {base + i}: {type(e).__name__}: {e}")
                continue
            built += 1
    assert not failures, "\n".join(failures[:20])
    assert built >= len(modules)
