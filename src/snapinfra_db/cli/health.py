"""`snapinfra-db health`: is every catalog table there, ACTIVE, and as the catalog says?

Thin: parse → health.check (or wait_until_healthy) → render → exit. Heavy imports stay inside the
function so `--help` stays fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from snapinfra_db.cli.application import app, err, fail, handle_errors, out
from snapinfra_db.cli.inputs import load, make_aws, orphans_meanwhile
from snapinfra_db.cli.options import (
    DEFAULT_CATALOG,
    DEFAULT_PARALLELISM,
    CatalogOpt,
    EndpointOpt,
    LocalOpt,
    ParallelismOpt,
    PrefixOpt,
    ProfileOpt,
    RegionOpt,
    StageOpt,
    TableOpt,
    TimeoutOpt,
)
from snapinfra_db.errors import ExitCode


@app.command()
def health(
    catalog: CatalogOpt = DEFAULT_CATALOG,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    local: LocalOpt = False,
    prefix: PrefixOpt = None,
    stage: StageOpt = None,
    table: TableOpt = None,
    parallelism: ParallelismOpt = DEFAULT_PARALLELISM,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout (and nothing else).")
    ] = False,
    probe: Annotated[
        bool,
        typer.Option("--probe", help="Time a read-only GetItem (for a key that cannot exist) on every table."),
    ] = False,
    wait: Annotated[
        float | None,
        typer.Option(
            "--wait",
            metavar="SECONDS",
            min=0,
            help="Re-check with backoff until healthy or SECONDS have passed (exit 1 on timeout).",
        ),
    ] = None,
    allow_transient: Annotated[
        bool,
        typer.Option(
            "--allow-transient",
            help="Count tables and indexes that are CREATING, UPDATING or backfilling as healthy.",
        ),
    ] = False,
    timeout: TimeoutOpt = None,
) -> None:
    """Check that every catalog table (or those --table names) exists, is ACTIVE, and matches the catalog.
    Changes nothing.

    Per table: status, indexes, drift (the same diff as plan), PITR, TTL, stream, encryption, billing, size,
    and, with an `alarms` block in the catalog, each CloudWatch alarm's state (one in ALARM is unhealthy).
    Without --table, also lists the orphans: tables with the catalog's ManagedBy tag that the catalog does
    not name (they do not make the catalog unhealthy).

    Exit codes: 0 healthy, 1 unhealthy (or still unhealthy when --wait runs out) or error.
    """
    with handle_errors(timeout):
        loaded = load(catalog, prefix, table, stage)
        aws = make_aws(region, profile, endpoint_url, parallelism, local, loaded.stage)
        from snapinfra_db.ops.health import check, wait_until_healthy
        from snapinfra_db.ops.health_report import HealthReport
        from snapinfra_db.render.health import WaitProgress, health_json, render_health

        def run_check() -> HealthReport:
            return check(aws, loaded, parallelism, probe=probe, allow_transient=allow_transient)

        with orphans_meanwhile(loaded, aws, parallelism, look=not table) as orphans_found:
            if wait is None:
                report = run_check()
            else:
                report, _ = wait_until_healthy(run_check, wait, WaitProgress(err))
            orphans = orphans_found()

        if json_output:
            print(health_json(report, orphans))
        else:
            render_health(out, report, orphans)
        if not report.healthy:
            if wait is not None:
                bad = [t.table for t in report.unhealthy]
                names = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
                fail(f"still unhealthy after waiting {wait:g}s: {names}")
            raise typer.Exit(ExitCode.ERROR)
