"""The command line: parse → call the domain → render → exit. Nothing else lives here.

Payload goes to stdout (the plan, JSON, .env lines), people's messages to stderr. Every error
leaves through `_fail`: one line, an exit code, never a traceback for a user's mistake.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from .errors import ExitCode, Refused, SnapinfraError

if TYPE_CHECKING:
    from .aws import Aws
    from .catalog import Catalog
    from .plan import Plan

app = typer.Typer(
    name="snapinfra-db",
    help="Run Snapinfra's DynamoDB tables from a declarative catalog (tables.yaml): plan, apply, and more.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

# A mistyped option exits 1, not click's 2: with `plan --detailed-exitcode`, 2 means "there are
# changes", and a CI job must never read a typo as that (terraform exits 1 on a bad flag too).
# Typer bundles its own click; its UsageError is reached through the public BadParameter.
for _cls in typer.BadParameter.__mro__:
    if _cls.__name__ == "UsageError":
        _cls.exit_code = ExitCode.ERROR  # type: ignore[attr-defined]

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

# -- options shared by every command that reads the catalog or talks to DynamoDB ---------------

CatalogOpt = Annotated[
    Path,
    typer.Option("--catalog", "-c", envvar="SNAPINFRA_DB_CATALOG", help="The catalog file.", show_default=True),
]
RegionOpt = Annotated[
    str | None,
    typer.Option("--region", help="AWS region (default: AWS_REGION / AWS_DEFAULT_REGION / profile)."),
]
ProfileOpt = Annotated[str | None, typer.Option("--profile", help="AWS profile (default: AWS_PROFILE).")]
EndpointOpt = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url",
        help="DynamoDB endpoint, e.g. a local DynamoDB (default: AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL).",
    ),
]
PrefixOpt = Annotated[
    str | None,
    typer.Option("--prefix", help="Table-name prefix instead of the catalog's (e.g. snapinfra-staging-)."),
]
ParallelismOpt = Annotated[
    int, typer.Option("--parallelism", min=1, max=50, help="Tables worked on at once.", show_default=True)
]
LocalOpt = Annotated[
    bool,
    typer.Option(
        "--local",
        help="Use the local DynamoDB of `snapinfra-db local` (http://localhost:8000, or the port it runs on).",
    ),
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
DEFAULT_CATALOG = Path("tables.yaml")


def fail(message: str, code: int = ExitCode.ERROR) -> NoReturn:
    # Messages quote user input and paths: never let rich read them as markup ("[local]").
    if "\n" in message:
        err.print(message, markup=False)
    else:
        err.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(code)


@contextmanager
def handle_errors() -> Iterator[None]:
    """Turn every expected failure into one line and an exit code."""
    try:
        yield
    except typer.Exit:
        raise
    except SnapinfraError as exc:
        fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None
    except Exception as exc:
        from .aws import translate

        translated = translate(exc)
        if translated is not None:
            fail(str(translated), translated.exit_code)
        if isinstance(exc, OSError) and exc.filename is not None:
            # A path the user gave that cannot be used (a file where a folder should be, no
            # permission, a full disk): say which path and why, in one line.
            fail(f"{exc.filename}: {exc.strerror or exc}")
        raise


def load(catalog: Path, prefix: str | None) -> Catalog:
    from .catalog import load_catalog

    return load_catalog(catalog, prefix)


def make_aws(
    region: str | None,
    profile: str | None,
    endpoint_url: str | None,
    parallelism: int = 10,
    local: bool = False,
) -> Aws:
    from .aws import Aws, AwsOptions

    if local:
        if endpoint_url:
            raise SnapinfraError("--local and --endpoint-url name two endpoints: pass one of them")
        from .local_state import local_endpoint

        endpoint_url = local_endpoint()
    return Aws(AwsOptions(region=region, profile=profile, endpoint_url=endpoint_url, parallelism=parallelism))


def make_plan(catalog: Catalog, aws: Aws, parallelism: int) -> Plan:
    from .diff import diff_catalog
    from .live import read_tables

    live = read_tables(aws.dynamodb, [t.name for t in catalog.tables], parallelism, aws.key_manager_lookup)
    return diff_catalog(catalog, live)


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
        bool, typer.Option("--detailed-exitcode", help="Exit 0 when nothing changes, 2 when something would.")
    ] = False,
    parallelism: ParallelismOpt = 10,
) -> None:
    """Show what apply would change. Reads live DynamoDB; changes nothing.

    Exit codes: 0 success (with --detailed-exitcode: no changes), 1 error, 2 changes (--detailed-exitcode).
    """
    with handle_errors():
        loaded = load(catalog, prefix)
        the_plan = make_plan(loaded, make_aws(region, profile, endpoint_url, parallelism, local), parallelism)
        from .render import plan_json, render_plan

        if json_output:
            print(plan_json(the_plan))
        else:
            render_plan(out, the_plan)
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
    parallelism: ParallelismOpt = 10,
    wait_timeout: Annotated[
        float, typer.Option("--wait-timeout", help="Seconds to wait for one table or index to become ACTIVE.")
    ] = 3600.0,
) -> None:
    """Plan, show the plan, ask, then converge live DynamoDB to the catalog.

    Never deletes a table, never touches a table outside the catalog. Exit 0 when everything was
    applied (or nothing needed to be), 1 if any table failed or is blocked or nothing was confirmed.
    """
    with handle_errors():
        loaded = load(catalog, prefix)
        aws = make_aws(region, profile, endpoint_url, parallelism, local)
        the_plan = make_plan(loaded, aws, parallelism)
        from .render import render_plan

        render_plan(out, the_plan)
        if not the_plan.has_changes:
            return
        if not any(c.steps for c in the_plan.changes):
            fail("nothing can be applied: every change is blocked (see above)")
        confirm(yes, "Apply these changes?")
        run_plan(loaded, aws, the_plan, parallelism, wait_timeout)


def stdin_is_terminal() -> bool:
    """Whether a person can answer a question (tests replace this)."""
    return sys.stdin.isatty()


def confirm(yes: bool, question: str, what: str = "apply", word: str | None = None) -> None:
    """Ask before changing anything. --yes skips; no terminal and no --yes refuses (exit 1).

    With `word`, the user must type that word (e.g. "delete") rather than answer y/n.
    """
    if yes:
        return
    if not stdin_is_terminal():
        raise Refused(f"refusing to {what} without confirmation: stdin is not a terminal; pass --yes to {what}")
    if word is None:
        if not typer.confirm(question, default=False, err=True):
            raise Refused(f"{what} cancelled: nothing was changed")
        return
    answer = typer.prompt(f"{question} Type '{word}' to confirm", default="", show_default=False, err=True)
    if answer.strip() != word:
        raise Refused(f"{what} cancelled: nothing was changed")


def run_plan(catalog: Catalog, aws: Aws, the_plan: Plan, parallelism: int, wait_timeout: float) -> None:
    from .executor import ApplyInterrupted, Executor, WaitPolicy
    from .render import apply_progress, render_results

    specs = {t.name: t for t in catalog.tables}
    work = [c.table for c in the_plan.changes]
    executor = Executor(aws.dynamodb, specs, parallelism=parallelism, policy=WaitPolicy(timeout=wait_timeout))
    try:
        with apply_progress(out, work) as on_event:
            executor.on_event = on_event
            results = executor.run(the_plan)
    except ApplyInterrupted as exc:
        render_results(out, exc.results)
        fail(
            "interrupted: calls already sent finish in DynamoDB; run apply again to converge",
            130,
        )
    render_results(out, results)
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
            from .render import env_lines

            print(env_lines(mapping))


def env_mapping(catalog: Catalog, aws: Aws) -> dict[str, str]:
    """The backend's environment: one variable per table, AWS_REGION, and the endpoint if any."""
    mapping = dict(catalog.env_lines())
    try:
        mapping["AWS_REGION"] = aws.region
    except SnapinfraError:
        err.print("note: no AWS region configured; AWS_REGION left out (pass --region)")
    if aws.options.effective_endpoint:
        mapping["AWS_ENDPOINT_URL_DYNAMODB"] = aws.options.effective_endpoint
    return mapping


def _version_callback(value: bool) -> None:
    if value:
        from . import __version__

        print(f"snapinfra-db {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """snapinfra-db: DynamoDB tables from a catalog. Start with `snapinfra-db plan`."""


def main(argv: list[str] | None = None) -> Any:
    return app(args=argv, prog_name="snapinfra-db")


# Commands that live in their own modules register themselves on `app` when imported.
# (Each keeps heavy imports inside its functions, so --help stays fast.)
from . import (  # noqa: E402,F401
    cli_health,  # health
    cli_local,  # local, local status, local stop
    cli_purge,  # purge-legacy, destroy, restore-export
)
