"""Command line of the fuzzer: ``python -m fuzz`` and ``polyjit fuzz`` share these options
(engine/tools/cli.py calls ``add_parser``). Exit status 1 when a divergence was found."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

DESCRIPTION = ("Differential fuzzing: generated modules (hypothesis, shrunk on failure) and "
               "wasm-smith modules run on every selected target and on wasmtime; results, traps, "
               "globals, memory and tables are compared after every call. Divergences are "
               "reduced and saved to the corpus; a summary table ends the run.")
DEFAULT_TARGETS = "interp,x86_64,emu-x86_64,aarch64,riscv64,wasmtime"


def add_options(p: argparse.ArgumentParser) -> None:
    from .campaign import SOURCES
    from .corpus import CORPUS_DIR
    p.add_argument("--time", type=float, default=60.0, metavar="SECONDS",
                   help="campaign length in seconds (default 60)")
    p.add_argument("--targets", default=DEFAULT_TARGETS, metavar="A,B",
                   help=f"oracles to compare (default: {DEFAULT_TARGETS}); unavailable ones are "
                        "reported, never counted as agreeing")
    p.add_argument("--seed", type=int, default=0, help="campaign seed (default 0)")
    p.add_argument("--sources", default=",".join(SOURCES), metavar="A,B",
                   help=f"module sources (default: {','.join(SOURCES)})")
    p.add_argument("--batch", type=int, default=20, metavar="N",
                   help="generated cases per hypothesis batch (default 20)")
    p.add_argument("--timeout", type=float, default=20.0, metavar="SECONDS",
                   help="per-case time limit of an oracle; beyond it the case is a timeout")
    p.add_argument("--corpus", type=Path, default=CORPUS_DIR, metavar="DIR",
                   help=f"where reproducers are saved (default {CORPUS_DIR})")
    p.add_argument("--no-save", action="store_true", help="do not save reproducers")
    p.add_argument("--no-shrink", action="store_true", help="save divergences unreduced")
    p.add_argument("-v", "--verbose", action="store_true", help="log each finding as it happens")


def run(args: argparse.Namespace) -> int:
    from .campaign import Campaign, stderr_log
    from .report import Progress, summary
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    sources = tuple(s.strip() for s in args.sources.split(",") if s.strip())
    try:
        campaign = Campaign(targets, timeout=args.timeout,
                            corpus=None if args.no_save else args.corpus,
                            shrink=not args.no_shrink,
                            log=stderr_log if args.verbose else None)
    except ValueError as e:
        print(f"polyjit fuzz: error: {e}", file=sys.stderr)
        return 2
    progress = Progress()
    try:
        with campaign:
            stats = campaign.run(args.time, args.seed, sources, batch=args.batch,
                                 progress=progress)
    except ValueError as e:
        print(f"polyjit fuzz: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        stats = campaign.stats
    progress.done()
    print(summary(stats))
    return 1 if stats.findings else 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register `fuzz` on the polyjit command's subparsers."""
    p = subparsers.add_parser("fuzz", help="differential fuzzing of every target against wasmtime",
                              description=DESCRIPTION)
    add_options(p)
    p.set_defaults(handler=run)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m fuzz", description=DESCRIPTION)
    add_options(p)
    return run(p.parse_args(argv))
