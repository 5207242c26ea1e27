"""The layering of docs/architecture.md holds (tests/support/layers.py), and the check would
catch a breach: an import up the layers, a cycle across packages, a stray local import."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from support.layers import check

ROOT = Path(__file__).resolve().parent.parent


def test_the_source_keeps_the_layers():
    assert check(ROOT) == []


def _copy(tmp_path: Path) -> Path:
    for top in ("engine", "backends"):
        shutil.copytree(ROOT / top, tmp_path / top, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + "\n" + text + "\n")


def test_an_import_up_the_layers_is_caught(tmp_path):
    root = _copy(tmp_path)
    _append(root / "engine/ir/ir.py", "from ..runtime import store")
    problems = check(root)
    assert any("engine.ir.ir" in p and "engine.runtime.store" in p and "up the layers" in p
               for p in problems), problems


def test_a_cycle_across_packages_is_caught(tmp_path):
    root = _copy(tmp_path)
    # the front end's two packages may use each other's modules, but not both ways
    _append(root / "engine/wasm/types.py", "from ..text import lexer")
    problems = check(root)
    assert any(p.startswith("import cycle across packages") and "engine.text" in p
               and "engine.wasm" in p for p in problems), problems


def test_local_imports_and_cross_backend_imports_are_caught(tmp_path):
    root = _copy(tmp_path)
    _append(root / "engine/compile/driver.py",
            "def later():\n    from ..ir import printer\n    return printer")
    _append(root / "backends/riscv64/isel.py", "from ..aarch64 import target")
    _append(root / "engine/runtime/store.py", "import engine")
    problems = check(root)
    assert any("engine.compile.driver" in p and "function-local import of engine.ir" in p
               for p in problems), problems
    assert any("backend backends.riscv64 imports backend backends.aarch64" in p
               for p in problems), problems
    assert any("imports the public `engine` package" in p for p in problems), problems


def test_a_backend_loads_no_runtime():
    """Importing a backend loads the layers below it only (a fresh process)."""
    code = ("import sys, backends.x86_64, backends.aarch64, backends.riscv64\n"
            "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('engine'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.split()
    above = [m for m in out if m.startswith(("engine.compile", "engine.runtime", "engine.exec",
                                             "engine.api", "engine.tools"))]
    assert above == [] and "engine.environ.vmctx" in out, out
