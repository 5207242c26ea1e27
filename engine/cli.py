"""The `polyjit` command."""

from __future__ import annotations

import argparse
import sys

from .errors import Trap, WasmError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="polyjit", description="polyjit: a WebAssembly JIT for Python")
    sub = parser.add_subparsers(dest="command", required=True)
    p_val = sub.add_parser("validate", help="decode and validate a module (binary or text)")
    p_val.add_argument("file")
    args = parser.parse_args(argv)
    try:
        if args.command == "validate":
            from .engine import Engine
            from .module import Module
            Module.from_file(Engine(), args.file)
            print(f"{args.file}: valid")
        return 0
    except (WasmError, Trap, OSError) as e:
        print(f"polyjit: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
