"""Func: a callable wasm function, either defined by a module instance or by the host (a Python
callable), and Caller, the view of the calling instance that host functions may ask for."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..errors import ArgumentTypeError, ClosedError, Trap, TrapCode, WasmError
from ..wasm.types import FuncType, ValType
from .store import Store, check_use, store_of
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
            raise ArgumentTypeError(f"Func expects a Store, got {type(store).__name__}")
        if not isinstance(ty, FuncType):
            raise ArgumentTypeError(f"Func expects a FuncType, got {type(ty).__name__}")
        if not callable(func):
            raise ArgumentTypeError(f"Func expects a callable, got {type(func).__name__}")
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
        store = store_of(store, "calling a Func")
        store._check(self._store, "this function")
        ty = self.ftype
        ptypes, rtypes = ty.param_types, ty.result_types
        if len(params) != len(ptypes):
            many = "many" if len(params) > len(ptypes) else "few"
            raise WasmError(f"too {many} parameters provided: given {len(params)}, "
                            f"expected {len(ptypes)}")
        args = []
        for i, (t, v) in enumerate(zip(ptypes, params)):
            try:
                args.append(to_internal(t, v, store))
            except WasmError as e:
                raise type(e)(f"argument {i}: {e}") from None
        store._enter("calling this function")
        try:
            results = invoke(self, args, None)
        finally:
            store._leave()
        if not rtypes:
            return None
        if len(rtypes) == 1:
            return to_python(rtypes[0], results[0])
        return [to_python(t, v) for t, v in zip(rtypes, results)]

    def __repr__(self) -> str:
        if self.host is not None:
            return f"<Func host {self.ftype}>"
        return f"<Func {self.instance.wasm.func_name(self.index)} {self.ftype}>"


class FuncSpace(Sequence):
    """An instance's function index space: its imported Funcs, then its defined functions,
    whose Func objects are made on first use (an exported function, a reference that reaches
    Python, a call from the host): instantiating a module of thousands of functions makes a
    Func for the few the program touches from Python, not one per function."""

    __slots__ = ("imported", "_funcs", "_store", "_instance", "_types", "_type_of")

    def __init__(self, imported: list[Func], store: Store, instance: Instance,
                 types: Sequence[FuncType], type_of: Sequence[int]) -> None:
        #: the imported Funcs (index 0 on)
        self.imported = imported
        self._funcs: list[Func | None] = imported + [None] * len(type_of)
        self._store, self._instance = store, instance
        #: the instance's types, and each defined function's type index
        self._types, self._type_of = types, type_of

    def __len__(self) -> int:
        return len(self._funcs)

    def __getitem__(self, i):           # type: ignore[override]
        if type(i) is not int:
            if isinstance(i, slice):
                return [self[k] for k in range(*i.indices(len(self._funcs)))]
            raise TypeError(f"function indices are ints, not {type(i).__name__}")
        f = self._funcs[i]
        if f is None:
            if i < 0:
                i += len(self._funcs)
            nimp = len(self.imported)
            f = self._funcs[i] = Func._wasm(self._store, self._types[self._type_of[i - nimp]],
                                            self._instance, i)
        return f

    def __iter__(self):
        for i in range(len(self._funcs)):
            yield self[i]


def invoke(func: Func, args: Sequence[Any], caller: Instance | None) -> Sequence[Any]:
    """Call `func` with internal argument values; return its internal results."""
    if func.host is not None:
        return call_host(func, args, caller)
    inst = func.instance
    return inst.executor.call(inst, func.index, args)


def call_host(func: Func, args: Sequence[Any], caller: Instance | None) -> Sequence[Any]:
    """Run a host function on internal argument values; return its internal results. What
    it raises propagates unchanged through the wasm frames to the caller of the wasm function
    (as in wasmtime-py), a Trap as any other exception; so do the errors of converting what it
    returned (ArgumentTypeError, a TypeError, for a value of the wrong type; WasmError for the
    wrong number of results). A Caller it was given is invalid once it returns."""
    ty = func.ftype
    convs = func.code
    if convs is None:       # a host Func's `code`: (index, kind, type) per converted param
        convs = func.code = tuple((i, _KIND.get(t, 0), t) for i, t in enumerate(ty.param_types)
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
    view = None
    if func.access_caller:
        view = Caller(caller, func._store)
        py_args.insert(0, view)
    try:
        out = func.host(*py_args)
        results = ty.result_types
        if len(results) == 1 and results[0] is _I32 and out.__class__ is int \
                and -0x8000_0000 <= out <= 0xFFFF_FFFF:
            return [out & 0xFFFF_FFFF]          # the common case, without the general path
        return _host_results(ty, out, func._store)
    except RecursionError:
        # wasm -> host -> wasm re-entry nested deeper than Python's stack allows
        raise Trap(None, TrapCode.STACK_OVERFLOW) from None
    except Trap as t:
        t._callee = func        # the wasm frame outside called this function (backtraces)
        raise
    finally:
        if view is not None:
            view._invalidate()


_I32 = ValType.I32
_KIND = {ValType.I32: 1, ValType.I64: 2}
_F32 = ValType.F32


def _host_results(ty: FuncType, out: Any, store: Store) -> list[Any]:
    n = len(ty.result_types)
    if n == 0:
        if out is not None:
            raise WasmError(f"host function produced results when it shouldn't "
                            f"(returned {type(out).__name__} for {ty})")
        return []
    if n == 1:
        values = [out]
    else:
        try:
            count = len(out)
        except TypeError:
            raise ArgumentTypeError(f"host function of type {ty} must return a sequence of {n} "
                                    f"values; object of type {type(out).__name__} has no len()"
                                    ) from None
        if count != n:
            raise WasmError(f"host function produced the wrong number of results: "
                            f"{count}, expected {n} for {ty}")
        values = list(out)
    results = []
    for t, v in zip(ty.result_types, values):
        try:
            results.append(to_internal(t, v, store))
        except WasmError as e:
            raise type(e)(f"host function returned a bad result: {e}") from None
    return results


class Caller:
    """What a host function created with ``access_caller=True`` receives first: the calling
    instance's exports, by name (``caller["memory"]``), and a stand-in for its Store. Valid
    only during that call: afterwards ``get`` returns None and using it as a store raises
    ClosedError (a ValueError), as in wasmtime-py."""

    __slots__ = ("_instance", "_store")

    def __init__(self, instance: Instance | None, store: Store | None = None) -> None:
        self._instance = instance
        self._store = store if store is not None or instance is None else instance.store

    def _invalidate(self) -> None:
        self._instance = None
        self._store = None

    def get(self, name: str) -> Any:
        if self._instance is None:
            return None
        return self._instance.export_map.get(name)

    def __getitem__(self, name: str) -> Any:
        item = self.get(name)
        if item is None:
            raise KeyError(f"failed to find export {name}")
        return item

    def _context(self) -> Store:
        if self._store is None:
            raise ClosedError("caller is no longer valid (the host call it was made for "
                              "has returned)")
        return self._store

    def __repr__(self) -> str:
        state = "valid" if self._store is not None else "no longer valid"
        return f"<Caller ({state})>"
