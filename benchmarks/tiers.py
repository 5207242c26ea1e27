"""Compile time per function, x86_64 baseline tier against the optimising tier: every defined
function of a module compiled by both, one at a time (CPU time of this process, the cyclic
collector paused as lazy compilation pauses it), with the code bytes each makes.

    python -m benchmarks.tiers [tests/data/wasi/lua54.wasm ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT = [REPO / "tests" / "data" / "wasi" / name for name in ("lua54.wasm", "minigzip.wasm")]


@dataclass(slots=True, frozen=True)
class TierTimes:
    """One module's figures: functions, baseline-refused ones, CPU seconds and code bytes of
    each tier (over the functions both compiled), the median per-function time ratio."""

    functions: int
    refused: int
    baseline_s: float
    optimising_s: float
    baseline_bytes: int
    optimising_bytes: int
    median_ratio: float


def measure(source: bytes | str) -> TierTimes:
    """Both tiers' figures for module `source` (binary or text)."""
    import engine
    from backends.x86_64 import X86_64Backend
    from engine.compile.driver import function_ir
    from engine.ir.gcpause import gc_paused

    module = engine.Module(engine.Engine(), source)
    wasm, info = module.wasm_module, module.info
    backend = X86_64Backend()
    tb = to = 0.0
    refused = bsize = osize = 0
    ratios = []
    with gc_paused():
        for k in range(len(wasm.funcs)):
            index = wasm.num_imported_funcs + k
            t0 = time.process_time()
            piece = backend.baseline_function(wasm, info, index)
            t1 = time.process_time()
            optimised = backend.function_code(function_ir(wasm, index), info)
            t2 = time.process_time()
            if piece is None:
                refused += 1
                continue
            tb += t1 - t0
            to += t2 - t1
            bsize += len(piece.code)
            osize += len(optimised.code)
            ratios.append((t2 - t1) / max(t1 - t0, 1e-9))
    return TierTimes(len(wasm.funcs), refused, tb, to, bsize, osize,
                     statistics.median(ratios) if ratios else 0.0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("modules", nargs="*", type=Path, default=DEFAULT)
    args = ap.parse_args(argv)
    for path in args.modules:
        t = measure(path.read_bytes())
        n = max(t.functions - t.refused, 1)
        print(f"{path.name}: {t.functions} functions ({t.refused} refused by the baseline)")
        print(f"  baseline   {t.baseline_s * 1e3:8.1f} ms CPU, {t.baseline_s / n * 1e3:.3f} ms "
              f"a function, {t.baseline_bytes} code bytes")
        print(f"  optimising {t.optimising_s * 1e3:8.1f} ms CPU, {t.optimising_s / n * 1e3:.3f} "
              f"ms a function, {t.optimising_bytes} code bytes")
        print(f"  baseline is {t.optimising_s / max(t.baseline_s, 1e-9):.1f}x faster in total, "
              f"{t.median_ratio:.1f}x per function (median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
