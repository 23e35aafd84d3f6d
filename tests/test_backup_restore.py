"""`backup`, `backup list` and `restore`: on-demand backups and point-in-time restore, through the real CLI.

On moto's server (which implements CreateBackup, ListBackups, DescribeBackup, RestoreTableFromBackup,
RestoreTableToPointInTime and DescribeContinuousBackups); refusals are checked behind the behaviour
proxy (tests/behaviour.py), whose `calls` show that no restore call was sent. On DynamoDB Local, which
has none of these, every command is one `error:` line and exit 1.

moto 5.2.5's restored tables keep only the key schema, throughput, indexes and items of their source:
an on-demand source comes back reporting provisioned billing with 0/0 capacity, which DynamoDB never
reports (and the tool refuses to read as a real answer), and without encryption. The catalog here is
therefore provisioned and AWS-owned-key, as such a restore reports it on AWS too.
"""

from __future__ import annotations

import json
import re
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from behaviour import proxy_for
from snapinfra_db.aws import local_dynamodb_client
from snapinfra_db.cli.application import app
from snapinfra_db.errors import SnapinfraError
from snapinfra_db.ops.backups import backup_name
from snapinfra_db.ops.pitr_restore import parse_time

CATALOG = """
prefix: br-
defaults:
  billing: {mode: PROVISIONED, read: 5, write: 5}
  encryption: {type: AWS_OWNED}
  tags: {Project: snapinfra, ManagedBy: snapinfra-db}
tables:
  projects:
    env: DYNAMODB_PROJECTS_TABLE
    partition_key: id
    ttl: expiresAt
    global_indexes:
      ByOwner: {partition_key: owner, read: 5, write: 5}
  users:
    partition_key: id
"""
RESTORES = {"RestoreTableToPointInTime", "RestoreTableFromBackup"}
STAMP = r"\d{8}T\d{6}Z"


def write_catalog(tmp_path: Path) -> Path:
    path = tmp_path / "tables.yaml"
    path.write_text(textwrap.dedent(CATALOG))
    return path


def cli(url: str, catalog: Path, *argv: str) -> Result:
    return CliRunner().invoke(app, [*argv, "--catalog", str(catalog), "--endpoint-url", url])


def applied(url: str, tmp_path: Path, *only: str) -> Path:
    """The catalog, applied (every table, or --table `only`)."""
    catalog = write_catalog(tmp_path)
    targets = [arg for name in only for arg in ("-t", name)]
    result = cli(url, catalog, "apply", "--yes", *targets)
    assert result.exit_code == 0, result.output
    return catalog


def put_projects(client: Any, count: int = 3) -> None:
    for i in range(count):
        client.put_item(TableName="br-projects", Item={"id": {"S": f"p{i}"}, "owner": {"S": "ann"}})


def error_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


# ---------------------------------------------------------------------------------------------
# backup, backup list


def test_backup_name_is_table_and_utc_stamp_within_dynamodb_rules() -> None:
    assert backup_name("br-users", datetime(2024, 5, 1, 9, 8, 7, tzinfo=UTC)) == "br-users-20240501T090807Z"
    long = backup_name("t" * 255)
    assert len(long) == 255 and re.fullmatch(r"t+-" + STAMP, long)


