"""Restore a table into a new one: to a point in time (RestoreTableToPointInTime) or from an on-demand
backup (RestoreTableFromBackup), every check made before the call, then waited for until ACTIVE.

Before anything is asked of DynamoDB to change: the new name must be free (a restore never writes
into or replaces a table), a point in time must lie in the table's restorable window
(DescribeContinuousBackups: EarliestRestorableDateTime .. LatestRestorableDateTime, PITR on), and a
backup must be AVAILABLE and of this very table (DescribeBackup). An endpoint without backups
(DynamoDB Local) raises BackupsUnsupported. What a restore does not carry (TTL, PITR, tags, stream,
deletion protection) is the command line's next step: the catalog entry, through apply's executor.

Nothing here prints: progress goes through a callback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from snapinfra_db.errors import SnapinfraError, error_code
from snapinfra_db.ops.backups import BackupsUnsupported, utc_text
from snapinfra_db.reconcile.live import UNSUPPORTED_CODES, describe, is_active
from snapinfra_db.waiting import STATUS, Backoff, Clock, WaitTimeout, wait_for

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class RestoreRefused(SnapinfraError):
    """The restore was not started: the checks before the call said no."""


class RestoreStillRunning(SnapinfraError):
    """The restore was started and DynamoDB carries on, but it did not finish within the wait."""


@dataclass(frozen=True)
class Source:
    """What a table is restored from: a point in time (`when`), the latest restorable time, or a backup."""

    kind: Literal["time", "latest", "backup"]
    when: datetime | None = None
    backup_arn: str | None = None

    def describe(self) -> str:
        if self.kind == "time":
            return f"its state at {utc_text(self.when)}"
        if self.kind == "latest":
            return "its latest restorable time"
        return f"backup {self.backup_arn}"


def parse_time(text: str, option: str = "--to-time") -> datetime:
    """An ISO 8601 time with its zone (`2024-05-01T09:08:07Z`, `...+02:00`). A time without a zone is
    refused rather than guessed: an hour off in a restore is the wrong data."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise RestoreRefused(
            f"{option} '{text}': not an ISO 8601 time (e.g. 2024-05-01T09:08:07Z or 2024-05-01T11:08:07+02:00)"
        ) from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise RestoreRefused(
            f"{option} '{text}' has no time zone: add one (Z for UTC, e.g. {text.strip()}Z, "
            "or an offset such as +02:00)"
        )
    return when


def _unsupported(exc: BaseException, operation: str) -> BaseException:
    if error_code(exc) in UNSUPPORTED_CODES:
        return BackupsUnsupported("point-in-time restore and backups", operation)
    return exc


def restorable_window(client: DynamoDBClient, table: str) -> tuple[datetime, datetime]:
    """(earliest, latest) restorable time of `table`; RestoreRefused when it does not exist or PITR is off."""
    try:
        answer = client.describe_continuous_backups(TableName=table)
    except Exception as exc:
        if error_code(exc) in ("TableNotFoundException", "ResourceNotFoundException"):
            raise RestoreRefused(
                f"{table} does not exist: a point in time needs the table; restore a backup of it instead "
                "(--from-backup ARN; `snapinfra-db backup list` shows them, deleted tables' SYSTEM backups too)"
            ) from None
        raise _unsupported(exc, "DescribeContinuousBackups") from None
    pitr = (answer.get("ContinuousBackupsDescription") or {}).get("PointInTimeRecoveryDescription") or {}
    earliest, latest = pitr.get("EarliestRestorableDateTime"), pitr.get("LatestRestorableDateTime")
    if pitr.get("PointInTimeRecoveryStatus") != "ENABLED" or earliest is None or latest is None:
        raise RestoreRefused(
            f"point-in-time recovery is off for {table} ({pitr.get('PointInTimeRecoveryStatus', 'DISABLED')}): "
            "there is no point in time to restore to; restore a backup (--from-backup ARN), and turn PITR on "
            "in the catalog (point_in_time_recovery) and apply"
        )
    return earliest, latest


def check_backup(client: DynamoDBClient, arn: str, table: str) -> dict[str, Any]:
    """DescribeBackup's answer for `arn`, which must be AVAILABLE and a backup of `table`."""
    try:
        description: dict[str, Any] = dict(client.describe_backup(BackupArn=arn)["BackupDescription"])
    except Exception as exc:
        if error_code(exc) in ("BackupNotFoundException", "ValidationException"):
            raise RestoreRefused(
                f"--from-backup {arn}: no such backup ({error_code(exc)}); `snapinfra-db backup list` shows them"
            ) from None
        raise _unsupported(exc, "DescribeBackup") from None
    details = description.get("BackupDetails") or {}
    source = (description.get("SourceTableDetails") or {}).get("TableName")
    if source != table:
        raise RestoreRefused(
            f"--from-backup {arn} is a backup of {source}, not of {table}: the catalog entry applied after the "
            f"restore would be {table}'s; name the catalog table the backup was made of"
        )
    if details.get("BackupStatus") != "AVAILABLE":
        status = details.get("BackupStatus")
        raise RestoreRefused(f"--from-backup {arn} is {status}, not AVAILABLE: it cannot be restored")
    return description


