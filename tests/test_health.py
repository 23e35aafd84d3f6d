"""`snapinfra-db health`: pure findings (no AWS), then the real CLI against moto and DynamoDB Local.

The engine tests drive the command through typer's CliRunner and break tables out of band with
boto3, the way an operator would. Only the --wait test uses the DynamoDB Local that really passes
through transient statuses (-delayTransientStatuses): an index added by UpdateTable stays CREATING
there for about 30 seconds.
"""

from __future__ import annotations

import json
import re
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner, Result

from snapinfra_db.catalog import Catalog, TableSpec, load_catalog
from snapinfra_db.cli.application import app
from snapinfra_db.ops.health import probe_key, wait_until_healthy
from snapinfra_db.ops.health_report import (
    MISSING,
    EndpointInfo,
    HealthReport,
    Observation,
    ProbeResult,
    assess,
    assess_table,
)
from snapinfra_db.reconcile.diff import diff_table
from snapinfra_db.reconcile.live import LiveEncryption, LiveIndex, LiveTable
from snapinfra_db.render.health import verdict, wait_line
from snapinfra_db.waiting import Backoff, Clock

SMALL = """
prefix: t-
defaults:
  tags: {Project: snapinfra}
tables:
  projects:
    partition_key: id
    global_indexes:
      UserIdIndex: {partition_key: userId, sort_key: createdAt}
      StatusIndex: {partition_key: status, sort_key: updatedAt}
  activity:
    partition_key: id
    sort_key: {name: at, type: N}
    ttl: expiresAt
"""


