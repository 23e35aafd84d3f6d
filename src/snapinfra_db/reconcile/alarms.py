"""CloudWatch alarms from the catalog's `alarms` block: what a table wants, what CloudWatch reports, the diff.

Pure: no AWS SDK, no I/O, no printing (reconcile.alarms_live makes the calls). The same models hold
what the catalog wants (`desired_alarms`) and what DescribeAlarms reports (`reflect_alarm`), normalised
alike, so that an applied catalog plans to no alarm changes.

Every alarm is named `<table>[.<index>]-<alarm>` and carries two tags, `ManagedBy=snapinfra-db` and
`Table=<table>`: only an alarm with both is this tool's, and only this tool's alarms are ever updated or
deleted. An alarm with a catalog alarm's name and without them is a conflict, left alone.

What each kind watches (namespace AWS/DynamoDB; alarm when ≥ threshold, missing data not breaching):

- throttled_requests, on the table and on each GSI: ReadThrottleEvents + WriteThrottleEvents (+ for a
  GSI OnlineIndexThrottleEvents, its backfill's), summed per period by metric math (`FILL(m, 0)`, so a
  metric without data counts 0). ThrottledRequests itself is reported per Operation only (dimensions
  TableName + Operation): an alarm on TableName alone would never see data.
- system_errors, on the table: SystemErrors is per Operation too, so one Metrics Insights query sums
  every operation: SELECT SUM(SystemErrors) FROM SCHEMA("AWS/DynamoDB", Operation, TableName) WHERE ...
  (GSIs have no SystemErrors of their own).
- consumed_capacity_percent, on a PROVISIONED table and its GSIs: Consumed{Read,Write}CapacityUnits,
  Sum per period, against threshold % × the catalog's provisioned units × period (one alarm each for
  read and write). The catalog is what provisions the capacity, so the threshold follows it; an
  on-demand table has no provisioned capacity and gets none of these.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from snapinfra_db.catalog.models import ALARM_SUFFIXES, AlarmRule, TableSpec

NAMESPACE = "AWS/DynamoDB"
MANAGED_BY = ("ManagedBy", "snapinfra-db")
TABLE_TAG = "Table"
COMPARISON = "GreaterThanOrEqualToThreshold"
MISSING_DATA = "notBreaching"
STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")
SUFFIXES: tuple[str, ...] = tuple(s for group in ALARM_SUFFIXES.values() for s in group)

Dimensions = tuple[tuple[str, str], ...]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MetricQuery(_Frozen):
    """One entry of a metric-math or Metrics Insights alarm's `Metrics`: a metric, or an expression."""

    id: str
    expression: str | None = None
    label: str | None = None
    return_data: bool = True
    period: int | None = None  # a Metrics Insights query's own period
    namespace: str | None = None  # MetricStat
    metric_name: str | None = None
    dimensions: Dimensions = ()
    stat: str | None = None
    stat_period: int | None = None
    unit: str | None = None


class AlarmConfig(_Frozen):
    """What PutMetricAlarm sets and DescribeAlarms reports, normalised (absent lists are empty, dimensions
    and actions sorted): the part of an alarm that is compared."""

    description: str | None = None
    namespace: str | None = None  # a single-metric alarm; None with `metrics`
    metric_name: str | None = None
    dimensions: Dimensions = ()
    statistic: str | None = None
    extended_statistic: str | None = None
    period: int | None = None
    unit: str | None = None
    metrics: tuple[MetricQuery, ...] = ()
    evaluation_periods: int
    datapoints_to_alarm: int | None = None
    threshold: float
    comparison_operator: str
    treat_missing_data: str | None = None
    actions_enabled: bool = True
    alarm_actions: tuple[str, ...] = ()
    ok_actions: tuple[str, ...] = ()
    insufficient_data_actions: tuple[str, ...] = ()


class DesiredAlarm(_Frozen):
    """An alarm the catalog wants."""

    name: str
    table: str
    index: str | None = None
    kind: str  # the catalog's key: throttled_requests, system_errors, consumed_capacity_percent
    what: str  # in words, for the plan: "ReadThrottleEvents + WriteThrottleEvents ≥ 1 ..."
    config: AlarmConfig


class LiveAlarm(_Frozen):
    """A metric alarm as CloudWatch reports it, named like one of the catalog's."""

    name: str
    arn: str
    config: AlarmConfig
    state: str  # OK, ALARM, INSUFFICIENT_DATA
    state_reason: str | None = None
    owner: str | None = None  # the table whose alarm this tool made it (its tags), None: not this tool's