def check_free(client: DynamoDBClient, new_name: str) -> None:
    """RestoreRefused when `new_name` exists: a restore never writes into or replaces a table."""
    existing = describe(client, new_name)
    if existing is not None:
        raise RestoreRefused(
            f"{new_name} already exists ({existing.get('TableStatus')}): a restore makes a new table and never "
            "writes into or replaces one; pick another --as name"
        )


def check_restore(client: DynamoDBClient, table: str, new_name: str, source: Source) -> None:
    """Every check made before a restore is asked for (RestoreRefused, or BackupsUnsupported): nothing is
    created when one fails."""
    check_free(client, new_name)
    if source.kind == "backup":
        assert source.backup_arn is not None
        check_backup(client, source.backup_arn, table)
    else:
        earliest, latest = restorable_window(client, table)
        if source.kind == "time":
            assert source.when is not None
            if not earliest <= source.when <= latest:
                raise RestoreRefused(
                    f"--to-time {utc_text(source.when)} is outside {table}'s restorable window "
                    f"({utc_text(earliest)} .. {utc_text(latest)}): pick a time in it, or --latest"
                )


def request_restore(
    client: DynamoDBClient,
    table: str,
    new_name: str,
    source: Source,
    on_event: Callable[[str], None] = lambda message: None,
) -> dict[str, Any]:
    """The one restore call (after `check_restore`); its TableDescription."""
    on_event(f"restoring {table} from {source.describe()}")
    try:
        if source.kind == "backup":
            assert source.backup_arn is not None
            answer = client.restore_table_from_backup(TargetTableName=new_name, BackupArn=source.backup_arn)
        elif source.kind == "latest":
            answer = client.restore_table_to_point_in_time(
                SourceTableName=table, TargetTableName=new_name, UseLatestRestorableTime=True
            )
        else:
            assert source.when is not None
            answer = client.restore_table_to_point_in_time(
                SourceTableName=table, TargetTableName=new_name, RestoreDateTime=source.when
            )
    except Exception as exc:
        if error_code(exc) in ("TableAlreadyExistsException", "ResourceInUseException"):
            raise RestoreRefused(f"{new_name} already exists: pick another --as name") from None
        operation = "RestoreTableFromBackup" if source.kind == "backup" else "RestoreTableToPointInTime"
        raise _unsupported(exc, operation) from None
    return dict(answer.get("TableDescription") or {})


def check_resumable(client: DynamoDBClient, table: str, new_name: str) -> None:
    """For --resume: `new_name` must exist and be a restore of `table` (its RestoreSummary says so), so that
    the catalog entry of `table` is never applied to an unrelated table."""
    existing = describe(client, new_name)
    if existing is None:
        raise RestoreRefused(f"{new_name} does not exist: nothing to resume (restore it without --resume)")
    summary = existing.get("RestoreSummary") or {}
    source_arn = str(summary.get("SourceTableArn") or "")
    backup_arn = str(summary.get("SourceBackupArn") or "")
    if not (source_arn.endswith(f":table/{table}") or f":table/{table}/backup/" in backup_arn):
        raise RestoreRefused(
            f"{new_name} is not a restore of {table} (no RestoreSummary naming it): --resume applies {table}'s "
            "catalog entry only to a table restored from it"
        )


def wait_restored(
    client: DynamoDBClient,
    new_name: str,
    *,
    curve: Backoff = STATUS,
    clock: Clock | None = None,
    on_event: Callable[[str], None] = lambda message: None,
    resume_hint: str = "",
) -> dict[str, Any]:
    """Poll DescribeTable until `new_name` is ACTIVE, its indexes too, and the restore no longer in progress.

    RestoreStillRunning when `curve.timeout` passes first (DynamoDB carries on). A Ctrl-C (the clock's
    stop, or a KeyboardInterrupt) passes through.
    """
    last: dict[str, Any] | None = None
    said = ""

    def restored() -> dict[str, Any] | None:
        nonlocal last, said
        last = describe(client, new_name)  # None for a moment right after the call: eventual consistency
        in_progress = bool(((last or {}).get("RestoreSummary") or {}).get("RestoreInProgress"))
        if last is not None and is_active(last) and not in_progress:
            return last
        state = f"restoring: table {(last or {}).get('TableStatus', 'not visible yet')}"
        if state != said:
            said = state
            on_event(state)
        return None

    try:
        done = wait_for(restored, curve, what=f"{new_name} restored", clock=clock)
    except WaitTimeout:
        status = (last or {}).get("TableStatus", "not visible yet")
        raise RestoreStillRunning(
            f"{new_name} is still {status} after {curve.timeout:g}s; DynamoDB carries on with the restore{resume_hint}"
        ) from None
    on_event("restored: ACTIVE")
    return done
