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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .backoff import Backoff
from .catalog import Capacity, Encryption, GlobalIndex, Projection, TableSpec
from .diff import diff_table
from .errors import error_code
from .live import LiveTable, describe, read_table, reflect
from .plan import (
    CreateIndex,
    CreateTable,
    DeleteIndex,
    DisableStream,
    DisableTtl,
    EnableStream,
    EnableTtl,
    Plan,
    Step,
    TableChange,
    TagTable,
    UpdateBilling,
    UpdateDeletionProtection,
    UpdateEncryption,
    UpdateIndexCapacity,
    UpdatePitr,
    UpdateTableClass,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

EventKind = Literal["start", "step", "done", "wait", "retry", "ok", "failed", "blocked"]

# The table or one of its indexes is busy, or the account is at its limit of table operations:
# wait and try again rather than fail.
BUSY_CODES = frozenset({"ResourceInUseException", "LimitExceededException"})
# PITR right after CreateTable: "Backups are being enabled for the table". Retry for minutes.
PITR_NOT_READY_CODES = frozenset({"ContinuousBackupsUnavailableException"})


@dataclass(frozen=True)
class Event:
    table: str
    kind: EventKind
    message: str
    step: Step | None = None


@dataclass(frozen=True)
class WaitPolicy(Backoff):
    """The shared polling backoff, plus apply's own retry budgets."""

    busy_retries: int = 6  # after botocore's own retries; each try first waits for ACTIVE again
    pitr_retry_for: float = 600.0


@dataclass
class TableResult:
    table: str
    status: Literal["applied", "failed", "blocked", "interrupted"]
    done: list[Step] = field(default_factory=list)
    error: str | None = None
    notes: list[str] = field(default_factory=list)  # planned steps the endpoint turned out not to support


class Interrupted(Exception):
    pass


class StepFailed(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Requests: catalog models → the parameters of one DynamoDB call. Pure.


def _key_schema(partition: Any, sort: Any) -> list[dict[str, str]]:
    schema = [{"AttributeName": partition.name, "KeyType": "HASH"}]
    if sort is not None:
        schema.append({"AttributeName": sort.name, "KeyType": "RANGE"})
    return schema


def _projection(projection: Projection) -> dict[str, Any]:
    out: dict[str, Any] = {"ProjectionType": projection.type}
    if projection.attributes:
        out["NonKeyAttributes"] = list(projection.attributes)
    return out


def _throughput(capacity: Capacity, provisioned: bool) -> dict[str, Any]:
    if provisioned:
        return {
            "ProvisionedThroughput": {
                "ReadCapacityUnits": capacity.read,
                "WriteCapacityUnits": capacity.write,
            }
        }
    maxima = {}
    if capacity.max_read:
        maxima["MaxReadRequestUnits"] = capacity.max_read
    if capacity.max_write:
        maxima["MaxWriteRequestUnits"] = capacity.max_write
    return {"OnDemandThroughput": maxima} if maxima else {}


def _gsi(name: str, gsi: GlobalIndex, provisioned: bool) -> dict[str, Any]:
    return {
        "IndexName": name,
        "KeySchema": _key_schema(gsi.partition_key, gsi.sort_key),
        "Projection": _projection(gsi.projection),
        **_throughput(gsi, provisioned),
    }


def sse_specification(encryption: Encryption) -> dict[str, Any]:
    if encryption.type == "AWS_OWNED":
        return {"Enabled": False}
    spec: dict[str, Any] = {"Enabled": True, "SSEType": "KMS"}
    if encryption.kms_key:
        spec["KMSMasterKeyId"] = encryption.kms_key
    return spec


def create_table_request(spec: TableSpec) -> dict[str, Any]:
    provisioned = spec.billing.mode == "PROVISIONED"
    request: dict[str, Any] = {
        "TableName": spec.name,
        "AttributeDefinitions": [
            {"AttributeName": n, "AttributeType": t} for n, t in sorted(spec.attribute_types().items())
        ],
        "KeySchema": _key_schema(spec.partition_key, spec.sort_key),
        "BillingMode": spec.billing.mode,
        **_throughput(spec.billing, provisioned),
        "StreamSpecification": (
            {"StreamEnabled": True, "StreamViewType": spec.stream.view_type}
            if spec.stream.enabled
            else {"StreamEnabled": False}
        ),
        "SSESpecification": sse_specification(spec.encryption),
        "TableClass": spec.table_class,
        "DeletionProtectionEnabled": spec.deletion_protection,
    }
    if spec.tags:
        request["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(spec.tags.items())]
    if spec.global_indexes:
        request["GlobalSecondaryIndexes"] = [_gsi(n, g, provisioned) for n, g in spec.global_indexes.items()]
    if spec.local_indexes:
        request["LocalSecondaryIndexes"] = [
            {
                "IndexName": n,
                "KeySchema": _key_schema(spec.partition_key, lsi.sort_key),
                "Projection": _projection(lsi.projection),
            }
            for n, lsi in spec.local_indexes.items()
        ]
    return request


def step_request(table: str, arn: str, step: Step) -> tuple[str, dict[str, Any]]:
    """The DynamoDB operation (client method name) and parameters that carry out one step."""
    match step:
        case CreateTable(spec=spec):
            return "create_table", create_table_request(spec)
        case DeleteIndex(index=index):
            return "update_table", {
                "TableName": table,
                "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": index}}],
            }
        case CreateIndex(index=index, spec=gsi, attribute_types=types, provisioned=provisioned):
            return "update_table", {
                "TableName": table,
                "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in sorted(types.items())],
                "GlobalSecondaryIndexUpdates": [{"Create": _gsi(index, gsi, provisioned)}],
            }
        case UpdateIndexCapacity(index=index, after=after):
            provisioned = after.read is not None
            update = {"IndexName": index, **_throughput(after, provisioned)}
            if not provisioned and "OnDemandThroughput" not in update:
                update["OnDemandThroughput"] = {"MaxReadRequestUnits": -1, "MaxWriteRequestUnits": -1}
            return "update_table", {"TableName": table, "GlobalSecondaryIndexUpdates": [{"Update": update}]}
        case UpdateBilling(after=after, index_capacity=indexes):
            provisioned = after.mode == "PROVISIONED"
            params: dict[str, Any] = {
                "TableName": table,
                "BillingMode": after.mode,
                **_throughput(after, provisioned),
            }
            if not provisioned and "OnDemandThroughput" not in params and step.before.mode == after.mode:
                params["OnDemandThroughput"] = {"MaxReadRequestUnits": -1, "MaxWriteRequestUnits": -1}
            if indexes:
                params["GlobalSecondaryIndexUpdates"] = [
                    {"Update": {"IndexName": n, **_throughput(c, provisioned)}} for n, c in indexes.items()
                ]
            return "update_table", params
        case UpdateTableClass(after=after):
            return "update_table", {"TableName": table, "TableClass": after}
        case UpdateDeletionProtection(after=after):
            return "update_table", {"TableName": table, "DeletionProtectionEnabled": after}
        case DisableStream():
            return "update_table", {"TableName": table, "StreamSpecification": {"StreamEnabled": False}}
        case EnableStream(view_type=view_type):
            return "update_table", {
                "TableName": table,
                "StreamSpecification": {"StreamEnabled": True, "StreamViewType": view_type},
            }
        case UpdateEncryption(after=after):
            return "update_table", {"TableName": table, "SSESpecification": sse_specification(after)}
        case DisableTtl(attribute=attribute):
            return "update_time_to_live", {
                "TableName": table,
                "TimeToLiveSpecification": {"Enabled": False, "AttributeName": attribute},
            }
        case EnableTtl(attribute=attribute):
            return "update_time_to_live", {
                "TableName": table,
                "TimeToLiveSpecification": {"Enabled": True, "AttributeName": attribute},
            }
        case UpdatePitr(after=after):
            pitr: dict[str, Any] = {"PointInTimeRecoveryEnabled": after.enabled}
            if after.enabled:
                pitr["RecoveryPeriodInDays"] = after.recovery_period_days
            return "update_continuous_backups", {"TableName": table, "PointInTimeRecoverySpecification": pitr}
        case TagTable(tags=tags):
            return "tag_resource", {
                "ResourceArn": arn,
                "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())],
            }
    raise AssertionError(f"no request for step {step!r}")  # pragma: no cover


