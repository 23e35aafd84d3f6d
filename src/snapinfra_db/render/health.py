"""Views of a HealthReport: a rich table with a one-line verdict, JSON, and --wait progress lines.

No AWS calls, no exits.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from snapinfra_db.ops.health_report import MISSING, TRANSIENT_STATUSES, HealthReport, Settings, TableHealth
from snapinfra_db.render.alarms import alarms_cell, render_alarm_states
from snapinfra_db.render.plan import orphans_json, render_orphans
from snapinfra_db.render.text import human_bytes

if TYPE_CHECKING:
    from snapinfra_db.reconcile.orphans import OrphanSearch

STREAM_VIEW = {"NEW_AND_OLD_IMAGES": "new+old", "NEW_IMAGE": "new", "OLD_IMAGE": "old", "KEYS_ONLY": "keys"}
# Which drift steps concern which settings column: a drifted setting is shown in red.
FACET_OPS = {
    "pitr": {"update_pitr"},
    "ttl": {"enable_ttl", "disable_ttl"},
    "stream": {"enable_stream", "disable_stream"},
    "sse": {"update_encryption"},
    "protect": {"update_deletion_protection"},
    "billing": {"update_billing", "update_gsi_capacity"},
}
NA = "[dim]n/a[/dim]"
LOG_WIDTH = 160


def _styled(text: str, style: str | None) -> str:
    return f"[{style}]{escape(text)}[/{style}]" if style else escape(text)


def _status(t: TableHealth) -> str:
    if t.status == "ACTIVE":
        return _styled(t.status, "green")
    if t.status in TRANSIENT_STATUSES:
        return _styled(t.status, "yellow")
    return _styled(t.status, "red")


def _indexes(t: TableHealth) -> str:
    """ACTIVE/expected, then what is off: "1/2 1 missing", "2/3 1 CREATING", "2/2 1 unknown"."""
    if not t.indexes:
        return "[dim]none[/dim]"
    expected = [i for i in t.indexes if i.in_catalog]
    ok = [i for i in expected if i.present and i.status == "ACTIVE" and not i.backfilling]
    busy: dict[str, int] = {}
    for i in expected:
        if i.present and i not in ok:
            label = "backfilling" if i.status == "ACTIVE" else i.status
            busy[label] = busy.get(label, 0) + 1
    missing = sum(not i.present for i in expected)
    unknown = sum(not i.in_catalog for i in t.indexes)
    parts = [f"{len(ok)}/{len(expected)}"]
    parts += [f"{missing} missing"] if missing else []
    parts += [f"{n} {label}" for label, n in sorted(busy.items())]
    parts += [f"{unknown} unknown"] if unknown else []
    text = " ".join(parts)
    if missing or unknown or any(label not in ("backfilling", *TRANSIENT_STATUSES) for label in busy):
        return _styled(text, "red")
    return _styled(text, "yellow" if busy else "green")


def _drift(t: TableHealth) -> str:
    if t.blocked:
        return _styled("blocked", "magenta")
    if t.drift:
        return _styled(f"{len(t.drift)} change{'s' if len(t.drift) > 1 else ''}", "red")
    return _styled("none", "green")


def _drifted(t: TableHealth, facet: str) -> bool:
    return any(d.op in FACET_OPS[facet] for d in t.drift)


def _cell(t: TableHealth, facet: str, text: str, good: bool = True) -> str:
    return _styled(text, "red" if _drifted(t, facet) else None if good else "yellow")


def _setting_cells(t: TableHealth, s: Settings) -> list[str]:
    pitr = s.point_in_time_recovery
    if pitr is None:
        pitr_cell = NA
    elif pitr.enabled:
        pitr_cell = _cell(t, "pitr", f"on {pitr.recovery_period_days}d")
        if pitr.earliest_restorable is not None:
            pitr_cell += "\n" + _styled(f"≥{pitr.earliest_restorable:%Y-%m-%d}", "dim")
    else:
        pitr_cell = _cell(t, "pitr", "off")

    if s.ttl.status == "ENABLED" and s.ttl.attribute:
        ttl_cell = _cell(t, "ttl", s.ttl.attribute)
    elif s.ttl.status == "DISABLED":
        ttl_cell = _cell(t, "ttl", "off")
    else:
        ttl_cell = _cell(t, "ttl", f"{s.ttl.status.lower()} {s.ttl.attribute or ''}".strip(), good=False)

    stream = STREAM_VIEW.get(s.stream.view_type or "", s.stream.view_type or "") if s.stream.enabled else "off"
    if s.encryption is None:
        sse = NA
    elif s.encryption.type == "AWS_OWNED":
        sse = _cell(t, "sse", "owned")
    else:
        sse = _cell(t, "sse", "KMS (customer key)" if s.encryption.key_manager == "CUSTOMER" else "KMS")

    billing = "on-demand" if s.billing.mode == "PAY_PER_REQUEST" else f"{s.billing.read}/{s.billing.write} RCU/WCU"
    return [
        pitr_cell,
        ttl_cell,
        _cell(t, "stream", stream),
        sse,
        _cell(t, "protect", "on" if s.deletion_protection else "off"),
        _cell(t, "billing", billing),
    ]


def _probe(t: TableHealth) -> str:
    if t.probe is None:
        return ""
    if t.probe.skipped:
        return "[dim]skipped[/dim]"
    if not t.probe.ok:
        return _styled("failed", "red")
    return f"{t.probe.latency_ms:.0f} ms"


def endpoint_line(report: HealthReport) -> str:
    e = report.endpoint
    if e.kind == "aws":
        account = f"AWS account {e.account_id}" if e.account_id else f"AWS account unknown ({e.account_note})"
        return f"{account} · region {e.region} · {e.endpoint} · prefix {report.prefix}"
    name = "DynamoDB Local" if e.kind == "ddblocal" else "local endpoint" if e.local else "endpoint"
    return f"{name} {e.endpoint} · region {e.region} · prefix {report.prefix}"


COLUMNS: tuple[tuple[str, str], ...] = (
    ("table", "left"),
    ("status", "left"),
    ("GSIs", "left"),
    ("drift", "left"),
    ("PITR", "left"),
    ("TTL", "left"),
    ("stream", "left"),
    ("SSE", "left"),
    ("protect", "left"),
    ("billing", "left"),
    ("items≈", "right"),
    ("size≈", "right"),
)


def health_table(report: HealthReport) -> Table:
    """One row per table, named by its catalog key (the prefix is in the heading line)."""
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0), pad_edge=False, show_edge=False)
    with_alarms = any(t.alarms is not None for t in report.tables) or "alarms" in report.unsupported
    columns = [*COLUMNS, *([("alarms", "left")] if with_alarms else [])]
    columns += [("probe", "right")] if report.probed else []
    for name, justify in columns:
        table.add_column(name, justify=justify, no_wrap=name == "status", overflow="fold")  # type: ignore[arg-type]
    for t in report.tables:
        mark = "[green]✓[/green]" if t.healthy else "[red]✗[/red]"
        row = [f"{mark} {escape(t.key)}", _status(t)]
        if t.settings is None:  # the table does not exist
            row += [""] * 10
        else:
            row += [_indexes(t), _drift(t), *_setting_cells(t, t.settings)]
            size = t.size
            row.append(NA if size is None or size.item_count is None else f"{size.item_count:,}")
            row.append(NA if size is None or size.size_bytes is None else human_bytes(size.size_bytes))
        if with_alarms:
            row.append(alarms_cell(t))
        if report.probed:
            row.append(_probe(t))
        table.add_row(*row)
    return table


def first_problem(t: TableHealth, limit: int = 70) -> str:
    """The first problem, cut short (the details above and the JSON have all of them)."""
    if not t.problems:
        return ""
    text = t.problems[0].split(". ")[0]
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    more = len(t.problems) - 1
    return text + (f", +{more} more" if more > 0 else "")


def verdict(report: HealthReport) -> str:
    """One line: healthy or not, and which tables are not."""
    n = len(report.tables)
    if report.healthy:
        transient = sum(t.transient for t in report.tables)
        extra = f" ({transient} still settling, allowed by --allow-transient)" if transient else ""
        return f"Healthy: all {n} table(s) exist, are ACTIVE and match the catalog{extra}."
    bad = report.unhealthy
    names = "; ".join(f"{t.table} ({first_problem(t)})" for t in bad[:3])
    more = f"; +{len(bad) - 3} more" if len(bad) > 3 else ""
    return f"Unhealthy: {len(bad)} of {n} table(s): {names}{more}."


def render_health(console: Console, report: HealthReport, orphans: OrphanSearch | None = None) -> None:
    """The table, each table's problems, the orphans (informational: they never make it unhealthy), the verdict."""
    console.print(escape(endpoint_line(report)))
    # A terminal gets its own width; a log or a pipe gets the table unwrapped.
    wide = console if console.is_terminal else Console(file=console.file, width=max(console.width, LOG_WIDTH))
    wide.print(health_table(report))
    console.print()
    missing = [t.table for t in report.tables if t.status == MISSING]
    if missing:
        console.print(f"[red]✗[/red] missing ({len(missing)}): {escape(', '.join(missing))}")
    for t in report.tables:
        if t.status == MISSING or not (t.problems or t.notices):
            continue
        console.print(f"[bold]{escape(t.table)}[/bold]")
        for problem in t.problems:
            console.print(f"  [red]✗[/red] {escape(problem)}")
        for notice in t.notices:
            console.print(f"  [yellow]·[/yellow] {escape(notice)}")
        if t.probe is not None and t.probe.skipped and t.status != MISSING:
            console.print(f"  [dim]· probe skipped: {escape(t.probe.skipped)}[/dim]")
    if missing or report.unhealthy or any(t.notices for t in report.tables):
        console.print()
    render_alarm_states(console, report)
    if orphans is not None:
        render_orphans(console, orphans)
    footnotes = ["items≈ and size≈: DynamoDB's own figures, refreshed about every six hours."]
    if report.unsupported:
        footnotes.append(f"n/a: not implemented by this endpoint ({', '.join(report.unsupported)}); not counted.")
    if any(t.drift for t in report.tables):
        footnotes.append("drift: live → catalog, in the words of `snapinfra-db plan`.")
    if report.probed:
        footnotes.append("probe: one GetItem for a key that cannot exist (read-only), in milliseconds.")
    for line in footnotes:
        console.print(f"[dim]{escape(line)}[/dim]")
    style = "green" if report.healthy else "red"
    mark = "✓" if report.healthy else "✗"
    console.print(f"[{style}]{mark} {escape(verdict(report))}[/{style}]")
    if any(t.drift or t.status == MISSING for t in report.tables):
        console.print("[dim]`snapinfra-db plan` shows what apply would change; `snapinfra-db apply` converges.[/dim]")


