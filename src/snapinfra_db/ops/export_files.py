"""An export's files: where they lie, how items are encoded, how they are written safely.

An export is ``DIR/<table>.jsonl`` (DynamoDB JSON, one item a line: exactly the low-level client's
``Item`` dicts serialised with ``json``; binary values, which boto3 returns as ``bytes``, written as
base64 strings as the AWS CLI does) plus ``DIR/<table>.schema.json`` (the table's description).

The items are the tables' data (user profiles, e-mail addresses): the files are written 0600 (owner
only, whatever the umask), in a folder created 0700. An existing folder is used as it is, never
tightened behind the operator's back, but one that other users can write to is refused: they could
replace or read what is written there.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import stat
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from snapinfra_db.dirs import open_private, private_dir
from snapinfra_db.errors import SnapinfraError

# --------------------------------------------------------------------------- item encoding


FORMAT = "snapinfra-db-export/1"


class ExportError(SnapinfraError):
    """An export could not be completed; nothing was left under the final file names."""


def encode_value(value: dict[str, Any]) -> dict[str, Any]:
    """One attribute value of the low-level client → JSON-ready (bytes → base64 strings)."""
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64encode(bytes(inner)).decode("ascii")}
    if kind == "BS":
        return {"BS": [base64.b64encode(bytes(b)).decode("ascii") for b in inner]}
    if kind == "L":
        return {"L": [encode_value(v) for v in inner]}
    if kind == "M":
        return {"M": {k: encode_value(v) for k, v in inner.items()}}
    return {kind: inner}


def decode_value(value: dict[str, Any]) -> dict[str, Any]:
    """The inverse of `encode_value`: base64 strings → bytes, for the low-level client."""
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64decode(inner, validate=True)}
    if kind == "BS":
        return {"BS": [base64.b64decode(b, validate=True) for b in inner]}
    if kind == "L":
        return {"L": [decode_value(v) for v in inner]}
    if kind == "M":
        return {"M": {k: decode_value(v) for k, v in inner.items()}}
    return {kind: inner}


def encode_item(item: dict[str, Any]) -> str:
    return json.dumps({k: encode_value(v) for k, v in item.items()}, ensure_ascii=False, separators=(",", ":"))


def decode_item(line: str) -> dict[str, Any]:
    raw = json.loads(line)
    if not isinstance(raw, dict):
        raise ValueError("not a JSON object")
    return {k: decode_value(v) for k, v in raw.items()}


# --------------------------------------------------------------------------- files


def items_path(directory: Path, table: str) -> Path:
    return directory / f"{table}.jsonl"


def schema_path(directory: Path, table: str) -> Path:
    return directory / f"{table}.schema.json"


def json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot serialise {type(value).__name__}")


def check_writable_dir(directory: Path, *, keep: bool = True) -> None:
    """Create DIR if needed (0700) and prove it is writable, before any table is touched.

    An existing DIR that other users (group or others) can write to is refused (ExportError); one
    this call creates, with any missing parents, is 0700 whatever the umask. With ``keep=False``
    the folders this call created are removed again: a preview that stops at the question must not
    leave an empty export folder behind.
    """
    created = [path for path in (directory, *directory.parents) if not path.exists()]  # deepest first
    try:
        try:
            private_dir(directory)
        except OSError as exc:
            raise ExportError(f"cannot create export directory {directory}: {exc.strerror or exc}") from None
        if not directory.is_dir():
            raise ExportError(f"export directory {directory} is not a directory")
        refuse_shared_dir(directory)
        probe = directory / f".snapinfra-db-write-test-{os.getpid()}-{threading.get_ident()}"
        try:
            with open_private(probe):
                pass
            probe.unlink()
        except OSError as exc:
            raise ExportError(f"export directory {directory} is not writable: {exc.strerror or exc}") from None
    finally:
        if not keep:
            for path in created:
                with contextlib.suppress(OSError):
                    path.rmdir()


def refuse_shared_dir(directory: Path) -> None:
    """ExportError when other users (group or others) can write to `directory`."""
    mode = stat.S_IMODE(directory.stat().st_mode)
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise ExportError(
            f"export directory {directory} is writable by other users (mode {mode:04o}): refusing to write "
            f"table data there; chmod go-w {directory}"
        )


def fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def count_lines(path: Path) -> int:
    count = 0
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                count += 1
    return count
