"""plan and apply through the real CLI, against moto and against AWS's DynamoDB Local.

Each test body runs on both engines (the `engine` fixture). DynamoDB Local is the strict one: it
enforces one index change per UpdateTable and validates like DynamoDB.
"""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from snapinfra_db.catalog import load_catalog
from snapinfra_db.cli.application import app

ROOT = Path(__file__).resolve().parents[1]

SMALL = """
prefix: t-
defaults:
  tags: {Project: snapinfra, ManagedBy: snapinfra-db}
tables:
  projects:
    partition_key: id
    global_indexes:
      UserIdIndex: {partition_key: userId, sort_key: createdAt}
      StatusIndex: {partition_key: status, sort_key: updatedAt}
  activity:
    partition_key: id
    ttl: expiresAt
    global_indexes:
      EntityTypeIndex: {partition_key: entityType, sort_key: createdAt}
"""


def cli(engine: Any, *args: str, catalog: Path | None = None) -> Result:
    argv = [*args, "--endpoint-url", engine.endpoint_url]
    if catalog is not None:
        argv += ["--catalog", str(catalog)]
    return CliRunner().invoke(app, argv)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tables.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def plan_json(engine: Any, catalog: Path) -> dict[str, Any]:
    result = cli(engine, "plan", "--json", catalog=catalog)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # stdout is the JSON document and nothing else


def applied(engine: Any, catalog: Path) -> Result:
    result = cli(engine, "apply", "--yes", catalog=catalog)
    assert result.exit_code == 0, result.output
    return result


def assert_converged(engine: Any, catalog: Path) -> None:
    result = cli(engine, "plan", "--detailed-exitcode", catalog=catalog)
    assert result.exit_code == 0, result.output
    assert "No changes." in result.stdout


def gsis(client: Any, table: str) -> dict[str, list[str]]:
    desc = client.describe_table(TableName=table)["Table"]
    return {
        g["IndexName"]: [k["AttributeName"] for k in g["KeySchema"]] for g in desc.get("GlobalSecondaryIndexes", [])
    }


