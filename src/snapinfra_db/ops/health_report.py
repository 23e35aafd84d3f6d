"""Health's findings: the report's types and `assess`, which judges what `ops.health` observed. Pure.

Findings are computed from the same live reading (reconcile.live) and the same diff
(reconcile.diff.diff_table) as `plan`, so health and plan can never disagree about drift. No
calls and no printing here: views (render/health.py) import this without reaching AWS.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from snapinfra_db.catalog import Catalog, Setting, TableSpec
from snapinfra_db.reconcile.alarms import AlarmsRead, desired_alarms, diff_alarms, named_for
from snapinfra_db.reconcile.diff import diff_table
from snapinfra_db.reconcile.live import LiveTable
from snapinfra_db.reconcile.plan import CreateGsi, DeleteGsi, TableChange

if TYPE_CHECKING:
    pass

FORMAT_VERSION = "1"
MISSING = "MISSING"  # the status reported for a catalog table that does not exist

# The table is on its way to ACTIVE: reported as such; --allow-transient counts it as healthy.
TRANSIENT_STATUSES = frozenset({"CREATING", "UPDATING"})
# Reported as themselves, never healthy: the table is going away or cannot be used.
STATUS_EXPLAINED = {
    "DELETING": "table is DELETING: it is being removed (never counted as healthy, even with --allow-transient)",
    "INACCESSIBLE_ENCRYPTION_CREDENTIALS": (
        "table is INACCESSIBLE_ENCRYPTION_CREDENTIALS: its KMS key is disabled or unreachable; "
        "DynamoDB archives the table after 7 days"
    ),
    "ARCHIVING": "table is ARCHIVING: its KMS key was unreachable for 7 days",
    "ARCHIVED": "table is ARCHIVED: restore it from the archive with a reachable KMS key",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


# ---------------------------------------------------------------------------------------------
# Findings


class EndpointInfo(_Frozen):
    region: str
    endpoint: str
    # "aws" (no endpoint override), "ddblocal" (AWS's DynamoDB Local), "custom" (moto, LocalStack, a proxy...)
    kind: Literal["aws", "ddblocal", "custom"]
    local: bool = False  # the endpoint is on this machine (loopback)
    account_id: str | None = None
    account_note: str | None = None  # why there is no account id


class IndexHealth(_Frozen):
    name: str
    in_catalog: bool
    present: bool
    status: str  # IndexStatus, or MISSING
    backfilling: bool = False


class DriftItem(_Frozen):
    op: str  # the plan step's op, e.g. "enable_ttl"
    symbol: str  # as in `plan`: + added by apply, - removed, ~ changed, -/+ rebuilt
    text: str  # "live → catalog", as `plan` shows it


class PitrInfo(_Frozen):
    enabled: bool
    recovery_period_days: int | None = None
    earliest_restorable: datetime | None = None


class EncryptionInfo(_Frozen):
    type: str  # AWS_OWNED or KMS
    kms_key_arn: str | None = None
    key_manager: str | None = None  # AWS or CUSTOMER, when it could be looked up


class StreamInfo(_Frozen):
    enabled: bool
    view_type: str | None = None
    arn: str | None = None


class TtlInfo(_Frozen):
    status: str  # ENABLED, ENABLING, DISABLED, DISABLING
    attribute: str | None = None


class BillingInfo(_Frozen):
    mode: str
    read: int | None = None
    write: int | None = None
    max_read: int | None = None
    max_write: int | None = None


class Settings(_Frozen):
    """What the table has, as DynamoDB reports it. None: this endpoint does not implement it (n/a)."""

    point_in_time_recovery: PitrInfo | None
    encryption: EncryptionInfo | None
    stream: StreamInfo
    ttl: TtlInfo
    deletion_protection: bool
    billing: BillingInfo
    table_class: str | None
    tags: dict[str, str] | None


class Size(_Frozen):
    # DynamoDB refreshes both figures about every six hours.
    item_count: int | None
    size_bytes: int | None
    approximate: bool = True


class ProbeResult(_Frozen):
    operation: str = "GetItem"
    ok: bool
    latency_ms: float | None = None
    error: str | None = None
    skipped: str | None = None  # why no probe was made (table missing or not readable yet)


class AlarmHealth(_Frozen):
    name: str
    state: str  # OK, ALARM, INSUFFICIENT_DATA, or MISSING (the catalog wants it; apply creates it)
    in_catalog: bool = True  # False: made by this tool, no longer wanted (apply deletes it)
    reason: str | None = None  # CloudWatch's StateReason


class TableHealth(_Frozen):
    table: str  # the DynamoDB table name
    key: str  # the catalog's name for it
    healthy: bool
    status: str  # TableStatus, or MISSING
    problems: tuple[str, ...] = ()  # what makes it unhealthy
    notices: tuple[str, ...] = ()  # reported, but not counted against it
    indexes: tuple[IndexHealth, ...] = ()
    drift: tuple[DriftItem, ...] = ()
    blocked: tuple[str, ...] = ()
    unsupported: tuple[str, ...] = ()  # settings the endpoint does not implement
    settings: Settings | None = None
    size: Size | None = None
    probe: ProbeResult | None = None
    alarms: tuple[AlarmHealth, ...] | None = None  # None: the catalog has no alarms, or the endpoint no CloudWatch

    @property
    def transient(self) -> bool:
        return self.status in TRANSIENT_STATUSES or any(
            i.present and (i.status in TRANSIENT_STATUSES or i.backfilling) for i in self.indexes
        )


class HealthReport(_Frozen):
    format_version: str = FORMAT_VERSION
    healthy: bool
    checked_at: datetime
    endpoint: EndpointInfo
    prefix: str  # the table-name prefix in use (the catalog's, or --prefix)
    allow_transient: bool
    probed: bool
    tables: tuple[TableHealth, ...]
    unsupported: tuple[str, ...] = ()  # settings this endpoint does not implement (any table)

    @property
    def unhealthy(self) -> tuple[TableHealth, ...]:
        return tuple(t for t in self.tables if not t.healthy)

    def summary(self) -> dict[str, int]:
        return {
            "tables": len(self.tables),
            "healthy": sum(t.healthy for t in self.tables),
            "unhealthy": sum(not t.healthy for t in self.tables),
            "missing": sum(t.status == MISSING for t in self.tables),
            "transient": sum(t.transient for t in self.tables),
            "drifted": sum(bool(t.drift or t.blocked) for t in self.tables),
        }

    def to_json(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data["summary"] = self.summary()
        return data


# ---------------------------------------------------------------------------------------------
# Assessment: pure


def _settings(live: LiveTable) -> Settings:
    pitr = live.point_in_time_recovery
    return Settings(
        point_in_time_recovery=None
        if pitr is None
        else PitrInfo(
            enabled=pitr.enabled,
            recovery_period_days=pitr.recovery_period_days if pitr.enabled else None,
            earliest_restorable=live.earliest_restorable if pitr.enabled else None,
        ),
        encryption=None
        if live.encryption is None
        else EncryptionInfo(
            type=live.encryption.type,
            kms_key_arn=live.encryption.kms_key_arn,
            key_manager=live.encryption.key_manager,
        ),
        stream=StreamInfo(
            enabled=live.stream.enabled,
            view_type=live.stream.view_type if live.stream.enabled else None,
            arn=live.stream_arn,
        ),
        ttl=TtlInfo(status=live.ttl_status, attribute=live.ttl),
        deletion_protection=live.deletion_protection,
        billing=BillingInfo(**live.billing.model_dump()),
        table_class=live.table_class,
        tags=live.tags,
    )


def _unsupported(live: LiveTable) -> tuple[str, ...]:
    return tuple(sorted(s.value for s in live.unsupported))


def _indexes(spec: TableSpec, live: LiveTable) -> tuple[IndexHealth, ...]:
    found: list[IndexHealth] = []
    for name in sorted(set(spec.global_indexes) | set(live.global_indexes)):
        have = live.global_indexes.get(name)
        found.append(
            IndexHealth(
                name=name,
                in_catalog=name in spec.global_indexes,
                present=have is not None,
                status=have.status if have is not None else MISSING,
                backfilling=have.backfilling if have is not None else False,
            )
        )
    return tuple(found)


def _drift(change: TableChange) -> tuple[DriftItem, ...]:
    return tuple(DriftItem(op=s.op, symbol=s.lines()[0][0], text=s.describe()) for s in change.steps)


def _reported_as_index(step: object) -> bool:
    # A plain index create/delete is the set difference that the index check reports itself
    # ("index X is missing" / "is not in the catalog"); a rebuild is drift of an existing index.
    return isinstance(step, CreateGsi | DeleteGsi) and not step.rebuild


def assess_table(
    spec: TableSpec,
    live: LiveTable | None,
    probe: ProbeResult | None = None,
    allow_transient: bool = False,
    not_applied: frozenset[Setting] = frozenset(),
) -> TableHealth:
    """One catalog table's health from its live state (None: it does not exist)."""
    if live is None:
        return TableHealth(
            table=spec.name,
            key=spec.key,
            healthy=False,
            status=MISSING,
            problems=("table does not exist",),
            probe=probe,
        )

    problems: list[str] = []
    notices: list[str] = []

    def transient(message: str) -> None:
        (notices if allow_transient else problems).append(
            message + (" (allowed by --allow-transient)" if allow_transient else "")
        )

    if live.status in TRANSIENT_STATUSES:
        transient(f"table is {live.status}")
    elif live.status != "ACTIVE":
        problems.append(STATUS_EXPLAINED.get(live.status, f"table is {live.status}"))

    indexes = _indexes(spec, live)
    for index in indexes:
        if not index.present:
            problems.append(f"index {index.name} is missing")
            continue
        if not index.in_catalog:
            problems.append(f"index {index.name} is not in the catalog ({index.status})")
            continue
        if index.status in TRANSIENT_STATUSES:
            transient(f"index {index.name} is {index.status}" + (" (backfilling)" if index.backfilling else ""))
        elif index.status != "ACTIVE":
            problems.append(f"index {index.name} is {index.status}")
        elif index.backfilling:
            transient(f"index {index.name} is backfilling")

    change = diff_table(spec, live, not_applied)
    drift = _drift(change)
    for item, step in zip(drift, change.steps, strict=True):
        if not _reported_as_index(step):
            problems.append(f"drift: {item.symbol} {item.text}")
    problems += [f"blocked: {reason}" for reason in change.blocked]

    if probe is not None and not probe.ok and probe.skipped is None:
        problems.append(f"probe failed: {probe.error}")

    return TableHealth(
        table=spec.name,
        key=spec.key,
        healthy=not problems,
        status=live.status,
        problems=tuple(problems),
        notices=tuple(notices),
        indexes=indexes,
        drift=drift,
        blocked=change.blocked,
        unsupported=_unsupported(live),
        settings=_settings(live),
        size=Size(item_count=live.item_count, size_bytes=live.size_bytes),
        probe=probe,
    )


