"""snapinfra-db: a fleet of DynamoDB tables from a declarative catalog.

This module imports nothing: the command line's entry (`snapinfra_db.__main__`) reads it before
it installs its Ctrl-C handler, and everything else imports it first.
"""

__version__ = "0.1.0"

APPLY_INTERRUPTED = "interrupted: calls already sent finish in DynamoDB; run apply again to converge"


class Interrupt:
    """Ctrl-C as the command line saw it: one object, shared by the entry and the CLI.

    `received` is set by the SIGINT handler of `snapinfra_db.__main__` the moment a signal arrives,
    wherever the KeyboardInterrupt it raises ends up (a `__del__` or C code may swallow it); it is
    the source of truth for the exit code (130). `timed_out` is the same for the clock of
    `--timeout` (cli.deadline), which stops a command the way Ctrl-C does but ends it as an error
    (exit 1). `reported` is set when the `interrupted:` line has been printed, so that it is printed
    once. Plain attributes: reading one needs no lock, and a worker thread may poll `received`
    between two calls.
    """

    received: bool = False
    reported: bool = False
    timed_out: float | None = None  # --timeout's seconds, once they ran out (cli.deadline)


interrupt = Interrupt()


def interrupted_line(command: str | None) -> str:
    """The one line (after `error: `) that says a Ctrl-C, or --timeout, stopped `command` ("apply", ...)."""
    if command == "apply":
        line = APPLY_INTERRUPTED
    else:
        line = f"interrupted: {command + ' ' if command else ''}stopped early; run the command again to converge"
    return as_stopped(line)


def as_stopped(line: str) -> str:
    """An `interrupted: ...` line as it is, or worded for --timeout if that is what stopped the command."""
    if interrupt.timed_out is not None and not interrupt.received:
        return line.replace("interrupted:", f"timed out after {interrupt.timed_out:g}s (--timeout):", 1)
    return line


def command_named(args: list[str]) -> str | None:
    """The command on a command line (its first word that is not an option), without parsing it."""
    words = iter(args)
    for word in words:
        if word in ("--install-completion", "--show-completion"):  # the root options that take a value
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None
