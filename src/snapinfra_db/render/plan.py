"""The plan as people read it (rich) and as machines read it (JSON). No AWS calls, no exits."""

from __future__ import annotations

import json

from rich.console import Console
from rich.markup import escape

from snapinfra_db.reconcile.plan import (
    Plan,
    TableChange,
)

SYMBOL_STYLE = {"+": "green", "-": "red", "~": "yellow", "-/+": "red", "!": "magenta"}
ACTION_SYMBOL = {"create": "+", "update": "~", "blocked": "!"}


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
    unsupported = sorted({s.value for t in plan.tables for s in t.unsupported})
    if unsupported:
        console.print(f"[dim]Not supported by this endpoint (left as is): {escape(', '.join(unsupported))}[/dim]")


def render_change(console: Console, change: TableChange) -> None:
    symbol = ACTION_SYMBOL[change.action]
    style = SYMBOL_STYLE[symbol]
    console.print(f"  [{style}]{escape(symbol)}[/{style}] [bold]{escape(change.table)}[/bold] ({change.action})")
    for step in change.steps:
        for sym, text in step.lines_in_create() if change.action == "create" else step.lines():
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
    return "Plan: " + ", ".join(parts) + f" ({s['steps']} call(s) to DynamoDB)."


def plan_json(plan: Plan) -> str:
    return json.dumps(plan.to_json(), indent=2, sort_keys=False)


