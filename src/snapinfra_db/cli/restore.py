"""`snapinfra-db restore TABLE (--to-time T | --latest | --from-backup ARN) --as NEW_NAME`: a catalog
table restored into a new table, then given the catalog entry's settings a restore does not carry.

Thin: parse → ops.pitr_restore (checks, the restore call, the wait) → the catalog entry of TABLE,
renamed NEW_NAME, planned and applied through apply's own executor → the backend's .env line.
Heavy imports stay inside the function so `--help` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from snapinfra_db.cli.application import app, err, fail, handle_errors, interrupted, out
from snapinfra_db.cli.inputs import load, make_aws, make_plan, select_tables
from snapinfra_db.cli.options import (
    DEFAULT_CATALOG,
    CatalogOpt,
    EndpointOpt,
    LocalOpt,
    PrefixOpt,
    ProfileOpt,
    RegionOpt,
    StageOpt,
    TimeoutOpt,
)
from snapinfra_db.cli.tables import run_plan
from snapinfra_db.errors import SnapinfraError

if TYPE_CHECKING:
    from snapinfra_db.aws import Aws
    from snapinfra_db.catalog import Catalog, TableSpec

#: AWS restores a large table in hours ("most restores complete in less than 10 hours"); past the wait
#: DynamoDB carries on, and --resume finishes the job.
RESTORE_WAIT = 12 * 3600.0


def catalog_table(catalog: Catalog, name: str) -> TableSpec:
    """The one catalog table `name` designates (short name, full name, or a glob matching one)."""
    chosen = select_tables(catalog, [name]).tables
    if len(chosen) != 1:
        keys = ", ".join(t.key for t in chosen)
        raise SnapinfraError(f"TABLE '{name}' matches {len(chosen)} catalog tables ({keys}): restore names one")
    return chosen[0]


@app.command()
def restore(
    table: Annotated[
        str,
        typer.Argument(
            metavar="TABLE",
            help="The catalog table restored: its short name (projects) or full name.",
            show_default=False,
        ),
    ],
    as_name: Annotated[
        str,
        typer.Option(
            "--as",
            metavar="NEW_NAME",
            help="The new table's full name (3-255 of A-Z a-z 0-9 _ . -). Refused if it exists.",
            show_default=False,
        ),
    ],
    to_time: Annotated[
        str | None,
        typer.Option(
            "--to-time",
            metavar="ISO8601",
            help="Restore the table as it was then: a time with its zone (2024-05-01T09:08:07Z, ...+02:00), "
            "within its restorable window (PITR).",
        ),
    ] = None,
    latest: Annotated[bool, typer.Option("--latest", help="Restore to the latest restorable time (PITR).")] = False,
    from_backup: Annotated[
        str | None,
        typer.Option("--from-backup", metavar="ARN", help="Restore an on-demand backup of TABLE (see `backup list`)."),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="NEW_NAME was restored from TABLE already (an interrupted restore): wait for it and apply the "
            "catalog's settings.",
        ),
    ] = False,
    catalog: CatalogOpt = DEFAULT_CATALOG,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    local: LocalOpt = False,
    prefix: PrefixOpt = None,
    stage: StageOpt = None,
    wait_timeout: Annotated[
        float,
        typer.Option(
            "--wait-timeout",
            min=1,
            help="Seconds to wait for the restored table to be ACTIVE (DynamoDB carries on past it), and then for "
            "each of its settings.",
        ),
    ] = RESTORE_WAIT,
    timeout: TimeoutOpt = None,
) -> None:
    """Restore a catalog table into a new table (point in time or backup), with its catalog settings.

    Restores TABLE as NEW_NAME, then applies what a restore does not carry (TTL, PITR, tags, stream,
    deletion protection) from TABLE's catalog entry, as apply does, and prints the .env line that
    points the backend at NEW_NAME. From a point in time (--to-time, checked against the table's
    restorable window first, or --latest) or from a backup (--from-backup). NEW_NAME is not added to
    the catalog. Exit 0 when the table is restored with its settings, 1 otherwise (nothing is created
    when a check fails), 130 on Ctrl-C (the restore goes on in DynamoDB: --resume finishes it).
    """
    with handle_errors(timeout):
        from snapinfra_db.ops.pitr_restore import (
            Source,
            check_restore,
            check_resumable,
            parse_time,
            request_restore,
            wait_restored,
        )
        from snapinfra_db.ops.restore import check_table_name
        from snapinfra_db.render.purge import ProgressLines
        from snapinfra_db.waiting import STATUS

        check_table_name(as_name, "--as")
        given = [
            flag for flag, on in (("--to-time", to_time), ("--latest", latest), ("--from-backup", from_backup)) if on
        ]
        if resume and given:
            raise SnapinfraError(f"--resume restores nothing: leave out {', '.join(given)}")
        if not resume and len(given) != 1:
            raise SnapinfraError(
                "say what to restore from, once: --to-time ISO8601, --latest or --from-backup ARN"
                + (f" (not {' and '.join(given)})" if given else "")
            )
        source = (
            Source("time", when=parse_time(to_time))
            if to_time is not None
            else Source("backup", backup_arn=from_backup)
            if from_backup is not None
            else Source("latest")
        )
        loaded = load(catalog, prefix, stage=stage)
        spec = catalog_table(loaded, table)
        taken = next((t for t in loaded.tables if t.name == as_name and t.name != spec.name), None)
        if taken is not None:
            raise SnapinfraError(f"--as {as_name} is the catalog's table {taken.key}: restore {spec.key} elsewhere")
        aws = make_aws(region, profile, endpoint_url, local=local, stage=loaded.stage)
        client = aws.dynamodb
        resume_line = f"`snapinfra-db restore {spec.key} --as {as_name} --resume`"
        progress = ProgressLines(err)
        started = resume
        try:
            if resume:
                check_resumable(client, spec.name, as_name)
            else:
                check_restore(client, spec.name, as_name, source)
                started = True  # from here on, DynamoDB may be restoring: a stop says how to finish
                request_restore(client, spec.name, as_name, source, on_event=lambda message: progress(as_name, message))
            wait_restored(
                client,
                as_name,
                curve=STATUS.within(wait_timeout),
                on_event=lambda message: progress(as_name, message),
                resume_hint=f"; once it is ACTIVE, {resume_line} applies the catalog's settings",
            )
            apply_settings(loaded, spec, as_name, aws, wait_timeout, resume_line)
        except KeyboardInterrupt:
            if not started:
                raise
            interrupted(
                "restore",
                f"interrupted: the restore of {as_name} goes on in DynamoDB (once asked for), without the catalog's "
                f"settings yet; {resume_line} waits for it and applies them",
            )


def apply_settings(
    catalog: Catalog, spec: TableSpec, as_name: str, aws: Aws, wait_timeout: float, resume_line: str
) -> None:
    """The catalog entry of `spec`, renamed `as_name`, planned against the restored table and carried out by
    apply's executor; then the notes and the .env line. A blocked change is reported, never forced."""
    from snapinfra_db.reconcile.orphans import other_prefix
    from snapinfra_db.render.plan import render_change

    renamed = spec.model_copy(update={"name": as_name})
    one = catalog.model_copy(update={"tables": (renamed,)})
    the_plan = make_plan(one, aws, 1)
    change = the_plan.tables[0]
    if change.action == "blocked":
        render_change(out, change)
        fail(
            f"{as_name} is restored, but {spec.key}'s catalog entry cannot be applied to it in place (blocked, see "
            "above: the backup or point in time predates a change of keys): its settings were not applied"
        )
    if change.action == "none":
        out.print(f"{escape(as_name)} already has every setting of the catalog entry {escape(spec.key)}.")
    else:
        out.print(f"Settings a restore does not carry, from the catalog entry {escape(spec.key)}:\n")
        render_change(out, change)
        run_plan(
            one,
            aws,
            the_plan,
            1,
            wait_timeout,
            command="restore",
            stopped=f"interrupted: the restored table's settings are not all applied; {resume_line}",
            unfinished=f"the restored table's settings were not all applied (see above); {resume_line} tries again",
        )
    err.print(
        "note: a restore carries no auto scaling, CloudWatch alarms or IAM policies, and the catalog has none: "
        f"set them up on {escape(as_name)} if {escape(spec.name)} has any",
    )
    prefixed = bool(catalog.prefix) and as_name.startswith(catalog.prefix)
    if as_name != spec.name and prefixed and other_prefix(as_name, catalog) is None:
        err.print(
            f"note: {escape(as_name)} begins with the catalog's prefix {escape(catalog.prefix)} and is not in the "
            "catalog: plan lists it as an orphan (kept), and apply --prune would delete it (after a backup); add "
            "it to tables.yaml to keep it for good"
        )
    out.print("# .env: point the backend at the restored table")
    out.print(f"{spec.env}={as_name}", markup=False)
