"""fd_write's native fast path (engine.environ.fastcalls) gives exactly what the host function
gives: every case below runs natively (fast path) and in the interpreter (host function only),
and errno, nwritten and the bytes written must agree. Cases the fast path takes must not reach
the Python host function; every other case must (its fallback)."""

from __future__ import annotations

import platform
import struct

import pytest

from engine import WasiConfig

from guest import Guest, count_host_calls

PAGE = 65536
NATIVE = {}
INTERPRETER = {"strategy": "interpreter"}
FAST = platform.machine().lower() in ("x86_64", "amd64")


def _setup(g: Guest, buf: int, n: int, iov: int, nw: int, data: bytes = b"hello") -> None:
    if 0 <= buf and buf + len(data) <= g.memory.data_len(g.store):
        g.memory.write(g.store, data[:max(0, min(n, len(data)))], buf)
    if 0 <= iov and iov + 8 <= g.memory.data_len(g.store):
        g.memory.write(g.store, struct.pack("<II", buf & 0xFFFFFFFF, n & 0xFFFFFFFF), iov)


#: name -> (fd, iovs, iovs_len, nwritten, buf, buf_len, taken by the fast path)
CASES = {
    "one iovec": (1, 64, 1, 128, 256, 5, True),
    "empty buffer": (1, 64, 1, 128, 256, 0, True),
    "buffer ends at memory end": (1, 64, 1, 128, PAGE - 5, 5, True),
    "iovec ends at memory end": (1, PAGE - 8, 1, 128, 256, 5, True),
    "nwritten at memory end": (1, 64, 1, PAGE - 4, 256, 5, True),
    "two iovecs": (1, 64, 2, 128, 256, 5, False),
    "no iovec": (1, 64, 0, 128, 256, 5, False),
    "fd not open": (7, 64, 1, 128, 256, 5, False),
    "fd beyond the map": (1000, 64, 1, 128, 256, 5, False),
    "negative fd": (-1, 64, 1, 128, 256, 5, False),
    "stdin (read only)": (0, 64, 1, 128, 256, 5, False),
    "iovs misaligned": (1, 66, 1, 128, 256, 5, False),
    "iovs out of bounds": (1, PAGE - 4, 1, 128, 256, 5, False),
    "iovs far out": (1, -8, 1, 128, 256, 5, False),
    "nwritten misaligned": (1, 64, 1, 130, 256, 5, False),
    "nwritten out of bounds": (1, 64, 1, PAGE - 2, 256, 5, False),
    "buffer past memory end": (1, 64, 1, 128, PAGE - 4, 5, False),
    "buffer wraps around 2**32": (1, 64, 1, 128, -16, 32, False),
}


def _run(config: dict, tmp_path, case, prepare=None) -> tuple:
    fd, iovs, iovs_len, nw, buf, n, _ = case
    out = tmp_path / f"out-{id(config)}-{len(list(tmp_path.iterdir()))}"
    wasi = WasiConfig()
    wasi.stdout_file = str(out)
    g = Guest(config, wasi)
    if prepare:
        prepare(g)
    _setup(g, buf, n, iovs, nw)
    err = g.call("fd_write", fd, iovs, iovs_len, nw)
    written = g.u32(nw) if 0 <= nw <= g.memory.data_len(g.store) - 4 else None
    del g
    return err, written, out.read_bytes()


@pytest.fixture
def host_calls(monkeypatch):
    """Counts calls that reach the Python fd_write."""
    return count_host_calls(monkeypatch, "fd_write")


@pytest.mark.parametrize("name", CASES)
def test_fast_path_agrees_with_the_host_function(name, tmp_path, host_calls):
    case = CASES[name]
    want = _run(INTERPRETER, tmp_path, case)
    del host_calls[:]
    got = _run(NATIVE, tmp_path, case)
    assert got == want
    if FAST:
        assert len(host_calls) == (0 if case[-1] else 1), host_calls


def _drop_write_right(g: Guest) -> None:
    assert g.call("fd_fdstat_set_rights", 1, 0, 0) == 0


def _close_stdout(g: Guest) -> None:
    assert g.call("fd_close", 1) == 0


def _grow(g: Guest) -> None:
    g.memory.grow(g.store, 1)


@pytest.mark.parametrize("prepare, case", [
    (_drop_write_right, (1, 64, 1, 128, 256, 5, False)),
    (_close_stdout, (1, 64, 1, 128, 256, 5, False)),
    (_grow, (1, PAGE + 64, 1, PAGE + 128, PAGE + 256, 5, True)),
], ids=["write right dropped", "stdout closed", "memory grown"])
def test_fast_path_follows_descriptor_and_memory_changes(prepare, case, tmp_path, host_calls):
    want = _run(INTERPRETER, tmp_path, case, prepare)
    del host_calls[:]
    got = _run(NATIVE, tmp_path, case, prepare)
    assert got == want
    if FAST:
        assert len(host_calls) == (0 if case[-1] else 1), host_calls


def test_renumbered_descriptor_writes_where_the_host_function_does(tmp_path, host_calls):
    def run(config):
        out, err_file = tmp_path / f"o{len(config)}", tmp_path / f"e{len(config)}"
        wasi = WasiConfig()
        wasi.stdout_file, wasi.stderr_file = str(out), str(err_file)
        g = Guest(config, wasi)
        assert g.call("fd_renumber", 2, 1) == 0        # fd 1 is now the stderr file
        results = [g.write(1, b"to stderr"), g.write(2, b"gone")]
        del g
        return results, out.read_bytes(), err_file.read_bytes()
    want = run(INTERPRETER)
    assert want[2] == b"to stderr"
    del host_calls[:]
    assert run(NATIVE) == want
    if FAST:
        assert len(host_calls) == 1         # only the write to the closed fd 2
