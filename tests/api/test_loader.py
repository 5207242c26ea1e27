"""engine.loader (wasmtime.loader's counterpart): .wasm/.wat files imported as Python modules,
their imports resolved from Python modules, other wasm modules and WASI. Each case runs in a
fresh interpreter (the loader installs an import hook and a shared store), once as
`import engine.loader` and once as `import wasmtime.loader` through the names-only shim."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[2]
DATA = _ROOT / "tests" / "data" / "loader"
SHIM = Path(__file__).resolve().parent / "wasmtime_shim"

PROGRAM = """
import {hook}
import loader_add, loader_calls_py, loader_dep, loader_wasi, loader_target
assert loader_add.add(1, 2) == 3
assert loader_calls_py.call_python() == 42          # a wasm import of a Python function
assert loader_dep.call_dependency() == 4            # a wasm import of another wasm module
assert 0 <= loader_wasi.wasi_random() < 256         # WASI
assert type(loader_target.mem).__name__ == "Memory"
assert loader_target.mem.size(sys.modules["{hook}"].store) == 1
assert loader_add.__file__.endswith("loader_add.wat")
try:
    import loader_missing
except ImportError as e:
    assert "loader_py::nope" in str(e) and "no attribute 'nope'" in str(e), e
else:
    raise AssertionError("an unresolvable import was accepted")
print("ok")
"""


@pytest.mark.parametrize("hook", ["engine.loader", "wasmtime.loader"])
def test_loader_imports_wasm_and_wat_modules(hook, tmp_path):
    work = tmp_path / "mods"
    shutil.copytree(DATA, work)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SHIM), str(_ROOT), str(work)]))
    proc = subprocess.run([sys.executable, "-c", "import sys\n" + PROGRAM.format(hook=hook)],
                          cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]
