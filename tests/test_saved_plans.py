"""Saved plans (`plan --out FILE`, `apply FILE`, and `plan --json` read back the same way), through the
real CLI on moto and DynamoDB Local: a saved plan is applied exactly as reviewed, without asking, or,
when anything it was made from moved since (the catalog, the prefix, the endpoint, region or account,
any planned table's live state), not at all: one error line naming what moved, exit 1, no write call."""

from __future__ import annotations

import json
import shutil
import stat
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from behaviour import BehaviourProxy, proxy_for
from snapinfra_db.catalog import load_catalog
from snapinfra_db.cli.application import app
from snapinfra_db.reconcile.live import LiveEncryption, LiveIndex, LiveTable, reflect
from snapinfra_db.reconcile.saved import VOLATILE, VOLATILE_ENCRYPTION, VOLATILE_INDEX, fingerprint, moved_tables

CATALOG = """
prefix: sp-
defaults:
  tags: {ManagedBy: snapinfra-db}
tables:
  one:
    partition_key: id
    ttl: expiresAt
    global_indexes:
      ByUser: {partition_key: userId}
  two:
    partition_key: id
"""
# Table one gets a second index and table two a TTL: work on both tables.
CHANGED = CATALOG.replace(
    "      ByUser: {partition_key: userId}\n",
    "      ByUser: {partition_key: userId}\n      ByTeam: {partition_key: team}\n",
).replace("  two:\n    partition_key: id\n", "  two:\n    partition_key: id\n    ttl: gone\n")


def write(tmp_path: Path, text: str, name: str = "tables.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def cli(*argv: str) -> Result:
    return CliRunner().invoke(app, list(argv))


def writes(proxy: BehaviourProxy) -> dict[str, int]:
    """The calls that change something (every DynamoDB operation but Describe* and List*)."""
    return {op: n for op, n in proxy.calls.items() if not op.startswith(("Describe", "List"))}


def one_error_line(result: Result) -> str:
    lines = result.stderr.splitlines()
    assert result.exit_code == 1, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def index_names(engine: Any, table: str) -> set[str]:
    described = engine.client().describe_table(TableName=table)["Table"]
    return {g["IndexName"] for g in described.get("GlobalSecondaryIndexes", [])}


def add_index_by_hand(engine: Any, table: str, index: str) -> None:
    engine.client().update_table(
        TableName=table,
        # Every key attribute, as moto forgets the ones an UpdateTable does not name again.
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("id", "userId", "byHand")],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": index,
                    "KeySchema": [{"AttributeName": "byHand", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            }
        ],
    )


# -- the promise: applied exactly, or not at all ------------------------------------------------------


