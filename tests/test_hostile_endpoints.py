"""Endpoints that answer badly: a malformed answer is one line and exit 1, never a traceback and never a
change in the plan (garbage must not be read as 'no TTL', 'PITR off' or 'no tags').

The behaviour layer (tests/behaviour.py) garbles one operation's answers in front of moto's server.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from behaviour import proxy_for
from snapinfra_db.cli.application import app

CATALOG = """
prefix: hostile-
defaults:
  tags: {ManagedBy: snapinfra-db}
tables:
  notes:
    partition_key: id
    ttl: expiresAt
"""
OPERATIONS = ["DescribeTable", "DescribeTimeToLive", "DescribeContinuousBackups", "ListTagsOfResource"]
# Answers botocore hands on as a 'successful' response with fields missing. (An HTML error page is an
# HTTP 502, retried by botocore and then DynamoDB's own words: one case below is enough.)
MODES = ["not-json", "empty", "empty-object"]


@pytest.fixture
def applied(clean_moto: str, tmp_path: Path) -> Path:
    catalog = tmp_path / "tables.yaml"
    catalog.write_text(textwrap.dedent(CATALOG))
    result = CliRunner().invoke(app, ["apply", "--yes", "--endpoint-url", clean_moto, "--catalog", str(catalog)])
    assert result.exit_code == 0, result.output
    return catalog


@pytest.mark.parametrize(
    ("operation", "mode"), [(op, mode) for op in OPERATIONS for mode in MODES] + [("DescribeTable", "html")]
)
def test_a_garbled_answer_is_one_line_and_no_phantom_change(
    operation: str, mode: str, clean_moto: str, applied: Path
) -> None:
    with proxy_for(clean_moto, malformed={operation: mode}) as proxy:
        for command in (["plan", "--detailed-exitcode"], ["health"]):
            result = CliRunner().invoke(app, [*command, "--endpoint-url", proxy.url, "--catalog", str(applied)])
            assert result.exit_code == 1, (command, result.output)
            assert "Traceback" not in result.output
            assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1, result.stderr
            if mode == "html":  # an HTTP error: DynamoDB's own words fail the call
                assert lines[0].startswith("error: "), lines
            else:
                assert lines[0] == (
                    f"error: DynamoDB at {proxy.url} answered {operation} with something that is not a DynamoDB "
                    "response"
                ), lines
            assert "~ ttl" not in result.stdout and "point-in-time recovery: off" not in result.stdout
            assert "will perform these actions" not in result.stdout


@pytest.mark.parametrize("mode", ["hang", "close"])
def test_an_endpoint_that_never_answers_is_one_line_within_15_s(mode: str, clean_moto: str, applied: Path) -> None:
    import time

    with proxy_for(clean_moto, malformed={"ListTables": mode, "DescribeTable": mode}, hang_for=60) as proxy:
        for command in ("plan", "health", "apply"):
            started = time.monotonic()
            result = CliRunner().invoke(app, [command, "--endpoint-url", proxy.url, "--catalog", str(applied)])
            took = time.monotonic() - started
            assert result.exit_code == 1, result.output
            assert result.stderr.strip().splitlines() == [f"error: DynamoDB at {proxy.url} did not answer within 10s"]
            assert took < 15, took