def test_backup_of_every_table_is_available_then_listed_newest_first(clean_moto: str, tmp_path: Path) -> None:
    catalog = applied(clean_moto, tmp_path)
    client = local_dynamodb_client(clean_moto)

    result = cli(clean_moto, catalog, "backup", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["ok"] is True and document["failed"] == []
    made = {b["table"]: b for b in document["backups"]}
    assert set(made) == {"br-projects", "br-users"}
    for table, backup in made.items():
        assert re.fullmatch(re.escape(table) + "-" + STAMP, backup["name"]), backup
        assert backup["status"] == "AVAILABLE"
        described = client.describe_backup(BackupArn=backup["arn"])["BackupDescription"]
        assert described["BackupDetails"]["BackupStatus"] == "AVAILABLE"
        assert described["SourceTableDetails"]["TableName"] == table

    # A second backup of one table, later: it heads the list.
    again = cli(clean_moto, catalog, "backup", "-t", "users")
    assert again.exit_code == 0, again.output
    assert "Backup finished: 1 AVAILABLE." in again.stdout
    [newest] = [
        b
        for b in client.list_backups(TableName="br-users")["BackupSummaries"]
        if b["BackupArn"] != made["br-users"]["arn"]
    ]

    listed = cli(clean_moto, catalog, "backup", "list", "--json")
    assert listed.exit_code == 0, listed.output
    backups = json.loads(listed.stdout)["backups"]
    assert len(backups) == 3
    assert backups[0]["arn"] == newest["BackupArn"]
    assert {b["arn"] for b in backups[1:]} == {made["br-projects"]["arn"], made["br-users"]["arn"]}
    assert all(b["size_bytes"] is not None and b["status"] == "AVAILABLE" for b in backups)
    created = [b["created"] for b in backups]
    assert created == sorted(created, reverse=True)

    text = cli(clean_moto, catalog, "backup", "list")
    assert text.exit_code == 0, text.output
    rows = text.stdout.splitlines()
    assert rows[0].split() == ["table", "name", "created", "(UTC)", "size", "status", "type", "ARN"]
    assert rows[1].endswith(newest["BackupArn"]) and rows[1].startswith("br-users ")

    only = json.loads(cli(clean_moto, catalog, "backup", "list", "-t", "projects", "--json").stdout)["backups"]
    assert [b["arn"] for b in only] == [made["br-projects"]["arn"]]


def test_backup_right_after_create_waits_until_aws_allows_it(clean_moto: str, tmp_path: Path) -> None:
    """AWS refuses CreateBackup for a while after CreateTable ("Backups are being enabled"): retried, not failed."""
    catalog = write_catalog(tmp_path)
    catalog.write_text(
        catalog.read_text().replace("defaults:\n", "defaults:\n  point_in_time_recovery: {enabled: false}\n")
    )
    with proxy_for(clean_moto, pitr_unavailable_for=2.0) as proxy:
        assert cli(proxy.url, catalog, "apply", "--yes", "-t", "users").exit_code == 0
        result = cli(proxy.url, catalog, "backup", "-t", "users")
        refused = [
            e
            for e in list(proxy.events)
            if e.operation == "CreateBackup" and e.error == "ContinuousBackupsUnavailableException"
        ]
    assert result.exit_code == 0, result.output
    assert refused, "the proxy never refused CreateBackup: nothing was retried"
    assert "backups are still being enabled for the table; retrying" in result.stderr
    assert "Backup finished: 1 AVAILABLE." in result.stdout


def test_a_missing_table_fails_alone(clean_moto: str, tmp_path: Path) -> None:
    catalog = applied(clean_moto, tmp_path, "projects")  # br-users is never created

    result = cli(clean_moto, catalog, "backup")
    assert result.exit_code == 1
    assert re.search(r"^br-projects\s+br-projects-" + STAMP + r"\s+AVAILABLE", result.stdout, re.M), result.stdout
    assert re.search(r"^br-users\s+-\s+FAILED\s+br-users does not exist \(apply creates it\)", result.stdout, re.M)
    assert "Backup finished: 1 AVAILABLE, 1 failed." in result.stdout
    assert len(local_dynamodb_client(clean_moto).list_backups()["BackupSummaries"]) == 1


# ---------------------------------------------------------------------------------------------
# restore


def test_restore_latest_brings_the_items_back_with_the_catalog_settings(clean_moto: str, tmp_path: Path) -> None:
    catalog = applied(clean_moto, tmp_path)
    client = local_dynamodb_client(clean_moto)
    put_projects(client)

    result = cli(clean_moto, catalog, "restore", "projects", "--latest", "--as", "restored-projects")
    assert result.exit_code == 0, result.output

    items = client.scan(TableName="restored-projects")["Items"]
    assert sorted(i["id"]["S"] for i in items) == ["p0", "p1", "p2"]
    table = client.describe_table(TableName="restored-projects")["Table"]
    assert table["DeletionProtectionEnabled"] is True
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert [g["IndexName"] for g in table["GlobalSecondaryIndexes"]] == ["ByOwner"]
    ttl = client.describe_time_to_live(TableName="restored-projects")["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expiresAt")
    pitr = client.describe_continuous_backups(TableName="restored-projects")["ContinuousBackupsDescription"]
    assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    tags = client.list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"Project": "snapinfra", "ManagedBy": "snapinfra-db"}

    # The plan of the settings applied, then the .env line last on stdout.
    assert "~ restored-projects (update)" in result.stdout and "deletion protection: off → on" in result.stdout
    assert result.stdout.splitlines()[-1] == "DYNAMODB_PROJECTS_TABLE=restored-projects"
    assert not error_lines(result)
    # Outside the prefix: not an orphan, no note about it; the catalog's own tables are unchanged.
    assert "orphan" not in result.stderr
    plan = cli(clean_moto, catalog, "plan")
    assert plan.exit_code == 0 and "No changes. 2 table(s) match the catalog." in plan.stdout, plan.output


