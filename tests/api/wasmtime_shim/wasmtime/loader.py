"""wasmtime.loader as polyjit has it (re-exported: importing it installs the import hook)."""

from engine.loader import *  # noqa: F401,F403
