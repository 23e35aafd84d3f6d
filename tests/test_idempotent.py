"""Idempotent answers are success: when another apply (or a hand) makes a change between this apply's
plan and its call, DynamoDB's "already so" refusal ends the step as done, once a fresh read shows it.

Each race is provoked out of band: the plan is made, the executor reads the table again before the step, and
right then another client makes the step's change, before the executor's own call: the race two
simultaneous applies run into, made certain, through the real CLI. The answers differ by
engine (measured, and listed in reconcile.executor.ALREADY_ANSWERS):

- enable TTL: DynamoDB Local ``ValidationException: TimeToLive is already enabled``; moto accepts it;
- create an index: Local ``ValidationException: Attempting to create an index which already exists``;
  moto an HTTP 500 (its ValueError "Global Secondary Index already exists"), after botocore's retries;
- create the table: Local ``ResourceInUseException: Cannot create preexisting table``; moto
  ``ResourceInUseException: Table already exists: NAME``;
- enable a stream: Local ``ValidationException: Table already has an enabled stream``; moto
  ``ResourceInUseException: Cannot enable stream``;
- PITR, tags (moto only: Local has neither) and deletion protection: accepted again by both.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from conftest import Engine, delete_all_tables, reset_moto
from snapinfra_db.catalog import load_catalog
from snapinfra_db.cli.application import app
from snapinfra_db.reconcile.diff import diff_table
from snapinfra_db.reconcile.executor import Executor, may_be_already_so
from snapinfra_db.reconcile.live import read_table
from snapinfra_db.reconcile.plan import EnableTtl, Plan, TagTable
from snapinfra_db.reconcile.requests import step_request

BASE = """
prefix: idem-
defaults:
  billing: {mode: PAY_PER_REQUEST}
  point_in_time_recovery: {enabled: false}
  encryption: {type: AWS_OWNED}
  stream: {enabled: false}
  deletion_protection: false
  tags: {}
tables:
  t:
    partition_key: id
"""

# case -> (the catalog's change to BASE, the op the plan must contain, engines where it applies)
WANTED = {
    "ttl": ("ttl: expiresAt", "enable_ttl"),
    "index": ("global_indexes: {ByOwner: {partition_key: owner}}", "create_gsi"),
    "stream": ("stream: {enabled: true, view_type: NEW_IMAGE}", "enable_stream"),
    "deletion_protection": ("deletion_protection: true", "update_deletion_protection"),
    "pitr": ("point_in_time_recovery: {enabled: true, recovery_period_days: 35}", "update_pitr"),
    "tags": ("tags: {Team: data}", "tag_table"),
    "table": ("ttl: expiresAt", "create_table"),
}
# Where the engine refuses the repeated call (and the apply must therefore say "already so").
REFUSED = {
    "ddblocal": {"ttl", "index", "stream", "table"},
    "moto": {"index", "stream", "table"},
}
NOT_ON_LOCAL = {"pitr", "tags"}  # DynamoDB Local implements neither


def write_catalog(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "tables.yaml"
    path.write_text(textwrap.dedent(BASE) + (f"    {extra}\n" if extra else ""))
    return path


def cli(engine: Engine, command: str, path: Path, *extra: str) -> Any:
    args = [command, "--catalog", str(path), "--endpoint-url", engine.endpoint_url, *extra]
    return CliRunner().invoke(app, args)


def make_out_of_band(engine: Engine, op: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make the `op` step with another client right before the executor's own call, after its fresh read:
    the race, made certain. (Made before the executor runs, the change is simply seen by that read.)"""
    original = Executor._execute
    made: list[str] = []

    def execute(self: Executor, name: str, live: Any, step: Any) -> None:
        if step.op == op and not made:
            other = engine.client()
            operation, params = step_request(name, live.arn if live else "", step)
            getattr(other, operation)(**params)
            made.append(name)
        original(self, name, live, step)

    monkeypatch.setattr(Executor, "_execute", execute)
    return made


