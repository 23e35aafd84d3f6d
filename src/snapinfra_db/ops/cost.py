"""`cost`: each catalog table's monthly cost, estimated from what is live and what CloudWatch saw.

The arithmetic (`estimate_table`) is pure: a described table, its sizes, the region's prices and the
usage CloudWatch reported go in, dollars per month come out. The reads (`estimate_costs`) are one
DescribeTable per table (concurrently, handed on to `read_tables`, which adds PITR and the rest) and
one CloudWatch GetMetricData call with every query in it. Nothing here prints.

What a month is and what is counted:
- a month is 30 days (720 hours); usage over the last `days` days is scaled by 30 / days;
- storage: DescribeTable's TableSizeBytes and every GSI's IndexSizeBytes (updated by DynamoDB about
  every six hours), plus the 100 bytes per item DynamoDB bills for indexing, at the table class's price
  per GB-month (1 GB = 2^30 bytes);
- PITR: the table's own size (without GSIs) at the PITR price, when PITR is on: an approximation, as
  AWS bills the size of the table each day;
- on-demand tables: ConsumedReadCapacityUnits and ConsumedWriteCapacityUnits (Sum, per day) of the
  table and of each GSI (an index's writes are billed as the table's are);
- provisioned tables: the capacity the table and its GSIs have now, for every hour of the month (what
  auto scaling changes over the month is not followed);
- streams: every GetRecords call on the table's current stream (SuccessfulRequestLatency's
  SampleCount, dimensions TableName, Operation and StreamLabel) as one streams read request unit.
  GetRecords calls made by Lambda triggers are free, so this is an upper bound;
- not counted: free tiers (per account and region, not per table), backups, restores, exports, global
  table replication, DAX, data transfer, reserved capacity and savings plans.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from snapinfra_db.errors import SnapinfraError
from snapinfra_db.ops.prices import PriceTable, RegionPrices, TableClass
from snapinfra_db.reconcile.live import LiveTable, describe, read_tables
from snapinfra_db.waiting import reading_pool

if TYPE_CHECKING:
    from snapinfra_db.aws import Aws
    from snapinfra_db.catalog import Catalog

MONTH_DAYS = 30
MONTH_HOURS = 24 * MONTH_DAYS
GIB = 2**30
ITEM_OVERHEAD_BYTES = 100  # what DynamoDB adds to each item's size when it bills storage
DAY_SECONDS = 86_400
# GetMetricData takes at most 500 queries a call; 12 tables with their indexes need about 100.
QUERIES_PER_CALL = 500
NAMESPACE = "AWS/DynamoDB"
TABLE_CLASSES: tuple[TableClass, ...] = ("STANDARD", "STANDARD_INFREQUENT_ACCESS")

Kind = Literal["read", "write", "stream"]


# ---------------------------------------------------------------------------------------------
# Pure: sizes, usage, prices -> dollars


@dataclass(frozen=True)
class Sizes:
    """What storage is billed on, in bytes (DynamoDB's 100 bytes per item included)."""

    table_bytes: int = 0
    index_bytes: int = 0

    @property
    def total_bytes(self) -> int:
        return self.table_bytes + self.index_bytes


def sizes_of(description: dict[str, Any]) -> Sizes:
    """DescribeTable's TableSizeBytes/ItemCount and each GSI's IndexSizeBytes/ItemCount (absent: 0)."""

    def billed(raw: dict[str, Any], size_key: str) -> int:
        size, items = raw.get(size_key), raw.get("ItemCount")
        size = size if isinstance(size, int) and not isinstance(size, bool) and size > 0 else 0
        items = items if isinstance(items, int) and not isinstance(items, bool) and items > 0 else 0
        return size + ITEM_OVERHEAD_BYTES * items

    indexes = description.get("GlobalSecondaryIndexes") or []
    return Sizes(
        table_bytes=billed(description, "TableSizeBytes"),
        index_bytes=sum(billed(g, "IndexSizeBytes") for g in indexes if isinstance(g, dict)),
    )


@dataclass(frozen=True)
class Usage:
    """What CloudWatch reported over the last `days` days: capacity units consumed by the table and
    all its GSIs, and GetRecords calls on its stream."""

    days: int
    read_units: float = 0.0
    write_units: float = 0.0
    stream_reads: float = 0.0

    def monthly(self, value: float) -> float:
        return value * MONTH_DAYS / self.days


@dataclass(frozen=True)
class TableCost:
    """One table's estimate, in dollars per month. None: not estimated (the notes say why)."""

    key: str
    name: str
    exists: bool
    billing: str | None = None  # PAY_PER_REQUEST | PROVISIONED
    table_class: str | None = None  # the class it was priced as
    billed_bytes: int = 0
    storage: float | None = None
    pitr: float | None = None
    reads: float | None = None
    writes: float | None = None
    streams: float | None = None
    usage: Usage | None = None
    notes: tuple[str, ...] = ()

    def parts(self) -> dict[str, float | None]:
        return {
            "storage": self.storage,
            "pitr": self.pitr,
            "reads": self.reads,
            "writes": self.writes,
            "streams": self.streams,
        }

    @property
    def total(self) -> float:
        """The sum of what was estimated (a part that was not is left out; see `complete`)."""
        return sum(v for v in self.parts().values() if v is not None)

    @property
    def complete(self) -> bool:
        return self.exists and all(v is not None for v in self.parts().values())


def _priced_class(live: LiveTable) -> tuple[TableClass, str | None]:
    if live.table_class is None:
        return "STANDARD", "table class not reported by this endpoint: priced as STANDARD"
    for name in TABLE_CLASSES:
        if live.table_class == name:
            return name, None
    return "STANDARD", f"table class {live.table_class} has no prices here: priced as STANDARD"


def estimate_table(
    key: str,
    live: LiveTable,
    sizes: Sizes,
    prices: RegionPrices,
    usage: Usage | None,
    no_usage: str | None = None,
) -> TableCost:
    """A table's monthly cost. `usage` None: CloudWatch could not be read (`no_usage` says why), and
    what depends on it (on-demand requests, streams) is not estimated."""
    table_class, class_note = _priced_class(live)
    priced = prices.table_class(table_class)
    notes = [class_note] if class_note else []

    storage = sizes.total_bytes / GIB * priced.storage_gb_month
    pitr: float | None
    if live.point_in_time_recovery is None:
        pitr = None
        notes.append("PITR not reported by this endpoint: its cost not estimated")
    elif live.point_in_time_recovery.enabled:
        pitr = sizes.table_bytes / GIB * prices.pitr_gb_month
    else:
        pitr = 0.0

    reads: float | None
    writes: float | None
    if live.billing.mode == "PROVISIONED":
        indexes = live.global_indexes.values()
        rcu = (live.billing.read or 0) + sum(g.read or 0 for g in indexes)
        wcu = (live.billing.write or 0) + sum(g.write or 0 for g in indexes)
        reads = rcu * MONTH_HOURS * priced.provisioned.rcu_hour
        writes = wcu * MONTH_HOURS * priced.provisioned.wcu_hour
    elif usage is not None:
        reads = usage.monthly(usage.read_units) / 1e6 * priced.on_demand.read_per_million
        writes = usage.monthly(usage.write_units) / 1e6 * priced.on_demand.write_per_million
    else:
        reads = writes = None

    streams: float | None
    if not live.stream.enabled:
        streams = 0.0
    elif usage is not None:
        streams = usage.monthly(usage.stream_reads) / 1e5 * prices.streams_read_per_100k
    else:
        streams = None

    if usage is None and (reads is None or streams is None):
        what = "request costs" if reads is None else "stream costs"
        notes.append(f"{no_usage or 'no CloudWatch metrics'}: {what} not estimated")
    return TableCost(
        key=key,
        name=live.name,
        exists=True,
        billing=live.billing.mode,
        table_class=table_class,
        billed_bytes=sizes.total_bytes,
        storage=storage,
        pitr=pitr,
        reads=reads,
        writes=writes,
        streams=streams,
        usage=usage,
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class CostReport:
    region: str
    prices_as_of: date
    prices_source: str
    currency: str
    days: int
    window_start: datetime
    window_end: datetime
    tables: tuple[TableCost, ...]
    # Whether CloudWatch answered; when not, why (the tables' notes say so too).
    metrics: bool = True
    metrics_note: str | None = None

    @property
    def total(self) -> float:
        return sum(t.total for t in self.tables)

    @property
    def complete(self) -> bool:
        """Every existing table had every part estimated."""
        return all(t.complete for t in self.tables if t.exists)


# ---------------------------------------------------------------------------------------------
# CloudWatch: one GetMetricData with every query


@dataclass(frozen=True)
class MetricQuery:
    id: str
    table: str
    kind: Kind
    metric: str
    stat: str
    dimensions: tuple[tuple[str, str], ...]

    def request(self) -> dict[str, Any]:
        return {
            "Id": self.id,
            "MetricStat": {
                "Metric": {
                    "Namespace": NAMESPACE,
                    "MetricName": self.metric,
                    "Dimensions": [{"Name": n, "Value": v} for n, v in self.dimensions],
                },
                "Period": DAY_SECONDS,
                "Stat": self.stat,
            },
            "ReturnData": True,
        }


def stream_label(stream_arn: str | None) -> str | None:
    """The label of a stream ARN (`arn:aws:dynamodb:...:table/NAME/stream/LABEL`)."""
    if not stream_arn or "/stream/" not in stream_arn:
        return None
    return stream_arn.rsplit("/stream/", 1)[1] or None


def metric_queries(tables: Iterable[LiveTable]) -> list[MetricQuery]:
    """Per table: consumed read and write units of the table and of each GSI (Sum per day), and the
    GetRecords calls on its stream when it has one (SampleCount per day)."""
    queries: list[MetricQuery] = []

    def add(table: str, kind: Kind, metric: str, stat: str, *dims: tuple[str, str]) -> None:
        queries.append(MetricQuery(f"q{len(queries)}", table, kind, metric, stat, (("TableName", table), *dims)))

    for live in tables:
        for index in [None, *sorted(live.global_indexes)]:
            dims = () if index is None else (("GlobalSecondaryIndexName", index),)
            add(live.name, "read", "ConsumedReadCapacityUnits", "Sum", *dims)
            add(live.name, "write", "ConsumedWriteCapacityUnits", "Sum", *dims)
        label = stream_label(live.stream_arn) if live.stream.enabled else None
        if label is not None:
            stream_dims = (("Operation", "GetRecords"), ("StreamLabel", label))
            add(live.name, "stream", "SuccessfulRequestLatency", "SampleCount", *stream_dims)
    return queries


class MetricsUnavailable(SnapinfraError):
    """CloudWatch could not be read: the estimate goes on without request costs."""


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


# What botocore raises (besides its own errors) when a body is not the answer its model describes.
_PARSE_ERRORS = (AttributeError, TypeError, ValueError, LookupError, OverflowError)


def _unreadable(where: str) -> MetricsUnavailable:
    return MetricsUnavailable(f"CloudWatch at {where} answered GetMetricData with something unreadable")


def _results(answer: Any, where: str) -> tuple[list[tuple[str, list[float]]], str | None]:
    """GetMetricData's (Id, Values) pairs and NextToken, checked: anything else is not believed."""
    unreadable = _unreadable(where)
    results = answer.get("MetricDataResults") if isinstance(answer, dict) else None
    if not isinstance(results, list):
        raise unreadable
    pairs: list[tuple[str, list[float]]] = []
    for result in results:
        values = result.get("Values", []) if isinstance(result, dict) else None
        if not isinstance(result, dict) or not isinstance(result.get("Id"), str) or not isinstance(values, list):
            raise unreadable
        if not all(_number(v) for v in values):
            raise unreadable
        pairs.append((result["Id"], [float(v) for v in values]))
    token = answer.get("NextToken")
    if token is not None and not isinstance(token, str):
        raise unreadable
    return pairs, token or None


def read_usage(
    cloudwatch: Any, queries: Sequence[MetricQuery], start: datetime, end: datetime, days: int, where: str
) -> dict[str, Usage]:
    """Every query's datapoints summed, per table. One call for up to 500 queries (and its next pages)."""
    sums: dict[str, dict[Kind, float]] = {q.table: {"read": 0.0, "write": 0.0, "stream": 0.0} for q in queries}
    by_id = {q.id: q for q in queries}
    for first in range(0, len(queries), QUERIES_PER_CALL):
        batch = [q.request() for q in queries[first : first + QUERIES_PER_CALL]]
        kwargs: dict[str, Any] = {"MetricDataQueries": batch, "StartTime": start, "EndTime": end}
        seen: set[str] = set()
        while True:
            try:
                answer = cloudwatch.get_metric_data(**kwargs)
            except _PARSE_ERRORS as exc:  # botocore could not read the body as a CloudWatch answer
                from botocore.exceptions import BotoCoreError

                if isinstance(exc, BotoCoreError):
                    raise
                raise _unreadable(where) from None
            pairs, token = _results(answer, where)
            for query_id, values in pairs:
                query = by_id.get(query_id)
                if query is not None:
                    sums[query.table][query.kind] += sum(values)
            if token is None or token in seen:
                break
            seen.add(token)
            kwargs["NextToken"] = token
    return {
        table: Usage(days=days, read_units=s["read"], write_units=s["write"], stream_reads=s["stream"])
        for table, s in sums.items()
    }


def _why_no_metrics(exc: BaseException, where: str, custom_endpoint: bool) -> str:
    from snapinfra_db.aws import message_of
    from snapinfra_db.errors import error_code

    code = error_code(exc)
    if custom_endpoint and code:
        return f"no CloudWatch at this endpoint (GetMetricData answered {code})"
    if isinstance(exc, SnapinfraError):
        return str(exc)
    return f"CloudWatch at {where}: {message_of(exc)}"


def usage_or_reason(
    aws: Aws, tables: Sequence[LiveTable], days: int, start: datetime, end: datetime
) -> tuple[dict[str, Usage] | None, str | None]:
    """Usage per table, or None and why CloudWatch could not be read (its refusal, no CloudWatch at
    this endpoint, an unreadable answer): the estimate goes on without it."""
    queries = metric_queries(tables)
    if not queries:
        return {}, None
    from botocore.exceptions import BotoCoreError, ClientError

    # Aws.cloudwatch: AWS_ENDPOINT_URL_CLOUDWATCH, else the DynamoDB endpoint URL when one is given (moto's
    # server serves both; DynamoDB Local answers InvalidAction), else AWS.
    endpoint = aws.cloudwatch_endpoint
    where = endpoint or f"https://monitoring.{aws.region}.amazonaws.com"
    try:
        return read_usage(aws.cloudwatch, queries, start, end, days, where), None
    except (ClientError, BotoCoreError, SnapinfraError) as exc:
        return None, _why_no_metrics(exc, where, custom_endpoint=endpoint is not None)


# ---------------------------------------------------------------------------------------------
# The whole estimate


def _describe_all(client: Any, names: Sequence[str], parallelism: int) -> dict[str, dict[str, Any] | None]:
    with reading_pool(max(1, min(len(names), parallelism))) as pool:
        futures = {name: pool.submit(describe, client, name) for name in names}
        return {name: future.result() for name, future in futures.items()}


def window(days: int, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The last `days` days, ending at the current minute (UTC)."""
    end = (now or datetime.now(UTC)).astimezone(UTC).replace(second=0, microsecond=0)
    return end - timedelta(days=days), end


def estimate_costs(
    aws: Aws, catalog: Catalog, prices: PriceTable, days: int, parallelism: int = 10, now: datetime | None = None
) -> CostReport:
    """Every catalog table's estimate in `aws`'s region. An unknown region fails before any call."""
    region = aws.region
    region_prices = prices.for_region(region)
    client = aws.dynamodb
    names = [t.name for t in catalog.tables]
    descriptions = _describe_all(client, names, parallelism)
    existing = {n: d for n, d in descriptions.items() if d is not None}
    live = read_tables(client, list(existing), parallelism, descriptions=existing)
    found = [t for t in live.values() if t is not None]

    start, end = window(days, now)
    usage, no_usage = usage_or_reason(aws, found, days, start, end)

    costs: list[TableCost] = []
    for spec in catalog.tables:
        table = live.get(spec.name)
        description = existing.get(spec.name)
        if table is None or description is None:
            costs.append(TableCost(key=spec.key, name=spec.name, exists=False, notes=("table does not exist",)))
            continue
        table_usage = None if usage is None else usage.get(spec.name, Usage(days=days))
        costs.append(estimate_table(spec.key, table, sizes_of(description), region_prices, table_usage, no_usage))
    return CostReport(
        region=region,
        prices_as_of=prices.as_of,
        prices_source=prices.source,
        currency=prices.currency,
        days=days,
        window_start=start,
        window_end=end,
        tables=tuple(costs),
        metrics=usage is not None,
        metrics_note=no_usage,
    )