def test_restore_under_the_prefix_says_it_is_an_orphan(clean_moto: str, tmp_path: Path) -> None:
    catalog = applied(clean_moto, tmp_path, "users")

    result = cli(clean_moto, catalog, "restore", "br-users", "--latest", "--as", "br-users-copy")
    assert result.exit_code == 0, result.output
    assert "note: br-users-copy begins with the catalog's prefix br- and is not in the catalog" in result.stderr
    # What the note says: it carries the catalog's ManagedBy tag now, so plan lists it (and keeps it).
    listed = cli(clean_moto, catalog, "plan", "--json")
    orphans = json.loads(listed.stdout)["orphans"]
    assert orphans == [{"table": "br-users-copy", "reason": "tag ManagedBy=snapinfra-db", "action": "keep"}]


def test_restore_to_a_time_in_the_window(clean_moto: str, tmp_path: Path) -> None:
    catalog = applied(clean_moto, tmp_path)
    client = local_dynamodb_client(clean_moto)
    put_projects(client, 2)
    window = client.describe_continuous_backups(TableName="br-projects")["ContinuousBackupsDescription"]
    latest = window["PointInTimeRecoveryDescription"]["LatestRestorableDateTime"]

    with proxy_for(clean_moto) as proxy:
        result = cli(proxy.url, catalog, "restore", "projects", "--to-time", latest.isoformat(), "--as", "at-time")
        assert result.exit_code == 0, result.output
        assert proxy.calls["RestoreTableToPointInTime"] == 1
    assert len(client.scan(TableName="at-time")["Items"]) == 2
    assert result.stdout.splitlines()[-1] == "DYNAMODB_PROJECTS_TABLE=at-time"


def test_restore_from_a_backup(clean_moto: str, tmp_path: Path) -> None:
    catalog = applied(clean_moto, tmp_path)
    client = local_dynamodb_client(clean_moto)
    put_projects(client, 4)
    made = json.loads(cli(clean_moto, catalog, "backup", "-t", "projects", "--json").stdout)["backups"][0]
    client.delete_item(TableName="br-projects", Key={"id": {"S": "p0"}})  # after the backup: comes back

    result = cli(clean_moto, catalog, "restore", "projects", "--from-backup", made["arn"], "--as", "from-backup")
    assert result.exit_code == 0, result.output
    assert len(client.scan(TableName="from-backup")["Items"]) == 4
    assert client.describe_table(TableName="from-backup")["Table"]["DeletionProtectionEnabled"] is True
    assert result.stdout.splitlines()[-1] == "DYNAMODB_PROJECTS_TABLE=from-backup"

    # A backup of another table is refused: the catalog entry applied afterwards would be the wrong one.
    with proxy_for(clean_moto) as proxy:
        wrong = cli(proxy.url, catalog, "restore", "users", "--from-backup", made["arn"], "--as", "wrong-one")
        assert sum(proxy.calls[op] for op in RESTORES) == 0
    assert wrong.exit_code == 1
    assert error_lines(wrong) == [
        f"error: --from-backup {made['arn']} is a backup of br-projects, not of br-users: the catalog entry applied "
        "after the restore would be br-users's; name the catalog table the backup was made of"
    ]