@pytest.mark.parametrize(
    ("engine", "case"),
    [
        (name, case)
        for name in ("moto", "ddblocal")
        for case in WANTED
        if not (name == "ddblocal" and case in NOT_ON_LOCAL)  # DynamoDB Local has no PITR and no tags
    ],
    indirect=["engine"],
)
def test_a_change_made_meanwhile_is_success(
    engine: Engine, case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra, op = WANTED[case]
    path = write_catalog(tmp_path)
    if case != "table":
        first = cli(engine, "apply", path, "--yes")
        assert first.exit_code == 0, first.output
    path = write_catalog(tmp_path, extra)
    made = make_out_of_band(engine, op, monkeypatch)

    result = cli(engine, "apply", path, "--yes")

    assert made == ["idem-t"]
    assert result.exit_code == 0, result.output
    assert "applied" in result.stdout and "failed" not in result.stdout
    if case in REFUSED[engine.name]:
        assert "(already so)" in result.stdout, result.stdout
    monkeypatch.undo()
    after = cli(engine, "plan", path, "--detailed-exitcode")
    assert after.exit_code == 0, after.output


def test_a_different_value_meanwhile_still_fails(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TTL on another attribute meanwhile is not the wanted state: DynamoDB Local's refusal stands (moto
    switches the attribute instead, so the plan's own value is what it shows)."""
    path = write_catalog(tmp_path)
    assert cli(engine, "apply", path, "--yes").exit_code == 0
    path = write_catalog(tmp_path, "ttl: expiresAt")
    catalog = load_catalog(path)
    spec = catalog.tables[0]
    client = engine.client()
    change = diff_table(spec, read_table(client, spec.name))
    original = Executor._execute

    def execute(self: Executor, name: str, live: Any, step: Any) -> None:
        client.update_time_to_live(
            TableName=spec.name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "somethingElse"}
        )
        original(self, name, live, step)

    monkeypatch.setattr(Executor, "_execute", execute)
    [result] = Executor(client, {spec.name: spec}).run(Plan(tables=(change,)))
    if engine.name == "ddblocal":
        # "ValidationException: TimeToLive is active on a different AttributeName"
        assert result.status == "failed" and "TimeToLive" in (result.error or ""), result.error
    else:
        assert result.status == "applied"


def test_the_answer_alone_is_not_enough() -> None:
    """The answers are recognised per step; a refusal for another reason, or of another step, is not one."""

    def refusal(code: str, message: str) -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": message}}, "UpdateTimeToLive")

    ttl = EnableTtl(attribute="x")
    assert may_be_already_so(ttl, refusal("ValidationException", "TimeToLive is already enabled"))
    assert not may_be_already_so(ttl, refusal("ValidationException", "Time to live has been modified"))
    assert not may_be_already_so(ttl, refusal("AccessDeniedException", "already enabled"))
    assert not may_be_already_so(TagTable(before={}, tags={"a": "b"}), refusal("ResourceInUseException", "busy"))
    assert not may_be_already_so(ttl, RuntimeError("already enabled"))


# --------------------------------------------------------------------------- concurrent applies

STRESS_CATALOG = """
prefix: race-
defaults:
  billing: {mode: PAY_PER_REQUEST}
  point_in_time_recovery: {enabled: true, recovery_period_days: 35}
  encryption: {type: AWS_OWNED}
  stream: {enabled: true, view_type: NEW_AND_OLD_IMAGES}
  deletion_protection: true
  tags: {Project: race, ManagedBy: snapinfra-db}
tables:
  users:
    partition_key: id
    ttl: expiresAt
    global_indexes:
      ByEmail: {partition_key: email}
    tags: {Team: accounts}
  sessions:
    partition_key: id
    sort_key: {name: ts, type: N}
    ttl: expiresAt
  events:
    partition_key: id
    ttl: ttl
    global_indexes:
      ByKind: {partition_key: kind, sort_key: {name: at, type: N}}
"""
PAIRS = 6


def _apply_process(engine: Engine, path: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "snapinfra_db", "--no-color", "apply", "--yes"]
    command += ["--catalog", str(path), "--endpoint-url", engine.endpoint_url]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ))


def test_concurrent_applies_both_succeed(engine: Engine, tmp_path: Path) -> None:
    """PAIRS pairs of simultaneous `apply --yes` of the same catalog, each on an emptied endpoint: every
    apply exits 0, and the next plan has nothing to do."""
    path = tmp_path / "tables.yaml"
    path.write_text(textwrap.dedent(STRESS_CATALOG))
    fresh: Callable[[], None] = (
        (lambda: reset_moto(engine.endpoint_url))
        if engine.name == "moto"
        else (lambda: delete_all_tables(engine.client()))
    )
    failures: list[str] = []
    start = time.monotonic()
    for pair in range(PAIRS):
        fresh()
        processes = [_apply_process(engine, path) for _ in range(2)]
        for number, process in enumerate(processes):
            output, _ = process.communicate(timeout=120)
            if process.returncode != 0:
                failures.append(f"pair {pair}, apply {number}: exit {process.returncode}\n{output}")
        plan = cli(engine, "plan", path, "--detailed-exitcode")
        if plan.exit_code != 0:
            failures.append(f"pair {pair}: plan --detailed-exitcode exit {plan.exit_code}\n{plan.output}")
    assert not failures, f"{len(failures)} failure(s) in {PAIRS} pairs:\n" + "\n".join(failures)
    assert time.monotonic() - start < 90
