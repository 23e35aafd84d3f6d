"""Observe, don't assume: endpoints that accept a setting and do not apply it, and the plan guard.

moto's server ignores SSESpecification on UpdateTable; other DynamoDB-compatible endpoints drop
Tags, DeletionProtectionEnabled, StreamSpecification, SSE or TTL. The behaviour layer
(tests/behaviour.py) makes such an endpoint out of moto. apply must finish (exit 0), say what the
endpoint did not apply, and the next plan must not plan it again; against AWS itself nothing is
assumed. And a setting shown under a table's create that CreateTable did not apply is finished as
part of the confirmed plan, not refused as "live state changed".
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from behaviour import proxy_for
from snapinfra_db.aws import local_dynamodb_client
from snapinfra_db.catalog import Setting, load_catalog
from snapinfra_db.cli.application import app
from snapinfra_db.reconcile.capabilities import not_applied, record_path
from snapinfra_db.reconcile.diff import diff_catalog
from snapinfra_db.reconcile.executor import Executor
from snapinfra_db.reconcile.live import read_tables

ROOT = Path(__file__).resolve().parents[1]

HAND_MADE = """
prefix: fid-
tables:
  projects:
    partition_key: id
    global_indexes:
      ByOwner: {partition_key: owner, sort_key: createdAt}
  users:
    partition_key: id
