"""Ctrl-C at any moment: exit 130 and one `error: interrupted: ...` line, never a traceback, never 0.

The real command line runs as a subprocess (`python -m snapinfra_db` and the `snapinfra-db` script)
against moto's server, with SIGINT at its default disposition, and gets one SIGINT at a chosen
moment: while Python imports typer, rich, pydantic and boto3, while the catalog is parsed, while
the plan is read, and in the middle of apply. Moments run a few at a time, each apply with its own
table prefix so that they do not see each other's tables.

What no program can control is left out by name, and only in the first half second: before
CPython has set up its runtime the kernel's default action ends the process (no output at all;
a shell reports 130), and while CPython itself starts (`Fatal Python error: init_...`, or
`runpy`, or the console script's import line, before any line of snapinfra_db ran) its own
default handler is in place.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

CATALOG = Path(__file__).resolve().parent.parent / "tables.yaml"  # the repository's 12 tables
SCRIPT = Path(sys.executable).with_name("snapinfra-db")
STDLIB = sysconfig.get_paths()["stdlib"] + os.sep
ENTRIES = {"python -m": [sys.executable, "-m", "snapinfra_db"]}
if SCRIPT.exists():
    ENTRIES["script"] = [str(SCRIPT)]

APPLY_LINE = "error: interrupted: calls already sent finish in DynamoDB; run apply again to converge"
LINES = {
    "apply": APPLY_LINE,
    "plan": "error: interrupted: plan stopped early; run the command again to converge",
    "validate": "error: interrupted: validate stopped early; run the command again to converge",
}
EXITING = 0.02  # seconds: a process that ends this soon after the signal was already exiting
STARTUP = 0.5  # seconds: CPython starts within this, even on a busy machine (measured: 0.02-0.1 s)
PARALLEL = 3


@dataclass
class Outcome:
    command: str
    entry: str
    moment: float
    sent: bool  # False: the process had already exited, so no signal was sent
    returncode: int
    stdout: str
    stderr: str
    # The process ended within EXITING of the signal: it was already on its way out (past the
    # entry's last look at pending signals), and its exit code was decided without this signal.
    ended_at_once: bool = False

    def describe(self) -> str:
        return (
            f"{self.entry} {self.command}, SIGINT at {self.moment:.2f}s (sent: {self.sent}): exit {self.returncode}\n"
            f"--- stderr\n{self.stderr[-3000:]}\n--- stdout (tail)\n{self.stdout[-1500:]}"
        )


@pytest.fixture(autouse=True, scope="module")
def sigint_default_in_children() -> Iterator[None]:
    """A process started with SIGINT ignored keeps it ignored (a background job of a
    non-interactive shell does); one started while the parent *handles* it gets the default
    disposition at exec. So the parent handles it while these tests start children."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _env() -> dict[str, str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    env.pop("SNAPINFRA_DB_CATALOG", None)
    return env