def test_a_destroyed_table_comes_back_under_its_own_name_from_its_purge_backup(clean_moto: str, tmp_path: Path) -> None:
    catalog = applied(clean_moto, tmp_path)
    client = local_dynamodb_client(clean_moto)
    put_projects(client, 2)
    gone = cli(clean_moto, catalog, "destroy", "-t", "projects", "--yes", "--disable-deletion-protection")
    assert gone.exit_code == 0, gone.output
    assert "br-projects" not in client.list_tables()["TableNames"]

    # The deleted table's backups are still listed: destroy's own `<table>-purge-<UTC>` one.
    [backup] = json.loads(cli(clean_moto, catalog, "backup", "list", "--json").stdout)["backups"]
    assert re.fullmatch("br-projects-purge-" + STAMP, backup["name"])

    result = cli(clean_moto, catalog, "restore", "projects", "--from-backup", backup["arn"], "--as", "br-projects")
    assert result.exit_code == 0, result.output
    assert "orphan" not in result.stderr  # a catalog table again
    assert len(client.scan(TableName="br-projects")["Items"]) == 2
    plan = cli(clean_moto, catalog, "plan")
    assert plan.exit_code == 0 and "No changes. 2 table(s) match the catalog." in plan.stdout, plan.output


def test_a_backup_older_than_a_key_change_is_restored_but_its_settings_are_blocked(
    clean_moto: str, tmp_path: Path
) -> None:
    """The catalog's key changed since the backup: DynamoDB cannot change a key in place. Reported, not forced."""
    catalog = applied(clean_moto, tmp_path, "users")
    made = json.loads(cli(clean_moto, catalog, "backup", "-t", "users", "--json").stdout)["backups"][0]
    catalog.write_text(
        catalog.read_text().replace("  users:\n    partition_key: id", "  users:\n    partition_key: userId")
    )

    result = cli(clean_moto, catalog, "restore", "users", "--from-backup", made["arn"], "--as", "old-users")
    assert result.exit_code == 1
    assert "old-users (blocked)" in result.stdout and "blocked: primary key differs: live id" in result.stdout
    assert error_lines(result) == [
        "error: old-users is restored, but users's catalog entry cannot be applied to it in place (blocked, see "
        "above: the backup or point in time predates a change of keys): its settings were not applied"
    ]
    assert "DYNAMODB_USERS_TABLE=" not in result.stdout  # the backend is not pointed at a table of other keys
    client = local_dynamodb_client(clean_moto)
    assert client.describe_table(TableName="old-users")["Table"]["DeletionProtectionEnabled"] is False


