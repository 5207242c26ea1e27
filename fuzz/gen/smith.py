"""wasm-smith (`wasm-tools smith`) as a module source, restricted to WebAssembly 2.0 and the
3.0 proposals polyjit has (no imports but, for one seed in four, the functions and globals of
a second smith module instantiated first: calls between instances; SIMD for one seed in three,
so backends without it still see the rest),
with termination ensured by smith's own fuel (a trap when a loop or call budget runs out).
Every exported function whose signature crosses the Python API (no v128: wasmtime-py cannot
pass one) is called, with arguments derived from the seed and the export's name, so the calls
of a module can be recomputed from the module alone (what a shrinking predicate needs)."""

from __future__ import annotations

import random
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..case import Call, Case
from .choosers import RandomChooser

SMITH_FLAGS = (
    "--ensure-termination", "--fuel", "200", "--export-everything", "true",
    "--max-imports", "0", "--min-funcs", "2", "--max-funcs", "10", "--max-instructions", "300",
    "--relaxed-simd-enabled", "false", "--threads-enabled", "false",
    "--shared-everything-threads-enabled", "false", "--tail-call-enabled", "true",
    "--exceptions-enabled", "true", "--gc-enabled", "false", "--memory64-enabled", "false",
    "--custom-page-sizes-enabled", "false", "--wide-arithmetic-enabled", "false",
    "--extended-const-enabled", "true", "--compact-imports-enabled", "false",
    "--max-memories", "2", "--max-memory32-bytes", str(1 << 20), "--memory-max-size-required", "true",
    "--max-tables", "2", "--max-table-elements", "200", "--table-max-size-required", "true",
    "--reference-types-enabled", "true", "--bulk-memory-enabled", "true",
    "--multi-value-enabled", "true", "--saturating-float-to-int-enabled", "true",
    "--sign-extension-ops-enabled", "true", "--canonicalize-nans", "true",
)
SEED_BYTES = 2000


def wasm_tools() -> str | None:
    """The wasm-tools executable: on PATH or beside the running Python (a venv's bin/)."""
    import sys
    for cand in (shutil.which("wasm-tools"), str(Path(sys.executable).parent / "wasm-tools")):
        if cand and Path(cand).exists():
            return cand
    return None


def smith_wasm(seed: int) -> bytes | None:
    """A module from `seed` (None when smith declines the input or is not installed); SIMD
    is on for the seeds divisible by 3, 64-bit memories and tables (memory64) for the odd
    ones."""
    return smith_from_bytes(random.Random(seed).randbytes(SEED_BYTES), simd=seed % 3 == 0,
                            memory64=seed % 2 == 1)


def _set(flags: list[str], name: str, value: str) -> list[str]:
    return [(value if flags[i - 1] == name else flag) for i, flag in enumerate(flags)]


def smith_from_bytes(data: bytes, simd: bool = False, memory64: bool = False,
                     provider: bytes | None = None) -> bytes | None:
    """A module from smith's raw input bytes (None when smith declines them); with a
    `provider` module, it may import that module's exported functions and globals (from
    module "p")."""
    tool = wasm_tools()
    if tool is None:
        return None
    flags = [*SMITH_FLAGS, "--simd-enabled", "true" if simd else "false"]
    if memory64:
        flags = _set(flags, "--memory64-enabled", "true") + \
            ["--max-memory64-bytes", str(1 << 20)]
    with tempfile.TemporaryDirectory() as tmp:
        if provider is not None:
            allowed = Path(tmp) / "imports.wasm"
            allowed.write_bytes(import_descriptor(provider))
            flags = _set(flags, "--max-imports", "12") + ["--available-imports", str(allowed)]
        proc = subprocess.run([tool, "smith", *flags], input=data, capture_output=True,
                              timeout=60)
    if proc.returncode != 0:
        return None
    return proc.stdout


def import_descriptor(provider: bytes) -> bytes:
    """A module that imports, from module "p", every function and global `provider` exports
    (what smith's --available-imports reads: the imports a generated module may have)."""
    from engine import wat2wasm
    from engine.wasm.decoder import decode
    from engine.wasm.types import ExternKind
    m = decode(provider)
    funcs, globals_ = m.func_types(), m.global_types()
    lines = []
    for e in m.exports:
        name = "".join(f"\\{b:02x}" for b in e.name.encode())
        if e.kind is ExternKind.FUNC:
            ft = funcs[e.index]
            lines.append(f'(import "p" "{name}" (func (param {" ".join(map(str, ft.params))})'
                         f' (result {" ".join(map(str, ft.results))})))')
        elif e.kind is ExternKind.GLOBAL:
            gt = globals_[e.index]
            t = f"(mut {gt.content})" if gt.mutable else str(gt.content)
            lines.append(f'(import "p" "{name}" (global {t}))')
    return bytes(wat2wasm("(module " + "\n".join(lines) + ")"))


def exported_funcs(wasm: bytes) -> list[tuple[str, list[str]]]:
    """(name, parameter types) of every exported function whose parameters and results can
    cross the Python API (no v128, no exnref: values.crosses_python), in export order."""
    # polyjit's decoder reads the signatures: wasmtime-py aborts the process when it is asked
    # to name a v128 type
    from engine.wasm.decoder import decode
    from engine.wasm.types import ExternKind
    from ..values import crosses_python
    m = decode(wasm)
    types = m.func_types()
    out = []
    for e in m.exports:
        if e.kind is ExternKind.FUNC:
            ft = types[e.index]
            if all(map(crosses_python, (*ft.params, *ft.results))):
                out.append((e.name, [str(p) for p in ft.params]))
    return out


def smith_calls(wasm: bytes, seed: int) -> list[Call]:
    """Each exported function once, in export order, then each once more (state carried)."""
    from . import argument
    calls = []
    for round_ in range(2):
        for name, params in exported_funcs(wasm):
            c = RandomChooser(f"{seed}:{name}:{round_}")
            calls.append(Call(name, tuple(argument(c, p) for p in params)))
    return calls


def smith_case(seed: int) -> Case | None:
    """The case of `seed`: a smith module and its calls; for one seed in four, linked to a
    provider module (a second smith module, instantiated first) whose exports it imports."""
    if seed % 4 == 3:
        provider = smith_from_bytes(random.Random(f"{seed}:provider").randbytes(SEED_BYTES))
        if provider is None:
            return None
        wasm = smith_from_bytes(random.Random(seed).randbytes(SEED_BYTES), simd=seed % 3 == 0,
                                memory64=seed % 2 == 1, provider=provider)
        if wasm is None:
            return None
        return Case(wasm, smith_calls(wasm, seed), source="smith",
                    meta={"smith_seed": seed, "linked": True}, provider=provider)
    wasm = smith_wasm(seed)
    if wasm is None:
        return None
    return Case(wasm, smith_calls(wasm, seed), source="smith", meta={"smith_seed": seed})
