"""Carry a Plan out: ordering, one index change per UpdateTable, waiting, retrying.

Level-triggered, like a Kubernetes controller: before every step the table is waited for (ACTIVE,
every index ACTIVE and filled) and read again, and the diff is recomputed. The next step is taken
from that fresh diff, and only if the confirmed plan contains it: a concurrent change never makes
apply act on stale information or do something the operator did not see. An interrupted apply
converges when run again because each run starts from what DynamoDB reports.

Progress goes out through an `on_event` callback; this module never prints.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING

from snapinfra_db.catalog import TableSpec
from snapinfra_db.errors import error_code
from snapinfra_db.reconcile.diff import diff_table
from snapinfra_db.reconcile.events import ApplyEvent, ApplyResult, EventKind
from snapinfra_db.reconcile.live import LiveTable, describe, read_table, reflect
from snapinfra_db.reconcile.plan import (
    Plan,
    Step,
    TableChange,
    UpdatePitr,
)
from snapinfra_db.reconcile.requests import step_request
from snapinfra_db.waiting import Backoff

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# The table or one of its indexes is busy, or the account is at its limit of table operations:
# wait and try again rather than fail.
BUSY_CODES = frozenset({"ResourceInUseException", "LimitExceededException"})
# PITR right after CreateTable: "Backups are being enabled for the table". Retry for minutes.
PITR_NOT_READY_CODES = frozenset({"ContinuousBackupsUnavailableException"})


@dataclass(frozen=True)
class WaitPolicy(Backoff):
    """The shared polling backoff, plus apply's own retry budgets."""

    busy_retries: int = 6  # after botocore's own retries; each try first waits for ACTIVE again
    pitr_retry_for: float = 600.0


class Interrupted(Exception):
    pass


class StepFailed(Exception):
    pass


