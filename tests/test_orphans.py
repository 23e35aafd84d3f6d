"""Orphans: tables with the catalog's ManagedBy tag (or, without tags, its prefix) that the catalog does
not name. plan and health list them, apply keeps them, and only `apply --prune` deletes them, through
the same safeguards as destroy (a copy first, deletion protection refused without its flag, typed
confirmation unless --yes).

Through the real CLI on moto's server (which keeps tags) and DynamoDB Local (which has none: the prefix
decides there); pure tests cover the rule (which tag, other environments' tables, refusals).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner, Result

from behaviour import proxy_for
from snapinfra_db.catalog import load_catalog
from snapinfra_db.cli.application import app
from snapinfra_db.reconcile.orphans import find_orphans, managed_by_tag, other_prefix

CATALOG = """
prefix: or-
defaults:
  deletion_protection: {protection}
  tags: {{Project: snapinfra, ManagedBy: snapinfra-db}}
legacy: [rhinoback-users]
tables:
  projects:
    partition_key: id
  users:
    partition_key: id
  webhooks:
    partition_key: id
"""
TAG_REASON = "tag ManagedBy=snapinfra-db"
ITEMS = 25


def write(tmp_path: Path, text: str, name: str = "tables.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def without_webhooks(text: str) -> str:
    return text.replace("  webhooks:\n    partition_key: id\n", "")


def cli(url: str, *argv: str, catalog: Path, input: str | None = None) -> Result:
    return CliRunner().invoke(app, [*argv, "--catalog", str(catalog), "--endpoint-url", url], input=input)


def names(client: Any) -> set[str]:
    return set(client.list_tables()["TableNames"])


def reason_for(engine: Any) -> str:
    """moto keeps tags: the tag decides; DynamoDB Local has none: the prefix does."""
    return TAG_REASON if engine.name == "moto" else "prefix"


def make_orphan(engine: Any, tmp_path: Path, protection: bool = False) -> Path:
    """Apply a catalog with `webhooks`, fill it, then drop it from the catalog: the returned catalog's orphan."""
    text = textwrap.dedent(CATALOG.format(protection=str(protection).lower()))
    full = write(tmp_path, text, "with-webhooks.yaml")
    assert cli(engine.endpoint_url, "apply", "--yes", catalog=full).exit_code == 0
    client = engine.client()
    for i in range(ITEMS):
        client.put_item(TableName="or-webhooks", Item={"id": {"S": f"hook-{i:02d}"}, "url": {"S": f"https://x/{i}"}})
    return write(tmp_path, without_webhooks(text))


@pytest.fixture(autouse=True)
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("snapinfra_db.cli.application.stdin_is_terminal", lambda: False)


# ---------------------------------------------------------------------------------------------
# listed, kept, pruned only with --prune


def test_an_orphan_is_listed_survives_apply_and_is_pruned_with_its_items_exported(engine: Any, tmp_path: Path) -> None:
    catalog = make_orphan(engine, tmp_path)
    url, client = engine.endpoint_url, engine.client()
    line = "- or-webhooks: {claim}, not in the catalog (kept; apply --prune deletes it)".format(
        claim="managed by snapinfra-db" if engine.name == "moto" else "has the catalog's prefix or-"
    )

    plan = cli(url, "plan", "--detailed-exitcode", catalog=catalog)
    assert plan.exit_code == 0, plan.output  # kept by apply: not a change
    assert line in plan.stdout
    assert "No changes. 2 table(s) match the catalog." in plan.stdout
    if engine.name == "ddblocal":
        assert "this endpoint has no tags, so the prefix decides" in plan.stdout
    document = json.loads(cli(url, "plan", "--json", catalog=catalog).stdout)
    assert document["orphans"] == [{"table": "or-webhooks", "reason": reason_for(engine), "action": "keep"}]

    health = cli(url, "health", catalog=catalog)
    assert health.exit_code == 0, health.output  # an orphan never makes the catalog unhealthy
    assert line in health.stdout
    assert json.loads(cli(url, "health", "--json", catalog=catalog).stdout)["orphans"] == document["orphans"]

    with proxy_for(url) as proxy:
        applied = cli(proxy.url, "apply", "--yes", catalog=catalog)
        assert applied.exit_code == 0, applied.output
        assert line in applied.stdout
        assert proxy.calls["DeleteTable"] == 0
    assert "or-webhooks" in names(client)

    pruned_plan = cli(url, "plan", "--prune", "--detailed-exitcode", catalog=catalog)
    assert pruned_plan.exit_code == 2, pruned_plan.output  # with --prune, the orphan is a change
    assert "Plan: 0 to create, 0 to update, 1 to prune, 2 unchanged" in pruned_plan.stdout

    exports = tmp_path / "exports"
    pruned = cli(url, "apply", "--prune", "--export-dir", str(exports), "--yes", catalog=catalog)
    assert pruned.exit_code == 0, pruned.output
    assert names(client) == {"or-projects", "or-users"}
    lines = (exports / "or-webhooks.jsonl").read_text().splitlines()
    assert len(lines) == ITEMS
    assert {json.loads(x)["id"]["S"] for x in lines} == {f"hook-{i:02d}" for i in range(ITEMS)}
    assert (exports / "or-webhooks.schema.json").exists()

    after = cli(url, "plan", "--json", "--prune", "--detailed-exitcode", catalog=catalog)
    assert after.exit_code == 0 and json.loads(after.stdout)["orphans"] == []


