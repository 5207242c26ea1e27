"""A `wasmtime` package that is polyjit: it re-exports polyjit's public names and implements
nothing (tests/api/test_wasmtime_py_suite.py puts its folder first on sys.path to run
wasmtime-py's own tests and examples against polyjit)."""

from engine import *  # noqa: F401,F403
from engine import __all__  # noqa: F401