def wait_ready(client: Any, table: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        desc = client.describe_table(TableName=table)["Table"]
        indexes = desc.get("GlobalSecondaryIndexes", [])
        if desc["TableStatus"] == "ACTIVE" and all(i["IndexStatus"] == "ACTIVE" for i in indexes):
            return
        time.sleep(0.2)
    raise AssertionError(f"{table} not ACTIVE after {timeout}s")


def test_full_catalog_from_empty_endpoint(engine: Any) -> None:
    catalog = ROOT / "tables.yaml"
    plan = plan_json(engine, catalog)
    assert plan["format_version"] == "1"
    assert plan["summary"]["create"] == 12 and len(plan["changes"]) == 12
    assert {c["action"] for c in plan["changes"]} == {"create"}
    assert cli(engine, "plan", "--detailed-exitcode", catalog=catalog).exit_code == 2

    applied(engine, catalog)

    client = engine.client()
    for spec in load_catalog(catalog).tables:
        desc = client.describe_table(TableName=spec.name)["Table"]
        assert desc["TableStatus"] == "ACTIVE"
        assert [k["AttributeName"] for k in desc["KeySchema"]] == [spec.partition_key.name]
        assert gsis(client, spec.name) == {
            n: [k.name for k in g.key_attributes()] for n, g in spec.global_indexes.items()
        }
        assert desc["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        assert desc["DeletionProtectionEnabled"] is True
        assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        ttl = client.describe_time_to_live(TableName=spec.name)["TimeToLiveDescription"]
        assert (ttl.get("AttributeName") if ttl["TimeToLiveStatus"] == "ENABLED" else None) == spec.ttl
        if engine.name == "moto":  # DynamoDB Local reports neither SSE, nor PITR, nor tags
            assert desc["SSEDescription"]["SSEType"] == "KMS"
            pitr = client.describe_continuous_backups(TableName=spec.name)["ContinuousBackupsDescription"]
            assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
            tags = client.list_tags_of_resource(ResourceArn=desc["TableArn"])["Tags"]
            assert {t["Key"]: t["Value"] for t in tags} == {"Project": "snapinfra", "ManagedBy": "snapinfra-db"}

    assert_converged(engine, catalog)
    again = cli(engine, "apply", "--yes", catalog=catalog)
    assert again.exit_code == 0 and "No changes." in again.stdout


def test_gsi_added_removed_and_rebuilt(engine: Any, tmp_path: Path) -> None:
    catalog = write(tmp_path, SMALL)
    applied(engine, catalog)
    # Add three indexes to one table at once: they must go one per UpdateTable, each waited for.
    catalog.write_text(
        SMALL.replace(
            "      StatusIndex: {partition_key: status, sort_key: updatedAt}\n",
            "      StatusIndex: {partition_key: status, sort_key: updatedAt}\n"
            "      OwnerIndex: {partition_key: owner}\n"
            "      TeamIndex: {partition_key: team, sort_key: {name: rank, type: N}}\n"
            "      SlugIndex: {partition_key: slug, projection: KEYS_ONLY}\n",
        )
    )
    plan = plan_json(engine, catalog)
    assert [s["op"] for s in plan["changes"][0]["steps"]] == ["create_gsi"] * 3
    applied(engine, catalog)
    client = engine.client()
    assert set(gsis(client, "t-projects")) == {"UserIdIndex", "StatusIndex", "OwnerIndex", "TeamIndex", "SlugIndex"}
    assert_converged(engine, catalog)

    # Remove one, change another's sort key (a rebuild: delete then create).
    catalog.write_text(
        SMALL.replace(
            "StatusIndex: {partition_key: status, sort_key: updatedAt}", "StatusIndex: {partition_key: status}"
        ).replace("      UserIdIndex: {partition_key: userId, sort_key: createdAt}\n", "")
    )
    plan = plan_json(engine, catalog)
    steps = [(s["op"], s.get("index")) for s in plan["changes"][0]["steps"]]
    assert steps[:4] == [
        ("delete_gsi", "OwnerIndex"),
        ("delete_gsi", "SlugIndex"),
        ("delete_gsi", "TeamIndex"),
        ("delete_gsi", "UserIdIndex"),
    ]
    assert ("delete_gsi", "StatusIndex") in steps and steps[-1] == ("create_gsi", "StatusIndex")
    text = cli(engine, "plan", catalog=catalog).stdout
    assert "rebuild" in text and "queries on it fail until the new index is ACTIVE" in text
    applied(engine, catalog)
    assert gsis(engine.client(), "t-projects") == {"StatusIndex": ["status"]}
    assert_converged(engine, catalog)


def test_ttl_on_off_rename(engine: Any, tmp_path: Path) -> None:
    catalog = write(tmp_path, SMALL)
    applied(engine, catalog)
    client = engine.client()

    def ttl(table: str) -> str | None:
        d = client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        return d.get("AttributeName") if d["TimeToLiveStatus"] in ("ENABLED", "ENABLING") else None

    catalog.write_text(SMALL.replace("    ttl: expiresAt\n", ""))  # off
    applied(engine, catalog)
    assert ttl("t-activity") is None
    catalog.write_text(SMALL.replace("    ttl: expiresAt\n", "    ttl: deleteAt\n"))  # on, another name
    applied(engine, catalog)
    assert ttl("t-activity") == "deleteAt"
    catalog.write_text(SMALL.replace("    ttl: expiresAt\n", "    ttl: purgeAt\n"))  # rename: disable + enable
    out = cli(engine, "plan", catalog=catalog).stdout
    assert "one TTL change per table per hour" in out
    applied(engine, catalog)  # neither local engine enforces the hour
    assert ttl("t-activity") == "purgeAt"
    assert_converged(engine, catalog)


def test_stream_view_change(ddblocal_engine: Any, tmp_path: Path) -> None:
    # DynamoDB Local only: moto never lets a table re-enable a stream once it had one
    # (moto/dynamodb/models/__init__.py, update_table_streams), unlike AWS and DynamoDB Local.
    engine = ddblocal_engine
    catalog = write(tmp_path, SMALL)
    applied(engine, catalog)
    client = engine.client()
    catalog.write_text(
        SMALL.replace("    ttl: expiresAt\n", "    ttl: expiresAt\n    stream: {view_type: KEYS_ONLY}\n")
    )
    plan = plan_json(engine, catalog)
    assert [s["op"] for s in plan["changes"][0]["steps"]] == ["disable_stream", "enable_stream"]
    assert any("stream ARN changes" in n for n in plan["changes"][0]["notes"])
    applied(engine, catalog)
    spec = client.describe_table(TableName="t-activity")["Table"]["StreamSpecification"]
    assert spec == {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    assert_converged(engine, catalog)


def test_out_of_band_change_is_detected_and_repaired(engine: Any, tmp_path: Path) -> None:
    catalog = write(tmp_path, SMALL)
    applied(engine, catalog)
    client = engine.client()
    client.update_table(TableName="t-projects", GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "StatusIndex"}}])
    wait_ready(client, "t-projects")
    result = cli(engine, "plan", "--detailed-exitcode", catalog=catalog)
    assert result.exit_code == 2 and "index StatusIndex" in result.stdout
    applied(engine, catalog)
    assert set(gsis(client, "t-projects")) == {"UserIdIndex", "StatusIndex"}
    assert_converged(engine, catalog)


