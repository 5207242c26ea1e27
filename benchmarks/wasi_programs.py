"""The real programs of the benchmark: wasm32-wasi binaries (tests/data/wasi, built as its
BUILD.md says) running a workload of size n. One run is a fresh Store and instance calling
``_start`` (a command's instance runs once); its checksum hashes the exit status and stdout.
The same code drives wasmtime-py and polyjit, whose APIs are interchangeable here."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
WASI_DATA = HERE.parent / "tests" / "data" / "wasi"


@dataclass(slots=True, frozen=True)
class WasiWorkload:
    """How to run a WASI program at size n: its binary, argv after the program name, the bytes
    on stdin (or None) and the files put into the preopened directory "."."""

    binary: Path
    argv: Callable[[int], list[str]]
    stdin: Callable[[int], bytes | None] = lambda n: None
    files: Callable[[], dict[str, bytes]] = lambda: {}


def gzip_input(n: int) -> bytes:
    """n lines of varied text (about 60 bytes each) for minigzip."""
    return b"".join(b"%d the quick brown fox %x jumps over the lazy dog %d\n" % (i, i * i * 7, i % 97)
                    for i in range(n))


WORKLOADS: dict[str, WasiWorkload] = {
    "lua": WasiWorkload(WASI_DATA / "lua54.wasm", lambda n: ["bench.lua", str(n)],
                        files=lambda: {"bench.lua": (HERE / "programs" / "bench.lua").read_bytes()}),
    "minigzip": WasiWorkload(WASI_DATA / "minigzip.wasm", lambda n: ["-c", "-9"], stdin=gzip_input),
}


def digest64(data: bytes) -> int:
    """A 64-bit checksum of `data` (fast: it is inside the timed run)."""
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


class WasiRunner:
    """``run(n)`` of a compiled WASI module under one API (the ``wasmtime`` or ``engine``
    package); ``close()`` removes its scratch directory."""

    def __init__(self, api: Any, engine: Any, module: Any, workload: WasiWorkload) -> None:
        self.api, self.engine, self.module, self.workload = api, engine, module, workload
        self.linker = api.Linker(engine)
        self.linker.define_wasi()
        self.dir = Path(tempfile.mkdtemp(prefix="polyjit-bench-"))
        self.work = self.dir / "work"
        self.work.mkdir()
        for name, data in workload.files().items():
            (self.work / name).write_bytes(data)
        self._stdin_n: int | None = None
        self._has_stdin = False

    def _config(self, n: int) -> Any:
        cfg = self.api.WasiConfig()
        cfg.argv = [self.workload.binary.name, *self.workload.argv(n)]
        cfg.preopen_dir(str(self.work), ".")
        cfg.stdout_file = str(self.dir / "stdout")
        if self._stdin_n != n:
            data = self.workload.stdin(n)
            self._has_stdin = data is not None
            if data is not None:
                (self.dir / "stdin").write_bytes(data)
            self._stdin_n = n
        if self._has_stdin:
            cfg.stdin_file = str(self.dir / "stdin")
        return cfg

    def run(self, n: int) -> int:
        """Run the workload once; the checksum of exit status and stdout. The stdin file is
        written on the first run at a new n (best-of-N timing leaves that run out)."""
        store = self.api.Store(self.engine)
        store.set_wasi(self._config(n))
        status = 0
        try:
            self.linker.instantiate(store, self.module).exports(store)["_start"](store)
        except self.api.ExitTrap as e:
            status = e.code
        del store
        return digest64(bytes([status & 0xFF]) + (self.dir / "stdout").read_bytes())

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