@dataclass(frozen=True)
class Observation:
    """Everything health reads from the endpoint, before any judgement."""

    endpoint: EndpointInfo
    live: dict[str, LiveTable | None]
    probes: dict[str, ProbeResult]
    checked_at: datetime
    # Settings this endpoint is known to accept and not apply (reconcile.capabilities): not drift.
    not_applied: frozenset[Setting] = frozenset()
    alarms: AlarmsRead | None = None  # None: the catalog has no alarms (CloudWatch not read)


def assess(catalog: Catalog, observation: Observation, allow_transient: bool = False) -> HealthReport:
    tables = tuple(
        assess_table(
            spec,
            observation.live.get(spec.name),
            observation.probes.get(spec.name),
            allow_transient,
            observation.not_applied,
        )
        for spec in catalog.tables
    )
    if observation.alarms is not None:
        tables = tuple(
            _with_alarms(t, spec, observation.alarms) for t, spec in zip(tables, catalog.tables, strict=True)
        )
    unsupported = sorted({u for t in tables for u in t.unsupported})
    if (
        observation.alarms is not None
        and observation.alarms.alarms is None
        and any(desired_alarms(t) for t in catalog.tables)
    ):
        unsupported = sorted({*unsupported, "alarms"})
    return HealthReport(
        healthy=all(t.healthy for t in tables),
        checked_at=observation.checked_at,
        endpoint=_endpoint_kind(observation.endpoint, observation.live.values()),
        prefix=catalog.prefix,
        allow_transient=allow_transient,
        probed=bool(observation.probes),
        tables=tables,
        unsupported=tuple(unsupported),
    )


