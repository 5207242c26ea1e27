"""libFuzzer-style entry points (runnable under atheris, which is optional and imported only
when this file runs as a script).

- ``TestOneInput(data)``: the bytes drive the module generator (gen/choosers.BytesChooser: a
  smith-like decoding, each decision consumes a few bytes), the case runs on the selected
  oracles and a divergence raises ``DivergenceFound`` (libFuzzer then saves the crashing input).
- ``TestOneInputSmith(data)``: the bytes are wasm-smith's seed instead.

Run (after ``pip install atheris``)::

    python -m fuzz.atheris_targets [-targets=interp,x86_64,wasmtime] [-smith] [libFuzzer flags]
    python -m fuzz.atheris_targets -max_total_time=600 corpus_dir/

Coverage feedback comes from the instrumented generator (the oracles run in other processes,
uninstrumented), so libFuzzer steers towards inputs that reach different generator paths.
Oracles run in isolated workers (fuzz/isolation.py), so a crash of generated machine code is
reported as a divergence (kind "crash") rather than killing the fuzzer; ``POLYJIT_FUZZ_TARGETS``
(comma-separated) selects the oracles, default interp,x86_64,wasmtime."""

from __future__ import annotations

import os
import sys

from .case import Case

DEFAULT_TARGETS = "interp,x86_64,wasmtime"

_pool = None


class DivergenceFound(Exception):
    """The oracles disagree on the input's case (the message has the details)."""


def _get_pool():
    global _pool
    if _pool is None:
        from .isolation import OraclePool
        names = os.environ.get("POLYJIT_FUZZ_TARGETS", DEFAULT_TARGETS).split(",")
        _pool = OraclePool([n.strip() for n in names if n.strip()])
    return _pool


def check_case(case: Case) -> None:
    """Run `case` on the oracles; raise DivergenceFound on any finding."""
    from .compare import analyse
    report = analyse(_get_pool().run(case))
    if report.findings:
        raise DivergenceFound(f"{report.signature}: {report.describe()}\n"
                              f"calls: {[str(c) for c in case.calls]}\n{case.wat or ''}")


def TestOneInput(data: bytes) -> None:                          # noqa: N802 - libFuzzer name
    from .gen import BytesChooser, generated_case
    try:
        case = generated_case(BytesChooser(data), source="atheris")
    except Exception as e:                                     # noqa: BLE001
        raise RuntimeError(f"the generator failed on this input: {e}") from e
    check_case(case)


def TestOneInputSmith(data: bytes) -> None:                     # noqa: N802
    from .gen.smith import smith_calls, smith_from_bytes
    wasm = smith_from_bytes(data)
    if wasm is None:
        return
    check_case(Case(wasm, smith_calls(wasm, len(data)), source="smith"))


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    smith = "-smith" in argv
    argv = [a for a in argv if a != "-smith"]
    for a in list(argv):
        if a.startswith("-targets="):
            os.environ["POLYJIT_FUZZ_TARGETS"] = a.split("=", 1)[1]
            argv.remove(a)
    try:
        import atheris
    except ImportError:
        sys.exit("atheris is not installed: pip install atheris (then rerun this command)")
    # coverage feedback: the generator's decisions (the oracles run in other processes)
    with atheris.instrument_imports(include=["fuzz.gen"]):
        import fuzz.gen.wat  # noqa: F401
        import fuzz.gen.choosers  # noqa: F401
    _get_pool()
    atheris.Setup(argv, TestOneInputSmith if smith else TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
