"""Reduction of wasm-smith divergences with `wasm-tools shrink`: the predicate is this
module run as a script (``python -m fuzz.reduce --predicate ...``), which re-runs the smaller
module on the same oracles and answers "interesting" (exit 0) when the same findings signature
reproduces. Calls are recomputed from each candidate module (gen/smith.smith_calls), so a
candidate that loses an export is still a meaningful test."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from .case import Case


def shrink_smith(case: Case, signature: str, oracles: list[str], attempts: int = 150,
                 timeout: float = 600.0, worker_init: str | None = None) -> Case:
    """The smallest module wasm-tools shrink finds with the same findings signature (the
    original case when shrinking fails or is unavailable)."""
    from .gen.smith import smith_calls, wasm_tools
    tool = wasm_tools()
    seed = case.meta.get("smith_seed")
    if tool is None or seed is None:
        return case
    with tempfile.TemporaryDirectory(prefix="polyjit-shrink-") as tmp:
        src, out = Path(tmp) / "in.wasm", Path(tmp) / "out.wasm"
        src.write_bytes(case.wasm)
        script = Path(tmp) / "predicate.sh"
        root = Path(__file__).resolve().parent.parent
        cmd = [sys.executable, "-m", "fuzz.reduce", "--predicate", "--seed", str(seed),
               "--oracles", ",".join(oracles), "--signature", signature]
        if worker_init:
            cmd += ["--worker-init", worker_init]
        if case.provider is not None:
            # a linked case: the provider stays as it is, the importing module shrinks
            provider = Path(tmp) / "provider.wasm"
            provider.write_bytes(case.provider)
            cmd += ["--provider", str(provider)]
        path = os.pathsep.join([str(root)] + [p for p in sys.path if p])
        script.write_text("#!/bin/sh\ncd " + shlex.quote(str(root)) + " && PYTHONPATH="
                          + shlex.quote(path) + " exec "
                          + " ".join(shlex.quote(c) for c in cmd) + ' "$1"\n')
        script.chmod(0o755)
        try:
            proc = subprocess.run([tool, "shrink", "--attempts", str(attempts), str(script),
                                   str(src), "-o", str(out)], capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return case
        if proc.returncode != 0 or not out.exists():
            return case
        wasm = out.read_bytes()
    meta = dict(case.meta, shrunk_from=len(case.wasm))
    return Case(wasm, smith_calls(wasm, seed), source=case.source, meta=meta,
                provider=case.provider)


def _predicate(args: argparse.Namespace) -> int:
    from .compare import analyse
    from .gen.smith import smith_calls
    from .isolation import OraclePool
    wasm = Path(args.file).read_bytes()
    try:
        calls = smith_calls(wasm, args.seed)
    except Exception:                                         # noqa: BLE001 - not interesting
        return 1
    with OraclePool(args.oracles.split(","), timeout=args.timeout,
                    worker_init=args.worker_init) as pool:
        provider = Path(args.provider).read_bytes() if args.provider else None
        report = analyse(pool.run(Case(wasm, calls, source="smith", provider=provider)))
    return 0 if report.signature == args.signature else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m fuzz.reduce")
    p.add_argument("--predicate", action="store_true", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--oracles", required=True)
    p.add_argument("--signature", required=True)
    p.add_argument("--timeout", type=float, default=20.0)
    p.add_argument("--worker-init", default=None, help="module:function run in each worker")
    p.add_argument("--provider", default=None, help="the module a linked case imports from")
    p.add_argument("file")
    args = p.parse_args(argv)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    return _predicate(args)


if __name__ == "__main__":
    sys.exit(main())
