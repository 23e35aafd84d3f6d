"""Where snapinfra-db keeps files of its own (XDG-style cache and state folders), and how it writes
files that hold an operator's data: exports of table items, state records, logs. Those are private:
0600 files in 0700 folders, whatever the umask."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TextIO

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def user_dir(explicit_env: str, xdg_env: str, home_default: str) -> Path:
    """``$explicit_env``, else ``$xdg_env/snapinfra-db``, else ``~/<home_default>/snapinfra-db`` (XDG)."""
    explicit = os.environ.get(explicit_env)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get(xdg_env)
    if xdg:
        return Path(xdg).expanduser() / "snapinfra-db"
    return Path.home() / home_default / "snapinfra-db"


def cache_dir() -> Path:
    """``$SNAPINFRA_DB_CACHE``, else ``$XDG_CACHE_HOME/snapinfra-db``, else ``~/.cache/snapinfra-db``."""
    return user_dir("SNAPINFRA_DB_CACHE", "XDG_CACHE_HOME", ".cache")


def state_dir() -> Path:
    """``$SNAPINFRA_DB_STATE``, else ``$XDG_STATE_HOME/snapinfra-db``, else ``~/.local/state/snapinfra-db``."""
    return user_dir("SNAPINFRA_DB_STATE", "XDG_STATE_HOME", ".local/state")


def private_dir(path: Path) -> Path:
    """`path` as a folder, created 0700 (with any missing parents) if it does not exist yet.
    An existing folder is left as it is."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    for created in missing:  # mkdir's mode is masked by the umask, and parents=True ignores it
        with contextlib.suppress(OSError):
            created.chmod(PRIVATE_DIR)
    return path


def private_file(path: Path) -> Path:
    """`path` as a file only its owner can read and write (0600): created empty if missing (a log
    another process appends to), tightened if it exists (it is this tool's own)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)
    return path


def open_private(path: Path) -> TextIO:
    """A new file at `path` for writing text, 0600 whatever the umask. An existing file is an error
    (FileExistsError): nothing is ever written through a file someone else made."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
        return os.fdopen(fd, "w", encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise


def write_private(path: Path, text: str) -> Path:
    """Replace `path` with `text` atomically (a temporary file, then a rename), 0600 in a private folder."""
    private_dir(path.parent)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)  # a leftover of a crashed run of this same process id
    with open_private(tmp) as handle:
        handle.write(text)
    tmp.replace(path)
    return path
