"""`snapinfra-db import`: adopt existing tables, as catalog YAML on stdout or merged into a catalog.

Thin: parse → ops.adopt.import_tables → print → exit. Heavy imports stay inside the function so
`--help` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from snapinfra_db.cli.application import app, err, handle_errors
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
    TimeoutOpt,
)
from snapinfra_db.errors import SnapinfraError


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether an option was given (on the command line or through its environment variable)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT")


@app.command("import")
def import_(
    ctx: typer.Context,
    names: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="NAME", help="Live table names (the full DynamoDB names) to import.", show_default=False
        ),
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Every table the endpoint lists (ListTables) whose name has the prefix.")
    ] = False,
    add_to: Annotated[
        Path | None,
        typer.Option(
            "--add-to",
            metavar="FILE",
            help="Merge the entries into the catalog FILE (its comments, order and layout kept; written atomically) "
            "instead of printing a new catalog. Its prefix and defaults apply.",
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="With --add-to: replace a table the catalog already has.")
    ] = False,
    catalog: CatalogOpt = DEFAULT_CATALOG,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    local: LocalOpt = False,
    prefix: PrefixOpt = None,
    stage: StageOpt = None,
    parallelism: ParallelismOpt = DEFAULT_PARALLELISM,
    timeout: TimeoutOpt = None,
) -> None:
    """Print catalog YAML for existing tables (or add it to a catalog with --add-to). Changes no table.

    A table's key is its name minus the prefix (--prefix, else the catalog's when --catalog or --add-to is
    given, else none). Settings equal to the catalog's defaults are left out, key types written only where
    not S. The entries are checked before they are printed or written: plan on the result shows no changes.

    Exit codes: 0 printed or written (or nothing new to add), 1 error: an unknown table, a name outside
    the prefix, a table the catalog already has (without --overwrite), something a catalog cannot describe.
    """
    with handle_errors(timeout):
        from snapinfra_db.ops.adopt import Target, import_tables

        if overwrite and add_to is None:
            raise SnapinfraError("--overwrite replaces tables in the catalog --add-to names: pass --add-to FILE")
        base = None
        if add_to is not None:
            if _given(ctx, "catalog") and Path(catalog).resolve() != add_to.resolve():
                raise SnapinfraError("--add-to FILE is the catalog the tables go into: leave out --catalog")
            if not add_to.exists():
                raise SnapinfraError(
                    f"{add_to} does not exist: --add-to adds to a catalog; to start one, print it "
                    "(snapinfra-db import ... > FILE)"
                )
            base = load(add_to, prefix, stage=stage)
        elif _given(ctx, "catalog") or stage is not None:
            base = load(catalog, prefix, stage=stage)
        target = Target(
            prefix=base.prefix if base is not None else (prefix or ""),
            catalog=base,
            add_to=add_to,
            prefix_option=prefix,
            overwrite=overwrite,
        )
        aws = make_aws(region, profile, endpoint_url, parallelism, local, base.stage if base is not None else None)
        result = import_tables(
            aws.dynamodb,
            names or [],
            every,
            target,
            key_manager=aws.key_manager_lookup or aws.endpoint_key_manager,
            parallelism=parallelism,
            endpoint=aws.describe_endpoint(),
        )
        for note in result.notes:
            err.print(f"note: {note}", markup=False)
        if result.written is not None:
            added = [k for k in result.keys if k not in result.replaced]
            if added:
                err.print(f"Added {len(added)} table(s) to {result.written}: {', '.join(added)}", markup=False)
            if result.replaced:
                replaced = ", ".join(result.replaced)
                err.print(f"Replaced {len(result.replaced)} table(s) in {result.written}: {replaced}", markup=False)
        elif result.text:
            sys.stdout.write(result.text)
            sys.stdout.flush()
