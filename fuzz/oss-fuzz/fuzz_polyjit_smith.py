"""OSS-Fuzz entry point: wasm-smith modules seeded by the input bytes
(fuzz.atheris_targets.TestOneInputSmith) on the same oracles as fuzz_polyjit.py."""

import multiprocessing
import os
import sys


def main() -> None:
    multiprocessing.freeze_support()
    os.environ.setdefault("POLYJIT_FUZZ_TARGETS", "interp,x86_64,wasmtime")
    from fuzz.atheris_targets import main as fuzz_main
    fuzz_main(sys.argv + ["-smith"])


if __name__ == "__main__":
    main()
