"""`--timeout SECONDS`: a bound on a whole command, whatever it is doing when the time is up.

The deadline is a Ctrl-C that the clock sends: when the time is up, SIGALRM raises `TimedOut`, a
KeyboardInterrupt, in the main thread, so everything that already stops cleanly on Ctrl-C stops the
same way (apply's executor tells its workers to stop between calls, purge finishes the table it is
on, waits end at once) and nothing new is needed in those places. Only the last line differs: a
timeout is an error (exit 1, `error: timed out: ...`), not an interrupt (130).

`interrupt.timed_out` records it: a KeyboardInterrupt can be swallowed where it is raised (see
`snapinfra_db.__main__`), the record cannot.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from snapinfra_db import interrupt


class TimedOut(KeyboardInterrupt):
    """--timeout's time is up."""


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Raise TimedOut in the main thread once `seconds` have passed inside this block (None: no bound)."""
    if not seconds or not hasattr(signal, "setitimer"):  # no interval timers (Windows): no bound
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        interrupt.timed_out = seconds
        raise TimedOut

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
