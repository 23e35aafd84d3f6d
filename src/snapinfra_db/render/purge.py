"""Views for purge-legacy, destroy and restore-export: the "found" table shown before confirmation,
progress lines while the work runs, the summary, and the --json documents.

No AWS calls, no exits.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from snapinfra_db.render.text import human_bytes

if TYPE_CHECKING:
    from snapinfra_db.ops.purge import Found, PurgeResult
    from snapinfra_db.ops.restore import RestoreResult

JSON_FORMAT_VERSION = "1"
STATUS_STYLE = {"deleted": "green", "already gone": "dim", "skipped": "yellow", "failed": "red"}


def _count(found: Found) -> str:
    if found.item_count is None:
        return "?"
    return f"{found.item_count:,}" if found.exact_count else f"≈{found.item_count:,}"


def render_found(console: Console, found: Sequence[Found], title: str, safeguard: str = "") -> None:
    """Each table: whether it exists, items and size (approximate unless --exact-count), protection, safeguard."""
    exact = any(f.exact_count for f in found)
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)
    table.add_column("table", no_wrap=True)  # a name is what an operator checks: never cut it
    table.add_column("exists")
    table.add_column("items" if exact else "items≈", justify="right")
    table.add_column("size≈", justify="right")
    table.add_column("protected")
    table.add_column("safeguard / action", overflow="fold")
    for f in found:
        if not f.exists:
            table.add_row(escape(f.table), "[dim]no[/dim]", "", "", "", "[dim]already gone[/dim]")
            continue
        exists = "yes" if f.status in (None, "ACTIVE") else f"yes ({escape(f.status or '')})"
        protection = "[yellow]on[/yellow]" if f.deletion_protection else "off"
        if f.refusal:
            action = f"[yellow]refused: {escape(f.refusal)}[/yellow]"
        else:
            # Not refused while protected means --disable-deletion-protection was given: say so.
            unprotect = "turn protection off, " if f.deletion_protection else ""
            if f.safeguard == "NONE":
                action = f"[red]{unprotect}delete with NO copy[/red]"
            else:
                action = f"{escape(f.safeguard)}, {unprotect}then delete"
        table.add_row(escape(f.table), exists, _count(f), human_bytes(f.size_bytes), protection, action)
    console.print(table)
    if safeguard and any(f.exists and not f.refusal for f in found):
        console.print(f"before deleting each table: {escape(safeguard)}")
    _hints(console, [cause for f in found for cause in (f.causes or [(f.refusal, f.hint)])])
    if not exact and any(f.exists for f in found):
        console.print(
            "[dim]items and size are DynamoDB's approximate figures (refreshed about every 6 hours); "
            "--exact-count scans for the exact number[/dim]"
        )


def _hints(console: Console, pairs: Sequence[tuple[str | None, str | None]]) -> None:
    """Each distinct cause of a refusal once, with the flag that would change it: a table refused for
    several causes appears under each, so every flag it needs is named in the same run."""
    for reason, hint in dict.fromkeys((r, h) for r, h in pairs if r and h):
        console.print(f"[yellow]refused ({escape(reason or '')}):[/yellow] {escape(hint or '')}")


class ProgressLines:
    """A thread-safe event sink printing one line per change: `[  1.2s] table  message`.

    Repeated messages for a table are shown once; counters ("exported N items") at most once a second.
    """

    def __init__(self, console: Console, throttle: float = 1.0) -> None:
        self.console = console
        self.throttle = throttle
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._last: dict[str, str] = {}
        self._last_counter: dict[str, float] = {}

    def __call__(self, table: str, message: str) -> None:
        now = time.monotonic()
        counter = message.startswith(("exported ", "restored ")) and " to " not in message
        with self._lock:
            if self._last.get(table) == message:
                return
            if counter and now - self._last_counter.get(table, 0.0) < self.throttle:
                return
            if counter:
                self._last_counter[table] = now
            self._last[table] = message
            self.console.print(f"[dim][{now - self._started:6.1f}s][/dim] {escape(table)}  {escape(message)}")


def render_summary(console: Console, results: Sequence[PurgeResult]) -> None:
    """One row per table, then each copy on a line of its own (ARNs and paths whole, for copy-paste)."""
    table = Table(title="summary", box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)
    table.add_column("table", no_wrap=True)
    table.add_column("result")
    table.add_column("copy")
    table.add_column("note", overflow="fold")
    for r in results:
        kinds = [k for k, v in (("export", r.export_file), ("backup", r.backup_arn)) if v]
        style = STATUS_STYLE.get(r.status, "")
        notes = [f"{r.items_exported:,} items exported"] if r.items_exported is not None else []
        notes += [r.reason] if r.reason else []
        notes += r.notes
        table.add_row(
            escape(r.table),
            f"[{style}]{escape(r.status)}[/{style}]" if style else escape(r.status),
            " + ".join(kinds) if kinds else "[dim]-[/dim]",
            escape("; ".join(notes)),
        )
    console.print(table)
    copies = [(r.table, "backup", r.backup_arn) for r in results if r.backup_arn]
    copies += [(r.table, "export", r.export_file) for r in results if r.export_file]
    for name, kind, where in sorted(copies):
        console.print(f"{kind} of {escape(name)}: {escape(where or '')}")
    _hints(console, [c for r in results if r.status == "skipped" for c in (r.causes or [(r.reason, r.hint)])])
    counts = {s: sum(r.status == s for r in results) for s in STATUS_STYLE}
    line = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    console.print(line or "nothing to do")


def summary_json(
    command: str,
    found: Sequence[Found],
    results: Sequence[PurgeResult] | None,
    *,
    dry_run: bool = False,
    safeguard: str = "",
) -> str:
    document: dict[str, Any] = {
        "format_version": JSON_FORMAT_VERSION,
        "command": command,
        "dry_run": dry_run,
        "safeguard": safeguard,
        "found": [f.to_json() for f in found],
    }
    if results is not None:
        document["results"] = [r.to_json() for r in results]
        document["ok"] = all(r.status in ("deleted", "already gone") for r in results)
    else:
        document["ok"] = True
    return json.dumps(document, indent=2, default=str)


def render_restores(
    console: Console, results: Sequence[RestoreResult], failures: dict[str, str], *, as_name: str | None = None
) -> None:
    table = Table(title="restore", box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)
    table.add_column("export")
    table.add_column("table", no_wrap=True)
    table.add_column("result")
    table.add_column("items", justify="right")
    table.add_column("note", overflow="fold")
    for r in results:
        table.add_row(
            escape(r.source),
            escape(r.table),
            "[green]created[/green]" if r.created else "[green]written into existing[/green]",
            f"{r.items:,}",
            escape(f"TTL on {r.ttl_enabled}" if r.ttl_enabled else ""),
        )
    for source in failures:
        target = as_name or source  # the table it was to be restored into
        table.add_row(escape(source), escape(target), "[red]failed[/red]", "", "see the error above")
    console.print(table)


def restores_json(results: Sequence[RestoreResult], failures: dict[str, str], *, as_name: str | None = None) -> str:
    return json.dumps(
        {
            "format_version": JSON_FORMAT_VERSION,
            "command": "restore-export",
            "ok": not failures,
            "results": [
                {
                    "source": r.source,
                    "table": r.table,
                    "created": r.created,
                    "items": r.items,
                    "ttl": r.ttl_enabled,
                    "seconds": round(r.seconds, 3),
                }
                for r in results
            ],
            "failed": [{"source": s, "table": as_name or s, "reason": reason} for s, reason in failures.items()],
        },
        indent=2,
    )
