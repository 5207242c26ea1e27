"""x86_64 baseline tier: a single-pass compiler from the decoded wasm body to machine code (compiler.compile_function), with its own encoder."""
