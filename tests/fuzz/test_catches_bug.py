"""The fuzzer must catch a deliberately wrong rule, injected into its worker processes only:
x86_64 instruction selection lowering isub to `add`, and the IR interpreter computing isub as
a + b. Each must be found, shrunk and saved as a reproducer within the CI budget."""

from __future__ import annotations

import json

import pytest

from fuzz.campaign import Campaign
from fuzz.gen import Limits

pytest.importorskip("hypothesis")
pytest.importorskip("wasmtime")

BUDGET = 40.0          # seconds of campaign; the bug is typically found in the first batch
SMALL = Limits(max_funcs=3, max_stmts=4, max_depth=3, max_locals=8, max_calls=3)


def _hunt(tmp_path, targets, init, suspect_of):
    with Campaign(targets, corpus=tmp_path, worker_init=f"fuzz_inject:{init}", shrink=True,
                  reduce_seconds=20.0, timeout=30.0, limits=SMALL) as campaign:
        buggy = [o for o in campaign.pool.available if suspect_of(o)]
        if not buggy:
            pytest.skip(f"no oracle to inject into is available: {campaign.pool.unavailable}")
        stats = campaign.run(BUDGET, seed=1234, sources=("gen",), batch=10, stop_on_finding=True)
    return buggy, stats


def _assert_found(tmp_path, stats, buggy):
    assert stats.findings, f"no divergence found in {stats.modules} modules"
    finding = stats.findings[0]
    kinds = {part.split("=")[0]: part.split("=")[1] for part in finding.signature.split(",")}
    assert set(kinds) & set(buggy), finding.signature
    assert all(k in ("divergence", "hang") for k in kinds.values()), finding.signature
    assert finding.path is not None
    saved = json.loads(open(finding.path).read())
    assert set(saved["suspects"]) & set(buggy)
    assert saved["status"] == "open"
    wat = (tmp_path / f"{saved['id']}.wat").read_text()
    assert ".sub" in wat                      # the reproducer still subtracts
    wasm = (tmp_path / f"{saved['id']}.wasm").read_bytes()
    assert len(wasm) < saved["meta"]["unshrunk_wasm_bytes"], "the reproducer was not shrunk"
    assert stats.reduction_runs > 0


def test_finds_x86_isel_sub_lowered_as_add(tmp_path):
    buggy, stats = _hunt(tmp_path, ["interp", "x86_64", "wasmtime"],
                         "x86_sub_is_add", lambda o: o.startswith("x86_64"))
    _assert_found(tmp_path, stats, buggy)


def test_finds_interpreter_sub_computed_as_add(tmp_path):
    buggy, stats = _hunt(tmp_path, ["interp", "wasmtime"], "interp_sub_is_add",
                         lambda o: o == "interp")
    _assert_found(tmp_path, stats, buggy)
