"""Views of a CostReport: a rich table with the region and the prices' date above it, and JSON.

No AWS calls, no exits.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from snapinfra_db.render.text import human_bytes

if TYPE_CHECKING:
    from snapinfra_db.ops.cost import CostReport, TableCost

JSON_FORMAT_VERSION = "1"
NA = "[dim]n/a[/dim]"
PARTS = ("storage", "pitr", "reads", "writes", "streams")
HEADINGS = {"storage": "storage", "pitr": "PITR", "reads": "reads", "writes": "writes", "streams": "streams"}
BILLING = {"PAY_PER_REQUEST": "on-demand", "PROVISIONED": "provisioned"}
NOT_COUNTED = (
    "Not counted: free tiers, backups and restores, exports, global tables, DAX, data transfer, reserved "
    "capacity. Streams count every GetRecords call (Lambda triggers' are free). n/a: not estimated, +: some "
    "part not estimated."
)


def money(value: float | None, sign: str = "$") -> str:
    """$1,234.56; "<$0.01" for less than a cent that is not nothing; None: not estimated."""
    if value is None:
        return NA
    if 0 < value < 0.005:
        return f"<{sign}0.01"
    return f"{sign}{value:,.2f}"


def _cell(value: float | None) -> str:
    """A dollar amount in the table (the heading says USD a month)."""
    return money(value, sign="")


def _billing(t: TableCost) -> str:
    mode = BILLING.get(t.billing or "", t.billing or "?")
    return f"{mode} IA" if t.table_class == "STANDARD_INFREQUENT_ACCESS" else mode


def heading(report: CostReport) -> str:
    source = "built-in" if report.prices_source == "built-in" else report.prices_source
    return (
        f"Monthly cost estimate in {report.currency} · region {report.region} · prices as of "
        f"{report.prices_as_of:%Y-%m-%d} ({source}) · usage of the last {report.days} day(s), scaled to 30 days"
    )


def _row(t: TableCost) -> list[str]:
    if not t.exists:
        return [escape(t.key), "[red]missing[/red]", "", *[""] * len(PARTS), ""]
    parts = t.parts()
    total = _cell(t.total) + ("" if t.complete else "+")
    return [
        escape(t.key),
        escape(_billing(t)),
        human_bytes(t.billed_bytes),
        *[_cell(parts[p]) for p in PARTS],
        f"[bold]{escape(total)}[/bold]",
    ]


def cost_table(report: CostReport) -> Table:
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0), pad_edge=False, show_edge=False)
    table.add_column("table", no_wrap=True)
    table.add_column("billing", no_wrap=True)
    table.add_column("size≈", justify="right", no_wrap=True)
    for part in PARTS:
        table.add_column(HEADINGS[part], justify="right", no_wrap=True)
    table.add_column("total", justify="right", no_wrap=True)
    for t in report.tables:
        table.add_row(*_row(t))
    existing = [t for t in report.tables if t.exists]
    column_totals = []
    for part in PARTS:
        values = [t.parts()[part] for t in existing]
        known = sum(v for v in values if v is not None)
        column_totals.append(_cell(known) + ("+" if any(v is None for v in values) else ""))
    table.add_section()
    grand = _cell(report.total) + ("" if report.complete else "+")
    table.add_row("[bold]total[/bold]", "", "", *column_totals, f"[bold]{escape(grand)}[/bold]")
    return table


def render_cost(console: Console, report: CostReport) -> None:
    console.print(escape(heading(report)))
    console.print()
    console.print(cost_table(report))
    console.print()
    if report.complete:
        console.print(f"Total: [bold]{money(report.total)}[/bold] a month, estimated.")
    else:
        console.print(
            f"Total: [bold]{money(report.total)}[/bold] a month for what could be estimated (+: some parts "
            "were not; see the notes)."
        )
    noted = [t for t in report.tables if t.notes]
    if noted:
        console.print("Notes:")
        for t in noted:
            for note in t.notes:
                console.print(f"  {escape(t.key)}: {escape(note)}")
    console.print(f"[dim]{escape(NOT_COUNTED)}[/dim]")


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _table_json(t: TableCost) -> dict[str, Any]:
    usage = t.usage
    return {
        "key": t.key,
        "table": t.name,
        "exists": t.exists,
        "billing": t.billing,
        "table_class": t.table_class,
        "billed_bytes": t.billed_bytes if t.exists else None,
        "monthly": {
            **{part: _rounded(value) for part, value in t.parts().items()},
            "total": _rounded(t.total) if t.exists else None,
        },
        "complete": t.complete,
        "usage": None
        if usage is None
        else {
            "days": usage.days,
            "read_units": usage.read_units,
            "write_units": usage.write_units,
            "stream_reads": usage.stream_reads,
        },
        "notes": list(t.notes),
    }


def cost_json(report: CostReport) -> str:
    return json.dumps(
        {
            "format_version": JSON_FORMAT_VERSION,
            "region": report.region,
            "currency": report.currency,
            "prices": {"as_of": report.prices_as_of.isoformat(), "source": report.prices_source},
            "usage_window": {
                "days": report.days,
                "start": report.window_start.isoformat(),
                "end": report.window_end.isoformat(),
                "month_days": 30,
            },
            "metrics": {"available": report.metrics, "note": report.metrics_note},
            "tables": [_table_json(t) for t in report.tables],
            "total": _rounded(report.total),
            "complete": report.complete,
        },
        indent=2,
    )
