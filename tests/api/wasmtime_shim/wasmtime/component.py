"""wasmtime.component as polyjit has it (re-exported; every name is "not supported yet")."""

from engine.component import *  # noqa: F401,F403
