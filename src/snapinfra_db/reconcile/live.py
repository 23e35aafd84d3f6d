"""Live state: read what DynamoDB reports and reflect it into the catalog's own types.

All normalisation lives here (absent BillingModeSummary means PROVISIONED, on-demand tables report
0/0 throughput, a table without SSEDescription uses the DynamoDB-owned key, attribute order, ...),
so that diff.py compares like with like and a freshly applied catalog plans to no changes.

``reflect()`` is pure (description dicts in, LiveTable out) and tested without AWS; ``read_tables()``
makes the calls, concurrently.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from snapinfra_db.catalog import (
    Billing,
    Capacity,
    Encryption,
    GlobalIndex,
    KeyAttribute,
    LocalIndex,
    PointInTimeRecovery,
    Projection,
    Setting,
    Stream,
    TableSpec,
)
from snapinfra_db.errors import DynamoDBError, error_code
from snapinfra_db.waiting import reading_pool

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# What answers at the endpoint, told by the table ARNs it reports: AWS itself, DynamoDB Local
# (region "ddblocal"), or any other DynamoDB-compatible endpoint.
EndpointKind = Literal["aws", "ddblocal", "other"]

# Marks a setting the endpoint does not implement (DynamoDB Local: PITR, tags, backups).
UNSUPPORTED_CODES = frozenset({"UnknownOperationException"})


class LiveIndex(GlobalIndex):
    status: str = "ACTIVE"
    backfilling: bool = False
    item_count: int | None = None


class LiveEncryption(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: Literal["AWS_OWNED", "KMS"]
    kms_key_arn: str | None = None
    # "AWS" for the AWS-managed key, "CUSTOMER" for a customer key, None when not looked up.
    key_manager: Literal["AWS", "CUSTOMER"] | None = None
    # SSEDescription.Status UPDATING, ENABLING or DISABLING: a change of key is under way and what
    # it ends in is not reported yet (AWS takes minutes). Compared again once it has settled.
    changing: bool = False


class LiveTable(BaseModel):
    """One described table. Fields that are None are not implemented by this endpoint."""

    model_config = ConfigDict(frozen=True)

    name: str
    arn: str
    status: str
    endpoint_kind: EndpointKind
    item_count: int | None = None
    size_bytes: int | None = None
    partition_key: KeyAttribute
    sort_key: KeyAttribute | None = None
    global_indexes: dict[str, LiveIndex]
    local_indexes: dict[str, LocalIndex]
    billing: Billing
    stream: Stream
    stream_arn: str | None = None
    ttl: str | None
    ttl_status: str = "DISABLED"
    point_in_time_recovery: PointInTimeRecovery | None
    earliest_restorable: datetime | None = None
    encryption: LiveEncryption | None
    deletion_protection: bool
    table_class: str | None
    tags: dict[str, str] | None

    @property
    def unsupported(self) -> tuple[Setting, ...]:
        """The settings this endpoint does not report for the table (None fields), in a fixed order."""
        missing = {
            Setting.TABLE_CLASS: self.table_class is None,
            Setting.ENCRYPTION: self.encryption is None,
            Setting.POINT_IN_TIME_RECOVERY: self.point_in_time_recovery is None,
            Setting.TAGS: self.tags is None,
        }
        return tuple(setting for setting, is_missing in missing.items() if is_missing)

    @property
    def accepts_updates(self) -> bool:
        """ACTIVE with every index ACTIVE and filled: the only state DynamoDB accepts updates in."""
        return self.status == "ACTIVE" and all(
            i.status == "ACTIVE" and not i.backfilling for i in self.global_indexes.values()
        )

    def busy_reason(self) -> str:
        if self.status != "ACTIVE":
            return f"table {self.status}"
        for name, index in sorted(self.global_indexes.items()):
            if index.status != "ACTIVE":
                return f"index {name} {index.status}" + (" (backfilling)" if index.backfilling else "")
            if index.backfilling:
                return f"index {name} backfilling"
        return "ACTIVE"


def endpoint_kind_of(arn: str) -> EndpointKind:
    if ":ddblocal:" in arn:
        return "ddblocal"
    return "aws" if arn.startswith("arn:aws") else "other"


def _keys(key_schema: Iterable[dict[str, Any]], types: dict[str, Any]) -> tuple[KeyAttribute, KeyAttribute | None]:
    partition: KeyAttribute | None = None
    sort: KeyAttribute | None = None
    for element in key_schema:
        attr = KeyAttribute(name=element["AttributeName"], type=types.get(element["AttributeName"]))
        if element["KeyType"] == "HASH":
            partition = attr
        else:
            sort = attr
    assert partition is not None, "DynamoDB always reports a HASH key"
    return partition, sort


def _projection(raw: dict[str, Any] | None) -> Projection:
    raw = raw or {}
    return Projection(type=raw.get("ProjectionType", "ALL"), attributes=tuple(raw.get("NonKeyAttributes", ())))


def _on_demand_max(raw: dict[str, Any] | None) -> tuple[int | None, int | None]:
    # DynamoDB reports -1 (or nothing) for "no maximum".
    raw = raw or {}
    read, write = raw.get("MaxReadRequestUnits"), raw.get("MaxWriteRequestUnits")
    return (read if read and read > 0 else None, write if write and write > 0 else None)


def reflect(
    table: dict[str, Any],
    ttl: dict[str, Any] | None,
    pitr: dict[str, Any] | None,
    tags: dict[str, str] | None,
    key_manager: Literal["AWS", "CUSTOMER"] | None = None,
) -> LiveTable:
    """DescribeTable + DescribeTimeToLive + DescribeContinuousBackups + tags → LiveTable.

    `pitr` and `tags` are None when the endpoint does not implement them.
    """
    endpoint_kind = endpoint_kind_of(table["TableArn"])
    # moto may drop definitions on UpdateTable; a key whose type is unknown compares by name.
    types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
    partition, sort = _keys(table["KeySchema"], types)

    # Never-on-demand tables have no BillingModeSummary: absent means PROVISIONED.
    mode = (table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
    on_demand = mode == "PAY_PER_REQUEST"

    def capacity(raw: dict[str, Any]) -> dict[str, int | None]:
        if on_demand:
            max_read, max_write = _on_demand_max(raw.get("OnDemandThroughput"))
            return {"max_read": max_read, "max_write": max_write}
        throughput = raw.get("ProvisionedThroughput") or {}
        return {"read": throughput.get("ReadCapacityUnits"), "write": throughput.get("WriteCapacityUnits")}

    gsis: dict[str, LiveIndex] = {}
    for raw in table.get("GlobalSecondaryIndexes") or []:
        gpart, gsort = _keys(raw["KeySchema"], types)
        gsis[raw["IndexName"]] = LiveIndex(
            partition_key=gpart,
            sort_key=gsort,
            projection=_projection(raw.get("Projection")),
            status=raw.get("IndexStatus", "ACTIVE"),
            backfilling=bool(raw.get("Backfilling", False)),
            item_count=raw.get("ItemCount"),
            **capacity(raw),
        )
    lsis: dict[str, LocalIndex] = {}
    for raw in table.get("LocalSecondaryIndexes") or []:
        _, lsort = _keys(raw["KeySchema"], types)
        assert lsort is not None
        lsis[raw["IndexName"]] = LocalIndex(sort_key=lsort, projection=_projection(raw.get("Projection")))

    stream_spec = table.get("StreamSpecification") or {}
    stream_on = bool(stream_spec.get("StreamEnabled"))
    stream = Stream(enabled=stream_on, view_type=stream_spec.get("StreamViewType", "NEW_AND_OLD_IMAGES"))

    ttl_desc = (ttl or {}).get("TimeToLiveDescription", ttl or {})
    ttl_status = ttl_desc.get("TimeToLiveStatus", "DISABLED")
    # ENABLING counts as on, DISABLING as off: the call was made, DynamoDB is finishing it.
    ttl_attribute = ttl_desc.get("AttributeName") if ttl_status in ("ENABLED", "ENABLING") else None

    pitr_live: PointInTimeRecovery | None = None
    earliest: datetime | None = None
    if pitr is not None:
        desc = pitr.get("ContinuousBackupsDescription", pitr).get("PointInTimeRecoveryDescription") or {}
        enabled = desc.get("PointInTimeRecoveryStatus") in ("ENABLED", "ENABLING")
        # A disabled PITR has no meaningful period; 35 is DynamoDB's default when it is turned on.
        period = desc.get("RecoveryPeriodInDays") or 35 if enabled else 35
        pitr_live = PointInTimeRecovery(enabled=enabled, recovery_period_days=period)
        earliest = desc.get("EarliestRestorableDateTime")

    encryption: LiveEncryption | None
    if endpoint_kind == "ddblocal":
        encryption = None  # DynamoDB Local accepts SSE settings but never reports them
    else:
        sse = table.get("SSEDescription") or {}
        changing = sse.get("Status") in ("UPDATING", "ENABLING", "DISABLING")
        if sse.get("Status") in ("ENABLED", "ENABLING", "UPDATING") and sse.get("SSEType") == "KMS":
            encryption = LiveEncryption(
                type="KMS", kms_key_arn=sse.get("KMSMasterKeyArn"), key_manager=key_manager, changing=changing
            )
        else:
            encryption = LiveEncryption(type="AWS_OWNED", changing=changing)

    # DynamoDB Local accepts a table class on create but never reports one.
    table_class = (
        None if endpoint_kind == "ddblocal" else (table.get("TableClassSummary") or {}).get("TableClass", "STANDARD")
    )

    return LiveTable(
        name=table["TableName"],
        arn=table["TableArn"],
        status=table.get("TableStatus", "ACTIVE"),
        endpoint_kind=endpoint_kind,
        item_count=table.get("ItemCount"),
        size_bytes=table.get("TableSizeBytes"),
        partition_key=partition,
        sort_key=sort,
        global_indexes=gsis,
        local_indexes=lsis,
        billing=Billing(mode=mode, **capacity(table)),
        stream=stream,
        stream_arn=table.get("LatestStreamArn") if stream_on else None,
        ttl=ttl_attribute,
        ttl_status=ttl_status,
        point_in_time_recovery=pitr_live,
        earliest_restorable=earliest,
        encryption=encryption,
        deletion_protection=bool(table.get("DeletionProtectionEnabled", False)),
        table_class=table_class,
        tags=tags,
    )


def as_spec(live: LiveTable, *, key: str, name: str, env: str, ttl: str | None = None) -> TableSpec:
    """The catalog entry that creates a table like `live` (keys, indexes, billing, stream, encryption,
    class, deletion protection, tags), named `name`: how a restore re-creates an exported table.

    A KMS key whose manager is unknown is kept as that exact key (CUSTOMER_MANAGED): the copy is
    encrypted with the key the original used. Settings the endpoint did not report keep the
    catalog's defaults. Raises ValueError when a key attribute's type is unknown (moto may forget it).
    """
    missing = sorted({k.name for k in _key_attributes(live) if k.type is None})
    if missing:
        raise ValueError(f"the description has no type for key attribute(s) {', '.join(missing)}")
    provisioned = live.billing.mode == "PROVISIONED"

    def capacity(cap: Capacity) -> dict[str, int | None]:
        # A provisioned table reports its capacity; 0 (never set) is not a valid request.
        if provisioned:
            return {"read": max(1, cap.read or 1), "write": max(1, cap.write or 1)}
        return {"max_read": cap.max_read, "max_write": cap.max_write}

    encryption = Encryption(type="AWS_OWNED")
    if live.encryption is not None and live.encryption.type == "KMS":
        if live.encryption.key_manager == "AWS" or not live.encryption.kms_key_arn:
            encryption = Encryption(type="AWS_MANAGED")
        else:
            encryption = Encryption(type="CUSTOMER_MANAGED", kms_key=live.encryption.kms_key_arn)
    settings: dict[str, Any] = {
        "key": key,
        "name": name,
        "env": env,
        "partition_key": live.partition_key,
        "sort_key": live.sort_key,
        "ttl": ttl,
        "billing": Billing(mode=live.billing.mode, **capacity(live.billing)),
        "global_indexes": {
            n: GlobalIndex(
                partition_key=g.partition_key, sort_key=g.sort_key, projection=g.projection, **capacity(g)
            )
            for n, g in live.global_indexes.items()
        },
        "local_indexes": dict(live.local_indexes),
        "stream": live.stream,
        "encryption": encryption,
        "deletion_protection": live.deletion_protection,
        # Tags AWS sets itself (aws:...) cannot be set by anyone: they are not part of a new table's entry.
        "tags": {k: v for k, v in (live.tags or {}).items() if not k.lower().startswith("aws:")},
    }
    if live.table_class is not None:
        settings["table_class"] = live.table_class
    return TableSpec(**settings)


def _key_attributes(live: LiveTable) -> Iterable[KeyAttribute]:
    yield from (k for k in (live.partition_key, live.sort_key) if k is not None)
    for g in live.global_indexes.values():
        yield from g.key_attributes()
    for lsi in live.local_indexes.values():
        yield lsi.sort_key


# ---------------------------------------------------------------------------------------------
# Calls


class MalformedAnswer(DynamoDBError):
    """The endpoint answered with something that is not a DynamoDB response: never believed."""


def _malformed(client: DynamoDBClient, operation: str) -> MalformedAnswer:
    return MalformedAnswer(
        f"DynamoDB at {client.meta.endpoint_url} answered {operation} with something that is not a DynamoDB response"
    )


def _part(client: DynamoDBClient, operation: str, answer: Any, key: str, kind: type = dict) -> Any:
    """answer[key], checked to be a `kind`: botocore hands an empty or garbled body on as a 'successful'
    answer with fields missing, which must never be read as a real setting (no TTL, no PITR, no tags)."""
    value = answer.get(key) if isinstance(answer, dict) else None
    if not isinstance(value, kind):
        raise _malformed(client, operation)
    return value


def _checked_table(client: DynamoDBClient, answer: Any) -> dict[str, Any]:
    table = dict(_part(client, "DescribeTable", answer, "Table"))
    keys = table.get("KeySchema")
    well_formed = (
        isinstance(table.get("TableName"), str)
        and isinstance(table.get("TableArn"), str)
        and isinstance(keys, list)
        and bool(keys)
        and all(isinstance(k, dict) and isinstance(k.get("AttributeName"), str) for k in keys)
    )
    if not well_formed:
        raise _malformed(client, "DescribeTable")
    return table


def describe(client: DynamoDBClient, name: str) -> dict[str, Any] | None:
    """DescribeTable's Table, or None when the table does not exist. MalformedAnswer for anything else."""
    try:
        answer = client.describe_table(TableName=name)
    except client.exceptions.ResourceNotFoundException:
        return None
    return _checked_table(client, answer)