def _start(argv: Sequence[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )


def _argv(entry: str, command: str, endpoint: str, prefix: str) -> list[str]:
    argv = [*ENTRIES[entry], command, "--catalog", str(CATALOG), "--prefix", prefix]
    if command != "validate":
        argv += ["--endpoint-url", endpoint]
    if command == "apply":
        argv.append("--yes")
    return argv


def interrupt_at(entry: str, command: str, moment: float, endpoint: str, prefix: str) -> Outcome:
    process = _start(_argv(entry, command, endpoint, prefix))
    started = time.monotonic()
    try:
        time.sleep(max(0.0, moment - (time.monotonic() - started)))
        sent = process.poll() is None
        ended_at_once = False
        if sent:
            process.send_signal(signal.SIGINT)
            signalled = time.monotonic()
            while process.poll() is None and time.monotonic() - signalled < EXITING:
                time.sleep(0.001)
            ended_at_once = process.poll() is not None
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return Outcome(command, entry, moment, sent, process.returncode, stdout, stderr, ended_at_once)


def before_the_program(outcome: Outcome) -> bool:
    """The signal came before the first line of snapinfra_db ran: nothing the program can change."""
    if outcome.moment >= STARTUP:
        return False
    if outcome.returncode == -signal.SIGINT and not outcome.stdout and not outcome.stderr:
        return True  # the kernel's default action, before CPython installed its handler
    if outcome.returncode not in (1, -signal.SIGINT) or not outcome.stderr.rstrip().endswith("KeyboardInterrupt"):
        return False
    # CPython's own start-up ("Fatal Python error: init_import_site", "Could not import runpy
    # module", or the console script's import line): a traceback through the standard library
    # only. Once snapinfra_db's entry runs, every frame would include one of its own.
    if outcome.stderr.startswith("Fatal Python error: init_"):
        return True  # CPython's initialisation (site and its .pth files, the standard streams)
    frames = re.findall(r'File "([^"]*)", line \d+, in (\S+)', outcome.stderr)
    return bool(frames) and all(
        name.startswith(("<frozen ", STDLIB))
        or name == str(SCRIPT)
        # The package's own module bodies before __main__ installs its handler (a few microseconds of
        # definitions): as out of reach as CPython's start-up. Inside `main`, never.
        or (function == "<module>" and name.endswith(("snapinfra_db/__init__.py", "snapinfra_db/__main__.py")))
        for name, function in frames
    )


def check(outcome: Outcome) -> None:
    if not outcome.sent:
        assert outcome.returncode == 0, outcome.describe()  # it had finished before the moment came
        return
    if outcome.returncode == 0 and outcome.ended_at_once:
        return  # the signal came as the process was ending: the work was done, nothing was lost
    if before_the_program(outcome):
        return
    assert "Traceback" not in outcome.stderr, outcome.describe()
    assert "Exception ignored" not in outcome.stderr, outcome.describe()
    assert outcome.returncode == 130, outcome.describe()
    assert outcome.stderr.strip().splitlines()[-1] == LINES[outcome.command], outcome.describe()


def sweep(endpoint: str, runs: list[tuple[str, str, float]]) -> list[Outcome]:
    """Every (entry, command, moment), PARALLEL at a time; each apply with its own prefix."""
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        futures = [
            pool.submit(interrupt_at, entry, command, moment, endpoint, f"sig{number:03d}-")
            for number, (entry, command, moment) in enumerate(runs)
        ]
        outcomes = [future.result() for future in futures]
    for outcome in outcomes:
        check(outcome)
    return outcomes


def run(entry: str, *words: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ENTRIES[entry], *words], stdin=subprocess.DEVNULL, capture_output=True, text=True, env=_env(), timeout=120
    )


def assert_converges(endpoint: str, prefix: str) -> None:
    """A plain apply finishes what an interrupted one left, and the plan is empty afterwards."""
    where = ["--catalog", str(CATALOG), "--prefix", prefix, "--endpoint-url", endpoint]
    again = run("python -m", "apply", "--yes", *where)
    assert again.returncode == 0, again.stdout + again.stderr
    plan = run("python -m", "plan", "--detailed-exitcode", *where)
    assert plan.returncode == 0, plan.stdout + plan.stderr


# -- the setup itself -----------------------------------------------------------------------------


def test_children_start_with_sigint_at_its_default_disposition() -> None:
    """CPython installs its KeyboardInterrupt handler only when SIGINT was at SIG_DFL: proof of the
    disposition the command line starts with below."""
    probe = "import signal; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"
    process = _start([sys.executable, "-c", probe])
    stdout, _ = process.communicate(timeout=60)
    assert stdout.strip() == "True"


def test_a_command_that_was_not_interrupted_exits_as_before(clean_moto: str) -> None:
    for entry in ENTRIES:
        done = run(entry, "validate", "--catalog", str(CATALOG))
        assert done.returncode == 0, done.stderr
        assert "interrupted" not in done.stderr
    done = run("python -m", "plan", "--detailed-exitcode", "--catalog", str(CATALOG), "--endpoint-url", clean_moto)
    assert done.returncode == 2, done.stderr  # changes: the tables do not exist yet
    assert "interrupted" not in done.stderr


# -- where a KeyboardInterrupt can get lost ------------------------------------------------------

# The entry (`snapinfra_db.__main__.main`) runs a stand-in for the command line that loses the
# KeyboardInterrupt in one of the ways a real one can, then carries on as if nothing happened.
LOST = """
import atexit, os, signal, sys, time
import snapinfra_db.cli


class Swallowing:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)  # its handler runs in here: the KeyboardInterrupt is "ignored"
        for _ in range(10_000):
            pass


def in_del():
    Swallowing()


def caught_by_a_library():
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)
    except BaseException:
        pass


def after_the_command():
    atexit.register(os.kill, os.getpid(), signal.SIGINT)  # runs after main decided the exit code


def command_line(argv=None):
    {how}()
    for _ in range(20):
        time.sleep(0.01)
    print("carried on to the end")
    sys.exit(0)


snapinfra_db.cli.main = command_line
sys.argv = ["snapinfra-db", "apply", "--yes"]
from snapinfra_db.__main__ import main

main()
"""


