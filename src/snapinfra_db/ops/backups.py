"""On-demand backups: make one and wait until it is AVAILABLE (`backup`, and purge's copy before a
delete), make one of each of several tables at once, and list them (`backup list`).

An endpoint without backups (DynamoDB Local answers UnknownOperationException to CreateBackup and
ListBackups) raises ``BackupsUnsupported``, one line for the command line. Nothing here prints:
progress goes through a callback.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from snapinfra_db.aws import message_of
from snapinfra_db.errors import SnapinfraError, error_code
from snapinfra_db.ops.progress import TableProgress
from snapinfra_db.reconcile.live import UNSUPPORTED_CODES
from snapinfra_db.waiting import (
    PITR_NOT_READY,
    STATUS,
    Backoff,
    Clock,
    Interrupted,
    WaitTimeout,
    reading_pool,
    retry,
    wait_for,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

#: DynamoDB's rule for a backup name (CreateBackup's BackupName).
BACKUP_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
#: CreateBackup right after CreateTable: "Backups are being enabled for the table" (retried, as PITR is).
NOT_READY_CODES = frozenset({"ContinuousBackupsUnavailableException"})
NOT_FOUND_CODES = frozenset({"TableNotFoundException", "ResourceNotFoundException"})


class BackupsUnsupported(SnapinfraError):
    """The endpoint has no on-demand backups (DynamoDB Local)."""

    def __init__(self, what: str = "on-demand backups", operation: str = "CreateBackup") -> None:
        super().__init__(
            f"{what}: not supported by this endpoint ({operation} answered UnknownOperationException, as "
            "DynamoDB Local does: it has no backups)"
        )


class BackupNotAvailable(SnapinfraError):
    """The backup was made but did not become AVAILABLE (deleted meanwhile, or not within the wait)."""


def backup_name(table: str, now: datetime | None = None, label: str = "") -> str:
    """`<table>-<label>-<UTC yyyymmddThhmmssZ>` (`<table>-<stamp>` without a label), the table's name cut
    so that the whole stays within DynamoDB's 255 characters ([A-Za-z0-9_.-], as table names are)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    suffix = f"-{label}-{stamp}" if label else f"-{stamp}"
    return table[: 255 - len(suffix)] + suffix


@dataclass(frozen=True)
class Backup:
    """One backup as DynamoDB describes it (CreateBackup's BackupDetails or a ListBackups summary)."""

    table: str
    name: str
    arn: str
    status: str | None = None
    size_bytes: int | None = None
    created: datetime | None = None
    type: str | None = None

    @classmethod
    def of(cls, table: str, raw: dict[str, Any]) -> Backup:
        created = raw.get("BackupCreationDateTime")
        size = raw.get("BackupSizeBytes")
        return cls(
            table=str(raw.get("TableName") or table),
            name=str(raw.get("BackupName", "")),
            arn=str(raw.get("BackupArn", "")),
            status=raw.get("BackupStatus"),
            size_bytes=size if isinstance(size, int) else None,
            created=created.astimezone(UTC) if isinstance(created, datetime) else None,
            type=raw.get("BackupType"),
        )

    @property
    def created_utc(self) -> str | None:
        return utc_text(self.created)

    def to_json(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "name": self.name,
            "arn": self.arn,
            "status": self.status,
            "size_bytes": self.size_bytes,
            "created": self.created_utc,
            "type": self.type,
        }


