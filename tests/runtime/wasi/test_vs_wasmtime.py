"""Differential: the same ~650 WASI calls (path_open over paths x oflags x rights x follow,
unlink/rmdir/mkdir/stat/readlink/rename/link with trailing slashes and links, fd operations on
stdio, a preopen and a file) made through wasmtime-py and through polyjit, each on its own
copy of a small tree; every errno, descriptor type and result must be the same, except the
differences listed in KNOWN (each a deliberate choice, with its reason)."""

from __future__ import annotations

import os
import struct

import pytest

import engine as polyjit
from engine.runtime.wasi.constants import DIR_RIGHTS, FdFlags, OFlags, Rights

from guest import shim_wat

import wasmtime  # a dev dependency (pyproject), the reference
ALL = (1 << 30) - 1

#: (first fields of a result tuple) -> why polyjit answers differently from wasmtime (the
#: release pip installs: 51 since 2026-12)
KNOWN = {
    ("fdstat", 3): "rights of a preopen: polyjit reports PATH_FILESTAT_SET_SIZE (it enforces "
                   "rights and path_open(TRUNC) needs it); wasmtime enforces none",
    ("onfile", "fd_seek", (0, 3)): "bad whence: INVAL (an errno for bad guest input); "
                                   "wasmtime traps on an invalid enum value",
    ("onfile", "fd_advise", (0, 0, 9)): "bad advice: INVAL; wasmtime traps",
    ("onfile", "fd_fdstat_set_flags", (512,)): "unknown fdflags bits: INVAL; wasmtime traps",
    ("onfile", "fd_filestat_set_times", (0, 0, 128)): "unknown fstflags bits: INVAL; "
                                                      "wasmtime traps",
    ("clock bad",): "bad clock id: INVAL; wasmtime traps",
    ("onfile", "fd_allocate", (0, 0)): "fd_allocate: polyjit implements it (len 0 is INVAL); "
                                       "wasmtime answers NOTSUP to every call",
    ("onfile", "fd_fdstat_set_rights", (ALL, ALL)): "polyjit implements rights (adding one is "
                                                    "NOTCAPABLE); wasmtime answers NOTSUP",
    ("onfile", "fd_fdstat_set_rights", (0, 0)): "polyjit drops the rights; wasmtime NOTSUP",
    ("onfile", "fd_read"): "after dropping FD_READ, polyjit refuses (NOTCAPABLE)",
    ("link", "lnk", "l3", 1): "path_link with SYMLINK_FOLLOW: polyjit follows (in the "
                              "sandbox); wasmtime answers INVAL",
    ("link", "dangling", "l4", 1): "the same, on a link whose target an earlier "
                                   "path_open(CREAT) through it created",
}


class _Guest:
    def __init__(self, api, engine_obj, module, root: str) -> None:
        linker = api.Linker(engine_obj)
        linker.define_wasi()
        self.store = api.Store(engine_obj)
        cfg = api.WasiConfig()
        cfg.preopen_dir(root, "/sb")
        cfg.argv = ["p"]
        self.store.set_wasi(cfg)
        self.x = linker.instantiate(self.store, module).exports(self.store)
        self.mem = self.x["memory"]
        self.next = 1024

    def put(self, data) -> tuple[int, int]:
        data = data.encode() if isinstance(data, str) else data
        p = self.next
        self.mem.write(self.store, data, p)
        self.next = (p + len(data) + 15) & ~7
        return p, len(data)

    def alloc(self, k: int) -> int:
        p = self.next
        self.next = (p + k + 15) & ~7
        return p

    def call(self, name: str, *args):
        try:
            return self.x["w_" + name](self.store, *args)
        except Exception as e:          # wasmtime traps on invalid enum values
            return f"trap: {type(e).__name__}"

    def read(self, p: int, k: int) -> bytes:
        return bytes(self.mem.read(self.store, p, p + k))


def _tree(root) -> None:
    os.mkdir(root / "dir")
    (root / "file").write_text("hello")
    os.symlink("file", root / "lnk")
    os.symlink("nowhere", root / "dangling")
    os.symlink("dir", root / "dlnk")
    os.mkdir(root / "full")
    (root / "full" / "x").write_text("")