@pytest.mark.parametrize("how", ["in_del", "caught_by_a_library", "after_the_command"])
def test_a_lost_keyboard_interrupt_still_exits_130_with_the_line(how: str) -> None:
    process = _start([sys.executable, "-c", LOST.format(how=how)])
    stdout, stderr = process.communicate(timeout=60)
    outcome = Outcome("apply", how, 0.0, True, process.returncode, stdout, stderr)
    check(outcome)
    assert stderr.count("interrupted") == 1, outcome.describe()
    if how == "in_del":  # raised again at the next point that can: the command did not carry on
        assert "carried on" not in stdout, outcome.describe()


# -- Ctrl-C at chosen moments ---------------------------------------------------------------------

# import (0.0-0.3 s), catalog and pydantic (0.3-0.8 s), plan reading DynamoDB, apply under way
APPLY_MOMENTS = [0.0, 0.1, 0.2, 0.35, 0.5, 0.7, 0.9, 1.2, 1.6, 2.0]
PLAN_MOMENTS = [0.05, 0.3, 0.6, 1.0]
VALIDATE_MOMENTS = [0.15, 0.4, 0.6]


def test_ctrl_c_at_chosen_moments_exits_130_with_one_line(clean_moto: str) -> None:
    runs = [("python -m", "apply", m) for m in APPLY_MOMENTS]
    runs += [("python -m", "plan", m) for m in PLAN_MOMENTS]
    runs += [("python -m", "validate", m) for m in VALIDATE_MOMENTS]
    if "script" in ENTRIES:
        runs += [("script", "apply", m) for m in (0.0, 0.25, 0.6, 1.4)]
        runs += [("script", "validate", 0.5)]
    outcomes = sweep(clean_moto, runs)
    # The moments are not all after the end: most of them did interrupt something.
    assert sum(o.returncode == 130 for o in outcomes) >= len(outcomes) // 2, [o.describe() for o in outcomes]


def test_ctrl_c_in_the_middle_of_apply_exits_130_and_the_next_apply_converges(clean_moto: str) -> None:
    process = _start(_argv("python -m", "apply", clean_moto, "mid-"))
    try:
        assert process.stdout is not None
        # Non-interactive, apply prints one line per event: the first one means the executor runs.
        lines: list[str] = []
        for line in process.stdout:
            lines.append(line)
            if re.match(r"\[\s*\d+\.\d+s\] ", line):
                break
        else:
            pytest.fail("apply ended before it started a table:\n" + "".join(lines))
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    outcome = Outcome("apply", "python -m", -1.0, True, process.returncode, "".join(lines) + stdout, stderr)
    check(outcome)
    # The workers stopped before the process ended: none was still running (and calling DynamoDB)
    # while the interpreter shut down, and the summary says what each table got.
    assert "after interpreter shutdown" not in outcome.stdout, outcome.describe()
    assert "interrupted" in outcome.stdout, outcome.describe()

    assert_converges(clean_moto, "mid-")


@pytest.mark.slow
def test_every_interrupted_apply_converges_on_the_next_run(clean_moto: str) -> None:
    # Moments inside a 12-table apply on moto; one that comes after apply has finished sends nothing.
    outcomes = sweep(clean_moto, [("python -m", "apply", m) for m in (0.7, 1.0, 1.3)])
    interrupted = [o for o in outcomes if o.sent]
    assert interrupted and all(o.returncode == 130 for o in interrupted), [o.describe() for o in outcomes]
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        list(pool.map(lambda number: assert_converges(clean_moto, f"sig{number:03d}-"), range(len(outcomes))))


# -- the exhaustive sweep ---------------------------------------------------------------------------


def _every(step: float, until: float) -> list[float]:
    return [round(n * step, 2) for n in range(round(until / step) + 1)]


@pytest.mark.slow
def test_ctrl_c_at_every_moment_of_apply_exits_130(clean_moto: str) -> None:
    runs = [("python -m", "apply", m) for m in _every(0.05, 2.5)]
    if "script" in ENTRIES:
        runs += [("script", "apply", m) for m in _every(0.25, 2.5)]
    sweep(clean_moto, runs)


@pytest.mark.slow
def test_ctrl_c_at_every_moment_of_plan_and_validate_exits_130(clean_moto: str) -> None:
    runs = [("python -m", "plan", m) for m in _every(0.05, 1.5)]
    runs += [("python -m", "validate", m) for m in _every(0.05, 1.0)]
    sweep(clean_moto, runs)
