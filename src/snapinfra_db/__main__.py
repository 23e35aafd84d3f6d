"""The command line's entry: `python -m snapinfra_db` and the `snapinfra-db` script (`main`).

Ctrl-C is handled here, first thing, before the command line is imported (typer, rich, pydantic
and boto3 take most of a second to load, and a Ctrl-C then must not be a traceback):

- The SIGINT handler records the interrupt (`snapinfra_db.interrupt.received`) and raises
  KeyboardInterrupt once; each command turns that into its `error: interrupted: ...` line and exit
  130 (`cli.application.handle_errors`), apply after its executor stopped every worker.
- A KeyboardInterrupt raised inside a `__del__`, a weakref callback or C code that cannot let it
  through (pydantic building a schema) is "ignored" there and the program went on: `sys.unraisablehook`
  keeps that quiet and raises it again at the next point that can.
- The record is the source of truth: whatever happened to the KeyboardInterrupt, and even for a
  Ctrl-C that arrives after the command finished but before the process ends, the exit code is 130
  and the line is printed once. Never 0, never a traceback.

Only what CPython does before the first line of this module runs is out of reach: in its first
milliseconds the kernel's default action ends the process (a shell reports 130), and while the
interpreter imports `site` and `runpy` its own default handler is in place.

`snapinfra_db.cli.main` stays the plain, in-process entry (tests, CliRunner): it installs nothing.
"""

# CPython's own C module, loaded at start-up: importing it costs nothing, where `signal` would
# first import enum. (No stub exists for it, hence Any.)
import _signal  # type: ignore[import-not-found]
import _thread
import atexit
import os
import sys

from snapinfra_db import command_named, interrupt, interrupted_line

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing before the handler is in place
if TYPE_CHECKING:
    from types import FrameType

INTERRUPTED = 130  # ExitCode.INTERRUPTED, without importing errors before the handler is in place

# The next SIGINT raises KeyboardInterrupt (once; again only if it was swallowed). False until `main`
# is inside its try: a KeyboardInterrupt raised on the way in (at `main`'s first instruction) would
# escape as a traceback; before that, a SIGINT is only recorded, and `main` raises it itself.
_armed = False
_closing = False  # the command is over: a SIGINT now only counts
_exit_code: int | None = None  # what `main` decided; the last atexit callback may still make it 130


def _on_sigint(signum: int, frame: "FrameType | None") -> None:
    global _armed
    interrupt.received = True
    if not _armed or _closing:
        return
    if frame is not None and frame.f_code is _on_unraisable.__code__:
        _redeliver()  # raised in the hook it would be lost again
        return
    _armed = False
    raise KeyboardInterrupt


_default_unraisablehook = sys.unraisablehook


def _on_unraisable(unraisable: "sys.UnraisableHookArgs") -> None:  # a type only for type checkers
    """A KeyboardInterrupt that could not propagate where it was raised: raise it again, silently."""
    global _armed
    if isinstance(unraisable.exc_value, KeyboardInterrupt) and interrupt.received:
        if not _closing:
            _armed = True
            _redeliver()
        return
    if isinstance(unraisable.exc_value, KeyboardInterrupt) and interrupt.timed_out is not None:
        if not _closing:  # --timeout's (cli.deadline): its SIGALRM handler raises it again
            _redeliver(_signal.SIGALRM)
        return
    _default_unraisablehook(unraisable)


def _redeliver(signum: int = _signal.SIGINT) -> None:
    """Run the handler of `signum` again, asked from another thread: at the main thread's next check,
    once the hook (or handler) running now has returned. Asked from here, it would run in here."""
    _thread.start_new_thread(_thread.interrupt_main, (signum,))  # type: ignore[arg-type]  # an int is fine


def _install() -> None:
    """Take over SIGINT, unless it is ignored (a background job of a non-interactive shell)."""
    current = _signal.getsignal(_signal.SIGINT)
    if current == _signal.SIG_IGN or current is _on_sigint:
        return
    _signal.signal(_signal.SIGINT, _on_sigint)
    sys.unraisablehook = _on_unraisable
    atexit.register(_last_word)  # registered first, so it runs after every other atexit callback


def _report() -> None:
    """Print the `interrupted:` line, unless a command already did."""
    if interrupt.reported:
        return
    interrupt.reported = True
    _say(f"error: {interrupted_line(command_named(sys.argv[1:]))}")


def _say(line: str) -> None:
    """`line` on stderr, after whatever stdout holds; a closed stream is no reason to fail."""
    for stream, text in ((sys.stdout, ""), (sys.stderr, f"{line}\n")):
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):
            continue


def _code(value: object) -> int:
    """An exit code as CPython derives it from SystemExit's argument."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    _say(str(value))
    return 1


def _run() -> int:
    try:
        from snapinfra_db.cli import main as command_line  # the heavy imports: after the handler

        command_line()
    except SystemExit as done:
        return _code(done.code)
    return 0


def main() -> None:
    """Run the command line; exit with its code, or 130 once a Ctrl-C came."""
    global _armed, _closing, _exit_code
    code: int | None = None
    try:
        _install()
        _armed = True
        if interrupt.received:  # came while the module loaded or `main` was being entered
            _armed = False
            raise KeyboardInterrupt
        code = _run()
        _armed, _closing = False, True
    except BaseException as exc:  # a KeyboardInterrupt, or what something made of one
        _armed, _closing = False, True
        if not (interrupt.received or isinstance(exc, KeyboardInterrupt)):
            raise  # a bug, not an interrupt: the traceback is what helps
    if code is None or interrupt.received:
        _report()
        code = INTERRUPTED if interrupt.received or interrupt.timed_out is None else 1
    _exit_code = code
    if interrupt.received or interrupt.timed_out is not None:
        # Stopped early: what had to finish has finished (apply and purge wait for the calls they
        # sent); what is left are reads nobody wants (waiting.reading_pool), which CPython would
        # still join before exiting, for as long as a silent endpoint keeps them.
        _last_word()
    sys.exit(code)


def _last_word() -> None:
    """The last atexit callback: the exit code, final even for a Ctrl-C that arrived a moment ago.

    It runs after the other atexit callbacks and after non-daemon threads were joined. SIGINT is
    blocked from here on, so a signal is either seen now or arrives after the process has ended:
    the process ends here (`os._exit`, streams flushed), rather than after CPython's module
    teardown, which takes a tenth of a second with boto3 and pydantic loaded and during which a
    Ctrl-C could be neither refused nor reported.
    """
    global _closing
    _closing = True
    if _exit_code is None:
        return  # `main` did not finish (a bug's traceback): CPython ends the process as usual
    code = _exit_code
    # Output first: flushing a pipe can take a while, and the last look at pending signals must come
    # right before the exit, so that as little as possible can arrive unseen in between.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 120  # what CPython exits with when it cannot flush stdout
    pending = False
    try:
        _signal.pthread_sigmask(_signal.SIG_BLOCK, {_signal.SIGINT})  # a handler still due runs on return
        pending = _signal.SIGINT in _signal.sigpending()
    except AttributeError:  # no POSIX signal masks (Windows)
        _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
    if interrupt.received or pending:
        _report()  # flushes what it writes
        code = INTERRUPTED
    os._exit(code)


# As soon as this module has loaded, whichever way it was started (the console script imports it,
# `python -m` runs it): a Ctrl-C from here on is recorded, and `main` turns it into exit 130.
_install()

if __name__ == "__main__":
    main()
