"""`migrate`: copy every item of SOURCE into TARGET through a mapping, resumably; catch up from
SOURCE's stream; verify TARGET against SOURCE. No printing: progress goes through a callback.

**Never loses an item.** SOURCE is only read (Scan, GetItem, its stream). Each item is mapped
(ops.mapping) and written with BatchWriteItem (unprocessed items sent again along a backoff, a
shared pace that slows every writer down when DynamoDB throttles and speeds up again when it does
not), or written to a reject file with the reason. The copy is a parallel Scan (`Segment` /
`TotalSegments`); each segment has a checkpoint (its `ExclusiveStartKey`, its counts, how far its
reject file was written) saved after every page is written, so an interrupted copy (Ctrl-C,
SIGKILL, a crash) continues from the last page written: at most one page per segment is read and
written again, and a PutItem of the same item is harmless (idempotent).

**Where.** One folder per (endpoint, SOURCE, TARGET) under the state folder:
``$SNAPINFRA_DB_STATE/migrations/<SOURCE>--<TARGET>-<hash>/`` (0700; files 0600): ``migration.json``
(mapping digest, segments, phase, stream position), ``segment-NNN.json``, ``rejects-NNN.jsonl``
(one ``{"reason", "item"}`` a line) and ``rejects-stream.jsonl``.

**Catch-up.** The stream's ARN and shards are recorded before the scan. Afterwards every shard is
read (parents before children) from its oldest record, or from the last one applied (saved per
shard), and each INSERT/MODIFY/REMOVE goes through the same mapping: replaying in order is
idempotent (an older image is overwritten by the newer ones that follow), so starting at the
stream's horizon gives the same TARGET as starting at the exact moment of the scan.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snapinfra_db.dirs import private_dir, private_file, state_dir, write_private
from snapinfra_db.errors import SnapinfraError, error_code
from snapinfra_db.ops.export_files import decode_value, encode_item, encode_value
from snapinfra_db.ops.item_writes import BATCH_SIZE, UNPROCESSED, Pace, has_items, write_batch
from snapinfra_db.ops.mapping import (
    IDENTITY,
    Item,
    ItemMapping,
    Rejected,
    item_digest,
    key_of,
    key_text,
)
from snapinfra_db.waiting import Clock, wait_for

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

FORMAT = "snapinfra-db-migration/1"
GET_BATCH = 100  # BatchGetItem's maximum
DEFAULT_PAGE_SIZE = 500  # items per Scan page: one checkpoint per page and segment
#: How often an idle follow polls the stream.
FOLLOW_POLL = 0.25


class MigrateError(SnapinfraError):
    """A migration was refused or could not go on; what was written stays (the checkpoint too)."""


# --------------------------------------------------------------------------- progress


@dataclass(frozen=True)
class Progress:
    phase: str  # "copy", "follow" or "verify"
    read: int
    written: int
    rejected: int
    estimate: int | None  # SOURCE's approximate item count (DescribeTable), for the ETA
    elapsed: float
    resumed_from: int = 0  # items already copied by an earlier run (not part of the rate)
    lag: float | None = None  # follow: seconds behind SOURCE's stream (0: caught up)


ProgressCallback = Callable[[Progress], None]


# --------------------------------------------------------------------------- pace


# --------------------------------------------------------------------------- tables


def key_schema(client: DynamoDBClient, table: str) -> dict[str, str]:
    """A table's key attributes and their types (partition key first), from DescribeTable."""
    try:
        description = client.describe_table(TableName=table)["Table"]
    except client.exceptions.ResourceNotFoundException:
        raise MigrateError(f"table {table} does not exist") from None
    types = {d["AttributeName"]: d["AttributeType"] for d in description.get("AttributeDefinitions", [])}
    ordered = sorted(description["KeySchema"], key=lambda k: k["KeyType"] != "HASH")
    return {k["AttributeName"]: types.get(k["AttributeName"], "S") for k in ordered}


