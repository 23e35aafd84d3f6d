"""The Typer app, its two consoles, confirmation, and the one way out for errors.

Payload goes to stdout (the plan, JSON, .env lines), people's messages to stderr. Every error
leaves through `fail`: one line, an exit code, never a traceback for a user's mistake.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from snapinfra_db.errors import ExitCode, Refused, SnapinfraError

if TYPE_CHECKING:
    pass

app = typer.Typer(
    name="snapinfra-db",
    help="Run Snapinfra's DynamoDB tables from a declarative catalog (tables.yaml): plan, apply, and more.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

# A mistyped option exits 1, not click's 2: with `plan --detailed-exitcode`, 2 means "there are
# changes", and a CI job must never read a typo as that (terraform exits 1 on a bad flag too).
# Typer bundles its own click; its UsageError is reached through the public BadParameter.
for _cls in typer.BadParameter.__mro__:
    if _cls.__name__ == "UsageError":
        _cls.exit_code = ExitCode.ERROR  # type: ignore[attr-defined]

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

def fail(message: str, code: int = ExitCode.ERROR) -> NoReturn:
    # Messages quote user input and paths: never let rich read them as markup ("[local]").
    if "\n" in message:
        err.print(message, markup=False)
    else:
        err.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(code)


@contextmanager
def handle_errors() -> Iterator[None]:
    """Turn every expected failure into one line and an exit code."""
    try:
        yield
    except typer.Exit:
        raise
    except SnapinfraError as exc:
        fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    except Exception as exc:
        from snapinfra_db.aws import translate

        translated = translate(exc)
        if translated is not None:
            fail(str(translated), translated.exit_code)
        if isinstance(exc, OSError) and exc.filename is not None:
            # A path the user gave that cannot be used (a file where a folder should be, no
            # permission, a full disk): say which path and why, in one line.
            fail(f"{exc.filename}: {exc.strerror or exc}")
        raise


def stdin_is_terminal() -> bool:
    """Whether a person can answer a question (tests replace this)."""
    return sys.stdin.isatty()


def confirm(yes: bool, question: str, what: str = "apply", word: str | None = None) -> None:
    """Ask before changing anything. --yes skips; no terminal and no --yes refuses (exit 1).

    With `word`, the user must type that word (e.g. "delete") rather than answer y/n.
    """
    if yes:
        return
    if not stdin_is_terminal():
        raise Refused(f"refusing to {what} without confirmation: stdin is not a terminal; pass --yes to {what}")
    if word is None:
        if not typer.confirm(question, default=False, err=True):
            raise Refused(f"{what} cancelled: nothing was changed")
        return
    answer = typer.prompt(f"{question} Type '{word}' to confirm", default="", show_default=False, err=True)
    if answer.strip() != word:
        raise Refused(f"{what} cancelled: nothing was changed")


def _version_callback(value: bool) -> None:
    if value:
        from snapinfra_db import __version__

        print(f"snapinfra-db {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """snapinfra-db: DynamoDB tables from a catalog. Start with `snapinfra-db plan`."""


