"""The command line's surface, through the real CLI: how errors read, help, colour, completion,
and what `plan` exits with when apply cannot carry the plan out.

Most tests call `snapinfra_db.cli.main` (what the `snapinfra-db` script calls) or typer's CliRunner
(which reaches the same root command); where a terminal or the environment matters, a fresh
`python -m snapinfra_db` runs in a subprocess.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from snapinfra_db.aws import local_dynamodb_client
from snapinfra_db.cli import main
from snapinfra_db.cli.application import app

ROOT = Path(__file__).resolve().parents[1]
ANSI = "\x1b["


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`snapinfra-db ARGV` as the console script runs it: exit code, stdout, stderr."""
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    captured = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 1), captured.out, captured.err


def run_process(*argv: str, env: dict[str, str] | None = None, **extra_env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **(env or {}), **extra_env}
    return subprocess.run(
        [sys.executable, "-m", "snapinfra_db", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        cwd=ROOT,
    )


def catalog_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tables.yaml"
    path.write_text(textwrap.dedent(text))
    return path


# -- 1. user text is never emoji or markup ------------------------------------------------------


def catalog_with_error_on_line(tmp_path: Path, line: int) -> Path:
    head = ["prefix: t-", *[f"# padding {n}" for n in range(line - 5)], "tables:", "  projects:"]
    head += ["    partition_key: id", "    bogus_key: 1"]
    path = tmp_path / "tables.yaml"
    path.write_text("\n".join(head) + "\n")
    assert path.read_text().splitlines()[line - 1] == "    bogus_key: 1"
    return path


def test_a_location_on_line_100_is_not_an_emoji(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = catalog_with_error_on_line(tmp_path, 100)
    code, _, err = run_main(capsys, "validate", "--catalog", str(catalog))
    assert code == 1
    assert "tables.yaml:100:" in err, err
    assert "💯" not in err


def test_user_text_is_not_markup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "[bold]x :100: [local]"
    folder.mkdir()
    code, _, err = run_main(capsys, "validate", "--catalog", str(folder / "tables.yaml"))
    assert code == 1
    assert "[bold]x :100: [local]" in err, err


# -- 2. every problem is an `error:` line -------------------------------------------------------

THREE_PROBLEMS = """
    prefix: t-
    tables:
      projects:
        partition_key: {name: id, type: X}
        bogus_key: 1
      activity:
        partition_key: id
        billing: {mode: PROVISIONED}
"""


def test_every_catalog_problem_gets_the_error_prefix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = catalog_file(tmp_path, THREE_PROBLEMS)
    code, out, err = run_main(capsys, "validate", "--catalog", str(catalog))
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert len(lines) == 3, err
    assert all(line.startswith(f"error: {catalog}:") for line in lines), err


def test_one_error_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run_main(capsys, "validate", "--catalog", str(tmp_path / "missing.yaml"))
    assert code == 1
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err


# -- 3. mistakes on the command line: one line, exit 1 -----------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["plan", "--endpont-url", "x"], "error: no such option: --endpont-url (did you mean --endpoint-url?)"),
        (["plan", "-local"], "error: no such option: -local (did you mean --local?)"),
        (
            ["plan", "--detailed-exitcode", "--regon", "us-east-1"],
            "error: no such option: --regon (did you mean --region?)",
        ),
        (["plan", "--parallelism", "0"], "error: invalid value for '--parallelism': "),
        (["plan", "--parallelism", "many"], "error: invalid value for '--parallelism': "),
        (["restore-export"], "error: missing argument 'DIR'"),
        (["plan", "extra"], "error: got unexpected extra argument"),
        (["no-such-command"], "error: no such command 'no-such-command'"),
        (["--no-such-option"], "error: no such option: --no-such-option"),
    ],
)
def test_a_usage_error_is_one_line_and_exit_1(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_main(capsys, *argv)
    assert code == 1
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith(expected), err
    assert "╭" not in err and "Usage:" not in err


def test_the_exact_line_for_a_mistyped_option(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(capsys, "plan", "--endpont-url", "x")
    assert (code, err) == (1, "error: no such option: --endpont-url (did you mean --endpoint-url?)\n")


def test_cli_runner_reaches_the_same_path() -> None:
    result = CliRunner().invoke(app, ["plan", "--endpont-url", "x"])
    assert result.exit_code == 1
    assert result.stderr == "error: no such option: --endpont-url (did you mean --endpoint-url?)\n"


def test_the_console_script_path_in_a_fresh_process() -> None:
    done = run_process("plan", "--endpont-url", "x")
    assert done.returncode == 1
    assert done.stderr == "error: no such option: --endpont-url (did you mean --endpoint-url?)\n"
    assert done.stdout == ""


def test_help_and_version_still_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main(capsys, "--help")[0] == 0
    code, out, _ = run_main(capsys, "--version")
    assert code == 0 and out.startswith("snapinfra-db ")


# -- 4. help shows flags as flags ----------------------------------------------------------------


def _command_paths() -> list[list[str]]:
    import typer.main

    group = typer.main.get_group(app)
    paths: list[list[str]] = [[]]
    for name, command in group.commands.items():
        paths.append([name])
        paths.extend([name, sub] for sub in getattr(command, "commands", {}))
    return paths


def test_plan_help_lists_flags_plainly() -> None:
    result = CliRunner().invoke(app, ["plan", "--help"])
    assert result.exit_code == 0
    assert "<bool>" not in result.stdout
    assert re.search(r"--json\s+Print the plan", result.stdout), result.stdout
    assert "<int range>" in result.stdout  # options that take a value still show it


@pytest.mark.parametrize("words", _command_paths(), ids=lambda w: " ".join(w) or "(root)")
def test_no_help_shows_bool(words: list[str]) -> None:
    result = CliRunner().invoke(app, [*words, "--help"])
    assert result.exit_code == 0
    assert "<bool>" not in result.stdout


# -- 5. --no-color, NO_COLOR, TERM=dumb ----------------------------------------------------------

COLOURFUL = {"FORCE_COLOR": "1", "TTY_COMPATIBLE": "1", "TERM": "xterm-256color", "NO_COLOR": ""}


@pytest.fixture
def bad_catalog(tmp_path: Path) -> Path:
    return catalog_file(tmp_path, THREE_PROBLEMS)


def test_errors_are_coloured_on_a_terminal(bad_catalog: Path) -> None:
    done = run_process("validate", "--catalog", str(bad_catalog), env=COLOURFUL)
    assert done.returncode == 1
    assert ANSI in done.stderr


@pytest.mark.parametrize(
    ("before", "env"),
    [(["--no-color"], {}), ([], {"NO_COLOR": "1"}), ([], {"TERM": "dumb"})],
    ids=["--no-color", "NO_COLOR", "TERM=dumb"],
)
def test_plain_output_has_no_ansi_codes(bad_catalog: Path, before: list[str], env: dict[str, str]) -> None:
    done = run_process(*before, "validate", "--catalog", str(bad_catalog), env={**COLOURFUL, **env})
    assert done.returncode == 1
    assert ANSI not in done.stderr, done.stderr
    assert done.stderr.splitlines()[0].startswith("error: ")


SMALL = """
    prefix: t-
    tables:
      projects:
        partition_key: id
"""


@pytest.mark.parametrize(
    ("before", "env", "coloured"),
    [
        ([], {}, True),
        (["--no-color"], {}, False),
        ([], {"NO_COLOR": "1"}, False),
        ([], {"TERM": "dumb"}, False),
    ],
    ids=["terminal", "--no-color", "NO_COLOR", "TERM=dumb"],
)
def test_the_plan_on_stdout_follows_the_same_rule(
    clean_moto: str, tmp_path: Path, before: list[str], env: dict[str, str], coloured: bool
) -> None:
    catalog = catalog_file(tmp_path, SMALL)
    argv = [*before, "plan", "--catalog", str(catalog), "--endpoint-url", clean_moto]
    done = run_process(*argv, env={**COLOURFUL, **env})
    assert done.returncode == 0, done.stderr
    assert "t-projects" in done.stdout
    assert (ANSI in done.stdout) is coloured, done.stdout


# -- 6. shell completion -----------------------------------------------------------------------


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_show_completion_prints_the_script(shell: str) -> None:
    done = run_process("--show-completion", shell)
    assert done.returncode == 0, done.stderr
    assert "_SNAPINFRA_DB_COMPLETE" in done.stdout and "snapinfra-db" in done.stdout
    assert f"complete_{shell}" in done.stdout or f"{shell}_complete" in done.stdout


def test_the_script_completes_commands() -> None:
    done = run_process(
        env={"_SNAPINFRA_DB_COMPLETE": "complete_bash", "COMP_WORDS": "snapinfra-db pl", "COMP_CWORD": "1"}
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["plan"]


def test_install_completion_writes_the_script(tmp_path: Path) -> None:
    done = run_process("--install-completion", "bash", HOME=str(tmp_path))
    assert done.returncode == 0, done.stderr
    installed = list(tmp_path.rglob("*snapinfra-db*"))
    assert installed and "_SNAPINFRA_DB_COMPLETE" in installed[0].read_text()


def test_an_unknown_shell_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(capsys, "--show-completion", "ksh")
    assert code == 1
    assert len(err.splitlines()) == 1 and err.startswith("error: invalid value for '--show-completion'"), err


# -- 7. a plan that cannot be applied exits 1 --------------------------------------------------


@pytest.fixture
def blocked(clean_moto: str, tmp_path: Path) -> tuple[str, Path]:
    """A live t-projects whose partition key is not the catalog's: DynamoDB cannot change it in place."""
    client = local_dynamodb_client(clean_moto)
    client.create_table(
        TableName="t-projects",
        KeySchema=[{"AttributeName": "projectId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "projectId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    catalog = catalog_file(tmp_path, SMALL + "      activity:\n        partition_key: id\n")
    return clean_moto, catalog


BLOCKED_LINE = "error: 1 table(s) cannot be changed in place (blocked): t-projects; see above"


@pytest.mark.parametrize("extra", [[], ["--detailed-exitcode"]], ids=["plan", "--detailed-exitcode"])
def test_a_blocked_plan_exits_1(
    blocked: tuple[str, Path], extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint, catalog = blocked
    code, out, err = run_main(capsys, "plan", *extra, "--catalog", str(catalog), "--endpoint-url", endpoint)
    assert code == 1, out + err
    assert "t-projects" in out and "blocked" in out  # the plan first ...
    assert "t-activity" in out
    assert err.splitlines()[-1] == BLOCKED_LINE  # ... then the one error line


def test_a_blocked_json_plan_prints_the_json_and_exits_1(
    blocked: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint, catalog = blocked
    code, out, err = run_main(capsys, "plan", "--json", "--catalog", str(catalog), "--endpoint-url", endpoint)
    assert code == 1
    document: dict[str, Any] = json.loads(out)  # stdout is still the JSON document and nothing else
    assert {c["table"]: c["action"] for c in document["changes"]} == {"t-projects": "blocked", "t-activity": "create"}
    assert err.splitlines() == [BLOCKED_LINE]


def test_a_plan_without_blocked_changes_keeps_its_codes(
    clean_moto: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = catalog_file(tmp_path, SMALL)
    argv = ["--catalog", str(catalog), "--endpoint-url", clean_moto]
    assert run_main(capsys, "plan", *argv)[0] == 0
    assert run_main(capsys, "plan", "--detailed-exitcode", *argv)[0] == 2


# -- 8. the quick start script ---------------------------------------------------------------------

QUICKSTART = ROOT / "scripts" / "quickstart.sh"


def _step_function() -> str:
    text = QUICKSTART.read_text()
    match = re.search(r"^if \[ -t 2 \].*?^fi$", text, flags=re.S | re.M)
    assert match, "quickstart.sh defines step() in an if/else on [ -t 2 ]"
    return match.group(0)


def test_quickstart_writes_no_ansi_codes_when_stderr_is_not_a_terminal() -> None:
    done = subprocess.run(
        ["bash", "-c", _step_function() + "\nstep hello"], capture_output=True, text=True, timeout=30, check=True
    )
    assert done.stderr == "\n==> hello\n"


def test_quickstart_shows_the_plan_once() -> None:
    commands = [line for line in QUICKSTART.read_text().splitlines() if line.startswith("snapinfra-db ")]
    assert not any(line.startswith("snapinfra-db plan") for line in commands), commands
    assert "snapinfra-db apply --local --yes" in commands