def describe(client: DynamoDBClient, table: str) -> dict[str, Any] | None:
    try:
        return dict(client.describe_table(TableName=table)["Table"])
    except client.exceptions.ResourceNotFoundException:
        return None


# --------------------------------------------------------------------------- the folder


def migration_dir(source: dict[str, Any], target: str) -> Path:
    """The folder of the migration of SOURCE (its description: the ARN names region and account, the
    creation time this very table, not one re-created under its name) into TARGET, whichever URL
    reaches the endpoint."""
    created = source.get("CreationDateTime")
    identity = f"{source.get('TableArn')}\n{created.isoformat() if isinstance(created, datetime) else created}"
    where = hashlib.sha256(f"{identity}\n{target}".encode()).hexdigest()[:10]
    return state_dir() / "migrations" / f"{source['TableName']}--{target}-{where}"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise MigrateError(f"{path}: unreadable checkpoint ({exc}); delete the folder to start over") from None
    return document if isinstance(document, dict) else None


def _write_json(path: Path, document: dict[str, Any]) -> None:
    write_private(path, json.dumps(document, indent=1, sort_keys=True) + "\n")


def _encode_key(key: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if key is None else {k: encode_value(v) for k, v in key.items()}


def _decode_key(key: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if key is None else {k: decode_value(v) for k, v in key.items()}


@dataclass
class Segment:
    number: int
    start_key: dict[str, Any] | None = None
    done: bool = False
    read: int = 0
    written: int = 0
    rejected: int = 0
    rejects_bytes: int = 0

    def document(self) -> dict[str, Any]:
        return {
            "segment": self.number,
            "exclusive_start_key": _encode_key(self.start_key),
            "done": self.done,
            "read": self.read,
            "written": self.written,
            "rejected": self.rejected,
            "rejects_bytes": self.rejects_bytes,
        }

    @classmethod
    def from_document(cls, number: int, document: dict[str, Any] | None) -> Segment:
        if document is None:
            return cls(number)
        return cls(
            number,
            _decode_key(document.get("exclusive_start_key")),
            bool(document.get("done")),
            int(document.get("read", 0)),
            int(document.get("written", 0)),
            int(document.get("rejected", 0)),
            int(document.get("rejects_bytes", 0)),
        )


class Checkpoint:
    """The folder of one migration and what it records."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.state_path = folder / "migration.json"
        self._lock = threading.Lock()
        self.state: dict[str, Any] = _read_json(self.state_path) or {}

    @property
    def exists(self) -> bool:
        return bool(self.state)

    def save(self) -> None:
        with self._lock:
            private_dir(self.folder)
            _write_json(self.state_path, self.state)

    def segment_path(self, number: int) -> Path:
        return self.folder / f"segment-{number:03d}.json"

    def rejects_path(self, number: int | None) -> Path:
        return self.folder / ("rejects-stream.jsonl" if number is None else f"rejects-{number:03d}.jsonl")

    def segment(self, number: int) -> Segment:
        return Segment.from_document(number, _read_json(self.segment_path(number)))

    def save_segment(self, segment: Segment) -> None:
        _write_json(self.segment_path(segment.number), segment.document())

    def segments(self) -> list[Segment]:
        return [self.segment(n) for n in range(int(self.state.get("segments", 0)))]

    def reset_copy(self) -> None:
        """A new pass: every segment from the start (the reject files too)."""
        for number in range(int(self.state.get("segments", 0))):
            self.segment_path(number).unlink(missing_ok=True)
            self.rejects_path(number).unlink(missing_ok=True)


def reject_line(item: Item, reason: str) -> str:
    return json.dumps({"reason": reason, "item": json.loads(encode_item(item))}, ensure_ascii=False) + "\n"


def _append(path: Path, text: str, keep: int | None = None) -> int:
    """Append `text` to `path` (0600), after cutting it to `keep` bytes; fsynced. The new size."""
    private_file(path)
    with path.open("r+b") as handle:
        if keep is not None:
            handle.truncate(keep)
        handle.seek(0, os.SEEK_END)
        handle.write(text.encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())
        return handle.tell()


# --------------------------------------------------------------------------- writing


def write_items(
    client: DynamoDBClient, table: str, items: list[Item], pace: Pace, clock: Clock, keys: dict[str, str]
) -> None:
    """BatchWriteItem in batches of 25 (a key twice in one batch starts the next one: DynamoDB refuses
    duplicates in a batch), each sent until nothing is left unprocessed."""
    batch: list[Item] = []
    seen: set[str] = set()
    for item in items:
        key = key_text(key_of(item, keys))
        if len(batch) == BATCH_SIZE or key in seen:
            write_batch(client, table, batch, clock, pace)
            batch, seen = [], set()
        batch.append(item)
        seen.add(key)
    if batch:
        write_batch(client, table, batch, clock, pace)


# --------------------------------------------------------------------------- copy


@dataclass
class CopyResult:
    source: str
    target: str
    folder: Path
    segments: int
    read: int
    written: int
    rejected: int
    mode: str  # new, resume or again (prepare's word)
    seconds: float
    throttled: int = 0
    reject_files: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class Job:
    source: str
    target: str
    endpoint: str
    mapping: ItemMapping = IDENTITY
    segments: int = 4
    page_size: int = DEFAULT_PAGE_SIZE
    into_existing: bool = False


def prepare(client: DynamoDBClient, job: Job) -> tuple[Checkpoint, str]:
    """The checkpoint of `job`, and what this run does: "new", "resume" or "again" (a finished copy
    copied once more, writing the same items). Refuses what could lose or mix data, before any write."""
    if job.source == job.target:
        raise MigrateError("SOURCE and TARGET are the same table")
    source = describe(client, job.source)
    if source is None:
        raise MigrateError(f"SOURCE {job.source} does not exist")
    checkpoint = Checkpoint(migration_dir(source, job.target))
    state = checkpoint.state
    if state:
        if state.get("format") != FORMAT:
            raise MigrateError(f"{checkpoint.state_path}: not a checkpoint of this version; delete the folder")
        if state.get("mapping") != job.mapping.digest():
            raise MigrateError(
                f"an earlier migration of {job.source} into {job.target} used another mapping "
                f"({checkpoint.folder}): run it with the same --map, or delete that folder to start over "
                "(with --into-existing, TARGET then holds items of both)"
            )
        return checkpoint, "again" if state.get("phase") in ("copied", "following") else "resume"
    if describe(client, job.target) is not None and has_items(client, job.target) and not job.into_existing:
        raise MigrateError(
            f"{job.target} already holds items and no earlier migration of {job.source} into it is recorded "
            f"here: pass --into-existing to write into it anyway (items with the same key are replaced)"
        )
    return checkpoint, "new"


def stream_of(description: dict[str, Any], source: str) -> str:
    """SOURCE's stream ARN from its description; MigrateError if it has no stream."""
    arn = description.get("LatestStreamArn")
    enabled = (description.get("StreamSpecification") or {}).get("StreamEnabled")
    if not arn or enabled is False:
        raise MigrateError(
            f"{source} has no stream: --follow reads the changes made during the copy from it. Enable it "
            "(stream: {enabled: true, view_type: NEW_AND_OLD_IMAGES}), then run migrate again; migrate "
            "never changes SOURCE"
        )
    return str(arn)


def record_stream(client: DynamoDBClient, streams: Any, checkpoint: Checkpoint, source: str) -> str:
    """Record SOURCE's stream (its ARN and shards) before the scan; MigrateError if it has none."""
    arn = stream_of(describe(client, source) or {}, source)
    recorded = checkpoint.state.get("stream") or {}
    if recorded.get("arn") != arn:
        shards = [s["ShardId"] for s in _shards(streams, arn)]
        checkpoint.state["stream"] = {
            "arn": arn,
            "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "shards_at_start": shards,
            "positions": {},
            "finished": [],
        }
        checkpoint.save()
    return arn


def copy_table(
    client: DynamoDBClient,
    job: Job,
    checkpoint: Checkpoint,
    mode: str,
    keys: dict[str, str],
    *,
    stop: threading.Event,
    on_progress: ProgressCallback | None = None,
) -> CopyResult:
    started = time.monotonic()
    clock = Clock(stop)
    state = checkpoint.state
    if mode == "new" or not state.get("segments"):
        state.update(
            format=FORMAT,
            source=job.source,
            target=job.target,
            endpoint=job.endpoint,
            mapping=job.mapping.digest(),
            segments=job.segments,
            page_size=job.page_size,
        )
    if mode == "again":
        checkpoint.reset_copy()
    state["phase"] = "copying"
    state["started_at"] = state.get("started_at") or datetime.now(UTC).isoformat(timespec="seconds")
    checkpoint.save()
    total = int(state["segments"])
    page_size = int(state.get("page_size") or job.page_size)
    segments = [checkpoint.segment(n) for n in range(total)]
    resumed_from = sum(s.read for s in segments)
    estimate = int((describe(client, job.source) or {}).get("ItemCount") or 0) or None
    pace = Pace(clock)
    lock = threading.Lock()

    def report() -> None:
        if on_progress is None:
            return
        with lock:
            read = sum(s.read for s in segments)
            written = sum(s.written for s in segments)
            rejected = sum(s.rejected for s in segments)
        on_progress(Progress("copy", read, written, rejected, estimate, time.monotonic() - started, resumed_from))

    def run(segment: Segment) -> None:
        if segment.done:
            return
        rejects = checkpoint.rejects_path(segment.number)
        keep: int | None = segment.rejects_bytes
        params: dict[str, Any] = {"TableName": job.source, "ConsistentRead": True, "Limit": page_size}
        if total > 1:
            params.update(Segment=segment.number, TotalSegments=total)
        while True:
            clock.check()
            if segment.start_key is not None:
                params["ExclusiveStartKey"] = segment.start_key
            pace.wait()
            page = client.scan(**params)
            pace.answer(dict(page))
            items = page.get("Items", [])
            mapped: list[Item] = []
            refused = ""
            for item in items:
                try:
                    mapped.append(job.mapping.apply(item, keys))
                except Rejected as why:
                    refused += reject_line(item, str(why))
            if mapped:
                write_items(client, job.target, mapped, pace, clock, keys)
            size = _append(rejects, refused, keep) if refused or keep is not None else segment.rejects_bytes
            keep = None
            last = page.get("LastEvaluatedKey")
            with lock:
                segment.read += len(items)
                segment.written += len(mapped)
                segment.rejected += len(items) - len(mapped)
                segment.rejects_bytes = size
                segment.start_key = last
                segment.done = last is None
            checkpoint.save_segment(segment)
            report()
            if segment.done:
                return

    pool = ThreadPoolExecutor(max_workers=total, thread_name_prefix=f"migrate-{job.source}")
    futures: list[Future[None]] = [pool.submit(run, s) for s in segments]
    try:
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)  # Ctrl-C reaches us
            for future in done:
                future.result()
    except BaseException:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    state["phase"] = "copied"
    state["copied_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    checkpoint.save()
    report()
    return CopyResult(
        job.source,
        job.target,
        checkpoint.folder,
        total,
        sum(s.read for s in segments),
        sum(s.written for s in segments),
        sum(s.rejected for s in segments),
        mode,
        time.monotonic() - started,
        pace.throttled,
        [p for p in (checkpoint.rejects_path(n) for n in range(total)) if p.exists() and p.stat().st_size],
    )


# --------------------------------------------------------------------------- stream catch-up


@dataclass
class FollowResult:
    applied: int = 0
    puts: int = 0
    deletes: int = 0
    rejected: int = 0
    caught_up: bool = False
    lag: float | None = None
    seconds: float = 0.0


def _shards(streams: Any, arn: str) -> list[dict[str, Any]]:
    shards: list[dict[str, Any]] = []
    params: dict[str, Any] = {"StreamArn": arn}
    while True:
        description = streams.describe_stream(**params)["StreamDescription"]
        shards.extend(description.get("Shards", []))
        last = description.get("LastEvaluatedShardId")
        if not last:
            return shards
        params["ExclusiveStartShardId"] = last


def parents_first(shards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Shards ordered so that a parent (when listed) comes before its children."""
    by_id = {s["ShardId"]: s for s in shards}
    ordered: list[dict[str, Any]] = []
    placed: set[str] = set()

    def place(shard: dict[str, Any], depth: int = 0) -> None:
        if shard["ShardId"] in placed:
            return
        parent = by_id.get(shard.get("ParentShardId") or "")
        if parent is not None and depth < len(shards):
            place(parent, depth + 1)
        placed.add(shard["ShardId"])
        ordered.append(shard)

    for shard in shards:
        place(shard)
    return ordered


def _age(record: dict[str, Any]) -> float | None:
    created = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        return max(0.0, time.time() - created.timestamp())
    return None


def follow_stream(
    client: DynamoDBClient,
    streams: Any,
    job: Job,
    checkpoint: Checkpoint,
    keys: dict[str, str],
    *,
    stop: threading.Event,
    until_caught_up: bool,
    on_progress: ProgressCallback | None = None,
) -> FollowResult:
    """Apply SOURCE's stream records to TARGET through the mapping until stopped (Ctrl-C), or, with
    `until_caught_up`, until one pass over every shard finds nothing new."""
    started = time.monotonic()
    clock = Clock(stop)
    stream = checkpoint.state["stream"]
    arn = stream["arn"]
    positions: dict[str, str] = stream.setdefault("positions", {})
    finished: list[str] = stream.setdefault("finished", [])
    checkpoint.state["phase"] = "following"
    checkpoint.save()
    iterators: dict[str, str] = {}
    result = FollowResult()
    rejects = checkpoint.rejects_path(None)
    pace = Pace(clock)

    def iterator_for(shard_id: str) -> str | None:
        if shard_id in iterators:
            return iterators[shard_id]
        params: dict[str, Any] = {"StreamArn": arn, "ShardId": shard_id}
        if shard_id in positions:
            params.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=positions[shard_id])
        else:
            params["ShardIteratorType"] = "TRIM_HORIZON"
        try:
            return str(streams.get_shard_iterator(**params)["ShardIterator"])
        except Exception as exc:
            if error_code(exc) == "TrimmedDataAccessException":
                raise MigrateError(
                    f"the stream of {job.source} no longer holds records after the last one applied (older than "
                    "its 24 h retention): copy again (delete the checkpoint folder, migrate --into-existing)"
                ) from None
            raise

    while True:
        clock.check()
        got = 0
        shards = parents_first(_shards(streams, arn))
        ids = {s["ShardId"] for s in shards}
        for shard in shards:
            shard_id = shard["ShardId"]
            parent = shard.get("ParentShardId")
            if shard_id in finished or (parent in ids and parent not in finished):
                continue
            iterator = iterator_for(shard_id)
            if iterator is None:
                continue
            try:
                answer = streams.get_records(ShardIterator=iterator, Limit=1000)
            except Exception as exc:
                if error_code(exc) == "ExpiredIteratorException":
                    iterators.pop(shard_id, None)
                    continue
                raise
            records = answer.get("Records", [])
            for record in records:
                _apply_record(client, job, keys, record, result, rejects, pace, clock)
                result.lag = _age(record)
            if records:
                positions[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
                got += len(records)
            following = answer.get("NextShardIterator")
            if following:
                iterators[shard_id] = following
            else:  # a closed shard, read to its end
                iterators.pop(shard_id, None)
                finished.append(shard_id)
            if records or not following:
                checkpoint.save()
        if got == 0:
            result.lag = 0.0
        if on_progress is not None:
            on_progress(
                Progress(
                    "follow",
                    result.applied,
                    result.puts + result.deletes,
                    result.rejected,
                    None,
                    time.monotonic() - started,
                    lag=result.lag,
                )
            )
        if got == 0:
            result.caught_up = True
            if until_caught_up:
                break
            clock.sleep(FOLLOW_POLL)
    result.seconds = time.monotonic() - started
    return result


def _apply_record(
    client: DynamoDBClient,
    job: Job,
    keys: dict[str, str],
    record: dict[str, Any],
    result: FollowResult,
    rejects: Path,
    pace: Pace,
    clock: Clock,
) -> None:
    event = record.get("eventName")
    data = record.get("dynamodb", {})
    old_image = data.get("OldImage")
    result.applied += 1

    def reject(item: Item, why: str) -> None:
        result.rejected += 1
        _append(rejects, reject_line(item, f"{event} {data.get('SequenceNumber')}: {why}"))

    old_key: Item | None = None
    if old_image is not None or event == "REMOVE":
        try:
            old_key = key_of(job.mapping.apply(old_image or data.get("Keys", {}), keys), keys)
        except Rejected as why:
            if event == "REMOVE":
                reject(old_image or data.get("Keys", {}), str(why))
                return
    if event == "REMOVE":
        assert old_key is not None
        pace.wait()
        pace.answer(dict(client.delete_item(TableName=job.target, Key=old_key)))
        result.deletes += 1
        return
    new_image = data.get("NewImage")
    if new_image is None:  # a KEYS_ONLY or OLD_IMAGE stream: read the item as it is now
        new_image = client.get_item(TableName=job.source, Key=data.get("Keys", {}), ConsistentRead=True).get("Item")
        if new_image is None:
            return  # deleted since: its REMOVE record follows
    try:
        mapped = job.mapping.apply(new_image, keys)
    except Rejected as why:
        reject(new_image, str(why))
        if old_key is not None:  # it was mappable before: its old copy must not stay behind in TARGET
            pace.wait()
            pace.answer(dict(client.delete_item(TableName=job.target, Key=old_key)))
            result.deletes += 1
        return
    if old_key is not None and key_text(old_key) != key_text(key_of(mapped, keys)):
        pace.wait()
        pace.answer(dict(client.delete_item(TableName=job.target, Key=old_key)))  # the mapped key moved
        result.deletes += 1
    pace.wait()
    pace.answer(dict(client.put_item(TableName=job.target, Item=mapped)))
    result.puts += 1


# --------------------------------------------------------------------------- verify


@dataclass
class VerifyResult:
    source: str
    target: str
    source_items: int = 0
    rejected: int = 0
    target_items: int = 0
    compared: int = 0
    matched: int = 0
    missing: list[str] = field(default_factory=list)  # keys (as text) expected in TARGET, not there
    differing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)  # in TARGET, mapped from no SOURCE item
    sample: int | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        counts_agree = self.sample is not None or self.target_items == self.source_items - self.rejected
        return counts_agree and not (self.missing or self.differing or self.extra)


def _scan_all(
    client: DynamoDBClient, table: str, segments: int, clock: Clock, select_count: bool = False
) -> Iterator[list[Item] | int]:
    """Every page of a parallel Scan (items, or counts with `select_count`), as the segments answer."""
    import queue

    pages: queue.Queue[Any] = queue.Queue(maxsize=4 * segments)
    done = object()
    quit_ = threading.Event()

    def put(value: Any) -> None:
        while not quit_.is_set():
            with contextlib.suppress(queue.Full):
                pages.put(value, timeout=0.1)
                return

    def run(number: int) -> None:
        try:
            params: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
            if segments > 1:
                params.update(Segment=number, TotalSegments=segments)
            if select_count:
                params["Select"] = "COUNT"
            while not quit_.is_set():
                clock.check()
                page = client.scan(**params)
                put(int(page.get("Count", 0)) if select_count else list(page.get("Items", [])))
                if not page.get("LastEvaluatedKey"):
                    break
                params["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            put(done)
        except BaseException as exc:
            put(exc)

    with ThreadPoolExecutor(max_workers=segments, thread_name_prefix=f"verify-{table}") as pool:
        for number in range(segments):
            pool.submit(run, number)
        left = segments
        try:
            while left:
                try:
                    page = pages.get(timeout=0.2)
                except queue.Empty:
                    continue
                if page is done:
                    left -= 1
                elif isinstance(page, BaseException):
                    raise page
                else:
                    yield page
        finally:
            quit_.set()


def verify(
    client: DynamoDBClient,
    source: str,
    target: str,
    mapping: ItemMapping,
    keys: dict[str, str],
    *,
    segments: int = 4,
    sample: int | None = None,
    stop: threading.Event,
    on_progress: ProgressCallback | None = None,
) -> VerifyResult:
    """Compare TARGET with SOURCE through the mapping. Full: every item of both (a digest per expected
    key is kept in memory, ~100 bytes an item); with `sample`, that many SOURCE items at random are read
    back from TARGET, and the counts compared."""
    started = time.monotonic()
    clock = Clock(stop)
    result = VerifyResult(source, target, sample=sample)
    expected: dict[str, str] = {}
    chosen: list[Item] = []
    rng = random.Random()
    for page in _scan_all(client, source, segments, clock):
        assert isinstance(page, list)
        for item in page:
            result.source_items += 1
            try:
                mapped = mapping.apply(item, keys)
            except Rejected:
                result.rejected += 1
                continue
            if sample is None:
                expected[key_text(key_of(mapped, keys))] = item_digest(mapped)
            elif len(chosen) < sample:
                chosen.append(mapped)
            else:  # reservoir sampling: every item equally likely
                slot = rng.randrange(result.source_items - result.rejected)
                if slot < sample:
                    chosen[slot] = mapped
        if on_progress is not None:
            on_progress(Progress("verify", result.source_items, 0, result.rejected, None, time.monotonic() - started))
    if sample is None:
        for page in _scan_all(client, target, segments, clock):
            assert isinstance(page, list)
            for item in page:
                result.target_items += 1
                key = key_text(key_of(item, keys))
                want = expected.pop(key, None)
                if want is None:
                    result.extra.append(key)
                elif want != item_digest(item):
                    result.differing.append(key)
                else:
                    result.matched += 1
                result.compared += 1
        result.missing = sorted(expected)
    else:
        counts = _scan_all(client, target, segments, clock, select_count=True)
        result.target_items = sum(n for n in counts if isinstance(n, int))
        for start in range(0, len(chosen), GET_BATCH):
            clock.check()
            wanted = {key_text(key_of(m, keys)): m for m in chosen[start : start + GET_BATCH]}
            found = _batch_get(client, target, [key_of(m, keys) for m in wanted.values()], clock)
            for key, mapped in wanted.items():
                result.compared += 1
                have = found.get(key)
                if have is None:
                    result.missing.append(key)
                elif item_digest(have) != item_digest(mapped):
                    result.differing.append(key)
                else:
                    result.matched += 1
    result.seconds = time.monotonic() - started
    return result


def _batch_get(client: DynamoDBClient, table: str, keys: list[Item], clock: Clock) -> dict[str, Item]:
    found: dict[str, Item] = {}
    names = list(keys[0]) if keys else []
    pending: dict[str, Any] = {table: {"Keys": keys, "ConsistentRead": True}}

    def send() -> bool | None:
        nonlocal pending
        response = client.batch_get_item(RequestItems=pending)
        for item in response.get("Responses", {}).get(table, []):
            found[key_text({n: item[n] for n in names})] = item
        pending = {k: v for k, v in (response.get("UnprocessedKeys") or {}).items() if v.get("Keys")}
        return True if not pending else None

    wait_for(send, UNPROCESSED, what=f"{table}: unprocessed keys", clock=clock)
    return found
