#!/usr/bin/env python
"""Run the whole spec suite in one process for one target and print the README status table.

    python scripts/spec_report.py                    # polyjit's interpreter target
    python scripts/spec_report.py --target x86_64    # another polyjit target
    python scripts/spec_report.py --api wasmtime     # the reference figure (wasmtime-py)
    python scripts/spec_report.py --failures 20 i32 f32   # some files, show failures
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from spec.cache import SUITE_DIR, suite_files  # noqa: E402
from spec.results import Tally, format_markdown_table, format_text_table  # noqa: E402
from spec.runner import run_target  # noqa: E402
from spec.skips import REFERENCE_KNOWN_FAILURES  # noqa: E402
from spec.targets import BY_NAME, REFERENCE, TARGETS  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="suite file stems (default: all)")
    parser.add_argument("--target", default=TARGETS[0].name,
                        help=f"polyjit target (one of {', '.join(t.name for t in TARGETS)})")
    parser.add_argument("--api", choices=("polyjit", "wasmtime"), default="polyjit",
                        help="wasmtime: run the reference API instead of polyjit")
    parser.add_argument("--failures", type=int, default=0, metavar="N",
                        help="print up to N failures per file")
    parser.add_argument("--wording", type=int, default=0, metavar="N",
                        help="print up to N messages per file whose wording differs")
    parser.add_argument("--text", action="store_true", help="plain-text table, not markdown")
    args = parser.parse_args(argv)

    target = REFERENCE if args.api == "wasmtime" else BY_NAME.get(args.target)
    if target is None:
        parser.error(f"unknown target {args.target!r}")
    files = suite_files()
    if args.files:
        wanted = set(args.files)
        files = [f for f in files if f.stem in wanted]
        unknown = wanted - {f.stem for f in files}
        if unknown:
            parser.error(f"not in {SUITE_DIR}: {', '.join(sorted(unknown))}")

    total = Tally()
    reasons: list[str] = []
    known_lines = {(k.file, k.line) for k in REFERENCE_KNOWN_FAILURES} \
        if target is REFERENCE else set()
    known = failed = 0
    start = time.perf_counter()
    for wast in files:
        result = run_target(wast, target)
        total.merge(result.tally)
        reasons += [r for r in result.not_run_reasons if r not in reasons]
        if args.failures and result.failures:
            print(result.summary(args.failures), file=sys.stderr)
        for line in result.wording[:args.wording]:
            print("wording: " + line, file=sys.stderr)
        known += sum(1 for line in result.failed_lines if (wast.stem, line) in known_lines)
        failed += len(result.failures)
    elapsed = time.perf_counter() - start

    print(f"Spec suite ({SUITE_DIR.parent.name}/{SUITE_DIR.name}, {len(files)} files) on "
          f"target `{target.name}` ({target.api}), {elapsed:.1f} s\n")
    print(format_text_table(total) if args.text else format_markdown_table(total))
    if reasons:
        print("\nnot yet run because: " + "; ".join(reasons))
    if known_lines:
        print(f"\n{known} of the {failed} failures are known differences of the reference "
              f"(tests/spec/skips.py REFERENCE_KNOWN_FAILURES: WebAssembly 3.0 rule changes, "
              f"wasmtime's WAT parser)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
