"""Deleting tables without losing data by accident: shared by purge-legacy and destroy.

``survey`` reads what is there (DescribeTable's approximate figures, or an exact Scan COUNT) and
says, per table, which safeguard will run or why the table will be refused. ``Purger.run`` then
works on the tables concurrently; per table:

1. describe it (not found → already gone; DELETING → wait until gone);
2. refuse it, with every reason at once (and every flag that would change them): deletion protection
   on without ``--disable-deletion-protection``, a backup asked of an endpoint without backups, an
   earlier export in ``--export-dir``;
3. make the copies asked for, each known good before going on: the export (export.py, verified
   line count, atomic rename) and/or an on-demand backup waited for until AVAILABLE. An endpoint
   without backups (DynamoDB Local: UnknownOperationException) refuses the table;
4. turn deletion protection off (its own UpdateTable) if it was on;
5. DeleteTable and wait, with backoff, until DescribeTable says ResourceNotFound.

One table's failure never stops the others. Nothing here prints: progress goes through a callback.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from snapinfra_db.aws import message_of
from snapinfra_db.errors import SnapinfraError
from snapinfra_db.ops import backups
from snapinfra_db.ops.progress import TableProgress
from snapinfra_db.reconcile.live import describe, endpoint_kind_of, is_active
from snapinfra_db.waiting import STATUS, Clock, Interrupted, WaitTimeout, reading_pool, wait_for

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Status = Literal["deleted", "already gone", "skipped", "failed"]
#: Why a table is left alone (short) and which flag, or what else, would change that.
Cause = tuple[str, str]


def _causes_json(causes: tuple[Cause, ...]) -> list[dict[str, str]]:
    return [{"reason": reason, "hint": hint} for reason, hint in causes]


def joined(causes: tuple[Cause, ...]) -> tuple[str | None, str | None]:
    """Every cause in one (reason, hint) pair: the reasons joined by "; ", the hints likewise."""
    if not causes:
        return None, None
    return "; ".join(reason for reason, _ in causes), "; ".join(hint for _, hint in causes)


@dataclass(frozen=True)
class Safeguards:
    """What copy is made before a table is deleted."""

    backup: bool
    export_dir: Path | None

    @property
    def none(self) -> bool:
        return not self.backup and self.export_dir is None

    def short(self) -> str:
        parts = (["export"] if self.export_dir is not None else []) + (["backup"] if self.backup else [])
        return " + ".join(parts) if parts else "NONE"

    def describe(self) -> str:
        parts = []
        if self.export_dir is not None:
            parts.append(f"export every item to {self.export_dir}/<table>.jsonl (verified)")
        if self.backup:
            parts.append("on-demand backup <table>-purge-<UTC time>, waited for until AVAILABLE")
        return " and ".join(parts) if parts else "NO copy (--no-backup)"


@dataclass(frozen=True)
class Found:
    """One table as seen before anything is changed."""

    table: str
    exists: bool
    status: str | None = None
    item_count: int | None = None
    size_bytes: int | None = None
    exact_count: bool = False
    deletion_protection: bool = False
    endpoint_kind: str | None = None
    safeguard: str = ""
    # Why this table will be refused (nothing done to it), known before starting; None if it will go.
    # Every reason, joined by "; " (`causes` holds them one by one, each with its hint).
    refusal: str | None = None
    hint: str | None = None  # which flags would change that, every one of them
    causes: tuple[Cause, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "causes": _causes_json(self.causes)}


@dataclass
class PurgeResult:
    table: str
    status: Status
    reason: str | None = None
    hint: str | None = None
    backup_arn: str | None = None
    backup_name: str | None = None
    export_file: str | None = None
    schema_file: str | None = None
    items_exported: int | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    causes: tuple[Cause, ...] = ()  # a skipped table: each reason with its hint (`reason`/`hint` join them)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "causes": _causes_json(self.causes)}


class LeftAlone(SnapinfraError):
    """This table is left alone, on purpose: each cause is a short reason and the flag that would change it."""

    def __init__(self, *causes: Cause) -> None:
        reason, hint = joined(causes)
        super().__init__(reason or "left alone")
        self.hint = hint
        self.causes = causes


PROTECTED = (
    "deletion protection is on",
    "pass --disable-deletion-protection to turn deletion protection off (UpdateTable) and delete",
)
EXPORT_EXISTS = (
    "an earlier export is in the export directory",
    "an export of this table is already in --export-dir and is never overwritten: pass another --export-dir "
    "or move the old files away",
)
INTERRUPTED = ("interrupted: nothing more was done to this table", "run the command again to finish")
NO_BACKUPS = (
    "this endpoint cannot make backups",
    "DynamoDB Local has no backups (UnknownOperationException): pass --export-dir DIR to export the items "
    "first, or --no-backup to delete without a copy",
)


class PurgeInterrupted(SnapinfraError):
    """Ctrl-C: tables not yet deleted were left alone; `results` says what happened to each."""

    def __init__(self, results: list[PurgeResult]) -> None:
        self.results = results
        super().__init__(
            "interrupted: no further table was deleted (a DeleteTable already sent finishes in DynamoDB); "
            "run the command again to finish"
        )


def backup_name(table: str, now: datetime | None = None) -> str:
    """`<table>-purge-<UTC timestamp>`, trimmed to DynamoDB's 255 characters."""
    return backups.backup_name(table, now, label="purge")


