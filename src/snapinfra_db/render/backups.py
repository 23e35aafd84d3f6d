"""Views for `backup`, `backup list` and `restore`: aligned columns with the ARN last and whole (to
copy and paste, or grep), and the --json documents.

No AWS calls, no exits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from snapinfra_db.render.text import human_bytes

if TYPE_CHECKING:
    from snapinfra_db.ops.backups import Backup, BackupResult

JSON_FORMAT_VERSION = "1"


def _columns(console: Console, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Left-aligned columns, two spaces apart; the last one is never padded nor cut (an ARN)."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join([*(c.ljust(w) for c, w in zip(cells, widths, strict=False)), cells[-1]]).rstrip()

    console.print(f"[bold]{escape(line(header))}[/bold]")
    for row in rows:
        console.print(escape(line(row)))


def render_backups(console: Console, results: Sequence[BackupResult]) -> None:
    """`backup`'s summary: each table's new backup (or why it has none), then a count."""
    rows: list[list[str]] = []
    for r in results:
        if r.backup is not None:
            b = r.backup
            rows.append([r.table, b.name, b.status or "?", human_bytes(b.size_bytes), b.arn])
        else:
            rows.append([r.table, "-", "FAILED", "", r.error or ""])
    _columns(console, ["table", "backup", "status", "size", "ARN / error"], rows)
    made = sum(1 for r in results if r.ok)
    failed = len(results) - made
    tail = f", [red]{failed} failed[/red]" if failed else ""
    console.print(f"Backup finished: {made} AVAILABLE{tail}.")


def backups_json(results: Sequence[BackupResult]) -> str:
    return json.dumps(
        {
            "format_version": JSON_FORMAT_VERSION,
            "command": "backup",
            "ok": all(r.ok for r in results),
            "backups": [{**r.backup.to_json(), "seconds": r.seconds} for r in results if r.backup is not None],
            "failed": [{"table": r.table, "reason": r.error} for r in results if r.backup is None],
        },
        indent=2,
    )


def render_backup_list(console: Console, backups: Sequence[Backup], tables: int) -> None:
    """`backup list`: newest first, one line each."""
    if not backups:
        console.print(f"No backups of the {tables} catalog table(s).")
        return
    rows = [
        [b.table, b.name, b.created_utc or "?", human_bytes(b.size_bytes), b.status or "?", b.type or "?", b.arn]
        for b in backups
    ]
    _columns(console, ["table", "name", "created (UTC)", "size", "status", "type", "ARN"], rows)


def backup_list_json(backups: Sequence[Backup]) -> str:
    return json.dumps(
        {"format_version": JSON_FORMAT_VERSION, "backups": [b.to_json() for b in backups]},
        indent=2,
    )
