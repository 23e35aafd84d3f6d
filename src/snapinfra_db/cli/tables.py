"""`validate`, `plan`, `apply` and `env`: the catalog's tables, from check to converge."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from snapinfra_db.cli.application import app, confirm, err, fail, handle_errors, interrupted, out
from snapinfra_db.cli.inputs import env_mapping, load, make_aws, make_plan
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
    TimeoutOpt,
    YesOpt,
)
from snapinfra_db.errors import ExitCode, SnapinfraError

if TYPE_CHECKING:
    from snapinfra_db.aws import Aws
    from snapinfra_db.catalog import Catalog
    from snapinfra_db.reconcile.plan import Plan


# -- commands ---------------------------------------------------------------------------------


@app.command()
def validate(catalog: CatalogOpt = DEFAULT_CATALOG, prefix: PrefixOpt = None) -> None:
    """Check the catalog offline (no AWS calls). Exit 0 if valid, 1 with FILE:LINE:COL errors if not."""
    with handle_errors():
        loaded = load(catalog, prefix)
        indexes = sum(len(t.global_indexes) for t in loaded.tables)
        err.print(f"{catalog}: ok ({len(loaded.tables)} tables, {indexes} global indexes, {len(loaded.legacy)} legacy)")


@app.command()
def plan(
    catalog: CatalogOpt = DEFAULT_CATALOG,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    local: LocalOpt = False,
    prefix: PrefixOpt = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the plan as one JSON document.")] = False,
    detailed_exitcode: Annotated[
        bool,
        typer.Option(
            "--detailed-exitcode",
            help="Exit 0 when nothing changes, 2 when something would (1 if a change is blocked).",
        ),
    ] = False,
    parallelism: ParallelismOpt = DEFAULT_PARALLELISM,
    timeout: TimeoutOpt = None,
) -> None:
    """Show what apply would change. Reads live DynamoDB; changes nothing.

    Exit codes: 0 success (with --detailed-exitcode: no changes), 1 error or a blocked change (apply
    cannot carry the plan out), 2 changes (--detailed-exitcode).
    """
    with handle_errors(timeout):
        loaded = load(catalog, prefix)
        the_plan = make_plan(loaded, make_aws(region, profile, endpoint_url, parallelism, local), parallelism)
        from snapinfra_db.render.plan import plan_json, render_plan

        if json_output:
            print(plan_json(the_plan))
        else:
            render_plan(out, the_plan)
        blocked = [c.table for c in the_plan.changes if c.action == "blocked"]
        if blocked:
            # terraform's convention: a plan that cannot be applied is an error, not "changes".
            fail(f"{len(blocked)} table(s) cannot be changed in place (blocked): {', '.join(blocked)}; see above")
        if detailed_exitcode and the_plan.has_changes:
            raise typer.Exit(ExitCode.CHANGES)


@app.command()
def apply(
    catalog: CatalogOpt = DEFAULT_CATALOG,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    local: LocalOpt = False,
    prefix: PrefixOpt = None,
    yes: YesOpt = False,
    parallelism: ParallelismOpt = DEFAULT_PARALLELISM,
    wait_timeout: Annotated[
        float, typer.Option("--wait-timeout", help="Seconds to wait for one table or index to become ACTIVE.")
    ] = 3600.0,
    timeout: TimeoutOpt = None,
) -> None:
    """Plan, show the plan, ask, then converge live DynamoDB to the catalog.

    Never deletes a table, never touches a table outside the catalog. Exit 0 when everything was
    applied (or nothing needed to be), 1 if any table failed or is blocked or nothing was confirmed.
    """
    with handle_errors(timeout):
        loaded = load(catalog, prefix)
        aws = make_aws(region, profile, endpoint_url, parallelism, local)
        the_plan = make_plan(loaded, aws, parallelism)
        from snapinfra_db.render.plan import render_plan

        render_plan(out, the_plan)
        if not the_plan.has_changes:
            return
        if not any(c.steps for c in the_plan.changes):
            fail("nothing can be applied: every change is blocked (see above)")
        confirm(yes, "Apply these changes?")
        run_plan(loaded, aws, the_plan, parallelism, wait_timeout)


def run_plan(catalog: Catalog, aws: Aws, the_plan: Plan, parallelism: int, wait_timeout: float) -> None:
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
        interrupted("apply")
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
        raise typer.Exit(ExitCode.ERROR)


@app.command()
def env(
    catalog: CatalogOpt = DEFAULT_CATALOG,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    local: LocalOpt = False,
    prefix: PrefixOpt = None,
    output_format: Annotated[str, typer.Option("--format", help="dotenv or json.")] = "dotenv",
) -> None:
    """Print the backend's .env lines: one NAME=table per table, AWS_REGION (and the endpoint, if any)."""
    with handle_errors():
        if output_format not in ("dotenv", "json"):
            raise SnapinfraError(f"--format must be dotenv or json, not '{output_format}'")
        loaded = load(catalog, prefix)
        mapping = env_mapping(loaded, make_aws(region, profile, endpoint_url, local=local))
        if output_format == "json":
            import json

            print(json.dumps(mapping, indent=2))
        else:
            from snapinfra_db.render.text import dotenv_text

            print(dotenv_text(mapping))
