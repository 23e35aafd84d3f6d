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
from concurrent.futures import Future, as_completed
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
        if element["KeyType"] == "HASH" and partition is None:
            partition = attr
        elif element["KeyType"] == "RANGE" and sort is None:
            sort = attr
        else:  # a third key, a second HASH or RANGE, another KeyType: not a key schema DynamoDB reports
            raise ValueError(f"key schema element {element!r}")
    if partition is None:  # DynamoDB always reports a HASH key
        raise ValueError("key schema without a HASH key")
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

    # Never-on-demand tables have no BillingModeSummary: absent means PROVISIONED, which always has at
    # least 1 unit each way. Absent with 0/0 is what moto reports for an on-demand table it restored:
    # on-demand (AWS reports 0/0 for on-demand tables, with the summary).
    throughput_of_table = table.get("ProvisionedThroughput") or {}
    zero = not throughput_of_table.get("ReadCapacityUnits") and not throughput_of_table.get("WriteCapacityUnits")
    mode = (table.get("BillingModeSummary") or {}).get("BillingMode", "PAY_PER_REQUEST" if zero else "PROVISIONED")
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
        if lsort is None:  # a local index always has a RANGE key
            raise ValueError(f"local index {raw['IndexName']!r} without a RANGE key")
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


def _text(value: Any) -> bool:
    """A string with something in it (names, ARNs, keys: DynamoDB never reports them empty)."""
    return isinstance(value, str) and bool(value)


# botocore reads an answer along the operation's model, converting nothing but timestamps: a body of another
# shape makes it raise plain Python errors (a JSON list where a structure belongs, an unreadable timestamp)
# or hand values of the wrong type on (a string for a boolean). Neither is a DynamoDB response.
_PARSE_ERRORS = (AttributeError, TypeError, ValueError, LookupError, OverflowError, RuntimeError)
_SCALAR_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "boolean": bool,
    "integer": int,
    "long": int,
    "double": (int, float),
    "float": (int, float),
    "timestamp": datetime,
    "blob": bytes,
}


def _well_typed(shape: Any, value: Any) -> bool:
    """Whether `value` has the type `shape` (botocore's model of it) gives it; None is an absent member."""
    if value is None:
        return True
    kind = shape.type_name
    if kind == "structure":
        return isinstance(value, dict) and all(_well_typed(m, value.get(n)) for n, m in shape.members.items())
    if kind == "list":
        return isinstance(value, list) and all(v is not None and _well_typed(shape.member, v) for v in value)
    if kind == "map":
        return isinstance(value, dict) and all(
            _well_typed(shape.key, k) and v is not None and _well_typed(shape.value, v) for k, v in value.items()
        )
    expected = _SCALAR_TYPES.get(kind, object)
    return isinstance(value, expected) and (kind == "boolean" or not isinstance(value, bool))


def _answer(client: DynamoDBClient, operation: str, call: Callable[[], Any]) -> Any:
    """call()'s answer to `operation`, checked to have the types DynamoDB's API model gives its members
    (when the client carries the model). MalformedAnswer when botocore could not read it as one."""
    try:
        answer = call()
    except _PARSE_ERRORS as exc:
        # botocore's own errors (some are ValueErrors too) say what they mean: let them through. Told by
        # module, not imported: this module stays importable without the SDK (the diff imports it).
        if type(exc).__module__.startswith("botocore."):
            raise
        raise _malformed(client, operation) from None
    model = getattr(getattr(client, "meta", None), "service_model", None)
    if model is not None and not _well_typed(model.operation_model(operation).output_shape, answer):
        raise _malformed(client, operation)
    return answer


def _checked_table(client: DynamoDBClient, answer: Any) -> dict[str, Any]:
    table = dict(_part(client, "DescribeTable", answer, "Table"))
    keys = table.get("KeySchema")
    well_formed = (
        _text(table.get("TableName"))
        and _text(table.get("TableArn"))  # ListTagsOfResource is asked with it
        and isinstance(keys, list)
        and bool(keys)
        and all(isinstance(k, dict) and _text(k.get("AttributeName")) for k in keys)
    )
    if not well_formed:
        raise _malformed(client, "DescribeTable")
    return table


