"""A guest for testing WASI through every executor: a wasm module that imports every
wasi_snapshot_preview1 function and re-exports each as a wasm function of the same type
(`w_NAME`), so a call from Python goes wasm -> exit trampoline -> host exactly as a real
program's does. `Guest` holds it with a scratch allocator over its exported memory."""

from __future__ import annotations

import struct

import pytest

from engine import Config, Engine, Linker, Module, Store, WasiConfig
from engine.runtime.wasi.functions import MODULE, SIGNATURES

_WAT_TYPE = {"i": "i32", "I": "i64"}

#: (id, Config keywords): the executors the WASI tests run on; the first two run in CI
EXECUTORS = [
    pytest.param({}, id="native"),
    pytest.param({"target": "aarch64"}, id="aarch64-emu"),
    pytest.param({"target": "x86_64", "emulate": True}, id="x86_64-emu", marks=pytest.mark.slow),
    pytest.param({"target": "riscv64"}, id="riscv64-emu", marks=pytest.mark.slow),
    pytest.param({"strategy": "interpreter"}, id="interpreter", marks=pytest.mark.slow),
]


def shim_wat(pages: int = 1) -> str:
    lines = ["(module"]
    for name, (params, results) in SIGNATURES.items():
        p = " ".join(_WAT_TYPE[c] for c in params)
        r = " ".join(_WAT_TYPE[c] for c in results)
        lines.append(f'  (import "{MODULE}" "{name}" (func ${name} (param {p}) (result {r})))')
    lines.append(f'  (memory (export "memory") {pages})')
    for name, (params, results) in SIGNATURES.items():
        p = " ".join(_WAT_TYPE[c] for c in params)
        r = " ".join(_WAT_TYPE[c] for c in results)
        gets = " ".join(f"(local.get {i})" for i in range(len(params)))
        lines.append(f'  (func (export "w_{name}") (param {p}) (result {r}) '
                     f'(call ${name} {gets}))')
    lines.append(")")
    return "\n".join(lines)


_MODULES: dict[tuple, tuple[Engine, Module]] = {}


def engine_and_module(config: dict) -> tuple[Engine, Module]:
    key = tuple(sorted(config.items()))
    if key not in _MODULES:
        engine = Engine(Config(**config))
        _MODULES[key] = (engine, Module(engine, shim_wat()))
    return _MODULES[key]


class Guest:
    """The shim instantiated in a fresh store configured by `wasi`."""

    SCRATCH = 1024

    def __init__(self, config: dict, wasi: WasiConfig) -> None:
        self.engine, module = engine_and_module(config)
        linker = Linker(self.engine)
        linker.define_wasi()
        self.store = Store(self.engine)
        self.store.set_wasi(wasi)
        self.instance = linker.instantiate(self.store, module)
        self.exports = self.instance.exports(self.store)
        self.memory = self.exports["memory"]
        self._next = self.SCRATCH

    def call(self, name: str, *args: int) -> int:
        return self.exports["w_" + name](self.store, *args)

    def put(self, data: bytes | str) -> tuple[int, int]:
        """Copy `data` into scratch memory; (pointer, length)."""
        if isinstance(data, str):
            data = data.encode()
        ptr = self._next
        self.memory.write(self.store, data, ptr)
        self._next = (ptr + len(data) + 15) & ~7
        return ptr, len(data)

    def alloc(self, size: int) -> int:
        ptr = self._next
        self._next = (ptr + size + 15) & ~7
        return ptr

    def u32(self, ptr: int) -> int:
        return struct.unpack("<I", self.memory.read(self.store, ptr, ptr + 4))[0]

    def u64(self, ptr: int) -> int:
        return struct.unpack("<Q", self.memory.read(self.store, ptr, ptr + 8))[0]

    def read(self, ptr: int, n: int) -> bytes:
        return bytes(self.memory.read(self.store, ptr, ptr + n))

    # -- conveniences over the raw calls ----------------------------------------------------

    def open(self, dirfd: int, path: str, oflags: int = 0, rights: int = (1 << 30) - 1,
             follow: bool = True, fdflags: int = 0) -> tuple[int, int]:
        """path_open: (errno, new fd or -1)."""
        p, n = self.put(path)
        out = self.alloc(4)
        err = self.call("path_open", dirfd, 1 if follow else 0, p, n, oflags, rights, rights,
                        fdflags, out)
        return err, (self.u32(out) if err == 0 else -1)

    def path_call(self, name: str, dirfd: int, path: str, *rest: int) -> int:
        """A path_* function taking (fd, path, len, *rest)."""
        p, n = self.put(path)
        return self.call(name, dirfd, p, n, *rest)

    def write(self, fd: int, data: bytes) -> tuple[int, int]:
        p, n = self.put(data)
        iov = self.alloc(8)
        self.memory.write(self.store, struct.pack("<II", p, n), iov)
        out = self.alloc(4)
        err = self.call("fd_write", fd, iov, 1, out)
        return err, self.u32(out)

    def read_fd(self, fd: int, size: int) -> tuple[int, bytes]:
        buf = self.alloc(size)
        iov = self.alloc(8)
        self.memory.write(self.store, struct.pack("<II", buf, size), iov)
        out = self.alloc(4)
        err = self.call("fd_read", fd, iov, 1, out)
        return err, (self.read(buf, self.u32(out)) if err == 0 else b"")


def count_host_calls(monkeypatch, name: str) -> list:
    """The argument tuples (caller left out) of the calls that reach the Python host
    function `name` (an engine.runtime.wasi.fd_ops.FdOps method) from now on."""
    from engine.runtime.wasi import fd_ops
    calls: list = []
    real = getattr(fd_ops.FdOps, name)

    def counting(self, *args):
        calls.append(args[1:])
        return real(self, *args)
    monkeypatch.setattr(fd_ops.FdOps, name, counting)
    return calls