def test_prune_goes_through_destroys_safeguards(moto_engine: Any, tmp_path: Path, monkeypatch: Any) -> None:
    catalog = make_orphan(moto_engine, tmp_path, protection=True)
    url, client = moto_engine.endpoint_url, moto_engine.client()
    exports = str(tmp_path / "exports")

    # Deletion protection (the catalog's default) is refused without its flag.
    protected = cli(url, "apply", "--prune", "--export-dir", exports, "--yes", catalog=catalog)
    assert protected.exit_code == 1, protected.output
    assert "deletion protection is on" in protected.output
    assert "every existing table is refused (see above): nothing was deleted" in protected.stderr
    # No terminal, no --yes: refused before anything is deleted.
    args = ("apply", "--prune", "--export-dir", exports, "--disable-deletion-protection")
    refused = cli(url, *args, catalog=catalog)
    assert refused.exit_code == 1
    assert "refusing to apply --prune without confirmation" in refused.stderr
    assert "or-webhooks" in names(client)
    assert not (tmp_path / "exports" / "or-webhooks.jsonl").exists()

    # At a terminal: the word is the prefix, as destroy's; anything else cancels.
    monkeypatch.setattr("snapinfra_db.cli.application.stdin_is_terminal", lambda: True)
    wrong = cli(url, *args, catalog=catalog, input="delete\n")
    assert wrong.exit_code == 1 and "apply --prune cancelled: nothing was changed" in wrong.stderr
    assert "or-webhooks" in names(client)
    typed = cli(url, *args, catalog=catalog, input="or-\n")
    assert typed.exit_code == 0, typed.output
    assert "Type 'or-' to confirm" in typed.stderr
    assert "or-webhooks" not in names(client)
    assert len((tmp_path / "exports" / "or-webhooks.jsonl").read_text().splitlines()) == ITEMS


def test_prune_without_orphans_is_a_no_op(moto_engine: Any, tmp_path: Path) -> None:
    catalog = write(tmp_path, without_webhooks(CATALOG.format(protection="false")))
    with proxy_for(moto_engine.endpoint_url) as proxy:
        assert cli(proxy.url, "apply", "--yes", catalog=catalog).exit_code == 0
        proxy.reset_counters()
        result = cli(proxy.url, "apply", "--prune", "--no-backup", catalog=catalog)  # no --yes: nothing to ask
        assert result.exit_code == 0, result.output
        assert "No changes." in result.stdout and "Not in the catalog" not in result.stdout
        assert proxy.calls["DeleteTable"] == proxy.calls["CreateBackup"] == 0


def test_copy_flags_without_prune_are_refused(tmp_path: Path) -> None:
    catalog = write(tmp_path, CATALOG.format(protection="false"))
    for flag in ("--export-dir=x", "--no-backup", "--disable-deletion-protection"):
        result = cli("http://127.0.0.1:9", "apply", "--yes", flag, catalog=catalog)
        assert result.exit_code == 1
        assert result.stderr.startswith(
            "error: --export-dir, --backup/--no-backup and --disable-deletion-protection"
        ), result.stderr


def create(client: Any, name: str, tags: dict[str, str] | None = None) -> None:
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    )