def describe(client: DynamoDBClient, name: str) -> dict[str, Any] | None:
    """DescribeTable's Table, or None when the table does not exist. MalformedAnswer for anything else."""
    try:
        answer = _answer(client, "DescribeTable", partial(client.describe_table, TableName=name))
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


# The statuses DynamoDB reports (reflect reads ENABLED and ENABLING as on); any other is not believed.
_STATUSES = frozenset({"ENABLED", "DISABLED", "ENABLING", "DISABLING"})


def _well_formed_status(operation: str, description: dict[str, Any]) -> bool:
    """A known status and, where it means on, what reflect reads then: TTL's attribute name, PITR's
    period (1-35 days, when given). An absent PITR description or status reads as off."""
    if operation == _TTL[0]:
        status, detail = description.get("TimeToLiveStatus"), description.get("AttributeName")
        detail_ok = isinstance(detail, str) and bool(detail)
    else:
        pitr = description.get("PointInTimeRecoveryDescription") or {}
        if description.get("ContinuousBackupsStatus") not in ("ENABLED", "DISABLED") or not isinstance(pitr, dict):
            return False
        status, detail = pitr.get("PointInTimeRecoveryStatus"), pitr.get("RecoveryPeriodInDays")
        status = "DISABLED" if status is None else status
        detail_ok = detail is None or (type(detail) is int and 1 <= detail <= 35)
    return status in _STATUSES and (status not in ("ENABLED", "ENABLING") or detail_ok)


def _status_description(client: DynamoDBClient, call: tuple[str, str, str, str], name: str) -> dict[str, Any]:
    """DescribeTimeToLive's or DescribeContinuousBackups' answer, checked to be well formed (above)."""
    operation, method, part, _ = call
    answer = _answer(client, operation, partial(getattr(client, method), TableName=name))
    if not _well_formed_status(operation, _part(client, operation, answer, part)):
        raise _malformed(client, operation)
    return dict(answer)


