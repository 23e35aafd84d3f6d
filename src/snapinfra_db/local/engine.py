"""`snapinfra-db local`'s engine room: pick an engine, start it or reuse a running one, stop it.

Engines, in order of preference:

* AWS's DynamoDB Local (Java): the faithful one. Its data lives in a folder (``-dbPath``) so
  tables and items survive a restart, unless ``in_memory``.
* moto's server (``pip install 'snapinfra-db[local]'``): used when Java or the jar cannot be had.
  Always in memory, and more lenient than DynamoDB (see ../shared/design/dynamodb-rules.md).

What was started is written to a record per port (:mod:`local_state`), so that ``--local``,
``local status`` and ``local stop`` find it from another process. Nothing here prints: the CLI
renders what these functions return.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from snapinfra_db.dirs import private_dir, private_file, state_dir
from snapinfra_db.errors import SnapinfraError
from snapinfra_db.local import state as local_state
from snapinfra_db.local.jar import LocalServerError, ensure_jar, java_available
from snapinfra_db.local.process import (
    DynamoDBLocal,
    MotoServer,
    ServerProcess,
    is_dynamodb_endpoint,
    port_in_use,
    signal_group,
)
from snapinfra_db.waiting import PROCESS_EXIT, WaitTimeout, wait_for

EngineChoice = Literal["auto", "dynamodb-local", "moto"]


class LocalError(SnapinfraError):
    """The local engine could not be started, found or stopped (one line)."""


@dataclass
class Started:
    """The outcome of :func:`start`: a new engine we own, or one that was already there."""

    record: local_state.LocalRecord
    reused: bool
    engine: ServerProcess | None  # None when reused (someone else owns the process)
    notes: list[str]


def moto_available() -> bool:
    return importlib.util.find_spec("moto") is not None and importlib.util.find_spec("flask") is not None


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _choose_engine(choice: EngineChoice, jar: Path | None, notes: list[str]) -> tuple[str, Path | None]:
    """("dynamodb-local", jar) or ("moto", None), or a LocalError saying what is missing."""
    if choice == "moto":
        if not moto_available():
            raise LocalError("moto's server is not installed: pip install 'snapinfra-db[local]'")
        return "moto", None
    problem: str
    if not java_available():
        problem = "Java is not installed (DynamoDB Local needs Java 11 or newer)"
    else:
        try:
            return "dynamodb-local", ensure_jar(jar)
        except LocalServerError as exc:
            problem = str(exc)
    if choice == "dynamodb-local" or jar is not None:
        raise LocalError(problem)
    if not moto_available():
        raise LocalError(f"{problem}, and the moto fallback is not installed: pip install 'snapinfra-db[local]'")
    notes.append(f"{problem}: using moto's server instead (in memory, less faithful than DynamoDB Local)")
    return "moto", None


def start(
    port: int = local_state.DEFAULT_PORT,
    *,
    engine: EngineChoice = "auto",
    jar: Path | None = None,
    in_memory: bool = False,
    db_path: Path | None = None,
    detach: bool = False,
    timeout: float = 60.0,
) -> Started:
    """Start a local DynamoDB on ``port``, or reuse the one already answering there.

    Something on the port that does not answer like DynamoDB is an error, never a target.
    """
    notes: list[str] = []
    if port_in_use(port):
        url = f"http://localhost:{port}"
        if not is_dynamodb_endpoint(url):
            raise LocalError(f"port {port} is taken by something that is not DynamoDB: pick another with --port")
        record = local_state.read_record(port)
        if record is None or not local_state.pid_alive(record.pid):
            # Not ours (or its record is gone): use it, but we cannot say what it is.
            record = local_state.LocalRecord(
                port=port, engine="unknown", pid=None, log=None, db_path=None, detached=True, started_at=_now()
            )
        return Started(record=record, reused=True, engine=None, notes=notes)

    kind, jar_path = _choose_engine(engine, jar, notes)
    # The operator's alone (the data holds the tables' items): folders 0700, the log 0600, created
    # here before the engine writes to them with its own umask.
    private_dir(state_dir())
    log = private_file(local_state.log_path(port))
    workdir = private_dir(state_dir() / f"work-{port}")
    running: ServerProcess
    data: Path | None = None
    if kind == "dynamodb-local":
        assert jar_path is not None
        data = None if in_memory else (db_path or local_state.default_db_path() / str(port))
        if data is not None:
            private_dir(data)
        running = DynamoDBLocal(jar_path, port=port, in_memory=in_memory, db_path=data, log_path=log, workdir=workdir)
        where = f" ({jar_path})"
    else:
        if db_path is not None and not in_memory:
            notes.append("moto keeps everything in memory: --db-path is ignored")
        running = MotoServer(port, log_path=log, workdir=workdir)
        where = ""
    try:
        running.start(timeout=timeout)
    except LocalServerError as exc:
        raise LocalError(f"{running.label} did not start{where}: {exc} (log: {log})") from exc

    pid = running.detach() if detach else os.getpid()
    record = local_state.LocalRecord(
        port=port,
        engine=kind,
        pid=pid,
        log=str(log),
        db_path=str(data) if data is not None else None,
        detached=detach,
        started_at=_now(),
    )
    local_state.write_record(record)
    return Started(record=record, reused=False, engine=None if detach else running, notes=notes)


def _cmdline(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return None  # no /proc (macOS): trust the record


def _looks_like_ours(record: local_state.LocalRecord) -> bool:
    """Guard against a recycled pid: only signal a process that is what the record says."""
    if record.pid is None:
        return False
    cmdline = _cmdline(record.pid)
    if cmdline is None:
        return True
    return any(marker in cmdline for marker in ("DynamoDBLocal", "moto.server", "snapinfra"))


def stop_targets(port: int | None = None, every: bool = False) -> list[local_state.LocalRecord]:
    """What `local stop` stops: every running `local` (``every``), the one on ``port``, else the one
    `--local` picks. Empty when there is none; a LocalError when `--local` could not choose either.
    """
    running = local_state.records()
    if every:
        if port is not None:
            raise LocalError("--all and --port contradict each other: pass one")
        return running
    if port is not None:
        return [r for r in running if r.port == port]
    try:
        picked = local_state.picked_record(running)
    except local_state.SeveralLocalEndpoints as exc:
        listed = ", ".join(str(p) for p in exc.ports)
        raise LocalError(
            f"several local DynamoDBs are running (ports {listed}): pass --port PORT, or --all to stop every one"
        ) from exc
    return [picked] if picked is not None else []


def stop(record: local_state.LocalRecord, timeout: float = 15.0) -> bool:
    """Stop what ``record`` describes; True if a process was stopped. The record is removed."""
    stopped = False
    if record.pid is not None and local_state.pid_alive(record.pid) and _looks_like_ours(record):
        # A detached engine leads its own process group; a foreground `local` handles SIGTERM.
        if record.detached:
            signal_group(record.pid, signal.SIGTERM)
        else:
            with contextlib.suppress(OSError):
                os.kill(record.pid, signal.SIGTERM)
        pid = record.pid

        def gone() -> bool | None:
            return True if not local_state.pid_alive(pid) or _reaped(pid) else None

        try:
            wait_for(gone, PROCESS_EXIT.within(timeout), what=f"pid {pid} to exit")
        except WaitTimeout:
            signal_group(pid, signal.SIGKILL)  # not waited for: SIGKILL cannot be ignored
        stopped = True
    local_state.remove_record(record.port)
    return stopped


def _reaped(pid: int) -> bool:
    """A detached child of this very process shows as alive until reaped (tests start and stop)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return done == pid


@dataclass(frozen=True)
class Status:
    record: local_state.LocalRecord
    answering: bool
    tables: int | None
    picked: bool = False  # the one `--local` picks


def status(ports: list[int] | None = None) -> list[Status]:
    """The local engines started by snapinfra-db that are still alive, and whether they answer."""
    from snapinfra_db.aws import local_dynamodb_client

    found: list[Status] = []
    running = local_state.records()
    try:
        picked = local_state.picked_record(running)
    except local_state.SeveralLocalEndpoints:
        picked = None  # `--local` refuses: it picks none of them
    for record in running:
        if ports and record.port not in ports:
            continue
        tables: int | None = None
        answering = False
        with contextlib.suppress(Exception):
            client = local_dynamodb_client(f"http://127.0.0.1:{record.port}", timeout=2.0, attempts=1)
            names: list[str] = []
            for page in client.get_paginator("list_tables").paginate():
                names.extend(page.get("TableNames", []))
            tables = len(names)
            answering = True
        found.append(Status(record=record, answering=answering, tables=tables, picked=record == picked))
    return found
