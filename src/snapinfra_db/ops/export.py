"""Exports and their way back: a table's items to ``DIR/<table>.jsonl`` plus its description to
``DIR/<table>.schema.json``, and ``restore`` that re-creates the table and writes the items back.

The item file is DynamoDB JSON, one item a line: exactly the low-level client's ``Item`` dicts,
serialised with ``json``. Binary values (``B``, ``BS``), which boto3 returns as ``bytes``, are
written as base64 strings, as the AWS CLI does, and decoded again on restore.

An export is either complete and verified or absent: both files are written under temporary names
in the same directory, flushed and fsynced, the lines counted against the items scanned, and only
then renamed into place. On any error the temporary files are removed and ``ExportError`` is raised,
so the caller (purge) never deletes a table whose copy is not known good.

No printing: progress goes through an optional callback.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snapinfra_db.errors import SnapinfraError
from snapinfra_db.reconcile.live import describe, is_settled, list_tags
from snapinfra_db.waiting import Backoff

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

FORMAT = "snapinfra-db-export/1"
BATCH_SIZE = 25  # BatchWriteItem's maximum
# Above this size (DescribeTable's approximate TableSizeBytes) the scan runs in parallel segments.
SEGMENT_THRESHOLD_BYTES = 256 * 1024 * 1024
SEGMENT_BYTES = 256 * 1024 * 1024
MAX_SEGMENTS = 16

Progress = Callable[[str, str], None]  # (table, message)


class ExportError(SnapinfraError):
    """An export could not be completed; nothing was left under the final file names."""


class RestoreError(SnapinfraError):
    """A restore was refused or could not be completed."""


# --------------------------------------------------------------------------- item encoding


def encode_value(value: dict[str, Any]) -> dict[str, Any]:
    """One attribute value of the low-level client → JSON-ready (bytes → base64 strings)."""
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64encode(bytes(inner)).decode("ascii")}
    if kind == "BS":
        return {"BS": [base64.b64encode(bytes(b)).decode("ascii") for b in inner]}
    if kind == "L":
        return {"L": [encode_value(v) for v in inner]}
    if kind == "M":
        return {"M": {k: encode_value(v) for k, v in inner.items()}}
    return {kind: inner}


def decode_value(value: dict[str, Any]) -> dict[str, Any]:
    """The inverse of `encode_value`: base64 strings → bytes, for the low-level client."""
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64decode(inner, validate=True)}
    if kind == "BS":
        return {"BS": [base64.b64decode(b, validate=True) for b in inner]}
    if kind == "L":
        return {"L": [decode_value(v) for v in inner]}
    if kind == "M":
        return {"M": {k: decode_value(v) for k, v in inner.items()}}
    return {kind: inner}


def encode_item(item: dict[str, Any]) -> str:
    return json.dumps({k: encode_value(v) for k, v in item.items()}, ensure_ascii=False, separators=(",", ":"))


def decode_item(line: str) -> dict[str, Any]:
    raw = json.loads(line)
    if not isinstance(raw, dict):
        raise ValueError("not a JSON object")
    return {k: decode_value(v) for k, v in raw.items()}


# --------------------------------------------------------------------------- files


def items_path(directory: Path, table: str) -> Path:
    return directory / f"{table}.jsonl"


def schema_path(directory: Path, table: str) -> Path:
    return directory / f"{table}.schema.json"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot serialise {type(value).__name__}")


def check_writable_dir(directory: Path, *, keep: bool = True) -> None:
    """Create DIR if needed and prove it is writable, before any table is touched.

    With ``keep=False`` the folders this call created are removed again: a preview that stops at
    the question must not leave an empty export folder behind.
    """
    created = [path for path in (directory, *directory.parents) if not path.exists()]  # deepest first
    try:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ExportError(f"cannot create export directory {directory}: {exc.strerror or exc}") from None
        if not directory.is_dir():
            raise ExportError(f"export directory {directory} is not a directory")
        probe = directory / f".snapinfra-db-write-test-{os.getpid()}-{threading.get_ident()}"
        try:
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise ExportError(f"export directory {directory} is not writable: {exc.strerror or exc}") from None
    finally:
        if not keep:
            for path in created:
                with contextlib.suppress(OSError):
                    path.rmdir()


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _count_lines(path: Path) -> int:
    count = 0
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                count += 1
    return count


# --------------------------------------------------------------------------- export


@dataclass(frozen=True)
class ExportResult:
    table: str
    items_file: Path
    schema_file: Path
    items: int
    segments: int
    seconds: float


def describe_for_export(client: DynamoDBClient, table: str) -> dict[str, Any]:
    """DescribeTable + DescribeTimeToLive (+ tags where the endpoint has them), as written to schema.json."""
    description: dict[str, Any] = dict(client.describe_table(TableName=table)["Table"])
    ttl: dict[str, Any] = dict(client.describe_time_to_live(TableName=table).get("TimeToLiveDescription", {}))
    tags: list[dict[str, str]] | None
    try:
        tags = [{"Key": k, "Value": v} for k, v in list_tags(client, description["TableArn"]).items()]
    except Exception:  # DynamoDB Local has no tags; a missing permission only loses the tags
        tags = None
    return {"Table": description, "TimeToLiveDescription": ttl, "Tags": tags}


def _refuse_existing(*paths: Path) -> None:
    for path in paths:
        if path.exists():
            raise ExportError(f"{path} already exists: an earlier export is never overwritten")


def segments_for(size_bytes: int | None) -> int:
    """1 for small tables; for large ones one segment per SEGMENT_BYTES, at most MAX_SEGMENTS."""
    if not size_bytes or size_bytes <= SEGMENT_THRESHOLD_BYTES:
        return 1
    return max(2, min(MAX_SEGMENTS, -(-size_bytes // SEGMENT_BYTES)))


def scan_pages(client: DynamoDBClient, table: str, segment: int, total: int) -> Iterator[list[dict[str, Any]]]:
    """One segment of a consistent Scan, page by page (the low-level client's items)."""
    params: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    if total > 1:
        params.update(Segment=segment, TotalSegments=total)
    for page in client.get_paginator("scan").paginate(**params):
        yield list(page.get("Items", []))


def export_table(
    client: DynamoDBClient,
    table: str,
    directory: Path,
    *,
    segments: int | None = None,
    on_progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> ExportResult:
    """Write every item of `table` to DIR/<table>.jsonl and its description to DIR/<table>.schema.json.

    Raises ExportError (with no file left under either final name) unless the export is complete,
    and when `cancel` is set (Ctrl-C) before it is.
    """
    started = time.monotonic()
    check_writable_dir(directory)
    schema = describe_for_export(client, table)
    total = segments or segments_for(schema["Table"].get("TableSizeBytes"))
    final_items, final_schema = items_path(directory, table), schema_path(directory, table)
    _refuse_existing(final_items, final_schema)
    tag = f".tmp-{os.getpid()}-{threading.get_ident()}"
    tmp_items = final_items.with_name(final_items.name + tag)
    tmp_schema = final_schema.with_name(final_schema.name + tag)
    lock = threading.Lock()
    failed = threading.Event()
    scanned = 0

    def run_segment(handle: Any, segment: int) -> int:
        nonlocal scanned
        count = 0
        for page in scan_pages(client, table, segment, total):
            if failed.is_set():
                return count
            if cancel is not None and cancel.is_set():
                raise ExportError(f"export of {table} interrupted")
            text = "".join(encode_item(item) + "\n" for item in page)
            with lock:
                handle.write(text)
                scanned += len(page)
                done = scanned
            count += len(page)
            if on_progress and page:
                on_progress(table, f"exported {done} items")
        return count

    try:
        with tmp_items.open("w", encoding="utf-8") as handle:
            if total == 1:
                written = run_segment(handle, 0)
            else:
                with ThreadPoolExecutor(max_workers=total, thread_name_prefix=f"export-{table}") as pool:
                    futures = [pool.submit(run_segment, handle, s) for s in range(total)]
                    written = 0
                    for future in futures:
                        try:
                            written += future.result()
                        except BaseException:
                            failed.set()
                            raise
            handle.flush()
            os.fsync(handle.fileno())
        on_disk = _count_lines(tmp_items)
        if on_disk != written or written != scanned:
            raise ExportError(f"export of {table} is incomplete: {written} items scanned but {on_disk} lines written")
        document = {
            "Format": FORMAT,
            "ExportedAt": datetime.now(UTC).isoformat(timespec="seconds"),
            "ItemCount": written,
            "ItemsFile": final_items.name,
            **schema,
        }
        with tmp_schema.open("w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2, default=_json_default, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        _refuse_existing(final_items, final_schema)  # again: it may have appeared meanwhile
        os.replace(tmp_items, final_items)
        os.replace(tmp_schema, final_schema)
        _fsync_dir(directory)
    except BaseException as exc:
        for path in (tmp_items, tmp_schema):
            path.unlink(missing_ok=True)
        if isinstance(exc, SnapinfraError | KeyboardInterrupt):
            raise
        if isinstance(exc, OSError):
            raise ExportError(f"export of {table} failed: {exc.strerror or exc}") from exc
        from snapinfra_db.aws import translate

        translated = translate(exc)
        if translated is not None:
            raise ExportError(f"export of {table} failed: {translated}") from exc
        raise ExportError(f"export of {table} failed: {type(exc).__name__}: {exc}") from exc
    return ExportResult(table, final_items, final_schema, written, total, time.monotonic() - started)


# --------------------------------------------------------------------------- restore


@dataclass(frozen=True)
class RestoreResult:
    source: str  # the exported table's name
    table: str  # the table written to
    created: bool
    items: int
    ttl_enabled: str | None
    seconds: float


def read_schema(directory: Path, table: str) -> dict[str, Any]:
    path = schema_path(directory, table)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RestoreError(f"{path} not found: not an export of {table} (expected {table}.schema.json)") from None
    except (OSError, ValueError) as exc:
        raise RestoreError(f"cannot read {path}: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("Table"), dict):
        raise RestoreError(f"{path} is not a snapinfra-db export schema (no 'Table')")
    keys = document["Table"].get("KeySchema")
    if not isinstance(keys, list) or not keys or not all(isinstance(k, dict) and "AttributeName" in k for k in keys):
        raise RestoreError(f"{path} is not a snapinfra-db export schema (no usable 'Table.KeySchema')")
    return document


def exported_tables(directory: Path) -> list[str]:
    """Names of the tables exported to DIR (those with a schema.json), sorted."""
    if not directory.exists():
        raise RestoreError(f"{directory} does not exist")
    if not directory.is_dir():
        raise RestoreError(f"{directory} is not a directory")
    suffix = ".schema.json"
    return sorted(p.name[: -len(suffix)] for p in directory.glob(f"*{suffix}") if p.is_file())


def _projection(raw: dict[str, Any] | None) -> dict[str, Any]:
    raw = raw or {}
    projection: dict[str, Any] = {"ProjectionType": raw.get("ProjectionType", "ALL")}
    if raw.get("NonKeyAttributes"):
        projection["NonKeyAttributes"] = list(raw["NonKeyAttributes"])
    return projection


def _throughput(raw: dict[str, Any] | None) -> dict[str, int]:
    raw = raw or {}
    return {
        "ReadCapacityUnits": max(1, int(raw.get("ReadCapacityUnits") or 1)),
        "WriteCapacityUnits": max(1, int(raw.get("WriteCapacityUnits") or 1)),
    }


def _on_demand(raw: dict[str, Any] | None) -> dict[str, int] | None:
    raw = raw or {}
    limits = {k: int(v) for k, v in raw.items() if k in ("MaxReadRequestUnits", "MaxWriteRequestUnits") and v > 0}
    return limits or None


def create_table_request(document: dict[str, Any], name: str) -> dict[str, Any]:
    """A valid CreateTable request from an exported description: read-only fields dropped."""
    table: dict[str, Any] = document["Table"]
    mode = (table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
    provisioned = mode == "PROVISIONED"
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": [{"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in table["KeySchema"]],
        "BillingMode": mode,
    }
    used: set[str] = {k["AttributeName"] for k in table["KeySchema"]}
    if provisioned:
        request["ProvisionedThroughput"] = _throughput(table.get("ProvisionedThroughput"))
    elif limits := _on_demand(table.get("OnDemandThroughput")):
        request["OnDemandThroughput"] = limits
    gsis = []
    for raw in table.get("GlobalSecondaryIndexes") or []:
        gsi: dict[str, Any] = {
            "IndexName": raw["IndexName"],
            "KeySchema": [{"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in raw["KeySchema"]],
            "Projection": _projection(raw.get("Projection")),
        }
        used.update(k["AttributeName"] for k in raw["KeySchema"])
        if provisioned:
            gsi["ProvisionedThroughput"] = _throughput(raw.get("ProvisionedThroughput"))
        elif limits := _on_demand(raw.get("OnDemandThroughput")):
            gsi["OnDemandThroughput"] = limits
        gsis.append(gsi)
    if gsis:
        request["GlobalSecondaryIndexes"] = gsis
    lsis = []
    for raw in table.get("LocalSecondaryIndexes") or []:
        lsis.append(
            {
                "IndexName": raw["IndexName"],
                "KeySchema": [{"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in raw["KeySchema"]],
                "Projection": _projection(raw.get("Projection")),
            }
        )
        used.update(k["AttributeName"] for k in raw["KeySchema"])
    if lsis:
        request["LocalSecondaryIndexes"] = lsis
    # Only key attributes may be defined (moto may have forgotten some: those must be present).
    definitions = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
    missing = sorted(used - definitions.keys())
    if missing:
        raise RestoreError(f"the exported description has no type for key attribute(s) {', '.join(missing)}")
    request["AttributeDefinitions"] = [{"AttributeName": n, "AttributeType": definitions[n]} for n in sorted(used)]
    stream = table.get("StreamSpecification") or {}
    if stream.get("StreamEnabled"):
        request["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": stream.get("StreamViewType", "NEW_AND_OLD_IMAGES"),
        }
    sse = table.get("SSEDescription") or {}
    if sse.get("Status") in ("ENABLED", "ENABLING", "UPDATING") and sse.get("SSEType") == "KMS":
        spec: dict[str, Any] = {"Enabled": True, "SSEType": "KMS"}
        if sse.get("KMSMasterKeyArn"):
            spec["KMSMasterKeyId"] = sse["KMSMasterKeyArn"]
        request["SSESpecification"] = spec
    table_class = (table.get("TableClassSummary") or {}).get("TableClass")
    if table_class:
        request["TableClass"] = table_class
    if table.get("DeletionProtectionEnabled"):
        request["DeletionProtectionEnabled"] = True
    tags = document.get("Tags")
    if tags:
        request["Tags"] = [{"Key": t["Key"], "Value": t["Value"]} for t in tags]
    return request


def _wait_active(client: DynamoDBClient, name: str, timeout: float) -> None:
    for delay in Backoff(timeout=timeout).delays():
        table = describe(client, name)  # None for a moment right after CreateTable: eventual consistency
        if table is not None and is_settled(table):
            return
        time.sleep(delay)
    raise RestoreError(f"{name} did not become ACTIVE within {timeout:g}s")


def _has_items(client: DynamoDBClient, name: str) -> bool:
    # Without a filter, Limit=1 evaluates the first item, if there is one: one cheap read.
    return int(client.scan(TableName=name, Limit=1, Select="COUNT").get("Count", 0)) > 0


def write_batch(
    client: DynamoDBClient,
    name: str,
    items: list[dict[str, Any]],
    *,
    attempts: int = 12,
    first_delay: float = 0.05,
    max_delay: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """BatchWriteItem of up to 25 items, retrying UnprocessedItems with exponential backoff."""
    pending: dict[str, Any] = {name: [{"PutRequest": {"Item": item}} for item in items]}
    delay = first_delay
    for _ in range(attempts):
        response = client.batch_write_item(RequestItems=pending)
        pending = {k: v for k, v in (response.get("UnprocessedItems") or {}).items() if v}
        if not pending:
            return
        sleep(delay)
        delay = min(delay * 2, max_delay)
    left = sum(len(v) for v in pending.values())
    raise RestoreError(f"{name}: {left} items still unprocessed after {attempts} BatchWriteItem attempts")


def _batches(path: Path, size: int = BATCH_SIZE) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    with path.open("r", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                batch.append(decode_item(line))
            except (ValueError, TypeError, AttributeError) as exc:
                raise RestoreError(f"{path}:{number}: not a DynamoDB JSON item: {exc}") from None
            if len(batch) == size:
                yield batch
                batch = []
    if batch:
        yield batch


def restore_table(
    client: DynamoDBClient,
    directory: Path,
    source: str,
    *,
    as_name: str | None = None,
    into_existing: bool = False,
    parallelism: int = 8,
    wait_timeout: float = 600.0,
    on_progress: Progress | None = None,
) -> RestoreResult:
    """Re-create `source` from DIR (as `as_name` if given) and write its items back."""
    started = time.monotonic()
    document = read_schema(directory, source)
    data = items_path(directory, source)
    if not data.is_file():
        raise RestoreError(f"{data} not found: the export of {source} has no items file")
    expected = document.get("ItemCount")
    # Decode every line before anything is created: a bad line must not leave a half-restored table.
    on_disk = sum(len(batch) for batch in _batches(data))
    if isinstance(expected, int) and on_disk != expected:
        raise RestoreError(f"{data} holds {on_disk} items but the export recorded {expected}: refusing")
    name = as_name or source
    request = create_table_request(document, name)
    created = False
    try:
        existing = client.describe_table(TableName=name)["Table"]
    except client.exceptions.ResourceNotFoundException:
        existing = None
    if existing is None:
        client.create_table(**request)
        created = True
        if on_progress:
            on_progress(name, "creating table")
    else:
        want = sorted((k["AttributeName"], k["KeyType"]) for k in request["KeySchema"])
        have = sorted((k["AttributeName"], k["KeyType"]) for k in existing["KeySchema"])
        if want != have:
            raise RestoreError(f"{name} already exists with a different key schema: refusing to write into it")
    _wait_active(client, name, wait_timeout)
    if existing is not None and not into_existing and _has_items(client, name):
        raise RestoreError(f"{name} already exists and holds items: pass --into-existing to write into it anyway")

    ttl_attribute: str | None = None
    ttl = document.get("TimeToLiveDescription") or {}
    if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and ttl.get("AttributeName"):
        ttl_attribute = ttl["AttributeName"]
        live_ttl = client.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
        if live_ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            client.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute}
            )

    written = 0
    lock = threading.Lock()

    def write(batch: list[dict[str, Any]]) -> None:
        nonlocal written
        write_batch(client, name, batch)
        with lock:
            written += len(batch)
            done = written
        if on_progress:
            on_progress(name, f"restored {done}/{on_disk} items")

    with ThreadPoolExecutor(max_workers=max(1, parallelism), thread_name_prefix=f"restore-{name}") as pool:
        # Bounded in-flight work: at most 2×parallelism batches read ahead of the writers.
        inflight: list[Any] = []
        for batch in _batches(data):
            inflight.append(pool.submit(write, batch))
            if len(inflight) >= 2 * max(1, parallelism):
                inflight.pop(0).result()
        for future in inflight:
            future.result()
    if on_progress:
        on_progress(name, f"done: {written} items written")
    return RestoreResult(source, name, created, written, ttl_attribute, time.monotonic() - started)
