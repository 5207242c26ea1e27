"""Parse throughput of polyjit's text-format parser (KB of WAT per second).

Usage: python benchmarks/text_throughput.py [file.wat ...] [--size KB] [--repeat N]

Without files it generates a large module (flat and folded code, constants, memory accesses,
calls, branches) of about --size KB. For each input it reports the time and KB/s of the stages
(CPU time, best of --repeat): tokenize, s-expression read, full parse + encode; and, when wasm-tools is installed, the time
of `wasm-tools parse` on the same text for comparison (a separate process, so it includes the
process start).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.text.lexer import Source, tokenize  # noqa: E402
from engine.text.parser import parse_module_text  # noqa: E402
from engine.text.sexpr import read  # noqa: E402


def generate_module(target_kb: int, seed: int = 1) -> str:
    """A valid module of roughly target_kb kilobytes of text."""
    rng = random.Random(seed)
    parts = ['(module $bench',
             '  (type $bin (func (param i32 i32) (result i32)))',
             '  (memory $mem 1)',
             '  (table $tab 16 funcref)',
             '  (global $g (mut i32) (i32.const 0))']
    size = sum(map(len, parts))
    n = 0
    while size < target_kb * 1024:
        body = [f'  (func $f{n} (export "f{n}") (param $a i32) (param $b i32) (result i32)',
                '    (local $t i32) (local $x i64) (local $y f64)']
        for k in range(rng.randint(5, 25)):
            c = rng.randint(-100000, 100000)
            choice = k % 5
            if choice == 0:
                body.append(f'    (local.set $t (i32.add (local.get $a) (i32.mul (local.get $b) (i32.const {c}))))')
            elif choice == 1:
                body.append(f'    local.get $t\n    i32.const {c & 0xFFFF}\n    i32.xor\n    local.set $t')
            elif choice == 2:
                body.append(f'    (i32.store offset={abs(c) % 64} (i32.const 0) (i32.load (local.get $t)))')
            elif choice == 3:
                body.append(f'    (local.set $y (f64.add (local.get $y) (f64.const {rng.random() * 1e6:.6e})))')
            else:
                body.append('    (block $out (loop $top (br_if $out (i32.eqz (local.get $b)))'
                            ' (local.set $b (i32.sub (local.get $b) (i32.const 1))) (br $top)))')
        if n:
            body.append(f'    (call $f{n - 1} (local.get $t) (local.get $b))')
        else:
            body.append('    (local.get $t)')
        body.append('  )')
        text = "\n".join(body)
        parts.append(text)
        size += len(text) + 1
        n += 1
    parts.append(')')
    return "\n".join(parts)


def _best(fn, repeat: int) -> float:
    """Best CPU time of `repeat` runs (CPU time, so a busy machine distorts it less)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def _best_child(fn, repeat: int) -> float:
    """Best CPU time (user + system) of child processes run by `fn`."""
    best = float("inf")
    for _ in range(repeat):
        before = os.times()
        fn()
        after = os.times()
        best = min(best, (after.children_user - before.children_user)
                   + (after.children_system - before.children_system))
    return best


def measure(name: str, text: str, repeat: int) -> None:
    kb = len(text.encode("utf-8")) / 1024
    t_lex = _best(lambda: tokenize(Source(text)), repeat)
    t_read = _best(lambda: read(Source(text)), repeat)
    t_all = _best(lambda: parse_module_text(text), repeat)
    print(f"{name}: {kb:,.0f} KB, {len(tokenize(Source(text))):,} tokens")
    print(f"  tokenize        {t_lex * 1000:8.1f} ms  {kb / t_lex:10,.0f} KB/s")
    print(f"  read s-exprs    {t_read * 1000:8.1f} ms  {kb / t_read:10,.0f} KB/s")
    print(f"  parse + encode  {t_all * 1000:8.1f} ms  {kb / t_all:10,.0f} KB/s")
    exe = shutil.which("wasm-tools") or str(Path(sys.executable).parent / "wasm-tools")
    if Path(exe).exists():
        data = text.encode("utf-8")
        t_ref = _best_child(lambda: subprocess.run([exe, "parse", "-", "-o", "/dev/null"], input=data,
                                             check=True), repeat)
        print(f"  wasm-tools parse {t_ref * 1000:7.1f} ms  {kb / t_ref:10,.0f} KB/s  (CPU time incl. process start)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--size", type=int, default=2048, help="KB of generated text (default 2048)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if args.files:
        for path in args.files:
            measure(str(path), path.read_text(encoding="utf-8"), args.repeat)
    else:
        measure(f"generated module (~{args.size} KB)", generate_module(args.size), args.repeat)


if __name__ == "__main__":
    main()