def exact_count(client: DynamoDBClient, table: str) -> int:
    """The exact number of items: a paginated Scan with Select=COUNT (reads the whole table)."""
    pages = client.get_paginator("scan").paginate(TableName=table, Select="COUNT")
    return sum(int(page.get("Count", 0)) for page in pages)


def _backups_unsupported(endpoint_kind: str | None) -> bool:
    return endpoint_kind == "ddblocal"


def refusal_for(
    *,
    exists: bool,
    protected: bool,
    endpoint_kind: str | None,
    safeguards: Safeguards,
    disable_protection: bool,
    export_exists: bool = False,
) -> tuple[Cause, ...]:
    """Every (reason, hint) for which the table will be left alone; empty when it will go.

    All of them, not the first: an operator who passes the one flag named must not be refused
    again for a reason that was known all along.
    """
    if not exists:
        return ()
    causes: list[Cause] = []
    if protected and not disable_protection:
        causes.append(PROTECTED)
    if safeguards.backup and _backups_unsupported(endpoint_kind):
        causes.append(NO_BACKUPS)
    if export_exists:
        causes.append(EXPORT_EXISTS)
    return tuple(causes)


def export_exists(safeguards: Safeguards, table: str) -> bool:
    """Whether DIR already holds an export of `table` (which an export must never overwrite)."""
    if safeguards.export_dir is None:
        return False
    from snapinfra_db.ops.export_files import items_path, schema_path

    return items_path(safeguards.export_dir, table).exists() or schema_path(safeguards.export_dir, table).exists()


def survey(
    client: DynamoDBClient,
    tables: list[str],
    safeguards: Safeguards,
    *,
    disable_protection: bool = False,
    count_exactly: bool = False,
    parallelism: int = 10,
) -> list[Found]:
    """What each table looks like now, and what will happen to it. Changes nothing."""

    def one(name: str) -> Found:
        try:
            table = client.describe_table(TableName=name)["Table"]
        except client.exceptions.ResourceNotFoundException:
            return Found(table=name, exists=False, safeguard="-")
        endpoint_kind = endpoint_kind_of(table.get("TableArn", ""))
        protected = bool(table.get("DeletionProtectionEnabled", False))
        status = table.get("TableStatus")
        count: int | None = table.get("ItemCount")
        if count_exactly and status != "DELETING":
            try:
                count = exact_count(client, name)
            except client.exceptions.ResourceNotFoundException:
                return Found(table=name, exists=False, safeguard="-")
        causes = refusal_for(
            exists=True,
            protected=protected and status != "DELETING",
            endpoint_kind=endpoint_kind,
            safeguards=safeguards if status != "DELETING" else Safeguards(False, None),
            disable_protection=disable_protection,
            export_exists=status != "DELETING" and export_exists(safeguards, name),
        )
        return Found(
            table=name,
            exists=True,
            status=status,
            item_count=count,
            size_bytes=table.get("TableSizeBytes"),
            exact_count=count_exactly,
            deletion_protection=protected,
            endpoint_kind=endpoint_kind,
            safeguard=safeguards.short() if status != "DELETING" else "- (already being deleted)",
            refusal=joined(causes)[0],
            hint=joined(causes)[1],
            causes=causes,
        )

    if not tables:
        return []
    with reading_pool(min(parallelism, len(tables))) as pool:
        return list(pool.map(one, tables))


