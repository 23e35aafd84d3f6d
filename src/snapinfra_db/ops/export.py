"""Export: a table's items to ``DIR/<table>.jsonl`` and its description to ``DIR/<table>.schema.json``.

An export is either complete and verified or absent: both files are written under temporary names
in the same directory, flushed and fsynced, the lines counted against the items scanned, and only
then renamed into place. On any error the temporary files are removed and ``ExportError`` is raised,
so the caller (purge) never deletes a table whose copy is not known good.

No printing: progress goes through an optional callback.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snapinfra_db.dirs import open_private
from snapinfra_db.errors import SnapinfraError
from snapinfra_db.ops.export_files import (
    FORMAT,
    ExportError,
    check_writable_dir,
    count_lines,
    encode_item,
    fsync_dir,
    items_path,
    json_default,
    schema_path,
)
from snapinfra_db.ops.progress import TableProgress
from snapinfra_db.reconcile.live import list_tags

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Above this size (DescribeTable's approximate TableSizeBytes) the scan runs in parallel segments.
SEGMENT_THRESHOLD_BYTES = 256 * 1024 * 1024
SEGMENT_BYTES = 256 * 1024 * 1024
MAX_SEGMENTS = 16


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
    on_progress: TableProgress | None = None,
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
        with open_private(tmp_items) as handle:
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
        on_disk = count_lines(tmp_items)
        if on_disk != written or written != scanned:
            raise ExportError(f"export of {table} is incomplete: {written} items scanned but {on_disk} lines written")
        document = {
            "Format": FORMAT,
            "ExportedAt": datetime.now(UTC).isoformat(timespec="seconds"),
            "ItemCount": written,
            "ItemsFile": final_items.name,
            **schema,
        }
        with open_private(tmp_schema) as handle:
            json.dump(document, handle, indent=2, default=json_default, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        _refuse_existing(final_items, final_schema)  # again: it may have appeared meanwhile
        os.replace(tmp_items, final_items)
        os.replace(tmp_schema, final_schema)
        fsync_dir(directory)
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
