"""Restore from an export: re-create the table from its ``schema.json`` and write every item back.

The table is created through the same CreateTable builder as apply (reconcile.requests), from the
exported description reflected into a catalog entry. Every line is decoded before anything is
created, so a bad line never leaves a half-restored table. No printing: progress goes through an
optional callback.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snapinfra_db.aws import message_of
from snapinfra_db.catalog.models import NAME_RE
from snapinfra_db.errors import SnapinfraError
from snapinfra_db.ops.export_files import decode_item, items_path, schema_path
from snapinfra_db.ops.item_writes import BATCH_SIZE, has_items, write_batch
from snapinfra_db.ops.progress import TableProgress
from snapinfra_db.reconcile.live import as_spec, describe, is_active, reflect
from snapinfra_db.reconcile.requests import create_table_request
from snapinfra_db.waiting import STATUS, WaitTimeout, wait_for

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


# --------------------------------------------------------------------------- restore




class RestoreError(SnapinfraError):
    """A restore was refused or could not be completed."""


@dataclass(frozen=True)
class RestoreResult:
    source: str  # the exported table's name
    table: str  # the table written to
    created: bool
    items: int
    ttl_enabled: str | None
    seconds: float


def check_table_name(name: str, what: str = "table name") -> None:
    """DynamoDB's table-name rule (validate's NAME_RE), checked before any call; a RestoreError if broken."""
    if not NAME_RE.match(name):
        raise RestoreError(f"{what} '{name}': a table name must be 3-255 characters of A-Z a-z 0-9 _ . -")


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


def restore_request(document: dict[str, Any], name: str) -> dict[str, Any]:
    """The CreateTable request that re-creates an exported table as `name`: the exported description
    reflected into a catalog entry, then apply's own builder (read-only fields fall away on the way)."""
    tags = {t["Key"]: t["Value"] for t in document.get("Tags") or [] if isinstance(t, dict)}
    try:
        live = reflect(document["Table"], None, None, tags or None)
        spec = as_spec(live, key=name, name=name, env="RESTORED_TABLE")
    except (KeyError, TypeError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        source = document["Table"].get("TableName")
        raise RestoreError(f"the exported description of {source} is unusable: {exc}") from None
    return create_table_request(spec)


def _wait_active(client: DynamoDBClient, name: str, timeout: float) -> None:
    def active() -> bool | None:
        table = describe(client, name)  # None for a moment right after CreateTable: eventual consistency
        return True if table is not None and is_active(table) else None

    try:
        wait_for(active, STATUS.within(timeout), what=f"{name} to become ACTIVE")
    except WaitTimeout:
        raise RestoreError(f"{name} did not become ACTIVE within {timeout:g}s") from None


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
    on_progress: TableProgress | None = None,
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
    request = restore_request(document, name)
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
    if existing is not None and not into_existing and has_items(client, name):
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


@dataclass
class RestoreOutcome:
    results: list[RestoreResult]
    failures: dict[str, str]  # exported table → why it was not restored


def restore_tables(
    client: DynamoDBClient,
    directory: Path,
    tables: list[str],
    *,
    as_name: str | None = None,
    into_existing: bool = False,
    parallelism: int = 10,
    wait_timeout: float = 600.0,
    on_progress: TableProgress | None = None,
    on_failure: Callable[[str, str], None] | None = None,
) -> RestoreOutcome:
    """Restore each table of an export; one table's failure never stops the others.

    Tables are independent: they are restored at once, sharing `parallelism` between them so that
    the writes in flight stay within the client's connection pool.
    """
    if as_name is not None:
        check_table_name(as_name, "--as")
    tables_at_once = max(1, min(len(tables), parallelism))
    writers_per_table = max(1, parallelism // tables_at_once)

    def restore(source: str) -> RestoreResult:
        return restore_table(
            client,
            directory,
            source,
            as_name=as_name,
            into_existing=into_existing,
            parallelism=writers_per_table,
            wait_timeout=wait_timeout,
            on_progress=on_progress,
        )

    outcome = RestoreOutcome([], {})
    with ThreadPoolExecutor(max_workers=tables_at_once) as pool:
        futures = {source: pool.submit(restore, source) for source in tables}
        for source, future in futures.items():
            try:
                outcome.results.append(future.result())
            except Exception as exc:
                outcome.failures[source] = message_of(exc)
                if on_failure is not None:
                    on_failure(source, outcome.failures[source])
    return outcome
