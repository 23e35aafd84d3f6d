"""`snapinfra-db purge-legacy`, `destroy` and `restore-export`: delete tables only after a copy is
known good, and bring an export back.

Thin: parse → ops.purge.purge_tables (which shows the survey and asks through callbacks) → render → exit. Heavy imports
(boto3, the domain modules) stay inside the functions so `--help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from snapinfra_db.cli.application import app, confirm, err, fail, handle_errors, interrupted, out
from snapinfra_db.cli.inputs import load, make_aws
from snapinfra_db.cli.options import (
    DEFAULT_CATALOG,
    DEFAULT_PARALLELISM,
    BackupOpt,
    CatalogOpt,
    DisableProtectionOpt,
    EndpointOpt,
    ExportDirOpt,
    LocalOpt,
    ParallelismOpt,
    PrefixOpt,
    ProfileOpt,
    RegionOpt,
    StageOpt,
    TableOpt,
    TimeoutOpt,
    YesOpt,
)
from snapinfra_db.errors import ExitCode, Refused

if TYPE_CHECKING:
    from snapinfra_db.aws import Aws
    from snapinfra_db.catalog import Catalog

DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Show what was found and would be done; change nothing.")]
ExactCountOpt = Annotated[
    bool, typer.Option("--exact-count", help="Count items exactly (Scan Select=COUNT) instead of DynamoDB's estimate.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the summary as one JSON document on stdout.")]
WaitTimeoutOpt = Annotated[
    float,
    typer.Option("--wait-timeout", min=1, help="Seconds to wait for one backup to be AVAILABLE or a table gone."),
]


def destroy_word(catalog: Catalog) -> str:
    """What destroy (and apply --prune) asks the operator to type: the table prefix."""
    return catalog.prefix or "destroy"


def run_purge(
    *,
    command: str,
    tables: list[str],
    word: str,
    aws: Aws,
    parallelism: int,
    yes: bool,
    dry_run: bool,
    count_exactly: bool,
    export_dir: Path | None,
    backup: bool | None,
    disable_protection: bool,
    json_output: bool,
    wait_timeout: float,
) -> None:
    """Survey `tables`, show them, ask for `word` (or --yes), copy as the flags say, delete; render and exit
    as purge-legacy does. Shared by purge-legacy, destroy and apply --prune: one set of safeguards."""
    from snapinfra_db.ops.purge import Found, Safeguards, purge_tables
    from snapinfra_db.render.purge import ProgressLines, render_found, render_summary, summary_json

    safeguards = Safeguards(backup=export_dir is None if backup is None else backup, export_dir=export_dir)
    view = err if json_output else out
    title = f"{command}: {len(tables)} table{'s' if len(tables) != 1 else ''}"

    def show(found: list[Found]) -> None:
        render_found(view, found, title, safeguards.describe())
        if safeguards.none and any(f.exists for f in found):
            err.print("[red]warning:[/red] --no-backup without --export-dir: tables are deleted with NO copy")

    def ask(workable: list[Found]) -> None:
        names = ", ".join(f.table for f in workable)
        plural = "s" if len(workable) != 1 else ""
        question = f"Delete {len(workable)} table{plural} ({names}) after: {safeguards.describe()}?"
        confirm(yes, question, what=command, word=word)

    outcome = purge_tables(
        aws.dynamodb_items,  # exports scan pages of items
        tables,
        safeguards,
        show=show,
        confirm=ask,
        dry_run=dry_run,
        disable_protection=disable_protection,
        count_exactly=count_exactly,
        parallelism=parallelism,
        wait_timeout=wait_timeout,
        on_event=ProgressLines(err),
    )
    found, results = outcome.found, outcome.results
    if outcome.stopped == "all gone":
        err.print(f"all {len(found)} tables are already gone: nothing to do")
        if json_output:
            print(summary_json(command, found, results, dry_run=dry_run))
        return
    if outcome.stopped == "dry run":
        err.print("dry run: nothing was changed")
        if json_output:
            print(summary_json(command, found, None, dry_run=True, safeguard=safeguards.describe()))
        return
    if json_output:
        print(summary_json(command, found, results, safeguard=safeguards.describe()))
    elif outcome.stopped is None:
        render_summary(out, results or [])
    if outcome.stopped == "all refused":
        fail("every existing table is refused (see above): nothing was deleted")
    if outcome.interrupted:
        interrupted(command, outcome.interrupted)
    if any(r.status not in ("deleted", "already gone") for r in results or []):
        raise typer.Exit(ExitCode.ERROR)


@app.command("purge-legacy")
def purge_legacy(
    catalog: CatalogOpt = DEFAULT_CATALOG,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    local: LocalOpt = False,
    stage: StageOpt = None,
    parallelism: ParallelismOpt = DEFAULT_PARALLELISM,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    exact_count: ExactCountOpt = False,
    export_dir: ExportDirOpt = None,
    backup: BackupOpt = None,
    disable_deletion_protection: DisableProtectionOpt = False,
    json_output: JsonOpt = False,
    wait_timeout: WaitTimeoutOpt = 3600.0,
    timeout: TimeoutOpt = None,
) -> None:
    """Back up (or export), then delete, the catalog's legacy tables. Missing ones are already gone.

    Asks for the word 'delete' (or --yes). Exit 0 when every legacy table is gone, 1 if any was refused
    or failed (or nothing was confirmed).
    """
    with handle_errors(timeout):
        loaded = load(catalog, None, stage=stage)
        names = {t.name for t in loaded.tables}
        clash = [n for n in loaded.legacy if n in names]
        if clash:
            raise Refused(f"legacy table(s) {', '.join(clash)} are also catalog tables: refusing to purge them")
        if not loaded.legacy:
            err.print(f"{catalog}: no legacy tables listed: nothing to purge")
            return
        aws = make_aws(region, profile, endpoint_url, parallelism, local, loaded.stage)
        run_purge(
            command="purge-legacy",
            tables=list(loaded.legacy),
            word="delete",
            aws=aws,
            parallelism=parallelism,
            yes=yes,
            dry_run=dry_run,
            count_exactly=exact_count,
            export_dir=export_dir,
            backup=backup,
            disable_protection=disable_deletion_protection,
            json_output=json_output,
            wait_timeout=wait_timeout,
        )


@app.command()
def destroy(
    catalog: CatalogOpt = DEFAULT_CATALOG,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    local: LocalOpt = False,
    prefix: PrefixOpt = None,
    stage: StageOpt = None,
    table: TableOpt = None,
    parallelism: ParallelismOpt = DEFAULT_PARALLELISM,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    exact_count: ExactCountOpt = False,
    export_dir: ExportDirOpt = None,
    backup: BackupOpt = None,
    disable_deletion_protection: DisableProtectionOpt = False,
    json_output: JsonOpt = False,
    wait_timeout: WaitTimeoutOpt = 3600.0,
    timeout: TimeoutOpt = None,
) -> None:
    """Back up (or export), then delete, every catalog table (or those --table names). Tables outside the
    catalog are never touched.

    Asks you to type the table prefix (e.g. snapinfra-), or --yes. Catalog tables have deletion
    protection on by default: pass --disable-deletion-protection to delete them. Exit 0 when every
    chosen table is gone, 1 if any was refused or failed.
    """
    with handle_errors(timeout):
        loaded = load(catalog, prefix, table, stage)
        aws = make_aws(region, profile, endpoint_url, parallelism, local, loaded.stage)
        run_purge(
            command="destroy",
            tables=[t.name for t in loaded.tables],
            word=destroy_word(loaded),
            aws=aws,
            parallelism=parallelism,
            yes=yes,
            dry_run=dry_run,
            count_exactly=exact_count,
            export_dir=export_dir,
            backup=backup,
            disable_protection=disable_deletion_protection,
            json_output=json_output,
            wait_timeout=wait_timeout,
        )


@app.command("restore-export")
def restore_export(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="A directory written by --export-dir.")],
    table: Annotated[
        list[str] | None,
        typer.Option("--table", "-t", help="Restore only this exported table (repeatable). Default: every one."),
    ] = None,
    as_name: Annotated[
        str | None, typer.Option("--as", metavar="NEW_NAME", help="Restore one table under another name.")
    ] = None,
    into_existing: Annotated[
        bool, typer.Option("--into-existing", help="Write into a table that already holds items (same keys win).")
    ] = False,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    local: LocalOpt = False,
    catalog: Annotated[
        Path,
        typer.Option(
            "--catalog",
            "-c",
            envvar="SNAPINFRA_DB_CATALOG",
            help="The catalog whose --stage says where to restore (read only with --stage).",
            show_default=True,
        ),
    ] = DEFAULT_CATALOG,
    stage: Annotated[
        str | None,
        typer.Option(
            "--stage",
            envvar="SNAPINFRA_DB_STAGE",
            metavar="NAME",
            help="Restore into this stage of the catalog: its region, profile and endpoint (the export names the "
            "tables). Default: none, not even default_stage: without --stage the catalog is not read.",
            show_default=False,
        ),
    ] = None,
    parallelism: ParallelismOpt = DEFAULT_PARALLELISM,
    json_output: JsonOpt = False,
    wait_timeout: Annotated[
        float, typer.Option("--wait-timeout", min=1, help="Seconds to wait for a created table to be ACTIVE.")
    ] = 600.0,
    timeout: TimeoutOpt = None,
) -> None:
    """Re-create tables from an export (DIR/<table>.schema.json) and write their items back (DIR/<table>.jsonl).

    Refuses to write into a table that already holds items unless --into-existing. Exit 0 when every
    table was restored, 1 otherwise.
    """
    with handle_errors(timeout):
        from rich.markup import escape

        from snapinfra_db.ops.restore import check_table_name, exported_tables, restore_tables
        from snapinfra_db.render.purge import ProgressLines, render_restores, restores_json

        if as_name is not None:
            check_table_name(as_name, "--as")  # before any call: DynamoDB would only say "Invalid table/index name"
        available = exported_tables(directory)
        chosen = list(dict.fromkeys(table)) if table else available
        if not chosen:
            fail(f"{directory} holds no export (no <table>.schema.json)")
        unknown = [t for t in chosen if t not in available]
        if unknown:
            fail(f"{directory} has no export of {', '.join(unknown)} (exports there: {', '.join(available) or 'none'})")
        if as_name and len(chosen) != 1:
            fail("--as renames one table: pick it with --table")
        where = load(catalog, None, stage=stage).stage if stage is not None else None
        aws = make_aws(region, profile, endpoint_url, parallelism, local, where)
        outcome = restore_tables(
            aws.dynamodb_items,
            directory,
            chosen,
            as_name=as_name,
            into_existing=into_existing,
            parallelism=parallelism,
            wait_timeout=wait_timeout,
            on_progress=ProgressLines(err),
            on_failure=lambda source, why: err.print(f"[red]error:[/red] {escape(source)}: {escape(why)}"),
        )
        results, failures = outcome.results, outcome.failures
        if json_output:
            print(restores_json(results, failures, as_name=as_name))
        else:
            render_restores(out, results, failures, as_name=as_name)
        if failures:
            raise typer.Exit(ExitCode.ERROR)
