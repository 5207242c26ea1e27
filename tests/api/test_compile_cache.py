"""Config.cache: a second Module of the same bytes is loaded from the cache without compiling;
the key separates targets, code settings and modules; corrupt entries are ignored and
rewritten; compiled code belongs to its Module (no executor keeps Modules alive)."""

from __future__ import annotations

import dataclasses
import gc
import os
import weakref
from pathlib import Path

import pytest

from engine import Config, Engine, Instance, Module, Store
from engine.compile import cache as C

FIB = """(module
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2))))))))"""

SQUARE = """(module (func (export "sq") (param i64) (result i64)
  (i64.mul (local.get 0) (local.get 0))))"""


def _fib(engine: Engine, n: int) -> int:
    store = Store(engine)
    return Instance(store, Module(engine, FIB), []).exports(store)["fib"](store, n)


def _entries(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.suffix == C.SUFFIX)


def _forbid_compiling(monkeypatch) -> list:
    calls: list = []
    from backends.x86_64 import X86_64Backend

    def counting(self, *a, **k):
        calls.append(1)
        raise AssertionError("compiled although the cache holds the code")

    monkeypatch.setattr(X86_64Backend, "link", counting)
    return calls


def test_hit_skips_compilation(tmp_path, monkeypatch):
    engine = Engine(Config(cache=str(tmp_path)))
    assert _fib(engine, 15) == 610
    entries = _entries(tmp_path)
    assert len(entries) == 1
    _forbid_compiling(monkeypatch)
    # a fresh engine (as in a new process) reads the entry instead of compiling
    assert _fib(Engine(Config(cache=str(tmp_path))), 20) == 6765
    assert _entries(tmp_path) == entries


def test_key_separates_modules_settings_and_targets(tmp_path):
    plain = Engine(Config(cache=str(tmp_path)))
    fuel = Engine(Config(cache=str(tmp_path), consume_fuel=True))
    wasm = Module(plain, FIB).binary
    other = Module(plain, SQUARE).binary
    feats = frozenset({"sse4.1"})
    keys = {C.cache_key(plain.settings, wasm, feats), C.cache_key(fuel.settings, wasm, feats),
            C.cache_key(plain.settings, other, feats), C.cache_key(plain.settings, wasm, frozenset())}
    assert len(keys) == 4
    emulated = Engine(Config(cache=str(tmp_path), target="riscv64", emulate=True))
    assert C.cache_key(emulated.settings, wasm, feats) not in keys
    assert C.cache_key(plain.settings, wasm, feats) == C.cache_key(
        Engine(Config(cache=str(tmp_path))).settings, wasm, feats)


