"""Golden output: the views operators read, through the real CLI, compared with committed snapshots.

A change of wording or layout in `plan`, apply's summary, `health`, `purge-legacy` or
`local status` fails here until the snapshot in ``tests/__snapshots__/test_golden.ambr`` is
updated on purpose, so it arrives as a reviewed diff:

    .venv/bin/python -m pytest tests/test_golden.py --snapshot-update

(syrupy never writes a snapshot without that flag: in CI a differing or missing one fails.)
Volatile parts (endpoints and ports, tmp paths, timings, ARNs, timestamps, backup names, pids)
are replaced by stable tokens first; the terminal is 120 columns wide and colourless.
"""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from typer.testing import CliRunner, Result

from snapinfra_db.aws import local_dynamodb_client
from snapinfra_db.cli.application import app, err, out
from snapinfra_db.local import state as local_state

# Consoles the command creates itself (health's log-width table) see this environment.
ENV = {"COLUMNS": "120", "NO_COLOR": "1", "FORCE_COLOR": None, "TTY_COMPATIBLE": None}

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run(*argv: str) -> Result:
    return CliRunner().invoke(app, list(argv), env=ENV)


def normalise(text: str, *, dirs: tuple[Path, ...] = (), endpoints: tuple[str, ...] = ()) -> str:
    """The view with its volatile parts replaced by stable tokens."""
    text = ANSI.sub("", text)
    text = re.sub(r"\bpid \d+", "pid <PID>", text)
    for directory in sorted(dirs, key=lambda d: -len(str(d))):
        text = text.replace(str(directory), "<DIR>")
    for url in endpoints:
        port = url.rsplit(":", 1)[1]
        for host in ("localhost", "127.0.0.1"):
            text = text.replace(f"http://{host}:{port}", "<ENDPOINT>")
        text = re.sub(rf"\b{port}\b", "<PORT>", text)
    text = re.sub(r"\[\s*\d+(?:\.\d+)?s\]", "[ T ]", text)  # apply's per-event timings
    text = re.sub(r"arn:aws:[a-z0-9-]+:[a-z0-9-]*:\d*:[^\s│|,)]+", "<ARN>", text)
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?", "<TIME>", text)
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?: ?UTC|[+-]\d\d:?\d\d)?", "<TIME>", text)
    text = re.sub(r"-purge-\d{8}T\d{6}Z", "-purge-<STAMP>", text)  # backup names
    text = re.sub(r"\b\d{4}-\d\d-\d\d\b", "<DATE>", text)  # health's earliest restorable point
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def view(result: Result, **kwargs: Any) -> str:
    return f"exit {result.exit_code}\n--- stdout\n{normalise(result.stdout, **kwargs)}--- stderr\n" + normalise(
        result.stderr, **kwargs
    )


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tables.yaml"
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture(autouse=True)
def fixed_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 120-column log, not a terminal, whoever runs the suite.

    The CLI's two consoles are built at import time, and rich fixes their width then from
    ``COLUMNS`` when it is set (pytest-xdist workers have ``COLUMNS=80``), so the env of one
    invocation cannot change it: the width is pinned here, and restored after the test. Not a
    terminal: apply prints a line per event (what CI logs show) instead of a live display, even
    if ``FORCE_COLOR`` or ``TTY_COMPATIBLE`` was set when the consoles were built.
    """
    for console in (out, err):
        monkeypatch.setattr(console, "_width", 120)
        monkeypatch.setattr(console, "_force_terminal", False)
    monkeypatch.setattr("snapinfra_db.cli.application.stdin_is_terminal", lambda: False)


# ---------------------------------------------------------------------------------------------
# plan

BASE = """
prefix: g-
defaults:
  tags: {Project: snapinfra, ManagedBy: snapinfra-db}
tables:
  projects:
    partition_key: id
    global_indexes:
      UserIdIndex: {partition_key: userId, sort_key: createdAt}
  activity:
    partition_key: id
    sort_key: {name: at, type: N}
    ttl: expiresAt
  users:
    partition_key: id
