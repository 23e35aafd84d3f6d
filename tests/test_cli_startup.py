"""`--help` must be instant: no command module may import boto3 (or moto) just to describe itself."""

from __future__ import annotations

import subprocess
import sys

import pytest

from snapinfra_db.cli.application import app

CHECK = """
import sys
from snapinfra_db.cli import main
try:
    main({args!r})
except SystemExit as exit:
    code = exit.code
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore", "moto"))
print("HEAVY", heavy, "CODE", code)
"""


def _commands() -> list[list[str]]:
    import typer.main

    group = typer.main.get_group(app)
    found: list[list[str]] = [[]]
    for name, command in group.commands.items():
        found.append([name])
        for sub in getattr(command, "commands", {}):
            found.append([name, sub])
    return found


@pytest.mark.parametrize("words", _commands(), ids=lambda w: " ".join(w) or "(root)")
def test_help_does_not_import_boto3(words: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK.format(args=[*words, "--help"])],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    last = done.stdout.strip().splitlines()[-1]
    assert last == "HEAVY [] CODE 0", done.stdout + done.stderr


PURE_MODULES = ["snapinfra_db.reconcile.diff", "snapinfra_db.reconcile.plan", "snapinfra_db.reconcile.requests"]


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_reconcile_modules_load_neither_the_aws_sdk_nor_rich(module: str) -> None:
    """The diff is a pure function: importing it, in a fresh interpreter, loads no AWS SDK and no view code."""
    check = (
        f"import sys, {module}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'boto3', 'botocore', 'rich', 'moto'}))\n"
    )
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
