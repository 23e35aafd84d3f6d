"""Where `snapinfra-db local` keeps its state: one JSON record per port, its log and its data.

The state directory is ``$SNAPINFRA_DB_STATE``, else ``$XDG_STATE_HOME/snapinfra-db``, else
``~/.local/state/snapinfra-db``. No boto3 here: `--local` on any command reads this cheaply.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from snapinfra_db.dirs import state_dir

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
    path = _record_path(record.port)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(asdict(record), indent=2) + "\n")
    tmp.replace(path)
    return path


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


def local_endpoint() -> str:
    """The endpoint `--local` means: the running `local` (port 8000 first), else localhost:8000."""
    running = records()
    for record in running:
        if record.port == DEFAULT_PORT:
            return record.endpoint_url
    if len(running) == 1:
        return running[0].endpoint_url
    return f"http://localhost:{DEFAULT_PORT}"
