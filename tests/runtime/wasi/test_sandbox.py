"""The sandbox: a guest sees only its preopened directories. Every way out named in issue #14
is tried, natively and under emulation (the same Python host code serves both): `..`,
absolute paths, absolute and relative symbolic links, chains and loops of links, hard links,
renames, readlink, creating, removing and stat-ing outside; bad guest pointers; read-only
preopens; per-store descriptor tables whose host descriptors close with the store."""

from __future__ import annotations

import gc
import os
import struct

import pytest

from engine import DirPerms, FilePerms, WasiConfig
from engine.runtime.wasi.constants import Errno, LookupFlags, OFlags, Rights

from guest import EXECUTORS, Guest

DIRFD = 3
ESCAPES = (Errno.PERM, Errno.NOTCAPABLE)


@pytest.fixture(params=EXECUTORS)
def executor(request) -> dict:
    return request.param


@pytest.fixture
def world(tmp_path):
    """tmp/outside/secret (must stay unreachable), tmp/sandbox (preopened as /sandbox)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("top secret")
    box = tmp_path / "sandbox"
    box.mkdir()
    (box / "file").write_text("inside")
    (box / "dir").mkdir()
    os.symlink(str(outside), box / "abs_dir")                      # absolute, to a directory
    os.symlink(str(outside / "secret"), box / "abs_file")          # absolute, to a file
    os.symlink("../outside", box / "up")                          # relative, climbing out
    os.symlink("../../outside/secret", box / "dir" / "deep_up")
    os.symlink("chain2", box / "chain1")                          # a chain that ends outside
    os.symlink("dir/chain3", box / "chain2")
    os.symlink("../up/secret", box / "dir" / "chain3")
    os.symlink("loop2", box / "loop1")                            # a loop
    os.symlink("loop1", box / "loop2")
    os.symlink("file", box / "ok_link")                           # a harmless one
    return tmp_path, outside, box


def guest_for(executor, box, **perms) -> Guest:
    cfg = WasiConfig()
    cfg.preopen_dir(str(box), "/sandbox", **perms)
    return Guest(executor, cfg)


def outside_untouched(outside) -> None:
    assert sorted(os.listdir(outside)) == ["secret"]
    assert (outside / "secret").read_text() == "top secret"


ESCAPING_PATHS = [
    "../outside/secret", "..", "../", "dir/../../outside/secret", "dir/../..",
    "/etc/passwd", "/", "abs_dir/secret", "abs_file", "up/secret", "up", "dir/deep_up",
    "chain1", "./dir/./../../outside/secret", "dir//..//../outside",
]


@pytest.mark.parametrize("path", ESCAPING_PATHS)
def test_open_cannot_escape(executor, world, path):
    _, outside, box = world
    g = guest_for(executor, box)
    err, fd = g.open(DIRFD, path)
    assert err in ESCAPES, (path, Errno(err))
    err, fd = g.open(DIRFD, path, oflags=OFlags.CREAT)
    assert err in ESCAPES, (path, Errno(err))
    outside_untouched(outside)


def test_link_loop_is_loop(executor, world):
    _, _, box = world
    g = guest_for(executor, box)
    err, _ = g.open(DIRFD, "loop1")
    assert err == Errno.LOOP
    err, _ = g.open(DIRFD, "loop1/x")
    assert err == Errno.LOOP


def test_inside_links_still_work(executor, world):
    _, _, box = world
    g = guest_for(executor, box)
    err, fd = g.open(DIRFD, "ok_link")
    assert err == 0
    err, data = g.read_fd(fd, 100)
    assert (err, data) == (0, b"inside")
    err, fd2 = g.open(DIRFD, "dir/../file")
    assert err == 0 and fd2 > fd


@pytest.mark.parametrize("path", ["../outside/secret", "up/secret", "abs_file", "chain1/x"])
def test_stat_reveals_nothing_outside(executor, world, path):
    _, _, box = world
    g = guest_for(executor, box)
    buf = g.alloc(64)
    p, n = g.put(path)
    err = g.call("path_filestat_get", DIRFD, LookupFlags.SYMLINK_FOLLOW, p, n, buf)
    assert err in ESCAPES + (Errno.NOTDIR,)
    assert g.read(buf, 64) == bytes(64)


def test_create_remove_outside_refused(executor, world):
    tmp, outside, box = world
    g = guest_for(executor, box)
    assert g.path_call("path_create_directory", DIRFD, "../newdir") in ESCAPES
    assert g.path_call("path_create_directory", DIRFD, "up/newdir") in ESCAPES
    assert g.path_call("path_unlink_file", DIRFD, "../outside/secret") in ESCAPES
    assert g.path_call("path_unlink_file", DIRFD, "up/secret") in ESCAPES
    assert g.path_call("path_remove_directory", DIRFD, "../outside") in ESCAPES
    # "link/." names the link's target for the walk; a link is never removed as a directory
    assert g.path_call("path_remove_directory", DIRFD, "abs_dir/.") in ESCAPES + (Errno.NOTDIR,)
    assert not (tmp / "newdir").exists()
    outside_untouched(outside)
    # unlinking a link that points outside removes the link, not its target
    assert g.path_call("path_unlink_file", DIRFD, "abs_file") == 0
    assert not os.path.lexists(box / "abs_file")
    outside_untouched(outside)


def test_hard_links_cannot_reach_out(executor, world):
    _, outside, box = world
    g = guest_for(executor, box)
    cases = [("../outside/secret", 0, "stolen"), ("up/secret", 0, "stolen"),
             ("abs_file", LookupFlags.SYMLINK_FOLLOW, "stolen"),
             ("chain1", LookupFlags.SYMLINK_FOLLOW, "stolen"), ("file", 0, "../outside/planted"),
             ("file", 0, "up/planted")]
    for old, flags, new in cases:
        po, no = g.put(old)
        pn, nn = g.put(new)
        err = g.call("path_link", DIRFD, flags, po, no, DIRFD, pn, nn)
        assert err in ESCAPES, (old, new, Errno(err))
    assert not os.path.lexists(box / "stolen")
    outside_untouched(outside)


def test_rename_cannot_reach_out(executor, world):
    _, outside, box = world
    g = guest_for(executor, box)
    for old, new in [("file", "../outside/moved"), ("file", "up/moved"),
                     ("../outside/secret", "here"), ("up/secret", "here"), ("file", "/tmp/x")]:
        po, no = g.put(old)
        pn, nn = g.put(new)
        err = g.call("path_rename", DIRFD, po, no, DIRFD, pn, nn)
        assert err in ESCAPES, (old, new, Errno(err))
    assert (box / "file").read_text() == "inside"
    outside_untouched(outside)


def test_readlink_outside_refused(executor, world):
    _, _, box = world
    g = guest_for(executor, box)
    buf = g.alloc(256)
    used = g.alloc(4)
    for path in ["../outside/x", "up/x", "abs_dir/x"]:
        p, n = g.put(path)
        assert g.call("path_readlink", DIRFD, p, n, buf, 256, used) in ESCAPES
    # a link inside: its text, truncated to the buffer
    p, n = g.put("ok_link")
    assert g.call("path_readlink", DIRFD, p, n, buf, 256, used) == 0
    assert g.read(buf, g.u32(used)) == b"file"


def test_symlink_creation(executor, world):
    _, outside, box = world
    g = guest_for(executor, box)
    # an absolute target is refused; a link into the parent may be made but never followed
    tp, tn = g.put(str(outside / "secret"))
    lp, ln = g.put("planted_abs")
    assert g.call("path_symlink", tp, tn, DIRFD, lp, ln) in ESCAPES
    assert not os.path.lexists(box / "planted_abs")
    tp, tn = g.put("../outside/secret")
    lp, ln = g.put("planted_rel")
    assert g.call("path_symlink", tp, tn, DIRFD, lp, ln) == 0
    err, _ = g.open(DIRFD, "planted_rel")
    assert err in ESCAPES
    lp, ln = g.put("../outside/planted")
    assert g.call("path_symlink", tp, tn, DIRFD, lp, ln) in ESCAPES
    outside_untouched(outside)


def test_bad_pointers_are_errno(executor, world):
    _, _, box = world
    g = guest_for(executor, box)
    size = g.memory.data_len(g.store)
    out = g.alloc(4)
    # path beyond memory, straddling the end, wrapping around
    for ptr, n in [(size, 4), (size - 2, 4), (-1, 8), (0x7FFFFFFF, 0x7FFFFFFF)]:
        err = g.call("path_open", DIRFD, 0, ptr, n, 0, 0, 0, 0, out)
        assert err == Errno.FAULT, (ptr, n)
    # iovec array and iovec buffers out of range, result pointer out of range or misaligned
    iov = g.alloc(8)
    g.memory.write(g.store, struct.pack("<II", size - 2, 10), iov)
    assert g.call("fd_write", 1, iov, 1, out) == Errno.FAULT
    assert g.call("fd_write", 1, size - 4, 1, out) == Errno.FAULT
    assert g.call("fd_write", 1, iov, 0x10000000, out) == Errno.FAULT
    p, n = g.put(b"x")
    g.memory.write(g.store, struct.pack("<II", p, n), iov)
    assert g.call("fd_write", 1, iov, 1, size) == Errno.FAULT
    assert g.call("fd_write", 1, iov, 1, out + 1) == Errno.INVAL
    assert g.call("random_get", size - 10, 11) == Errno.FAULT
    assert g.call("args_sizes_get", size, out) == Errno.FAULT
    assert g.call("fd_prestat_dir_name", DIRFD, size - 3, 8) == Errno.FAULT
    assert g.call("poll_oneoff", size - 8, out, 1, out) == Errno.FAULT
    assert g.call("clock_time_get", 0, 0, size - 4) == Errno.FAULT
    assert g.call("fd_fdstat_get", DIRFD, size - 8) == Errno.FAULT


def test_read_only_preopen(executor, world):
    _, _, box = world
    g = guest_for(executor, box, dir_perms=DirPerms.READ_ONLY, file_perms=FilePerms.READ_ONLY)
    err, _ = g.open(DIRFD, "new", oflags=OFlags.CREAT)
    assert err in ESCAPES
    err, _ = g.open(DIRFD, "file", rights=int(Rights.FD_WRITE))
    assert err in ESCAPES
    err, _ = g.open(DIRFD, "file", oflags=OFlags.TRUNC)
    assert err in ESCAPES
    assert g.path_call("path_unlink_file", DIRFD, "file") in ESCAPES
    assert g.path_call("path_create_directory", DIRFD, "d2") in ESCAPES
    assert g.path_call("path_remove_directory", DIRFD, "dir") in ESCAPES
    err, fd = g.open(DIRFD, "file", rights=int(Rights.FD_READ | Rights.FD_WRITE))
    assert err in ESCAPES
    err, fd = g.open(DIRFD, "file", rights=int(Rights.FD_READ))
    assert err == 0
    assert g.read_fd(fd, 10) == (0, b"inside")
    assert g.write(fd, b"overwrite")[0] in (Errno.BADF, Errno.NOTCAPABLE)
    assert (box / "file").read_text() == "inside"
    assert sorted(os.listdir(box)) == sorted(["file", "dir", "abs_dir", "abs_file", "up",
                                              "chain1", "chain2", "loop1", "loop2", "ok_link"])


def _open_host_fds() -> set[int]:
    return set(int(n) for n in os.listdir("/proc/self/fd"))


def test_descriptor_tables_are_per_store_and_close(executor, world):
    _, _, box = world
    gc.collect()                                     # earlier tests' stores close first
    before = _open_host_fds()
    g1 = guest_for(executor, box)
    g2 = guest_for(executor, box)
    err, fd = g1.open(DIRFD, "file")
    assert err == 0 and fd == 4                      # guest numbers, not host ones
    assert g2.call("fd_close", fd) == Errno.BADF     # not in the other store
    for name in ["fd_filestat_get", "fd_fdstat_get"]:
        assert g2.call(name, 4, g2.alloc(64)) == Errno.BADF
    during = _open_host_fds()
    assert len(during - before) >= 3                 # two preopens and a file, at least
    del g1, g2
    gc.collect()
    assert _open_host_fds() - before == set()


def test_readdir_reveals_nothing_of_the_parent(executor, world):
    tmp, _, box = world
    g = guest_for(executor, box)
    buf, used = g.alloc(4096), g.alloc(4)
    assert g.call("fd_readdir", DIRFD, buf, 4096, 0, used) == 0
    data = g.read(buf, g.u32(used))
    entries = {}
    while len(data) >= 24:
        _, ino, n, _ = struct.unpack_from("<QQIB3x", data)
        entries[data[24:24 + n].decode()] = ino
        data = data[24 + n:]
    assert entries["."] == entries[".."] == os.stat(box).st_ino
    assert os.stat(tmp).st_ino not in entries.values()
    assert set(entries) == {".", ".."} | set(os.listdir(box))


def test_no_memory_export_is_fault(executor):
    # "memory" that is not a memory, and no memory at all: FAULT, not a Python error
    from engine import Config, Engine, Linker, Module, Store
    for wat in ['(module (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 '
                'i32 i32) (result i32))) (func (export "memory")) (func (export "go") '
                '(result i32) (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))',
                '(module (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 '
                'i32 i32) (result i32))) (func (export "go") (result i32) (call $w (i32.const 1) '
                '(i32.const 0) (i32.const 1) (i32.const 8))))']:
        engine = Engine(Config(**executor))
        linker = Linker(engine)
        linker.define_wasi()
        store = Store(engine)
        store.set_wasi(WasiConfig())
        go = linker.instantiate(store, Module(engine, wat)).exports(store)["go"]
        assert go(store) == Errno.FAULT