def test_tables_outside_the_catalog_are_never_touched(engine: Any, tmp_path: Path) -> None:
    client = engine.client()
    client.create_table(
        TableName="someone-else",
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.put_item(TableName="someone-else", Item={"k": {"S": "v"}})
    before = client.describe_table(TableName="someone-else")["Table"]
    catalog = write(tmp_path, SMALL)
    plan = plan_json(engine, catalog)
    assert "someone-else" not in json.dumps(plan)
    applied(engine, catalog)
    after = client.describe_table(TableName="someone-else")["Table"]
    assert after["KeySchema"] == before["KeySchema"] and not after.get("GlobalSecondaryIndexes")
    assert after.get("StreamSpecification") == before.get("StreamSpecification")
    assert client.get_item(TableName="someone-else", Key={"k": {"S": "v"}})["Item"] == {"k": {"S": "v"}}


def test_changed_primary_key_is_blocked_and_nothing_is_modified(engine: Any, tmp_path: Path) -> None:
    catalog = write(tmp_path, SMALL)
    applied(engine, catalog)
    client = engine.client()
    before = client.describe_table(TableName="t-projects")["Table"]
    catalog.write_text(
        SMALL.replace("  projects:\n    partition_key: id\n", "  projects:\n    partition_key: projectId\n").replace(
            "StatusIndex: {partition_key: status, sort_key: updatedAt}", "StatusIndex: {partition_key: state}"
        )
    )
    planned = cli(engine, "plan", "--json", catalog=catalog)
    assert planned.exit_code == 1  # a plan apply cannot carry out (terraform's convention)
    (change,) = json.loads(planned.stdout)["changes"]
    assert change["action"] == "blocked" and change["steps"] == []
    assert "primary key differs" in change["blocked"][0]
    result = cli(engine, "apply", "--yes", catalog=catalog)
    assert result.exit_code == 1
    assert "blocked" in result.output
    after = client.describe_table(TableName="t-projects")["Table"]
    assert after["KeySchema"] == before["KeySchema"]
    assert gsis(client, "t-projects") == {
        "UserIdIndex": ["userId", "createdAt"],
        "StatusIndex": ["status", "updatedAt"],
    }


def test_apply_without_yes_and_without_a_terminal_changes_nothing(engine: Any, tmp_path: Path) -> None:
    catalog = write(tmp_path, SMALL)
    result = cli(engine, "apply", catalog=catalog)  # CliRunner's stdin is not a terminal
    assert result.exit_code == 1
    assert "pass --yes" in result.stderr and "Traceback" not in result.output
    assert engine.client().list_tables()["TableNames"] == []


def test_prefix_stands_up_a_second_copy(engine: Any, tmp_path: Path) -> None:
    catalog = write(tmp_path, SMALL)
    applied(engine, catalog)
    result = cli(engine, "apply", "--yes", "--prefix", "t-staging-", catalog=catalog)
    assert result.exit_code == 0, result.output
    names = set(engine.client().list_tables()["TableNames"])
    assert {"t-projects", "t-activity", "t-staging-projects", "t-staging-activity"} <= names


def test_boto3_endpoint_variable_is_honoured(engine: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = write(tmp_path, SMALL)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", engine.endpoint_url)
    result = CliRunner().invoke(app, ["plan", "--json", "--catalog", str(catalog)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"]["create"] == 2


def test_a_new_table_on_dynamodb_local_plans_only_what_will_happen(ddblocal_engine: Any, tmp_path: Path) -> None:
    """DynamoDB Local has no PITR or tags and never reports encryption or table class: a plan for a new
    table must not list them as things that will happen (they are said once, as not supported), and the
    count plan gives is the count of calls apply then makes."""
    catalog = write(
        tmp_path,
        """
        prefix: t-
        defaults:
          tags: {ManagedBy: snapinfra-db}
        tables:
          activity:
            partition_key: id
            ttl: expiresAt
        """,
    )
    planned = cli(ddblocal_engine, "plan", catalog=catalog)
    assert planned.exit_code == 0, planned.output
    lines = [line.strip() for line in planned.stdout.splitlines() if line.strip()]
    assert lines == [
        "snapinfra-db will perform these actions:",
        "+ t-activity (create)",
        "+ table (key id S; billing PAY_PER_REQUEST; class STANDARD)",
        "+ stream: NEW_AND_OLD_IMAGES",
        "+ deletion protection: on",
        "+ ttl: expiresAt",
        "Plan: 1 to create, 0 to update, 0 unchanged (2 call(s) to DynamoDB).",
        "Not supported by this endpoint (left as is): encryption, point-in-time recovery, table class, tags",
    ]
    result = applied(ddblocal_engine, catalog)
    assert "t-activity: ✓✓ done (2 call(s))" in result.stdout
    # Said once, below the summary, in plan's words; never inside the table's detail column.
    summary = result.stdout.split("Apply summary", 1)[1]
    assert summary.count("Not supported by this endpoint") == 1
    assert "Not supported by this endpoint (left as is): encryption, point-in-time recovery, table class, tags" in (
        summary
    )
    assert "Every table" not in result.stdout
    assert_converged(ddblocal_engine, catalog)
