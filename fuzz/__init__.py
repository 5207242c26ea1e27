"""Differential fuzzing of polyjit: generated and wasm-smith modules run on every execution
target (IR interpreter, x86_64 native and emulated, aarch64, riscv64) and on wasmtime, with
every call's results, traps and the resulting state compared; divergences are shrunk and saved
as reproducers in fuzz/corpus/. Entry points: ``python -m fuzz`` (see fuzz/cli.py) and
fuzz/atheris_targets.py."""
