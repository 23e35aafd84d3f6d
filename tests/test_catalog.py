"""The catalog: the shipped tables.yaml, and located, all-at-once validation of bad input."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from snapinfra_db.catalog import load_catalog
from snapinfra_db.cli.application import app
from snapinfra_db.errors import CatalogError

ROOT = Path(__file__).resolve().parents[1]

# The table: primary key, GSIs (partition, sort), TTL.
EXPECTED = {
    "snapinfra-projects": (
        "id",
        {"UserIdIndex": ("userId", "createdAt"), "StatusIndex": ("status", "updatedAt")},
        None,
    ),
    "snapinfra-schemas": (
        "id",
        {
            "UserIdIndex": ("userId", "createdAt"),
            "ProjectIdIndex": ("projectId", "version:N"),
            "ProjectIdNameIndex": ("projectId", "name"),
        },
        None,
    ),
    "snapinfra-architectures": (
        "id",
        {"UserIdIndex": ("userId", "createdAt"), "ProjectIdIndex": ("projectId", "updatedAt")},
        None,
    ),
    "snapinfra-code-generations": (
        "id",
        {
            "UserIdIndex": ("userId", "createdAt"),
            "ProjectIdIndex": ("projectId", "createdAt"),
            "StatusIndex": ("status", "updatedAt"),
        },
        None,
    ),
    "snapinfra-deployments": (
        "id",
        {
            "UserIdIndex": ("userId", "createdAt"),
            "ProjectIdIndex": ("projectId", "createdAt"),
            "UserIdStatusIndex": ("userId", "status"),
            "EnvironmentIndex": ("environment", "createdAt"),
        },
        None,
    ),
    "snapinfra-analytics": (
        "id",
        {
            "UserIdTimestampIndex": ("userId", "timestamp:N"),
            "ProjectIdIndex": ("projectId", "timestamp:N"),
            "MetricIndex": ("metric", "timestamp:N"),
        },
        "expiresAt",
    ),
    "snapinfra-activity": (
        "id",
        {
            "UserIdIndex": ("userId", "createdAt"),
            "ProjectIdIndex": ("projectId", "createdAt"),
            "EntityTypeIndex": ("entityType", "createdAt"),
        },
        "expiresAt",
    ),
    "snapinfra-teams": ("id", {"UserIdIndex": ("userId", "createdAt")}, None),
    "snapinfra-documentation": (
        "id",
        {
            "UserIdIndex": ("userId", "createdAt"),
            "ProjectIdIndex": ("projectId", "order:N"),
            "ProjectIdCategoryIndex": ("projectId", "category"),
        },
        None,
    ),
    "snapinfra-integrations": (
        "id",
        {
            "UserIdIndex": ("userId", "createdAt"),
            "ProjectIdIndex": ("projectId", "type"),
            "TypeIndex": ("type", "enabled"),
        },
        None,
    ),
    "snapinfra-users": ("id", {"EmailIndex": ("email", None)}, None),
    "snapinfra-settings": ("userId", {}, None),
}

GUIDE_ENV = {
    "DYNAMODB_PROJECTS_TABLE": "snapinfra-projects",
    "DYNAMODB_SCHEMAS_TABLE": "snapinfra-schemas",
    "DYNAMODB_ARCHITECTURES_TABLE": "snapinfra-architectures",
    "DYNAMODB_CODE_GENERATIONS_TABLE": "snapinfra-code-generations",
    "DYNAMODB_DEPLOYMENTS_TABLE": "snapinfra-deployments",
    "DYNAMODB_ANALYTICS_TABLE": "snapinfra-analytics",
    "DYNAMODB_ACTIVITY_TABLE": "snapinfra-activity",
    "DYNAMODB_DOCUMENTATION_TABLE": "snapinfra-documentation",
    "DYNAMODB_TEAMS_TABLE": "snapinfra-teams",
    "DYNAMODB_SETTINGS_TABLE": "snapinfra-settings",
    "DYNAMODB_INTEGRATIONS_TABLE": "snapinfra-integrations",
    "DYNAMODB_USERS_TABLE": "snapinfra-users",
}


def _attr(text: str | None) -> tuple[str, str] | None:
    if text is None:
        return None
    name, _, kind = text.partition(":")
    return name, kind or "S"


def test_shipped_catalog_is_exactly_the_guide() -> None:
    catalog = load_catalog(ROOT / "tables.yaml")
    assert {t.name: t for t in catalog.tables}.keys() == EXPECTED.keys()
    for table in catalog.tables:
        key, gsis, ttl = EXPECTED[table.name]
        assert (table.partition_key.name, table.partition_key.type, table.sort_key) == (key, "S", None)
        assert table.ttl == ttl
        got = {
            n: (
                (g.partition_key.name, g.partition_key.type),
                (g.sort_key.name, g.sort_key.type) if g.sort_key else None,
            )
            for n, g in table.global_indexes.items()
        }
        assert got == {n: (_attr(p), _attr(s)) for n, (p, s) in gsis.items()}
        # The defaults of the issue.
        assert table.billing.mode == "PAY_PER_REQUEST"
        assert table.point_in_time_recovery.enabled and table.point_in_time_recovery.recovery_period_days == 35
        assert table.encryption.type == "AWS_MANAGED"
        assert table.stream.enabled and table.stream.view_type == "NEW_AND_OLD_IMAGES"
        assert table.deletion_protection and table.table_class == "STANDARD"
        assert table.tags == {"Project": "snapinfra", "ManagedBy": "snapinfra-db"}
        assert all(g.projection.type == "ALL" for g in table.global_indexes.values())
    assert catalog.env_variables() == GUIDE_ENV
    assert catalog.legacy == ("rhinoback-deployments", "rhinoback-projects", "rhinoback-schemas", "rhinoback-users")


def test_prefix_override_renames_every_table() -> None:
    catalog = load_catalog(ROOT / "tables.yaml", prefix="snapinfra-staging-")
    assert {t.name for t in catalog.tables} == {n.replace("snapinfra-", "snapinfra-staging-") for n in EXPECTED}
    assert catalog.env_variables()["DYNAMODB_PROJECTS_TABLE"] == "snapinfra-staging-projects"


def test_everything_beyond_the_defaults_can_be_expressed(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        textwrap.dedent(
            """
            prefix: app-
            tables:
              orders:
                partition_key: pk
                sort_key: {name: sk, type: N}
                billing: {mode: PROVISIONED, read: 5, write: 6}
                table_class: STANDARD_INFREQUENT_ACCESS
                encryption: {type: CUSTOMER_MANAGED, kms_key: arn:aws:kms:us-east-1:111122223333:key/abc}
                stream: {enabled: false}
                point_in_time_recovery: {enabled: true, recovery_period_days: 7}
                deletion_protection: false
                tags: {Team: payments}
                global_indexes:
                  ByCustomer:
                    partition_key: customer
                    projection: {type: INCLUDE, attributes: [total, status]}
                    read: 1
                    write: 2
                local_indexes:
                  ByDate: {sort_key: {name: date, type: N}, projection: KEYS_ONLY}
              events:
                partition_key: {name: id, type: B}
                encryption: {type: AWS_OWNED}
                billing: {mode: PAY_PER_REQUEST, max_read: 100, max_write: 50}
                stream: {view_type: KEYS_ONLY}
                point_in_time_recovery: {enabled: false}
            """
        )
    )
    catalog = load_catalog(path)
    orders, events = catalog.tables
    assert orders.name == "app-orders" and orders.env == "DYNAMODB_ORDERS_TABLE"
    assert orders.billing.read == 5 and orders.global_indexes["ByCustomer"].projection.attributes == ("status", "total")
    assert orders.local_indexes["ByDate"].projection.type == "KEYS_ONLY"
    assert events.billing.max_read == 100 and events.stream.view_type == "KEYS_ONLY"
    assert events.encryption.type == "AWS_OWNED" and not events.point_in_time_recovery.enabled


BAD = [
    ("tables:\n  a: {partition_key: id\n", "3:1", "YAML error"),  # unclosed flow mapping
    (
        "tables:\n  abc:\n    partition_key: id\n    partiton_key: x\n",
        "4:5",
        "unknown key 'partiton_key' (did you mean 'partition_key'?)",
    ),
    ("tables:\n  abc:\n    partition_key: {name: id, type: X}\n", "3:37", "Input should be 'S', 'N' or 'B'"),
    (
        "tables:\n  abc:\n    partition_key: id\n    sort_key: {name: ts, type: N}\n    global_indexes:\n"
        "      ByTs: {partition_key: ts}\n",
        "6:29",
        "attribute 'ts' is declared S here and N elsewhere",
    ),
    ("tables:\n  abc:\n    partition_key: id\n  abc:\n    partition_key: id\n", "4:3", "duplicate key"),
    ("prefix: ''\ntables:\n  ab:\n    partition_key: id\n", "3:3", "table name 'ab' must be 3-255 characters"),
    ("tables:\n  a/b:\n    partition_key: id\n", "2:3", "must be 3-255 characters"),
    ("tables:\n  abc:\n    partition_key: id\n    billing: {mode: PROVISIONED}\n", "4:14", "PROVISIONED billing needs"),
    (
        "tables:\n  abc:\n    partition_key: id\n    global_indexes:\n"
        "      Idx: {partition_key: u, projection: INCLUDE}\n",
        "5:43",
        "INCLUDE projection needs",
    ),
    ("legacy: [snapinfra-abc]\ntables:\n  abc:\n    partition_key: id\n", "1:10", "is also a catalog table"),
    (
        "tables:\n  abc:\n    partition_key: id\n    point_in_time_recovery: {recovery_period_days: 36}\n",
        "4:52",
        "less than or equal to 35",
    ),
    (
        "defaults:\n  point_in_time_recovery: {recovery_period_days: 0}\ntables:\n  abc:\n    partition_key: id\n",
        "2:50",
        "greater than or equal to 1",
    ),
    ("tables:\n  abc:\n    sort_key: x\n", "3:5", "partition_key: Field required"),
    ("- just\n- a list\n", "1:1", "must be a mapping"),
    ("tables:\n  abc:\n    partition_key: id\n    ttl: [1]\n", "4:10", "Input should be a valid string"),
    ("tables:\n  abc:\n    partition_key: id\n    encryption: {type: CUSTOMER_MANAGED}\n", "4:17", "needs 'kms_key'"),
]


@pytest.mark.parametrize(("text", "where", "message"), BAD, ids=[b[2][:40] for b in BAD])
def test_bad_catalog_gives_located_error_and_exit_1(tmp_path: Path, text: str, where: str, message: str) -> None:
    path = tmp_path / "tables.yaml"
    path.write_text(text)
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    assert any(p.startswith(f"{path}:{where}: ") and message in p for p in info.value.problems), info.value.problems

    result = CliRunner().invoke(app, ["validate", "--catalog", str(path)])
    assert result.exit_code == 1
    assert ("Traceback" not in result.output and result.exception is None) or isinstance(result.exception, SystemExit)
    assert message in result.stderr


def test_too_many_indexes(tmp_path: Path) -> None:
    gsis = "".join(f"      Index{i:02}: {{partition_key: a{i}}}\n" for i in range(21))
    lsis = "".join(f"      Local{i}: {{sort_key: l{i}}}\n" for i in range(6))
    path = tmp_path / "tables.yaml"
    path.write_text(
        "tables:\n  abc:\n    partition_key: id\n    sort_key: sk\n"
        f"    global_indexes:\n{gsis}    local_indexes:\n{lsis}"
    )
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    text = str(info.value)
    assert "21 global secondary indexes: DynamoDB allows at most 20" in text
    assert "6 local secondary indexes: DynamoDB allows at most 5" in text


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "tables.yaml"
    path.write_text(
        "legacy: [snapinfra-one]\ntables:\n  one:\n    partition_key: id\n    colour: red\n  two:\n    envv: X\n"
    )
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    assert len(info.value.problems) >= 3


def test_missing_catalog_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["plan", "--catalog", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert "catalog not found" in result.stderr and "Traceback" not in result.stderr


def test_validate_ok_and_env_output() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["validate", "--catalog", str(ROOT / "tables.yaml")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["env", "--catalog", str(ROOT / "tables.yaml"), "--region", "eu-west-1"])
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert lines[:12] == [f"{k}={v}" for k, v in GUIDE_ENV.items() if k] or set(lines[:12]) == {
        f"{k}={v}" for k, v in GUIDE_ENV.items()
    }
    assert "AWS_REGION=eu-west-1" in lines
    result = runner.invoke(
        app,
        [
            "env",
            "-c",
            str(ROOT / "tables.yaml"),
            "--prefix",
            "snapinfra-staging-",
            "--format",
            "json",
            "--region",
            "us-east-1",
        ],
    )
    import json

    data = json.loads(result.stdout)
    assert data["DYNAMODB_USERS_TABLE"] == "snapinfra-staging-users" and data["AWS_REGION"] == "us-east-1"
