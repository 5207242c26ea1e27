"""Type information of the public API: the package is marked typed (py.typed), every public
function and method is annotated, the names type checkers read (`__all__`, the
TYPE_CHECKING imports of engine/__init__) are the names the package exports, and mypy (a dev
dependency, as wasmtime-py users' editors and CI would run it) accepts a small program using
the API in --strict mode."""

from __future__ import annotations

import ast
import inspect
import os
import subprocess
import sys
from pathlib import Path

import engine

_ROOT = Path(__file__).resolve().parents[2]
_DUNDERS = ("__init__", "__call__", "__getitem__", "__enter__", "__exit__")

PROGRAM = '''
from engine import (Config, Engine, Func, FuncType, Instance, Linker, Memory, MemoryType,
                    Limits, Module, Store, Trap, Val, ValType, WasmtimeError)

def run(n: int) -> int:
    engine: Engine = Engine(Config())
    with Store(engine) as store:
        module = Module(engine, """(module (import "" "log" (func (param i32)))
          (func (export "f") (param i32) (result i32) local.get 0 call 0 local.get 0))""")
        seen: list[int] = []
        log = Func(store, FuncType([ValType.i32()], []), seen.append)
        instance = Instance(store, module, [log])
        f = instance.exports(store)["f"]
        assert isinstance(f, Func)
        result = f(store, Val.i32(n))
        mem = Memory(store, MemoryType(Limits(1, None)))
        pages: int = mem.size(store)
        params: list[ValType] = f.type(store).params
        linker = Linker(engine)
        linker.define_func("", "log", FuncType([ValType.i32()], []), seen.append)
        pre = linker.instantiate_pre(module)
        pre.instantiate(store)
        try:
            Instance(store, Module(engine, "(module (func (export \\"t\\") unreachable) (start 0))"), [])
        except Trap as t:
            print(t.trap_code, [fr.func_index for fr in t.frames])
        except WasmtimeError:
            pass
        return int(result) + pages + len(params)
'''


def test_package_is_marked_typed():
    assert (_ROOT / "engine" / "py.typed").is_file()
    assert 'engine = ["py.typed"]' in (_ROOT / "pyproject.toml").read_text()


def test_public_api_is_annotated():
    missing = []
    for name in engine.__all__:
        obj = getattr(engine, name)
        funcs = []
        if inspect.isclass(obj):
            for attr, val in vars(obj).items():
                if attr.startswith("_") and attr not in _DUNDERS:
                    continue
                val = getattr(val, "__func__", val)
                val = val.fget if isinstance(val, property) else val
                if inspect.isfunction(val):
                    funcs.append((f"{name}.{attr}", val))
        elif inspect.isfunction(obj):
            funcs.append((name, obj))
        for qual, fn in funcs:
            if not fn.__module__.startswith("engine"):
                continue
            for p in inspect.signature(fn).parameters.values():
                if p.name not in ("self", "cls") and p.name not in fn.__annotations__:
                    missing.append(f"{qual}: parameter {p.name}")
            if "return" not in fn.__annotations__:
                missing.append(f"{qual}: return type")
    assert not missing, missing


def test_type_checkers_see_every_public_name():
    assert engine.__all__ == list(engine._EXPORTS)
    tree = ast.parse((_ROOT / "engine" / "__init__.py").read_text())
    seen = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom)
                for alias in imp.names:
                    assert alias.asname == alias.name, alias.name    # explicit re-export
                    seen.add(alias.name)
    assert seen == set(engine.__all__)


def test_mypy_accepts_a_program_using_the_api(tmp_path):
    program = tmp_path / "program.py"
    program.write_text(PROGRAM)
    env = dict(os.environ, MYPYPATH=str(_ROOT))
    proc = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental",
                           "--follow-imports=silent", str(program)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
