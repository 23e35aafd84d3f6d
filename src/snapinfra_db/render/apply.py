"""apply's live progress (a line per table on a terminal, a line per event in logs) and its summary."""


from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from snapinfra_db.reconcile.events import ApplyEvent, ApplyResult


@contextmanager
def apply_progress(console: Console, tables: list[str]) -> Iterator[Any]:
    """A live display per table on a terminal; a plain line per event otherwise (CI logs)."""
    if console.is_terminal:
        progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.fields[table]}[/bold]"),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        tasks: dict[str, TaskID] = {t: progress.add_task("queued", table=t, total=None) for t in tables}

        def on_event(event: ApplyEvent) -> None:
            task = tasks.get(event.table)
            if task is None:
                return
            if event.kind in ("ok", "failed", "blocked"):
                mark = {"ok": "[green]✓[/green]", "failed": "[red]✗[/red]", "blocked": "[magenta]![/magenta]"}
                progress.update(task, description=f"{mark[event.kind]} {escape(event.message)}", total=1, completed=1)
            elif event.kind != "done":
                progress.update(task, description=escape(event.message))

        with progress:
            yield on_event
    else:
        start = time.monotonic()

        def on_event(event: ApplyEvent) -> None:
            label = {
                "step": "→",
                "done": "✓",
                "wait": "…",
                "retry": "↻",
                "ok": "✓✓",
                "failed": "✗",
                "blocked": "!",
                "start": "·",
            }
            elapsed = time.monotonic() - start
            console.print(f"[{elapsed:6.1f}s] {escape(event.table)}: {label[event.kind]} {escape(event.message)}")

        yield on_event


def render_results(console: Console, results: list[ApplyResult]) -> None:
    table = Table(title="Apply summary", show_lines=False)
    table.add_column("table")
    table.add_column("result")
    table.add_column("calls", justify="right")
    table.add_column("detail", overflow="fold")
    style = {"applied": "green", "failed": "red", "blocked": "magenta", "interrupted": "yellow"}
    for r in results:
        table.add_row(
            r.table,
            f"[{style[r.status]}]{r.status}[/{style[r.status]}]",
            str(len(r.done)),
            escape(r.error or ""),
        )
    console.print(table)
    # What the endpoint does not do is the endpoint's, not a table's: said once, below, in plan's words.
    unsupported = sorted({s.value for r in results for s in r.unsupported})
    if unsupported:
        console.print(f"Not supported by this endpoint (left as is): {escape(', '.join(unsupported))}")
    not_applied = sorted({s.value for r in results for s in r.not_applied})
    if not_applied:
        console.print(f"Accepted but not applied by this endpoint (left as is): {escape(', '.join(not_applied))}")
    counts = {k: sum(1 for r in results if r.status == k) for k in ("applied", "failed", "blocked", "interrupted")}
    console.print("Apply finished: " + ", ".join(f"{v} {k}" for k, v in counts.items() if v or k == "applied") + ".")