class AlarmsRead(_Frozen):
    """What was read (reconcile.alarms_live.read_alarms): the alarms named like the catalog's; None when the
    endpoint has no CloudWatch (`reason`: what it answered)."""

    alarms: tuple[LiveAlarm, ...] | None
    reason: str | None = None


# -- what the catalog wants ---------------------------------------------------------------------


def alarm_name(table: str, index: str | None, suffix: str) -> str:
    return f"{table}{'.' + index if index else ''}-{suffix}"


def _number(value: float) -> str:
    return f"{value:g}" if value != int(value) or abs(value) >= 1e15 else str(int(value))


def _rule_words(rule: AlarmRule, threshold: float | None = None) -> str:
    periods = f"{rule.evaluation_periods} period{'s' if rule.evaluation_periods > 1 else ''}"
    return f"≥ {_number(rule.threshold if threshold is None else threshold)} per {rule.period} s, {periods}"


def _metric(qid: str, name: str, dimensions: Dimensions, period: int) -> MetricQuery:
    return MetricQuery(
        id=qid,
        return_data=False,
        namespace=NAMESPACE,
        metric_name=name,
        dimensions=dimensions,
        stat="Sum",
        stat_period=period,
    )


def _config(description: str, rule: AlarmRule, actions: tuple[str, ...], **metric: Any) -> AlarmConfig:
    return AlarmConfig(
        description=description,
        evaluation_periods=rule.evaluation_periods,
        comparison_operator=COMPARISON,
        treat_missing_data=MISSING_DATA,
        alarm_actions=tuple(sorted(actions)),
        **{"threshold": float(rule.threshold), **metric},
    )


def _description(what: str, target: str) -> str:
    return f"{what} on {target}. Managed by snapinfra-db from its catalog: apply reverts changes made by hand."


def _throttles(table: str, index: str | None, rule: AlarmRule, actions: tuple[str, ...]) -> DesiredAlarm:
    dims: Dimensions = (("TableName", table),)
    names = ["ReadThrottleEvents", "WriteThrottleEvents"]
    if index is not None:
        dims = (("GlobalSecondaryIndexName", index), ("TableName", table))
        names.append("OnlineIndexThrottleEvents")
    ids = ["r", "w", "o"][: len(names)]
    label = " + ".join(names)
    queries = [_metric(i, n, dims, rule.period) for i, n in zip(ids, names, strict=True)]
    queries.append(MetricQuery(id="e", expression=" + ".join(f"FILL({i}, 0)" for i in ids), label=label))
    target = f"index {index} of {table}" if index else f"table {table}"
    return DesiredAlarm(
        name=alarm_name(table, index, "throttled-requests"),
        table=table,
        index=index,
        kind="throttled_requests",
        what=f"{label} {_rule_words(rule)}",
        config=_config(_description(f"Throttled requests ({label})", target), rule, actions, metrics=tuple(queries)),
    )


def _system_errors(table: str, rule: AlarmRule, actions: tuple[str, ...]) -> DesiredAlarm:
    query = f"SELECT SUM(SystemErrors) FROM SCHEMA(\"{NAMESPACE}\", Operation, TableName) WHERE TableName = '{table}'"
    metrics = (MetricQuery(id="q", expression=query, label="SystemErrors", period=rule.period),)
    return DesiredAlarm(
        name=alarm_name(table, None, "system-errors"),
        table=table,
        kind="system_errors",
        what=f"SystemErrors (every operation) {_rule_words(rule)}",
        config=_config(_description("System errors (HTTP 500)", f"table {table}"), rule, actions, metrics=metrics),
    )