def scenario(g: _Guest) -> list[tuple]:
    r = []

    def opn(path, oflags, rights, follow):
        p, n = g.put(path)
        out = g.alloc(4)
        e = g.call("path_open", 3, follow, p, n, oflags, rights, ALL, 0, out)
        return e, (struct.unpack("<I", g.read(out, 4))[0] if e == 0 else None)

    def pcall(name, path, *rest):
        p, n = g.put(path)
        return g.call(name, 3, p, n, *rest)

    for path in ["file", "file/", "dir", "dir/", "lnk", "lnk/", "dangling", "dlnk", "dlnk/",
                 "nope", ".", "", "dir/..", "../x", "/abs", "file/x"]:
        for of in [0, int(OFlags.DIRECTORY), int(OFlags.CREAT), int(OFlags.CREAT | OFlags.EXCL),
                   int(OFlags.TRUNC)]:
            for rights in [int(Rights.FD_READ), int(DIR_RIGHTS), ALL]:
                for follow in (0, 1):
                    e, fd = opn(path, of, rights, follow)
                    ftype = None
                    if fd is not None:
                        st = g.alloc(24)
                        g.call("fd_fdstat_get", fd, st)
                        ftype = g.read(st, 1)[0]
                        g.call("fd_close", fd)
                    r.append(("open", path, of, rights, follow, e, ftype))
    for name in ["path_unlink_file", "path_remove_directory", "path_create_directory"]:
        for path in ["nope", "file/", "dir/", "lnk/", "dlnk/", "dlnk", "dangling/", ".", "dir/.",
                     "full", "/x", "file/x", "dir/", "dir"]:
            r.append((name, path, pcall(name, path)))
    buf = g.alloc(64)
    for path in ["file", "lnk", "dangling", "dlnk/", "lnk/", "nope", "."]:
        for fl in (0, 1):
            p, n = g.put(path)
            e = g.call("path_filestat_get", 3, fl, p, n, buf)
            r.append(("stat", path, fl, e, g.read(buf + 16, 1)[0] if e == 0 else None))
    used = g.alloc(4)
    for path in ["lnk", "file", "dangling", "nope", "lnk/"]:
        for bl in (0, 2, 64):
            p, n = g.put(path)
            e = g.call("path_readlink", 3, p, n, buf, bl, used)
            r.append(("readlink", path, bl, e,
                      struct.unpack("<I", g.read(used, 4))[0] if e == 0 else None))
    for fd in [0, 1, 2, 3, 99]:
        st = g.alloc(24)
        e = g.call("fd_fdstat_get", fd, st)
        r.append(("fdstat", fd, e, g.read(st, 24 if fd == 3 else 4).hex() if e == 0 else None))
        for name, args in [("fd_seek", (0, 0, buf)), ("fd_tell", (buf,)), ("fd_sync", ()),
                           ("fd_datasync", ()), ("fd_advise", (0, 0, 0)),
                           ("fd_allocate", (0, 1)), ("fd_filestat_set_size", (0,)),
                           ("fd_readdir", (buf, 64, 0, used)), ("sock_recv", (buf, 0, 0, buf, buf)),
                           ("sock_send", (buf, 0, 0, buf)), ("sock_accept", (0, buf)),
                           ("sock_shutdown", (3,)), ("fd_fdstat_set_flags", (0,)),
                           ("fd_filestat_get", (buf,)), ("fd_prestat_get", (buf,))]:
            r.append((name, fd, g.call(name, fd, *args)))
    e, fd = opn("file", 0, ALL, 1)
    for name, args in [("fd_seek", (0, 3)), ("fd_seek", (-1, 0)), ("fd_advise", (0, 0, 9)),
                       ("fd_allocate", (0, 0)), ("fd_readdir", (buf, 64, 0, used)),
                       ("fd_fdstat_set_flags", (int(FdFlags.SYNC),)),
                       ("fd_fdstat_set_flags", (int(FdFlags.APPEND),)),
                       ("fd_fdstat_set_flags", (1 << 9,)),
                       ("fd_filestat_set_times", (0, 0, 3)),
                       ("fd_filestat_set_times", (0, 0, 1 << 7)),
                       ("fd_fdstat_set_rights", (ALL, ALL)), ("fd_fdstat_set_rights", (0, 0)),
                       ("fd_read", (buf, 1, used))]:
        extra = (buf,) if name == "fd_seek" else ()
        r.append(("onfile", name, args, g.call(name, fd, *args, *extra)))
    r.append(("poll0", g.call("poll_oneoff", buf, buf, 0, used)))
    r.append(("clock bad", g.call("clock_res_get", 7, buf), g.call("clock_time_get", 7, 0, buf)))
    r.append(("prestat name short", g.call("fd_prestat_dir_name", 3, buf, 1)))
    r.append(("renumber bad", g.call("fd_renumber", 3, 50), g.call("fd_renumber", 50, 3)))
    tp, tn = g.put("file")
    lp, ln = g.put("lnk")
    r.append(("symlink exists", g.call("path_symlink", tp, tn, 3, lp, ln)))
    for a, b in [("file", "dir"), ("dir", "file"), ("dir", "full"), ("nope", "x"),
                 ("file", "file"), ("dir", "dir/sub"), ("file/", "y"), ("dir/", "z/")]:
        pa, na = g.put(a)
        pb, nb = g.put(b)
        r.append(("rename", a, b, g.call("path_rename", 3, pa, na, 3, pb, nb)))
    for a, b, f in [("file", "lnk", 0), ("dir", "d2", 0), ("lnk", "l2", 0), ("lnk", "l3", 1),
                    ("dangling", "l4", 1), ("nope", "l5", 0), ("file", "file2/", 0)]:
        pa, na = g.put(a)
        pb, nb = g.put(b)
        r.append(("link", a, b, f, g.call("path_link", 3, f, pa, na, 3, pb, nb)))
    return r