def test_a_saved_plan_is_applied_without_asking_and_converges(
    engine: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = write(tmp_path, CATALOG)
    plan_file = tmp_path / "plans" / "create.plan"
    saved = cli("plan", "--out", str(plan_file), "-c", str(catalog), "--endpoint-url", engine.endpoint_url)
    assert saved.exit_code == 0, saved.output
    assert "sp-one (create)" in saved.stdout and f"Saved the plan to {plan_file}" in saved.stderr
    assert stat.S_IMODE(plan_file.stat().st_mode) == 0o600
    assert [p.name for p in plan_file.parent.iterdir()] == ["create.plan"]  # written atomically: no leftovers
    document = json.loads(plan_file.read_text())
    made_from = document["made_from"]
    assert made_from["catalog"] == str(catalog) and made_from["prefix"] == "sp-" and made_from["stage"] is None
    assert made_from["target"]["endpoint"] == engine.endpoint_url and made_from["target"]["region"] == "us-east-1"
    assert made_from["live"] == {"sp-one": None, "sp-two": None}  # neither table exists yet

    # No --yes, no terminal (CliRunner's stdin is not one), no --catalog: the file the plan names.
    monkeypatch.chdir(tmp_path / "plans")
    applied = cli("apply", str(plan_file), "--endpoint-url", engine.endpoint_url)
    assert applied.exit_code == 0, applied.output
    assert "Apply finished: 2 applied." in applied.stdout
    assert index_names(engine, "sp-one") == {"ByUser"}
    again = cli("plan", "--detailed-exitcode", "-c", str(catalog), "--endpoint-url", engine.endpoint_url)
    assert again.exit_code == 0, again.output
    assert "No changes." in again.stdout

    # Applied once, the plan is stale: both tables exist now.
    stale = one_error_line(cli("apply", str(plan_file), "--endpoint-url", engine.endpoint_url))
    assert "2 table(s) changed since the plan was made: sp-one (created since), sp-two (created since)" in stale


def test_an_out_of_band_change_to_one_table_refuses_the_whole_plan(engine: Any, tmp_path: Path) -> None:
    catalog = write(tmp_path, CATALOG)
    plan_file = tmp_path / "update.plan"
    with proxy_for(engine.endpoint_url) as proxy:
        assert cli("apply", "--yes", "-c", str(catalog), "--endpoint-url", proxy.url).exit_code == 0
        catalog.write_text(textwrap.dedent(CHANGED))
        planned = cli("plan", "--out", str(plan_file), "-c", str(catalog), "--endpoint-url", proxy.url)
        assert planned.exit_code == 0, planned.output
        assert "sp-one (update)" in planned.stdout and "sp-two (update)" in planned.stdout

        add_index_by_hand(engine, "sp-two", "ByHand")  # behind the tool's back, straight to the engine
        proxy.reset_counters()
        refused = cli("apply", str(plan_file), "-c", str(catalog), "--endpoint-url", proxy.url)
        line = one_error_line(refused)
        # (DynamoDB Local's UpdateTable also turns deletion protection off: named too, when it does.)
        assert line.startswith("error: 1 table(s) changed since the plan was made: sp-two (")
        assert "global indexes" in line and line.endswith("); nothing was changed: run plan again"), line
        assert proxy.calls["DescribeTable"] >= 2  # it did look ...
        assert writes(proxy) == {}  # ... and changed nothing, not even on sp-one, which did not move
        assert refused.stdout == ""
    assert index_names(engine, "sp-one") == {"ByUser"}  # ByTeam, planned, was not created
    ttl = engine.client().describe_time_to_live(TableName="sp-two")["TimeToLiveDescription"]
    assert ttl.get("TimeToLiveStatus", "DISABLED") == "DISABLED"


def test_what_moves_by_itself_does_not_count(engine: Any, tmp_path: Path) -> None:
    catalog = write(tmp_path, CATALOG)
    assert cli("apply", "--yes", "-c", str(catalog), "--endpoint-url", engine.endpoint_url).exit_code == 0
    catalog.write_text(textwrap.dedent(CHANGED))
    plan_file = tmp_path / "update.plan"
    assert (
        cli("plan", "--out", str(plan_file), "-c", str(catalog), "--endpoint-url", engine.endpoint_url).exit_code == 0
    )
    client = engine.client()
    before = client.describe_table(TableName="sp-one")["Table"].get("ItemCount")
    for n in range(5):  # items (counts, sizes) and tags the catalog does not name are not the plan's business
        client.put_item(TableName="sp-one", Item={"id": {"S": f"item-{n}"}, "userId": {"S": "u"}})
    if engine.name == "moto":  # DynamoDB Local implements no tags
        arn = client.describe_table(TableName="sp-two")["Table"]["TableArn"]
        client.tag_resource(ResourceArn=arn, Tags=[{"Key": "CostCenter", "Value": "42"}])
    assert client.describe_table(TableName="sp-one")["Table"].get("ItemCount") != before  # the engine reports it

    applied = cli("apply", str(plan_file), "--endpoint-url", engine.endpoint_url)
    assert applied.exit_code == 0, applied.output
    assert index_names(engine, "sp-one") == {"ByUser", "ByTeam"}
    again = cli("plan", "--detailed-exitcode", "-c", str(catalog), "--endpoint-url", engine.endpoint_url)
    assert again.exit_code == 0, again.output


def test_a_catalog_edited_after_the_plan_is_refused(moto_engine: Any, tmp_path: Path) -> None:
    catalog = write(tmp_path, CATALOG)
    plan_file = tmp_path / "create.plan"
    args = ["-c", str(catalog), "--endpoint-url", moto_engine.endpoint_url]
    assert cli("plan", "--out", str(plan_file), *args).exit_code == 0
    digest = json.loads(plan_file.read_text())["made_from"]["catalog_sha256"]

    catalog.write_text(textwrap.dedent(CATALOG) + "# a comment is an edit too: the reviewed file is what applies\n")
    line = one_error_line(cli("apply", str(plan_file), *args))
    assert line.startswith(f"error: the catalog changed since the plan was made ({catalog}: digest ")
    assert f"the plan's {digest[:12]})" in line
    assert moto_engine.client().list_tables()["TableNames"] == []

    # Another file with the very same bytes is the same catalog.
    catalog.write_text(textwrap.dedent(CATALOG))
    copy = tmp_path / "copy.yaml"
    shutil.copy(catalog, copy)
    catalog.write_text("prefix: other-\ntables: {}\n")
    applied = cli("apply", str(plan_file), "-c", str(copy), "--endpoint-url", moto_engine.endpoint_url)
    assert applied.exit_code == 0, applied.output
    assert sorted(moto_engine.client().list_tables()["TableNames"]) == ["sp-one", "sp-two"]


def test_plan_json_is_a_saved_plan_too(engine: Any, tmp_path: Path) -> None:
    catalog = write(tmp_path, CATALOG)
    args = ["-c", str(catalog), "--endpoint-url", engine.endpoint_url]
    printed = cli("plan", "--json", *args)
    assert printed.exit_code == 0, printed.output
    document = json.loads(printed.stdout)
    # The keys it always had, then what it was made from.
    assert list(document) == [
        "format_version",
        "changes",
        "unchanged",
        "unsupported",
        "orphans",
        "alarms",
        "summary",
        "made_from",
    ]
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(printed.stdout)

    applied = cli("apply", str(plan_file), *args)
    assert applied.exit_code == 0, applied.output
    assert cli("plan", "--detailed-exitcode", *args).exit_code == 0


def test_the_prefix_is_the_plans_and_another_is_refused(moto_engine: Any, tmp_path: Path) -> None:
    catalog = write(tmp_path, CATALOG)
    plan_file = tmp_path / "staging.plan"
    args = ["-c", str(catalog), "--endpoint-url", moto_engine.endpoint_url]
    assert cli("plan", "--out", str(plan_file), "--prefix", "staging-", *args).exit_code == 0

    line = one_error_line(cli("apply", str(plan_file), "--prefix", "prod-", *args))
    assert (
        line == "error: the plan was made for other tables (prefix 'prod-', the plan's 'staging-'); nothing was changed"
    )
    assert moto_engine.client().list_tables()["TableNames"] == []

    applied = cli("apply", str(plan_file), *args)  # no --prefix: the one the plan was made with
    assert applied.exit_code == 0, applied.output
    assert sorted(moto_engine.client().list_tables()["TableNames"]) == ["staging-one", "staging-two"]


def test_the_stage_is_the_plans_and_another_is_refused(moto_engine: Any, tmp_path: Path) -> None:
    staged = CATALOG.replace(
        "tables:\n",
        "stages:\n"
        "  dev: {prefix: dev-}\n"
        f"  prod: {{prefix: prod-, endpoint_url: '{moto_engine.endpoint_url}'}}\n"
        "default_stage: dev\n"
        "tables:\n",
        1,
    )
    catalog = write(tmp_path, staged)
    plan_file = tmp_path / "prod.plan"
    planned = cli("plan", "--out", str(plan_file), "--stage", "prod", "-c", str(catalog))
    assert planned.exit_code == 0, planned.output
    made_from = json.loads(plan_file.read_text())["made_from"]
    assert (made_from["stage"], made_from["prefix"]) == ("prod", "prod-")

    line = one_error_line(cli("apply", str(plan_file), "--stage", "dev", "--endpoint-url", moto_engine.endpoint_url))
    assert line == (
        "error: the plan was made for other tables (prefix 'dev-', the plan's 'prod-'; stage 'dev', the plan's "
        "'prod'); nothing was changed"
    )
    assert moto_engine.client().list_tables()["TableNames"] == []

    applied = cli("apply", str(plan_file))  # the plan's stage, and with it the stage's endpoint
    assert applied.exit_code == 0, applied.output
    assert sorted(moto_engine.client().list_tables()["TableNames"]) == ["prod-one", "prod-two"]


def test_another_endpoint_is_refused_before_any_call(moto_engine: Any, tmp_path: Path) -> None:
    catalog = write(tmp_path, CATALOG)
    plan_file = tmp_path / "create.plan"
    assert (
        cli("plan", "--out", str(plan_file), "-c", str(catalog), "--endpoint-url", moto_engine.endpoint_url).exit_code
        == 0
    )
    with proxy_for(moto_engine.endpoint_url) as proxy:  # the same tables, reached at another address
        line = one_error_line(cli("apply", str(plan_file), "--endpoint-url", proxy.url))
        assert line == (
            f"error: the plan was made for another place (endpoint {proxy.url}, the plan's "
            f"{moto_engine.endpoint_url}); nothing was changed"
        )
        assert sum(proxy.calls.values()) == 0
    line = one_error_line(
        cli("apply", str(plan_file), "--endpoint-url", moto_engine.endpoint_url, "--region", "eu-west-1")
    )
    assert "(region eu-west-1, the plan's us-east-1)" in line
    assert moto_engine.client().list_tables()["TableNames"] == []


def test_on_aws_the_account_sts_reports_is_recorded_and_checked(tmp_path: Path) -> None:
    from moto import mock_aws

    catalog = write(tmp_path, CATALOG)
    plan_file = tmp_path / "aws.plan"
    with mock_aws():  # the AWS path: no endpoint URL; moto answers DynamoDB and STS in process
        assert cli("plan", "--out", str(plan_file), "-c", str(catalog)).exit_code == 0
        document = json.loads(plan_file.read_text())
        assert document["made_from"]["target"] == {"endpoint": "aws", "region": "us-east-1", "account": "123456789012"}

        document["made_from"]["target"]["account"] = "210987654321"
        other = tmp_path / "other-account.plan"
        other.write_text(json.dumps(document))
        line = one_error_line(cli("apply", str(other), "-c", str(catalog)))
        assert "(account 123456789012, the plan's 210987654321)" in line

        applied = cli("apply", str(plan_file), "-c", str(catalog))
        assert applied.exit_code == 0, applied.output


def test_a_blocked_change_is_saved_and_the_rest_applied(moto_engine: Any, tmp_path: Path) -> None:
    catalog = write(tmp_path, CATALOG)
    args = ["-c", str(catalog), "--endpoint-url", moto_engine.endpoint_url]
    assert cli("apply", "--yes", *args).exit_code == 0
    blocked = CATALOG.replace("  one:\n    partition_key: id\n", "  one:\n    partition_key: key\n")
    catalog.write_text(
        textwrap.dedent(
            blocked.replace("  two:\n    partition_key: id\n", "  two:\n    partition_key: id\n    ttl: gone\n")
        )
    )
    plan_file = tmp_path / "blocked.plan"
    planned = cli("plan", "--out", str(plan_file), *args)
    assert planned.exit_code == 1 and plan_file.exists()  # as plan --json prints a blocked plan
    applied = cli("apply", str(plan_file), *args)
    assert applied.exit_code == 1, applied.output  # as apply: sp-one is blocked ...
    ttl = moto_engine.client().describe_time_to_live(TableName="sp-two")["TimeToLiveDescription"]
    assert ttl.get("AttributeName") == "gone"  # ... and sp-two was applied


# -- what is not a saved plan, and what does not go with one ------------------------------------------


def plan_document(moto_engine: Any, tmp_path: Path) -> dict[str, Any]:
    catalog = write(tmp_path, CATALOG)
    printed = cli("plan", "--json", "-c", str(catalog), "--endpoint-url", moto_engine.endpoint_url)
    assert printed.exit_code == 0, printed.output
    document: dict[str, Any] = json.loads(printed.stdout)
    return document


def edited(document: dict[str, Any], edit: str) -> Any:
    document = json.loads(json.dumps(document))
    if edit == "unknown version":
        document["made_from"]["version"] = 2
    elif edit == "no made_from":
        del document["made_from"]
    elif edit == "a step that does not exist":
        document["changes"][0]["steps"][0]["op"] = "drop_table"
    elif edit == "a table without its fingerprint":
        del document["made_from"]["live"]["sp-two"]
    elif edit == "another tool":
        document["made_from"]["tool"] = "snapinfra-db 0.0.1"
    return document


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("garbage {", "not a saved plan: not JSON"),
        ("[1, 2]", "not a saved plan: no 'made_from'"),
        ("no made_from", "not a saved plan: no 'made_from'"),
        ("unknown version", "a saved plan of format '1', version 2: this snapinfra-db reads format '1', version 1"),
        ("a step that does not exist", "not a valid saved plan: changes.0.steps.0"),
        ("a table without its fingerprint", "not a valid saved plan: its tables and their fingerprints do not match"),
        ("another tool", "the plan was made by snapinfra-db 0.0.1, this is snapinfra-db"),
        (b"\xff\xfe", "not a saved plan: not UTF-8 text"),
        (None, "cannot read the saved plan: No such file or directory"),
        ("directory", "cannot read the saved plan"),
    ],
    ids=lambda value: value if isinstance(value, str) and " " in value else None,
)
def test_what_is_not_a_saved_plan_is_one_error_line(
    moto_engine: Any, tmp_path: Path, content: str | bytes | None, expected: str
) -> None:
    plan_file = tmp_path / "the.plan"
    if isinstance(content, bytes):
        plan_file.write_bytes(content)
    elif content == "directory":
        plan_file.mkdir()
    elif content in ("garbage {", "[1, 2]"):
        plan_file.write_text(content)
    elif content is not None:
        plan_file.write_text(json.dumps(edited(plan_document(moto_engine, tmp_path), content)))
    line = one_error_line(cli("apply", str(plan_file), "--endpoint-url", moto_engine.endpoint_url))
    assert line.startswith(f"error: {plan_file}: ") and expected in line, line
    assert moto_engine.client().list_tables()["TableNames"] == []


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["apply", "PLAN", "--table", "one"], "error: --table does not go with a saved plan"),
        (["apply", "PLAN", "--prune"], "error: --prune does not go with a saved plan"),
        (["plan", "--out", "PLAN", "--prune"], "error: --out and --prune do not go together"),
    ],
)
def test_what_does_not_go_with_a_saved_plan(moto_engine: Any, tmp_path: Path, argv: list[str], expected: str) -> None:
    catalog = write(tmp_path, CATALOG)
    plan_file = tmp_path / "the.plan"
    assert (
        cli("plan", "--out", str(plan_file), "-c", str(catalog), "--endpoint-url", moto_engine.endpoint_url).exit_code
        == 0
    )
    argv = [str(plan_file) if a == "PLAN" else a for a in argv]
    line = one_error_line(cli(*argv, "-c", str(catalog), "--endpoint-url", moto_engine.endpoint_url))
    assert line.startswith(expected), line
    assert moto_engine.client().list_tables()["TableNames"] == []


