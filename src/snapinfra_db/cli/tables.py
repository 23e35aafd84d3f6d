"""`validate`, `plan`, `apply` and `env`: the catalog's tables, from check to converge."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from snapinfra_db.cli.alarms import (
    alarms_meanwhile,
    check_saved_alarms,
    converge_alarms,
    fail_on_conflicts,
    has_alarm_work,
    plan_alarms,
    saved_alarms,
)
from snapinfra_db.cli.application import app, confirm, err, fail, handle_errors, interrupted, out
from snapinfra_db.cli.inputs import (
    env_mapping,
    load,
    make_aws,
    make_plan,
    orphans_meanwhile,
    read_and_plan,
    stage_heading,
)
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
from snapinfra_db.errors import ExitCode, SnapinfraError

if TYPE_CHECKING:
    from snapinfra_db.aws import Aws
    from snapinfra_db.catalog import Catalog
    from snapinfra_db.reconcile.alarms import AlarmPlan
    from snapinfra_db.reconcile.plan import Plan


# -- commands ---------------------------------------------------------------------------------


@app.command()
def validate(catalog: CatalogOpt = DEFAULT_CATALOG, prefix: PrefixOpt = None, stage: StageOpt = None) -> None:
    """Check the catalog offline (no AWS calls): every stage, or only --stage's. Exit 0 if valid, 1 with
    FILE:LINE:COL errors if not."""
    with handle_errors():
        from snapinfra_db.catalog import load_every_stage

        every = load_every_stage(catalog, prefix) if stage is None else (load(catalog, prefix, stage=stage),)
        loaded = every[0]
        indexes = sum(len(t.global_indexes) for t in loaded.tables)
        counts = f"{len(loaded.tables)} tables, {indexes} global indexes, {len(loaded.legacy)} legacy"
        if stage is not None and loaded.stage is not None:
            counts = f"stage {loaded.stage.name}: {counts}"
        elif loaded.stage is not None:
            counts = f"{len(every)} stages: {', '.join(loaded.stages)}; {counts}"
        err.print(f"{catalog}: ok ({counts})", markup=False)


@app.command()
def plan(
    catalog: CatalogOpt = DEFAULT_CATALOG,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    local: LocalOpt = False,
    prefix: PrefixOpt = None,
    stage: StageOpt = None,
    table: TableOpt = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the plan as one JSON document.")] = False,
    detailed_exitcode: Annotated[
        bool,
        typer.Option(
            "--detailed-exitcode",
            help="Exit 0 when nothing changes, 2 when something would (1 if a change is blocked). Orphans count "
            "as changes only with --prune.",
        ),
    ] = False,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="Plan what `apply --prune` would do: orphans (managed tables not in the catalog) are to be deleted.",
        ),
    ] = False,
    parallelism: ParallelismOpt = DEFAULT_PARALLELISM,
    timeout: TimeoutOpt = None,
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="FILE",
            help="Also save the plan to FILE (0600; the same JSON as --json), with what it was made from: the "
            "catalog's digest, prefix and stage, endpoint, region and account, and each table's live state. "
            "`apply FILE` applies exactly it, or refuses if anything moved since.",
        ),
    ] = None,
) -> None:
    """Show what apply would change, and the orphans: tables carrying the catalog's ManagedBy tag that the
    catalog does not name (apply keeps them; apply --prune deletes them). Reads live DynamoDB; changes nothing.

    With an `alarms` block in the catalog, also the CloudWatch alarms to create, update or delete (named
    <table>[.<index>]-<alarm>, tagged ManagedBy=snapinfra-db; only those are ever changed or deleted).
    CloudWatch is asked at AWS_ENDPOINT_URL_CLOUDWATCH, else at the DynamoDB endpoint (--endpoint-url:
    moto's server serves both; on one without CloudWatch, such as DynamoDB Local, alarms are not supported).

    Exit codes: 0 success (with --detailed-exitcode: no changes), 1 error or a blocked change (apply
    cannot carry the plan out), 2 changes (--detailed-exitcode; orphans only with --prune).
    """
    with handle_errors(timeout):
        check_prune(prune, table)
        if prune and out_file is not None:
            raise SnapinfraError(
                "--out and --prune do not go together: a saved plan never deletes tables (apply --prune does, "
                "after its own confirmation); save the plan without --prune"
            )
        from snapinfra_db.cli.saved import catalog_digest, made_from

        saving = json_output or out_file is not None
        digest = catalog_digest(catalog) if saving else None  # before it is read: made_from checks it again
        loaded = load(catalog, prefix, table, stage)
        aws = make_aws(region, profile, endpoint_url, parallelism, local, loaded.stage)
        with orphans_meanwhile(loaded, aws, parallelism, look=not table) as orphans_found:
            with alarms_meanwhile(loaded, aws, parallelism) as alarms_found:
                the_plan, live = read_and_plan(loaded, aws, parallelism)
                alarm_plan = alarms_found()
            orphans = orphans_found()
        from snapinfra_db.render.plan import plan_json, render_plan

        made = None
        if saving:
            made = made_from(
                catalog_path=catalog,
                digest_before=digest,
                catalog=loaded,
                prefix_option=prefix,
                prune=prune,
                aws=aws,
                live=live,
                account_required=out_file is not None,
            )
        if json_output:
            print(plan_json(the_plan, orphans, prune, made, alarm_plan))
        else:
            if loaded.stage is not None:
                out.print(stage_heading(loaded, aws), markup=False)
            render_plan(out, the_plan, orphans, prune, alarm_plan)
        if out_file is not None and made is not None:
            from snapinfra_db.cli.saved import save_plan

            save_plan(out_file, plan_json(the_plan, orphans, prune, made, alarm_plan))
            err.print(
                f"Saved the plan to {out_file}: `snapinfra-db apply {out_file}` applies exactly these actions, "
                "or nothing if anything moved since.",
                markup=False,
            )
        blocked = [c.table for c in the_plan.changes if c.action == "blocked"]
        if blocked:
            # terraform's convention: a plan that cannot be applied is an error, not "changes".
            fail(f"{len(blocked)} table(s) cannot be changed in place (blocked): {', '.join(blocked)}; see above")
        fail_on_conflicts(alarm_plan)
        # Orphans are kept by apply: "changes" only when apply is to delete them (--prune).
        pruning = prune and orphans is not None and orphans.orphans
        if detailed_exitcode and (the_plan.has_changes or has_alarm_work(alarm_plan) or pruning):
            raise typer.Exit(ExitCode.CHANGES)


def check_prune(prune: bool, table: list[str] | None) -> None:
    if prune and table:
        raise SnapinfraError(
            "--prune and --table do not go together: --table narrows the scope to some catalog tables, and "
            "orphans are by definition outside it; prune without --table"
        )


@app.command()
def apply(
    ctx: typer.Context,
    plan_file: Annotated[
        Path | None,
        typer.Argument(
            metavar="PLANFILE",
            help="A saved plan (plan --out FILE, or plan --json's output): apply exactly it, without asking, "
            "after checking that nothing moved since it was made (the catalog file, prefix and stage, endpoint, "
            "region and account, each table's live state); if anything did, change nothing, name it, exit 1. "
            "The catalog is the file the plan names unless --catalog is given.",
            show_default=False,
        ),
    ] = None,
    catalog: CatalogOpt = DEFAULT_CATALOG,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    local: LocalOpt = False,
    prefix: PrefixOpt = None,
    stage: StageOpt = None,
    table: TableOpt = None,
    yes: YesOpt = False,
    parallelism: ParallelismOpt = DEFAULT_PARALLELISM,
    wait_timeout: Annotated[
        float, typer.Option("--wait-timeout", help="Seconds to wait for one table or index to become ACTIVE.")
    ] = 3600.0,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="Also delete the orphans (tables with the catalog's ManagedBy tag, or prefix, that the catalog does "
            "not name), as destroy does: a backup or export first, typed confirmation (the prefix) unless --yes.",
        ),
    ] = False,
    export_dir: ExportDirOpt = None,
    backup: BackupOpt = None,
    disable_deletion_protection: DisableProtectionOpt = False,
    timeout: TimeoutOpt = None,
) -> None:
    """Plan, show the plan, ask, then converge live DynamoDB to the catalog (or the tables --table names);
    or, given PLANFILE, apply that saved plan as it was reviewed, or nothing if anything moved since.

    Never deletes a table without --prune, never touches a table outside the catalog but the orphans
    --prune deletes (each after its copy: --export-dir / --backup; see destroy). The catalog's CloudWatch
    alarms converge once the tables have (PutMetricAlarm, DeleteAlarms of this tool's alarms only). Exit 0
    when everything was applied (or nothing needed to be), 1 if any table failed, is blocked or was refused, or nothing
    was confirmed.
    """
    with handle_errors(timeout):
        check_prune(prune, table)
        if not prune and (export_dir is not None or backup is not None or disable_deletion_protection):
            raise SnapinfraError(
                "--export-dir, --backup/--no-backup and --disable-deletion-protection only apply to --prune"
            )
        if plan_file is not None:
            given = option_given(ctx, "catalog")
            apply_saved_plan(
                plan_file,
                catalog if given else None,
                prefix,
                stage,
                table,
                prune,
                region,
                profile,
                endpoint_url,
                local,
                parallelism,
                wait_timeout,
            )
            return
        loaded = load(catalog, prefix, table, stage)
        aws = make_aws(region, profile, endpoint_url, parallelism, local, loaded.stage)
        with orphans_meanwhile(loaded, aws, parallelism, look=not table) as orphans_found:
            with alarms_meanwhile(loaded, aws, parallelism) as alarms_found:
                the_plan = make_plan(loaded, aws, parallelism)
                alarm_plan = alarms_found()
            orphans = orphans_found()
        from snapinfra_db.render.plan import render_plan

        if loaded.stage is not None:
            out.print(stage_heading(loaded, aws), markup=False)
        render_plan(out, the_plan, orphans, prune, alarm_plan)
        apply_changes(loaded, aws, the_plan, alarm_plan, parallelism, wait_timeout, yes)
        if prune and orphans is not None and orphans.orphans:
            from snapinfra_db.cli.purge import destroy_word, run_purge

            run_purge(
                command="apply --prune",
                tables=orphans.names,
                word=destroy_word(loaded),
                aws=aws,
                parallelism=parallelism,
                yes=yes,
                dry_run=False,
                count_exactly=False,
                export_dir=export_dir,
                backup=backup,
                disable_protection=disable_deletion_protection,
                json_output=False,
                wait_timeout=wait_timeout,
            )


def option_given(ctx: typer.Context, name: str) -> bool:
    """Whether option `name` was given (on the command line or in its environment variable)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def apply_saved_plan(
    plan_file: Path,
    catalog: Path | None,
    prefix: str | None,
    stage: str | None,
    table: list[str] | None,
    prune: bool,
    region: str | None,
    profile: str | None,
    endpoint_url: str | None,
    local: bool,
    parallelism: int,
    wait_timeout: float,
) -> None:
    """apply PLANFILE: the saved plan's steps, exactly, once cli.saved found nothing moved since it was made."""
    if table or prune:
        raise SnapinfraError(
            f"{'--table' if table else '--prune'} does not go with a saved plan: it applies the tables it was made "
            "for, and never deletes tables"
        )
    from snapinfra_db.cli.saved import checked_saved_plan
    from snapinfra_db.render.plan import render_plan

    saved = saved_alarms(plan_file)
    loaded, aws, the_plan, made = checked_saved_plan(
        plan_file,
        catalog=catalog,
        prefix=prefix,
        stage=stage,
        region=region,
        profile=profile,
        endpoint_url=endpoint_url,
        local=local,
        parallelism=parallelism,
    )
    # The alarms of the tables the plan was made for (plan --out may have been given --table).
    planned = loaded.model_copy(update={"tables": tuple(t for t in loaded.tables if t.name in made.live)})
    alarm_plan = plan_alarms(planned, aws, parallelism)
    check_saved_alarms(plan_file, saved, alarm_plan)
    err.print(
        f"Applying the saved plan {plan_file} (made {made.made_at:%Y-%m-%d %H:%M:%S} UTC): the catalog and the "
        f"{len(made.live)} table(s) it plans are as they were then.",
        markup=False,
    )
    if loaded.stage is not None:
        out.print(stage_heading(loaded, aws), markup=False)
    render_plan(out, the_plan, alarms=alarm_plan)
    apply_changes(planned, aws, the_plan, alarm_plan, parallelism, wait_timeout, yes=True)


def apply_changes(
    catalog: Catalog,
    aws: Aws,
    the_plan: Plan,
    alarm_plan: AlarmPlan | None,
    parallelism: int,
    wait_timeout: float,
    yes: bool,
) -> None:
    """Confirm, converge the tables, then the alarms (once the tables have: a table that failed exits 1
    first). Exit 1 when a change is blocked or an alarm name is taken by an alarm this tool did not make."""
    alarm_work = has_alarm_work(alarm_plan)
    if the_plan.has_changes or alarm_work:
        tables_work = any(c.steps for c in the_plan.changes)
        if not tables_work and not alarm_work:
            fail("nothing can be applied: every change is blocked (see above)")
        confirm(yes, "Apply these changes?")
        if tables_work:
            run_plan(catalog, aws, the_plan, parallelism, wait_timeout)  # exits 1 (before any prune) if a table failed
        converge_alarms(catalog, aws, alarm_plan, parallelism)
        if not tables_work and the_plan.has_changes:
            fail("every table change is blocked (see above)")
    fail_on_conflicts(alarm_plan)


def run_plan(
    catalog: Catalog,
    aws: Aws,
    the_plan: Plan,
    parallelism: int,
    wait_timeout: float,
    *,
    command: str = "apply",
    stopped: str | None = None,
    unfinished: str | None = None,
) -> None:
    """Carry `the_plan` out with apply's executor, drawing progress, then the results. `command`,
    `stopped` (the line for an interrupt) and `unfinished` (the error when a table is not applied;
    None: exit 1 with the results as the only words) let restore say it in its own words."""
    from snapinfra_db.reconcile.capabilities import not_applied, remember_not_applied
    from snapinfra_db.reconcile.executor import ApplyInterrupted, Executor
    from snapinfra_db.render.apply import apply_progress, render_results
    from snapinfra_db.waiting import STATUS

    specs = {t.name: t for t in catalog.tables}
    work = [c.table for c in the_plan.changes]
    endpoint = aws.options.effective_endpoint
    executor = Executor(
        aws.dynamodb,
        specs,
        parallelism=parallelism,
        # --wait-timeout bounds each wait for a table to be ready; the polling curve stays STATUS's.
        status=STATUS.within(wait_timeout),
        not_applied=not_applied(endpoint),
        learn=endpoint is not None,  # against AWS itself nothing is ever assumed unsupported
    )
    try:
        with apply_progress(out, work) as on_event:
            executor.on_event = on_event
            results = executor.run(the_plan)
    except ApplyInterrupted as exc:
        render_results(out, exc.results)
        interrupted(command, stopped)
    render_results(out, results)
    learnt = {setting: r.table for r in results for setting in r.not_applied}
    record = remember_not_applied(endpoint, learnt)
    if record is not None:
        names = ", ".join(sorted(s.value for s in learnt))
        err.print(
            f"note: this endpoint accepted but did not apply: {names}. plan will list them as not supported "
            f"(remembered in {record}; delete that file to check again).",
            markup=False,
        )
    if any(r.status != "applied" for r in results):
        if unfinished is not None:
            fail(unfinished)
        raise typer.Exit(ExitCode.ERROR)


@app.command()
def env(
    catalog: CatalogOpt = DEFAULT_CATALOG,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    local: LocalOpt = False,
    prefix: PrefixOpt = None,
    stage: StageOpt = None,
    output_format: Annotated[str, typer.Option("--format", help="dotenv or json.")] = "dotenv",
) -> None:
    """Print the backend's .env lines: one NAME=table per table, AWS_REGION (and the endpoint, if any)."""
    with handle_errors():
        if output_format not in ("dotenv", "json"):
            raise SnapinfraError(f"--format must be dotenv or json, not '{output_format}'")
        loaded = load(catalog, prefix, stage=stage)
        mapping = env_mapping(loaded, make_aws(region, profile, endpoint_url, local=local, stage=loaded.stage))
        if output_format == "json":
            import json

            print(json.dumps(mapping, indent=2))
        else:
            from snapinfra_db.render.text import dotenv_text

            print(dotenv_text(mapping))
