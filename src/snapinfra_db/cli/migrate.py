"""`snapinfra-db migrate SOURCE TARGET`: copy SOURCE's items into a catalog table through a mapping,
resumably, optionally catching up from SOURCE's stream; `--verify` compares the two.

Thin: parse → ops.migrate (copy, follow, verify) → render.migrate → exit. TARGET is created, when
missing, by apply's own executor (cli.tables.run_plan). SOURCE is never changed.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from snapinfra_db.cli.application import app, confirm, err, handle_errors, interrupted, out
from snapinfra_db.cli.inputs import load, make_aws, read_and_plan, select_tables
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
    YesOpt,
)
from snapinfra_db.errors import ExitCode, SnapinfraError

if TYPE_CHECKING:
    from snapinfra_db.aws import Aws
    from snapinfra_db.catalog import Catalog, TableSpec
    from snapinfra_db.ops.mapping import ItemMapping

MapOpt = Annotated[
    Path | None,
    typer.Option(
        "--map",
        metavar="FILE",
        help="A YAML mapping applied to every item: rename, defaults, derive (format strings), drop. "
        "Default: items are copied as they are.",
    ),
]


def _target_spec(catalog: Catalog, name: str) -> TableSpec:
    """TARGET as the catalog has it: its short name (projects-v2) or full name, exactly."""
    matches = [t for t in catalog.tables if name in (t.key, t.name)]
    if not matches:
        select_tables(catalog, [name])  # the catalog's own "no table 'x' (tables: ...)" error
        raise SnapinfraError(f"TARGET '{name}' must name one catalog table exactly, not a pattern")
    return matches[0]


@app.command()
def migrate(
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="The table to copy from (its full name).")],
    target: Annotated[
        str,
        typer.Argument(
            metavar="TARGET", help="The catalog table to copy into (short or full name); created as apply would."
        ),
    ],
    mapping_file: MapOpt = None,
    yes: YesOpt = False,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            help="After the copy, apply the changes SOURCE's stream recorded since it began, and keep following "
            "until Ctrl-C (or --until-caught-up).",
        ),
    ] = False,
    until_caught_up: Annotated[
        bool,
        typer.Option("--until-caught-up", help="With --follow: stop once the stream has nothing new (lag under 1 s)."),
    ] = False,
    verify_only: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Copy nothing: compare TARGET with SOURCE through the mapping (counts, and every item or --sample).",
        ),
    ] = False,
    sample: Annotated[
        int | None,
        typer.Option("--sample", min=1, metavar="N", help="With --verify: compare N items at random, not all."),
    ] = None,
    into_existing: Annotated[
        bool,
        typer.Option(
            "--into-existing",
            help="Write into a TARGET that already holds items this migration did not write (same keys are "
            "replaced). Not needed to resume.",
        ),
    ] = False,
    parallelism: Annotated[
        int,
        typer.Option(
            "--parallelism",
            min=1,
            max=64,
            help="Scan segments copied at once (Segment/TotalSegments), each with its own checkpoint; fixed by "
            "the first run of a migration.",
            show_default=True,
        ),
    ] = 4,
    page_size: Annotated[
        int,
        typer.Option(
            "--page-size", min=25, max=10000, help="Items per Scan page: one checkpoint per page.", show_default=True
        ),
    ] = 500,
    catalog: CatalogOpt = DEFAULT_CATALOG,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    local: LocalOpt = False,
    prefix: PrefixOpt = None,
    stage: StageOpt = None,
    wait_timeout: Annotated[
        float, typer.Option("--wait-timeout", min=1, help="Seconds to wait for a created TARGET to be ACTIVE.")
    ] = 600.0,
    timeout: TimeoutOpt = None,
) -> None:
    """Copy every item of SOURCE into TARGET (a catalog table, created if missing), through --map.

    Items that cannot be mapped (a missing key attribute) go to a reject file with the reason. An
    interrupted copy resumes where it stopped when run again; a finished one copies the same items
    again. SOURCE is only read. Asks before writing (or --yes). Exit 0 when every item was copied or
    rejected (--verify: TARGET equals SOURCE), 1 otherwise, 130 on Ctrl-C.
    """
    with handle_errors(timeout):
        from snapinfra_db.ops.mapping import IDENTITY, load_mapping

        if until_caught_up and not follow:
            follow = True
        if sample is not None and not verify_only:
            raise SnapinfraError("--sample goes with --verify")
        if verify_only and (follow or into_existing):
            raise SnapinfraError("--verify copies nothing: --follow and --into-existing do not go with it")
        mapping = load_mapping(mapping_file) if mapping_file is not None else IDENTITY
        loaded = load(catalog, prefix, stage=stage)
        spec = _target_spec(loaded, target)
        aws = make_aws(region, profile, endpoint_url, parallelism, local, loaded.stage)
        if verify_only:
            run_verify(aws, source, spec.name, mapping, parallelism, sample)
            return
        run_migrate(
            aws,
            loaded,
            spec,
            source,
            mapping,
            mapping_file=mapping_file,
            yes=yes,
            follow=follow,
            until_caught_up=until_caught_up,
            into_existing=into_existing,
            parallelism=parallelism,
            page_size=page_size,
            wait_timeout=wait_timeout,
        )


def run_verify(aws: Aws, source: str, target: str, mapping: ItemMapping, parallelism: int, sample: int | None) -> None:
    from snapinfra_db.ops.migrate import MigrateError, describe, key_schema, verify
    from snapinfra_db.render.migrate import ProgressLines, render_verify

    client = aws.dynamodb_items
    if describe(client, source) is None:
        raise MigrateError(f"SOURCE {source} does not exist")
    keys = key_schema(client, target)
    stop = threading.Event()
    try:
        result = verify(
            client,
            source,
            target,
            mapping,
            keys,
            segments=parallelism,
            sample=sample,
            stop=stop,
            on_progress=ProgressLines(err),
        )
    except KeyboardInterrupt:
        stop.set()
        interrupted("migrate --verify", "interrupted: migrate --verify stopped; nothing was changed")
    render_verify(out, result)
    if not result.ok:
        raise typer.Exit(ExitCode.ERROR)


def run_migrate(
    aws: Aws,
    loaded: Catalog,
    spec: TableSpec,
    source: str,
    mapping: ItemMapping,
    *,
    mapping_file: Path | None,
    yes: bool,
    follow: bool,
    until_caught_up: bool,
    into_existing: bool,
    parallelism: int,
    page_size: int,
    wait_timeout: float,
) -> None:
    from snapinfra_db.cli.tables import run_plan
    from snapinfra_db.ops.migrate import (
        Job,
        MigrateError,
        copy_table,
        describe,
        follow_stream,
        key_schema,
        prepare,
        record_stream,
        stream_of,
    )
    from snapinfra_db.render.migrate import ProgressLines, render_copy, render_follow, render_switch
    from snapinfra_db.render.plan import render_plan

    client = aws.dynamodb_items
    source_table = describe(client, source)
    if source_table is None:
        raise MigrateError(f"SOURCE {source} does not exist")
    if source == spec.name:
        raise MigrateError("SOURCE and TARGET are the same table")
    job = Job(
        source=source,
        target=spec.name,
        endpoint=aws.describe_endpoint(),
        mapping=mapping,
        segments=parallelism,
        page_size=page_size,
        into_existing=into_existing,
    )
    checkpoint, mode = prepare(client, job)
    narrowed = loaded.model_copy(update={"tables": (spec,)})
    the_plan = None
    if describe(client, spec.name) is None:
        the_plan = read_and_plan(narrowed, aws, 1)[0]
        render_plan(out, the_plan)
    if follow:
        stream_of(source_table, source)  # no stream: refused before anything is written
    count = source_table.get("ItemCount")
    # A finished copy that was following its stream: run again with --follow, it goes on following.
    if follow and mode == "again" and checkpoint.state.get("phase") == "following":
        mode = "follow"
    what = {
        "new": "Copy",
        "resume": "Resume the copy of",
        "again": "Copy again (the same items)",
        "follow": "Go on applying the stream of",
    }[mode]
    through = f" through {mapping_file}" if mapping_file is not None else ""
    created = " (created first, as above)" if the_plan is not None else ""
    follow_text = ", then follow its stream" if follow else ""
    question = f"{what} {source} (≈{count or 0:,} items) into {spec.name}{created}{through}{follow_text}?"
    if mode == "resume":
        err.print(f"note: resuming from {checkpoint.folder}", markup=False)
    confirm(yes, question, what="migrate")
    if the_plan is not None and the_plan.has_changes:
        run_plan(narrowed, aws, the_plan, 1, wait_timeout)
    keys = key_schema(client, spec.name)
    if follow:
        record_stream(client, aws.streams, checkpoint, source)  # before the scan
    stop = threading.Event()
    progress = ProgressLines(err)
    rejected = 0
    if mode != "follow":
        try:
            result = copy_table(client, job, checkpoint, mode, keys, stop=stop, on_progress=progress)
        except KeyboardInterrupt:
            stop.set()
            interrupted(
                "migrate",
                f"interrupted: the copy stopped; its checkpoint is in {checkpoint.folder}: run the same "
                "command again to resume",
            )
        render_copy(out, result)
        rejected = result.rejected
    env_name = next((t.env for t in loaded.tables if t.name == source), spec.env)
    verify_command = f"snapinfra-db migrate --verify {source} {spec.key}" + (
        f" --map {mapping_file}" if mapping_file is not None else ""
    )
    if follow:
        try:
            followed = follow_stream(
                client,
                aws.streams,
                job,
                checkpoint,
                keys,
                stop=stop,
                until_caught_up=until_caught_up,
                on_progress=progress,
            )
        except KeyboardInterrupt:
            stop.set()
            render_switch(out, f"{env_name}={spec.name}", verify_command)
            interrupted(
                "migrate",
                "interrupted: stopped following the stream; run migrate --follow again to continue "
                "from the last record applied",
            )
        render_follow(out, followed)
        rejected += followed.rejected
    render_switch(out, f"{env_name}={spec.name}", verify_command)
    if rejected:
        err.print(f"note: {rejected:,} item(s) rejected, each with its reason in {checkpoint.folder}", markup=False)