# ---------------------------------------------------------------------------------------------


class Executor:
    def __init__(
        self,
        client: DynamoDBClient,
        specs: dict[str, TableSpec],
        on_event: Callable[[Event], None] = lambda e: None,
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

    def run(self, plan: Plan) -> list[TableResult]:
        """Apply every table's change, `parallelism` tables at a time. Ctrl-C stops between calls."""
        work = [c for c in plan.tables if c.action != "none"]
        results: dict[str, TableResult] = {}
        pool = ThreadPoolExecutor(max_workers=self.parallelism, thread_name_prefix="apply")
        futures: dict[Future[TableResult], str] = {pool.submit(self._table, c): c.table for c in work}
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
                    future.result() if finished_cleanly else TableResult(name, "interrupted", error="interrupted")
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
        self.on_event(Event(table, kind, message, step))

    def _sleep(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise Interrupted()

    def _table(self, change: TableChange) -> TableResult:
        name = change.table
        if change.action == "blocked":
            self._emit(name, "blocked", "; ".join(change.blocked))
            return TableResult(name, "blocked", error="; ".join(change.blocked))
        result = TableResult(name, "applied")
        try:
            self._converge(change, self.specs[name], result)
        except Interrupted:
            result.status, result.error = "interrupted", "interrupted: run apply again to finish"
            self._emit(name, "failed", result.error)
        except Exception as exc:  # one table's failure never stops the others
            from .aws import translate

            translated = translate(exc)
            result.status, result.error = "failed", str(translated or exc)
            self._emit(name, "failed", result.error)
        return result

    def _converge(self, change: TableChange, spec: TableSpec, result: TableResult) -> None:
        from .render import describe_step

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
                    f"live state changed since the plan: the table now needs '{describe_step(step)}', which "
                    "the confirmed plan did not include; run plan again"
                )
            self._emit(name, "step", describe_step(step), step)
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
                        f"{describe_step(step)}: DynamoDB allows one TTL change per table per hour; "
                        "run apply again in an hour"
                    ) from exc
                raise
            busy = 0
            remaining.remove(intent)
            result.done.append(step)
            self._emit(name, "done", describe_step(step), step)

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
    def __init__(self, results: list[TableResult]) -> None:
        super().__init__("interrupted")
        self.results = results