def test_no_directory_means_no_cache(tmp_path):
    engine = Engine(Config())
    assert C.entry_path(engine.settings, b"\0asm\1\0\0\0", frozenset()) is None
    assert C.load(engine.settings, b"\0asm\1\0\0\0", frozenset()) is None
    assert _fib(engine, 10) == 55
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_corrupt_entry_is_ignored_and_rewritten(tmp_path, damage):
    engine = Engine(Config(cache=str(tmp_path)))
    assert _fib(engine, 12) == 144
    (entry,) = _entries(tmp_path)
    good = entry.read_bytes()
    bad = {"truncate": good[: len(good) // 2],
           "flip": good[:100] + bytes([good[100] ^ 0x40]) + good[101:],
           "garbage": b"not an artifact at all" * 10,
           "empty": b""}[damage]
    entry.write_bytes(bad)
    assert _fib(Engine(Config(cache=str(tmp_path))), 12) == 144
    assert entry.read_bytes() == good


def test_entry_for_another_module_under_the_right_name_is_not_used(tmp_path):
    engine = Engine(Config(cache=str(tmp_path)))
    store = Store(engine)
    sq = Instance(store, Module(engine, SQUARE), []).exports(store)["sq"]
    assert sq(store, 9) == 81
    (sq_entry,) = _entries(tmp_path)
    fib_binary = Module(engine, FIB).binary
    path = C.entry_path(engine.settings, fib_binary, frozenset(engine._state.executor.backend.features))
    os.replace(sq_entry, path)
    assert C.load(engine.settings, fib_binary, frozenset(engine._state.executor.backend.features)) is None
    assert _fib(Engine(Config(cache=str(tmp_path))), 11) == 89


def test_unusable_directory_is_reported_not_raised(tmp_path):
    from backends.base import CompiledCode
    engine = Engine(Config(cache=str(tmp_path)))
    code = CompiledCode("x86_64", b"\xc3")
    assert C.store(engine.settings, b"x", frozenset(), code) is True
    blocker = tmp_path / "a-file"
    blocker.write_text("a file, not a directory")
    assert C.store(dataclasses.replace(engine.settings, cache=str(blocker / "sub")), b"x", frozenset(), code) is False
    assert C.load(dataclasses.replace(engine.settings, cache=str(blocker / "sub")), b"x", frozenset()) is None


@pytest.mark.parametrize("lazy", [False, True])
def test_compiled_code_is_owned_by_the_module(lazy):
    engine = Engine(Config(lazy_compilation=lazy, tiered_compilation=lazy))
    module = Module(engine, FIB)
    store = Store(engine)
    assert Instance(store, module, []).exports(store)["fib"](store, 10) == 55
    # a second instance reuses the module's code
    store2 = Store(engine)
    assert Instance(store2, module, []).exports(store2)["fib"](store2, 11) == 89
    # whole-module code is kept on the Module; lazily compiled code is not whole-module code
    assert (module.code is None) is lazy
    ref = weakref.ref(module)
    del module, store, store2
    gc.collect()
    assert ref() is None, "the executor keeps a dropped Module alive"


# -- what the cache trusts (docs/artifact-format.md) -------------------------------------------

def _planted(tmp_path: Path) -> tuple[Engine, Path]:
    """An engine with a cache in tmp_path/cache and the path its FIB entry would have."""
    directory = tmp_path / "cache"
    directory.mkdir(mode=0o700)
    engine = Engine(Config(cache=str(directory)))
    features = engine._state.executor.backend.features
    return engine, Path(C.entry_path(engine.settings, Module(engine, FIB).binary, features))


def test_entry_that_is_a_symlink_is_not_followed(tmp_path):
    engine, path = _planted(tmp_path)
    os.symlink("/dev/zero", path)      # an unbounded read if it were followed
    assert C.load(engine.settings, Module(engine, FIB).binary,
                  engine._state.executor.backend.features) is None
    assert _fib(engine, 10) == 55


def test_entry_that_is_a_fifo_does_not_block(tmp_path):
    """Opened without blocking and refused: run in a child, so a hang fails the test."""
    import subprocess
    import sys
    engine, path = _planted(tmp_path)
    os.mkfifo(path)
    script = ("import sys; from engine import Config, Engine, Instance, Module, Store\n"
              f"e = Engine(Config(cache={str(path.parent)!r})); s = Store(e)\n"
              f"print(Instance(s, Module(e, {FIB!r}), []).exports(s)['fib'](s, 10))")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.split() == ["55"], out.stderr
    assert path.is_file()      # refused, compiled, and replaced by a genuine entry


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a file to another user")
def test_entry_owned_by_another_user_is_not_executed(tmp_path, monkeypatch):
    engine, path = _planted(tmp_path)
    assert _fib(engine, 12) == 144                 # writes the genuine entry
    os.chown(path, 12345, 12345)
    calls = []
    from backends.x86_64 import X86_64Backend
    real = X86_64Backend.link
    monkeypatch.setattr(X86_64Backend, "link",
                        lambda self, *a, **k: calls.append(1) or real(self, *a, **k))
    assert _fib(Engine(Config(cache=str(path.parent))), 12) == 144
    assert calls == [1], "an entry someone else owns was used instead of compiling"


def test_directory_others_can_write_is_not_trusted(tmp_path, monkeypatch):
    engine, path = _planted(tmp_path)
    assert _fib(engine, 12) == 144
    os.chmod(path.parent, 0o777)
    calls = []
    from backends.x86_64 import X86_64Backend
    real = X86_64Backend.link
    monkeypatch.setattr(X86_64Backend, "link",
                        lambda self, *a, **k: calls.append(1) or real(self, *a, **k))
    assert _fib(Engine(Config(cache=str(path.parent))), 12) == 144
    assert calls == [1], "an entry in a world-writable directory was used"