def is_active(description: dict[str, Any]) -> bool:
    """ACTIVE with every index ACTIVE, as DescribeTable reports it (an index may still be backfilling):
    what deletes and restores wait for. apply waits for more: `LiveTable.accepts_updates`."""
    return description.get("TableStatus") == "ACTIVE" and all(
        g.get("IndexStatus", "ACTIVE") == "ACTIVE" for g in description.get("GlobalSecondaryIndexes") or []
    )


# Operations an endpoint answered UnknownOperationException to, per client: not asked again by the
# same process (DynamoDB Local's PITR and tags: apply re-reads each table after every step).
_UNIMPLEMENTED: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
_UNIMPLEMENTED_LOCK = threading.Lock()


def is_unimplemented(client: DynamoDBClient, operation: str) -> bool:
    """Whether the endpoint behind `client` answered `operation` with UnknownOperationException."""
    with _UNIMPLEMENTED_LOCK:
        return operation in _UNIMPLEMENTED.get(client, ())


def _optional(client: DynamoDBClient, operation: str, call: Callable[[], Any]) -> Any:
    """Run a describe call; None when the endpoint does not implement it or the table is gone."""
    if is_unimplemented(client, operation):
        return None
    try:
        return call()
    except Exception as exc:
        if error_code(exc) in UNSUPPORTED_CODES:
            with _UNIMPLEMENTED_LOCK:
                _UNIMPLEMENTED.setdefault(client, set()).add(operation)
            return None
        # The table is gone, or not there yet while another apply creates it (moto says
        # "ResourceNotFound" for DescribeTimeToLive in that moment; found by concurrent applies).
        if error_code(exc) in ("ResourceNotFoundException", "ResourceNotFound", "TableNotFoundException"):
            return {}
        raise


