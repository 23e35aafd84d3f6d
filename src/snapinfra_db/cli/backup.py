"""`snapinfra-db backup` and `backup list`: on-demand backups of the catalog's tables.

Thin: parse → ops.backups → render.backups → exit. Heavy imports stay inside the functions so
`--help` stays fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from snapinfra_db.cli.application import app, err, handle_errors, interrupted, out
from snapinfra_db.cli.inputs import load, make_aws
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

backup_app = typer.Typer(
    help="On-demand backups of the catalog's tables: make them (default), `list` them.",
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode="rich",
)
app.add_typer(backup_app, name="backup")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout (progress stays on stderr).")]


@backup_app.callback(invoke_without_command=True)
def backup(
    ctx: typer.Context,
    catalog: CatalogOpt = DEFAULT_CATALOG,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    local: LocalOpt = False,
    prefix: PrefixOpt = None,
    stage: StageOpt = None,
    table: TableOpt = None,
    parallelism: ParallelismOpt = DEFAULT_PARALLELISM,
    json_output: JsonOpt = False,
    wait_timeout: Annotated[
        float, typer.Option("--wait-timeout", min=1, help="Seconds to wait for one backup to be AVAILABLE.")
    ] = 3600.0,
    timeout: TimeoutOpt = None,
) -> None:
    """Back up every catalog table (or those --table names), each waited for until AVAILABLE.

    CreateBackup `<table>-<UTC yyyymmddThhmmssZ>` for each table, all at once; `snapinfra-db backup
    list` shows them. Exit 0 when every table has its AVAILABLE backup, 1 if any
    has not (a table that does not exist, AWS refused) or the endpoint has no backups (DynamoDB Local).
    """
    if ctx.invoked_subcommand is not None:
        return
    with handle_errors(timeout):
        from snapinfra_db.ops.backups import BackupsInterrupted, back_up_tables
        from snapinfra_db.render.backups import backups_json, render_backups
        from snapinfra_db.render.purge import ProgressLines

        loaded = load(catalog, prefix, table, stage)
        aws = make_aws(region, profile, endpoint_url, parallelism, local, loaded.stage)
        names = [t.name for t in loaded.tables]
        try:
            results = back_up_tables(
                aws.dynamodb, names, parallelism=parallelism, wait_timeout=wait_timeout, on_event=ProgressLines(err)
            )
        except BackupsInterrupted as exc:
            render_backups(err if json_output else out, exc.results)
            interrupted("backup", str(exc))
        if json_output:
            print(backups_json(results))
        else:
            render_backups(out, results)
        if not all(r.ok for r in results):
            raise typer.Exit(ExitCode.ERROR)


@backup_app.command("list")
def backup_list(
    catalog: CatalogOpt = DEFAULT_CATALOG,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    local: LocalOpt = False,
    prefix: PrefixOpt = None,
    stage: StageOpt = None,
    table: TableOpt = None,
    parallelism: ParallelismOpt = DEFAULT_PARALLELISM,
    json_output: JsonOpt = False,
    timeout: TimeoutOpt = None,
) -> None:
    """List the backups of the catalog's tables, newest first, with size and ARN.

    Every catalog table, or those --table names. Columns: table, name, created (UTC), size, status,
    type (USER, SYSTEM for a deleted table's, AWS_BACKUP) and ARN. Reads ListBackups only; a table
    deleted since still has its backups listed. Exit 0, or 1 on error (DynamoDB Local has no backups).
    """
    with handle_errors(timeout):
        from snapinfra_db.ops.backups import list_backups
        from snapinfra_db.render.backups import backup_list_json, render_backup_list

        loaded = load(catalog, prefix, table, stage)
        aws = make_aws(region, profile, endpoint_url, parallelism, local, loaded.stage)
        found = list_backups(aws.dynamodb, [t.name for t in loaded.tables], parallelism=parallelism)
        if json_output:
            print(backup_list_json(found))
        else:
            render_backup_list(out, found, len(loaded.tables))
