"""`snapinfra-db import`, through the real CLI on moto and DynamoDB Local: what it prints is a catalog
that plans to no changes against the tables it was read from (the shipped 12 tables, and tables made
by hand with what the catalog can say: LSIs, provisioned capacity, INCLUDE projections, a customer's
KMS key, a stream off, TTL), in the catalog's own style; --add-to keeps the catalog's comments and
refuses a table it already has."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner, Result

from snapinfra_db.catalog import load_catalog
from snapinfra_db.cli.application import app

SHIPPED = Path(__file__).resolve().parents[1] / "tables.yaml"


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def import_(engine: Any, *args: str) -> Result:
    return run("import", "--endpoint-url", engine.endpoint_url, *args)


def plan(engine: Any, catalog: Path, *extra: str) -> Result:
    return run("plan", "--detailed-exitcode", "--catalog", str(catalog), "--endpoint-url", engine.endpoint_url, *extra)


def imported(engine: Any, path: Path, *args: str) -> str:
    """`import ARGS` into `path` (exit 0 asserted), and its text."""
    result = import_(engine, *args)
    assert result.exit_code == 0, result.output
    path.write_text(result.stdout)
    return result.stdout


def assert_no_changes(engine: Any, catalog: Path, *extra: str) -> Result:
    result = plan(engine, catalog, *extra)
    assert result.exit_code == 0, result.output
    assert "No changes" in result.stdout, result.stdout
    return result


def create(client: Any, name: str, **params: Any) -> None:
    keys = params.pop("keys")
    attributes = params.pop("attributes")
    params.setdefault("BillingMode", "PAY_PER_REQUEST")
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": n, "KeyType": k} for n, k in keys],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in attributes],
        **params,
    )
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})


# -- the shipped catalog -------------------------------------------------------------------------


def test_the_shipped_catalog_round_trips(engine: Any, tmp_path: Path) -> None:
    catalog = tmp_path / "tables.yaml"
    shutil.copy(SHIPPED, catalog)
    applied = run("apply", "--yes", "--catalog", str(catalog), "--endpoint-url", engine.endpoint_url)
    assert applied.exit_code == 0, applied.output

    # Without a catalog: a whole new catalog, every setting that differs from the built-in defaults written.
    fresh = tmp_path / "fresh.yaml"
    imported(engine, fresh, "--all", "--prefix", "snapinfra-")
    assert_no_changes(engine, fresh)

    # With the shipped catalog: its defaults written once and left out of every table.
    styled = tmp_path / "styled.yaml"
    text = imported(engine, styled, "--all", "--catalog", str(catalog))
    assert_no_changes(engine, styled)
    shipped, back = load_catalog(catalog), load_catalog(styled)
    assert {t.name: t for t in back.tables} == {t.name: t for t in shipped.tables}
    assert back.defaults == shipped.defaults and back.prefix == "snapinfra-"
    tables_part = text[text.index("\ntables:") :]
    for left_out in ("tags:", "encryption:", "stream:", "billing:", "point_in_time_recovery:", "env:", "type: S"):
        assert left_out not in tables_part, left_out
    assert "  analytics:\n    partition_key: id\n    ttl: expiresAt\n" in tables_part
    assert "ProjectIdIndex: {partition_key: projectId, sort_key: {name: version, type: N}}" in tables_part
    assert (
        "\n\n  users:\n    partition_key: id\n    global_indexes:\n      EmailIndex: {partition_key: email}\n" in text
    )


# -- tables made by hand -------------------------------------------------------------------------


def make_hand_tables(client: Any) -> None:
    """Tables no catalog made: what import must describe exactly."""
    create(
        client,
        "hand-events",  # two LSIs (one INCLUDE), a numeric sort key, the stream off, on-demand
        keys=[("pk", "HASH"), ("sk", "RANGE")],
        attributes=[("pk", "S"), ("sk", "N"), ("day", "S"), ("size", "N")],
        BillingMode="PAY_PER_REQUEST",
        LocalSecondaryIndexes=[
            {
                "IndexName": "ByDay",
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "day", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
            {
                "IndexName": "BySize",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "size", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["title", "owner"]},
            },
        ],
    )
    create(
        client,
        "hand-orders",  # provisioned, a GSI with its own capacity and an INCLUDE projection, a KEYS_ONLY stream, TTL
        keys=[("id", "HASH")],
        attributes=[("id", "S"), ("customer", "S"), ("placed", "N")],
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 7, "WriteCapacityUnits": 3},
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByCustomer",
                "KeySchema": [
                    {"AttributeName": "customer", "KeyType": "HASH"},
                    {"AttributeName": "placed", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["total", "status"]},
                "ProvisionedThroughput": {"ReadCapacityUnits": 2, "WriteCapacityUnits": 1},
            }
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
        DeletionProtectionEnabled=True,
    )
    client.update_time_to_live(
        TableName="hand-orders", TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"}
    )
    create(
        client,
        "hand-blobs",  # a binary partition key, a NEW_IMAGE stream, a KEYS_ONLY GSI without a sort key
        keys=[("digest", "HASH")],
        attributes=[("digest", "B"), ("bucket", "S")],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByBucket",
                "KeySchema": [{"AttributeName": "bucket", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )


def test_hand_made_tables_round_trip(engine: Any, tmp_path: Path) -> None:
    make_hand_tables(engine.client())
    create(
        engine.client(), "other-table", keys=[("id", "HASH")], attributes=[("id", "S")], BillingMode="PAY_PER_REQUEST"
    )
    catalog = tmp_path / "hand.yaml"
    result = import_(engine, "--all", "--prefix", "hand-")
    assert result.exit_code == 0, result.output
    catalog.write_text(result.stdout)
    assert "1 table(s) not named 'hand-…' left out" in result.stderr  # other-table
    assert_no_changes(engine, catalog)

    text = result.stdout
    assert "prefix: hand-\n" in text and "other-table" not in text
    assert "  events:\n    partition_key: pk\n    sort_key: {name: sk, type: N}\n" in text
    assert "      ByDay: {sort_key: day, projection: KEYS_ONLY}\n" in text
    assert (
        "      BySize: {sort_key: {name: size, type: N}, projection: {type: INCLUDE, attributes: [owner, title]}}\n"
        in text
    )
    assert (
        "      ByCustomer: {partition_key: customer, sort_key: {name: placed, type: N}, "
        "projection: {type: INCLUDE, attributes: [status, total]}, read: 2, write: 1}\n"
    ) in text
    assert "    ttl: expires\n" in text
    assert "    billing: {mode: PROVISIONED, read: 7, write: 3}\n" in text
    assert "    stream: {enabled: false}\n" in text
    assert "    stream: {enabled: true, view_type: KEYS_ONLY}\n" in text
    assert "    partition_key: {name: digest, type: B}\n" in text
    assert "      ByBucket: {partition_key: bucket, projection: KEYS_ONLY}\n" in text
    assert text.count("deletion_protection: false") == 2  # orders has it on, the default
    if engine.name == "moto":
        # Created without SSESpecification: DynamoDB's own key; PITR off.
        assert text.count("encryption: {type: AWS_OWNED}") == 3
        assert text.count("point_in_time_recovery: {enabled: false}") == 3
    else:
        # DynamoDB Local reports neither: left at the defaults, and plan says it cannot compare them.
        assert "encryption:" not in text and "point_in_time_recovery:" not in text
        assert "does not report encryption, point-in-time recovery, table class, tags" in result.stderr
        assert "Not supported by this endpoint (left as is): encryption, point-in-time" in plan(engine, catalog).stdout


def test_named_tables_without_a_prefix_keep_their_whole_names(engine: Any, tmp_path: Path) -> None:
    make_hand_tables(engine.client())
    catalog = tmp_path / "named.yaml"
    text = imported(engine, catalog, "hand-orders", "hand-blobs")
    assert "prefix: ''\n" in text
    assert "\n  hand-orders:\n" in text and "\n  hand-blobs:\n" in text and "hand-events" not in text
    assert list(load_catalog(catalog).env_variables()) == ["DYNAMODB_HAND_ORDERS_TABLE", "DYNAMODB_HAND_BLOBS_TABLE"]
    assert_no_changes(engine, catalog)


def test_all_reads_every_page_of_list_tables(moto_engine: Any, tmp_path: Path) -> None:
    client = moto_engine.client()
    for number in range(101):
        client.create_table(
            TableName=f"many-t{number:03}",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    assert "LastEvaluatedTableName" in client.list_tables()  # 100 a page: a second page to read
    catalog = tmp_path / "many.yaml"
    imported(moto_engine, catalog, "--all", "--prefix", "many-")
    assert [t.key for t in load_catalog(catalog).tables] == [f"t{number:03}" for number in range(101)]
    assert_no_changes(moto_engine, catalog)


def test_names_and_values_yaml_would_misread_are_quoted(moto_engine: Any, tmp_path: Path) -> None:
    client = moto_engine.client()
    for key in ("123", "true", "1e5", "0x1F", "null"):
        create(client, f"q-{key}", keys=[(key, "HASH")], attributes=[(key, "S")])
    client.tag_resource(
        ResourceArn=client.describe_table(TableName="q-123")["Table"]["TableArn"],
        Tags=[
            {"Key": k, "Value": v}
            for k, v in {"on": "yes", "n": "0x1F", "e": "", "d": "2001-01-01", "t": "true"}.items()
        ],
    )
    catalog = tmp_path / "quoted.yaml"
    text = imported(moto_engine, catalog, "--all", "--prefix", "q-")
    assert "\n  '123':\n    partition_key: '123'\n" in text
    assert [t.key for t in load_catalog(catalog).tables] == ["0x1F", "123", "1e5", "null", "true"]
    assert load_catalog(catalog).table("q-123").tags == {
        "on": "yes",
        "n": "0x1F",
        "e": "",
        "d": "2001-01-01",
        "t": "true",
    }
    assert_no_changes(moto_engine, catalog)


# -- encryption ----------------------------------------------------------------------------------


def test_a_customer_managed_key_round_trips_and_the_aws_managed_key_is_left_out(
    moto_engine: Any, tmp_path: Path
) -> None:
    kms = boto3.client("kms", endpoint_url=moto_engine.endpoint_url, region_name="us-east-1")
    key_arn = kms.create_key(Description="orders")["KeyMetadata"]["Arn"]
    client = moto_engine.client()
    common: dict[str, Any] = {"keys": [("id", "HASH")], "attributes": [("id", "S")], "BillingMode": "PAY_PER_REQUEST"}
    create(client, "kms-own", SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key_arn}, **common)
    create(client, "kms-managed", SSESpecification={"Enabled": True, "SSEType": "KMS"}, **common)
    catalog = tmp_path / "kms.yaml"
    text = imported(moto_engine, catalog, "--all", "--prefix", "kms-")
    managed, own = text[text.index("  managed:") : text.index("  own:")], text[text.index("  own:") :]
    assert f"\n    encryption: {{type: CUSTOMER_MANAGED, kms_key: {key_arn}}}\n" in own
    assert "encryption" not in managed  # alias/aws/dynamodb's key: AWS_MANAGED, the default
    assert_no_changes(moto_engine, catalog)
    # And the catalog says what it means: applied elsewhere, it would use that key.
    assert load_catalog(catalog).table("kms-own").encryption.kms_key == key_arn


def test_dynamodb_local_ignores_encryption_so_import_leaves_it_at_the_defaults(
    ddblocal_engine: Any, tmp_path: Path
) -> None:
    arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    create(
        ddblocal_engine.client(),
        "sse-table",
        keys=[("id", "HASH")],
        attributes=[("id", "S")],
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": arn},
    )
    catalog = tmp_path / "sse.yaml"
    text = imported(ddblocal_engine, catalog, "sse-table")
    assert "encryption" not in text and arn not in text
    result = assert_no_changes(ddblocal_engine, catalog)
    assert "Not supported by this endpoint (left as is): encryption," in result.stdout


@pytest.fixture
def aws() -> Iterator[None]:
    """moto's mock_aws (the AWS path: no endpoint), with DynamoDB's default key AWS-managed as on AWS."""
    from moto import mock_aws
    from moto.dynamodb.models.table import Table
    from moto.kms import kms_backends

    created = Table._get_default_encryption_key

    def aws_managed(self: Table, account_id: str, region: str) -> str:
        arn: str = created(self, account_id, region)
        kms_backends[account_id][region].describe_key(arn).key_manager = "AWS"
        return arn

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Table, "_get_default_encryption_key", aws_managed)
        with mock_aws():
            yield


def test_on_aws_the_key_manager_comes_from_kms(aws: None, tmp_path: Path) -> None:
    key_arn = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
    client = boto3.client("dynamodb", region_name="us-east-1")
    common: dict[str, Any] = {"keys": [("id", "HASH")], "attributes": [("id", "S")], "BillingMode": "PAY_PER_REQUEST"}
    create(client, "aws-own", SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key_arn}, **common)
    create(client, "aws-managed", SSESpecification={"Enabled": True, "SSEType": "KMS"}, **common)
    result = run("import", "--all", "--prefix", "aws-")
    assert result.exit_code == 0, result.output
    assert f"encryption: {{type: CUSTOMER_MANAGED, kms_key: {key_arn}}}" in result.stdout
    assert result.stdout.count("encryption:") == 1
    (tmp_path / "aws.yaml").write_text(result.stdout)
    planned = run("plan", "--detailed-exitcode", "--catalog", str(tmp_path / "aws.yaml"))
    assert planned.exit_code == 0, planned.output


# -- --add-to ------------------------------------------------------------------------------------

COMMENTED = """\
# Our tables. Keep this comment.
prefix: app-   # every table's name starts so