def list_tags(client: DynamoDBClient, arn: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    kwargs: dict[str, Any] = {"ResourceArn": arn}
    tokens: set[str] = set()
    while True:
        page = _answer(client, "ListTagsOfResource", partial(client.list_tags_of_resource, **kwargs))
        listed = _part(client, "ListTagsOfResource", page, "Tags", list)
        # Key and Value are both required (a Value is "" when empty); a token handed out twice would loop for ever.
        token = page.get("NextToken")
        if (
            not all(isinstance(t, dict) and _text(t.get("Key")) and isinstance(t.get("Value"), str) for t in listed)
            or not (token is None or isinstance(token, str))
            or token in tokens
        ):
            raise _malformed(client, "ListTagsOfResource")
        tags.update({t["Key"]: t["Value"] for t in listed})
        if not token:
            return tags
        tokens.add(token)
        kwargs["NextToken"] = token


def list_table_names(client: DynamoDBClient) -> list[str]:
    """Every table name the endpoint lists (ListTables, every page), each page checked like every other
    answer; a page that points back at a name already passed would loop for ever: malformed too."""
    names: list[str] = []
    kwargs: dict[str, Any] = {}
    passed: set[str] = set()
    while True:
        page = _answer(client, "ListTables", partial(client.list_tables, **kwargs))
        listed = _part(client, "ListTables", page, "TableNames", list)
        last = page.get("LastEvaluatedTableName")
        if not all(_text(n) for n in listed) or not (last is None or _text(last)) or last in passed:
            raise _malformed(client, "ListTables")
        names.extend(listed)
        if not last:
            return names
        passed.add(last)
        kwargs["ExclusiveStartTableName"] = last


def _known_or_describe(client: DynamoDBClient, name: str, known: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    return known[name] if name in known else describe(client, name)


# The calls other than DescribeTable, by the part of a table each one reads ("facet"), and the
# LiveTable fields each fills in. apply re-reads after a step only the facets the step changed.
FACETS = ("ttl", "pitr", "tags")
FACET_FIELDS: dict[str, tuple[str, ...]] = {
    "ttl": ("ttl", "ttl_status"),
    "pitr": ("point_in_time_recovery", "earliest_restorable"),
    "tags": ("tags",),
}


def _facet_call(client: DynamoDBClient, facet: str, name: str, arn: str) -> Callable[[], Any]:
    """The call that reads one facet of a table: None when the endpoint does not implement it."""
    if facet == "ttl":
        return partial(_optional, client, _TTL[0], partial(_status_description, client, _TTL, name))
    if facet == "pitr":
        return partial(_optional, client, _PITR[0], partial(_status_description, client, _PITR, name))
    return partial(_optional, client, "ListTagsOfResource", partial(list_tags, client, arn))


def _reflected(
    client: DynamoDBClient,
    description: dict[str, Any],
    answers: dict[str, Any],
    key_manager: Literal["AWS", "CUSTOMER"] | None,
    keep: LiveTable | None = None,
) -> LiveTable:
    """DescribeTable's answer and the facets' answers as a LiveTable; facets not in `answers` keep
    `keep`'s values (read earlier, and unchanged since)."""
    try:
        live = reflect(description, answers.get("ttl") or None, answers.get("pitr"), answers.get("tags"), key_manager)
    except (KeyError, TypeError, AttributeError, ValueError):  # ValueError: pydantic's too
        raise _malformed(client, "DescribeTable") from None
    if keep is None:
        return live
    kept = {field: getattr(keep, field) for facet in FACETS if facet not in answers for field in FACET_FIELDS[facet]}
    return live.model_copy(update=kept)


def read_tables(
    client: DynamoDBClient,
    names: Iterable[str],
    parallelism: int = 10,
    key_manager: Callable[[str], Literal["AWS", "CUSTOMER"] | None] | None = None,
    descriptions: dict[str, dict[str, Any]] | None = None,
) -> dict[str, LiveTable | None]:
    """Read every table concurrently. None for a table that does not exist.

    Per table, DescribeTable first, then, as soon as it answers, DescribeTimeToLive,
    DescribeContinuousBackups and ListTagsOfResource at once (tags need the ARN anyway): two round
    trips deep, as when the first three went out together, and a table that does not exist costs
    one call, not three. `descriptions` holds DescribeTable answers the caller already has (not
    asked for again).
    """
    names = list(names)
    if not names:
        return {}
    known = descriptions or {}
    result: dict[str, LiveTable | None] = {}
    # Up to four calls per table in flight (the client's pool holds parallelism × 4 connections).
    # Every call is submitted from this thread: a worker that waited on the pool could starve it.
    with reading_pool(min(len(names), parallelism) * 3) as pool:
        described: dict[Future[dict[str, Any] | None], str] = {
            pool.submit(_known_or_describe, client, n, known): n for n in names
        }
        facets: dict[str, dict[str, Future[Any]]] = {}
        managers: dict[str, Future[Literal["AWS", "CUSTOMER"] | None]] = {}
        descriptions_read: dict[str, dict[str, Any]] = {}
        for future in as_completed(described):
            name, description = described[future], future.result()
            if description is None:
                result[name] = None
                continue
            descriptions_read[name] = description
            arn = str(description.get("TableArn", ""))
            facets[name] = {facet: pool.submit(_facet_call(client, facet, name, arn)) for facet in FACETS}
            key_arn = (description.get("SSEDescription") or {}).get("KMSMasterKeyArn")
            if key_manager is not None and key_arn:
                managers[name] = pool.submit(key_manager, key_arn)
        for name, description in descriptions_read.items():
            answers = {facet: f.result() for facet, f in facets[name].items()}
            manager = managers[name].result() if name in managers else None
            result[name] = _reflected(client, description, answers, manager)
    return {name: result[name] for name in names}


def read_again(
    client: DynamoDBClient, description: dict[str, Any], facets: Iterable[str], keep: LiveTable | None
) -> LiveTable:
    """A table read again after changes of this process: DescribeTable's fresh `description`, the
    `facets` that may have changed (their calls, at once), and the rest as `keep` last read them."""
    name, arn = str(description.get("TableName", "")), str(description.get("TableArn", ""))
    stale = [f for f in FACETS if f in set(facets)] if keep is not None else list(FACETS)
    if len(stale) <= 1:
        answers = {facet: _facet_call(client, facet, name, arn)() for facet in stale}
    else:
        with reading_pool(len(stale)) as pool:
            futures = {facet: pool.submit(_facet_call(client, facet, name, arn)) for facet in stale}
            answers = {facet: f.result() for facet, f in futures.items()}
    key_manager = keep.encryption.key_manager if keep is not None and keep.encryption is not None else None
    return _reflected(client, description, answers, key_manager, keep)


def knows_unimplemented(client: DynamoDBClient, operation: str, table: str) -> bool:
    """Whether the endpoint lacks `operation` (DescribeContinuousBackups, DescribeTimeToLive): from
    what it answered this process before, else asked once about `table` (which need not exist)."""
    if is_unimplemented(client, operation):
        return True
    call = _PITR if operation == _PITR[0] else _TTL
    try:
        _optional(client, operation, partial(getattr(client, call[1]), TableName=table))
    except Exception:  # any other answer: implemented (the caller reads the table properly)
        return False
    return is_unimplemented(client, operation)


def probe_unsupported(client: DynamoDBClient, table: str) -> frozenset[Setting]:
    """What a custom endpoint does not implement, asked directly: one DescribeContinuousBackups and one
    ListTagsOfResource (with a made-up ARN) about `table`, at once. DynamoDB Local answers
    UnknownOperationException to both (for tags: "Tagging is not currently supported in DynamoDB
    Local"), and is then known to report neither encryption nor table class. Never asked of AWS
    itself, which implements every setting. What it learns is remembered for this client, so that
    reads of tables on the same endpoint do not ask again."""

    def tags_refusal() -> BaseException | None:
        try:
            client.list_tags_of_resource(ResourceArn=f"arn:aws:dynamodb:ddblocal:000000000000:table/{table}")
        except Exception as exc:
            return exc
        return None

    with reading_pool(2) as pool:
        pitr = pool.submit(knows_unimplemented, client, "DescribeContinuousBackups", table)
        tags_error = pool.submit(tags_refusal).result()
        found = {Setting.POINT_IN_TIME_RECOVERY} if pitr.result() else set()
    if tags_error is not None and error_code(tags_error) in UNSUPPORTED_CODES:
        found.add(Setting.TAGS)
        with _UNIMPLEMENTED_LOCK:
            _UNIMPLEMENTED.setdefault(client, set()).add("ListTagsOfResource")
        if "DynamoDB Local" in str(tags_error):
            found |= {Setting.ENCRYPTION, Setting.TABLE_CLASS}
    return frozenset(found)


def unsupported_at_endpoint(
    live: dict[str, LiveTable | None], probed: frozenset[Setting] | None = None
) -> frozenset[Setting]:
    """What this endpoint does not implement, for every table on it, new ones included: read off the
    tables that exist; when none does, what `probe_unsupported` found (None: not probed, AWS itself)."""
    seen = [t for t in live.values() if t is not None]
    if seen:
        return frozenset(s for t in seen for s in t.unsupported)
    return probed or frozenset()


def read_table(client: DynamoDBClient, name: str, description: dict[str, Any] | None = None) -> LiveTable | None:
    """One table, as `read_tables` reads it; `description` is its DescribeTable answer, if already at hand."""
    return read_tables(client, [name], parallelism=1, descriptions={name: description} if description else None)[name]
