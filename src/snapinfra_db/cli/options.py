"""Options shared by every command that reads the catalog or talks to DynamoDB.

Each command lists them after its name (`snapinfra-db plan --local`), as Typer options.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
StageOpt = Annotated[
    str | None,
    typer.Option(
        "--stage",
        envvar="SNAPINFRA_DB_STAGE",
        metavar="NAME",
        help="The catalog's stage (stages.NAME in tables.yaml): its prefix, region, profile, endpoint and "
        "overrides. Default: the catalog's default_stage. --prefix, --region, --profile, --endpoint-url and "
        "--local still win over the stage's.",
        show_default=False,
    ),
]
# Every table of a catalog at once: DynamoDB's own waits (CREATING, backfills) overlap instead of
# queueing behind each other; 50 leaves AWS's quota of concurrent table operations far away.
DEFAULT_PARALLELISM = 50
ParallelismOpt = Annotated[
    int,
    typer.Option(
        "--parallelism",
        min=1,
        max=250,
        help="Tables worked on at once. The default starts every table of a catalog this size at once; AWS allows "
        "500 table operations at a time (250 creates of tables with indexes) and answers LimitExceeded beyond, "
        "which is retried.",
        show_default=True,
    ),
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
TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        envvar="SNAPINFRA_DB_TIMEOUT",
        min=1,
        metavar="SECONDS",
        help="Give up after SECONDS for the whole command, as Ctrl-C would (calls already sent finish in "
        "DynamoDB), and exit 1. Default: no bound (one call that gets no answer fails within 15 s).",
    ),
]
TableOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--table",
        "-t",
        metavar="NAME",
        help="Only this catalog table: its short name (projects), full name (snapinfra-projects) or a glob of "
        "either ('proj*'). Repeatable. Default: every catalog table.",
        show_default=False,
    ),
]

# -- what is copied before a table is deleted (purge-legacy, destroy, apply --prune) ------------

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