def write(tmp_path: Path, text: str, name: str = "tables.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


# ---------------------------------------------------------------------------------------------
# Pure: findings from hand-built live state


def catalog_of(tmp_path: Path, text: str = SMALL) -> Catalog:
    return load_catalog(write(tmp_path, text))


def live_of(spec: TableSpec, **changes: Any) -> LiveTable:
    """The live table that `spec` describes exactly, as DynamoDB on AWS would report it."""
    live = LiveTable(
        name=spec.name,
        arn=f"arn:aws:dynamodb:eu-west-1:123456789012:table/{spec.name}",
        status="ACTIVE",
        endpoint_kind="aws",
        item_count=7,
        size_bytes=2048,
        partition_key=spec.partition_key,
        sort_key=spec.sort_key,
        global_indexes={n: LiveIndex(**g.model_dump()) for n, g in spec.global_indexes.items()},
        local_indexes=dict(spec.local_indexes),
        billing=spec.billing,
        stream=spec.stream,
        stream_arn=f"arn:aws:dynamodb:eu-west-1:123456789012:table/{spec.name}/stream/x",
        ttl=spec.ttl,
        ttl_status="ENABLED" if spec.ttl else "DISABLED",
        point_in_time_recovery=spec.point_in_time_recovery,
        earliest_restorable=datetime(2024, 5, 1, tzinfo=UTC),
        encryption=LiveEncryption(type="KMS", kms_key_arn="arn:aws:kms:eu-west-1:1:key/k", key_manager="AWS"),
        deletion_protection=spec.deletion_protection,
        table_class=spec.table_class,
        tags=dict(spec.tags),
    )
    assert diff_table(spec, live).action == "none"
    return live.model_copy(update=changes)


def with_index(live: LiveTable, name: str, **changes: Any) -> LiveTable:
    indexes = dict(live.global_indexes)
    indexes[name] = indexes[name].model_copy(update=changes)
    return live.model_copy(update={"global_indexes": indexes})


def test_a_table_as_the_catalog_says_is_healthy_with_its_settings_shown(tmp_path: Path) -> None:
    spec = catalog_of(tmp_path).tables[1]
    health = assess_table(spec, live_of(spec))
    assert health.healthy and health.status == "ACTIVE" and health.problems == () and health.drift == ()
    settings = health.settings
    assert settings is not None and settings.point_in_time_recovery is not None
    assert settings.point_in_time_recovery.enabled and settings.point_in_time_recovery.recovery_period_days == 35
    assert settings.point_in_time_recovery.earliest_restorable == datetime(2024, 5, 1, tzinfo=UTC)
    assert settings.ttl.attribute == "expiresAt" and settings.stream.view_type == "NEW_AND_OLD_IMAGES"
    assert settings.encryption is not None and settings.encryption.type == "KMS"
    assert settings.deletion_protection and settings.billing.mode == "PAY_PER_REQUEST"
    assert health.size is not None and health.size.approximate and health.size.item_count == 7


def test_missing_table(tmp_path: Path) -> None:
    spec = catalog_of(tmp_path).tables[0]
    health = assess_table(spec, None)
    assert not health.healthy and health.status == MISSING and health.problems == ("table does not exist",)


@pytest.mark.parametrize("status", ["CREATING", "UPDATING"])
def test_transient_table_status_is_reported_and_allowed_only_on_request(tmp_path: Path, status: str) -> None:
    spec = catalog_of(tmp_path).tables[0]
    strict = assess_table(spec, live_of(spec, status=status))
    assert not strict.healthy and strict.status == status and strict.problems == (f"table is {status}",)
    lenient = assess_table(spec, live_of(spec, status=status), allow_transient=True)
    assert lenient.healthy and lenient.problems == () and lenient.notices[0].startswith(f"table is {status}")
    assert lenient.transient


@pytest.mark.parametrize("status", ["DELETING", "INACCESSIBLE_ENCRYPTION_CREDENTIALS", "ARCHIVED"])
def test_a_table_going_away_or_unusable_is_never_healthy(tmp_path: Path, status: str) -> None:
    spec = catalog_of(tmp_path).tables[0]
    health = assess_table(spec, live_of(spec, status=status), allow_transient=True)
    assert not health.healthy and health.status == status and health.problems[0].startswith(f"table is {status}")


def test_index_states_missing_unknown_creating_backfilling(tmp_path: Path) -> None:
    spec = catalog_of(tmp_path).tables[0]
    live = live_of(spec)
    extra = LiveIndex(partition_key=spec.partition_key, status="ACTIVE")
    broken = live.model_copy(
        update={"global_indexes": {"UserIdIndex": live.global_indexes["UserIdIndex"], "OldIndex": extra}}
    )
    health = assess_table(spec, broken)
    assert "index StatusIndex is missing" in health.problems
    assert "index OldIndex is not in the catalog (ACTIVE)" in health.problems
    # Both come from diff_table as well: listed once each, as index problems, and in the drift.
    assert not any(p.startswith("drift:") for p in health.problems)
    assert {d.op for d in health.drift} == {"create_gsi", "delete_gsi"}
    assert {(i.name, i.in_catalog, i.present) for i in health.indexes} == {
        ("OldIndex", False, True),
        ("StatusIndex", True, False),
        ("UserIdIndex", True, True),
    }

    creating = with_index(live, "StatusIndex", status="CREATING", backfilling=True)
    assert assess_table(spec, creating).problems == ("index StatusIndex is CREATING (backfilling)",)
    allowed = assess_table(spec, creating, allow_transient=True)
    assert allowed.healthy and allowed.notices == (
        "index StatusIndex is CREATING (backfilling) (allowed by --allow-transient)",
    )
    filling = with_index(live, "StatusIndex", backfilling=True)
    assert assess_table(spec, filling).problems == ("index StatusIndex is backfilling",)


def test_drift_is_the_plan_diff_in_plan_words(tmp_path: Path) -> None:
    spec = catalog_of(tmp_path).tables[1]
    live = live_of(spec, ttl=None, ttl_status="DISABLED", deletion_protection=False)
    health = assess_table(spec, live)
    assert not health.healthy
    assert health.problems == ("drift: ~ deletion protection: off → on", "drift: ~ ttl: off → expiresAt")
    assert [d.op for d in health.drift] == [s.op for s in diff_table(spec, live).steps]


def test_changed_key_is_blocked(tmp_path: Path) -> None:
    spec = catalog_of(tmp_path).tables[1]
    live = live_of(spec, sort_key=None)
    health = assess_table(spec, live)
    assert not health.healthy and health.blocked and health.problems[0].startswith("blocked: primary key differs")


def test_settings_the_endpoint_lacks_are_na_and_not_unhealthy(tmp_path: Path) -> None:
    spec = catalog_of(tmp_path).tables[0]
    local = live_of(
        spec, endpoint_kind="ddblocal", point_in_time_recovery=None, encryption=None, tags=None, table_class=None
    )
    health = assess_table(spec, local)
    assert health.healthy and health.settings is not None
    assert health.settings.point_in_time_recovery is None and health.settings.encryption is None
    assert set(health.unsupported) == {"point-in-time recovery", "encryption", "tags", "table class"}


def test_a_failed_probe_is_a_problem_a_skipped_one_is_not(tmp_path: Path) -> None:
    spec = catalog_of(tmp_path).tables[0]
    failed = assess_table(spec, live_of(spec), ProbeResult(ok=False, error="GetItem: access denied"))
    assert failed.problems == ("probe failed: GetItem: access denied",)
    skipped = assess_table(spec, live_of(spec, status="UPDATING"), ProbeResult(ok=False, skipped="x"), True)
    assert skipped.healthy


def test_probe_key_follows_the_live_key_schema_and_types(tmp_path: Path) -> None:
    catalog = catalog_of(
        tmp_path, SMALL.replace("partition_key: id\n    sort_key", "partition_key: {name: id, type: B}\n    sort_key")
    )
    spec = catalog.tables[1]
    key = probe_key(live_of(spec))
    assert set(key) == {"id", "at"}
    assert isinstance(key["id"]["B"], bytes) and key["id"]["B"].startswith(b"snapinfra-db-health-probe-")
    assert re.fullmatch(r"-\d{31}\.5", key["at"]["N"])
    s_key = probe_key(live_of(catalog.tables[0]))
    assert s_key["id"]["S"].startswith("snapinfra-db-health-probe-") and s_key != probe_key(live_of(catalog.tables[0]))


def report_of(tmp_path: Path, live: dict[str, LiveTable | None], allow_transient: bool = False) -> HealthReport:
    catalog = catalog_of(tmp_path)
    endpoint = EndpointInfo(region="eu-west-1", endpoint="https://dynamodb.eu-west-1.amazonaws.com", kind="aws")
    observation = Observation(endpoint=endpoint, live=live, probes={}, checked_at=datetime.now(UTC))
    return assess(catalog, observation, allow_transient)


def test_report_verdict_and_json(tmp_path: Path) -> None:
    projects, activity = catalog_of(tmp_path).tables
    good = report_of(tmp_path, {projects.name: live_of(projects), activity.name: live_of(activity)})
    assert good.healthy and verdict(good) == "Healthy: all 2 table(s) exist, are ACTIVE and match the catalog."
    bad = report_of(tmp_path, {projects.name: live_of(projects), activity.name: None})
    assert not bad.healthy
    assert verdict(bad) == "Unhealthy: 1 of 2 table(s): t-activity (table does not exist)."
    data = json.loads(json.dumps(bad.to_json()))
    assert data["healthy"] is False and data["summary"]["missing"] == 1
    assert [(t["table"], t["healthy"], t["status"]) for t in data["tables"]] == [
        ("t-projects", True, "ACTIVE"),
        ("t-activity", False, "MISSING"),
    ]


class FakeClock(Clock):
    """Time that passes only when slept: the waits run instantly and their pauses are recorded."""

    def __init__(self) -> None:
        super().__init__()
        self.time = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += seconds


def test_wait_backs_off_until_healthy(tmp_path: Path) -> None:
    projects, activity = catalog_of(tmp_path).tables
    states = [
        {projects.name: live_of(projects, status="CREATING"), activity.name: None},
        {projects.name: live_of(projects, status="CREATING"), activity.name: live_of(activity, status="CREATING")},
        {projects.name: live_of(projects), activity.name: live_of(activity, status="CREATING")},
        {projects.name: live_of(projects), activity.name: live_of(activity)},
    ]
    reports = iter(report_of(tmp_path, s) for s in states)
    clock = FakeClock()
    lines: list[str] = []
    report, healthy = wait_until_healthy(
        lambda: next(reports),
        timeout=60,
        on_wait=lambda r, elapsed, delay: lines.append(wait_line(r, elapsed, delay)),
        policy=Backoff(first=1, factor=2, longest=3),
        clock=clock,
    )
    assert healthy and report.healthy and clock.sleeps == [1, 2, 3]
    assert lines[0] == (
        "[   0.0s] not healthy yet (2 of 2): t-projects: table is CREATING; t-activity: table does not exist; "
        "next check in 1.0s"
    )


def test_wait_gives_up_at_the_deadline(tmp_path: Path) -> None:
    projects, activity = catalog_of(tmp_path).tables
    missing = report_of(tmp_path, {projects.name: live_of(projects), activity.name: None})
    clock = FakeClock()
    report, healthy = wait_until_healthy(
        lambda: missing, timeout=5, policy=Backoff(first=1, factor=2, longest=10), clock=clock
    )
    assert not healthy and report is missing
    assert clock.sleeps == [1, 2, 2]  # the last pause is cut to the deadline, then one last check


# ---------------------------------------------------------------------------------------------
# The real CLI against moto and DynamoDB Local


def health(endpoint_url: str, catalog: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["health", "--endpoint-url", endpoint_url, "--catalog", str(catalog), *args])


def health_json(endpoint_url: str, catalog: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = health(endpoint_url, catalog, "--json", *args)
    return result.exit_code, json.loads(result.stdout)  # stdout is one JSON document, nothing else


def apply(endpoint_url: str, catalog: Path) -> None:
    result = CliRunner().invoke(app, ["apply", "--yes", "--endpoint-url", endpoint_url, "--catalog", str(catalog)])
    assert result.exit_code == 0, result.output


def wait_ready(client: Any, table: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        desc = client.describe_table(TableName=table)["Table"]
        if desc["TableStatus"] == "ACTIVE" and all(
            i["IndexStatus"] == "ACTIVE" for i in desc.get("GlobalSecondaryIndexes", [])
        ):
            return
        time.sleep(0.1)
    raise AssertionError(f"{table} not ACTIVE after {timeout}s")


def rows(text: str) -> dict[str, list[str]]:
    """The rich table's rows by catalog key: [mark, status, ...cells]."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("─")) + 1
    found: dict[str, list[str]] = {}
    for line in lines[start:]:
        if line.startswith(" ") and line.strip():
            continue  # a cell's second line (PITR's earliest restorable time)
        match = re.match(r"^([✓✗]) (\S+)\s+(\S+)\s*(.*)$", line)
        if not match:
            break
        found[match[2]] = [match[1], match[3], *match[4].split()]
    return found


def assert_agree(text: str, data: dict[str, Any]) -> None:
    """The rich output and the JSON document tell the same story."""
    table_rows = rows(text)
    assert set(table_rows) == {t["key"] for t in data["tables"]}
    for t in data["tables"]:
        mark, status = table_rows[t["key"]][:2]
        assert (mark == "✓") == t["healthy"], (t["table"], text)
        assert status == t["status"]
        for problem in t["problems"]:
            assert problem in text
    first_verdict_word = "Healthy:" if data["healthy"] else "Unhealthy:"
    assert f"{'✓' if data['healthy'] else '✗'} {first_verdict_word}" in text


def test_healthy_after_apply(engine: Any, tmp_path: Path) -> None:
    catalog = write(tmp_path, SMALL)
    apply(engine.endpoint_url, catalog)
    result = health(engine.endpoint_url, catalog)
    assert result.exit_code == 0, result.output
    assert "Healthy: all 2 table(s) exist, are ACTIVE and match the catalog." in result.stdout
    assert "items≈" in result.stdout and "DynamoDB's own figures" in result.stdout
    code, data = health_json(engine.endpoint_url, catalog)
    assert code == 0 and data["healthy"] is True
    assert [(t["table"], t["healthy"], t["status"], t["problems"]) for t in data["tables"]] == [
        ("t-projects", True, "ACTIVE", []),
        ("t-activity", True, "ACTIVE", []),
    ]
    assert data["endpoint"]["endpoint"] == engine.endpoint_url and data["endpoint"]["account_id"] is None
    activity = data["tables"][1]["settings"]
    assert activity["ttl"] == {"status": "ENABLED", "attribute": "expiresAt"}
    assert activity["stream"]["view_type"] == "NEW_AND_OLD_IMAGES" and activity["deletion_protection"] is True
    assert activity["billing"]["mode"] == "PAY_PER_REQUEST"
    if engine.name == "ddblocal":  # no PITR, SSE, tags or table class: n/a, and still healthy
        assert data["endpoint"]["kind"] == "ddblocal"
        assert activity["point_in_time_recovery"] is None and activity["encryption"] is None
        assert "n/a: not implemented by this endpoint" in result.stdout
    else:
        assert activity["point_in_time_recovery"]["enabled"] is True
        assert activity["encryption"]["type"] == "KMS"
    assert_agree(result.stdout, data)


def test_missing_table_is_named(engine: Any, tmp_path: Path) -> None:
    catalog = write(tmp_path, SMALL)
    apply(engine.endpoint_url, catalog)
    bigger = write(tmp_path, SMALL + "  teams:\n    partition_key: id\n", "bigger.yaml")
    result = health(engine.endpoint_url, bigger)
    assert result.exit_code == 1
    assert "missing (1): t-teams" in result.stdout
    assert "Unhealthy: 1 of 3 table(s): t-teams (table does not exist)." in result.stdout
    code, data = health_json(engine.endpoint_url, bigger)
    assert code == 1 and data["healthy"] is False
    teams = data["tables"][2]
    assert teams["table"] == "t-teams" and teams["status"] == "MISSING" and not teams["healthy"]
    assert teams["problems"] == ["table does not exist"]
    assert_agree(result.stdout, data)


def test_gsi_removed_and_added_out_of_band(engine: Any, tmp_path: Path) -> None:
    catalog = write(tmp_path, SMALL)
    apply(engine.endpoint_url, catalog)
    client = engine.client()
    client.update_table(TableName="t-projects", GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "StatusIndex"}}])
    wait_ready(client, "t-projects")
    result = health(engine.endpoint_url, catalog)
    assert result.exit_code == 1
    assert "index StatusIndex is missing" in result.stdout
    assert "1/2 1 missing" in result.stdout
    code, data = health_json(engine.endpoint_url, catalog)
    projects = data["tables"][0]
    assert code == 1 and not projects["healthy"] and "index StatusIndex is missing" in projects["problems"]
    assert {"op": "create_gsi", "symbol": "+", "text": "index StatusIndex (status S, updatedAt S; projection ALL)"} in (
        projects["drift"]
    )
    assert data["tables"][1]["healthy"] is True
    assert_agree(result.stdout, data)

    client.update_table(
        TableName="t-activity",
        AttributeDefinitions=[{"AttributeName": "owner", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": "OwnerIndex",
                    "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            }
        ],
    )
    wait_ready(client, "t-activity")
    code, data = health_json(engine.endpoint_url, catalog)
    assert code == 1 and "index OwnerIndex is not in the catalog (ACTIVE)" in data["tables"][1]["problems"]


def test_ttl_and_stream_turned_off_out_of_band(engine: Any, tmp_path: Path) -> None:
    catalog = write(tmp_path, SMALL)
    apply(engine.endpoint_url, catalog)
    client = engine.client()
    client.update_time_to_live(
        TableName="t-activity", TimeToLiveSpecification={"Enabled": False, "AttributeName": "expiresAt"}
    )
    # Restate deletion protection: DynamoDB Local resets it on any UpdateTable that does not name it.
    client.update_table(
        TableName="t-projects", StreamSpecification={"StreamEnabled": False}, DeletionProtectionEnabled=True
    )
    wait_ready(client, "t-projects")
    result = health(engine.endpoint_url, catalog)
    assert result.exit_code == 1
    code, data = health_json(engine.endpoint_url, catalog)
    assert code == 1 and data["healthy"] is False
    projects, activity = data["tables"]
    assert projects["problems"] == ["drift: ~ stream: off → NEW_AND_OLD_IMAGES"]
    assert projects["settings"]["stream"] == {"enabled": False, "view_type": None, "arn": None}
    assert activity["problems"] == ["drift: ~ ttl: off → expiresAt"]
    assert activity["settings"]["ttl"]["status"] in ("DISABLED", "DISABLING")
    assert "drift: ~ stream: off → NEW_AND_OLD_IMAGES" in result.stdout
    assert "Unhealthy: 2 of 2 table(s)" in result.stdout
    assert_agree(result.stdout, data)


def test_probe_reports_latency_and_never_writes(engine: Any, tmp_path: Path) -> None:
    catalog = write(tmp_path, SMALL)
    apply(engine.endpoint_url, catalog)
    client = engine.client()
    client.put_item(TableName="t-activity", Item={"id": {"S": "a"}, "at": {"N": "1"}})

    def counts() -> dict[str, int]:
        return {t: client.scan(TableName=t, Select="COUNT")["Count"] for t in ("t-projects", "t-activity")}

    before = counts()
    result = health(engine.endpoint_url, catalog, "--probe")
    assert result.exit_code == 0, result.output
    assert re.search(r"✓ projects .* \d+ ms\s*$", result.stdout, re.M)
    code, data = health_json(engine.endpoint_url, catalog, "--probe")
    assert code == 0 and data["probed"] is True
    for table in data["tables"]:
        probe = table["probe"]
        assert probe["operation"] == "GetItem" and probe["ok"] is True and probe["error"] is None
        assert 0 < probe["latency_ms"] < 10_000
    assert counts() == before == {"t-projects": 0, "t-activity": 1}


def test_wait_times_out_when_a_table_never_appears(clean_ddb_local: str, tmp_path: Path) -> None:
    catalog = write(tmp_path, SMALL)
    start = time.monotonic()
    result = health(clean_ddb_local, catalog, "--wait", "3")
    elapsed = time.monotonic() - start
    assert result.exit_code == 1
    assert 3 <= elapsed < 15
    assert "not healthy yet (2 of 2): t-projects: table does not exist" in result.stderr
    assert "still unhealthy after waiting 3s" in result.stderr
    assert "missing (2): t-projects, t-activity" in result.stdout


@pytest.mark.slow
def test_wait_succeeds_once_an_index_being_created_is_active(clean_ddb_local_delayed: str, tmp_path: Path) -> None:
    """DynamoDB Local with -delayTransientStatuses keeps a new index CREATING (then backfilling) ~30 s."""
    catalog = write(
        tmp_path,
        """
        prefix: t-
        tables:
          jobs:
            partition_key: id
            global_indexes:
              OwnerIndex: {partition_key: owner}
        """,
    )
    url = clean_ddb_local_delayed
    client = boto3.client("dynamodb", endpoint_url=url)
    client.create_table(
        TableName="t-jobs",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        DeletionProtectionEnabled=True,
    )
    wait_ready(client, "t-jobs")
    client.update_table(
        TableName="t-jobs",
        AttributeDefinitions=[{"AttributeName": "owner", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": "OwnerIndex",
                    "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            }
        ],
        DeletionProtectionEnabled=True,
    )

    now = health(url, catalog)
    assert now.exit_code == 1
    assert "index OwnerIndex is CREATING" in now.stdout and "0/1 1 CREATING" in now.stdout
    allowed = health(url, catalog, "--allow-transient")
    assert allowed.exit_code == 0, allowed.output
    assert "allowed by --allow-transient" in allowed.stdout and "1 still settling" in allowed.stdout

    start = time.monotonic()
    waited = health(url, catalog, "--wait", "120", "--json")
    assert waited.exit_code == 0, waited.output
    assert time.monotonic() - start < 120
    assert "not healthy yet (1 of 1): t-jobs: index OwnerIndex is CREATING" in waited.stderr
    data = json.loads(waited.stdout)
    assert data["healthy"] is True and data["tables"][0]["indexes"][0]["status"] == "ACTIVE"


def test_against_aws_the_account_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No endpoint URL: the account id comes from STS GetCallerIdentity (moto in-process stands in for AWS)."""
    from moto import mock_aws

    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    # moto's stand-in for the AWS-managed key reports KeyManager CUSTOMER: use the owned key here.
    catalog = write(tmp_path, SMALL.replace("defaults:\n", "defaults:\n  encryption: {type: AWS_OWNED}\n"))
    with mock_aws():
        args = ["--region", "eu-west-1", "--catalog", str(catalog)]
        assert CliRunner().invoke(app, ["apply", "--yes", *args]).exit_code == 0
        result = CliRunner().invoke(app, ["health", *args])
        data = json.loads(CliRunner().invoke(app, ["health", "--json", *args]).stdout)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "AWS account 123456789012 · region eu-west-1 · https://dynamodb.eu-west-1.amazonaws.com · prefix t-"
    )
    assert data["endpoint"] == {
        "region": "eu-west-1",
        "endpoint": "https://dynamodb.eu-west-1.amazonaws.com",
        "kind": "aws",
        "local": False,
        "account_id": "123456789012",
        "account_note": None,
    }


def _heading(stdout: str, endpoint_url: str) -> str:
    return next(line for line in stdout.splitlines() if endpoint_url in line)


def test_the_heading_names_the_endpoint_alike_with_or_without_tables(engine: Any, tmp_path: Path) -> None:
    """The kind comes from the endpoint itself, not only from the tables it happens to hold."""
    catalog = write(tmp_path, SMALL)
    empty = health(engine.endpoint_url, catalog)
    assert empty.exit_code == 1  # every table missing
    _, empty_json = health_json(engine.endpoint_url, catalog)
    apply(engine.endpoint_url, catalog)
    full = health(engine.endpoint_url, catalog)
    assert full.exit_code == 0, full.output
    _, full_json = health_json(engine.endpoint_url, catalog)
    name = "DynamoDB Local" if engine.name == "ddblocal" else "local endpoint"
    assert _heading(empty.stdout, engine.endpoint_url) == _heading(full.stdout, engine.endpoint_url)
    assert _heading(full.stdout, engine.endpoint_url).startswith(f"{name} {engine.endpoint_url} · region ")
    assert empty_json["endpoint"] == full_json["endpoint"]
    assert full_json["endpoint"]["kind"] == ("ddblocal" if engine.name == "ddblocal" else "custom")