class Purger:
    """Copies, then deletes, a list of tables; concurrently, each table on its own."""

    def __init__(
        self,
        client: DynamoDBClient,
        safeguards: Safeguards,
        *,
        disable_protection: bool = False,
        parallelism: int = 10,
        wait_timeout: float = STATUS.timeout,
        on_event: TableProgress | None = None,
        export_segments: int | None = None,
    ) -> None:
        self.client = client
        self.stop = threading.Event()
        self.safeguards = safeguards
        self.disable_protection = disable_protection
        self.parallelism = parallelism
        self.status_curve = STATUS.within(wait_timeout)
        self.clock = Clock(self.stop)
        self.on_event = on_event
        self.export_segments = export_segments

    def _event(self, table: str, message: str) -> None:
        if self.on_event is not None:
            self.on_event(table, message)

    def run(self, tables: list[str]) -> list[PurgeResult]:
        """Every table's result, in the order given. Ctrl-C stops before any further deletion."""
        if not tables:
            return []
        pool = ThreadPoolExecutor(max_workers=max(1, min(self.parallelism, len(tables))), thread_name_prefix="purge")
        futures = [pool.submit(self.purge_one, name) for name in tables]
        try:
            results = [f.result() for f in futures]
        except KeyboardInterrupt:
            self.stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            done = [
                f.result()
                if not f.cancelled()
                else PurgeResult(table=name, status="skipped", reason="not started: interrupted")
                for name, f in zip(tables, futures, strict=True)
            ]
            raise PurgeInterrupted(done) from None
        pool.shutdown()
        return results

    def _check_stop(self) -> None:
        if self.stop.is_set():
            raise LeftAlone(INTERRUPTED)

    # -- one table ---------------------------------------------------------------------------

    def purge_one(self, name: str) -> PurgeResult:
        started = time.monotonic()
        result = PurgeResult(table=name, status="failed")
        try:
            self._purge(name, result)
        except LeftAlone as exc:
            result.status, result.reason, result.hint, result.causes = "skipped", str(exc), exc.hint, exc.causes
            self._event(name, f"skipped: {exc}")
        except Exception as exc:
            result.status, result.reason = "failed", message_of(exc)
            self._event(name, f"failed: {result.reason}")
        result.seconds = round(time.monotonic() - started, 3)
        return result

    def _wait_settled(self, name: str) -> dict[str, Any] | None:
        """Wait while the table is CREATING/UPDATING (or an index is busy); None once it is gone."""
        last: dict[str, Any] | None = None

        def settled() -> tuple[dict[str, Any] | None] | None:
            nonlocal last
            last = describe(self.client, name)
            if last is None or last.get("TableStatus") == "DELETING" or is_active(last):
                return (last,)
            return None

        def waiting(delay: float) -> None:
            self._event(name, f"waiting: table {(last or {}).get('TableStatus')}")

        try:
            return wait_for(settled, self.status_curve, what=name, clock=self.clock, on_wait=waiting)[0]
        except WaitTimeout:
            status = (last or {}).get("TableStatus")
            raise SnapinfraError(f"{name} stayed {status} for {self.status_curve.timeout:g}s") from None
        except Interrupted:
            raise LeftAlone(INTERRUPTED) from None

    def _purge(self, name: str, result: PurgeResult) -> None:
        table = self._wait_settled(name)
        if table is None:
            result.status = "already gone"
            return
        if table.get("TableStatus") == "DELETING":
            self._event(name, "already being deleted; waiting until gone")
            self._wait_gone(name)
            result.status = "already gone"
            return
        protected = bool(table.get("DeletionProtectionEnabled", False))
        endpoint_kind = endpoint_kind_of(table.get("TableArn", ""))
        causes = refusal_for(
            exists=True,
            protected=protected,
            endpoint_kind=endpoint_kind,
            safeguards=self.safeguards,
            disable_protection=self.disable_protection,
            export_exists=export_exists(self.safeguards, name),
        )
        if causes:
            raise LeftAlone(*causes)
        self._check_stop()

        if self.safeguards.export_dir is not None:
            from snapinfra_db.ops.export import export_table

            self._event(name, f"exporting to {self.safeguards.export_dir}")
            exported = export_table(
                self.client,
                name,
                self.safeguards.export_dir,
                segments=self.export_segments,
                on_progress=self._event,
                cancel=self.stop,
            )
            result.export_file = str(exported.items_file)
            result.schema_file = str(exported.schema_file)
            result.items_exported = exported.items
            self._event(name, f"exported {exported.items} items to {exported.items_file}")

        if self.safeguards.backup:
            self._backup(name, result)

        self._check_stop()
        if protected:
            self._event(name, "turning deletion protection off")
            self.client.update_table(TableName=name, DeletionProtectionEnabled=False)
            result.notes.append("deletion protection turned off")
        try:
            if protected and self._wait_settled(name) is None:
                result.status = "already gone"
                return
            self._check_stop()
            self._event(name, "deleting")
            self.client.delete_table(TableName=name)
        except self.client.exceptions.ResourceNotFoundException:
            result.status = "already gone"
            return
        except BaseException:
            if protected:
                self._protect_again(name, result)
            raise
        self._wait_gone(name)
        result.status = "deleted"
        if self.stop.is_set():
            result.notes.append("DeleteTable accepted; not waited for (interrupted)")
        self._event(name, "deleted")

    def _protect_again(self, name: str, result: PurgeResult) -> None:
        """The table was not deleted after all: put its deletion protection back."""
        try:
            self.client.update_table(TableName=name, DeletionProtectionEnabled=True)
            result.notes.append("deletion protection turned back on")
        except Exception as exc:
            result.notes.append(f"deletion protection is OFF and could not be turned back on: {message_of(exc)}")

    def _backup(self, name: str, result: PurgeResult) -> None:
        """An on-demand backup, AVAILABLE before the table is touched (ops.backups, as `backup` makes them)."""
        try:
            made = backups.make_backup(
                self.client,
                name,
                backup_name(name),
                curve=self.status_curve,
                clock=self.clock,
                on_event=lambda message: self._event(name, message),
            )
        except backups.BackupsUnsupported:
            raise LeftAlone(
                (
                    NO_BACKUPS[0],
                    "CreateBackup answered UnknownOperationException: pass --export-dir DIR to export the items "
                    "first, or --no-backup to delete without a copy",
                )
            ) from None
        except backups.BackupNotAvailable as exc:
            raise SnapinfraError(f"{exc}: table kept") from None
        except Interrupted:
            raise LeftAlone(INTERRUPTED) from None
        result.backup_arn, result.backup_name = made.arn, made.name

    def _wait_gone(self, name: str) -> None:
        last: dict[str, Any] | None = None

        def gone() -> bool | None:
            nonlocal last
            last = describe(self.client, name)
            return True if last is None else None

        try:
            wait_for(
                gone,
                self.status_curve,
                what=name,
                clock=self.clock,
                on_wait=lambda delay: self._event(name, f"waiting: {(last or {}).get('TableStatus')}"),
            )
        except Interrupted:
            return  # DeleteTable was accepted: DynamoDB finishes it
        except WaitTimeout:
            raise SnapinfraError(
                f"{name} still exists after {self.status_curve.timeout:g}s (DeleteTable was accepted)"
            ) from None


