"""Where snapinfra-db keeps files of its own: XDG-style cache and state folders."""

from __future__ import annotations

import os
from pathlib import Path


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