def _capacity(
    table: str, index: str | None, rule: AlarmRule, actions: tuple[str, ...], side: Literal["read", "write"], units: int
) -> DesiredAlarm:
    metric = f"Consumed{side.capitalize()}CapacityUnits"
    # Consumed units are summed per period; the provisioned ones are per second.
    threshold = round(rule.threshold / 100 * units * rule.period, 6)
    dims: Dimensions = (("TableName", table),)
    if index is not None:
        dims = (("GlobalSecondaryIndexName", index), ("TableName", table))
    unit_name = "RCU" if side == "read" else "WCU"
    share = f"{_number(rule.threshold)}% of {units} {unit_name}"
    target = f"index {index} of {table}" if index else f"table {table}"
    return DesiredAlarm(
        name=alarm_name(table, index, f"consumed-{side}-capacity-percent"),
        table=table,
        index=index,
        kind="consumed_capacity_percent",
        what=f"{metric} {_rule_words(rule, threshold)} ({share})",
        config=_config(
            _description(f"Consumed {side} capacity at {share}", target),
            rule,
            actions,
            namespace=NAMESPACE,
            metric_name=metric,
            dimensions=dims,
            statistic="Sum",
            period=rule.period,
            threshold=threshold,
        ),
    )


def desired_alarms(spec: TableSpec) -> tuple[DesiredAlarm, ...]:
    """The alarms `spec`'s `alarms` block asks for, on the table and on each of its GSIs, in a stable order."""
    alarms = spec.alarms
    if alarms is None:
        return ()
    actions = alarms.actions
    found: list[DesiredAlarm] = []
    targets: list[str | None] = [None, *spec.global_indexes]
    provisioned = spec.billing.mode == "PROVISIONED"
    for kind, rule in alarms.kinds().items():
        for index in targets:
            if kind == "throttled_requests":
                found.append(_throttles(spec.name, index, rule, actions))
            elif kind == "system_errors" and index is None:
                found.append(_system_errors(spec.name, rule, actions))
            elif kind == "consumed_capacity_percent" and provisioned:
                capacity = spec.billing if index is None else spec.global_indexes[index]
                for side, units in (("read", capacity.read), ("write", capacity.write)):
                    if units:
                        found.append(_capacity(spec.name, index, rule, actions, side, units))  # type: ignore[arg-type]
    return tuple(sorted(found, key=lambda a: a.name))


def desired_for(specs: Iterable[TableSpec]) -> tuple[DesiredAlarm, ...]:
    return tuple(a for spec in specs for a in desired_alarms(spec))


# -- what CloudWatch reports --------------------------------------------------------------------


def named_for(name: str, table: str) -> bool:
    """Whether `name` has the form of an alarm of `table`: `<table>[.<index>]-<one of SUFFIXES>`."""
    if not name.startswith(table):
        return False
    rest = name[len(table) :]
    return bool(re.fullmatch(r"(\.[A-Za-z0-9_.-]+)?-(" + "|".join(map(re.escape, SUFFIXES)) + ")", rest))


def owner_of(tags: Mapping[str, str]) -> str | None:
    """The table an alarm was made for, when this tool made it (its ManagedBy and Table tags); else None."""
    if tags.get(MANAGED_BY[0]) != MANAGED_BY[1]:
        return None
    return tags.get(TABLE_TAG) or None


def _dims(raw: Any) -> Dimensions:
    return tuple(sorted((str(d["Name"]), str(d["Value"])) for d in raw or ()))


def _query(raw: dict[str, Any]) -> MetricQuery:
    stat = raw.get("MetricStat") or {}
    metric = stat.get("Metric") or {}
    return MetricQuery(
        id=raw["Id"],
        expression=raw.get("Expression"),
        label=raw.get("Label"),
        return_data=raw.get("ReturnData", True),
        period=raw.get("Period"),
        namespace=metric.get("Namespace"),
        metric_name=metric.get("MetricName"),
        dimensions=_dims(metric.get("Dimensions")),
        stat=stat.get("Stat"),
        stat_period=stat.get("Period"),
        unit=stat.get("Unit"),
    )


def reflect_alarm(raw: dict[str, Any]) -> AlarmConfig:
    """One MetricAlarms entry of DescribeAlarms, normalised. KeyError, TypeError or ValueError (pydantic's)
    for an answer that is not one."""
    return AlarmConfig(
        description=raw.get("AlarmDescription") or None,
        namespace=raw.get("Namespace"),
        metric_name=raw.get("MetricName"),
        dimensions=_dims(raw.get("Dimensions")),
        statistic=raw.get("Statistic"),
        extended_statistic=raw.get("ExtendedStatistic"),
        period=raw.get("Period"),
        unit=raw.get("Unit"),
        metrics=tuple(_query(q) for q in raw.get("Metrics") or ()),
        evaluation_periods=raw["EvaluationPeriods"],
        datapoints_to_alarm=raw.get("DatapointsToAlarm"),
        threshold=raw.get("Threshold", 0.0),
        comparison_operator=raw["ComparisonOperator"],
        treat_missing_data=raw.get("TreatMissingData"),
        actions_enabled=raw.get("ActionsEnabled", True),
        alarm_actions=tuple(sorted(raw.get("AlarmActions") or ())),
        ok_actions=tuple(sorted(raw.get("OKActions") or ())),
        insufficient_data_actions=tuple(sorted(raw.get("InsufficientDataActions") or ())),
    )


