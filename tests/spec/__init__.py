"""The WebAssembly spec-suite harness: .wast -> JSON commands -> checks against an executor.

cache.py      wast2json conversion, cached by content hash (tests/.cache/spec/)
wast.py       the typed command model (modules, actions, assertions, values)
values.py     values between bit patterns and Python; NaN and reference matching
executor.py   the Executor interface and ApiExecutor (polyjit's or wasmtime-py's API)
runner.py     runs one script, counting each assertion passed/failed/not yet run/skipped
source.py     finds each module's source text in the .wast (for the text-module check)
textcheck.py  compares a text parser's binary with wast2json's
targets.py    TARGETS: the one list of targets (extend it there)
skips.py      every skipped assertion and the reference's known failures, with reasons
results.py    the counts and the tables

Run: pytest tests/spec (tables at the end), or scripts/spec_report.py [--api wasmtime].
"""