class Executor:
    def __init__(
        self,
        client: DynamoDBClient,
        specs: dict[str, TableSpec],
        on_event: Callable[[ApplyEvent], None] = lambda e: None,
        parallelism: int = 10,
        policy: WaitPolicy = WaitPolicy(),
    ) -> None:
        self.client = client
        self.specs = specs
        self.on_event = on_event
        self.parallelism = max(1, parallelism)
        self.policy = policy
        self.stop = threading.Event()

    # -- public ------------------------------------------------------------------------------

    def run(self, plan: Plan) -> list[ApplyResult]:
        """Apply every table's change, `parallelism` tables at a time. Ctrl-C stops between calls."""
        work = [c for c in plan.tables if c.action != "none"]
        results: dict[str, ApplyResult] = {}
        pool = ThreadPoolExecutor(max_workers=self.parallelism, thread_name_prefix="apply")
        futures: dict[Future[ApplyResult], str] = {pool.submit(self._table, c): c.table for c in work}
        try:
            pending = set(futures)
            while pending:
                # A timeout keeps the main thread responsive to Ctrl-C.
                finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in finished:
                    results[futures[future]] = future.result()
        except KeyboardInterrupt:
            self.stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            for future, name in futures.items():
                if name in results:
                    continue
                finished_cleanly = future.done() and not future.cancelled() and future.exception() is None
                results[name] = (
                    future.result() if finished_cleanly else ApplyResult(name, "interrupted", error="interrupted")
                )
            raise_interrupt = True
        else:
            raise_interrupt = False
            pool.shutdown(wait=True)
        ordered = [results[c.table] for c in work]
        if raise_interrupt:
            raise ApplyInterrupted(ordered)
        return ordered

    # -- one table ------------------------------------------------------------------------------

    def _emit(self, table: str, kind: EventKind, message: str, step: Step | None = None) -> None:
        self.on_event(ApplyEvent(table, kind, message, step))

    def _sleep(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise Interrupted()

    def _table(self, change: TableChange) -> ApplyResult:
        name = change.table
        if change.action == "blocked":
            self._emit(name, "blocked", "; ".join(change.blocked))
            return ApplyResult(name, "blocked", error="; ".join(change.blocked))
        result = ApplyResult(name, "applied")
        try:
            self._converge(change, self.specs[name], result)
        except Interrupted:
            result.status, result.error = "interrupted", "interrupted: run apply again to finish"
            self._emit(name, "failed", result.error)
        except Exception as exc:  # one table's failure never stops the others
            from snapinfra_db.aws import translate

            translated = translate(exc)
            result.status, result.error = "failed", str(translated or exc)
            self._emit(name, "failed", result.error)
        return result

    def _converge(self, change: TableChange, spec: TableSpec, result: ApplyResult) -> None:
        name = change.table
        remaining = [s.intent() for s in change.steps]
        self._emit(name, "start", f"{len(change.steps)} step(s)")
        unseen_effect = 0  # re-reads that still show an already-made change (eventual consistency)
        busy = 0
        while True:
            live = self._wait_ready(name)
            fresh = diff_table(spec, live)
            if fresh.action == "blocked":
                raise StepFailed("; ".join(fresh.blocked))
            if not fresh.steps:
                if remaining:
                    # Planned before the table existed (TTL/PITR/tags on a new table): only now do we
                    # know this endpoint does not implement them.
                    result.notes = list(fresh.unsupported)
                self._emit(name, "ok", f"done ({len(result.done)} step(s))")
                return
            step = fresh.steps[0]
            intent = step.intent()
            if intent not in remaining:
                if any(intent == s.intent() for s in result.done) and unseen_effect < 20:
                    unseen_effect += 1
                    self._sleep(min(0.5 * unseen_effect, 3.0))
                    continue
                raise StepFailed(
                    f"live state changed since the plan: the table now needs '{step.describe()}', which "
                    "the confirmed plan did not include; run plan again"
                )
            self._emit(name, "step", step.describe(), step)
            try:
                self._execute(name, live, step)
            except Exception as exc:
                code = error_code(exc)
                if code in BUSY_CODES and busy < self.policy.busy_retries:
                    busy += 1
                    self._emit(name, "retry", f"{code}: waiting for the table and trying again")
                    self._sleep(min(self.policy.first * 2**busy, 20.0))
                    continue
                if code == "ValidationException" and "Time to live has been modified" in str(exc):
                    raise StepFailed(
                        f"{step.describe()}: DynamoDB allows one TTL change per table per hour; "
                        "run apply again in an hour"
                    ) from exc
                raise
            busy = 0
            remaining.remove(intent)
            result.done.append(step)
            self._emit(name, "done", step.describe(), step)

    def _execute(self, name: str, live: LiveTable | None, step: Step) -> None:
        operation, params = step_request(name, live.arn if live else "", step)
        if live is not None and live.engine == "ddblocal" and operation == "update_table":
            # DynamoDB Local resets deletion protection to off on any UpdateTable that does not
            # name it (AWS leaves it unchanged): restate the current value.
            params.setdefault("DeletionProtectionEnabled", live.deletion_protection)
        call = getattr(self.client, operation)
        if not isinstance(step, UpdatePitr):
            call(**params)
            return
        # PITR can be refused for minutes after CreateTable while backups are being enabled.
        deadline = time.monotonic() + self.policy.pitr_retry_for
        for delay in self.policy.intervals():
            try:
                call(**params)
                return
            except Exception as exc:
                if error_code(exc) not in PITR_NOT_READY_CODES or time.monotonic() > deadline:
                    raise
                self._emit(name, "retry", "backups are still being enabled for the table; retrying PITR")
                self._sleep(delay)

    def _wait_ready(self, name: str) -> LiveTable | None:
        """Poll DescribeTable (with backoff) until the table and its indexes are ACTIVE, then read it."""
        deadline = time.monotonic() + self.policy.timeout
        last_reason = ""
        for delay in self.policy.intervals():
            description = describe(self.client, name)
            if description is None:
                return None
            snapshot = reflect(description, None, None, None)
            if snapshot.ready:
                if last_reason:
                    self._emit(name, "wait", "ACTIVE")
                return read_table(self.client, name, description)  # describe once, not twice
            reason = snapshot.busy_reason()
            if reason != last_reason:
                self._emit(name, "wait", reason)
                last_reason = reason
            if time.monotonic() + delay > deadline:
                raise StepFailed(
                    f"still {reason} after {self.policy.timeout:.0f}s; DynamoDB carries on in the background: "
                    "run apply again later"
                )
            self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover


class ApplyInterrupted(Exception):
    def __init__(self, results: list[ApplyResult]) -> None:
        super().__init__("interrupted")
        self.results = results
