"""`snapinfra-db purge-legacy`, `destroy` and `restore-export`: delete tables only after a copy is
known good, and bring an export back.

Thin: parse → purge.inspect → render → confirm → purge.Purger.run → render → exit. Heavy imports
(boto3, the domain modules) stay inside the functions so `--help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from snapinfra_db.cli.application import app, confirm, err, fail, handle_errors, out
from snapinfra_db.cli.inputs import load, make_aws
from snapinfra_db.cli.options import (
    DEFAULT_CATALOG,
    CatalogOpt,
    EndpointOpt,
    LocalOpt,
    ParallelismOpt,
    PrefixOpt,
    ProfileOpt,
    RegionOpt,
    YesOpt,
)
from snapinfra_db.errors import ExitCode, Refused

if TYPE_CHECKING:
    from snapinfra_db.aws import Aws

DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Show what was found and would be done; change nothing.")]
ExactCountOpt = Annotated[
    bool, typer.Option("--exact-count", help="Count items exactly (Scan Select=COUNT) instead of DynamoDB's estimate.")
]
ExportDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--export-dir",
        metavar="DIR",
        help="Export every item to DIR/<table>.jsonl (+ DIR/<table>.schema.json) before deleting. "
        "Replaces the backup unless --backup is also given.",
    ),
]
BackupOpt = Annotated[
    bool | None,
    typer.Option(
        "--backup/--no-backup",
        help="On-demand backup (CreateBackup, waited for until AVAILABLE) before deleting. Default: on, unless "
        "--export-dir is given. --no-backup without --export-dir deletes with no copy at all.",
        show_default=False,
    ),
]
DisableProtectionOpt = Annotated[
    bool,
    typer.Option(
        "--disable-deletion-protection",
        help="Turn deletion protection off (UpdateTable) on protected tables and delete them; otherwise refused.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the summary as one JSON document on stdout.")]
WaitTimeoutOpt = Annotated[
    float,
    typer.Option("--wait-timeout", min=1, help="Seconds to wait for one backup to be AVAILABLE or a table gone."),
]


def _run_purge(
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
    from snapinfra_db.ops.export import check_writable_dir
    from snapinfra_db.ops.purge import PurgeInterrupted, Purger, Safeguards, TableResult, inspect
    from snapinfra_db.render.purge import ProgressLines, render_found, render_summary, summary_json
    from snapinfra_db.waiting import Backoff

    safeguards = Safeguards(backup=export_dir is None if backup is None else backup, export_dir=export_dir)
    view = err if json_output else out
    if export_dir is not None and not dry_run:
        # Before anything is touched: an unwritable DIR is a plain error. export_table creates it.
        check_writable_dir(export_dir, keep=False)

    found = inspect(
        aws.dynamodb,
        tables,
        safeguards,
        disable_protection=disable_protection,
        count_exactly=count_exactly,
        parallelism=parallelism,
    )
    title = f"{command}: {len(tables)} table{'s' if len(tables) != 1 else ''}"
    render_found(view, found, title, safeguards.describe())
    existing = [f for f in found if f.exists]
    if not existing:
        err.print(f"all {len(found)} tables are already gone: nothing to do")
        if json_output:
            gone = None if dry_run else [TableResult(table=f.table, status="already gone") for f in found]
            print(summary_json(command, found, gone, dry_run=dry_run))
        return
    if safeguards.none:
        err.print("[red]warning:[/red] --no-backup without --export-dir: tables are deleted with NO copy")
    if dry_run:
        err.print("dry run: nothing was changed")
        if json_output:
            print(summary_json(command, found, None, dry_run=True, safeguard=safeguards.describe()))
        return

    workable = [f for f in existing if f.refusal is None]
    if workable:
        names = ", ".join(f.table for f in workable)
        plural = "s" if len(workable) != 1 else ""
        confirm(
            yes,
            f"Delete {len(workable)} table{plural} ({names}) after: {safeguards.describe()}?",
            what=command,
            word=word,
        )
    else:
        # Nothing can go: say so without touching anything (and without asking).
        results = [
            TableResult(table=f.table, status="skipped", reason=f.refusal, hint=f.hint)
            if f.exists
            else TableResult(table=f.table, status="already gone")
            for f in found
        ]
        if json_output:
            print(summary_json(command, found, results, safeguard=safeguards.describe()))
        fail("every existing table is refused (see above): nothing was deleted")

    purger = Purger(
        aws.dynamodb,
        safeguards,
        disable_protection=disable_protection,
        parallelism=parallelism,
        policy=Backoff(timeout=wait_timeout),
        on_event=ProgressLines(err),
    )
    try:
        results = purger.run(tables)
    except PurgeInterrupted as exc:
        if json_output:
            print(summary_json(command, found, exc.results, safeguard=safeguards.describe()))
        else:
            render_summary(out, exc.results)
        fail(str(exc), 130)
    if json_output:
        print(summary_json(command, found, results, safeguard=safeguards.describe()))
    else:
        render_summary(out, results)
    if any(r.status not in ("deleted", "already gone") for r in results):
        raise typer.Exit(ExitCode.ERROR)


@app.command("purge-legacy")
def purge_legacy(
    catalog: CatalogOpt = DEFAULT_CATALOG,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    local: LocalOpt = False,
    parallelism: ParallelismOpt = 10,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    exact_count: ExactCountOpt = False,
    export_dir: ExportDirOpt = None,
    backup: BackupOpt = None,
    disable_deletion_protection: DisableProtectionOpt = False,
    json_output: JsonOpt = False,
    wait_timeout: WaitTimeoutOpt = 3600.0,
) -> None:
    """Back up (or export), then delete, the catalog's legacy tables. Missing ones are already gone.

    Asks for the word 'delete' (or --yes). Exit 0 when every legacy table is gone, 1 if any was refused
    or failed (or nothing was confirmed).
    """
    with handle_errors():
        loaded = load(catalog, None)
        names = {t.name for t in loaded.tables}
        clash = [n for n in loaded.legacy if n in names]
        if clash:
            raise Refused(f"legacy table(s) {', '.join(clash)} are also catalog tables: refusing to purge them")
        if not loaded.legacy:
            err.print(f"{catalog}: no legacy tables listed: nothing to purge")
            return
        aws = make_aws(region, profile, endpoint_url, parallelism, local)
        _run_purge(
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
    parallelism: ParallelismOpt = 10,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    exact_count: ExactCountOpt = False,
    export_dir: ExportDirOpt = None,
    backup: BackupOpt = None,
    disable_deletion_protection: DisableProtectionOpt = False,
    json_output: JsonOpt = False,
    wait_timeout: WaitTimeoutOpt = 3600.0,
) -> None:
    """Back up (or export), then delete, every catalog table. Tables outside the catalog are never touched.

    Asks you to type the table prefix (e.g. snapinfra-), or --yes. Catalog tables have deletion
    protection on by default: pass --disable-deletion-protection to delete them. Exit 0 when every
    catalog table is gone, 1 if any was refused or failed.
    """
    with handle_errors():
        loaded = load(catalog, prefix)
        aws = make_aws(region, profile, endpoint_url, parallelism, local)
        _run_purge(
            command="destroy",
            tables=[t.name for t in loaded.tables],
            word=loaded.prefix or "destroy",
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
    parallelism: ParallelismOpt = 10,
    json_output: JsonOpt = False,
    wait_timeout: Annotated[
        float, typer.Option("--wait-timeout", min=1, help="Seconds to wait for a created table to be ACTIVE.")
    ] = 600.0,
) -> None:
    """Re-create tables from an export (DIR/<table>.schema.json) and write their items back (DIR/<table>.jsonl).

    Refuses to write into a table that already holds items unless --into-existing. Exit 0 when every
    table was restored, 1 otherwise.
    """
    with handle_errors():
        from concurrent.futures import ThreadPoolExecutor

        from rich.markup import escape

        from snapinfra_db.ops.export import RestoreResult, exported_tables, restore_table
        from snapinfra_db.ops.purge import message_of
        from snapinfra_db.render.purge import ProgressLines, render_restores, restores_json

        available = exported_tables(directory)
        chosen = list(dict.fromkeys(table)) if table else available
        if not chosen:
            fail(f"{directory} holds no export (no <table>.schema.json)")
        unknown = [t for t in chosen if t not in available]
        if unknown:
            fail(f"{directory} has no export of {', '.join(unknown)} (exports there: {', '.join(available) or 'none'})")
        if as_name and len(chosen) != 1:
            fail("--as renames one table: pick it with --table")
        aws = make_aws(region, profile, endpoint_url, parallelism, local)
        progress = ProgressLines(err)
        # Tables are independent: restore them at once, sharing --parallelism between them so the
        # writes in flight stay within the client's connection pool.
        tables_at_once = min(len(chosen), parallelism)
        writers_per_table = max(1, parallelism // tables_at_once)

        def restore(source: str) -> RestoreResult:
            return restore_table(
                aws.dynamodb,
                directory,
                source,
                as_name=as_name,
                into_existing=into_existing,
                parallelism=writers_per_table,
                wait_timeout=wait_timeout,
                on_progress=progress,
            )

        results: list[RestoreResult] = []
        failures: dict[str, str] = {}
        with ThreadPoolExecutor(max_workers=tables_at_once) as pool:
            futures = {source: pool.submit(restore, source) for source in chosen}
            for source, future in futures.items():
                try:
                    results.append(future.result())
                except Exception as exc:
                    failures[source] = message_of(exc)
                    err.print(f"[red]error:[/red] {escape(source)}: {escape(failures[source])}")
        if json_output:
            print(restores_json(results, failures))
        else:
            render_restores(out, results, failures)
        if failures:
            raise typer.Exit(ExitCode.ERROR)