def test_restore_onto_an_existing_name_is_refused_and_creates_nothing(clean_moto: str, tmp_path: Path) -> None:
    catalog = applied(clean_moto, tmp_path)
    client = local_dynamodb_client(clean_moto)
    client.create_table(
        TableName="already-here",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.put_item(TableName="already-here", Item={"k": {"S": "mine"}})
    before = sorted(client.list_tables()["TableNames"])

    with proxy_for(clean_moto) as proxy:
        result = cli(proxy.url, catalog, "restore", "projects", "--latest", "--as", "already-here")
        assert sum(proxy.calls[op] for op in RESTORES) == 0
        assert proxy.calls["UpdateTable"] == proxy.calls["TagResource"] == 0
    assert result.exit_code == 1
    assert error_lines(result) == [
        "error: already-here already exists (ACTIVE): a restore makes a new table and never writes into or "
        "replaces one; pick another --as name"
    ]
    assert "Traceback" not in result.output and result.stdout == ""
    assert sorted(client.list_tables()["TableNames"]) == before
    assert client.scan(TableName="already-here")["Items"] == [{"k": {"S": "mine"}}]


@pytest.mark.parametrize("when", ["2001-01-01T00:00:00Z", "2999-01-01T00:00:00+02:00"], ids=["before", "after"])
def test_a_time_outside_the_window_is_refused_before_any_restore_call(
    clean_moto: str, tmp_path: Path, when: str
) -> None:
    catalog = applied(clean_moto, tmp_path)

    with proxy_for(clean_moto) as proxy:
        result = cli(proxy.url, catalog, "restore", "projects", "--to-time", when, "--as", "too-far")
        assert proxy.calls["DescribeContinuousBackups"] == 1  # the window was read ...
        assert sum(proxy.calls[op] for op in RESTORES) == 0  # ... and nothing restored
    assert result.exit_code == 1
    [line] = error_lines(result)
    shown = parse_time(when).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert line.startswith(f"error: --to-time {shown} is outside br-projects's restorable window ("), line
    assert "is outside br-projects's restorable window (" in line and line.endswith("pick a time in it, or --latest")
    assert "too-far" not in local_dynamodb_client(clean_moto).list_tables()["TableNames"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--to-time", "2024-05-01T09:08:07", "--as", "xyz"],
            "error: --to-time '2024-05-01T09:08:07' has no time zone: add one (Z for UTC, e.g. "
            "2024-05-01T09:08:07Z, or an offset such as +02:00)",
        ),
        (["--to-time", "yesterday", "--as", "xyz"], "error: --to-time 'yesterday': not an ISO 8601 time"),
        (["--as", "xyz"], "error: say what to restore from, once: --to-time ISO8601, --latest or --from-backup ARN"),
        (["--latest", "--from-backup", "arn:x", "--as", "xyz"], "error: say what to restore from, once"),
        (["--latest", "--resume", "--as", "xyz"], "error: --resume restores nothing: leave out --latest"),
        (["--latest", "--as", "x"], "error: --as 'x': a table name must be 3-255 characters of A-Z a-z 0-9 _ . -"),
        (["--latest", "--as", "br-users"], "error: --as br-users is the catalog's table users"),
    ],
    ids=["naive time", "not a time", "no source", "two sources", "resume and source", "bad name", "catalog name"],
)
def test_mistakes_are_one_line_and_no_call(tmp_path: Path, argv: list[str], message: str) -> None:
    catalog = write_catalog(tmp_path)
    # No endpoint answers there: a call would fail differently.
    result = CliRunner().invoke(
        app, ["restore", "projects", *argv, "--catalog", str(catalog), "--endpoint-url", "http://127.0.0.1:9"]
    )
    assert result.exit_code == 1
    [line] = error_lines(result)
    assert line.startswith(message), line


def test_an_unknown_or_ambiguous_table_is_refused(tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path)
    argv = ["--latest", "--as", "xyz", "--catalog", str(catalog), "--endpoint-url", "http://127.0.0.1:9"]
    unknown = CliRunner().invoke(app, ["restore", "projcts", *argv])
    assert unknown.exit_code == 1 and "no table 'projcts' (tables: projects, users)" in unknown.stderr
    several = CliRunner().invoke(app, ["restore", "*", *argv])
    assert several.exit_code == 1
    assert error_lines(several) == ["error: TABLE '*' matches 2 catalog tables (projects, users): restore names one"]


def test_restore_of_a_table_without_pitr_is_refused(clean_moto: str, tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path)
    catalog.write_text(
        catalog.read_text().replace("defaults:\n", "defaults:\n  point_in_time_recovery: {enabled: false}\n")
    )
    assert cli(clean_moto, catalog, "apply", "--yes").exit_code == 0

    result = cli(clean_moto, catalog, "restore", "projects", "--latest", "--as", "no-pitr")
    assert result.exit_code == 1
    [line] = error_lines(result)
    assert line.startswith("error: point-in-time recovery is off for br-projects (DISABLED)")


