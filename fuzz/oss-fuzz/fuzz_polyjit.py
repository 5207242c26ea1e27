"""OSS-Fuzz entry point: generated modules (fuzz.atheris_targets.TestOneInput) on the
interpreter, native x86_64 and wasmtime oracles (POLYJIT_FUZZ_TARGETS overrides)."""

import multiprocessing
import os
import sys


def main() -> None:
    multiprocessing.freeze_support()    # oracle workers of a PyInstaller-built fuzzer
    os.environ.setdefault("POLYJIT_FUZZ_TARGETS", "interp,x86_64,wasmtime")
    from fuzz.atheris_targets import main as fuzz_main
    fuzz_main(sys.argv)


if __name__ == "__main__":
    main()
