"""Python signal handlers run while wasm code spins, when the Engine has epoch interruption
(issue #15): natively a C-level handler in front of Python's makes the code reach its next
epoch check, whose slow path runs the handlers; the interpreter runs them between its own
statements; emulated x86_64 code reads the deadline the C-level handler zeroed in place (the
store context is host memory mapped into the guest) and takes the same slow path. Every case
runs in a child process (a hang is a timeout, a crash a failure)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from engine import TrapCode

from stack_cases import _ROOT, executor_params, run_child

#: the executors whose spinning code handles signals: those whose epoch checks have a slow
#: path (x86_64, natively and under Unicorn, which reads the zeroed deadline in place); on
#: aarch64 and riscv64 the handlers run when the call returns (see README)
SIGNAL_EXECUTORS = ["interpreter", "x86_64-native", "x86_64-unicorn"]

_SPIN = """
    import signal, time
    from engine import Config, Engine, Instance, Module, Store, Trap
    from stack_cases import EXECUTORS
    engine = Engine(Config(epoch_interruption=True, **EXECUTORS[{executor!r}]))
    store = Store(engine)
    store.set_epoch_deadline({deadline})
    spin = Instance(store, Module(engine, '(module (func (export "spin") (loop br 0)))'),
                    []).exports(store)["spin"]
    calls = []
    {setup}
    start = time.monotonic()
    try:
        spin(store)
        print("returned")
    except Trap as e:
        print("trap", e.trap_code, len(calls), flush=True)
    except KeyboardInterrupt:
        print("KeyboardInterrupt", len(calls), flush=True)
    signal.setitimer(signal.ITIMER_REAL, 0)
    print(round(time.monotonic() - start, 1))
"""


@pytest.mark.parametrize("executor", executor_params(SIGNAL_EXECUTORS))
def test_sigalrm_handler_incrementing_the_epoch_interrupts(executor):
    """The README's pattern: a SIGALRM handler calls Engine.increment_epoch (on main: the
    handler never ran and the call spun forever)."""
    setup = ("signal.signal(signal.SIGALRM, lambda *a: (calls.append(1), "
             "engine.increment_epoch()))\n    signal.setitimer(signal.ITIMER_REAL, 0.2)")
    out = run_child(_SPIN.format(executor=executor, deadline=1, setup=setup), timeout=60)
    first, elapsed = out.split("\n")[:2]
    assert first == f"trap {TrapCode.INTERRUPT} 1"
    assert float(elapsed) < 10


@pytest.mark.parametrize("executor", executor_params(SIGNAL_EXECUTORS))
def test_handler_that_does_not_interrupt_lets_the_code_go_on(executor):
    """Three alarms 0.2 s apart; only the third increments the epoch: the first two handlers
    run and the code goes on (no spurious INTERRUPT)."""
    setup = ("def h(*a):\n        calls.append(1)\n        if len(calls) == 3:\n"
             "            engine.increment_epoch()\n"
             "    signal.signal(signal.SIGALRM, h)\n"
             "    signal.setitimer(signal.ITIMER_REAL, 0.2, 0.2)")
    out = run_child(_SPIN.format(executor=executor, deadline=1, setup=setup), timeout=60)
    assert out.split("\n")[0] == f"trap {TrapCode.INTERRUPT} 3"


def _interrupt_child(argv: list[str], ready: str | None, delay: float = 2.0):
    """Start argv with SIGINT at its default (a shell may start it ignored), send SIGINT
    `delay` seconds after it printed `ready` (or after start), return (status, stdout)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(_ROOT), str(_ROOT / "tests"),
                                         str(_ROOT / "tests" / "exec")])
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=_ROOT,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        if ready is not None:
            line = proc.stdout.readline()
            assert line.strip() == ready, (line, proc.stderr.read())
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out, err


@pytest.mark.parametrize("executor", executor_params(SIGNAL_EXECUTORS))
def test_ctrl_c_raises_keyboard_interrupt_out_of_a_spinning_call(executor):
    code = _SPIN.format(executor=executor, deadline=1 << 40,
                        setup='print("ready", flush=True)')
    status, out, err = _interrupt_child([sys.executable, "-c", textwrap.dedent(code)],
                                        "ready")
    assert status == 0, err
    assert out.split("\n")[0] == "KeyboardInterrupt 0"


@pytest.mark.parametrize("strategy", ["compiler", "interpreter"])
def test_polyjit_run_stops_on_ctrl_c_with_status_130(tmp_path: Path, strategy):
    wat = tmp_path / "spin.wat"
    wat.write_text('(module (func (export "spin") (loop br 0)))')
    status, out, err = _interrupt_child(
        [sys.executable, "-m", "engine.tools.cli", "run", str(wat), "--invoke", "spin",
         "--strategy", strategy], None, delay=3.0)
    assert status == 130, err
