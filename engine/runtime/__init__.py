"""The runtime: store objects (memories, tables, globals, functions), instantiation, linking,
the libcalls every executor shares, and the executor interface that runs wasm code.

Contracts executors rely on:

- Values inside the runtime (values.py): i32/i64 unsigned ints, f32/f64 raw bit patterns,
  funcref a Func or None, externref any object or None. The Python API converts at the edge.
- ``Instance``: ``funcs``, ``tables``, ``mems``, ``globals`` (index spaces, imports first),
  ``types``, ``elems`` (lists, emptied by elem.drop), ``datas`` (bytes, emptied by data.drop),
  ``wasm`` (WasmModule), ``module`` (Module), ``store``, ``executor``, ``exec_state``,
  ``funcrefs`` (the FuncRef records of its function index space, refs.py).
- Machine state lives in the store's arena (arena.py: host memory an emulator maps at the
  same addresses) and is the only copy: the runtime objects read and write it in place.
- ``Memory.buf`` (a writable buffer of the memory's current length, replaced on growth),
  ``Memory.length`` (bytes; every access is checked against it), ``Memory.base_address()``
  (fixed: the memory lives in a reservation of its maximum and grows in place),
  ``Memory.grow_pages(delta)`` (old pages or -1), ``Memory.mdef`` (its MemoryDefinition),
  ``Memory.watchers`` (told of growth).
- ``Table.elements`` (a sequence view of the machine words), ``Table.tdef`` (its
  TableDefinition), ``Table.grow_elements``, ``fill``, ``copy_from``, ``store_values``.
- ``Global.value_`` (internal value, read from and written to ``Global.cell``).
- ``Store.refs`` (funcref records and externref handles as machine words), ``Store.context``
  (fuel, epoch deadline, entry/trap state shared by all code of the store), ``Store.arena``,
  ``Store.exec_data`` (the executor's per-store machine). ``Func.ftype``, ``Func.host`` (callable or None),
  ``Func.instance``/``Func.index`` (defining instance and index), ``Func.code`` (executor's).
- ``Store.depth``: wasm frames live in the store, so nested executors share one limit.
- ``Executor`` (executor.py): ``prepare(instance)``, ``call(instance, func_index, args)``;
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