# The describe calls whose answer is one description with a status: (operation, method, part, status field).
_TTL = ("DescribeTimeToLive", "describe_time_to_live", "TimeToLiveDescription", "TimeToLiveStatus")
_PITR = (
    "DescribeContinuousBackups",
    "describe_continuous_backups",
    "ContinuousBackupsDescription",
    "ContinuousBackupsStatus",
)


def _status_description(client: DynamoDBClient, call: tuple[str, str, str, str], name: str) -> dict[str, Any]:
    """DescribeTimeToLive's or DescribeContinuousBackups' answer, checked to carry its status."""
    operation, method, part, status = call
    answer = getattr(client, method)(TableName=name)
    if not isinstance(_part(client, operation, answer, part).get(status), str):
        raise _malformed(client, operation)
    return dict(answer)


def list_tags(client: DynamoDBClient, arn: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    kwargs: dict[str, Any] = {"ResourceArn": arn}
    while True:
        page = client.list_tags_of_resource(**kwargs)
        listed = _part(client, "ListTagsOfResource", page, "Tags", list)
        if not all(isinstance(t, dict) and isinstance(t.get("Key"), str) for t in listed):
            raise _malformed(client, "ListTagsOfResource")
        tags.update({t["Key"]: str(t.get("Value", "")) for t in listed})
        if not page.get("NextToken"):
            return tags
        kwargs["NextToken"] = page["NextToken"]


def _known_or_describe(client: DynamoDBClient, name: str, known: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    return known[name] if name in known else describe(client, name)


def read_tables(
    client: DynamoDBClient,
    names: Iterable[str],
    parallelism: int = 10,
    key_manager: Callable[[str], Literal["AWS", "CUSTOMER"] | None] | None = None,
    descriptions: dict[str, dict[str, Any]] | None = None,
) -> dict[str, LiveTable | None]:
    """Read every table concurrently: DescribeTable, DescribeTimeToLive and DescribeContinuousBackups
    at once, then ListTagsOfResource (it needs the ARN). None for a table that does not exist.

    `descriptions` holds DescribeTable answers the caller already has (not asked for again)."""
    names = list(names)
    if not names:
        return {}
    known = descriptions or {}
    # Three describe calls per table, all at once (the client's pool holds parallelism × 4 connections).
    with reading_pool(min(len(names), parallelism) * 3) as pool:
        tables = {n: pool.submit(_known_or_describe, client, n, known) for n in names}
        ttls = {
            n: pool.submit(_optional, client, _TTL[0], partial(_status_description, client, _TTL, n)) for n in names
        }
        pitrs = {
            n: pool.submit(_optional, client, _PITR[0], partial(_status_description, client, _PITR, n)) for n in names
        }
        described = {n: f.result() for n, f in tables.items()}
        tags = {
            n: pool.submit(_optional, client, "ListTagsOfResource", partial(list_tags, client, d["TableArn"]))
            for n, d in described.items()
            if d is not None
        }
        managers = {
            n: pool.submit(key_manager, arn)
            for n, d in described.items()
            if d is not None
            and key_manager is not None
            and (arn := (d.get("SSEDescription") or {}).get("KMSMasterKeyArn"))
        }
        result: dict[str, LiveTable | None] = {}
        for name in names:
            desc = described[name]
            if desc is None:
                result[name] = None
                continue
            try:
                result[name] = reflect(
                    desc,
                    ttls[name].result() or None,
                    pitrs[name].result(),
                    tags[name].result(),
                    managers[name].result() if name in managers else None,
                )
            except (KeyError, TypeError, AttributeError, ValueError):  # ValueError: pydantic's too
                raise _malformed(client, "DescribeTable") from None
    return result


def unsupported_at_endpoint(
    client: DynamoDBClient, live: dict[str, LiveTable | None], probe: bool = False
) -> frozenset[Setting]:
    """What this endpoint does not implement, for every table on it, new ones included.

    Read off the tables that exist. When none does and `probe` is set (never for AWS itself), from
    what read_tables' DescribeContinuousBackups calls answered, and one cheap ListTagsOfResource about
    a table that does not exist: DynamoDB Local answers UnknownOperationException to both (for tags:
    "Tagging is not currently supported in DynamoDB Local"), and then it is known to report neither
    encryption nor table class.
    """
    seen = [t for t in live.values() if t is not None]
    if seen:
        return frozenset(s for t in seen for s in t.unsupported)
    missing = [name for name, table in live.items() if table is None]
    if not probe or not missing:
        return frozenset()

    def answer(call: Callable[[], Any]) -> BaseException | None:
        try:
            call()
        except Exception as exc:
            return exc
        return None

    # read_tables already asked DescribeContinuousBackups about the missing tables; tags need an ARN,
    # so they are asked about once here.
    found: set[Setting] = set()
    unimplemented: set[str] = set()
    if is_unimplemented(client, "DescribeContinuousBackups"):
        found.add(Setting.POINT_IN_TIME_RECOVERY)
    arn = f"arn:aws:dynamodb:ddblocal:000000000000:table/{missing[0]}"
    tags_error = answer(partial(client.list_tags_of_resource, ResourceArn=arn))
    if tags_error is not None and error_code(tags_error) in UNSUPPORTED_CODES:
        found.add(Setting.TAGS)
        unimplemented.add("ListTagsOfResource")
        if "DynamoDB Local" in str(tags_error):
            found |= {Setting.ENCRYPTION, Setting.TABLE_CLASS}
    with _UNIMPLEMENTED_LOCK:  # apply's reads of the new tables will not ask again
        _UNIMPLEMENTED.setdefault(client, set()).update(unimplemented)
    return frozenset(found)


def read_table(client: DynamoDBClient, name: str, description: dict[str, Any] | None = None) -> LiveTable | None:
    """One table, as `read_tables` reads it; `description` is its DescribeTable answer, if already at hand."""
    return read_tables(client, [name], parallelism=1, descriptions={name: description} if description else None)[name]