# -- the diff -----------------------------------------------------------------------------------

FIELD_WORDS = {
    "description": "description",
    "namespace": "namespace",
    "metric_name": "metric",
    "dimensions": "dimensions",
    "statistic": "statistic",
    "extended_statistic": "extended statistic",
    "period": "period",
    "unit": "unit",
    "metrics": "metrics",
    "evaluation_periods": "evaluation periods",
    "datapoints_to_alarm": "datapoints to alarm",
    "threshold": "threshold",
    "comparison_operator": "comparison",
    "treat_missing_data": "missing data",
    "actions_enabled": "actions enabled",
    "alarm_actions": "actions",
    "ok_actions": "OK actions",
    "insufficient_data_actions": "INSUFFICIENT_DATA actions",
}


def _shown(value: Any) -> str:
    if value is None or value == ():
        return "none"
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    if isinstance(value, tuple) and all(isinstance(v, MetricQuery) for v in value):
        return "; ".join(q.expression or f"{q.metric_name} {q.stat}" for q in value)
    if isinstance(value, tuple):
        return ", ".join(f"{k}={v}" for k, v in value)
    return str(value)


def differences(live: AlarmConfig, want: AlarmConfig) -> tuple[str, ...]:
    """`threshold: 1 → 5`, one per field that differs (a threshold within rounding does not)."""
    found = []
    for field in AlarmConfig.model_fields:
        have, wanted = getattr(live, field), getattr(want, field)
        if field == "threshold" and math.isclose(have, wanted, rel_tol=1e-9, abs_tol=1e-9):
            continue
        if have != wanted:
            words = FIELD_WORDS[field]
            if field in ("description", "metrics"):
                found.append(f"{words} changed")
            else:
                found.append(f"{words}: {_shown(have)} → {_shown(wanted)}")
    return tuple(found)


Op = Literal["create", "update", "delete", "conflict"]


class AlarmChange(_Frozen):
    op: Op
    name: str
    table: str
    alarm: DesiredAlarm | None = None  # create and update: what PutMetricAlarm sets
    differences: tuple[str, ...] = ()  # update: what differs, live → catalog

    def line(self) -> tuple[str, str]:
        """(symbol, text), as a plan shows a step."""
        if self.op == "create":
            assert self.alarm is not None
            actions = self.alarm.config.alarm_actions
            return "+", f"alarm {self.name}: {self.alarm.what}" + (f" → {', '.join(actions)}" if actions else "")
        if self.op == "update":
            return "~", f"alarm {self.name}: {'; '.join(self.differences)}"
        if self.op == "delete":
            return "-", f"alarm {self.name} (made by snapinfra-db, no longer in the catalog)"
        return "!", (
            f"alarm {self.name} exists and was not made by snapinfra-db (no tags {MANAGED_BY[0]}={MANAGED_BY[1]}, "
            f"{TABLE_TAG}={self.table}): left alone; rename or delete it, or tag it so to adopt it"
        )


class AlarmPlan(_Frozen):
    """What apply would do to the catalog's alarms. `supported` False: the endpoint has no CloudWatch
    (`reason` says what it answered), and nothing is planned."""

    supported: bool = True
    reason: str | None = None
    wanted: int = 0  # alarms the catalog asks for
    changes: tuple[AlarmChange, ...] = ()
    unchanged: tuple[str, ...] = ()

    @property
    def work(self) -> tuple[AlarmChange, ...]:
        return tuple(c for c in self.changes if c.op != "conflict")

    @property
    def conflicts(self) -> tuple[AlarmChange, ...]:
        return tuple(c for c in self.changes if c.op == "conflict")

    @property
    def has_changes(self) -> bool:
        return bool(self.work)

    def summary(self) -> dict[str, int]:
        counts = {op: sum(c.op == op for c in self.changes) for op in ("create", "update", "delete", "conflict")}
        return {**counts, "unchanged": len(self.unchanged)}

    def not_supported(self) -> str:
        return f"alarms: not supported by this endpoint ({self.reason})"

    def to_json(self) -> dict[str, Any]:
        return {
            "supported": self.supported,
            "not_supported": None if self.supported else self.not_supported(),
            "changes": [c.model_dump(mode="json") for c in self.changes],
            "unchanged": list(self.unchanged),
            "summary": self.summary(),
        }


