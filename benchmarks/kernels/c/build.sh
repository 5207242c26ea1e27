#!/bin/sh
# Rebuild the loop-nest kernels (see README.md here): Debian clang 14 / lld 14, no libc.
set -e
cd "$(dirname "$0")"
for src in *.c; do
    clang --target=wasm32 -O2 -nostdlib -fno-builtin -Wl,--no-entry -Wl,--export=run \
        -o "${src%.c}.wasm" "$src"
done