def _with_alarms(health: TableHealth, spec: TableSpec, read: AlarmsRead) -> TableHealth:
    """The table's alarms and their states: one in ALARM, missing, drifted, not in the catalog or not made
    by this tool is a problem; INSUFFICIENT_DATA is not (a new alarm, a metric without data)."""
    if read.alarms is None:  # the endpoint has no CloudWatch: n/a, never unhealthy
        return health
    live = [a for a in read.alarms if named_for(a.name, spec.name)]
    by_name = {a.name: a for a in live}
    plan = diff_alarms(desired_alarms(spec), live, [spec.name])
    problems: list[str] = []
    found: list[AlarmHealth] = []
    for alarm in desired_alarms(spec):
        have = by_name.get(alarm.name)
        ours = have is not None and have.owner == spec.name
        state = have.state if have is not None and ours else "MISSING"
        found.append(AlarmHealth(name=alarm.name, state=state, reason=have.state_reason if ours and have else None))
        if state == "ALARM":
            problems.append(
                f"alarm {alarm.name} is ALARM" + (f": {have.state_reason}" if have and have.state_reason else "")
            )
    for change in plan.changes:
        if change.op == "create":
            problems.append(f"alarm {change.name} does not exist (apply creates it)")
        elif change.op == "update":
            problems.append(f"alarm {change.name}: drift: {'; '.join(change.differences)}")
        elif change.op == "delete":
            problems.append(f"alarm {change.name} is not in the catalog (apply deletes it)")
            have = by_name[change.name]
            found.append(AlarmHealth(name=change.name, state=have.state, in_catalog=False, reason=have.state_reason))
        else:
            problems.append(f"alarm {change.name} exists and was not made by snapinfra-db")
    return health.model_copy(
        update={
            "alarms": tuple(found),
            "problems": (*health.problems, *problems),
            "healthy": health.healthy and not problems,
        }
    )


def _endpoint_kind(endpoint: EndpointInfo, live: Iterable[LiveTable | None]) -> EndpointInfo:
    """A "custom" endpoint whose tables say DynamoDB Local is DynamoDB Local. `observe` already decides
    from the endpoint itself (ops.health.custom_endpoint_kind), so a "ddblocal" it found stays one."""
    if endpoint.kind != "custom":
        return endpoint
    ddblocal = any(t is not None and t.endpoint_kind == "ddblocal" for t in live)
    return endpoint.model_copy(update={"kind": "ddblocal" if ddblocal else "custom"})
