"""Mistakes on the command line: one `error: ...` line, exit 1, never exit 2 (which
`plan --detailed-exitcode` reserves for "there are changes"), never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from snapinfra_db.cli.application import app

CATALOG = Path(__file__).resolve().parent.parent / "tables.yaml"


@pytest.mark.parametrize(
    "argv",
    [
        ["plan", "--detailed-exitcode", "--regon", "us-east-1"],  # a typo in an option
        ["plan", "--parallelism", "0"],  # out of range
        ["local", "--port", "70000"],
        ["local", "--engine", "docker"],
        ["no-such-command"],
    ],
)
def test_usage_errors_exit_1_not_2(argv: list[str]) -> None:
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("error: "), result.stderr


@pytest.mark.parametrize("endpoint", ["notaurl", "localhost:8000", "ftp://localhost:8000"])
def test_an_endpoint_that_is_not_a_url_is_one_line(endpoint: str) -> None:
    result = CliRunner().invoke(app, ["plan", "--catalog", str(CATALOG), "--endpoint-url", endpoint])
    assert result.exit_code == 1
    assert result.stderr == f"error: --endpoint-url '{endpoint}' is not an http(s) URL (e.g. http://localhost:8000)\n"


def test_the_environment_endpoint_is_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "localhost:8000")
    result = CliRunner().invoke(app, ["health", "--catalog", str(CATALOG)])
    assert result.exit_code == 1
    assert "AWS_ENDPOINT_URL(_DYNAMODB) 'localhost:8000' is not an http(s) URL" in result.stderr