def utc_text(when: datetime | None) -> str | None:
    """ISO 8601 in UTC, to the second: 2024-05-01T09:08:07Z."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if when is not None else None


def make_backup(
    client: DynamoDBClient,
    table: str,
    name: str,
    *,
    curve: Backoff = STATUS,
    clock: Clock | None = None,
    on_event: Callable[[str], None] = lambda message: None,
) -> Backup:
    """CreateBackup `name` of `table`, then wait along `curve` until DescribeBackup says AVAILABLE.

    BackupsUnsupported when the endpoint has no backups; BackupNotAvailable when the backup is deleted
    before it is AVAILABLE or the wait runs out; Interrupted (the clock's stop) passes through.
    """

    def not_ready(exc: BaseException) -> bool:
        return error_code(exc) in NOT_READY_CODES

    try:
        created = retry(
            lambda: client.create_backup(TableName=table, BackupName=name),
            PITR_NOT_READY,
            retryable=not_ready,
            clock=clock,
            on_retry=lambda exc, delay: on_event("backups are still being enabled for the table; retrying"),
        )
    except Exception as exc:
        if error_code(exc) in UNSUPPORTED_CODES:
            raise BackupsUnsupported() from None
        raise
    # Said once the call is answered: an endpoint without backups shows nothing but its one error line.
    on_event(f"creating backup {name}")
    details: dict[str, Any] = dict(created["BackupDetails"])
    arn = details["BackupArn"]
    status: str | None = details.get("BackupStatus")

    def available() -> bool | None:
        nonlocal status, details
        if status == "DELETED":
            raise BackupNotAvailable(f"backup {arn} was deleted before it became AVAILABLE")
        if status == "AVAILABLE":
            return True
        details = dict(client.describe_backup(BackupArn=arn)["BackupDescription"].get("BackupDetails", {}))
        status = details.get("BackupStatus")
        return True if status == "AVAILABLE" else None

    try:
        wait_for(
            available, curve, what=f"backup {arn}", clock=clock, on_wait=lambda delay: on_event(f"backup {status}")
        )
    except WaitTimeout:
        raise BackupNotAvailable(f"backup {arn} not AVAILABLE after {curve.timeout:g}s (still {status})") from None
    on_event(f"backup AVAILABLE: {arn}")
    return Backup.of(table, {**details, "BackupStatus": status})


# -- several tables at once (`backup`) -------------------------------------------------------


@dataclass(frozen=True)
class BackupResult:
    table: str
    backup: Backup | None = None
    error: str | None = None  # why there is no AVAILABLE backup of this table
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.backup is not None and self.error is None


class BackupsInterrupted(SnapinfraError):
    """Ctrl-C (or --timeout) while backups were made: `results` says what each table got."""

    def __init__(self, results: list[BackupResult]) -> None:
        self.results = results
        super().__init__(
            "interrupted: backups already requested finish in DynamoDB (see `snapinfra-db backup list`); "
            "no further backup was started"
        )


def back_up_tables(
    client: DynamoDBClient,
    tables: list[str],
    *,
    parallelism: int = 10,
    wait_timeout: float = STATUS.timeout,
    now: datetime | None = None,
    on_event: TableProgress | None = None,
) -> list[BackupResult]:
    """A backup `<table>-<UTC time>` of every table, all at once, each waited for until AVAILABLE.

    One table's failure (it does not exist, AWS refused) never stops the others. BackupsUnsupported
    once any table meets an endpoint without backups (they all do: it is the endpoint's);
    BackupsInterrupted on Ctrl-C, after the backups in flight were told to stop waiting.
    """
    if not tables:
        return []
    stop = threading.Event()
    clock = Clock(stop)
    curve = STATUS.within(wait_timeout)
    stamp = now or datetime.now(UTC)  # one timestamp for the whole run: the backups go together

    def one(table: str) -> BackupResult:
        started = time.monotonic()

        def event(message: str) -> None:
            if on_event is not None:
                on_event(table, message)

        try:
            made = make_backup(client, table, backup_name(table, stamp), curve=curve, clock=clock, on_event=event)
        except (BackupsUnsupported, Interrupted):
            raise
        except Exception as exc:
            if error_code(exc) in NOT_FOUND_CODES:
                why = f"{table} does not exist (apply creates it)"
            else:
                why = message_of(exc)
            event(f"failed: {why}")
            return BackupResult(table, error=why, seconds=round(time.monotonic() - started, 3))
        return BackupResult(table, backup=made, seconds=round(time.monotonic() - started, 3))

    pool = ThreadPoolExecutor(max_workers=max(1, min(parallelism, len(tables))), thread_name_prefix="backup")
    futures = [pool.submit(one, table) for table in tables]
    try:
        results = [f.result() for f in futures]
    except KeyboardInterrupt:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        done: list[BackupResult] = []
        for table, future in zip(tables, futures, strict=True):
            if future.cancelled() or future.exception() is not None:
                done.append(BackupResult(table, error="interrupted"))
            else:
                done.append(future.result())
        raise BackupsInterrupted(done) from None
    except BackupsUnsupported:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()
    return results


# -- listing (`backup list`) -----------------------------------------------------------------


def list_backups(client: DynamoDBClient, tables: list[str], *, parallelism: int = 10) -> list[Backup]:
    """Every backup of `tables` (ListBackups per table, every page, every type: yours, AWS Backup's and
    the SYSTEM ones DynamoDB keeps of deleted tables), newest first. BackupsUnsupported on DynamoDB Local."""

    def of_table(table: str) -> list[Backup]:
        found: list[Backup] = []
        kwargs: dict[str, Any] = {"TableName": table, "BackupType": "ALL"}
        seen: set[str] = set()
        while True:
            try:
                page = client.list_backups(**kwargs)
            except Exception as exc:
                if error_code(exc) in UNSUPPORTED_CODES:
                    raise BackupsUnsupported("listing backups", "ListBackups") from None
                raise
            found.extend(Backup.of(table, dict(raw)) for raw in page.get("BackupSummaries") or [])
            last = page.get("LastEvaluatedBackupArn")
            if not last or last in seen:  # a token handed out twice would loop for ever
                return found
            seen.add(last)
            kwargs["ExclusiveStartBackupArn"] = last

    if not tables:
        return []
    with reading_pool(min(parallelism, len(tables))) as pool:
        every = [b for found in pool.map(of_table, tables) for b in found]
    oldest = datetime.min.replace(tzinfo=UTC)
    return sorted(every, key=lambda b: (b.created or oldest, b.arn), reverse=True)
