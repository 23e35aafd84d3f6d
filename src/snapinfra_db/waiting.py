"""Every wait and every retry of the tool: one poll loop, one retry loop, and the curves they follow.

DynamoDB has no SLA on how long a table, an index, a backup or a deletion takes, so apply, health,
purge, restore and the local engines all poll. They share `wait_for` (poll a check until it answers)
and `retry` (repeat a call DynamoDB refused for a passing reason), so that every wait can be
interrupted the same way (a `threading.Event` set by Ctrl-C handling) and each purpose has one
named curve (`Backoff`) whose tuning is in one place. Like botocore's waiters, a wait is data (a
check, a curve, a deadline), not a new loop.

`reading_pool` is how concurrent reads end: a stopped command does not wait for their answers.

Nothing here knows DynamoDB: `retry` takes a function that says whether an error is worth retrying.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """Delays of `first`, `first`×`factor`, … capped at `longest`; a wait gives up after `timeout` s."""

    first: float = 0.25
    factor: float = 1.5
    longest: float = 5.0  # something finishes at most this late; DescribeTable is cheap
    timeout: float = 3600.0  # per wait: GSI backfills on big tables take long

    def delays(self) -> Iterator[float]:
        """The delays between tries, forever (`wait_for` and `retry` keep the deadline)."""
        delay = self.first
        while True:
            yield delay
            delay = min(delay * self.factor, self.longest)

    def within(self, timeout: float) -> Backoff:
        """The same curve with another deadline."""
        return replace(self, timeout=timeout)


# The curves, one per purpose.
#: A table, an index, a backup or a deletion reaching the state waited for (DescribeTable is cheap).
# Each delay is about a tenth of the time waited so far (factor 1.1), so a wait ends at most ~10 %
# plus one poll after DynamoDB's own transition, up to the 5 s cap (an hour-long backfill: <= 5 s late).
STATUS = Backoff(first=0.2, factor=1.1, longest=5.0)
#: A call refused because the table is busy or the account is at its limit of table operations.
BUSY = Backoff(first=0.5, factor=2.0, longest=20.0, timeout=600.0)
#: PITR right after CreateTable: "Backups are being enabled for the table", for minutes.
PITR_NOT_READY = Backoff(first=1.0, factor=1.5, longest=10.0, timeout=600.0)
#: An effect of a call that succeeded not yet visible on a re-read (eventual consistency).
EFFECT_VISIBLE = Backoff(first=0.5, factor=1.5, longest=2.0, timeout=10.0)
#: A local server process starting to answer (a JVM answers within a second or two: poll briskly).
PROCESS_START = Backoff(first=0.05, factor=1.5, longest=0.5, timeout=60.0)
#: A local server process exiting after SIGTERM (waitpid is free: a steady tenth of a second).
PROCESS_EXIT = Backoff(first=0.1, factor=1.0, longest=0.1, timeout=15.0)
#: A whole health check repeated until healthy (`health --wait`).
HEALTH_RECHECK = Backoff(first=1.0, factor=1.5, longest=5.0)


class Interrupted(Exception):
    """The wait was stopped from outside (Ctrl-C): nothing more is done."""


class WaitTimeout(Exception):
    """The deadline passed; the message says what was waited for and for how long."""


class Clock:
    """Time and sleep for waits; `stop`, when set, interrupts any sleep at once. Tests pass their own."""

    def __init__(self, stop: threading.Event | None = None) -> None:
        self.stop = stop

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if self.stop is None:
            time.sleep(seconds)
        elif self.stop.wait(seconds):
            raise Interrupted()
        if self.stop is not None and self.stop.is_set():
            raise Interrupted()

    def check(self) -> None:
        """Raise Interrupted if a stop was asked for: between calls, not only while sleeping."""
        if self.stop is not None and self.stop.is_set():
            raise Interrupted()


def wait_for(
    check: Callable[[], T | None],
    curve: Backoff,
    *,
    what: str,
    clock: Clock | None = None,
    on_wait: Callable[[float], None] | None = None,
) -> T:
    """Call `check` until it returns something other than None, and return that.

    Between calls, sleep along `curve` (`on_wait(delay)` is told first). After `curve.timeout`
    seconds, raise WaitTimeout naming `what`. The last sleep is cut to the deadline, so a wait
    never overshoots it by more than one call.
    """
    clock = clock or Clock()
    deadline = clock.now() + curve.timeout
    for delay in curve.delays():
        clock.check()
        answer = check()
        if answer is not None:
            return answer
        left = deadline - clock.now()
        if left <= 0:
            raise WaitTimeout(f"{what}: still waiting after {curve.timeout:g}s")
        delay = min(delay, left)
        if on_wait is not None:
            on_wait(delay)
        clock.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover - delays() never ends


def retry(
    call: Callable[[], T],
    curve: Backoff,
    *,
    retryable: Callable[[BaseException], bool],
    clock: Clock | None = None,
    on_retry: Callable[[BaseException, float], None] | None = None,
    tries: int | None = None,
) -> T:
    """Call `call`; while it raises an error `retryable` accepts, sleep along `curve` and call again.

    Once `curve.timeout` seconds have passed, or `call` was called `tries` times (None: no limit),
    the last error is raised as it is. `on_retry(error, delay)` is told before each sleep.
    """
    clock = clock or Clock()
    deadline = clock.now() + curve.timeout
    for attempt, delay in enumerate(curve.delays(), start=1):
        clock.check()
        try:
            return call()
        except Exception as exc:
            out_of_tries = tries is not None and attempt >= tries
            if not retryable(exc) or out_of_tries or clock.now() + delay > deadline:
                raise
            if on_retry is not None:
                on_retry(exc, delay)
        clock.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover - delays() never ends


@contextmanager
def reading_pool(workers: int) -> Iterator[ThreadPoolExecutor]:
    """A thread pool for reads. Left through an exception (Ctrl-C, --timeout, a failure), it cancels the
    calls still queued and does not wait for those in flight: their answers are no longer wanted,
    and an endpoint that fell silent would hold the command for a call's whole silence budget.

    Work that changes something keeps ThreadPoolExecutor's own wait: its outcome is reported.
    """
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="read")
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
