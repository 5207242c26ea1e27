"""benchmarks/startup.py: a real program compiled and run under both runtimes in fresh
processes, the table's figures plausible and the outputs compared; the tree sampler counts a
child process's memory."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from benchmarks import startup

pytest.importorskip("wasmtime", reason="the benchmark compares against wasmtime (dev extra)")


def test_minigzip_under_both_runtimes_gives_one_output():
    results = {rt: startup.measure(rt, "minigzip", parallel=True) for rt in startup.RUNTIMES}
    for r in results.values():
        assert "error" not in r, r
        assert r["compile_s"] > 0 and r["compile_cpu_s"] > 0
        assert r["rss_peak_kb"] >= r["rss_before_kb"] > 0
        assert r["output_bytes"] > 100 and r["status"] == 0
    assert results["polyjit"]["output_sha256"] == results["wasmtime"]["output_sha256"]


_SAMPLER_CHECK = """
import multiprocessing, sys
from benchmarks import startup

def hold(ready, done):
    block = bytearray(64 << 20)
    block[::4096] = b"\\x01" * len(block[::4096])     # touch every page
    ready.set()
    done.wait(30)

ctx = multiprocessing.get_context("fork")
ready, done = ctx.Event(), ctx.Event()
alone = startup.TreeSampler().sample()
child = ctx.Process(target=hold, args=(ready, done))
child.start()
try:
    assert ready.wait(30)
    with_child = startup.TreeSampler().sample()
finally:
    done.set()
    child.join()
# the child's 64 MB are its own (written after the fork): counted in full
assert with_child - alone > 60 << 10, (alone, with_child)
"""


def test_tree_sampler_adds_children():
    # in a fresh process: a test worker's own children (compile processes of the modules
    # other tests made) come and go meanwhile
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(startup.REPO), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", _SAMPLER_CHECK], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
