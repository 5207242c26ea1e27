"""WASI preview 1 (wasi_snapshot_preview1) for polyjit: host functions in Python, the same for
every executor.

Modules: constants (errno, rights, flags as enums), config (WasiConfig), guestmem (bounds-checked
guest memory access), descriptors (the per-store descriptor table), sandbox (the path resolver),
context (a store's WASI state), fd_ops / path_ops / misc_ops / poll (the functions),
functions (the signatures and the per-store function set), linking (Linker.define_wasi)."""

from .config import DirPerms, FilePerms, WasiConfig
from .constants import Errno, Rights

__all__ = ["WasiConfig", "DirPerms", "FilePerms", "Errno", "Rights"]
