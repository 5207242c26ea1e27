"""Func: a callable wasm function, either defined by a module instance or by the host (a Python
callable), and Caller, the view of the calling instance that host functions may ask for."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..errors import Trap, TrapCode, WasmError
from ..wasm.types import FuncType, ValType
from .store import Store, check_use
from .values import FuncRef, to_internal, to_python

if TYPE_CHECKING:
    from .instance import Instance


class Func(FuncRef):
    """A wasm function (mirrors wasmtime-py's Func).

    Internal fields: ``ftype`` (FuncType), ``host`` (the Python callable, None for a wasm
    function), ``instance`` and ``index`` (the defining instance and the function's index in its
    function index space, for wasm functions)."""

    __slots__ = ("_store", "ftype", "host", "access_caller", "instance", "index", "code",
                 "__weakref__")

    def __init__(self, store: Store, ty: FuncType, func: Callable[..., Any],
                 access_caller: bool = False) -> None:
        if not isinstance(store, Store):
            raise WasmError(f"Func expects a Store, got {type(store).__name__}")
        if not isinstance(ty, FuncType):
            raise WasmError(f"Func expects a FuncType, got {type(ty).__name__}")
        if not callable(func):
            raise WasmError(f"Func expects a callable, got {type(func).__name__}")
        self._store = store
        self.ftype = ty
        self.host = func
        self.access_caller = bool(access_caller)
        self.instance: Instance | None = None
        self.index = -1
        #: free for the executor of a wasm function (e.g. its bound code); for a host
        #: function, call_host's argument converters; None until then
        self.code: Any = None

    @classmethod
    def _wasm(cls, store: Store, ty: FuncType, instance: Instance, index: int) -> Func:
        f = cls.__new__(cls)
        f._store = store
        f.ftype = ty
        f.host = None
        f.access_caller = False
        f.instance = instance
        f.index = index
        f.code = None
        return f

    def type(self, store: Store) -> FuncType:
        check_use(store, self._store, "Func.type")
        return self.ftype

    def __call__(self, store: Store, *params: Any) -> Any:
        """Call with Python values; returns None, one value, or a list for several results."""
        if not isinstance(store, Store):
            raise WasmError(f"a Func is called with its Store first, got {type(store).__name__}")
        store._check(self._store, "this function")
        ty = self.ftype
        if len(params) != len(ty.params):
            many = "many" if len(params) > len(ty.params) else "few"
            raise WasmError(f"too {many} parameters provided: given {len(params)}, "
                            f"expected {len(ty.params)}")
        args = []
        for i, (t, v) in enumerate(zip(ty.params, params)):
            try:
                args.append(to_internal(t, v, store))
            except WasmError as e:
                raise WasmError(f"argument {i}: {e}") from None
        store._enter("calling this function")
        try:
            results = invoke(self, args, None)
        finally:
            store._leave()
        if not ty.results:
            return None
        if len(ty.results) == 1:
            return to_python(ty.results[0], results[0])
        return [to_python(t, v) for t, v in zip(ty.results, results)]

    def __repr__(self) -> str:
        if self.host is not None:
            return f"<Func host {self.ftype}>"
        return f"<Func {self.instance.wasm.func_name(self.index)} {self.ftype}>"


def invoke(func: Func, args: Sequence[Any], caller: Instance | None) -> Sequence[Any]:
    """Call `func` with internal argument values; return its internal results."""
    if func.host is not None:
        return call_host(func, args, caller)
    inst = func.instance
    return inst.executor.call(inst, func.index, args)


def call_host(func: Func, args: Sequence[Any], caller: Instance | None) -> Sequence[Any]:
    """Run a host function on internal argument values; return its internal results. Its
    exceptions become a Trap (a Trap it raises passes unchanged)."""
    ty = func.ftype
    convs = func.code
    if convs is None:       # a host Func's `code`: (index, kind, type) per converted param
        convs = func.code = tuple((i, _KIND.get(t, 0), t) for i, t in enumerate(ty.params)
                                  if not t.is_ref)
    py_args = list(args)
    for i, kind, t in convs:
        v = py_args[i]
        if kind == 1:           # i32, signed (a machine word's upper half is not its value)
            v &= 0xFFFF_FFFF
            py_args[i] = v - 0x1_0000_0000 if v & 0x8000_0000 else v
        elif kind == 2:         # i64, signed
            if v & 0x8000_0000_0000_0000:
                py_args[i] = v - 0x1_0000_0000_0000_0000
        else:
            py_args[i] = to_python(t, v & 0xFFFF_FFFF if t is _F32 else v)
    if func.access_caller:
        py_args.insert(0, Caller(caller) if caller is None else caller.caller_view())
    try:
        out = func.host(*py_args)
    except Trap:
        raise
    except RecursionError:
        # wasm -> host -> wasm re-entry nested deeper than Python's stack allows
        raise Trap(None, TrapCode.STACK_OVERFLOW) from None
    except Exception as e:
        raise Trap(f"host function raised {type(e).__name__}: {e}") from e
    results = ty.results
    if len(results) == 1:
        if results[0] is _I32 and out.__class__ is int and -0x8000_0000 <= out <= 0xFFFF_FFFF:
            return [out & 0xFFFF_FFFF]
        try:
            return [to_internal(results[0], out, func._store)]
        except WasmError as e:
            raise Trap(f"host function returned a bad result: {e}") from e
    return _host_results(ty, out, func._store)


_I32 = ValType.I32
_KIND = {ValType.I32: 1, ValType.I64: 2}
_F32 = ValType.F32


def _host_results(ty: FuncType, out: Any, store: Store) -> list[Any]:
    n = len(ty.results)
    if n == 0:
        if out is not None:
            raise Trap(f"host function with no results returned {type(out).__name__}")
        return []
    if n == 1:
        values = [out]
    else:
        if not isinstance(out, (list, tuple)) or len(out) != n:
            raise Trap(f"host function must return a list or tuple of {n} values for {ty}, "
                       f"got {out!r:.80}")
        values = list(out)
    results = []
    for t, v in zip(ty.results, values):
        try:
            results.append(to_internal(t, v, store))
        except WasmError as e:
            raise Trap(f"host function returned a bad result: {e}") from e
    return results


class Caller:
    """What a host function created with ``access_caller=True`` receives first: the calling
    instance's exports, by name (``caller["memory"]``)."""

    __slots__ = ("_instance",)

    def __init__(self, instance: Instance | None) -> None:
        self._instance = instance

    def get(self, name: str) -> Any:
        if self._instance is None:
            return None
        return self._instance.export_map.get(name)

    def __getitem__(self, name: str) -> Any:
        item = self.get(name)
        if item is None:
            raise KeyError(f"failed to find export {name}")
        return item

    def _context(self) -> Store | None:
        return None if self._instance is None else self._instance.store
