"""How every wait in the tool polls: from a fraction of a second, backing off, within a deadline.

DynamoDB has no SLA on how long a table, an index, a backup or a deletion takes, so apply, health,
purge and restore all poll; they share this one policy so their behaviour (and its tuning) agrees.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    first: float = 0.25
    factor: float = 1.5
    longest: float = 5.0  # something finishes at most this late; DescribeTable is cheap
    timeout: float = 3600.0  # per wait: GSI backfills on big tables take long

    def intervals(self) -> Iterator[float]:
        """first, first×factor, … capped at `longest`, forever (the caller keeps the deadline)."""
        delay = self.first
        while True:
            yield delay
            delay = min(delay * self.factor, self.longest)

    def delays(self) -> Iterator[float]:
        """The same intervals, ending when `timeout` seconds have passed since the first one was asked for."""
        deadline = time.monotonic() + self.timeout
        for delay in self.intervals():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            yield min(delay, left)
