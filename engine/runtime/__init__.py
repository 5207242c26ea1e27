"""The runtime: store objects (memories, tables, globals, functions), instantiation, linking,
the libcalls every executor shares, and the executor interface that runs wasm code.

Contracts executors rely on:

- Values inside the runtime (values.py): i32/i64 unsigned ints, f32/f64 raw bit patterns,
  funcref a Func or None, externref any object or None. The Python API converts at the edge.
- ``Instance``: ``funcs``, ``tables``, ``mems``, ``globals`` (index spaces, imports first),
  ``types``, ``elems`` (lists, emptied by elem.drop), ``datas`` (bytes, emptied by data.drop),
  ``wasm`` (WasmModule), ``module`` (Module), ``store``, ``executor``, ``exec_state``.
- ``Memory.buf`` (a writable buffer of the memory's current length, replaced on growth),
  ``Memory.length`` (bytes; every access is checked against it), ``Memory.base_address()``
  (fixed: the memory lives in a reservation of its maximum and grows in place),
  ``Memory.grow_pages(delta)`` (old pages or -1).
- ``Table.elements`` (a list that is only ever extended in place), ``Table.grow_elements``.
- ``Global.value_`` (internal value). ``Func.ftype``, ``Func.host`` (callable or None),
  ``Func.instance``/``Func.index`` (defining instance and index), ``Func.code`` (executor's).
- ``Store.depth``: wasm frames live in the store, so nested executors share one limit.
- ``Store.limits`` (StoreLimits, set by Store.set_limits): Memory.grow_pages and
  Table.grow_elements return -1 past them, so memory.grow / table.grow obey them whatever the
  executor; ``Store.instances`` (weak) lets Store.gc ask each executor to ``collect``.
- Traps carry ``frames`` (errors.Frame, innermost first, made by runtime.backtrace).
- ``Executor`` (executor.py): ``prepare(instance)``, ``call(instance, func_index, args)``,
  ``collect(instance)``;
  the engine chooses it (engine.api) and the runtime reaches it as ``executor_for(state)``.
- ``libcalls``: memory and table bulk operations and growth, written once for every executor.
"""

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
