"""The WASI API as wasmtime-py has it (WasiConfig, Store.set_wasi, Linker.define_wasi,
ExitTrap), on each executor, and `polyjit run` for WASI commands."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from engine import Engine, ExitTrap, Linker, Module, Store, Trap, WasiConfig, WasmError
from engine.runtime.wasi.constants import DIR_RIGHTS, Errno, Filetype

from guest import EXECUTORS, Guest

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(params=EXECUTORS)
def executor(request) -> dict:
    return request.param


def test_config_options_like_wasmtime_py():
    config = WasiConfig()
    config.argv = ["a", "b"]
    assert config.argv == ["a", "b"]
    config.inherit_argv()
    assert config.argv == sys.argv
    config.env = [["a", "b"]]
    assert config.env == [("a", "b")]
    config.inherit_env()
    assert dict(config.env) == dict(os.environ)
    with tempfile.NamedTemporaryFile() as f:
        config.stdin_file = f.name
        config.stdin_file = Path(f.name)
        config.inherit_stdin()
        config.stdout_file = f.name
        config.stdout_file = Path(f.name)
        config.inherit_stdout()
        config.stderr_file = f.name
        config.inherit_stderr()
    with pytest.raises(WasmError):
        config.stdin_file = "somewhere-over-the-rainboat"
    with pytest.raises(WasmError):
        config.stdout_file = "some-directory/without-a-rainbow"
    with pytest.raises(WasmError):
        config.stderr_file = "some-directory/without-a-rainbow"
    with pytest.raises(WasmError):
        config.preopen_dir("/path/to/nowhere", "/", False)
    config.preopen_dir(str(REPO), "other", True)
    config.preopen_dir(str(REPO), "other2")
    assert [p.guest_path for p in config.preopens] == ["other", "other2"]


def test_args_env_and_preopen_names(executor, tmp_path):
    cfg = WasiConfig()
    cfg.argv = ["prog", "é", ""]
    cfg.env = [("A", "1"), ("B", "x=y")]
    cfg.preopen_dir(str(tmp_path), "/data")
    g = Guest(executor, cfg)
    n, size = g.alloc(4), g.alloc(4)
    assert g.call("args_sizes_get", n, size) == 0
    assert (g.u32(n), g.u32(size)) == (3, len(b"prog\0\xc3\xa9\0\0"))
    ptrs, buf = g.alloc(12), g.alloc(64)
    assert g.call("args_get", ptrs, buf) == 0
    assert g.read(g.u32(ptrs + 4), 3) == "é".encode() + b"\0"
    assert g.call("environ_sizes_get", n, size) == 0
    assert (g.u32(n), g.u32(size)) == (2, len("A=1\0B=x=y\0"))
    assert g.call("environ_get", ptrs, buf) == 0
    assert g.read(buf, 10) == b"A=1\0B=x=y\0"
    pre = g.alloc(8)
    assert g.call("fd_prestat_get", 3, pre) == 0
    assert struct.unpack("<BxxxI", g.read(pre, 8)) == (0, 5)
    name = g.alloc(8)
    assert g.call("fd_prestat_dir_name", 3, name, 4) == Errno.NAMETOOLONG
    assert g.call("fd_prestat_dir_name", 3, name, 5) == 0
    assert g.read(name, 5) == b"/data"
    assert g.call("fd_prestat_get", 4, pre) == Errno.BADF
    assert g.call("fd_prestat_get", 0, pre) == Errno.BADF


def test_stdout_file_and_stdin_file(executor, tmp_path):
    src = tmp_path / "in.txt"
    src.write_bytes(b"from stdin")
    cfg = WasiConfig()
    cfg.stdin_file = src
    cfg.stdout_file = tmp_path / "out.txt"
    cfg.stderr_file = tmp_path / "err.txt"
    g = Guest(executor, cfg)
    assert g.read_fd(0, 100) == (0, b"from stdin")
    assert g.read_fd(0, 100) == (0, b"")
    assert g.write(1, b"hello ") == (0, 6)
    assert g.write(1, b"world") == (0, 5)
    assert g.write(2, b"oops") == (0, 4)
    assert g.write(0, b"x")[0] in (Errno.BADF, Errno.NOTCAPABLE)
    assert g.write(7, b"x")[0] == Errno.BADF
    del g
    assert (tmp_path / "out.txt").read_bytes() == b"hello world"
    assert (tmp_path / "err.txt").read_bytes() == b"oops"


def test_custom_print_from_start_function():
    # wasmtime-py's test_custom_print: fd_write from a start function, to callbacks
    linker = Linker(Engine())
    linker.define_wasi()
    module = Module(linker.engine, """
        (module
            (import "wasi_snapshot_preview1" "fd_write"
                (func $write (param i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (func $print
                (i32.store (i32.const 300) (i32.const 100))
                (i32.store (i32.const 304) (i32.const 14))
                (call $write (i32.const 1) (i32.const 300) (i32.const 1) (i32.const 400))
                if unreachable end
                (i32.store (i32.const 300) (i32.const 200))
                (call $write (i32.const 2) (i32.const 300) (i32.const 1) (i32.const 400))
                if unreachable end)
            (start $print)
            (data (i32.const 100) "Hello, stdout!")
            (data (i32.const 200) "Hello, stderr!"))""")
    out, err = [], []
    wasi = WasiConfig()
    wasi.stdout_custom = out.append
    wasi.stderr_custom = err.append
    store = Store(linker.engine)
    store.set_wasi(wasi)
    linker.instantiate(store, module)
    assert (b"".join(out), b"".join(err)) == (b"Hello, stdout!", b"Hello, stderr!")


EXIT_WAT = """
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func $inner (param i32) local.get 0 call $exit unreachable)
  (func (export "exit") (param i32) local.get 0 call $inner))"""


def test_proc_exit_is_exit_trap(executor):
    from engine import Config
    engine = Engine(Config(**executor))
    linker = Linker(engine)
    linker.define_wasi()
    module = Module(engine, EXIT_WAT)
    store = Store(engine)
    store.set_wasi(WasiConfig())
    exit_ = linker.instantiate(store, module).exports(store)["exit"]
    for code in (0, 1, 77):
        with pytest.raises(ExitTrap) as info:
            exit_(store, code)
        assert info.value.code == code
        assert f"Exited with i32 exit status {code}" in str(info.value)
    assert isinstance(info.value, WasmError) and isinstance(info.value, Trap)


def test_stdio_fdstat_and_unconfigured_store(executor):
    g = Guest(executor, WasiConfig())
    st = g.alloc(24)
    assert g.call("fd_fdstat_get", 1, st) == 0
    assert g.read(st, 1)[0] == Filetype.UNKNOWN
    assert g.write(1, b"discarded") == (0, 9)         # nothing configured: a sink
    assert g.read_fd(0, 10) == (0, b"")               # and an empty stdin
    assert g.call("fd_fdstat_get", 3, st) == Errno.BADF
    assert g.call("proc_raise", 2) == Errno.NOTSUP
    assert g.call("sched_yield") == 0
    assert g.call("sock_shutdown", 1, 3) == Errno.NOTSOCK
    assert g.call("sock_shutdown", 9, 3) == Errno.BADF
    assert g.call("sock_accept", 0, 0, g.alloc(4)) == Errno.NOTSOCK
    t = g.alloc(8)
    assert g.call("clock_time_get", 1, 0, t) == 0 and g.u64(t) > 0
    assert g.call("clock_time_get", 9, 0, t) == Errno.INVAL
    assert g.call("clock_res_get", 0, t) == 0 and 0 < g.u64(t) <= 1_000_000_000
    buf = g.alloc(64)
    assert g.call("random_get", buf, 64) == 0 and g.read(buf, 64) != bytes(64)


def test_files_through_the_api(executor, tmp_path):
    cfg = WasiConfig()
    cfg.preopen_dir(str(tmp_path), ".")
    g = Guest(executor, cfg)
    from engine.runtime.wasi.constants import OFlags, Whence
    err, fd = g.open(3, "a.txt", oflags=OFlags.CREAT)
    assert err == 0
    assert g.write(fd, b"0123456789") == (0, 10)
    pos = g.alloc(8)
    assert g.call("fd_seek", fd, 2, Whence.SET, pos) == 0 and g.u64(pos) == 2
    assert g.read_fd(fd, 3) == (0, b"234")
    assert g.call("fd_tell", fd, pos) == 0 and g.u64(pos) == 5
    assert g.call("fd_seek", fd, -100, Whence.CUR, pos) == Errno.INVAL
    assert g.call("fd_filestat_set_size", fd, 4) == 0
    st = g.alloc(64)
    assert g.call("fd_filestat_get", fd, st) == 0
    assert struct.unpack_from("<QQB7xQQ", g.read(st, 64))[2:] == (Filetype.REGULAR_FILE, 1, 4)
    assert g.path_call("path_create_directory", 3, "sub") == 0
    assert g.path_call("path_create_directory", 3, "sub") == Errno.EXIST
    err, _ = g.open(3, "sub", oflags=OFlags.DIRECTORY)       # all rights: FD_WRITE too
    assert err == Errno.ISDIR
    err, dfd = g.open(3, "sub", oflags=OFlags.DIRECTORY, rights=DIR_RIGHTS)
    assert err == 0
    err, _ = g.open(dfd, "inner", oflags=OFlags.CREAT)
    assert err == 0
    buf, used = g.alloc(512), g.alloc(4)
    assert g.call("fd_readdir", dfd, buf, 512, 0, used) == 0
    data = g.read(buf, g.u32(used))
    names = []
    while data:
        _, _, n, _ = struct.unpack_from("<QQIB3x", data)
        names.append(data[24:24 + n].decode())
        data = data[24 + n:]
    assert names == [".", "..", "inner"]
    assert g.call("fd_renumber", dfd, fd) == 0
    assert g.call("fd_close", dfd) == Errno.BADF
    assert g.call("fd_close", fd) == 0
    assert (tmp_path / "sub" / "inner").exists()
    assert (tmp_path / "a.txt").read_bytes() == b"0123"


def _cli(*args: str, cwd: Path | None = None, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "engine.tools.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300, **kw)


HELLO_WAT = """
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $es (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "hello\\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 6))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (drop (call $es (i32.const 16) (i32.const 20)))
    (call $exit (i32.add (i32.const 40) (i32.load (i32.const 16))))))"""

TRAP_WAT = """
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") unreachable))"""