@dataclass
class PurgeOutcome:
    """What a purge found and did. `results` is None where nothing was attempted (a dry run)."""

    found: list[Found]
    results: list[PurgeResult] | None
    # Why it stopped before deleting anything: nothing there, a dry run, or every table refused.
    stopped: Literal["all gone", "dry run", "all refused"] | None = None
    interrupted: str | None = None  # Ctrl-C: the message to show; `results` says what each table got


def purge_tables(
    client: DynamoDBClient,
    tables: list[str],
    safeguards: Safeguards,
    *,
    show: Callable[[list[Found]], None],
    confirm: Callable[[list[Found]], None],
    dry_run: bool = False,
    disable_protection: bool = False,
    count_exactly: bool = False,
    parallelism: int = 10,
    wait_timeout: float = STATUS.timeout,
    on_event: TableProgress | None = None,
) -> PurgeOutcome:
    """Survey the tables, `show` what was found, `confirm` (which raises to cancel), then copy and delete.

    Nothing is asked and nothing changes when no table exists, on a dry run, or when every existing
    table would be refused.
    """
    if safeguards.export_dir is not None and not dry_run:
        from snapinfra_db.ops.export_files import check_writable_dir

        # Before anything is touched: an unwritable DIR is a plain error. export_table creates it.
        check_writable_dir(safeguards.export_dir, keep=False)
    found = survey(
        client,
        tables,
        safeguards,
        disable_protection=disable_protection,
        count_exactly=count_exactly,
        parallelism=parallelism,
    )
    show(found)
    existing = [f for f in found if f.exists]
    if not existing:
        gone = None if dry_run else [PurgeResult(table=f.table, status="already gone") for f in found]
        return PurgeOutcome(found, gone, stopped="all gone")
    if dry_run:
        return PurgeOutcome(found, None, stopped="dry run")
    workable = [f for f in existing if f.refusal is None]
    if not workable:
        refused = [
            PurgeResult(table=f.table, status="skipped", reason=f.refusal, hint=f.hint, causes=f.causes)
            if f.exists
            else PurgeResult(table=f.table, status="already gone")
            for f in found
        ]
        return PurgeOutcome(found, refused, stopped="all refused")
    confirm(workable)
    purger = Purger(
        client,
        safeguards,
        disable_protection=disable_protection,
        parallelism=parallelism,
        wait_timeout=wait_timeout,
        on_event=on_event,
    )
    try:
        return PurgeOutcome(found, purger.run(tables))
    except PurgeInterrupted as exc:
        return PurgeOutcome(found, exc.results, interrupted=str(exc))
