"""The runtime: store objects (memories, tables, globals, functions), instantiation, linking,
and the executor interface that runs wasm code (the IR interpreter, later machine code)."""

from .executor import Executor, executor_for
from .func import Caller, Func
from .globals import Global
from .instance import Instance, InstanceExports
from .linker import Linker
from .memory import Memory
from .store import Store
from .table import Table

__all__ = ["Caller", "Executor", "Func", "Global", "Instance", "InstanceExports", "Linker",
           "Memory", "Store", "Table", "executor_for"]