def test_cli_runs_wasi_commands(tmp_path):
    hello = tmp_path / "hello.wat"
    hello.write_text(HELLO_WAT)
    r = _cli("run", "--env", "A=1", "--env", "B=2", str(hello))
    assert (r.returncode, r.stdout) == (42, "hello\n"), r.stderr
    r = _cli("run", "--target", "aarch64", str(hello))
    assert (r.returncode, r.stdout) == (40, "hello\n"), r.stderr
    trap = tmp_path / "trap.wat"
    trap.write_text(TRAP_WAT)
    r = _cli("run", str(trap))
    assert r.returncode != 0 and "unreachable" in r.stderr
    r = _cli("--version")
    assert r.returncode == 0 and r.stdout.startswith("polyjit ")
    r = _cli("run", "--dir", str(tmp_path / "missing"), str(hello))
    assert r.returncode == 1 and "missing" in r.stderr


def _sub_clock(userdata: int, clock: int, timeout_ns: int, flags: int = 0) -> bytes:
    return struct.pack("<QB7xIxxxxQQH6x", userdata, 0, clock, timeout_ns, 0, flags)


def _sub_fd(userdata: int, tag: int, fd: int) -> bytes:
    return struct.pack("<QB7xI28x", userdata, tag, fd)


def _events(g, out: int, n: int) -> list[tuple]:
    return [struct.unpack_from("<QHB5xQH6x", g.read(out + 32 * i, 32)) for i in range(n)]


