"""The cost of the runtime <-> machine-code boundary, polyjit and wasmtime-py in one process,
best of --repeat: a loop of calls from wasm to a host function (i32) -> i32, a loop of calls
from wasm to a function of another instance (through an import), and instantiating a
one-function module in an existing store. Prints microseconds per operation and the
polyjit/wasmtime ratio.

    python -m benchmarks.boundary [--n 20000] [--repeat 5] [--config native|aarch64|...]
    python -m benchmarks.boundary --profile host      # cProfile of polyjit's host-call loop
"""

from __future__ import annotations

import argparse
import time

CALLER = """
(module
  (import "env" "f" (func $f (param i32) (result i32)))
  (func (export "run") (param $n i32) (result i32)
    (local $sum i32)
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $sum (i32.add (local.get $sum) (call $f (local.get $n))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $again)))
    (local.get $sum)))
"""

CALLEE = """(module (func (export "f") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1))))"""

ONE_FUNC = """(module (func (export "f") (result i32) (i32.const 1)))"""

CONFIGS = {"native": {}, "interpreter": {"strategy": "interpreter"},
           "x86_64-emu": {"target": "x86_64", "emulate": True},
           "aarch64": {"target": "aarch64"}, "riscv64": {"target": "riscv64"}}


def _engine(api, config: dict | None):
    if config is None:
        return api.Engine()
    from engine import Config
    return api.Engine(Config(**config))


def host_loop(api, config):
    """(store, run): run(n) calls a host function n times from wasm."""
    engine = _engine(api, config)
    store = api.Store(engine)
    ty = api.FuncType([api.ValType.i32()], [api.ValType.i32()])
    f = api.Func(store, ty, lambda x: x + 1)
    run = api.Instance(store, api.Module(engine, CALLER), [f]).exports(store)["run"]
    return store, run


def cross_loop(api, config):
    """(store, run): run(n) calls a wasm function of another instance n times."""
    engine = _engine(api, config)
    store = api.Store(engine)
    callee = api.Instance(store, api.Module(engine, CALLEE), []).exports(store)["f"]
    run = api.Instance(store, api.Module(engine, CALLER), [callee]).exports(store)["run"]
    return store, run


def _expected(n: int) -> int:
    return (sum(range(2, n + 2))) & 0xFFFFFFFF


def measure_loop(make, n: int, repeat: int, config: dict) -> dict[str, float]:
    import wasmtime

    import engine
    runtimes = {"polyjit": make(engine, config), "wasmtime": make(wasmtime, None)}
    best = {name: float("inf") for name in runtimes}
    for name, (store, run) in runtimes.items():
        assert run(store, 10) == _expected(10), name
    for _ in range(repeat):
        for name, (store, run) in runtimes.items():
            t0 = time.perf_counter()
            total = run(store, n)
            dt = time.perf_counter() - t0
            assert total & 0xFFFFFFFF == _expected(n), (name, total)
            best[name] = min(best[name], dt / n * 1e6)
    return best


def measure_instantiate(n: int, repeat: int, config: dict) -> dict[str, float]:
    import wasmtime

    import engine
    best = {}
    for name, api, cfg in (("polyjit", engine, config), ("wasmtime", wasmtime, None)):
        eng = _engine(api, cfg)
        module = api.Module(eng, ONE_FUNC)
        store = api.Store(eng)
        assert api.Instance(store, module, []).exports(store)["f"](store) == 1
        b = float("inf")
        for _ in range(repeat):
            store = api.Store(eng)
            t0 = time.perf_counter()
            for _ in range(n):
                api.Instance(store, module, [])
            b = min(b, (time.perf_counter() - t0) / n * 1e6)
        best[name] = b
    return best


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=20000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--config", choices=sorted(CONFIGS), default="native")
    p.add_argument("--profile", choices=["host", "cross"], default=None)
    a = p.parse_args(argv)
    config = CONFIGS[a.config]
    if a.profile:
        import cProfile
        import pstats

        import engine
        store, run = (host_loop if a.profile == "host" else cross_loop)(engine, config)
        cProfile.runctx("run(store, a.n)", globals(), {"run": run, "store": store, "a": a},
                        "/tmp/boundary.prof")
        pstats.Stats("/tmp/boundary.prof").sort_stats("tottime").print_stats(15)
        return 0
    rows = [("host call", measure_loop(host_loop, a.n, a.repeat, config)),
            ("call into another instance", measure_loop(cross_loop, a.n, a.repeat, config)),
            ("instantiate a one-function module",
             measure_instantiate(max(a.n // 20, 50), a.repeat, config))]
    print(f"config {a.config}: microseconds per operation, best of {a.repeat}")
    for what, best in rows:
        print(f"  {what:36} polyjit {best['polyjit']:9.2f}  wasmtime {best['wasmtime']:7.2f}"
              f"  ratio {best['polyjit'] / best['wasmtime']:6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
