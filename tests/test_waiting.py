"""waiting.py: the one poll loop (`wait_for`) and the one retry loop (`retry`) of the tool.

Time is a fake clock that moves only when slept (or when a check says it took time), so deadlines
and curves are checked exactly and at once; the interruption tests use the real Clock and a real
threading.Event, the way the executor's workers do.
"""

from __future__ import annotations

import threading
import time
from itertools import islice

import pytest

from snapinfra_db.waiting import (
    BUSY,
    STATUS,
    Backoff,
    Clock,
    Interrupted,
    WaitTimeout,
    retry,
    wait_for,
)


class FakeClock(Clock):
    """Time that passes only when slept, or when a test says a call took time (`spend`)."""

    def __init__(self, stop: threading.Event | None = None) -> None:
        super().__init__(stop)
        self.time = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += seconds

    def spend(self, seconds: float) -> None:
        self.time += seconds


class Busy(Exception):
    pass


class Broken(Exception):
    pass


def busy(exc: BaseException) -> bool:
    return isinstance(exc, Busy)


# ---------------------------------------------------------------------------------------------
# Backoff


def test_delays_grow_by_factor_up_to_longest_and_never_end() -> None:
    assert list(islice(Backoff(first=1, factor=2, longest=5).delays(), 6)) == [1, 2, 4, 5, 5, 5]
    assert list(islice(BUSY.delays(), 7)) == [0.5, 1, 2, 4, 8, 16, 20]


def test_within_changes_only_the_deadline() -> None:
    assert STATUS.within(12) == Backoff(first=STATUS.first, factor=STATUS.factor, longest=STATUS.longest, timeout=12)


# ---------------------------------------------------------------------------------------------
# wait_for


def test_wait_for_returns_the_first_answer_sleeping_along_the_curve() -> None:
    clock = FakeClock()
    answers = iter([None, None, None, "ready"])
    waits: list[float] = []
    assert (
        wait_for(
            lambda: next(answers), Backoff(first=1, factor=2, longest=3), what="x", clock=clock, on_wait=waits.append
        )
        == "ready"
    )
    assert clock.sleeps == [1, 2, 3]
    assert waits == clock.sleeps  # told before each pause, with the pause it is about to take


def test_wait_for_tells_on_wait_before_sleeping() -> None:
    order: list[str] = []

    class Recording(FakeClock):
        def sleep(self, seconds: float) -> None:
            order.append("sleep")
            super().sleep(seconds)

    answers = iter([None, None, 1])
    wait_for(
        lambda: next(answers), Backoff(first=1), what="x", clock=Recording(), on_wait=lambda d: order.append("on_wait")
    )
    assert order == ["on_wait", "sleep", "on_wait", "sleep"]


def test_wait_for_an_answer_at_once_never_sleeps() -> None:
    clock = FakeClock()
    assert wait_for(lambda: 0, STATUS, what="x", clock=clock) == 0  # falsy but not None: an answer
    assert clock.sleeps == []


def test_wait_for_cuts_the_last_sleep_to_the_deadline_then_checks_once_more() -> None:
    clock = FakeClock()
    calls: list[float] = []

    def never() -> None:
        calls.append(clock.now())

    with pytest.raises(WaitTimeout, match=r"table t ACTIVE: still waiting after 5s"):
        wait_for(never, Backoff(first=1, factor=2, longest=10, timeout=5), what="table t ACTIVE", clock=clock)
    assert clock.sleeps == [1, 2, 2]
    assert calls == [0, 1, 3, 5]  # the last check is at the deadline, not after it


@pytest.mark.parametrize("timeout", [0.0, 0.5, 3.0, 7.25, 40.0])
@pytest.mark.parametrize("check_takes", [0.0, 0.3, 2.5])
def test_wait_for_overshoots_the_deadline_by_at_most_one_check(timeout: float, check_takes: float) -> None:
    clock = FakeClock()
    curve = Backoff(first=0.5, factor=1.5, longest=4, timeout=timeout)

    def slow_never() -> None:
        clock.spend(check_takes)

    with pytest.raises(WaitTimeout):
        wait_for(slow_never, curve, what="x", clock=clock)
    assert sum(clock.sleeps) <= timeout
    assert clock.now() <= timeout + check_takes  # the only overshoot: the call that began in time
    assert all(d <= curve.longest for d in clock.sleeps)


