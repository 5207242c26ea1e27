"""polyjit's benchmark suite: WAT kernels and a generated large program, run under polyjit's
configurations and wasmtime with checksums compared. Entry points: ``python -m benchmarks`` and
``polyjit bench`` (see benchmarks/cli.py)."""
