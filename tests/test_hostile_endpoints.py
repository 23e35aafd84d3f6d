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


@pytest.mark.parametrize("mode", ["hang", "close"])
def test_an_endpoint_that_falls_silent_after_its_first_answer_is_one_line_within_15_s(
    mode: str, clean_moto: str, applied: Path
) -> None:
    """The first call (ListTables) is answered; every DescribeTable after it gets no answer at all."""
    import time

    with proxy_for(clean_moto, malformed={"DescribeTable": mode}, hang_for=60) as proxy:
        started = time.monotonic()
        result = CliRunner().invoke(app, ["plan", "--endpoint-url", proxy.url, "--catalog", str(applied)])
        took = time.monotonic() - started
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    # Silent: the silence budget gives up and names the call; closing at once: botocore's tries run out first.
    assert lines[0].startswith("error: ") and proxy.url in lines[0] and "stopped answering" in lines[0], lines
    assert took < 15, took


def test_apply_timeout_stops_the_whole_command_as_ctrl_c_would_and_exits_1(clean_moto: str, tmp_path: Path) -> None:
    """--timeout bounds the command, not a call: tables that stay CREATING for a minute are left to DynamoDB."""
    import time

    catalog = tmp_path / "tables.yaml"
    catalog.write_text(textwrap.dedent(CATALOG))
    with proxy_for(clean_moto, table_creating_for=60) as proxy:
        started = time.monotonic()
        result = CliRunner().invoke(
            app, ["apply", "--yes", "--timeout", "2", "--endpoint-url", proxy.url, "--catalog", str(catalog)]
        )
        took = time.monotonic() - started
        assert proxy.calls["CreateTable"] == 1  # the call was sent: it finishes in DynamoDB
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().splitlines()[-1] == (
        "error: timed out after 2s (--timeout): calls already sent finish in DynamoDB; run apply again to converge"
    )
    assert "Traceback" not in result.output
    assert took < 5, took
    # The same catalog, no bound: the next apply converges (the table is there, CREATING or ACTIVE).
    again = CliRunner().invoke(app, ["apply", "--yes", "--endpoint-url", clean_moto, "--catalog", str(catalog)])
    assert again.exit_code == 0, again.output


def test_plan_timeout_cuts_a_silent_endpoint_short(clean_moto: str, applied: Path) -> None:
    """Through the real entry (a process): the reads still waiting on the silent endpoint are not joined."""
    import os
    import subprocess
    import sys
    import time

    with proxy_for(clean_moto, malformed={"DescribeTable": "hang"}, hang_for=60) as proxy:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "snapinfra_db", "plan", "--endpoint-url", proxy.url, "--catalog", str(applied)],
            env={**os.environ, "SNAPINFRA_DB_TIMEOUT": "2"},
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        took = time.monotonic() - started
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert done.stderr.strip().splitlines() == [
        "error: timed out after 2s (--timeout): plan stopped early; run the command again to converge"
    ]
    assert took < 5, took
