"""``python -m benchmarks``: the benchmark against wasmtime (see benchmarks/cli.py)."""

import sys

from .cli import main

sys.exit(main())