def diff_alarms(desired: Sequence[DesiredAlarm], live: Sequence[LiveAlarm], tables: Sequence[str]) -> AlarmPlan:
    """The changes that take `live` to `desired` for `tables`: create what is missing, update what differs,
    delete what this tool made for one of `tables` and the catalog no longer wants. An alarm of a wanted
    name that this tool did not make for that table is a conflict, never touched."""
    by_name = {a.name: a for a in live}
    wanted = {a.name for a in desired}
    changes: list[AlarmChange] = []
    unchanged: list[str] = []
    for alarm in desired:
        have = by_name.get(alarm.name)
        if have is None:
            changes.append(AlarmChange(op="create", name=alarm.name, table=alarm.table, alarm=alarm))
        elif have.owner != alarm.table:
            changes.append(AlarmChange(op="conflict", name=alarm.name, table=alarm.table))
        else:
            found = differences(have.config, alarm.config)
            if found:
                changes.append(
                    AlarmChange(op="update", name=alarm.name, table=alarm.table, alarm=alarm, differences=found)
                )
            else:
                unchanged.append(alarm.name)
    scope = set(tables)
    for have in live:
        if have.owner in scope and have.name not in wanted and named_for(have.name, have.owner or ""):
            changes.append(AlarmChange(op="delete", name=have.name, table=have.owner or ""))
    order = {name: i for i, name in enumerate(tables)}
    changes.sort(key=lambda c: (order.get(c.table, len(order)), c.name))
    return AlarmPlan(wanted=len(desired), changes=tuple(changes), unchanged=tuple(unchanged))


def unsupported_plan(desired: Sequence[DesiredAlarm], reason: str) -> AlarmPlan:
    return AlarmPlan(supported=False, reason=reason, wanted=len(desired))


# -- the calls apply makes ----------------------------------------------------------------------


def put_request(alarm: DesiredAlarm) -> dict[str, Any]:
    """PutMetricAlarm's parameters for `alarm` (its tags too: CloudWatch sets them on creation only)."""
    c = alarm.config
    request: dict[str, Any] = {
        "AlarmName": alarm.name,
        "AlarmDescription": c.description or "",
        "ActionsEnabled": c.actions_enabled,
        "AlarmActions": list(c.alarm_actions),
        "OKActions": list(c.ok_actions),
        "InsufficientDataActions": list(c.insufficient_data_actions),
        "EvaluationPeriods": c.evaluation_periods,
        "Threshold": c.threshold,
        "ComparisonOperator": c.comparison_operator,
        "Tags": [{"Key": MANAGED_BY[0], "Value": MANAGED_BY[1]}, {"Key": TABLE_TAG, "Value": alarm.table}],
    }
    if c.treat_missing_data is not None:
        request["TreatMissingData"] = c.treat_missing_data
    if c.datapoints_to_alarm is not None:
        request["DatapointsToAlarm"] = c.datapoints_to_alarm
    if c.metrics:
        request["Metrics"] = [_query_request(q) for q in c.metrics]
    else:
        request |= {
            "Namespace": c.namespace,
            "MetricName": c.metric_name,
            "Dimensions": [{"Name": k, "Value": v} for k, v in c.dimensions],
            "Statistic": c.statistic,
            "Period": c.period,
        }
    return request


def _query_request(q: MetricQuery) -> dict[str, Any]:
    entry: dict[str, Any] = {"Id": q.id, "ReturnData": q.return_data}
    if q.expression is not None:
        entry["Expression"] = q.expression
    if q.label is not None:
        entry["Label"] = q.label
    if q.period is not None:
        entry["Period"] = q.period
    if q.metric_name is not None:
        stat: dict[str, Any] = {
            "Metric": {
                "Namespace": q.namespace,
                "MetricName": q.metric_name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in q.dimensions],
            },
            "Period": q.stat_period,
            "Stat": q.stat,
        }
        if q.unit is not None:
            stat["Unit"] = q.unit
        entry["MetricStat"] = stat
    return entry