defaults:
  billing: {mode: PAY_PER_REQUEST}
  point_in_time_recovery: {enabled: false}   # no PITR in this environment
  encryption: {type: AWS_OWNED}
  stream: {enabled: false}
  deletion_protection: false
  tags:
    Team: data        # who to ask

legacy:
  - old-users

tables:
  # the users, by id
  users:
    partition_key: id
    global_indexes:
      ByEmail: {partition_key: email}   # unique in practice

  # sessions expire on their own
  sessions:
    partition_key: id
    ttl: expiresAt
"""


def test_add_to_keeps_the_catalogs_comments_and_layout(engine: Any, tmp_path: Path) -> None:
    catalog = tmp_path / "tables.yaml"
    catalog.write_text(COMMENTED)
    os.chmod(catalog, 0o640)
    applied = run("apply", "--yes", "--catalog", str(catalog), "--endpoint-url", engine.endpoint_url)
    assert applied.exit_code == 0, applied.output
    client = engine.client()
    create(
        client,
        "app-orders",
        keys=[("id", "HASH"), ("at", "RANGE")],
        attributes=[("id", "S"), ("at", "N")],
        BillingMode="PAY_PER_REQUEST",
    )
    create(
        client,
        "app-carts",
        keys=[("id", "HASH")],
        attributes=[("id", "S")],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    if engine.name == "moto":  # DynamoDB Local has no tags: there, nothing to see
        client.tag_resource(
            ResourceArn=client.describe_table(TableName="app-carts")["Table"]["TableArn"],
            Tags=[{"Key": "Team", "Value": "data"}, {"Key": "Cost", "Value": "shop"}],
        )

    result = import_(engine, "app-orders", "app-carts", "--add-to", str(catalog))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert f"Added 2 table(s) to {catalog}: orders, carts" in result.stderr and "re-laid" not in result.stderr
    text = catalog.read_text()
    assert text.startswith(COMMENTED), text  # every line, comment and blank line as it was
    added = text[len(COMMENTED) :]
    if engine.name == "moto":
        assert "note: app-orders lacks the catalog's default tag(s) Team=data: apply will add them" in result.stderr
        carts_tags = "    tags: {Cost: shop}\n"  # Team=data is the default's: left out
    else:
        carts_tags = ""
    assert added == (
        "\n  orders:\n    partition_key: id\n    sort_key: {name: at, type: N}\n"
        "\n  carts:\n    partition_key: id\n    stream: {enabled: true, view_type: NEW_IMAGE}\n" + carts_tags
    )
    assert os.stat(catalog).st_mode & 0o777 == 0o640
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    # The catalog now holds them; plan compares them with what is live (orders' missing tag aside).
    result = plan(engine, catalog)
    if engine.name == "moto":
        assert result.exit_code == 2 and "+ Team=data" in result.stdout, result.output
        assert run("apply", "--yes", "--catalog", str(catalog), "--endpoint-url", engine.endpoint_url).exit_code == 0
    assert_no_changes(engine, catalog)


def test_add_to_the_shipped_catalog_only_appends(moto_engine: Any, tmp_path: Path) -> None:
    catalog = tmp_path / "tables.yaml"
    shutil.copy(SHIPPED, catalog)
    create(
        moto_engine.client(),
        "snapinfra-ledger",
        keys=[("id", "HASH")],
        attributes=[("id", "S")],
        BillingMode="PAY_PER_REQUEST",
    )
    result = import_(moto_engine, "snapinfra-ledger", "--add-to", str(catalog))
    assert result.exit_code == 0, result.output
    text = catalog.read_text()
    original = SHIPPED.read_text()
    assert text.startswith(original)
    # Created by hand: no stream, PITR, protection or tags; the shipped defaults want them.
    assert text[len(original) :] == (
        "\n  ledger:\n    partition_key: id\n    point_in_time_recovery: {enabled: false}\n"
        "    encryption: {type: AWS_OWNED}\n    stream: {enabled: false}\n    deletion_protection: false\n"
    )
    assert load_catalog(catalog).table("snapinfra-ledger").env == "DYNAMODB_LEDGER_TABLE"


def test_add_to_puts_new_tables_before_what_follows_the_tables(moto_engine: Any, tmp_path: Path) -> None:
    """`tables:` need not be last: a new table goes after the last one, before the next section's comment."""
    original = "prefix: app-\ntables:\n  users:\n    partition_key: id   # by id\n\n# Retired\nlegacy: [app-old]\n"
    catalog = tmp_path / "tables.yaml"
    catalog.write_text(original)
    create(moto_engine.client(), "app-teams", keys=[("id", "HASH")], attributes=[("id", "S")])
    result = import_(moto_engine, "app-teams", "--add-to", str(catalog))
    assert result.exit_code == 0, result.output
    assert catalog.read_text() == original.replace(
        "\n\n# Retired",
        "\n\n  teams:\n    partition_key: id\n    point_in_time_recovery: {enabled: false}\n"
        "    encryption: {type: AWS_OWNED}\n    stream: {enabled: false}\n    deletion_protection: false\n\n# Retired",
    )