def health_json(report: HealthReport, orphans: OrphanSearch | None = None) -> str:
    """The report; `orphans` as in plan's JSON (null when not looked for, e.g. with --table)."""
    return json.dumps({**report.to_json(), "orphans": orphans_json(orphans)}, indent=2)


def wait_line(report: HealthReport, elapsed: float, delay: float) -> str:
    """One progress line for --wait (stderr)."""
    bad = report.unhealthy
    names = "; ".join(f"{t.table}: {first_problem(t)}" for t in bad[:3])
    more = f"; +{len(bad) - 3} more" if len(bad) > 3 else ""
    count = f"{len(bad)} of {len(report.tables)}"
    return f"[{elapsed:6.1f}s] not healthy yet ({count}): {names}{more}; next check in {delay:.1f}s"


class WaitProgress:
    """--wait progress on stderr: a line whenever what is wrong changes, and a heartbeat line every
    `heartbeat` seconds otherwise, so a CI log never looks stuck nor fills with repeats."""

    def __init__(self, console: Console, heartbeat: float = 30.0) -> None:
        self.console = console
        self.heartbeat = heartbeat
        self._problems: list[tuple[str, ...]] | None = None
        self._at = 0.0

    def __call__(self, report: HealthReport, elapsed: float, delay: float) -> None:
        problems = [t.problems for t in report.tables]
        if problems != self._problems or elapsed - self._at >= self.heartbeat:
            self.console.print(wait_line(report, elapsed, delay), markup=False, highlight=False)
            self._problems, self._at = problems, elapsed
