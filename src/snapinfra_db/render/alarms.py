"""The catalog's CloudWatch alarms as people read them: in a plan, in apply's progress, in health. No calls."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from snapinfra_db.reconcile.alarms import AlarmPlan

if TYPE_CHECKING:
    from snapinfra_db.ops.health_report import HealthReport, TableHealth
    from snapinfra_db.reconcile.alarms_live import AlarmResult

SYMBOL_STYLE = {"+": "green", "-": "red", "~": "yellow", "!": "magenta"}
STATE_STYLE = {"OK": "green", "ALARM": "red", "INSUFFICIENT_DATA": "yellow"}
DONE = {"create": "created", "update": "updated", "delete": "deleted"}


def _line(symbol: str, text: str, indent: int = 6) -> str:
    style = SYMBOL_STYLE.get(symbol, "")
    return f"{' ' * indent}[{style}]{escape(symbol)}[/{style}] {escape(text)}"


def render_alarm_plan(console: Console, alarms: AlarmPlan) -> None:
    """The alarm changes, per table; nothing when there are none (or the endpoint has no CloudWatch)."""
    if not alarms.changes:
        return
    console.print("CloudWatch alarms:")
    table = None
    for change in alarms.changes:
        if change.table != table:
            table = change.table
            console.print(f"  [bold]{escape(table)}[/bold]")
        console.print(_line(*change.line()))
    console.print()


def alarm_summary_line(alarms: AlarmPlan) -> str | None:
    """`Alarms: 2 to create, 1 to update, 0 to delete, 3 unchanged.`; None when there is nothing to do."""
    if not alarms.changes:
        return None
    s = alarms.summary()
    conflicts = f", {s['conflict']} not made by snapinfra-db (left alone)" if s["conflict"] else ""
    return (
        f"Alarms: {s['create']} to create, {s['update']} to update, {s['delete']} to delete{conflicts}, "
        f"{s['unchanged']} unchanged ({len(alarms.work)} call(s) to CloudWatch at most)."
    )


def alarm_result_line(result: AlarmResult) -> str:
    change = result.change
    if result.ok:
        return f"alarm {escape(change.name)}: [green]✓[/green] {DONE[change.op]}"
    return f"alarm {escape(change.name)}: [red]✗[/red] {escape(result.error or '')}"


def alarm_results_line(results: list[AlarmResult], moved: int = 0) -> str:
    counts = {word: sum(r.ok and DONE[r.change.op] == word for r in results) for word in DONE.values()}
    parts = [f"{n} {word}" for word, n in counts.items()]
    failed = sum(not r.ok for r in results)
    if failed:
        parts.append(f"{failed} failed")
    if moved:
        parts.append(f"{moved} changed since the plan (left alone: run plan again)")
    return "Alarms: " + ", ".join(parts) + "."


# -- health ---------------------------------------------------------------------------------------


def alarms_cell(t: TableHealth) -> str:
    """`3 OK`, `1 ALARM 2 OK`, `n/a`: the table's alarms by state, the worst first."""
    if t.alarms is None:
        return "[dim]n/a[/dim]"
    if not t.alarms:
        return "[dim]none[/dim]"
    counts: dict[str, int] = {}
    for alarm in t.alarms:
        counts[alarm.state] = counts.get(alarm.state, 0) + 1
    order = ["ALARM", "MISSING", "INSUFFICIENT_DATA", "OK"]
    parts = []
    for state in sorted(counts, key=lambda s: order.index(s) if s in order else len(order)):
        style = STATE_STYLE.get(state, "red")
        parts.append(f"[{style}]{counts[state]} {escape(state)}[/{style}]")
    return " ".join(parts)


def render_alarm_states(console: Console, report: HealthReport) -> None:
    """Each alarm and its state, per table (only tables with alarms)."""
    tables = [t for t in report.tables if t.alarms]
    if not tables:
        return
    console.print("CloudWatch alarms:")
    for t in tables:
        console.print(f"  [bold]{escape(t.table)}[/bold]")
        for alarm in t.alarms or ():
            style = STATE_STYLE.get(alarm.state, "red")
            note = "" if alarm.in_catalog else " (not in the catalog: apply deletes it)"
            reason = f" [dim]{escape(alarm.reason)}[/dim]" if alarm.state == "ALARM" and alarm.reason else ""
            console.print(f"      [{style}]{escape(alarm.state)}[/{style}] {escape(alarm.name)}{escape(note)}{reason}")
    console.print()