def test_add_to_says_when_the_yaml_writer_changes_lines_it_was_not_asked_to(moto_engine: Any, tmp_path: Path) -> None:
    catalog = tmp_path / "tables.yaml"
    catalog.write_text("prefix: app-\ntables:\n  users:\n      partition_key: id\n")  # 2, then 4 spaces
    create(moto_engine.client(), "app-teams", keys=[("id", "HASH")], attributes=[("id", "S")])
    result = import_(moto_engine, "app-teams", "--add-to", str(catalog))
    assert result.exit_code == 0, result.output
    assert f"note: the YAML writer also re-laid out parts of {catalog} that import did not change" in result.stderr
    assert [t.key for t in load_catalog(catalog).tables] == ["users", "teams"]


def test_add_to_refuses_a_table_the_catalog_has_and_overwrite_replaces_it(engine: Any, tmp_path: Path) -> None:
    catalog = tmp_path / "tables.yaml"
    catalog.write_text(COMMENTED)
    client = engine.client()
    create(
        client,
        "app-users",
        keys=[("id", "HASH")],
        attributes=[("id", "S"), ("handle", "S")],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByHandle",
                "KeySchema": [{"AttributeName": "handle", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )

    refused = import_(engine, "app-users", "--add-to", str(catalog))
    assert refused.exit_code == 1
    assert refused.stderr == (
        f"error: {catalog} already has table 'users' (app-users); pass --overwrite to replace it\n"
    )
    assert catalog.read_text() == COMMENTED

    # --all leaves out what the catalog has, and says so; nothing new is not an error.
    listed = import_(engine, "--all", "--add-to", str(catalog))
    assert listed.exit_code == 0, listed.output
    assert "already in" in listed.stderr and "app-users" in listed.stderr and "nothing to add" in listed.stderr
    assert catalog.read_text() == COMMENTED

    replaced = import_(engine, "app-users", "--add-to", str(catalog), "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    assert f"Replaced 1 table(s) in {catalog}: users\n" in replaced.stderr and "Added" not in replaced.stderr
    text = catalog.read_text()
    assert "ByEmail" not in text and "ByHandle: {partition_key: handle}" in text
    # Comments outside the replaced entry stay where they were, the next table's included.
    assert "  # the users, by id\n  users:\n" in text
    assert "      ByHandle: {partition_key: handle}\n\n  # sessions expire on their own\n  sessions:\n" in text
    assert text.startswith(COMMENTED[: COMMENTED.index("  users:")])
    assert text.endswith(COMMENTED[COMMENTED.index("\n  # sessions") :])
    # plan finds app-users as the catalog now says (at most the default tag to add; sessions is not live).
    changes = json.loads(run("plan", "--json", "-c", str(catalog), "--endpoint-url", engine.endpoint_url).stdout)
    users = [c for c in changes["changes"] if c["table"] == "app-users"]
    assert users == [] or [s["op"] for s in users[0]["steps"]] == ["tag_table"], users


# -- mistakes --------------------------------------------------------------------------------------


def test_mistakes_are_one_line_each(engine: Any, tmp_path: Path) -> None:
    create(engine.client(), "app-users", keys=[("id", "HASH")], attributes=[("id", "S")], BillingMode="PAY_PER_REQUEST")
    catalog = tmp_path / "tables.yaml"
    catalog.write_text(COMMENTED)
    cases = [
        ((), "error: name the tables to import (their DynamoDB names), or pass --all\n"),
        (("app-users", "--all"), "error: name tables or pass --all, not both\n"),
        (("app-nope", "app-users"), f"error: no such table at {engine.endpoint_url}: app-nope\n"),
        (
            ("other", "--catalog", str(catalog)),
            "error: other: not named 'app-…': a catalog table's name is the prefix and its key\n",
        ),
        (
            ("old-users", "--catalog", str(catalog)),
            "error: old-users: not named 'app-…': a catalog table's name is the prefix and its key\n",
        ),
        (
            ("app-users", "--overwrite"),
            "error: --overwrite replaces tables in the catalog --add-to names: pass --add-to FILE\n",
        ),
        (("app-users", "--add-to", str(tmp_path / "missing.yaml")), None),
    ]
    for args, expected in cases:
        result = import_(engine, *args)
        assert result.exit_code == 1, (args, result.output)
        assert result.stdout == "", args
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, result.stderr)
        if expected is not None:
            assert result.stderr == expected, args
    assert catalog.read_text() == COMMENTED


def test_a_legacy_table_is_never_imported(engine: Any, tmp_path: Path) -> None:
    catalog = tmp_path / "tables.yaml"
    catalog.write_text(COMMENTED.replace("  - old-users", "  - app-old-users"))
    create(
        engine.client(), "app-old-users", keys=[("id", "HASH")], attributes=[("id", "S")], BillingMode="PAY_PER_REQUEST"
    )
    named = import_(engine, "app-old-users", "--add-to", str(catalog))
    assert named.exit_code == 1
    assert "app-old-users is one of the catalog's legacy tables" in named.stderr
    listed = import_(engine, "--all", "--add-to", str(catalog))
    assert listed.exit_code == 0 and "left out the catalog's legacy table(s): app-old-users" in listed.stderr
    assert "old-users:" not in catalog.read_text().split("tables:")[1]


def test_help_documents_the_command() -> None:
    result = run("import", "--help")
    assert result.exit_code == 0
    for option in ("--all", "--add-to", "--overwrite", "--prefix", "--catalog", "--endpoint-url", "--local"):
        assert option in result.stdout, option
    assert "import" in run("--help").stdout


def test_the_readme_example_is_what_import_prints(moto_engine: Any) -> None:
    """The README's example, run: the same table gives the same lines, and the same note."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme[readme.index("### Adopting existing tables") :]
    block = section[section.index("```yaml\n") + len("```yaml\n") :]
    example = block[block.index("tables:\n") : block.index("```\n")]
    console = section[section.index("```console\n") :]
    note = console[console.index("note: ") : console.index("\n```")]
    client = moto_engine.client()
    create(
        client,
        "snapinfra-invoices",
        keys=[("id", "HASH"), ("issued", "RANGE")],
        attributes=[("id", "S"), ("issued", "N"), ("customer", "S")],
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 10, "WriteCapacityUnits": 5},
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByCustomer",
                "KeySchema": [{"AttributeName": "customer", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["total"]},
                "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
            }
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        DeletionProtectionEnabled=True,
        SSESpecification={"Enabled": True, "SSEType": "KMS"},
    )
    client.update_time_to_live(
        TableName="snapinfra-invoices", TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"}
    )
    result = import_(moto_engine, "snapinfra-invoices", "--catalog", str(SHIPPED))
    assert result.exit_code == 0, result.output
    assert result.stdout[result.stdout.index("tables:\n") :] == example
    assert result.stderr == note + "\n"
