"""Views: plans, apply progress and summaries as rich text or JSON. No AWS calls, no exits."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from .catalog import Billing, Capacity, Encryption, GlobalIndex, KeyAttribute, PointInTimeRecovery, TableSpec
from .executor import Event, TableResult
from .plan import (
    CreateIndex,
    CreateTable,
    DeleteIndex,
    DisableStream,
    DisableTtl,
    EnableStream,
    EnableTtl,
    Plan,
    Step,
    TableChange,
    TagTable,
    UpdateBilling,
    UpdateDeletionProtection,
    UpdateEncryption,
    UpdateIndexCapacity,
    UpdatePitr,
    UpdateTableClass,
)

SYMBOL_STYLE = {"+": "green", "-": "red", "~": "yellow", "-/+": "red", "!": "magenta"}
ACTION_SYMBOL = {"create": "+", "update": "~", "blocked": "!"}


def _key(attr: KeyAttribute | None) -> str:
    return f"{attr.name} {attr.type}" if attr else ""


def _index_text(gsi: GlobalIndex) -> str:
    keys = ", ".join(k for k in (_key(gsi.partition_key), _key(gsi.sort_key)) if k)
    projection: str = gsi.projection.type
    if gsi.projection.attributes:
        projection += " " + ",".join(gsi.projection.attributes)
    return f"({keys}; projection {projection}{_capacity_suffix(gsi)})"


def _capacity_suffix(cap: Capacity) -> str:
    text = _capacity(cap)
    return f"; {text}" if text else ""


def _capacity(cap: Capacity) -> str:
    if cap.read is not None or cap.write is not None:
        return f"{cap.read} RCU / {cap.write} WCU"
    parts = [
        f"max {cap.max_read} reads/s" if cap.max_read else "",
        f"max {cap.max_write} writes/s" if cap.max_write else "",
    ]
    return ", ".join(p for p in parts if p)


def _billing(billing: Billing) -> str:
    extra = _capacity(billing)
    return billing.mode + (f" ({extra})" if extra else "")


def _encryption(enc: Encryption) -> str:
    return enc.type + (f" {enc.kms_key}" if enc.kms_key else "")


def _pitr(pitr: PointInTimeRecovery) -> str:
    return f"on ({pitr.recovery_period_days} days)" if pitr.enabled else "off"


def _on_off(value: bool) -> str:
    return "on" if value else "off"


def step_lines(step: Step) -> list[tuple[str, str]]:
    """(symbol, text) lines that show one step in a plan."""
    match step:
        case CreateTable(spec=spec):
            return _create_lines(spec)
        case DeleteIndex(index=index, rebuild=rebuild):
            return [
                (
                    "-/+" if rebuild else "-",
                    f"index {index}" + (" (rebuild: delete)" if rebuild else " (delete)"),
                )
            ]
        case CreateIndex(index=index, spec=gsi, rebuild=rebuild):
            return [
                (
                    "-/+" if rebuild else "+",
                    f"index {index} {_index_text(gsi)}" + (" (rebuild: create)" if rebuild else ""),
                )
            ]
        case UpdateIndexCapacity(index=index, before=before, after=after):
            return [
                (
                    "~",
                    f"index {index} capacity: {_capacity(before) or 'unlimited'} → {_capacity(after) or 'unlimited'}",
                )
            ]
        case UpdateBilling(before=before, after=after):
            return [("~", f"billing: {_billing(before)} → {_billing(after)}")]
        case UpdateTableClass(before=before, after=after):
            return [("~", f"table class: {before} → {after}")]
        case UpdateDeletionProtection(before=before, after=after):
            return [("~", f"deletion protection: {_on_off(before)} → {_on_off(after)}")]
        case DisableStream(before=before):
            return [("~", f"stream: {before} → off")]
        case EnableStream(view_type=view_type):
            return [("~", f"stream: off → {view_type}")]
        case UpdateEncryption(before=before, after=after):
            return [("~", f"encryption: {_encryption(before)} → {_encryption(after)}")]
        case DisableTtl(attribute=attribute):
            return [("~", f"ttl: {attribute} → off")]
        case EnableTtl(attribute=attribute):
            return [("~", f"ttl: off → {attribute}")]
        case UpdatePitr(before=before, after=after):
            return [("~", f"point-in-time recovery: {_pitr(before)} → {_pitr(after)}")]
        case TagTable(before=before, tags=tags):
            parts = [f"{k}: {before[k]} → {v}" if k in before else f"+ {k}={v}" for k, v in sorted(tags.items())]
            return [("~", "tags: " + "; ".join(parts))]
    raise AssertionError(f"no view for {step!r}")  # pragma: no cover


def _create_lines(spec: TableSpec) -> list[tuple[str, str]]:
    keys = ", ".join(k for k in (_key(spec.partition_key), _key(spec.sort_key)) if k)
    lines = [
        ("+", f"table (key {keys}; billing {_billing(spec.billing)}; class {spec.table_class})"),
        ("+", f"stream: {spec.stream.view_type if spec.stream.enabled else 'off'}"),
        ("+", f"encryption: {_encryption(spec.encryption)}"),
        ("+", f"deletion protection: {_on_off(spec.deletion_protection)}"),
    ]
    lines += [("+", f"index {n} {_index_text(g)}") for n, g in spec.global_indexes.items()]
    for name, lsi in spec.local_indexes.items():
        lines.append(("+", f"local index {name} (sort key {_key(lsi.sort_key)}; projection {lsi.projection.type})"))
    if spec.tags:
        lines.append(("+", "tags: " + ", ".join(f"{k}={v}" for k, v in sorted(spec.tags.items()))))
    return lines


def _creation_view(step: Step) -> list[tuple[str, str]]:
    # For a new table, TTL and PITR are settings being added, not changes from "off".
    if isinstance(step, EnableTtl):
        return [("+", f"ttl: {step.attribute}")]
    if isinstance(step, UpdatePitr):
        return [("+", f"point-in-time recovery: {_pitr(step.after)}")]
    return step_lines(step)


def describe_step(step: Step) -> str:
    """A one-line label for progress and errors."""
    if isinstance(step, CreateTable):
        return "create table"
    return step_lines(step)[0][1]


def _line(symbol: str, text: str, indent: int = 6) -> str:
    style = SYMBOL_STYLE.get(symbol, "")
    return (
        f"{' ' * indent}[{style}]{escape(symbol)}[/{style}] {escape(text)}"
        if style
        else f"{' ' * indent}{escape(text)}"
    )


def render_plan(console: Console, plan: Plan) -> None:
    changes = plan.changes
    if changes:
        console.print("snapinfra-db will perform these actions:\n")
    for change in changes:
        render_change(console, change)
    console.print(plan_summary_line(plan))
    unsupported = sorted({u.split(":")[0] for t in plan.tables for u in t.unsupported})
    if unsupported:
        console.print(f"[dim]Not supported by this endpoint (left as is): {escape(', '.join(unsupported))}[/dim]")


def render_change(console: Console, change: TableChange) -> None:
    symbol = ACTION_SYMBOL[change.action]
    style = SYMBOL_STYLE[symbol]
    console.print(f"  [{style}]{escape(symbol)}[/{style}] [bold]{escape(change.table)}[/bold] ({change.action})")
    for step in change.steps:
        for sym, text in _creation_view(step) if change.action == "create" else step_lines(step):
            console.print(_line(sym, text))
    for reason in change.blocked:
        console.print(_line("!", f"blocked: {reason}"))
    for note in change.notes:
        console.print(f"      [cyan]note:[/cyan] {escape(note)}")
    console.print()


def plan_summary_line(plan: Plan) -> str:
    s = plan.summary()
    if not plan.has_changes:
        return f"No changes. {s['unchanged']} table(s) match the catalog."
    parts = [f"{s['create']} to create", f"{s['update']} to update"]
    if s["blocked"]:
        parts.append(f"{s['blocked']} blocked")
    parts.append(f"{s['unchanged']} unchanged")
    return "Plan: " + ", ".join(parts) + f" ({s['steps']} step(s))."


def plan_json(plan: Plan) -> str:
    return json.dumps(plan.to_json(), indent=2, sort_keys=False)


# ---------------------------------------------------------------------------------------------
# apply


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

        def on_event(event: Event) -> None:
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

        def on_event(event: Event) -> None:
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


def render_results(console: Console, results: list[TableResult]) -> None:
    table = Table(title="Apply summary", show_lines=False)
    table.add_column("table")
    table.add_column("result")
    table.add_column("steps", justify="right")
    table.add_column("detail", overflow="fold")
    style = {"applied": "green", "failed": "red", "blocked": "magenta", "interrupted": "yellow"}
    # A note every table shares (e.g. what a local endpoint does not support) is said once, below.
    shared = set(results[0].notes).intersection(*(r.notes for r in results[1:])) if len(results) > 1 else set()
    for r in results:
        table.add_row(
            r.table,
            f"[{style[r.status]}]{r.status}[/{style[r.status]}]",
            str(len(r.done)),
            escape(r.error or "; ".join(n for n in r.notes if n not in shared)),
        )
    console.print(table)
    if shared:
        console.print("Every table: " + escape("; ".join(n for n in results[0].notes if n in shared)))
    counts = {k: sum(1 for r in results if r.status == k) for k in ("applied", "failed", "blocked", "interrupted")}
    console.print("Apply finished: " + ", ".join(f"{v} {k}" for k, v in counts.items() if v or k == "applied") + ".")


def human_bytes(size: int | None) -> str:
    """1024-based, one decimal: 889 B, 785.1 KB, 1.1 MB ("?" when unknown)."""
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def env_lines(mapping: dict[str, str]) -> str:
    return "\n".join(f"{k}={v}" for k, v in mapping.items())