def test_a_restore_stopped_after_its_call_says_how_to_finish_and_resume_does(clean_moto: str, tmp_path: Path) -> None:
    """--timeout (as Ctrl-C) once the restore was asked for: DynamoDB goes on; the line names --resume."""
    catalog = applied(clean_moto, tmp_path)
    put_projects(local_dynamodb_client(clean_moto), 2)
    # The call reaches moto (the restore happens), its answer never comes back.
    with proxy_for(clean_moto, malformed={"RestoreTableToPointInTime": "hang"}) as proxy:
        stopped = cli(proxy.url, catalog, "restore", "projects", "--latest", "--as", "cut-short", "--timeout", "2")
        assert proxy.calls["RestoreTableToPointInTime"] == 1
    assert stopped.exit_code == 1
    assert error_lines(stopped) == [
        "error: timed out after 2s (--timeout): the restore of cut-short goes on in DynamoDB (once asked for), "
        "without the catalog's settings yet; `snapinfra-db restore projects --as cut-short --resume` waits for it "
        "and applies them"
    ]
    assert "Traceback" not in stopped.output

    resumed = cli(clean_moto, catalog, "restore", "projects", "--as", "cut-short", "--resume")
    assert resumed.exit_code == 0, resumed.output
    client = local_dynamodb_client(clean_moto)
    assert client.describe_table(TableName="cut-short")["Table"]["DeletionProtectionEnabled"] is True
    assert len(client.scan(TableName="cut-short")["Items"]) == 2
    assert resumed.stdout.splitlines()[-1] == "DYNAMODB_PROJECTS_TABLE=cut-short"


def test_resume_applies_the_settings_to_a_table_restored_earlier(clean_moto: str, tmp_path: Path) -> None:
    """An interrupted restore leaves the new table without the catalog's settings: --resume applies them,
    and only to a table restored from TABLE."""
    catalog = applied(clean_moto, tmp_path)
    client = local_dynamodb_client(clean_moto)
    client.restore_table_to_point_in_time(
        SourceTableName="br-projects", TargetTableName="half-done", UseLatestRestorableTime=True
    )
    assert client.describe_table(TableName="half-done")["Table"]["DeletionProtectionEnabled"] is False

    result = cli(clean_moto, catalog, "restore", "projects", "--as", "half-done", "--resume")
    assert result.exit_code == 0, result.output
    assert client.describe_table(TableName="half-done")["Table"]["DeletionProtectionEnabled"] is True
    assert result.stdout.splitlines()[-1] == "DYNAMODB_PROJECTS_TABLE=half-done"

    # br-users was not restored from br-projects: its settings are never touched.
    other = cli(clean_moto, catalog, "restore", "projects", "--as", "br-users", "--resume")
    assert other.exit_code == 1
    assert "is the catalog's table users" in other.stderr
    unrelated = cli(clean_moto, catalog, "restore", "users", "--as", "half-done", "--resume")
    assert unrelated.exit_code == 1
    assert error_lines(unrelated)[0].startswith("error: half-done is not a restore of br-users")


# ---------------------------------------------------------------------------------------------
# DynamoDB Local: no backups, no PITR


def test_dynamodb_local_says_it_has_no_backups(clean_ddb_local: str, tmp_path: Path) -> None:
    catalog = applied(clean_ddb_local, tmp_path)
    arn = "arn:aws:dynamodb:ddblocal:000000000000:table/br-projects/backup/01700000000000-abcdef12"
    runs = {
        "backup": ["backup"],
        "backup list": ["backup", "list"],
        "restore --latest": ["restore", "projects", "--latest", "--as", "xyz"],
        "restore --to-time": ["restore", "projects", "--to-time", "2024-05-01T00:00:00Z", "--as", "xyz"],
        "restore --from-backup": ["restore", "projects", "--from-backup", arn, "--as", "xyz"],
    }
    for name, argv in runs.items():
        result = cli(clean_ddb_local, catalog, *argv)
        assert result.exit_code == 1, (name, result.output)
        assert result.stderr.splitlines() == error_lines(result), (name, result.stderr)  # nothing but the error
        [line] = error_lines(result)
        assert "not supported by this endpoint" in line and "UnknownOperationException" in line, (name, line)
        assert "Traceback" not in result.output and result.stdout == "", name
    assert sorted(local_dynamodb_client(clean_ddb_local).list_tables()["TableNames"]) == ["br-projects", "br-users"]


def test_parse_time_keeps_the_zone() -> None:
    assert parse_time("2024-05-01T09:08:07Z").utcoffset() is not None
    assert parse_time("2024-05-01T11:08:07+02:00") == parse_time("2024-05-01T09:08:07Z")
    with pytest.raises(SnapinfraError):
        parse_time("2024-05-01")