"""

CHANGED = """
prefix: g-
defaults:
  tags: {Project: snapinfra, ManagedBy: snapinfra-db, Team: platform}
tables:
  projects:
    partition_key: id
    global_indexes:
      UserIdIndex: {partition_key: userId, sort_key: createdAt}
      StatusIndex: {partition_key: status, sort_key: {name: updatedAt, type: N}, projection: KEYS_ONLY}
  activity:
    partition_key: id
    sort_key: {name: at, type: N}
    ttl: purgeAt
  users:
    partition_key: email
  schemas:
    partition_key: id
    sort_key: {name: version, type: N}
    global_indexes:
      ByName: {partition_key: name, projection: {type: INCLUDE, attributes: [title, owner]}}
"""


def test_plan_creates_updates_and_a_blocked_change(
    moto_engine: Any, tmp_path: Path, snapshot: SnapshotAssertion
) -> None:
    catalog = write(tmp_path, BASE)
    assert run("apply", "--yes", "--catalog", str(catalog), "--endpoint-url", moto_engine.endpoint_url).exit_code == 0
    catalog.write_text(textwrap.dedent(CHANGED))
    result = run("plan", "--catalog", str(catalog), "--endpoint-url", moto_engine.endpoint_url)
    assert result.exit_code == 1  # the blocked change
    assert view(result, dirs=(tmp_path,), endpoints=(moto_engine.endpoint_url,)) == snapshot


def test_plan_lists_what_dynamodb_local_does_not_support(
    ddblocal_engine: Any, tmp_path: Path, snapshot: SnapshotAssertion
) -> None:
    catalog = write(tmp_path, BASE)
    args = ("--catalog", str(catalog), "--endpoint-url", ddblocal_engine.endpoint_url)
    kwargs: dict[str, Any] = {"dirs": (tmp_path,), "endpoints": (ddblocal_engine.endpoint_url,)}
    before = run("plan", *args)
    assert before.exit_code == 0
    assert run("apply", "--yes", *args).exit_code == 0
    after = run("plan", *args)
    assert after.exit_code == 0
    assert view(before, **kwargs) == snapshot(name="creates")
    assert view(after, **kwargs) == snapshot(name="no-changes")


# ---------------------------------------------------------------------------------------------
# apply's summary


def summary(result: Result, **kwargs: Any) -> str:
    stdout = normalise(result.stdout, **kwargs)
    assert "Apply summary" in stdout, stdout
    return stdout[stdout.index("Apply summary") :]


@pytest.mark.parametrize("engine_fixture", ["moto_engine", pytest.param("ddblocal_engine", marks=pytest.mark.ddblocal)])
def test_apply_summary_of_a_create(
    engine_fixture: str, request: pytest.FixtureRequest, tmp_path: Path, snapshot: SnapshotAssertion
) -> None:
    engine = request.getfixturevalue(engine_fixture)
    catalog = write(tmp_path, BASE)
    result = run("apply", "--yes", "--catalog", str(catalog), "--endpoint-url", engine.endpoint_url)
    assert result.exit_code == 0, result.output
    assert summary(result, dirs=(tmp_path,), endpoints=(engine.endpoint_url,)) == snapshot


# ---------------------------------------------------------------------------------------------
# health


def test_health_of_a_healthy_catalog(moto_engine: Any, tmp_path: Path, snapshot: SnapshotAssertion) -> None:
    catalog = write(tmp_path, BASE)
    args = ("--catalog", str(catalog), "--endpoint-url", moto_engine.endpoint_url)
    assert run("apply", "--yes", *args).exit_code == 0
    result = run("health", *args)
    assert result.exit_code == 0, result.output
    assert view(result, dirs=(tmp_path,), endpoints=(moto_engine.endpoint_url,)) == snapshot


def test_health_with_drift_and_a_missing_table(moto_engine: Any, tmp_path: Path, snapshot: SnapshotAssertion) -> None:
    catalog = write(tmp_path, BASE)
    args = ("--catalog", str(catalog), "--endpoint-url", moto_engine.endpoint_url)
    assert run("apply", "--yes", *args).exit_code == 0
    client = moto_engine.client()
    client.update_table(TableName="g-users", DeletionProtectionEnabled=False)
    client.delete_table(TableName="g-users")
    client.update_table(
        TableName="g-projects",
        GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "UserIdIndex"}}],
    )
    result = run("health", *args)
    assert result.exit_code == 1, result.output
    assert view(result, dirs=(tmp_path,), endpoints=(moto_engine.endpoint_url,)) == snapshot


# ---------------------------------------------------------------------------------------------
# purge-legacy

PURGE_CATALOG = """
prefix: p-
legacy: [rhinoback-deployments, rhinoback-projects, rhinoback-users]
tables:
  projects:
    partition_key: id
