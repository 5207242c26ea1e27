"""The forked compile helpers (engine.compile.forked): ForkedStream's child computes ahead of
need, in the order its roots and hints give and the parent's `seen` changes, and every
result it sends is what the job gives; the parent takes each once."""

from __future__ import annotations

import os
import time

import pytest

from engine.compile.forked import ForkedStream
from engine.compile.parallel import can_fork

pytestmark = pytest.mark.skipif(not can_fork(), reason="needs fork")


def _wait(stream: ForkedStream, count: int, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while stream.received < count and time.monotonic() < end:
        time.sleep(0.01)


def _ended(pid: int, timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.01)
    return False


def test_the_child_computes_what_its_roots_hints_and_later_positions_reach():
    tree = {0: [1, 2], 1: [3], 2: [], 3: [], 5: [6], 6: []}

    def job(p: int):
        return ("square", p * p, os.getpid())
    stream = ForkedStream(job, [0], [5, 3], lambda p: tree.get(p, []))
    _wait(stream, 6)
    results = {p: stream.take(p) for p in range(8)}
    assert stream.received == 6
    assert {p for p, r in results.items() if r is not None} == {0, 1, 2, 3, 5, 6}
    assert all(r[1] == p * p and r[2] != os.getpid() for p, r in results.items() if r)
    assert stream.take(0) is None               # taken once
    time.sleep(0.2)
    os.kill(stream.pid, 0)                      # out of positions: it waits for more seen
    stream.close()
    assert _ended(stream.pid)                   # until the parent closes the stream


def test_seen_positions_are_skipped_and_their_hints_come_first():
    tree = {0: list(range(10, 20)), 7: [30, 31]}
    stream_started = time.monotonic()

    def job(p: int):
        if p == 10:
            time.sleep(0.3)                      # the parent's message arrives meanwhile
        return p
    stream = ForkedStream(job, [0], [], lambda p: tree.get(p, []))
    stream.seen(11)
    stream.seen(7)
    _wait(stream, 12)
    got = {p for p in (0, *range(10, 20), 7, 30, 31) if stream.take(p) is not None}
    assert 11 not in got and 7 not in got       # the parent had them
    assert {30, 31} <= got and {0, 10, 12, 19} <= got
    assert time.monotonic() - stream_started < 30


def test_the_hints_of_seen_positions_come_before_the_child_s_own_guesses():
    tree = {0: [1, 2], 1: [10], 5: [20, 21], 20: [30]}

    def job(p: int):
        if p == 0:
            time.sleep(0.3)                      # the parent's message arrives meanwhile
        return time.monotonic()
    stream = ForkedStream(job, [0], [], lambda p: tree.get(p, []), size=40)
    end = time.monotonic() + 30
    while stream.computing(0) is None and time.monotonic() < end:
        time.sleep(0.01)                        # (the child is on 0 before it is told)
    stream.seen(5)                              # needed: its callees are the likeliest next
    _wait(stream, 7)
    when = {p: stream.take(p) for p in (0, 1, 2, 10, 20, 21, 30)}
    order = sorted(when, key=when.get)
    # 21 before 30, which only 20 (the child's guess, not known to be needed) calls; then
    # depth-first through its guesses
    assert order == [0, 20, 21, 30, 1, 10, 2]


def test_hints_the_parent_sends_with_seen_are_used_not_worked_out_again():
    tree = {5: [20, 21], 6: [22]}
    asked: list[int] = []

    def hints(p: int) -> list[int]:
        if os.getpid() != parent:
            with open(log, "a") as f:
                f.write(f"{p}\n")
        return tree.get(p, [])
    import tempfile
    parent = os.getpid()
    log = tempfile.mktemp()
    stream = ForkedStream(lambda p: time.sleep(0.2) or p + 100, [0], [], hints)
    stream.seen(5, [30, 31])                    # (the parent's own: not tree's)
    stream.seen(6)                              # (the child's to work out)
    _wait(stream, 4)
    got = {p for p in (0, 20, 21, 22, 30, 31) if stream.take(p) is not None}
    assert got == {0, 22, 30, 31}
    with open(log) as f:
        asked = [int(line) for line in f]
    os.unlink(log)
    assert 5 not in asked and 6 in asked


def test_take_waits_for_the_position_in_progress():
    stream = ForkedStream(lambda p: time.sleep(0.5) or p + 100, [4], [], lambda p: [])
    time.sleep(0.2)                              # the child is in the middle of it
    assert stream.take(4, wait=10) == 104


class _LateReader(ForkedStream):
    """A stream whose reader thread starts late (as when the parent's thread holds the GIL
    compiling): what the child sends sits in the pipe meanwhile."""

    def _read(self) -> None:
        time.sleep(0.6)
        super()._read()


def test_take_waits_for_what_the_child_has_claimed_before_its_messages_are_read():
    stream = _LateReader(lambda p: time.sleep(0.3) or p + 100, [4], [], lambda p: [],
                         size=10)
    end = time.monotonic() + 30
    while stream._claims[4] == 0 and time.monotonic() < end:    # the child is on it
        time.sleep(0.01)
    assert stream._current == -1                # (its start not read yet)
    assert stream.take(4, wait=10) == 104       # waited for, not computed again here


def test_what_the_parent_takes_first_the_child_skips_without_being_told():
    stream = ForkedStream(lambda p: time.sleep(0.02) or p, list(range(40)), [], lambda p: [],
                          size=40)
    assert stream.take(30) is None              # not sent yet: the parent's now (no `seen`)
    _wait(stream, 39)
    stream.close()
    assert _ended(stream.pid)
    got = {p for p in range(40) if stream.take(p) is not None}
    assert 30 not in got and got == set(range(40)) - {30} and stream.received == 39


def test_while_the_child_computes_what_take_waits_for_the_parent_works_meanwhile():
    tree = {4: [7, 8, 9]}
    stream = ForkedStream(lambda p: time.sleep(0.6) or p + 100, [4], [],
                          lambda p: tree.get(p, []), size=10)
    end = time.monotonic() + 30
    while stream.computing(4) is None and time.monotonic() < end:
        time.sleep(0.01)
    started, hints = stream.computing(4)
    assert hints == [7, 8, 9] and started <= time.monotonic()
    calls: list[float] = []

    def meanwhile(when: float, told: list[int]) -> bool:
        assert (when, told) == (started, hints)
        calls.append(time.monotonic())
        assert stream.claim(told[len(calls) - 1])    # the parent's from now on
        return len(calls) < 3
    assert stream.take(4, wait=10, meanwhile=meanwhile) == 104
    assert len(calls) == 3                      # until it said it had nothing more to do
    stream.close()
    assert _ended(stream.pid)
    assert not stream.claim(7) and stream.computing(4) is None
    assert [stream.take(p) for p in (7, 8, 9)] == [None] * 3    # the child skipped them


def test_a_failing_job_sends_nothing_for_it_and_the_child_goes_on():
    def job(p: int):
        if p == 1:
            raise ValueError("no")
        return p
    stream = ForkedStream(job, [0, 1, 2], [], lambda p: [])
    _wait(stream, 2)
    assert [stream.take(p) for p in (0, 1, 2)] == [0, None, 2]


def test_closing_ends_the_child():
    stream = ForkedStream(lambda p: time.sleep(0.05) or p, list(range(10_000)), [],
                          lambda p: [])
    stream.close()
    assert _ended(stream.pid)
    assert stream.received < 10_000


def test_the_child_stays_a_bounded_way_ahead_and_ends_when_nothing_is_seen(monkeypatch):
    from engine.compile import forked
    monkeypatch.setattr(forked, "AHEAD_LIMIT", 3)
    monkeypatch.setattr(forked, "IDLE_END", 1.0)
    stream = ForkedStream(lambda p: p, list(range(100)), [], lambda p: [])
    _wait(stream, 3)
    time.sleep(0.2)
    assert stream.received == 3                         # waits for the parent
    stream.seen(0)
    stream.seen(1)
    _wait(stream, 5)
    time.sleep(0.2)
    assert stream.received == 5
    assert _ended(stream.pid)                           # nothing seen for a second: ended
    assert stream.received == 5 and stream.take(4) == 4


def test_first_runs_before_the_stream_and_its_outcome_reaches_the_parent():
    from engine.compile.forked import ChildError
    stream = ForkedStream(lambda p: p * 10, [1, 2], [], lambda p: [],
                          first=lambda: ("checked", os.getpid()))
    what, pid = stream.first_result()
    assert what == "checked" and pid == stream.pid != os.getpid()
    _wait(stream, 2)
    assert stream.take(2) == 20

    def broken():
        raise ValueError("half invalid")
    failed = ForkedStream(lambda p: p, [1, 2], [], lambda p: [], first=broken)
    with pytest.raises(ChildError, match="half invalid"):
        failed.first_result()
    assert _ended(failed.pid) and failed.received == 0  # nothing computed after it
