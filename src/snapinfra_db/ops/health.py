"""Health's calls: observe every catalog table (and the account), probe them, re-check until healthy.

`observe()` reads concurrently with the same code as `plan` (reconcile.live.read_tables);
`ops.health_report.assess` judges the observation. Nothing here prints.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from snapinfra_db.catalog import Catalog, KeyAttribute, TableSpec
from snapinfra_db.ops.health_report import (
    EndpointInfo,
    HealthReport,
    Observation,
    ProbeResult,
    assess,
)
from snapinfra_db.reconcile.capabilities import not_applied
from snapinfra_db.reconcile.live import LiveTable, knows_unimplemented, read_tables
from snapinfra_db.waiting import HEALTH_RECHECK, Backoff, Clock, WaitTimeout, reading_pool, wait_for

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from snapinfra_db.aws import Aws


# ---------------------------------------------------------------------------------------------
# Probe: a read-only round trip for a key that cannot exist


def probe_value(attr_type: str | None) -> dict[str, Any]:
    """An AttributeValue of the given type that no real item uses as its key."""
    if attr_type == "N":
        # 32 significant digits, well inside DynamoDB's 38; negative and fractional, unlike any id.
        return {"N": f"-{secrets.randbelow(10**30) + 10**30}.5"}
    if attr_type == "B":
        return {"B": b"snapinfra-db-health-probe-" + uuid.uuid4().bytes}
    return {"S": f"snapinfra-db-health-probe-{uuid.uuid4()}"}


def probe_key(live: LiveTable, spec: TableSpec | None = None) -> dict[str, dict[str, Any]]:
    """A GetItem key for `live`'s own key schema (the catalog's types fill in any the endpoint dropped)."""
    catalog_types = spec.attribute_types() if spec is not None else {}

    def value(attr: KeyAttribute) -> dict[str, Any]:
        return probe_value(attr.type or catalog_types.get(attr.name, "S"))

    key = {live.partition_key.name: value(live.partition_key)}
    if live.sort_key is not None:
        key[live.sort_key.name] = value(live.sort_key)
    return key


def probe_table(
    client: DynamoDBClient,
    live: LiveTable | None,
    spec: TableSpec | None = None,
    describe_error: Callable[[BaseException], str | None] | None = None,
) -> ProbeResult:
    """One eventually consistent GetItem; its latency in milliseconds. Never writes."""
    if live is None:
        return ProbeResult(ok=False, skipped="table does not exist")
    if live.status not in ("ACTIVE", "UPDATING"):  # the only statuses a table serves reads in
        return ProbeResult(ok=False, skipped=f"table is {live.status}")
    key = probe_key(live, spec)
    start = time.perf_counter()
    try:
        response = client.get_item(TableName=live.name, Key=key, ConsistentRead=False)
    except Exception as exc:
        message = describe_error(exc) if describe_error is not None else None
        if message is None:
            raise
        return ProbeResult(ok=False, error=message)
    latency = round((time.perf_counter() - start) * 1000, 1)
    if "Item" in response:  # pragma: no cover - a random key cannot exist
        return ProbeResult(ok=True, latency_ms=latency, error="the probe key unexpectedly exists")
    return ProbeResult(ok=True, latency_ms=latency)


# ---------------------------------------------------------------------------------------------
# Calls


def _account(aws: Aws) -> tuple[str | None, str | None]:
    """(account id, note) from STS GetCallerIdentity; skipped for a custom or local endpoint."""
    if aws.options.effective_endpoint:
        return None, "skipped: an endpoint URL is set"
    from snapinfra_db.aws import translate

    try:
        return str(aws.sts.get_caller_identity()["Account"]), None
    except Exception as exc:
        translated = translate(exc)
        if translated is None:
            raise
        return None, f"STS GetCallerIdentity failed: {translated}"


def custom_endpoint_kind(client: DynamoDBClient, live: dict[str, LiveTable | None]) -> Literal["ddblocal", "custom"]:
    """What answers on an endpoint URL, decided from the endpoint itself, so that the same endpoint is
    named alike whether or not it holds tables yet.

    A table's ARN tells (DynamoDB Local's carry ":ddblocal:"); with no table, DescribeContinuousBackups
    does (asked once, unless this process already knows the answer): DynamoDB Local does not
    implement it (UnknownOperationException), where AWS and moto answer TableNotFoundException.
    Else "custom".
    """
    kinds = {t.endpoint_kind for t in live.values() if t is not None}
    if kinds:
        return "ddblocal" if "ddblocal" in kinds else "custom"
    missing = next(iter(live), "snapinfra-db-probe")
    return "ddblocal" if knows_unimplemented(client, "DescribeContinuousBackups", missing) else "custom"


def observe(aws: Aws, catalog: Catalog, parallelism: int = 10, probe: bool = False) -> Observation:
    """Read every catalog table (and the account id) concurrently, then probe the readable ones."""
    from snapinfra_db.aws import translate

    def describe_error(exc: BaseException) -> str | None:
        translated = translate(exc)
        return None if translated is None else str(translated)

    names = [t.name for t in catalog.tables]
    specs = {t.name: t for t in catalog.tables}
    client = aws.dynamodb
    checked_at = datetime.now(UTC)
    cloudwatch = aws.cloudwatch if catalog.manages_alarms else None  # built here, not by two threads at once
    with reading_pool(parallelism) as pool:
        account = pool.submit(_account, aws)
        alarms = None
        if cloudwatch is not None:
            from snapinfra_db.reconcile.alarms_live import read_alarms

            custom = aws.cloudwatch_endpoint is not None
            alarms = pool.submit(read_alarms, cloudwatch, names, parallelism, custom)
        live = read_tables(client, names, parallelism, aws.key_manager_lookup)
        probes: dict[str, ProbeResult] = {}
        if probe:
            futures = {n: pool.submit(probe_table, client, live[n], specs[n], describe_error) for n in names}
            probes = {n: f.result() for n, f in futures.items()}
        account_id, note = account.result()
    endpoint = EndpointInfo(
        region=aws.region,
        endpoint=aws.describe_endpoint(),
        kind=custom_endpoint_kind(client, live) if aws.options.effective_endpoint else "aws",
        local=aws.options.is_local,
        account_id=account_id,
        account_note=note,
    )
    return Observation(
        endpoint=endpoint,
        live=live,
        probes=probes,
        checked_at=checked_at,
        not_applied=not_applied(aws.options.effective_endpoint),
        alarms=alarms.result() if alarms is not None else None,
    )


def check(
    aws: Aws, catalog: Catalog, parallelism: int = 10, probe: bool = False, allow_transient: bool = False
) -> HealthReport:
    return assess(catalog, observe(aws, catalog, parallelism, probe), allow_transient)


def wait_until_healthy(
    run_check: Callable[[], HealthReport],
    timeout: float,
    on_wait: Callable[[HealthReport, float, float], None] | None = None,
    policy: Backoff = HEALTH_RECHECK,
    clock: Clock | None = None,
) -> tuple[HealthReport, bool]:
    """Check until healthy or `timeout` seconds have passed, backing off along `policy` between checks.

    Returns the last report and whether it is healthy: running out of time is an answer here (the
    CLI renders the last report), not an error. `on_wait(report, elapsed, delay)` is called before
    each pause.
    """
    clock = clock or Clock()
    start = clock.now()
    last: HealthReport | None = None

    def healthy() -> HealthReport | None:
        nonlocal last
        last = run_check()
        return last if last.healthy else None

    def pausing(delay: float) -> None:
        if on_wait is not None and last is not None:
            on_wait(last, clock.now() - start, delay)

    try:
        return wait_for(healthy, policy.within(timeout), what="healthy", clock=clock, on_wait=pausing), True
    except WaitTimeout:
        assert last is not None  # wait_for checks at least once
        return last, False
