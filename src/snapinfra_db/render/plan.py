"""The plan as people read it (rich) and as machines read it (JSON). No AWS calls, no exits."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from snapinfra_db.reconcile.plan import (
    Plan,
    TableChange,
)

if TYPE_CHECKING:
    from snapinfra_db.reconcile.alarms import AlarmPlan
    from snapinfra_db.reconcile.orphans import Orphan, OrphanSearch
    from snapinfra_db.reconcile.saved import MadeFrom

SYMBOL_STYLE = {"+": "green", "-": "red", "~": "yellow", "-/+": "red", "!": "magenta"}
ACTION_SYMBOL = {"create": "+", "update": "~", "blocked": "!"}


def _line(symbol: str, text: str, indent: int = 6) -> str:
    style = SYMBOL_STYLE.get(symbol, "")
    return (
        f"{' ' * indent}[{style}]{escape(symbol)}[/{style}] {escape(text)}"
        if style
        else f"{' ' * indent}{escape(text)}"
    )


def render_plan(
    console: Console,
    plan: Plan,
    orphans: OrphanSearch | None = None,
    prune: bool = False,
    alarms: AlarmPlan | None = None,
) -> None:
    """The plan; then the orphans (`orphans`, None when not looked for), kept or, with `prune`, to delete;
    and the CloudWatch alarms (`alarms`, None when the catalog has none)."""
    from snapinfra_db.render.alarms import alarm_summary_line, render_alarm_plan

    changes = plan.changes
    if changes or (alarms is not None and alarms.changes):
        console.print("snapinfra-db will perform these actions:\n")
    for change in changes:
        render_change(console, change)
    if alarms is not None:
        render_alarm_plan(console, alarms)
    if orphans is not None:
        render_orphans(console, orphans, prune)
    summary = plan_summary_line(plan, len(orphans.orphans) if orphans is not None and prune else 0)
    alarm_line = alarm_summary_line(alarms) if alarms is not None else None
    if alarm_line is not None and summary.startswith("No changes."):
        summary = summary.replace("No changes.", "No changes to tables:", 1)
    console.print(summary)
    if alarm_line is not None:
        console.print(alarm_line)
    unsupported = sorted({s.value for t in plan.tables for s in t.unsupported})
    if alarms is not None and not alarms.supported and alarms.wanted:
        unsupported = sorted({*unsupported, "alarms"})
    if unsupported:
        console.print(f"[dim]Not supported by this endpoint (left as is): {escape(', '.join(unsupported))}[/dim]")


def stage_line(stage: str, region: str, account: str | None, endpoint: str | None, prefix: str) -> str:
    """The heading of a stage's plan: `Stage prod: region eu-west-1, account 123456789012, prefix snapinfra-`.
    `account`: the id, "local" (a local endpoint) or None (unknown); a custom endpoint is named."""
    where = f"account {account or 'unknown'}" + (f" ({endpoint})" if endpoint else "")
    return f"Stage {stage}: region {region}, {where}, prefix {prefix}"


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


def plan_summary_line(plan: Plan, to_prune: int = 0) -> str:
    """The last line; `to_prune`: orphans apply --prune deletes (each after its copy)."""
    s = plan.summary()
    if not plan.has_changes and not to_prune:
        return f"No changes. {s['unchanged']} table(s) match the catalog."
    parts = [f"{s['create']} to create", f"{s['update']} to update"]
    if to_prune:
        parts.append(f"{to_prune} to prune")
    if s["blocked"]:
        parts.append(f"{s['blocked']} blocked")
    parts.append(f"{s['unchanged']} unchanged")
    return "Plan: " + ", ".join(parts) + f" ({s['steps']} call(s) to DynamoDB)."


def plan_json(
    plan: Plan,
    orphans: OrphanSearch | None = None,
    prune: bool = False,
    made_from: MadeFrom | None = None,
    alarms: AlarmPlan | None = None,
) -> str:
    """The plan as one JSON document; with `made_from` (what it was made from: catalog digest, target,
    live fingerprints) it is also a saved plan that `apply FILE` reads back. `alarms`: the CloudWatch
    alarms' plan (null when the catalog has none)."""
    data = plan.to_json()
    summary = data.pop("summary")
    data["orphans"] = orphans_json(orphans, prune)
    data["alarms"] = alarms.to_json() if alarms is not None else None
    data["summary"] = summary
    if made_from is not None:
        data["made_from"] = made_from.model_dump(mode="json")
    return json.dumps(data, indent=2, sort_keys=False)


# -- orphans: tables the catalog's tag (or prefix) claims and the catalog does not name ------------


def orphans_json(orphans: OrphanSearch | None, prune: bool = False) -> list[dict[str, Any]] | None:
    """`[{"table", "reason", "action"}]`; None when not looked for (--table narrows the scope)."""
    if orphans is None:
        return None
    action = "delete" if prune else "keep"
    return [{**o.to_json(), "action": action} for o in orphans.orphans]


def orphans_heading(search: OrphanSearch) -> str:
    if search.rule == "tag" and search.tag is not None:
        return f"Not in the catalog, tagged {search.tag[0]}={search.tag[1]}:"
    return f"Not in the catalog, named with its prefix {search.prefix} ({search.why_prefix}, so the prefix decides):"


def orphan_line(orphan: Orphan, search: OrphanSearch, prune: bool) -> str:
    """`snapinfra-webhooks: managed by snapinfra-db, not in the catalog (kept; apply --prune deletes it)`."""
    if orphan.reason != "prefix" and search.tag is not None:
        claim = f"managed by {search.tag[1]}"
    else:
        claim = f"has the catalog's prefix {search.prefix}"
    fate = "--prune deletes it, after a backup or export" if prune else "kept; apply --prune deletes it"
    return f"{orphan.table}: {claim}, not in the catalog ({fate})"


def orphan_notes(search: OrphanSearch) -> list[str]:
    notes = []
    if search.rule == "none" and search.why_prefix:
        notes.append(f"orphans not looked for: {search.why_prefix}")
    if search.other_prefixes:
        shown = ", ".join(search.other_prefixes[:3]) + (" ..." if len(search.other_prefixes) > 3 else "")
        notes.append(
            f"{len(search.other_prefixes)} table(s) look like this catalog under a longer prefix (another "
            f"environment), never listed as orphans: {shown}"
        )
    return notes


def render_orphans(console: Console, search: OrphanSearch, prune: bool = False) -> None:
    """Nothing when there is nothing to say (no orphans, no note)."""
    if search.orphans:
        console.print(escape(orphans_heading(search)))
        for orphan in search.orphans:
            console.print(_line("-", orphan_line(orphan, search, prune), indent=2))
    notes = orphan_notes(search)
    for note in notes:
        console.print(f"  [cyan]note:[/cyan] {escape(note)}")
    if search.orphans or notes:
        console.print()
