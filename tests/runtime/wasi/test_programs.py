"""Real C programs (tests/data/wasi, see BUILD.md there) give the same exit status, stdout,
stderr and files under polyjit as under wasmtime-py's WASI. Both runs use the same code with
the two APIs (`engine` and `wasmtime` are interchangeable here)."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import pytest

import engine as polyjit

import wasmtime  # a dev dependency (pyproject), the reference

DATA = Path(__file__).resolve().parents[2] / "data" / "wasi"

LUA_SCRIPT = r"""
local t = {}
for i = 1, 200 do t[#t + 1] = i * i end
local s = 0
for _, v in ipairs(t) do s = s + v end
print("sum", s, #t)
print(string.format("%5.2f %d %s %x", math.pi, 1 << 40, ("ab"):rep(3), 48879))
local f = assert(io.open("out.txt", "w"))
for i = 1, 50 do f:write(("line %d %s\n"):format(i, ("*"):rep(i % 7))) end
f:close()
local n, bytes = 0, 0
for line in io.lines("out.txt") do n = n + 1; bytes = bytes + #line end
print("read", n, bytes)
local g = assert(io.open("out.txt", "r")); g:seek("set", 7); print("seek", g:read(6)); g:close()
print("env", os.getenv("GREETING"), os.getenv("MISSING"), "args", #arg, arg[1], arg[2])
print(select("#", 1, 2, 3), tostring(nil), 7 // 2, 7 % 3, 2^10, math.maxinteger)
local keys = {}
for k in pairs({alpha=1, beta=2, gamma=3}) do keys[#keys + 1] = k end
table.sort(keys)
print(table.concat(keys, ","), ("%q"):format("a\nb"))
print(string.gsub("hello world", "o", "0"), ("x"):byte(), utf8.char(233, 8364))
assert(os.rename("out.txt", "renamed.txt"))
print("renamed", io.open("out.txt") == nil, io.open("renamed.txt") ~= nil)
print("remove", os.remove("renamed.txt"), io.open("renamed.txt") == nil)
print("clock ok", os.clock() >= 0, os.time() > 1600000000)
io.stderr:write("to stderr\n")
os.exit(7)
"""

_MODULES: dict = {}


def _module(api, engine_obj, name: str):
    key = (api.__name__, id(engine_obj), name)
    if key not in _MODULES:
        _MODULES[key] = api.Module.from_file(engine_obj, str(DATA / name))
    return _MODULES[key]


_ENGINES: dict = {}


def _engine(api, config: dict):
    key = (api.__name__, tuple(sorted(config.items())))
    if key not in _ENGINES:
        _ENGINES[key] = api.Engine(polyjit.Config(**config)) if api is polyjit else api.Engine()
    return _ENGINES[key]


def run(api, config: dict, program: str, argv: list[str], work: Path,
        env: list[tuple[str, str]] = (), stdin: bytes | None = None) -> tuple[int, bytes, bytes]:
    """Run `program` with `argv` in the preopened directory `work` (guest "."):
    (exit status, stdout, stderr)."""
    eng = _engine(api, config)
    module = _module(api, eng, program)
    linker = api.Linker(eng)
    linker.define_wasi()
    store = api.Store(eng)
    cfg = api.WasiConfig()
    cfg.argv = [program, *argv]
    cfg.env = [list(p) for p in env]
    cfg.preopen_dir(str(work), ".")
    out, err = work.parent / (work.name + ".stdout"), work.parent / (work.name + ".stderr")
    cfg.stdout_file = str(out)
    cfg.stderr_file = str(err)
    if stdin is not None:
        src = work.parent / (work.name + ".stdin")
        src.write_bytes(stdin)
        cfg.stdin_file = str(src)
    store.set_wasi(cfg)
    code = 0
    try:
        linker.instantiate(store, module).exports(store)["_start"](store)
    except api.ExitTrap as e:
        code = e.code
    del store, linker
    return code, out.read_bytes(), err.read_bytes()


def both(tmp_path: Path, config: dict, program: str, argv: list[str], setup=None, **kw):
    """Run under wasmtime and polyjit, each in its own copy of the work directory; return
    (polyjit's result, polyjit's work dir) after checking that everything matches."""
    results = []
    for api in (wasmtime, polyjit):
        work = tmp_path / api.__name__
        work.mkdir()
        if setup:
            setup(work)
        results.append((run(api, config, program, argv, work, **kw), _tree(work)))
    (want, want_tree), (got, got_tree) = results
    assert got == want
    assert got_tree == want_tree
    return got, tmp_path / "engine"


def _tree(root: Path) -> dict[str, bytes]:
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = Path(dirpath) / f
            out[str(p.relative_to(root))] = p.read_bytes()
    return out


CONFIGS = [
    pytest.param({}, id="native"),
    pytest.param({"target": "aarch64"}, id="aarch64-emu", marks=pytest.mark.slow),
    pytest.param({"target": "riscv64"}, id="riscv64-emu", marks=pytest.mark.slow),
    pytest.param({"target": "x86_64", "emulate": True}, id="x86_64-emu", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("config", CONFIGS)
def test_lua(tmp_path, config):
    def setup(work):
        (work / "script.lua").write_text(LUA_SCRIPT)
    (code, out, err), _ = both(tmp_path, config, "lua54.wasm", ["script.lua", "one", "two"],
                               setup, env=[("GREETING", "hi")])
    assert code == 7
    assert out.startswith(b"sum\t2686700\t200\n") and b"renamed\ttrue\ttrue" in out
    assert err == b"to stderr\n"


SAMPLE = b"".join(b"%d the quick brown fox jumps over the lazy dog %d\n" % (i, i * i)
                  for i in range(3000))


@pytest.mark.parametrize("config", CONFIGS[:1] + [
    pytest.param({"target": "aarch64"}, id="aarch64-emu")] + CONFIGS[2:])
def test_minigzip(tmp_path, config):
    def setup(work):
        (work / "data.txt").write_bytes(SAMPLE)
    # compress a file in place (data.txt -> data.txt.gz, removing data.txt), then to stdout
    (code, out, err), work = both(tmp_path, config, "minigzip.wasm", ["-9", "data.txt"], setup)
    assert code == 0 and not (work / "data.txt").exists()
    assert gzip.decompress((work / "data.txt.gz").read_bytes()) == SAMPLE
    shutil.rmtree(tmp_path)
    tmp_path.mkdir()
    (code, out, err), _ = both(tmp_path, config, "minigzip.wasm", ["-c", "-d"], None,
                               stdin=gzip.compress(SAMPLE))
    assert (code, out) == (0, SAMPLE)


@pytest.mark.parametrize("config", CONFIGS)
def test_brotli(tmp_path, config):
    def setup(work):
        (work / "in.txt").write_bytes(SAMPLE)
        (work / "sub").mkdir()
    (code, out, err), work = both(tmp_path, config, "brotli.wasm",
                                  ["-q", "5", "-o", "sub/in.txt.br", "in.txt"], setup)
    assert code == 0
    compressed = (work / "sub" / "in.txt.br").read_bytes()
    assert 0 < len(compressed) < len(SAMPLE) // 4
    shutil.rmtree(tmp_path)
    tmp_path.mkdir()

    def setup2(work):
        (work / "in.br").write_bytes(compressed)
    (code, out, err), work = both(tmp_path, config, "brotli.wasm", ["-d", "-c", "in.br"], setup2)
    assert (code, out) == (0, SAMPLE)
    # an error path: a missing input file, same message and status as under wasmtime
    shutil.rmtree(tmp_path)
    tmp_path.mkdir()
    (code, out, err), _ = both(tmp_path, config, "brotli.wasm", ["-d", "nope.br"])
    assert code != 0 and b"nope.br" in err
