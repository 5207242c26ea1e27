"""Hash the machine code polyjit generates, per module and target, so a refactor can show that
it left every byte unchanged.

    python scripts/code_hashes.py OUT.json [--every N] [--targets x86_64,aarch64,riscv64]

Modules: the benchmarks' large program and every module wast2json makes of the 2.0/core spec
suite that compiles (every Nth with --every). Each entry is the sha256 of the code bytes and the
symbol table of `Engine(Config(target=T)).precompile_module(wasm)`. Compare two runs with
`python scripts/code_hashes.py --compare A.json B.json`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import Config, Engine, WasmError  # noqa: E402

SUITE = ROOT.parent / "shared" / "spec-testsuite" / "2.0" / "core"


def _parse(artifact: bytes):
    try:
        from engine.compile.artifact import parse
    except ImportError:
        from engine.artifact import parse
    return parse(artifact)


def code_hash(engine: Engine, wasm: bytes) -> str | None:
    try:
        art = _parse(engine.precompile_module(wasm))
    except WasmError:
        return None
    h = hashlib.sha256(art.code)
    h.update(json.dumps(sorted(art.symbols.items())).encode())
    return h.hexdigest()


def modules(every: int) -> list[tuple[str, bytes]]:
    from benchmarks.gen_large import generate
    out = [("large", generate())]
    tmp = Path(tempfile.mkdtemp(prefix="code-hashes-"))
    for wast in sorted(SUITE.glob("*.wast")):
        subprocess.run(["wast2json", str(wast), "-o", str(tmp / f"{wast.stem}.json")],
                       check=True, capture_output=True)
    wasms = sorted(tmp.glob("*.wasm"))
    for i, path in enumerate(wasms):
        if i % every == 0:
            out.append((path.name, path.read_bytes()))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?")
    ap.add_argument("--every", type=int, default=1)
    ap.add_argument("--targets", default="x86_64,aarch64,riscv64")
    ap.add_argument("--compare", nargs=2)
    args = ap.parse_args()
    if args.compare:
        a, b = (json.loads(Path(p).read_text()) for p in args.compare)
        diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        print(f"{len(a)} vs {len(b)} entries, {len(diff)} differ")
        for k in diff[:50]:
            print("  ", k, a.get(k), b.get(k))
        sys.exit(1 if diff else 0)
    result = {}
    mods = modules(args.every)
    for target in args.targets.split(","):
        engine = Engine(Config(target=target))
        for name, wasm in mods:
            result[f"{target}:{name}"] = code_hash(engine, wasm)
    Path(args.out).write_text(json.dumps(result, indent=0, sort_keys=True))
    print(f"{len(result)} entries, {sum(v is not None for v in result.values())} compiled")


if __name__ == "__main__":
    main()
