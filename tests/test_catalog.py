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
    (  # an unclosed flow mapping
        "tables:\n  a: {partition_key: id\n",
        "3:1",
        "YAML error: while parsing a flow mapping expected ',' or '}', but got '<stream end>'",
    ),
    (
        "tables:\n  abc:\n    partition_key: id\n    partiton_key: x\n",
        "4:5",
        "unknown key 'partiton_key' (did you mean 'partition_key'?)",
    ),
    (
        "tables:\n  abc:\n    partition_key: {name: id, type: X}\n",
        "3:37",
        "tables.abc.partition_key.type: Input should be 'S', 'N' or 'B'",
    ),
    (
        "tables:\n  abc:\n    partition_key: id\n    sort_key: {name: ts, type: N}\n    global_indexes:\n"
        "      ByTs: {partition_key: ts}\n",
        "6:29",
        "attribute 'ts' is declared S here and N elsewhere in this table (an attribute has one type)",
    ),
    (
        "tables:\n  abc:\n    partition_key: id\n  abc:\n    partition_key: id\n",
        "4:3",
        'YAML error: while constructing a mapping found duplicate key "abc" with value '
        "\"{'partition_key': 'id'}\" (original value: \"{'partition_key': 'id'}\")",
    ),
    (
        "prefix: ''\ntables:\n  ab:\n    partition_key: id\n",
        "3:3",
        "table name 'ab' must be 3-255 characters of A-Z a-z 0-9 _ . -",
    ),
    (
        "tables:\n  a/b:\n    partition_key: id\n",
        "2:3",
        "table name 'snapinfra-a/b' must be 3-255 characters of A-Z a-z 0-9 _ . -",
    ),
    (
        "tables:\n  abc:\n    partition_key: id\n    billing: {mode: PROVISIONED}\n",
        "4:14",
        "PROVISIONED billing needs 'read' and 'write' capacity for the table",
    ),
    (
        "tables:\n  abc:\n    partition_key: id\n    global_indexes:\n"
        "      Idx: {partition_key: u, projection: INCLUDE}\n",
        "5:43",
        "tables.abc.global_indexes.Idx.projection: an INCLUDE projection needs a non-empty 'attributes' list",
    ),
    (
        "legacy: [snapinfra-abc]\ntables:\n  abc:\n    partition_key: id\n",
        "1:10",
        "legacy table 'snapinfra-abc' is also a catalog table: purging it would delete a live table",
    ),
    (
        "tables:\n  abc:\n    partition_key: id\n    point_in_time_recovery: {recovery_period_days: 36}\n",
        "4:52",
        "tables.abc.point_in_time_recovery.recovery_period_days: Input should be less than or equal to 35",
    ),
    (
        "defaults:\n  point_in_time_recovery: {recovery_period_days: 0}\ntables:\n  abc:\n    partition_key: id\n",
        "2:50",
        "defaults.point_in_time_recovery.recovery_period_days: Input should be greater than or equal to 1",
    ),
    ("tables:\n  abc:\n    sort_key: x\n", "3:5", "tables.abc.partition_key: Field required"),
    ("- just\n- a list\n", "1:1", "the catalog must be a mapping with a 'tables' key"),
    (
        "tables:\n  abc:\n    partition_key: id\n    ttl: [1]\n",
        "4:10",
        "tables.abc.ttl: Input should be a valid string",
    ),
    (
        "tables:\n  abc:\n    partition_key: id\n    encryption: {type: CUSTOMER_MANAGED}\n",
        "4:17",
        "tables.abc.encryption: CUSTOMER_MANAGED encryption needs 'kms_key' (a KMS key ARN or key id)",
    ),
]


@pytest.mark.parametrize(("text", "where", "message"), BAD, ids=[b[2][:40] for b in BAD])
def test_bad_catalog_gives_located_error_and_exit_1(tmp_path: Path, text: str, where: str, message: str) -> None:
    path = tmp_path / "tables.yaml"
    path.write_text(text)
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    # Exactly one problem, located at the offending token, in exactly these words.
    assert info.value.problems == [f"{path}:{where}: {message}"]

    result = CliRunner().invoke(app, ["validate", "--catalog", str(path)])
    # The same words as one line on stderr (no traceback, nothing on stdout), exit code 1.
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", f"error: {path}:{where}: {message}\n")


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
    # Every problem of every table, each located; the legacy check waits for tables that validate.
    allowed = (
        "billing, point_in_time_recovery, encryption, stream, deletion_protection, table_class, tags, alarms, "
        "key, name, env, partition_key, sort_key, ttl, global_indexes, local_indexes"
    )
    assert info.value.problems == [
        f"{path}:5:5: unknown key 'colour' (allowed: {allowed})",
        f"{path}:7:5: tables.two.partition_key: Field required",
        f"{path}:7:5: unknown key 'envv' (did you mean 'env'?)",
    ]


def test_missing_catalog_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = CliRunner().invoke(app, ["plan", "--catalog", str(missing)])
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"error: {missing}: catalog not found (pass --catalog PATH or set SNAPINFRA_DB_CATALOG)\n"


def test_validate_ok_and_env_output() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["validate", "--catalog", str(ROOT / "tables.yaml")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["env", "--catalog", str(ROOT / "tables.yaml"), "--region", "eu-west-1"])
    assert result.exit_code == 0
    # One NAME=value line per table, in the catalog's order, then the region: nothing else.
    variable = {name: env for env, name in GUIDE_ENV.items()}
    assert result.stdout == "".join(f"{variable[name]}={name}\n" for name in EXPECTED) + "AWS_REGION=eu-west-1\n"
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

    assert result.exit_code == 0
    staging = {env: name.replace("snapinfra-", "snapinfra-staging-") for env, name in GUIDE_ENV.items()}
    assert json.loads(result.stdout) == {**staging, "AWS_REGION": "us-east-1"}


