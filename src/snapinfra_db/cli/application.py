"""The Typer app, its two consoles, confirmation, and the one way out for errors.

Payload goes to stdout (the plan, JSON, .env lines), people's messages to stderr. Every error
leaves through `fail`: one `error: ...` line per problem, an exit code, never a traceback for a
user's mistake. Mistakes on the command line itself (a mistyped option, a bad value) leave the
same way (`Root.main`), whichever way the app is called: the console script, `python -m`, or
typer's CliRunner.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.text import Text
from typer._click.exceptions import ClickException, NoSuchOption, UsageError
from typer.core import TyperGroup, TyperOption

from snapinfra_db import as_stopped, command_named, interrupt, interrupted_line
from snapinfra_db.errors import ExitCode, Refused, SnapinfraError


def _wants_plain_output() -> bool:
    """NO_COLOR (any non-empty value, https://no-color.org) or a dumb terminal: no ANSI codes at all."""
    return bool(os.environ.get("NO_COLOR")) or os.environ.get("TERM", "").lower() == "dumb"


# User text (catalog paths, `file:100:5` locations, `[local]`) is never read as emoji codes;
# markup is only what this code writes itself (see `fail`).
out = Console(highlight=False, soft_wrap=True, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def plain_output() -> None:
    """No colour, no style, no cursor movement on either console (--no-color, NO_COLOR, TERM=dumb).

    rich's own NO_COLOR support drops colours but keeps bold and the live display; plain means
    none of it. The consoles are shared objects (every command module imported them), so they
    are switched in place.
    """
    for console in (out, err):
        console.no_color = True
        console._color_system = None  # what Console(color_system=None) sets: styles render as plain text
        console._force_terminal = False  # no live display: one line per event, as in a CI log


if _wants_plain_output():
    plain_output()


def _error_lines(message: str) -> Text:
    text = Text()
    for number, line in enumerate(message.splitlines() or [""]):
        if number:
            text.append("\n")
        text.append("error:", style="red")
        text.append(f" {line}")
    return text


def fail(message: str, code: int = ExitCode.ERROR) -> NoReturn:
    """Print `error: ...` for every line of `message` (one per problem) and exit with `code`.

    The message is a rich Text, never markup: it quotes user input and paths ("[local]", "a.yaml:100:5").
    """
    err.print(_error_lines(message), markup=False, emoji=False, highlight=False)
    if code == ExitCode.INTERRUPTED:
        interrupt.reported = True  # the `interrupted:` line is out: the entry prints no other
    raise typer.Exit(code)


def interrupted(command: str | None, line: str | None = None) -> NoReturn:
    """Ctrl-C: the one `error: interrupted: ...` line for `command` (or `line`), and exit 130;
    --timeout's time running out (cli.deadline): `error: timed out ...`, and exit 1."""
    line = as_stopped(line) if line else interrupted_line(command)
    if interrupt.timed_out is not None and not interrupt.received:
        interrupt.reported = True
        fail(line, ExitCode.ERROR)
    fail(line, ExitCode.INTERRUPTED)


def _current_command() -> str | None:
    """The running command's words ("apply", "local stop"), from click's context."""
    from typer._click.globals import get_current_context

    ctx = get_current_context(silent=True)
    if ctx is None:
        return None
    return " ".join(ctx.command_path.split()[1:]) or None


# -- mistakes on the command line -------------------------------------------------------------


def _option_names(exc: UsageError) -> list[str]:
    command = exc.ctx.command if exc.ctx is not None else None
    return [name for param in (command.params if command else []) for name in (*param.opts, *param.secondary_opts)]


def _no_such_option(exc: NoSuchOption, args: Sequence[str]) -> str:
    # click's possibilities come from difflib, best match first: name that one.
    name, suggestions = exc.option_name, list(exc.possibilities or ())[:1]
    if not name.startswith("--"):
        # `-local` is read as the short options -l -o -c ...: name what was typed, and the long
        # option it most likely meant.
        known = _option_names(exc)
        typed = next((a for a in args if a.startswith(name) and len(a) > 2 and not a.startswith("--")), None)
        if typed is not None:
            name = typed.split("=", 1)[0]
            if f"-{name}" in known:
                suggestions = [f"-{name}"]
    hint = f" (did you mean {suggestions[0]}?)" if suggestions else ""
    return f"no such option: {name}{hint}"


def usage_message(exc: ClickException, args: Sequence[str]) -> str:
    """click's message for a usage error, as one line in this tool's voice."""
    if isinstance(exc, NoSuchOption):
        return _no_such_option(exc, args)
    message = " ".join(exc.format_message().split()).removesuffix(".")
    if len(message) > 1 and message[0].isupper() and message[1].islower():
        message = message[0].lower() + message[1:]
    return message


class Root(TyperGroup):
    """The root command: every way in (console script, `python -m`, CliRunner) ends here.

    click's standalone mode prints usage errors as a usage line, a hint and a box, with exit 2;
    here they are one `error: ...` line on stderr and exit 1 (2 is `plan --detailed-exitcode`'s
    "there are changes", and a CI job must never read a typo as that; terraform exits 1 too).
    """

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        _completion_init()
        argv = list(sys.argv[1:] if args is None else args)
        if not standalone_mode:
            return super().main(argv, prog_name, complete_var, False, windows_expand_args, **extra)
        interrupt.reported = False
        interrupt.timed_out = None
        try:
            code = super().main(argv, prog_name, complete_var, False, windows_expand_args, **extra)
        except ClickException as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # no arguments: the help was shown
                message = exc.format_message()
                if message:
                    out.print(message, markup=False)
                sys.exit(ExitCode.ERROR)
            if isinstance(exc, UsageError):
                err.print(_error_lines(usage_message(exc, argv)), markup=False)
                sys.exit(ExitCode.ERROR)
            err.print(_error_lines(" ".join(exc.format_message().split())), markup=False)
            sys.exit(exc.exit_code or ExitCode.ERROR)
        except typer.Abort:
            err.print(_error_lines("aborted"), markup=False)
            sys.exit(ExitCode.ERROR)
        if code == ExitCode.INTERRUPTED and not interrupt.reported:
            # typer turns a Ctrl-C outside every command's handle_errors (parsing, a callback) into
            # exit 130 without a word: say it, as everywhere else.
            err.print(_error_lines(interrupted_line(command_named(argv))), markup=False)
            interrupt.reported = True
        # Not standalone, click returns the code of a typer.Exit, or the command's return value.
        sys.exit(code if isinstance(code, int) else ExitCode.OK)


app = typer.Typer(
    name="snapinfra-db",
    cls=Root,
    help="Run Snapinfra's DynamoDB tables from a declarative catalog (tables.yaml): plan, apply, and more.",
    no_args_is_help=True,
    add_completion=False,  # the root callback has its own --install-completion/--show-completion SHELL
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


# typer 0.29's rich help prints every option's type, flags included (`--json <bool>`), while its
# plain help (TyperOption.get_help_record) leaves the type out for flags and counters. Do the same
# in the rich help, for every command's flags at once.
_display_type_rich = TyperOption.display_type_rich


def _display_type_rich_without_flags(self: TyperOption, ctx: Any) -> str | None:
    if self.is_flag or self.count:
        return None
    return _display_type_rich(self, ctx)


setattr(TyperOption, "display_type_rich", _display_type_rich_without_flags)  # noqa: B010


@contextmanager
def handle_errors(timeout: float | None = None) -> Iterator[None]:
    """Turn every expected failure into `error: ...` lines and an exit code; stop the command once
    `timeout` seconds have passed (--timeout), as a Ctrl-C would."""
    from snapinfra_db.cli.deadline import deadline

    try:
        with deadline(timeout):
            yield
    except typer.Exit:
        raise
    except SnapinfraError as exc:
        fail(str(exc), exc.exit_code)  # a CatalogError's str is its problems, one per line
    except KeyboardInterrupt:
        interrupted(_current_command())
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


# -- the root options -------------------------------------------------------------------------


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def _completion_init() -> None:
    """Register typer's completion classes, which `_SNAPINFRA_DB_COMPLETE=complete_zsh` needs."""
    from typer._completion_classes import completion_init

    completion_init()


def _show_completion(ctx: typer.Context, param: typer.CallbackParam, value: Shell | None) -> None:
    if value is None or ctx.resilient_parsing:
        return
    from typer.completion import show_callback

    show_callback(ctx, param, value.value)  # prints the script, exits 0


def _install_completion(ctx: typer.Context, param: typer.CallbackParam, value: Shell | None) -> None:
    if value is None or ctx.resilient_parsing:
        return
    from typer.completion import install_callback

    install_callback(ctx, param, value.value)  # writes the script, names the file, exits 0


def _no_color(value: bool) -> None:
    if value:
        plain_output()


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
    no_color: Annotated[
        bool,
        typer.Option(
            "--no-color",
            callback=_no_color,
            is_eager=True,
            help="Plain text: no colour, no styles, no live display (also: NO_COLOR set, TERM=dumb).",
        ),
    ] = False,
    install_completion: Annotated[
        Shell | None,
        typer.Option(
            "--install-completion",
            metavar="SHELL",
            callback=_install_completion,
            expose_value=False,
            is_eager=True,
            help="Install tab completion for SHELL (bash, zsh or fish).",
        ),
    ] = None,
    show_completion: Annotated[
        Shell | None,
        typer.Option(
            "--show-completion",
            metavar="SHELL",
            callback=_show_completion,
            expose_value=False,
            is_eager=True,
            help="Print the tab-completion script for SHELL (bash, zsh or fish), to install it yourself.",
        ),
    ] = None,
) -> None:
    """snapinfra-db: DynamoDB tables from a catalog. Start with `snapinfra-db plan`."""
