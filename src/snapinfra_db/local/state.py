"""Where `snapinfra-db local` keeps its state: one JSON record per port, its log and its data.

The state directory is ``$SNAPINFRA_DB_STATE``, else ``$XDG_STATE_HOME/snapinfra-db``, else
``~/.local/state/snapinfra-db``. No boto3 here: `--local` on any command reads this cheaply.

What is kept here is the operator's alone: the folders this tool creates (the state folder, DynamoDB
Local's data and working folders) are 0700, the records and logs 0600, whatever the umask. Folders
that already exist are left as they are.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from snapinfra_db.dirs import state_dir, write_private
from snapinfra_db.errors import AwsConfigError

DEFAULT_PORT = 8000
def default_db_path() -> Path:
    """Where DynamoDB Local keeps its data unless --db-path or --in-memory says otherwise."""
    return state_dir() / "data"


@dataclass(frozen=True)
class LocalRecord:
    """What `local` started (or found) on one port."""

    port: int
    engine: str  # "dynamodb-local" or "moto"
    pid: int | None  # None when the engine runs inside a foreground `local` we do not own
    log: str | None
    db_path: str | None  # None: in memory
    detached: bool
    started_at: str

    @property
    def endpoint_url(self) -> str:
        return f"http://localhost:{self.port}"


def _record_path(port: int) -> Path:
    return state_dir() / f"local-{port}.json"


def log_path(port: int) -> Path:
    return state_dir() / f"local-{port}.log"


def write_record(record: LocalRecord) -> Path:
    return write_private(_record_path(record.port), json.dumps(asdict(record), indent=2) + "\n")


def read_record(port: int) -> LocalRecord | None:
    try:
        data = json.loads(_record_path(port).read_text())
        return LocalRecord(**data)
    except (OSError, ValueError, TypeError):
        return None


def remove_record(port: int) -> None:
    with contextlib.suppress(FileNotFoundError):
        _record_path(port).unlink()


def pid_alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def records() -> list[LocalRecord]:
    """Every record whose process is still alive (stale ones are removed)."""
    found: list[LocalRecord] = []
    directory = state_dir()
    if not directory.is_dir():
        return found
    for path in sorted(directory.glob("local-*.json")):
        try:
            port = int(path.stem.removeprefix("local-"))
        except ValueError:
            continue
        record = read_record(port)
        if record is None:
            continue
        if not pid_alive(record.pid):
            remove_record(port)
            continue
        found.append(record)
    return found


class SeveralLocalEndpoints(AwsConfigError):
    """`--local` cannot choose: more than one local DynamoDB runs and none on the default port."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        listed = ", ".join(str(port) for port in ports)
        super().__init__(
            f"several local DynamoDBs are running (ports {listed}): pass --endpoint-url http://localhost:PORT"
        )


def picked_record(running: list[LocalRecord] | None = None) -> LocalRecord | None:
    """The running `local` that `--local` means: the one on port 8000, else the only one.

    None when none runs; :class:`SeveralLocalEndpoints` when several run and none is on 8000
    (picking one of them silently could point a command at the wrong data).
    """
    running = records() if running is None else running
    for record in running:
        if record.port == DEFAULT_PORT:
            return record
    if len(running) == 1:
        return running[0]
    if running:
        raise SeveralLocalEndpoints(sorted(record.port for record in running))
    return None


def local_endpoint() -> str:
    """The endpoint `--local` means: see :func:`picked_record`; with none running, localhost:8000."""
    record = picked_record()
    return record.endpoint_url if record is not None else f"http://localhost:{DEFAULT_PORT}"