def _problems_and_cli(path: Path) -> tuple[list[str], str]:
    """The problems load_catalog raises, and the stderr of `validate` (after checking exit 1, empty stdout)."""
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    result = CliRunner().invoke(app, ["validate", "--catalog", str(path)])
    assert (result.exit_code, result.stdout) == (1, "")
    return info.value.problems, result.stderr


def _assert_stderr_lists(stderr: str, problems: list[str]) -> None:
    """Each problem is on its own stderr line, in this order (whatever prefix the lines get)."""
    lines = stderr.splitlines()
    where = []
    for problem in problems:
        matching = [i for i, line in enumerate(lines) if line.endswith(problem)]
        assert len(matching) == 1, (problem, stderr)
        where.append(matching[0])
    assert where == sorted(where), stderr
    assert "Field required" not in stderr or any("Field required" in p for p in problems)


def test_mistyped_key_is_reported_once_not_as_a_missing_field(tmp_path: Path) -> None:
    path = tmp_path / "tables.yaml"
    path.write_text("tables:\n  projects:\n    env: DYNAMODB_PROJECTS_TABLE\n    partiton_key: id\n")
    problems, stderr = _problems_and_cli(path)
    # The unknown key explains the missing partition_key: only it is shown.
    expected = [f"{path}:4:5: unknown key 'partiton_key' (did you mean 'partition_key'?)"]
    assert problems == expected
    _assert_stderr_lists(stderr, expected)
    assert "partition_key: Field required" not in stderr


def test_mistyped_key_at_every_level_explains_its_missing_field(tmp_path: Path) -> None:
    path = tmp_path / "tables.yaml"
    path.write_text(
        "tabels:\n  abc:\n    partition_key: id\n"  # the catalog level: 'tables' is required
    )
    problems, stderr = _problems_and_cli(path)
    assert problems == [f"{path}:1:1: unknown key 'tabels' (did you mean 'tables'?)"]
    _assert_stderr_lists(stderr, problems)

    path.write_text(
        "tables:\n  abc:\n    partition_key: id\n    global_indexes:\n      Idx: {partiton_key: u}\n"
        "    local_indexes:\n      Loc: {sort_ky: v}\n"
    )
    problems, stderr = _problems_and_cli(path)
    assert problems == [
        f"{path}:5:13: unknown key 'partiton_key' (did you mean 'partition_key'?)",
        f"{path}:7:13: unknown key 'sort_ky' (did you mean 'sort_key'?)",
    ]
    _assert_stderr_lists(stderr, problems)


def test_genuinely_missing_field_is_still_reported(tmp_path: Path) -> None:
    path = tmp_path / "tables.yaml"
    # No partition_key, and an unknown key whose suggestion is something else: the missing field stays.
    path.write_text("tables:\n  projects:\n    env: DYNAMODB_PROJECTS_TABLE\n    sort_key: sk\n    tll: x\n")
    problems, stderr = _problems_and_cli(path)
    expected = [
        f"{path}:3:5: tables.projects.partition_key: Field required",
        f"{path}:5:5: unknown key 'tll' (did you mean 'ttl'?)",
    ]
    assert problems == expected
    _assert_stderr_lists(stderr, expected)

    # A suggestion at another level does not explain a missing field: the GSI's key is still missing.
    path.write_text("tables:\n  projects:\n    partiton_key: id\n    global_indexes:\n      Idx: {projection: ALL}\n")
    problems, stderr = _problems_and_cli(path)
    expected = [
        f"{path}:3:5: unknown key 'partiton_key' (did you mean 'partition_key'?)",
        f"{path}:5:12: tables.projects.global_indexes.Idx.partition_key: Field required",
    ]
    assert problems == expected
    _assert_stderr_lists(stderr, expected)


def test_problems_are_in_line_order_whatever_order_they_are_found_in(tmp_path: Path) -> None:
    path = tmp_path / "tables.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            legacy: [snapinfra-alpha]
            defaults:
              billing: {mode: PROVISIONED, max_read: 5}
            tables:
              alpha:
                partition_key: id
                global_indexes:
                  ById: {partition_key: {name: id, type: N}, read: 1, write: 1}
              beta:
                partition_key: id
                ttl: [1]
              gamma:
                partition_key: id
                sort_key: sk
            """
        )
    )
    problems, stderr = _problems_and_cli(path)
    # Found in this order: beta's pydantic error (line 11), alpha's attribute types (8), the capacity
    # rules on the merged defaults (3, twice, for alpha and again for gamma), the legacy rule (1).
    # Shown in line order, equal positions in the order found, each once.
    expected = [
        f"{path}:1:10: legacy table 'snapinfra-alpha' is also a catalog table: purging it would delete a live table",
        f"{path}:3:12: PROVISIONED billing needs 'read' and 'write' capacity for the table",
        f"{path}:3:12: 'max_read'/'max_write' apply to PAY_PER_REQUEST only (the table)",
        f"{path}:8:29: attribute 'id' is declared N here and S elsewhere in this table (an attribute has one type)",
        f"{path}:11:10: tables.beta.ttl: Input should be a valid string",
    ]
    assert problems == expected
    _assert_stderr_lists(stderr, expected)