def _known(item: tuple) -> bool:
    return any(item[:len(k)] == k for k in KNOWN)


@pytest.mark.parametrize("config", [pytest.param({}, id="native"),
                                    pytest.param({"target": "aarch64"}, id="aarch64-emu",
                                                 marks=pytest.mark.slow)])
def test_same_answers_as_wasmtime(tmp_path, config):
    wat = shim_wat()
    runs = []
    for name, api, eng in [("wasmtime", wasmtime, wasmtime.Engine()),
                           ("polyjit", polyjit, polyjit.Engine(polyjit.Config(**config)))]:
        root = tmp_path / name
        root.mkdir()
        _tree(root)
        runs.append(scenario(_Guest(api, eng, api.Module(eng, wat), str(root))))
    want, got = runs
    assert len(want) == len(got) > 600
    differ = [(w, g) for w, g in zip(want, got) if w != g]
    unexpected = [(w, g) for w, g in differ if not _known(w)]
    assert not unexpected, "\n".join(f"wasmtime {w}\npolyjit  {g}" for w, g in unexpected)
    # every listed difference still exists (a fixed one must leave the list)
    for k in KNOWN:
        assert any(w[:len(k)] == k for w, _ in differ), k


#: path_remove_directory's answers on paths with trailing slashes, dots and links, each on a
#: fresh tree (wasmtime 51 removes "dir/"; "dir/." and "dlnk/." name a directory itself)
RMDIR_PATHS = ["dir/", "dir//", "./dir/", "dir/.", "dir/./", "dir/..", "dir/./.", ".", "./",
               "dlnk/", "dlnk/.", "full/", "full/.", "full/x/", "full/x/.", "file/", "file/.",
               "file/..", "lnk/.", "nope/", "nope/.", "nope/..", "dangling/.", "dir"]


def test_remove_directory_answers_as_wasmtime(tmp_path):
    wat = shim_wat()
    answers = {}
    for name, api, eng in [("wasmtime", wasmtime, wasmtime.Engine()),
                           ("polyjit", polyjit, polyjit.Engine())]:
        module = api.Module(eng, wat)
        out = answers[name] = []
        for k, path in enumerate(RMDIR_PATHS):
            root = tmp_path / f"{name}{k}"
            root.mkdir()
            _tree(root)
            g = _Guest(api, eng, module, str(root))
            p, n = g.put(path)
            out.append((path, g.call("path_remove_directory", 3, p, n), (root / "dir").exists()))
    assert answers["polyjit"] == answers["wasmtime"]
    assert ("dir/", 0, False) in answers["polyjit"]         # (the case 51 changed)
