"""The cost of a WASI call from wasm: a loop of `fd_write` calls of a small buffer (16 bytes,
one iovec) to stdout redirected to /dev/null, under polyjit and wasmtime-py in one process,
alternating, best of --repeat; prints microseconds per call and the polyjit/wasmtime ratio.

    python -m benchmarks.wasi_fdwrite [--n 20000] [--repeat 5] [--config native|aarch64|...]
    python -m benchmarks.wasi_fdwrite --profile      # cProfile of polyjit's calls
"""

from __future__ import annotations

import argparse
import time

WAT = """
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "0123456789abcdef")
  (func (export "run") (param $n i32) (result i32)
    (local $sum i32)
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 16))
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $n)))
        (if (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))
          (then unreachable))
        (local.set $sum (i32.add (local.get $sum) (i32.load (i32.const 8))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $again)))
    (local.get $sum)))
"""

CONFIGS = {"native": {}, "interpreter": {"strategy": "interpreter"},
           "x86_64-emu": {"target": "x86_64", "emulate": True},
           "aarch64": {"target": "aarch64"}, "riscv64": {"target": "riscv64"}}


def setup(api, config: dict | None):
    """(store, run) for `api` (the engine or wasmtime module)."""
    if config is None:
        engine = api.Engine()
    else:
        from engine import Config
        engine = api.Engine(Config(**config))
    linker = api.Linker(engine)
    linker.define_wasi()
    store = api.Store(engine)
    wasi = api.WasiConfig()
    wasi.stdout_file = "/dev/null"
    store.set_wasi(wasi)
    module = api.Module(engine, WAT)
    run = linker.instantiate(store, module).exports(store)["run"]
    return store, run


def measure(n: int, repeat: int, config: str) -> dict[str, float]:
    """Best microseconds per fd_write call for each runtime."""
    import wasmtime

    import engine
    runtimes = {"polyjit": setup(engine, CONFIGS[config]), "wasmtime": setup(wasmtime, None)}
    best = {name: float("inf") for name in runtimes}
    for name, (store, run) in runtimes.items():
        assert run(store, 10) == 160, name          # warm-up, and the checksum
    for _ in range(repeat):
        for name, (store, run) in runtimes.items():
            t0 = time.perf_counter()
            total = run(store, n)
            dt = time.perf_counter() - t0
            assert total == 16 * n, (name, total)
            best[name] = min(best[name], dt / n * 1e6)
    return best


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=20000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--config", choices=sorted(CONFIGS), default="native")
    p.add_argument("--profile", action="store_true")
    args = p.parse_args(argv)
    if args.profile:
        import cProfile
        import pstats

        import engine
        store, run = setup(engine, CONFIGS[args.config])
        run(store, 10)
        prof = cProfile.Profile()
        prof.runcall(run, store, args.n)
        pstats.Stats(prof).sort_stats("tottime").print_stats(14)
        return 0
    best = measure(args.n, args.repeat, args.config)
    print(f"fd_write of 16 bytes, n={args.n}, best of {args.repeat} ({args.config}):")
    for name, us in best.items():
        print(f"  {name:9s} {us:7.2f} us per call")
    print(f"  polyjit/wasmtime: {best['polyjit'] / best['wasmtime']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