def test_wait_for_stopped_between_calls_raises_interrupted_before_calling_again() -> None:
    stop = threading.Event()
    clock = FakeClock(stop)
    calls = 0

    def check() -> None:
        nonlocal calls
        calls += 1
        stop.set()  # Ctrl-C while the call was on the wire

    with pytest.raises(Interrupted):
        wait_for(check, STATUS, what="x", clock=clock)
    assert calls == 1


def test_wait_for_already_stopped_makes_no_call() -> None:
    stop = threading.Event()
    stop.set()
    calls: list[int] = []
    with pytest.raises(Interrupted):
        wait_for(lambda: calls.append(1), STATUS, what="x", clock=Clock(stop))
    assert calls == []


def test_wait_for_stopped_mid_sleep_raises_interrupted_at_once() -> None:
    stop = threading.Event()
    timer = threading.Timer(0.1, stop.set)
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(Interrupted):
            wait_for(lambda: None, Backoff(first=30, timeout=60), what="x", clock=Clock(stop))
    finally:
        timer.cancel()
    assert time.monotonic() - started < 5  # not the 30 s sleep


# ---------------------------------------------------------------------------------------------
# retry


def test_retry_repeats_a_retryable_error_along_the_curve() -> None:
    clock = FakeClock()
    outcomes: list[BaseException | str] = [Busy("1"), Busy("2"), "done"]
    told: list[tuple[str, float]] = []

    def call() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    result = retry(
        call,
        Backoff(first=1, factor=3, longest=10),
        retryable=busy,
        clock=clock,
        on_retry=lambda exc, delay: told.append((str(exc), delay)),
    )
    assert result == "done"
    assert clock.sleeps == [1, 3]
    assert told == [("1", 1), ("2", 3)]


def test_retry_raises_a_non_retryable_error_at_once() -> None:
    clock = FakeClock()
    calls = 0
    retried: list[float] = []

    def call() -> None:
        nonlocal calls
        calls += 1
        raise Broken("no")

    with pytest.raises(Broken, match="no"):
        retry(call, BUSY, retryable=busy, clock=clock, on_retry=lambda exc, delay: retried.append(delay))
    assert calls == 1 and clock.sleeps == [] and retried == []


def test_retry_raises_the_last_error_once_the_next_sleep_would_pass_the_deadline() -> None:
    clock = FakeClock()
    errors: list[Busy] = []

    def call() -> None:
        errors.append(Busy(str(len(errors))))
        raise errors[-1]

    with pytest.raises(Busy) as info:
        retry(call, Backoff(first=1, factor=2, longest=10, timeout=10), retryable=busy, clock=clock)
    assert clock.sleeps == [1, 2, 4]  # 1+2+4 = 7; another 8 would end at 15 > 10
    assert info.value is errors[-1] and len(errors) == 4


def test_retry_gives_up_after_tries_calls() -> None:
    clock = FakeClock()
    calls = 0

    def call() -> None:
        nonlocal calls
        calls += 1
        raise Busy()

    with pytest.raises(Busy):
        retry(call, BUSY.within(float("inf")), retryable=busy, clock=clock, tries=3)
    assert calls == 3 and clock.sleeps == [0.5, 1]


def test_retry_stopped_between_calls_raises_interrupted() -> None:
    stop = threading.Event()
    calls = 0

    def call() -> None:
        nonlocal calls
        calls += 1
        stop.set()
        raise Busy()

    with pytest.raises(Interrupted):
        retry(call, BUSY, retryable=busy, clock=FakeClock(stop))
    assert calls == 1


def test_retry_stopped_mid_sleep_raises_interrupted_at_once() -> None:
    stop = threading.Event()
    timer = threading.Timer(0.1, stop.set)
    timer.start()
    started = time.monotonic()

    def call() -> None:
        raise Busy()

    try:
        with pytest.raises(Interrupted):
            retry(call, Backoff(first=30, timeout=60), retryable=busy, clock=Clock(stop))
    finally:
        timer.cancel()
    assert time.monotonic() - started < 5


def test_real_clock_without_a_stop_event_just_sleeps() -> None:
    clock = Clock()
    started = clock.now()
    clock.sleep(0.01)
    clock.check()  # nothing to interrupt
    assert clock.now() - started >= 0.01
