"""fd_read's native fast path (engine.environ.fastcalls, one readv(2)) gives exactly what the
host function gives (one read(2) scattered over the iovecs): every case runs natively (fast
path) and in the interpreter (host function only); errno, nread and the memory the iovecs
point at must agree, and the file position after the call too. Cases the fast path takes
must not reach the Python host function; every other case must (its fallback)."""

from __future__ import annotations

import platform
import struct

import pytest

from engine import WasiConfig

from guest import Guest, count_host_calls

PAGE = 65536
NATIVE: dict = {}
INTERPRETER = {"strategy": "interpreter"}
FAST = platform.machine().lower() in ("x86_64", "amd64")
DATA = bytes(range(256)) * 4          # what stdin holds: 1 KiB


def _iovecs(g: Guest, iovs: int, pieces: list[tuple[int, int]]) -> None:
    for k, (buf, n) in enumerate(pieces):
        at = iovs + 8 * k
        if 0 <= at and at + 8 <= g.memory.data_len(g.store):
            g.memory.write(g.store, struct.pack("<II", buf & 0xFFFFFFFF, n & 0xFFFFFFFF), at)


#: name -> (fd, iovs, iovs_len, nread, [(buf, len) per iovec], taken by the fast path)
CASES = {
    "one iovec": (0, 64, 1, 128, [(256, 100)], True),
    "three iovecs": (0, 64, 3, 128, [(256, 10), (1024, 0), (2048, 300)], True),
    "eight iovecs": (0, 64, 8, 128, [(4096 + 64 * k, 50) for k in range(8)], True),
    "more than the file": (0, 64, 2, 128, [(256, 1000), (2000, 1000)], True),
    "empty buffers": (0, 64, 1, 128, [(256, 0)], True),
    "buffer ends at memory end": (0, 64, 1, 128, [(PAGE - 16, 16)], True),
    "iovecs end at memory end": (0, PAGE - 16, 2, 128, [(256, 4), (512, 4)], True),
    "nread at memory end": (0, 64, 1, PAGE - 4, [(256, 8)], True),
    "nine iovecs": (0, 64, 9, 128, [(4096 + 64 * k, 50) for k in range(9)], False),
    "no iovec": (0, 64, 0, 128, [], False),
    "fd not open": (7, 64, 1, 128, [(256, 8)], False),
    "fd beyond the map": (1000, 64, 1, 128, [(256, 8)], False),
    "negative fd": (-1, 64, 1, 128, [(256, 8)], False),
    "the preopened directory": (3, 64, 1, 128, [(256, 8)], False),
    "iovs misaligned": (0, 66, 1, 128, [(256, 8)], False),
    "iovs out of bounds": (0, PAGE - 12, 2, 128, [(256, 8), (512, 8)], False),
    "nread misaligned": (0, 64, 1, 130, [(256, 8)], False),
    "nread out of bounds": (0, 64, 1, PAGE - 2, [(256, 8)], False),
    "second buffer past memory end": (0, 64, 2, 128, [(256, 8), (PAGE - 4, 8)], False),
    "buffer wraps around 2**32": (0, 64, 1, 128, [(-16, 32)], False),
}


def _run(config: dict, tmp_path, case, prepare=None, calls: list | None = None) -> tuple:
    """(errno, nread, the iovecs' bytes, a read after it), running `case`; `calls` (the
    host_calls list) is cut to the calls the case's own fd_read made."""
    fd, iovs, iovs_len, nread, pieces, _ = case
    stdin = tmp_path / "stdin"
    stdin.write_bytes(DATA)
    (tmp_path / "dir").mkdir(exist_ok=True)
    wasi = WasiConfig()
    wasi.stdin_file = str(stdin)
    wasi.preopen_dir(str(tmp_path / "dir"), ".")
    g = Guest(config, wasi)
    if prepare:
        prepare(g)
    _iovecs(g, iovs, pieces)
    if calls is not None:
        del calls[:]
    err = g.call("fd_read", fd, iovs, iovs_len, nread)
    made = len(calls) if calls is not None else 0
    size = g.memory.data_len(g.store)
    got = g.u32(nread) if 0 <= nread <= size - 4 else None
    contents = [g.read(b, n) for b, n in pieces if 0 <= b and b + n <= size]
    after = g.read_fd(0, 16)                  # where the file position is now
    del g
    if calls is not None:
        del calls[made:]
    return err, got, contents, after


@pytest.fixture
def host_calls(monkeypatch):
    """Counts calls that reach the Python fd_read."""
    return count_host_calls(monkeypatch, "fd_read")


@pytest.mark.parametrize("name", CASES)
def test_fast_path_agrees_with_the_host_function(name, tmp_path, host_calls):
    case = CASES[name]
    want = _run(INTERPRETER, tmp_path, case)
    got = _run(NATIVE, tmp_path, case, calls=host_calls)
    assert got == want
    if FAST:
        assert len(host_calls) == (0 if case[-1] else 1), host_calls


def _drop_read_right(g: Guest) -> None:
    assert g.call("fd_fdstat_set_rights", 0, 0, 0) == 0


def _close_stdin(g: Guest) -> None:
    assert g.call("fd_close", 0) == 0


@pytest.mark.parametrize("prepare", [_drop_read_right, _close_stdin],
                         ids=["read right dropped", "stdin closed"])
def test_fast_path_follows_descriptor_changes(prepare, tmp_path, host_calls):
    case = (0, 64, 1, 128, [(256, 8)], False)
    want = _run(INTERPRETER, tmp_path, case, prepare)
    assert want[0] != 0
    assert _run(NATIVE, tmp_path, case, prepare, host_calls) == want
    if FAST:
        assert len(host_calls) == 1
