"""The catalog's CloudWatch alarms in plan and apply: read them alongside the tables, converge them once the
tables have, and check a saved plan's alarms before anything is changed.

Only a catalog with an `alarms` key somewhere (`Catalog.manages_alarms`) talks to CloudWatch at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from snapinfra_db.cli.application import out
from snapinfra_db.errors import ExitCode

if TYPE_CHECKING:
    from snapinfra_db.aws import Aws
    from snapinfra_db.catalog import Catalog
    from snapinfra_db.reconcile.alarms import AlarmPlan


def plan_alarms(catalog: Catalog, aws: Aws, parallelism: int) -> AlarmPlan | None:
    """The alarm plan; None when the catalog has no alarms (CloudWatch is not called)."""
    if not catalog.manages_alarms:
        return None
    from snapinfra_db.reconcile.alarms_live import plan_alarms as plan

    return plan(aws.cloudwatch, catalog, parallelism, custom_endpoint=aws.cloudwatch_endpoint is not None)


@contextmanager
def alarms_meanwhile(catalog: Catalog, aws: Aws, parallelism: int) -> Iterator[Callable[[], AlarmPlan | None]]:
    """Plan the alarms while the body reads the tables: the body calls the yielded function for the answer."""
    if not catalog.manages_alarms:
        yield lambda: None
        return
    from snapinfra_db.reconcile.alarms_live import plan_alarms as plan
    from snapinfra_db.waiting import reading_pool

    client = aws.cloudwatch  # built here, once, not by two threads at the same moment
    custom = aws.cloudwatch_endpoint is not None
    with reading_pool(1) as pool:
        future = pool.submit(plan, client, catalog, parallelism, custom)
        yield future.result


def has_alarm_work(alarms: AlarmPlan | None) -> bool:
    return alarms is not None and alarms.has_changes


def fail_on_conflicts(alarms: AlarmPlan | None) -> None:
    """A catalog alarm's name taken by an alarm this tool did not make: exit 1, as a blocked table does."""
    if alarms is None or not alarms.conflicts:
        return
    from snapinfra_db.cli.application import fail

    names = ", ".join(c.name for c in alarms.conflicts)
    fail(
        f"{len(alarms.conflicts)} alarm(s) of the catalog exist and were not made by snapinfra-db (left alone): "
        f"{names}; see above"
    )


def converge_alarms(catalog: Catalog, aws: Aws, confirmed: AlarmPlan | None, parallelism: int) -> None:
    """apply's alarm phase, once the tables have converged: read the alarms again and make each confirmed
    change that is still called for, exactly as confirmed (PutMetricAlarm, DeleteAlarms). A change that
    moved since the plan is left alone ("run plan again"). Exit 1 if anything failed or moved."""
    if not has_alarm_work(confirmed):
        return
    assert confirmed is not None
    from snapinfra_db.aws import message_of
    from snapinfra_db.reconcile.alarms_live import apply_alarm_changes
    from snapinfra_db.render.alarms import alarm_result_line, alarm_results_line

    current = plan_alarms(catalog, aws, parallelism)
    now = {(c.op, c.name): c for c in current.work} if current is not None else {}
    todo = [c for c in confirmed.work if now.get((c.op, c.name)) == c]
    moved = [c for c in confirmed.work if now.get((c.op, c.name)) != c]
    for change in moved:
        out.print(f"alarm {change.name}: ! changed since the plan was made: left alone (run plan again)", markup=False)
    results = apply_alarm_changes(
        aws.cloudwatch, todo, message_of, on_result=lambda r: out.print(alarm_result_line(r), highlight=False)
    )
    out.print(alarm_results_line(results, len(moved)), markup=False)
    if moved or any(not r.ok for r in results):
        raise typer.Exit(ExitCode.ERROR)


def saved_alarms(plan_file: Path) -> Any:
    """The `alarms` of a saved plan document (None when it has none)."""
    import json

    from snapinfra_db.cli.saved import read_plan_text

    try:
        document = json.loads(read_plan_text(plan_file))
    except ValueError:
        return None  # checked_saved_plan has already refused a file that is not JSON
    return document.get("alarms") if isinstance(document, dict) else None


def check_saved_alarms(plan_file: Path, saved: Any, current: AlarmPlan | None) -> None:
    """Refuse (nothing changed yet) when the alarm changes planned now differ from the saved plan's."""
    import json

    from snapinfra_db.reconcile.saved import Refusal

    def changes(document: Any) -> Any:
        if not isinstance(document, dict):
            return None
        return {"supported": document.get("supported"), "changes": document.get("changes")}

    now = json.loads(json.dumps(current.to_json())) if current is not None else None
    if changes(saved) == changes(now):
        return

    def by_name(document: Any) -> dict[str, Any]:
        found = (changes(document) or {}).get("changes") or ()
        return {str(c.get("name")): c for c in found if isinstance(c, dict)}

    before, after = by_name(saved), by_name(now)
    moved = sorted(n for n in {*before, *after} if before.get(n) != after.get(n)) or ["CloudWatch's answer"]
    raise Refusal(
        f"{plan_file}: the CloudWatch alarms changed since the plan was made ({', '.join(moved)}); nothing was "
        "changed: run plan again"
    )
