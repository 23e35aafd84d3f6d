"""The command line: parse → call the domain → render → exit. Nothing else lives here.

`application` holds the Typer app, the two consoles and the one way out (`fail`); each command
group is a module that registers its commands on that app when imported. Payload goes to stdout
(the plan, JSON, .env lines), people's messages to stderr.
"""

# ruff: noqa: I001  (the command modules are imported in the order --help lists them)
from __future__ import annotations

from typing import Any

from snapinfra_db.cli.application import app

# Importing a command module registers its commands on `app`, in this order in --help; each keeps
# heavy imports inside its functions, so --help stays fast.
from snapinfra_db.cli import tables  # noqa: F401  validate, plan, apply, env
from snapinfra_db.cli import health  # noqa: F401  health
from snapinfra_db.cli import cost  # noqa: F401  cost
from snapinfra_db.cli import adopt  # noqa: F401  import
from snapinfra_db.cli import local  # noqa: F401  local, local status, local stop
from snapinfra_db.cli import purge  # noqa: F401  purge-legacy, destroy, restore-export
from snapinfra_db.cli import iam  # noqa: F401  iam-policy backend, iam-policy operator
from snapinfra_db.cli import backup  # noqa: F401  backup, backup list
from snapinfra_db.cli import restore  # noqa: F401  restore
from snapinfra_db.cli import migrate  # noqa: F401  migrate


def main(argv: list[str] | None = None) -> Any:
    return app(args=argv, prog_name="snapinfra-db")