"""


def create_legacy(client: Any, *, protect: str | None = None) -> None:
    """Three legacy tables with a few deterministic items (one empty table)."""
    for name, count in (("rhinoback-deployments", 0), ("rhinoback-projects", 12), ("rhinoback-users", 5)):
        client.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            DeletionProtectionEnabled=name == protect,
        )
        for i in range(count):
            client.put_item(TableName=name, Item={"id": {"S": f"{name}-{i:02d}"}, "n": {"N": str(i)}})


def test_purge_legacy_with_export(moto_engine: Any, tmp_path: Path, snapshot: SnapshotAssertion) -> None:
    catalog = write(tmp_path, PURGE_CATALOG)
    create_legacy(moto_engine.client())
    exports = tmp_path / "exports"
    result = run(
        "purge-legacy",
        "--yes",
        "--export-dir",
        str(exports),
        "--catalog",
        str(catalog),
        "--endpoint-url",
        moto_engine.endpoint_url,
    )
    assert result.exit_code == 0, result.output
    # stdout only: the progress lines on stderr come from tables exported concurrently, in any order.
    assert normalise(result.stdout, dirs=(tmp_path,), endpoints=(moto_engine.endpoint_url,)) == snapshot


def test_purge_legacy_dry_run_with_a_protected_table(
    ddblocal_engine: Any, tmp_path: Path, snapshot: SnapshotAssertion
) -> None:
    catalog = write(tmp_path, PURGE_CATALOG)
    create_legacy(ddblocal_engine.client(), protect="rhinoback-users")
    result = run("purge-legacy", "--dry-run", "--catalog", str(catalog), "--endpoint-url", ddblocal_engine.endpoint_url)
    assert view(result, dirs=(tmp_path,), endpoints=(ddblocal_engine.endpoint_url,)) == snapshot


# ---------------------------------------------------------------------------------------------
# local status


def test_local_status(moto_engine: Any, tmp_path: Path, snapshot: SnapshotAssertion) -> None:
    """Fake records pointing at processes that are alive (this one), so none is pruned as stale:
    one on moto's port (answering, one table), then a second on port 1 (nothing listens)."""
    local_dynamodb_client(moto_engine.endpoint_url).create_table(
        TableName="g-one",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    port = int(moto_engine.endpoint_url.rsplit(":", 1)[1])
    state = Path(os.environ["SNAPINFRA_DB_STATE"])  # conftest's own_state_dir: private to this test
    kwargs: dict[str, Any] = {"dirs": (state, tmp_path), "endpoints": (moto_engine.endpoint_url,)}
    local_state.write_record(
        local_state.LocalRecord(
            port=port,
            engine="moto",
            pid=os.getpid(),
            log=str(state / f"local-{port}.log"),
            db_path=None,
            detached=True,
            started_at="2024-05-01T12:00:00+00:00",
        )
    )
    one = run("local", "status")
    assert one.exit_code == 0, one.output

    local_state.write_record(
        local_state.LocalRecord(
            port=1,
            engine="dynamodb-local",
            pid=os.getpid(),
            log=str(state / "local-1.log"),
            db_path=str(tmp_path / "data"),
            detached=False,
            started_at="2024-05-02T08:30:00+00:00",
        )
    )
    two = run("local", "status")
    assert two.exit_code == 0, two.output
    assert view(one, **kwargs) == snapshot(name="one")
    assert view(two, **kwargs) == snapshot(name="two, one not answering")