def test_poll_oneoff(executor, tmp_path):
    import time
    (tmp_path / "f").write_bytes(b"12345")
    cfg = WasiConfig()
    cfg.preopen_dir(str(tmp_path), ".")
    g = Guest(executor, cfg)
    err, fd = g.open(3, "f")
    assert err == 0
    subs = g.alloc(48 * 3)
    out = g.alloc(32 * 3)
    nev = g.alloc(4)
    # a relative clock alone: sleeps, one clock event
    g.memory.write(g.store, _sub_clock(7, 1, 30_000_000), subs)
    t0 = time.monotonic()
    assert g.call("poll_oneoff", subs, out, 1, nev) == 0
    assert time.monotonic() - t0 >= 0.029
    assert g.u32(nev) == 1 and _events(g, out, 1)[0][:3] == (7, 0, 0)
    # an absolute deadline in the past: at once
    g.memory.write(g.store, _sub_clock(8, 1, 1, flags=1), subs)
    assert g.call("poll_oneoff", subs, out, 1, nev) == 0 and _events(g, out, 1)[0][0] == 8
    # a regular file is ready at once (nbytes: what is left to read); a bad fd is an event
    # with BADF; the long clock does not fire
    data = _sub_clock(1, 1, 10_000_000_000) + _sub_fd(2, 1, fd) + _sub_fd(3, 2, 77)
    g.memory.write(g.store, data, subs)
    t0 = time.monotonic()
    assert g.call("poll_oneoff", subs, out, 3, nev) == 0
    assert time.monotonic() - t0 < 5
    events = {e[0]: e for e in _events(g, out, g.u32(nev))}
    assert set(events) == {2, 3}
    assert events[2][1:4] == (0, 1, 5)
    assert events[3][1:3] == (Errno.BADF, 2)
    # no subscriptions: INVAL; a bad event type: INVAL; a bad clock id: an event with INVAL
    assert g.call("poll_oneoff", subs, out, 0, nev) == Errno.INVAL
    g.memory.write(g.store, struct.pack("<QB", 5, 9), subs)
    assert g.call("poll_oneoff", subs, out, 1, nev) == Errno.INVAL
    g.memory.write(g.store, _sub_clock(6, 42, 0), subs)
    assert g.call("poll_oneoff", subs, out, 1, nev) == 0
    assert _events(g, out, 1)[0][:2] == (6, Errno.INVAL)


INVOKE_WAT = """
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "quit") (param i32) (call $exit (local.get 0))))"""


def test_cli_invoke_on_a_wasi_module(tmp_path):
    wat = tmp_path / "m.wat"
    wat.write_text(INVOKE_WAT)
    r = _cli("run", str(wat), "--invoke", "add", "2", "3")
    assert (r.returncode, r.stdout) == (0, "5\n"), r.stderr
    r = _cli("run", str(wat), "--invoke", "quit", "9")
    assert (r.returncode, r.stdout) == (9, ""), r.stderr
    r = _cli("run", str(wat))
    assert r.returncode == 1 and "no `_start`" in r.stderr