def test_a_plan_made_with_prune_is_not_applied(moto_engine: Any, tmp_path: Path) -> None:
    catalog = write(tmp_path, CATALOG)
    args = ["-c", str(catalog), "--endpoint-url", moto_engine.endpoint_url]
    printed = cli("plan", "--json", "--prune", *args)
    plan_file = tmp_path / "prune.json"
    plan_file.write_text(printed.stdout)
    line = one_error_line(cli("apply", str(plan_file), *args))
    assert "the plan was made with --prune; a saved plan never deletes tables" in line


def test_help_tells_of_saved_plans() -> None:
    apply_help = cli("apply", "--help").stdout
    assert "PLANFILE" in apply_help and "saved plan" in apply_help
    assert "--out" in cli("plan", "--help").stdout


# -- the fingerprint itself ---------------------------------------------------------------------------

DESCRIPTION = {
    "TableName": "sp-one",
    "TableArn": "arn:aws:dynamodb:us-east-1:123456789012:table/sp-one",
    "TableStatus": "ACTIVE",
    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
    "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
    "ItemCount": 0,
    "TableSizeBytes": 0,
}


def live_table(**changes: Any) -> LiveTable:
    table = reflect(
        DESCRIPTION,
        {"TimeToLiveDescription": {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiresAt"}},
        {"ContinuousBackupsDescription": {"ContinuousBackupsStatus": "ENABLED"}},
        {"ManagedBy": "snapinfra-db"},
    )
    return table.model_copy(update=changes)


def test_a_fingerprint_covers_what_the_diff_reads_and_nothing_that_moves_by_itself(tmp_path: Path) -> None:
    spec = load_catalog(write(tmp_path, CATALOG)).table("sp-one")
    index = LiveIndex(partition_key={"name": "userId"})
    base = fingerprint(live_table(global_indexes={"ByUser": index}), spec)
    transient = live_table(
        status="UPDATING",
        item_count=5,
        size_bytes=100,
        ttl_status="ENABLING",
        stream_arn="arn:aws:dynamodb:us-east-1:123456789012:table/sp-one/stream/x",
        global_indexes={
            "ByUser": index.model_copy(update={"status": "CREATING", "backfilling": True, "item_count": 3})
        },
        tags={"ManagedBy": "snapinfra-db", "CostCenter": "42"},  # a tag the catalog does not name
    )
    assert fingerprint(transient, spec) == base

    moved = {
        "global indexes": live_table(global_indexes={"ByUser": index, "ByHand": index}),
        "ttl": live_table(global_indexes={"ByUser": index}, ttl=None),
        "tags": live_table(global_indexes={"ByUser": index}, tags={"ManagedBy": "someone-else"}),
        "deletion protection": live_table(global_indexes={"ByUser": index}, deletion_protection=True),
    }
    for facet, table in moved.items():
        assert moved_tables({"sp-one": base}, {"sp-one": fingerprint(table, spec)}) == [f"sp-one ({facet})"]
    assert moved_tables({"sp-one": base}, {"sp-one": None}) == ["sp-one (deleted since)"]


def test_the_volatile_fields_are_real_fields() -> None:
    """A renamed LiveTable field would otherwise be fingerprinted, and every saved plan refused."""
    assert set(LiveTable.model_fields) >= VOLATILE
    assert set(LiveIndex.model_fields) >= VOLATILE_INDEX
    assert set(LiveEncryption.model_fields) >= VOLATILE_ENCRYPTION
