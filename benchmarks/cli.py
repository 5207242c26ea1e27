"""Command line of the benchmark: ``python -m benchmarks`` and ``polyjit bench`` share these
options (engine/tools/cli.py calls ``add_parser``)."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

DESCRIPTION = ("Run the benchmark kernels and the generated large program under polyjit's "
               "configurations and wasmtime (same n, best of --repeat, alternating); compare "
               "checksums, print times, ratios, compile throughput and peak memory. Exits 1 on "
               "any checksum mismatch or error; configurations that do not exist yet show n/a.")


def add_options(p: argparse.ArgumentParser) -> None:
    from .configs import CONFIGS
    from .suite import PROGRAMS
    p.add_argument("--short", action="store_true",
                   help="small n for CI: check every checksum, skip throughput and memory")
    p.add_argument("--kernels", metavar="A,B", help=f"programs to run (default all: {','.join(PROGRAMS)})")
    p.add_argument("--configs", metavar="A,B",
                   help="polyjit configurations, or 'all' (default: "
                        f"{','.join(c.name for c in CONFIGS if c.default)})")
    p.add_argument("--repeat", type=int, default=3, metavar="N", help="runs per measurement, best kept (default 3)")
    p.add_argument("--cpu", action="store_true",
                   help="time each run by the calling thread's CPU time, not wall time (steadier "
                        "on a shared machine)")
    p.add_argument("--markdown", action="store_true", help="print Markdown tables (for the README)")
    p.add_argument("--no-extras", action="store_true", help="skip compile throughput and peak memory")
    p.add_argument("-v", "--verbose", action="store_true", help="progress and tracebacks on stderr")


def run(args: argparse.Namespace) -> int:
    from .configs import select
    from .measure import Bench
    from .report import render
    from .suite import PROGRAMS
    try:
        configs = select(args.configs)
        if args.kernels:
            names = [k.strip() for k in args.kernels.split(",") if k.strip()]
            unknown = [k for k in names if k not in PROGRAMS]
            if unknown or not names:
                raise ValueError(f"unknown program(s) {', '.join(unknown) or '(none given)'} "
                                 f"(known: {', '.join(PROGRAMS)})")
            programs = [PROGRAMS[k] for k in names]
        else:
            programs = list(PROGRAMS.values())
        if args.repeat < 1:
            raise ValueError("--repeat must be at least 1")
    except ValueError as e:
        print(f"bench: error: {e}", file=sys.stderr)
        return 2
    log = (lambda s: print(s, file=sys.stderr, flush=True)) if args.verbose else (lambda s: None)
    bench = Bench(programs, configs, repeat=1 if args.short else args.repeat, short=args.short, log=log,
                  cpu=args.cpu)
    results = bench.run(with_extras=not args.no_extras)
    sys.stdout.write(render(results, markdown=args.markdown))
    return 1 if results.failures else 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``bench`` subcommand to a parser's subparsers (its handler is ``args.handler``)."""
    p = subparsers.add_parser("bench", help="benchmark polyjit against wasmtime", description=DESCRIPTION)
    add_options(p)
    p.set_defaults(handler=run)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=DESCRIPTION)
    add_options(p)
    return run(p.parse_args(argv))