"""


def cli(endpoint: str, *args: str, catalog: Path) -> Result:
    return CliRunner().invoke(app, [*args, "--endpoint-url", endpoint, "--catalog", str(catalog)])


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tables.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def make_by_hand(client: Any, name: str) -> None:
    """A table as an operator makes it in a console: no indexes, the DynamoDB-owned key."""
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def test_moto_ignores_sse_on_update_apply_learns_it_and_plan_is_empty_after(clean_moto: str, tmp_path: Path) -> None:
    catalog = write(tmp_path, HAND_MADE)
    client = local_dynamodb_client(clean_moto)
    for name in ("fid-projects", "fid-users"):
        make_by_hand(client, name)

    applied = cli(clean_moto, "apply", "--yes", catalog=catalog)
    assert applied.exit_code == 0, applied.output
    assert "encryption: AWS_OWNED → AWS_MANAGED" in applied.stdout  # the call was made...
    assert "encryption: accepted but not applied by this endpoint" in applied.stdout  # ...and observed
    assert "Apply finished: 2 applied." in applied.stdout
    assert "live state changed" not in applied.output
    assert "note: this endpoint accepted but did not apply: encryption." in applied.stderr
    assert not_applied(clean_moto) == {Setting.ENCRYPTION}
    record = json.loads(record_path(clean_moto).read_text())
    assert record["endpoint"] == clean_moto and set(record["not_applied"]) == {"encryption"}

    again = cli(clean_moto, "plan", "--detailed-exitcode", catalog=catalog)
    assert again.exit_code == 0, again.output
    assert "No changes. 2 table(s) match the catalog." in again.stdout
    assert "Not supported by this endpoint (left as is): encryption" in again.stdout
    # The indexes were really made: only encryption is left as is.
    indexes = client.describe_table(TableName="fid-projects")["Table"]["GlobalSecondaryIndexes"]
    assert [i["IndexName"] for i in indexes] == ["ByOwner"]
    health = cli(clean_moto, "health", catalog=catalog)
    assert health.exit_code == 0, health.output


IGNORED = {"Tags", "DeletionProtectionEnabled", "StreamSpecification", "SSESpecification", "TimeToLive"}


def test_an_endpoint_that_ignores_five_settings_still_converges_the_12_tables(
    clean_moto: str, tmp_path: Path
) -> None:
    catalog = str(ROOT / "tables.yaml")
    with proxy_for(clean_moto, ignore=set(IGNORED)) as proxy:
        applied = CliRunner().invoke(
            app, ["apply", "--yes", "--parallelism", "12", "--endpoint-url", proxy.url, "--catalog", catalog]
        )
        assert applied.exit_code == 0, applied.output
        assert "Apply finished: 12 applied." in applied.stdout
        assert "live state changed" not in applied.output
        for setting in ("tags", "deletion protection", "stream", "encryption", "ttl"):
            assert f"{setting}: accepted but not applied by this endpoint" in applied.stdout, setting
        named = applied.stderr.split("did not apply: ")[1].split(".")[0]
        assert set(named.split(", ")) == {"deletion protection", "encryption", "stream", "tags", "ttl"}
        assert proxy.calls["CreateTable"] == 12

        planned = CliRunner().invoke(
            app, ["plan", "--detailed-exitcode", "--endpoint-url", proxy.url, "--catalog", catalog]
        )
        assert planned.exit_code == 0, planned.output
        assert "No changes. 12 table(s) match the catalog." in planned.stdout


def test_settings_shown_under_a_create_are_finished_when_create_table_drops_them(
    clean_moto: str, tmp_path: Path
) -> None:
    """plan showed '+ tags' and '+ deletion protection: on' under the create; CreateTable dropped them;
    apply adds them (TagResource, UpdateTable) as part of what the operator confirmed."""
    catalog = write(
        tmp_path,
        """
        prefix: fid-
        defaults:
          tags: {ManagedBy: snapinfra-db}
          deletion_protection: true
        tables:
          projects:
            partition_key: id
        """,
    )
    with proxy_for(clean_moto, ignore_on_create={"Tags", "DeletionProtectionEnabled"}) as proxy:
        planned = CliRunner().invoke(app, ["plan", "--endpoint-url", proxy.url, "--catalog", str(catalog)])
        assert "+ tags: ManagedBy=snapinfra-db" in planned.stdout
        assert "+ deletion protection: on" in planned.stdout
        applied = CliRunner().invoke(app, ["apply", "--yes", "--endpoint-url", proxy.url, "--catalog", str(catalog)])
        assert applied.exit_code == 0, applied.output
        assert "live state changed" not in applied.output and "not applied" not in applied.output
        assert proxy.calls["TagResource"] == 1
        client = local_dynamodb_client(proxy.url)
        table = client.describe_table(TableName="fid-projects")["Table"]
        assert table["DeletionProtectionEnabled"] is True
        tags = client.list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"]
        assert {t["Key"]: t["Value"] for t in tags} == {"ManagedBy": "snapinfra-db"}
    assert not record_path(proxy.url).exists()  # nothing was learnt: everything took effect


def test_against_aws_itself_an_unseen_effect_is_a_failure_not_an_assumption(clean_moto: str, tmp_path: Path) -> None:
    """learn=False (what the CLI passes when no endpoint URL is set, i.e. for AWS): the step fails with
    what happened, and nothing is taken as unsupported."""
    catalog = load_catalog(write(tmp_path, HAND_MADE))
    client = local_dynamodb_client(clean_moto)
    for name in ("fid-projects", "fid-users"):
        make_by_hand(client, name)
    names = [t.name for t in catalog.tables]
    plan = diff_catalog(catalog, read_tables(client, names))
    results = Executor(client, {t.name: t for t in catalog.tables}, learn=False).run(plan)
    assert [r.status for r in results] == ["failed", "failed"]
    assert all(
        r.error
        == "encryption: AWS_OWNED → AWS_MANAGED: DynamoDB accepted the call, but the table still does not show it "
        "after 10s; run apply again"
        for r in results
    ), [r.error for r in results]
    assert all(r.not_applied == [] for r in results)


def test_a_real_change_since_the_plan_is_named(clean_moto: str, tmp_path: Path) -> None:
    """Someone else changes the table between plan and apply: apply refuses, naming what moved."""
    catalog = load_catalog(
        write(
            tmp_path,
            """
            prefix: fid-
            tables:
              users:
                partition_key: id
                deletion_protection: false
                tags: {Team: core}
            """,
        )
    )
    client = local_dynamodb_client(clean_moto)
    spec = catalog.tables[0]
    first = CliRunner().invoke(app, ["apply", "--yes", "--endpoint-url", clean_moto, "--catalog", catalog.path])
    assert first.exit_code == 0, first.output
    arn = client.describe_table(TableName=spec.name)["Table"]["TableArn"]
    client.tag_resource(ResourceArn=arn, Tags=[{"Key": "Team", "Value": "other"}])
    plan = diff_catalog(catalog, read_tables(client, [spec.name]))
    assert [s.op for s in plan.tables[0].steps] == ["tag_table"]
    client.update_table(TableName=spec.name, DeletionProtectionEnabled=True)  # out of band, after the plan
    (result,) = Executor(client, {spec.name: spec}, learn=True).run(plan)
    assert result.status == "failed"
    assert result.error == (
        "live state changed since the plan: the table now needs 'deletion protection: on → off', which the "
        "confirmed plan did not include; run plan again to see the change"
    )
    assert client.describe_table(TableName=spec.name)["Table"]["DeletionProtectionEnabled"] is True  # untouched


@pytest.mark.parametrize("value", ["", None])
def test_aws_itself_has_no_record(value: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not_applied(value) == frozenset()
    assert os.environ["SNAPINFRA_DB_STATE"]  # every test has its own state folder (conftest)
