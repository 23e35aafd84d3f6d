"""Writing items: BatchWriteItem with its UnprocessedItems sent again, and an adaptive pace shared by
writers. restore-export and migrate both write through here.
"""

from __future__ import annotations

import random
import threading
from typing import TYPE_CHECKING, Any

from snapinfra_db.errors import SnapinfraError
from snapinfra_db.waiting import Backoff, Clock, WaitTimeout, wait_for

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH_SIZE = 25  # BatchWriteItem's maximum
#: BatchWriteItem's UnprocessedItems (throttling, a partition at its limit) sent again, backing off.
UNPROCESSED = Backoff(first=0.05, factor=2.0, longest=5.0, timeout=300.0)


class UnprocessedItems(SnapinfraError):
    """DynamoDB kept leaving items unprocessed past UNPROCESSED's deadline."""


class Pace:
    """Adaptive backoff shared by every writer: throttling (a call botocore had to retry, or unprocessed
    items) doubles the pause before each call, up to `longest`; a clean answer shrinks it by a fifth."""

    def __init__(self, clock: Clock, longest: float = 5.0) -> None:
        self.clock = clock
        self.delay = 0.0
        self.longest = longest
        self.throttled = 0
        self._lock = threading.Lock()

    def wait(self) -> None:
        delay = self.delay
        if delay > 0:
            self.clock.sleep(delay * random.uniform(0.5, 1.0))  # jitter: writers do not come back together

    def answer(self, response: dict[str, Any], unprocessed: bool = False) -> None:
        retried = int(response.get("ResponseMetadata", {}).get("RetryAttempts", 0) or 0) > 0
        with self._lock:
            if retried or unprocessed:
                self.throttled += 1
                self.delay = min(self.longest, max(0.05, self.delay * 2))
            else:
                self.delay = 0.0 if self.delay < 0.01 else self.delay * 0.8


def has_items(client: DynamoDBClient, table: str) -> bool:
    """Whether `table` holds an item. Without a filter, Limit=1 evaluates the first item: one cheap read."""
    return int(client.scan(TableName=table, Limit=1, Select="COUNT").get("Count", 0)) > 0


def write_batch(
    client: DynamoDBClient,
    table: str,
    items: list[dict[str, Any]],
    clock: Clock | None = None,
    pace: Pace | None = None,
) -> None:
    """BatchWriteItem of up to 25 items, sending UnprocessedItems again along the UNPROCESSED curve (and,
    with `pace`, waiting its pause before each call and telling it how the call went)."""
    pending: dict[str, Any] = {table: [{"PutRequest": {"Item": item}} for item in items]}

    def send() -> bool | None:
        nonlocal pending
        if pace is not None:
            pace.wait()
        response = client.batch_write_item(RequestItems=pending)
        pending = {k: v for k, v in (response.get("UnprocessedItems") or {}).items() if v}
        if pace is not None:
            pace.answer(dict(response), unprocessed=bool(pending))
        return True if not pending else None

    try:
        wait_for(send, UNPROCESSED, what=f"{table}: unprocessed items", clock=clock)
    except WaitTimeout:
        left = sum(len(v) for v in pending.values())
        raise UnprocessedItems(f"{table}: {left} items still unprocessed after {UNPROCESSED.timeout:g}s") from None