def test_only_tables_with_the_tag_the_prefix_and_outside_the_catalog_are_orphans(
    moto_engine: Any, tmp_path: Path
) -> None:
    catalog = write(tmp_path, without_webhooks(CATALOG.format(protection="false")))
    url, client = moto_engine.endpoint_url, moto_engine.client()
    assert cli(url, "apply", "--yes", catalog=catalog).exit_code == 0
    managed = {"ManagedBy": "snapinfra-db"}
    create(client, "or-webhooks", managed)  # the orphan
    create(client, "or-scratch", {"ManagedBy": "terraform"})  # someone else's, same prefix
    create(client, "or-untagged")  # no tag at all
    create(client, "other-webhooks", managed)  # another prefix
    create(client, "rhinoback-users", managed)  # a legacy table: purge-legacy's business
    create(client, "or-staging-projects", managed)  # this catalog under --prefix or-staging-

    result = cli(url, "plan", "--json", catalog=catalog)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["orphans"] == [{"table": "or-webhooks", "reason": TAG_REASON, "action": "keep"}]
    text = cli(url, "plan", catalog=catalog).stdout
    assert "Not in the catalog, tagged ManagedBy=snapinfra-db:" in text
    assert "1 table(s) look like this catalog under a longer prefix" in text and "or-staging-projects" in text

    pruned = cli(url, "apply", "--prune", "--no-backup", "--yes", catalog=catalog)
    assert pruned.exit_code == 0, pruned.output
    assert names(client) == {
        "or-projects",
        "or-users",
        "or-scratch",
        "or-untagged",
        "other-webhooks",
        "rhinoback-users",
        "or-staging-projects",
    }


def test_without_a_managedby_tag_the_prefix_decides_and_says_so(moto_engine: Any, tmp_path: Path) -> None:
    text = without_webhooks(CATALOG.format(protection="false")).replace(", ManagedBy: snapinfra-db", "")
    catalog = write(tmp_path, text)
    url, client = moto_engine.endpoint_url, moto_engine.client()
    assert cli(url, "apply", "--yes", catalog=catalog).exit_code == 0
    create(client, "or-untagged")
    create(client, "else-where")
    result = cli(url, "plan", catalog=catalog)
    assert result.exit_code == 0, result.output
    assert "Not in the catalog, named with its prefix or- (the catalog names no ManagedBy tag" in result.stdout
    assert "- or-untagged: has the catalog's prefix or-, not in the catalog (kept; apply --prune deletes it)" in (
        result.stdout
    )
    document = json.loads(cli(url, "plan", "--json", catalog=catalog).stdout)
    assert document["orphans"] == [{"table": "or-untagged", "reason": "prefix", "action": "keep"}]


# ---------------------------------------------------------------------------------------------
# the rule, without an engine


class Listing:
    """A client that lists `tables` (or refuses ListTables) and must not be asked anything else."""

    def __init__(self, tables: list[str] | None) -> None:
        self.tables = tables

    def list_tables(self, **kwargs: Any) -> dict[str, Any]:
        if self.tables is None:
            error = {"Error": {"Code": "AccessDeniedException", "Message": "no"}}
            raise ClientError(error, "ListTables")  # type: ignore[arg-type]
        return {"TableNames": self.tables}


class NotAsked:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"{name} called")


def test_a_role_without_listtables_still_plans(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, CATALOG.format(protection="false")))
    search = find_orphans(Listing(None), catalog)  # type: ignore[arg-type]
    assert search.orphans == () and search.rule == "none"
    assert search.why_prefix == "ListTables was refused (AccessDeniedException)"


def test_no_prefix_and_no_tag_claims_nothing(tmp_path: Path) -> None:
    text = (
        CATALOG.format(protection="false").replace("prefix: or-", "prefix: ''").replace(", ManagedBy: snapinfra-db", "")
    )
    catalog = load_catalog(write(tmp_path, text))
    # The prefix alone would claim every table of the account: nothing is even listed.
    search = find_orphans(NotAsked(), catalog)  # type: ignore[arg-type]
    assert search.orphans == () and search.rule == "none"


def test_which_tag_is_the_catalogs_managedby(tmp_path: Path) -> None:
    base = CATALOG.format(protection="false")
    assert managed_by_tag(load_catalog(write(tmp_path, base))) == ("ManagedBy", "snapinfra-db")
    snake = base.replace("ManagedBy: snapinfra-db", "managed_by: infra")
    assert managed_by_tag(load_catalog(write(tmp_path, snake))) == ("managed_by", "infra")
    # A table that overrides it: no tag every table shares, so the prefix decides.
    split = base.replace(
        "  users:\n    partition_key: id\n", "  users:\n    partition_key: id\n    tags: {ManagedBy: x}\n"
    )
    assert managed_by_tag(load_catalog(write(tmp_path, split))) is None
    assert managed_by_tag(load_catalog(write(tmp_path, base.replace(", ManagedBy: snapinfra-db", "")))) is None


def test_another_environments_tables_are_recognised(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, CATALOG.format(protection="false")))
    assert other_prefix("or-staging-projects", catalog) == "or-staging-"
    assert other_prefix("or-dev.users", catalog) == "or-dev."
    assert other_prefix("or-webhooks-v2", catalog) is None
    assert other_prefix("or-oldprojects", catalog) is None  # no separator: not a prefix
