"""CloudWatch's side of the catalog's alarms: read them (DescribeAlarms, ListTagsForResource), plan, apply
(PutMetricAlarm, DeleteAlarms). The words and the diff are reconcile.alarms'; nothing here prints.

An endpoint without CloudWatch (DynamoDB Local answers `InvalidAction` to the CloudWatch protocol) is
told once, by the first call: the alarms are then "not supported by this endpoint", never a failure.
Against AWS itself every error is one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from snapinfra_db.catalog import Catalog
from snapinfra_db.errors import DynamoDBError, SnapinfraError, error_code
from snapinfra_db.reconcile.alarms import (
    AlarmChange,
    AlarmPlan,
    AlarmsRead,
    LiveAlarm,
    desired_for,
    diff_alarms,
    named_for,
    owner_of,
    put_request,
    reflect_alarm,
    unsupported_plan,
)
from snapinfra_db.waiting import reading_pool

# What an endpoint that does not implement CloudWatch answers (DynamoDB Local: InvalidAction, HTTP 400).
UNSUPPORTED_CODES = frozenset(
    {"InvalidAction", "UnknownOperationException", "UnknownOperation", "NotImplemented", "404", "501"}
)
DELETE_BATCH = 100  # DeleteAlarms takes at most 100 names


class AlarmsUnsupported(SnapinfraError):
    """The endpoint has no CloudWatch."""


class MalformedAlarms(DynamoDBError):
    """CloudWatch answered with something that is not a CloudWatch answer."""


def _unsupported(exc: BaseException, operation: str, custom_endpoint: bool) -> AlarmsUnsupported | None:
    if not custom_endpoint:
        return None
    code = error_code(exc)
    status = str((getattr(exc, "response", None) or {}).get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    if code in UNSUPPORTED_CODES or status in ("404", "501"):
        return AlarmsUnsupported(f"{operation} answered {code or 'HTTP ' + status}")
    return None


def _call(operation: str, custom_endpoint: bool, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except Exception as exc:
        unsupported = _unsupported(exc, operation, custom_endpoint)
        if unsupported is not None:
            raise unsupported from None
        raise


def _describe(cloudwatch: Any, prefix: str, custom_endpoint: bool) -> list[dict[str, Any]]:
    """Every metric alarm whose name begins with `prefix` (every page)."""
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"AlarmNamePrefix": prefix, "AlarmTypes": ["MetricAlarm"], "MaxRecords": 100}
    while True:
        page = _call("DescribeAlarms", custom_endpoint, lambda: cloudwatch.describe_alarms(**kwargs))
        alarms = page.get("MetricAlarms") if isinstance(page, dict) else None
        if not isinstance(alarms, list):
            raise MalformedAlarms("CloudWatch answered DescribeAlarms with something that is not a list of alarms")
        found.extend(alarms)
        token = page.get("NextToken")
        if not token:
            return found
        kwargs["NextToken"] = token


def _tags(cloudwatch: Any, arn: str, custom_endpoint: bool) -> dict[str, str]:
    answer = _call("ListTagsForResource", custom_endpoint, lambda: cloudwatch.list_tags_for_resource(ResourceARN=arn))
    try:
        return {str(t["Key"]): str(t.get("Value", "")) for t in answer.get("Tags") or ()}
    except (AttributeError, KeyError, TypeError):
        raise MalformedAlarms(
            "CloudWatch answered ListTagsForResource with something that is not a list of tags"
        ) from None


def read_alarms(
    cloudwatch: Any, tables: Sequence[str], parallelism: int = 10, custom_endpoint: bool = False
) -> AlarmsRead:
    """The metric alarms named `<table>[.<index>]-<alarm>` for `tables` (DescribeAlarms with each table's name as
    the prefix, concurrently), each with its owner from its tags (ListTagsForResource, concurrently)."""
    if not tables:
        return AlarmsRead(alarms=())
    try:
        with reading_pool(min(len(tables), parallelism)) as pool:
            pages = {t: pool.submit(_describe, cloudwatch, t, custom_endpoint) for t in tables}
            raw: dict[str, dict[str, Any]] = {}
            for table, future in pages.items():
                for alarm in future.result():
                    name = alarm.get("AlarmName") if isinstance(alarm, dict) else None
                    if isinstance(name, str) and named_for(name, table):
                        raw.setdefault(name, alarm)
        with reading_pool(min(max(len(raw), 1), parallelism)) as pool:
            tags = {
                n: pool.submit(_tags, cloudwatch, str(a.get("AlarmArn", "")), custom_endpoint) for n, a in raw.items()
            }
            owners = {n: owner_of(f.result()) for n, f in tags.items()}
    except AlarmsUnsupported as exc:
        return AlarmsRead(alarms=None, reason=str(exc))
    alarms = []
    for name, alarm in sorted(raw.items()):
        try:
            alarms.append(
                LiveAlarm(
                    name=name,
                    arn=str(alarm["AlarmArn"]),
                    config=reflect_alarm(alarm),
                    state=str(alarm.get("StateValue", "INSUFFICIENT_DATA")),
                    state_reason=alarm.get("StateReason"),
                    owner=owners[name],
                )
            )
        except (KeyError, TypeError, ValueError):  # ValueError: pydantic's too
            raise MalformedAlarms(f"CloudWatch answered DescribeAlarms with an alarm it cannot be: {name}") from None
    return AlarmsRead(alarms=tuple(alarms))


def plan_alarms(cloudwatch: Any, catalog: Catalog, parallelism: int = 10, custom_endpoint: bool = False) -> AlarmPlan:
    """The alarm plan for the catalog's tables (the ones --table chose)."""
    desired = desired_for(catalog.tables)
    tables = [t.name for t in catalog.tables]
    read = read_alarms(cloudwatch, tables, parallelism, custom_endpoint)
    if read.alarms is None:
        return unsupported_plan(desired, read.reason or "no CloudWatch")
    return diff_alarms(desired, read.alarms, tables)


@dataclass(frozen=True)
class AlarmResult:
    change: AlarmChange
    error: str | None = None  # None: done

    @property
    def ok(self) -> bool:
        return self.error is None


def apply_alarm_changes(
    cloudwatch: Any,
    changes: Sequence[AlarmChange],
    describe_error: Callable[[BaseException], str],
    on_result: Callable[[AlarmResult], None] | None = None,
) -> list[AlarmResult]:
    """PutMetricAlarm for each create and update, one after another (CloudWatch allows a few a second;
    its throttling is retried by the client), then DeleteAlarms in batches. A failure stays with its alarm."""
    results: list[AlarmResult] = []

    def done(result: AlarmResult) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)

    for change in changes:
        if change.op in ("create", "update") and change.alarm is not None:
            try:
                cloudwatch.put_metric_alarm(**put_request(change.alarm))
            except Exception as exc:
                done(AlarmResult(change, describe_error(exc)))
                continue
            done(AlarmResult(change))
    deletes = [c for c in changes if c.op == "delete"]
    for start in range(0, len(deletes), DELETE_BATCH):
        batch = deletes[start : start + DELETE_BATCH]
        try:
            cloudwatch.delete_alarms(AlarmNames=[c.name for c in batch])
        except Exception as exc:
            message = describe_error(exc)
            for change in batch:
                done(AlarmResult(change, message))
            continue
        for change in batch:
            done(AlarmResult(change))
    return results
